"""`overmind repair`: put right what overmind can (a damaged or lost state store, persisted unit files)."""

from __future__ import annotations

import click

from overmind.cli.options import json_option
from overmind.cli.output import print_checklist


@click.command()
@click.option("--rebuild", is_flag=True, help="Redo every repair even where nothing looks wrong.")
@json_option
def repair(rebuild: bool, as_json: bool) -> None:
    """Check and repair the state store (rebuilt from systemd and the journal if damaged or
    missing; the old file is kept beside it) and persisted missions' unit files (written again
    if missing or edited, never under a running mission; files of no mission removed). Exits 1
    if something could not be repaired."""
    from overmind.control.repair import run_all

    steps = run_all(rebuild)
    print_checklist(steps, as_json, hint_label="run")
    if any(step.state == "needs" for step in steps):
        raise SystemExit(1)


COMMANDS = [repair]
