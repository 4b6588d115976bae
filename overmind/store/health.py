"""Is the state store sound: SQLite's own quick_check, and what the last rebuild recovered."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from overmind.store.rebuild import report_path


def quick_check(path: Path) -> str | None:
    """None if the database at `path` passes PRAGMA quick_check, else what is wrong (first line)."""
    if not path.exists():
        return "it does not exist"
    from overmind.store import space

    # On a full file system SQLite cannot map its shared memory: read the file as it stands.
    mode = "immutable=1" if space.full(path.parent) else "mode=ro"
    try:
        db = sqlite3.connect(f"file:{path}?{mode}", uri=True, timeout=30)
        try:
            rows = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        return str(error)
    return None if rows == ["ok"] else "; ".join(rows)


def last_rebuild(path: Path) -> dict[str, Any] | None:
    """What the newest rebuild of the store at `path` recovered and what it could not."""
    try:
        found = json.loads(report_path(path).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
