"""`overmind setup`: make this host ready for the current user (idempotent)."""

from __future__ import annotations

import click

from overmind.cli.options import json_option
from overmind.cli.output import print_checklist


@click.command()
@click.option("--check", is_flag=True, help="Only show what setup would do; change nothing.")
@json_option
def setup(check: bool, as_json: bool) -> None:
    """Enable lingering (or start the private host at boot where systemd is not PID 1), install the
    orchestrator skill and shell completion. Safe to run again; exits 1 while something is missing
    that only you can do (each such line says what to run)."""
    from overmind.control.setup import pending, run

    steps = run(change=not check)
    print_checklist(steps, as_json, hint_label="run")
    if pending(steps):
        raise SystemExit(1)


COMMANDS = [setup]
