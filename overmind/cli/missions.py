"""Mission commands: run, ps, info, logs, wait, stop, kill, restart, gc. Parse, call the control
layer, print."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from overmind import format as fmt
from overmind.cli.on_host import on_host
from overmind.cli.options import agent_options, json_option, launch_options, mission_spec
from overmind.control.host import ready
from overmind.errors import OvermindError

if TYPE_CHECKING:
    from overmind.control.missions import Record, View
    from overmind.mission.spec import MissionSpec


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--name", help="Mission name (default: a generated adjective-noun).")
@click.option("--persist/--no-persist", default=None,
              help="Write the unit as a file enabled at boot: it starts again after a reboot (docs/reboots.md)."
                   " Default: sessions yes, tasks and quests no.")
@click.option("--on-boot", type=click.Choice(["run", "skip"]), default="run", show_default=True,
              help="With --persist: run it again at the next boot, or leave it `interrupted by reboot`.")
@agent_options
@launch_options
@on_host()
def run(name: str | None, wait_: bool, as_json: bool, command: tuple[str, ...], **options: Any) -> None:
    """Start COMMAND (or an agent's PROMPT) as a supervised mission (a transient systemd user unit).

    One argument is run as a shell command line (`sh -c`); several are quoted as separate words.
    With --provider claude|codex|gemini|opencode the words are the agent's prompt (optional for a session).
    """
    launch_and_report(mission_spec(command, name=name, **options), wait_, as_json)


def launch_and_report(spec: MissionSpec, wait_: bool, as_json: bool) -> None:
    """Start a mission (control.launch), say so in one line, and with wait_ block and exit with its code."""
    from overmind.control.launch import launch

    launched = launch(spec)
    for warning in launched.warnings:
        click.echo(f"overmind: warning: {warning} (see 'overmind doctor')", err=True)
    mission, where = launched.mission, launched.where
    if as_json:
        click.echo(json.dumps(launched.to_json()))
    else:
        noun = "quest" if mission.type == "quest" else "mission"
        ports = " ".join(f"{variable}={port}" for variable, port in where.get("ports", {}).items())
        inside = f" in worktree {where['worktree']['name']}" + (f", {ports}" if ports else "") if where else ""
        click.echo(f"started {noun} {mission.id} ({mission.name}) as {mission.unit}{inside}")
    if wait_:
        wait_and_exit([mission], None, quiet=as_json)


@click.command()
@click.option("--all", "-a", "show_all", is_flag=True, help="Include killed missions.")
@click.option("--tree", is_flag=True, help="Draw parent/child trees.")
@click.option("--children", metavar="ID|NAME", help="Only the direct children of this mission.")
@click.option("--hosts", "hosts", metavar="all|A,B", help="Missions of these hosts, with a HOST column.")
@json_option
@on_host()
def ps(show_all: bool, tree: bool, children: str | None, hosts: str | None, as_json: bool) -> None:
    """List missions: running ones first, then finished ones not yet collected by gc."""
    from overmind.control.missions import listing

    if hosts is not None:
        from overmind.cli.fleet import print_fleet

        print_fleet(hosts, show_all, tree or children is not None, as_json)
        return
    ready()
    rows = listing(include_killed=show_all, children_of=children, tree=tree)
    if as_json:
        fmt.print_json([row.to_json() for row in rows])
        return
    if not rows:
        click.echo("no missions (start one with: overmind run 'COMMAND')")
        return
    # What agents are doing (their STATUS=), in its own column when any of them says; where they
    # work (worktree and ports) when any of them has a worktree; how many boots started each
    # persisted one again when any is persisted (a dash: a reboot loses it).
    activity = any(row.view.activity for row in rows)
    places = {row.view.id: _place(row.view) for row in rows}
    isolated = any(place != ("-", "-") for place in places.values())
    persisted = any(row.view.persisted for row in rows)
    headers = ("ID", "NAME", "TYPE", "STATUS", "RESTARTS", *(["BOOTS"] * persisted), "UPTIME", "MEM", "CPU",
               *(["ACTIVITY"] * activity), *(["WORKTREE", "PORTS"] * isolated), "COMMAND")
    table = [(v.id, row.lead + v.name, v.type, v.status.label, str(v.restarts),
              *([str(v.boots) if v.persisted else "-"] * persisted), fmt.duration(v.uptime),
              fmt.size(v.memory), fmt.cpu(v.cpu_seconds), *([_activity(v)] * activity),
              *(places[v.id] if isolated else ()), v.command_line) for row in rows for v in (row.view,)]
    after = 8 + persisted  # the first column after CPU
    shrinkable = [1, 3, *([after] if activity else []), *([after + activity] if isolated else [])]
    click.echo(fmt.table(headers, table, shrinkable=shrinkable))


def _activity(view: View) -> str:
    """What an agent does, cut to fit; what it asks a person for is given more room."""
    text = view.activity or "-"
    return fmt.truncate(text, 64 if text.startswith("needs you:") else 40)


def _place(view: View) -> tuple[str, str]:
    """A mission's worktree and ports for ps; dashes without one."""
    environment = getattr(view, "environment", None)
    if not environment or not environment["worktree"]:
        return "-", "-"
    ports = ",".join(str(port) for port in dict.fromkeys(environment["ports"].values()))
    return environment["worktree"]["name"], ports or "-"


@click.command()
@click.argument("ref", metavar="ID|NAME")
@json_option
@on_host("ref")
def info(ref: str, as_json: bool) -> None:
    """Everything known about one mission."""
    from overmind.cli.output import print_fields
    from overmind.control.describe import fields
    from overmind.control.missions import get

    ready()
    view = get(ref)
    if as_json:
        fmt.print_json(view.to_json())
        return
    if view.kind == "blueprint":
        from overmind.cli.blueprints import print_pipeline

        print_pipeline(view)
        return
    print_fields(fields(view))


@click.command()
@click.argument("ref", metavar="[ID|NAME]", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines as they arrive.")
@click.option("--lines", "-n", type=click.IntRange(min=0), help="Show only the last N lines.")
@click.option("--since", help="Show lines since a time, e.g. '10 min ago' or '2026-01-31 09:00'.")
@click.option("--service", metavar="SERVICE",
              help="The output of one of the mission's services (.overmind.yml), or of its worktree's setup.")
@click.option("--after-cursor", metavar="CURSOR",
              help="Only lines after this journal cursor (a line's `cursor` in --json).")
@json_option
@on_host("ref", special="logs")
def logs(ref: str | None, follow: bool, lines: int | None, since: str | None, service: str | None,
         after_cursor: str | None, as_json: bool) -> None:
    """Show a mission's output from the journal (all missions, name-prefixed, without ID|NAME).

    A blueprint's logs are all its agents' lines in time order, prefixed with the agent's name."""
    from overmind.control import logs as journal

    ready()
    selection = journal.select(ref, service=service)
    found = journal.lines(selection, count=lines, since=journal.parse_since(since) if since else None,
                          follow=follow, after_cursor=after_cursor)
    if as_json:
        for data in journal.to_json(found):
            click.echo(json.dumps(data))
        return
    width = selection.name_width
    for entry in found:
        click.echo(journal.format_entry(entry, with_name=selection.with_names, name_width=width))


cascade_option = click.option("--cascade", is_flag=True, help="Also end every mission below it, children first.")


def _end(verb: str, refs: tuple[str, ...], every: bool, cascade: bool, as_json: bool) -> None:
    from overmind.control import lifecycle

    ready()
    chosen = lifecycle.targets(refs, every, verb)
    ended = (lifecycle.stop if verb == "stop" else lifecycle.kill)(chosen, cascade=cascade)
    if as_json:
        fmt.print_json([e.to_json() for e in ended])
        return
    for e in ended:
        click.echo(f"{'stopped' if verb == 'stop' else 'killed'} {e.id} ({e.name})")


@click.command()
@click.argument("refs", nargs=-1, metavar="ID|NAME...")
@click.option("--all", "every", is_flag=True, help="Stop every running mission.")
@cascade_option
@json_option
@on_host("refs")
def stop(refs: tuple[str, ...], every: bool, cascade: bool, as_json: bool) -> None:
    """Stop missions: SIGTERM to all their processes, SIGKILL after the grace period."""
    _end("stop", refs, every, cascade, as_json)


@click.command()
@click.argument("refs", nargs=-1, metavar="ID|NAME...")
@click.option("--all", "every", is_flag=True, help="Kill every running mission.")
@cascade_option
@json_option
@on_host("refs")
def kill(refs: tuple[str, ...], every: bool, cascade: bool, as_json: bool) -> None:
    """Kill missions with SIGKILL and drop them from ps (logs stay readable by id until gc)."""
    _end("kill", refs, every, cascade, as_json)


@click.command()
@click.argument("refs", nargs=-1, required=True, metavar="ID|NAME...")
@json_option
@on_host("refs")
def restart(refs: tuple[str, ...], as_json: bool) -> None:
    """Run missions again: a running one restarts (systemd's restart), a finished, stopped or
    killed one starts a new run under the same id and name."""
    from overmind.control import lifecycle

    ready(auto_boot=True)
    restarted = [lifecycle.restart(ref) for ref in refs]
    if as_json:
        fmt.print_json([{"id": m.id, "name": m.name, "unit": m.unit} for m in restarted])
        return
    for mission in restarted:
        click.echo(f"restarted {mission.id} ({mission.name})")


@click.command()
@click.argument("refs", nargs=-1, required=True, metavar="ID|NAME...")
@click.option("--timeout", metavar="MS",
              help="Give up after this long (plain numbers are ms); the mission keeps running.")
@json_option
@on_host("refs")
def wait(refs: tuple[str, ...], timeout: str | None, as_json: bool) -> None:
    """Block until missions finish (restarts included); exit with the mission's exit code."""
    from overmind.control.missions import resolve
    from overmind.quantities import parse_duration

    ready()
    chosen = [resolve(ref) for ref in refs]
    seconds = parse_duration(timeout, "--timeout", plain="ms") if timeout else None
    wait_and_exit(chosen, seconds, as_json=as_json)


def wait_and_exit(chosen: Sequence[Record], timeout: float | None, as_json: bool = False,
                  quiet: bool = False) -> None:
    from overmind.control.lifecycle import wait as wait_for

    views: list[View] | None = wait_for(chosen, timeout)
    if views is None:
        names = ", ".join(m.name for m in chosen)
        raise OvermindError(f"timeout: {names} still running after {timeout:g}s", exit_code=124)
    if as_json:
        fmt.print_json([v.to_json() for v in views] if len(views) > 1 else views[0].to_json())
    elif not quiet:
        for view in views:
            prefix = f"{view.name}: " if len(views) > 1 else ""
            click.echo(f"{prefix}finished: {view.status.summary}")
    codes = [v.status.exit_code or 0 for v in views]
    raise SystemExit(next((code for code in codes if code), 0))


@click.command()
@click.option("--worktrees", is_flag=True,
              help="Also remove worktrees nobody works in whose work is merged (the others are listed, kept).")
@click.option("--all", "everywhere", is_flag=True,
              help="Every repository's missions and worktrees, not only those of the repository you are in.")
@json_option
def gc(worktrees: bool, everywhere: bool, as_json: bool) -> None:
    """Forget finished and killed missions (their journal lines stay in the journal).

    Inside a git repository, only the missions and blueprints that ran in it (its worktrees
    included), and with --worktrees only its worktrees; --all (or outside any repository): all."""
    import os

    from overmind.control.lifecycle import collect
    from overmind.control.worktrees import repository

    ready()
    repo = None if everywhere else repository(os.getcwd())
    where = f" in {repo.main}" if repo else ""
    removed = collect(within=repo.folders if repo else None)
    if not as_json:
        for ended in removed:
            click.echo(f"forgot {ended.id} ({ended.name})")
        click.echo(f"removed {len(removed)} finished mission{'s' if len(removed) != 1 else ''}{where}")
    if not worktrees:
        if as_json:
            fmt.print_json([m.to_json() for m in removed])
        return
    from overmind.control.worktrees import collect as collect_worktrees

    collected = collect_worktrees(repo.main if repo else None)
    if as_json:
        fmt.print_json({"missions": [m.to_json() for m in removed], "worktrees": collected.to_json()})
        return
    for gone in collected.removed:
        click.echo(f"removed worktree {gone.name}")
    for name, reason in collected.kept:
        click.echo(f"kept worktree {name}: {reason}")
    click.echo(f"removed {len(collected.removed)} worktree{'s' if len(collected.removed) != 1 else ''}{where}")


COMMANDS = [run, ps, info, logs, wait, stop, kill, restart, gc]
