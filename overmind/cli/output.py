"""Small pieces of human output the commands share: `label: value` blocks."""

from __future__ import annotations

from collections.abc import Sequence

import click


def print_fields(fields: Sequence[tuple[str, object]]) -> None:
    """`systemctl status`-like lines: labels right-aligned on the colon."""
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        click.echo(f"{label:>{width}}: {value}")
