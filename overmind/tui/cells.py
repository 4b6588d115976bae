"""A mission's or blueprint's row as table cells: the columns that fit the width, the status in
its colour. Pure presentation of the control layer's views (the status itself comes from there)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from rich.text import Text

from overmind import format as fmt

if TYPE_CHECKING:
    from overmind.control.missions import Row, View

# The colour of each status word (k9s-like: green runs, yellow is on its way, red went wrong).
STATUS_STYLES = {
    "running": "green", "attached": "bold green", "restarting": "yellow", "stopping": "yellow",
    "waiting": "cyan", "stopped": "dim", "done": "dim green", "crashed": "bold red", "failed": "bold red",
    "killed": "magenta", "lost": "red", "interrupted": "yellow", "skipped": "dim yellow", "unknown": "red",
}


class Column(NamedTuple):
    key: str
    title: str
    width: int | None  # None: takes what is left
    cell: Callable[[Row, float | None], str | Text]
    wide_only: bool = False  # left out below WIDE columns


def status_text(state: str, label: str) -> Text:
    return Text(label, style=STATUS_STYLES.get(state, ""))


def _status(row: Row, _: float | None) -> Text:
    return status_text(row.view.status.state, row.view.status.label)


def _name(row: Row, _: float | None) -> str:
    return row.lead + row.view.name


def _cost(_: Row, usd: float | None) -> str:
    return f"${usd:.2f}" if usd else "-"


def _activity(row: Row, _: float | None) -> str:
    view = row.view
    return (view.activity or view.command_line).replace("\n", " ")


def _view(get: Callable[[View], str]) -> Callable[[Row, float | None], str]:
    return lambda row, _: get(row.view)


COLUMNS = (
    Column("id", "ID", 8, _view(lambda v: v.id)),
    Column("name", "NAME", 20, _name),
    Column("type", "TYPE", 9, _view(lambda v: v.type), wide_only=True),
    Column("status", "STATUS", 16, _status),
    Column("restarts", "↻", 3, _view(lambda v: str(v.restarts))),
    Column("uptime", "UPTIME", 7, _view(lambda v: fmt.duration(v.uptime))),
    Column("memory", "MEM", 7, _view(lambda v: fmt.size(v.memory))),
    Column("cpu", "CPU", 8, _view(lambda v: fmt.cpu(v.cpu_seconds)), wide_only=True),
    Column("cost", "COST", 7, _cost, wide_only=True),
    Column("activity", "ACTIVITY / COMMAND", None, _activity),
)
WIDE = 140  # columns of the terminal from which every column is shown
NARROW = 100  # below this, names and statuses are cut shorter


def columns_for(width: int) -> list[Column]:
    chosen = [c for c in COLUMNS if width >= WIDE or not c.wide_only]
    if width < NARROW:
        shorter = {"name": 14, "status": 12}
        chosen = [c._replace(width=shorter.get(c.key, c.width)) for c in chosen]
    return chosen


def cells(row: Row, columns: list[Column], usd: float | None, width: int) -> list[str | Text]:
    """The row's cells; the last column is cut to the width left over."""
    fixed = sum(c.width + 2 for c in columns if c.width is not None)  # a cell has a space either side
    last = max(width - fixed - 4, 12)
    found: list[str | Text] = []
    for column in columns:
        value = column.cell(row, usd)
        limit = column.width if column.width is not None else last
        if isinstance(value, str):
            value = fmt.truncate(value, limit)
        else:
            value.truncate(limit, overflow="ellipsis")
        found.append(value)
    return found


def searchable(row: Row) -> tuple[str, ...]:
    """What the `/` filter looks at in a row."""
    view = row.view
    return (view.id, view.name, view.type, view.status.label, view.activity or "", view.command_line)
