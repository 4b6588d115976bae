"""Small pieces of human output the commands share: `label: value` blocks and timestamps."""

from __future__ import annotations

import time
from datetime import datetime

import click

from overmind import format as fmt


def print_fields(fields: list[tuple[str, object]]) -> None:
    """`systemctl status`-like lines: labels right-aligned on the colon."""
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        click.echo(f"{label:>{width}}: {value}")


def stamp(value: float | None) -> str:
    """A moment in local time, or '-' for none."""
    return datetime.fromtimestamp(value).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if value else "-"


def relative(epoch: float | None) -> str:
    """'in 5m00s' or '3m10s ago', '-' for none."""
    if epoch is None:
        return "-"
    delta = epoch - time.time()
    return f"in {fmt.duration(delta)}" if delta >= 0 else f"{fmt.duration(-delta)} ago"
