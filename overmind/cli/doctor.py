"""`overmind doctor`: is this machine ready for missions and rituals, and if not, why."""

from __future__ import annotations

import click

from overmind.cli.options import json_option
from overmind.cli.output import print_checklist


@click.command()
@json_option
def doctor(as_json: bool) -> None:
    """Check the user manager, journald, linger and the unit directory; exit 1 if anything fails."""
    from overmind.control.doctor import run_all

    checks = run_all()
    print_checklist(checks, as_json, hint_label="fix")
    if any(check.state == "fail" for check in checks):
        raise SystemExit(1)


COMMANDS = [doctor]
