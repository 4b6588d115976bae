"""Human output: aligned tables that fit the terminal, sizes and durations."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def caret(text: object) -> str:
    """Control characters (an ANSI escape's ESC among them) in caret notation (^[[31m), so text
    from a program, a file name or a memory shows what it contains and never styles or moves
    anything. Tabs and line breaks stay."""
    return _CONTROL.sub(lambda m: "^?" if m[0] == "\x7f" else "^" + chr(ord(m[0]) + 64), str(text))


def terminal_width() -> int:
    """$COLUMNS, else the terminal's width, else 120: shutil.get_terminal_size's rule, without
    importing shutil (and the archivers it imports) for it."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 120  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 120


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int | None = None,
          shrinkable: Sequence[int] = (1,), last_min: int = 16) -> str:
    """Left-aligned columns that fit the terminal: the last column is cut first, then the
    `shrinkable` columns (e.g. long names) down to 10 characters each."""
    width = width or terminal_width()
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers) - 1)]
    overflow = sum(widths) + 2 * len(widths) + last_min - width
    for index in sorted(shrinkable, key=lambda i: -widths[i]):
        if overflow <= 0:
            break
        cut = min(overflow, max(widths[index] - 10, 0))
        widths[index] -= cut
        overflow -= cut
    lines = []
    for row in [headers, *rows]:
        head = "".join(truncate(str(cell), w).ljust(w) + "  " for cell, w in zip(row[:-1], widths, strict=True))
        lines.append(head + truncate(str(row[-1]), max(width - len(head), 8)))
    return "\n".join(line.rstrip() for line in lines)


def truncate(text: str, width: int) -> str:
    text = re.sub(r"[\n\r\t\v\f]", " ", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def size(value: int | None) -> str:
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "K", "M", "G"):
        if amount < 1024 or unit == "G":
            return f"{amount:.0f}{unit}" if unit == "B" else f"{amount:.1f}{unit}"
        amount /= 1024
    return f"{amount:.1f}T"


def stamp(value: float | None) -> str:
    """A moment in local time, or '-' for none."""
    from datetime import datetime

    return datetime.fromtimestamp(value).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if value else "-"


def relative(epoch: float | None) -> str:
    """'in 5m00s' or '3m10s ago', '-' for none."""
    import time

    if epoch is None:
        return "-"
    delta = epoch - time.time()
    return f"in {duration(delta)}" if delta >= 0 else f"{duration(-delta)} ago"


def cpu(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}s"


def print_json(data: Any) -> None:
    # dumps, not dump: only dumps uses the C encoder (dump writes piece by piece in Python).
    sys.stdout.write(json.dumps(data, indent=None if isinstance(data, list) and len(data) > 50 else 2, default=str))
    sys.stdout.write("\n")


def checklist(items: Sequence[tuple[str, str, str, str | None]], width: int | None = None) -> str:
    """(mark, name, text, extra line or None) rows as aligned columns, the text wrapped to the
    terminal under itself. Used for doctor's checks and setup's steps."""
    import textwrap

    mark_width = max(len(item[0]) for item in items)
    name_width = max(len(item[1]) for item in items)
    indent = " " * (mark_width + name_width + 4)
    room = max((width or terminal_width()) - len(indent), 30)
    lines = []
    for mark, name, text, extra in items:
        paragraphs = [text] if extra is None else [text, extra]
        wrapped = [part for paragraph in paragraphs for part in textwrap.wrap(paragraph, room)] or [""]
        lines.append(f"{mark:<{mark_width}}  {name:<{name_width}}  {wrapped[0]}")
        lines.extend(indent + part for part in wrapped[1:])
    return "\n".join(lines)
