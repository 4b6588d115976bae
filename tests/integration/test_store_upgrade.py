"""A store written by an earlier release keeps working after an upgrade: nothing lost, new tables added."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.helpers import Overmind

OLD_STORE = Path(__file__).resolve().parents[1] / "data" / "store-schema1.sql"


def test_a_first_release_store_is_read_migrated_and_kept(om: Overmind, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    with sqlite3.connect(state / "state.db") as db:
        db.executescript(OLD_STORE.read_text())
    old = Overmind(om.env | {"OVERMIND_STATE_DIR": str(state)})

    rows = {row["name"]: row for row in old.json("ps", "--all")}
    assert {name: row["status"] for name, row in rows.items()} == {
        "old-crash": "crashed", "old-ok": "stopped", "old-killed": "killed"}
    crashed = old.info("old-crash")
    assert (crashed["exit_code"], crashed["limits"]["memory_max"], crashed["command"]) == (2, 268435456, "exit 2")

    with sqlite3.connect(state / "state.db") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = db.execute("PRAGMA user_version").fetchone()[0]
    assert {"missions", "exits", "events", "sessions", "ritual_runs"} <= tables and version >= 3
    assert old("gc", "--all").stdout.splitlines()[-1] == "removed 3 finished missions"
