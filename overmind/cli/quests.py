"""Quest commands: one-shot jobs (`quest run`) and their history (`quest ls`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from overmind import format as fmt
from overmind.cli.missions import launch_and_report
from overmind.cli.on_host import on_host
from overmind.cli.options import json_option, launch_options, mission_spec, provider_option
from overmind.control.host import ready


@click.group()
def quest() -> None:
    """One-shot jobs: missions of type quest, with their history."""


@quest.command("run", context_settings={"allow_interspersed_args": False})
@click.option("--name", help="Quest name (default: a generated adjective-noun).")
@provider_option
@launch_options
@on_host()
def run(name: str | None, wait_: bool, as_json: bool, command: tuple[str, ...], **options: Any) -> None:
    """Run COMMAND once as a quest (one argument is a shell command line)."""
    launch_and_report(mission_spec(command, name=name, type="quest", **options), wait_, as_json)


@quest.command("ls")
@click.option("--last", "-n", type=click.IntRange(min=1), help="Only the N most recent quests.")
@json_option
@on_host()
def ls(last: int | None, as_json: bool) -> None:
    """Past and running quests with status, exit code, duration and cost (until `overmind gc`)."""
    from overmind.control.quests import quests

    ready()
    rows = [quest.to_json() for quest in quests(last)]
    if as_json:
        fmt.print_json(rows)
        return
    if not rows:
        click.echo("no quests (start one with: overmind quest run 'COMMAND')")
        return
    headers = ("ID", "NAME", "STATUS", "EXIT", "DURATION", "COST", "STARTED", "COMMAND")
    click.echo(fmt.table(headers, [
        (r["id"], r["name"], r["status"] + (f" ({r['reason']})" if r["reason"] else ""),
         "-" if r["exit_code"] is None else str(r["exit_code"]), fmt.duration(r["duration_s"]),
         "-" if r["cost_usd"] is None else f"${r['cost_usd']:.4f}",
         datetime.fromtimestamp(r["created_at"]).strftime("%Y-%m-%d %H:%M"), r["command"])
        for r in rows]))


COMMANDS = [quest]
