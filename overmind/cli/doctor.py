"""`overmind doctor`: is this machine ready for missions and rituals, and if not, why."""

from __future__ import annotations

import click

from overmind import format as fmt
from overmind.cli.options import json_option

_MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL"}


@click.command()
@json_option
def doctor(as_json: bool) -> None:
    """Check the user manager, journald, linger and the unit directory; exit 1 if anything fails."""
    from overmind.control.doctor import run_all

    checks = run_all()
    if as_json:
        fmt.print_json([check.to_json() for check in checks])
    else:
        click.echo(fmt.checklist([(_MARKS[item.state], item.name, item.detail,
                                   f"fix: {item.hint}" if item.hint and item.state != "ok" else None)
                                  for item in checks]))
    if any(check.state == "fail" for check in checks):
        raise SystemExit(1)


COMMANDS = [doctor]
