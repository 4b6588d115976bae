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
        import textwrap

        width = max(len(check.name) for check in checks)
        indent = " " * (width + 8)
        for check in checks:
            text = check.detail + (f"\nfix: {check.hint}" if check.hint and check.state != "ok" else "")
            lines = [wrapped for paragraph in text.splitlines() for wrapped in
                     textwrap.wrap(paragraph, max(fmt.terminal_width() - len(indent), 30))]
            click.echo(f"{_MARKS[check.state]:<4}  {check.name:<{width}}  {lines[0]}")
            for line in lines[1:]:
                click.echo(indent + line)
    if any(check.state == "fail" for check in checks):
        raise SystemExit(1)


COMMANDS = [doctor]
