"""Ritual commands: `ritual add|ls|run|enable|disable|rm|logs` and `rituals`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from overmind import format as fmt
from overmind.cli.on_host import on_host
from overmind.cli.options import NameThenCommand, json_option, mission_options, provider_option


def _ready(auto_boot: bool = False) -> None:
    """Like `run`, only the commands that start something boot the private host."""
    from overmind.control.host import ready

    ready(auto_boot=auto_boot)


@click.group()
def ritual() -> None:
    """Missions on a schedule: a systemd timer and service that survive reboots."""


@ritual.command("add", cls=NameThenCommand)
@click.argument("name")
@click.option("--on-calendar", metavar="EXPR", help="When to run, e.g. 'Mon..Fri 09:00' (OnCalendar=).")
@click.option("--every", metavar="DURATION", help="Run every DURATION, e.g. 1h (OnUnitActiveSec=).")
@click.option("--persistent", is_flag=True, help="Catch up on a run missed while the machine was off.")
@click.option("--randomized-delay", metavar="DURATION", help="Delay each run by up to DURATION (RandomizedDelaySec=).")
@click.option("--overlap", type=click.Choice(["skip", "queue"]), default="skip", show_default=True,
              help="When a run is due while the previous one still runs: drop it, or run it right after.")
@click.option("--replace", is_flag=True, help="Update a ritual of the same name that overmind wrote.")
@mission_options
@provider_option
@json_option
@click.argument("command", nargs=-1, required=True)
@on_host()
def add(name: str, on_calendar: str | None, every: str | None, persistent: bool, randomized_delay: str | None,
        overlap: str, replace: bool, as_json: bool, command: tuple[str, ...], **options: Any) -> None:
    """Add ritual NAME that runs COMMAND on a schedule (a .timer and .service in your unit directory)."""
    from overmind.control import rituals

    spec, preview = rituals.prepare(name, command, on_calendar=on_calendar, every=every, persistent=persistent,
                                    randomized_delay=randomized_delay, overlap=overlap, **options)
    _ready(auto_boot=True)
    installed = rituals.add(spec, replace=replace)
    ritual = installed.ritual
    if as_json:
        fmt.print_json({"name": name, "timer": ritual.timer, "service": ritual.service,
                        "schedule": ritual.schedule.describe(), "next_elapses": list(preview.next_elapses),
                        "changed": installed.changed, "files": [str(p) for p in ritual.files]})
    else:
        verb = "added" if installed.changed else "unchanged:"
        click.echo(f"{verb} ritual {name}, {ritual.schedule.describe()} ({ritual.timer})")
        click.echo("next runs: " + ", ".join(_stamp(at) for at in preview.next_elapses))
    _warn_without_linger()


def _warn_without_linger() -> None:
    from overmind.control.doctor import linger

    check = linger()
    if check.state != "ok":
        click.echo(f"overmind: note: {check.detail}", err=True)
        if check.hint:
            click.echo(f"({check.hint})", err=True)


@ritual.command("ls")
@json_option
@on_host()
def ls(as_json: bool) -> None:
    """Rituals with schedule, next run, last run, last result and runs so far."""
    from overmind.control.rituals import listing

    _ready()
    shown = listing()
    if as_json:
        fmt.print_json([view.to_json() for view in shown])
        return
    if not shown:
        click.echo("no rituals (add one with: overmind ritual add NAME --every 1h 'COMMAND')")
        return
    headers = ("NAME", "STATE", "SCHEDULE", "NEXT", "LAST", "RESULT", "RUNS", "COMMAND")
    rows = [(v.ritual.name, "enabled" if v.enabled else "disabled", v.ritual.schedule.describe(),
             fmt.relative(v.next_at), fmt.relative(v.last_run_at), v.result,
             f"{v.runs} ({v.skipped} skipped)" if v.skipped else str(v.runs), v.ritual.command)
            for v in shown]
    click.echo(fmt.table(headers, rows, shrinkable=(0, 2)))


@click.command("rituals")
@json_option
@on_host()
@click.pass_context
def rituals(ctx: click.Context, as_json: bool) -> None:
    """Rituals with schedule, next run, last run, last result and runs so far (= ritual ls)."""
    ctx.invoke(ls, as_json=as_json)


@ritual.command("run")
@click.argument("name")
@on_host()
def run_now(name: str) -> None:
    """Run ritual NAME now, outside its schedule."""
    from overmind.control.rituals import run_now as start

    _ready(auto_boot=True)
    start(name)
    click.echo(f"started ritual {name} (follow it with: overmind ritual logs {name} -f)")


@ritual.command("enable")
@click.argument("name")
@on_host()
def enable(name: str) -> None:
    """Schedule ritual NAME again after `disable`."""
    from overmind.control.rituals import enable as switch_on

    _ready()
    switch_on(name)
    click.echo(f"enabled ritual {name}")


@ritual.command("disable")
@click.argument("name")
@on_host()
def disable(name: str) -> None:
    """Stop scheduling ritual NAME (a run going on finishes; its files stay)."""
    from overmind.control.rituals import disable as switch_off

    _ready()
    switch_off(name)
    click.echo(f"disabled ritual {name} (no further runs until: overmind ritual enable {name})")


@ritual.command("rm")
@click.argument("name")
@json_option
@on_host()
def rm(name: str, as_json: bool) -> None:
    """Remove ritual NAME: stop it, delete its unit files, forget its runs (the journal keeps its output)."""
    from overmind.control.rituals import remove

    _ready()
    removed = remove(name)
    if as_json:
        fmt.print_json({"name": name, "removed": removed})
    else:
        click.echo(f"removed ritual {name}: " + ", ".join(removed))


@ritual.command("logs")
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines (and runs) as they come.")
@click.option("--runs", "-n", "last_runs", type=click.IntRange(min=0), help="Only the last N runs.")
@json_option
@on_host()
def logs(name: str, follow: bool, last_runs: int | None, as_json: bool) -> None:
    """Output of every run of ritual NAME, run by run."""
    from overmind.control.rituals import lines
    from overmind.rituals.runlog import format_lines

    _ready()
    source = lines(name, last_runs, follow)
    if as_json:
        for line in source:
            click.echo(json.dumps(line.to_json()))
        return
    for text in format_lines(source):
        click.echo(text)


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().strftime("%a %Y-%m-%d %H:%M:%S %Z")


COMMANDS = [ritual, rituals]
