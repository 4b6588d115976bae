"""`overmind setup`: make this host ready for the current user (idempotent)."""

from __future__ import annotations

import click

from overmind import format as fmt
from overmind.cli.options import json_option

_MARKS = {"ok": "ok", "changed": "done", "todo": "TODO", "needs": "NEEDS", "skipped": "-"}


@click.command()
@click.option("--check", is_flag=True, help="Only show what setup would do; change nothing.")
@json_option
def setup(check: bool, as_json: bool) -> None:
    """Enable lingering (or start the private host at boot where systemd is not PID 1), install the
    orchestrator skill and shell completion. Safe to run again; exits 1 while something is missing
    that only you can do (each such line says what to run)."""
    from overmind.control.setup import pending, run

    steps = run(change=not check)
    if as_json:
        fmt.print_json([step.to_json() for step in steps])
    else:
        click.echo(fmt.checklist([(_MARKS[item.state], item.name, item.detail,
                                   f"run: {item.hint}" if item.hint and item.state != "ok" else None)
                                  for item in steps]))
    if pending(steps):
        raise SystemExit(1)


COMMANDS = [setup]
