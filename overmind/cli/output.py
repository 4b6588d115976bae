"""Small pieces of human output the commands share: `label: value` blocks, checklists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import click

# doctor's check states and setup's step states, as the checklist's first column
_MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL",
          "changed": "done", "todo": "TODO", "needs": "NEEDS", "skipped": "-"}


class ChecklistItem(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def hint(self) -> str | None: ...
    def to_json(self) -> dict[str, Any]: ...


def print_fields(fields: Sequence[tuple[str, object]]) -> None:
    """`systemctl status`-like lines: labels right-aligned on the colon."""
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        click.echo(f"{label:>{width}}: {value}")


def print_checklist(items: Sequence[ChecklistItem], as_json: bool, hint_label: str) -> None:
    """Doctor's checks or setup's steps: JSON, or a mark, a name and the detail per line, with
    `<hint_label>: <hint>` under each item that is not ok."""
    from overmind import format as fmt

    if as_json:
        fmt.print_json([item.to_json() for item in items])
        return
    click.echo(fmt.checklist([(_MARKS[item.state], item.name, item.detail,
                               f"{hint_label}: {item.hint}" if item.hint and item.state != "ok" else None)
                              for item in items]))
