"""Agent events and session ids in the store, and the migration that added them."""

from __future__ import annotations

import json
import sqlite3
import time

from overmind.store import SCHEMA_VERSION, Mission, Store

_V1 = """
CREATE TABLE missions (id TEXT PRIMARY KEY, name TEXT NOT NULL, unit TEXT NOT NULL, type TEXT NOT NULL,
    provider TEXT NOT NULL, command TEXT NOT NULL, cwd TEXT NOT NULL, parent TEXT, spec TEXT NOT NULL,
    created_at REAL NOT NULL, killed_at REAL, stop_requested_at REAL);
CREATE INDEX missions_by_name ON missions (name, created_at);
CREATE TABLE exits (mission_id TEXT NOT NULL REFERENCES missions (id) ON DELETE CASCADE, at REAL NOT NULL,
    service_result TEXT NOT NULL, exit_code TEXT NOT NULL, exit_status TEXT NOT NULL, oom INTEGER NOT NULL DEFAULT 0);
INSERT INTO missions VALUES ('aaaaaaaa', 'old', 'u', 'task', 'raw', 'true', '/', NULL, '{}', 1.0, NULL, NULL);
INSERT INTO exits VALUES ('aaaaaaaa', 2.0, 'success', 'exited', '0', 0);
PRAGMA user_version = 1;
"""


def _mission(mid: str) -> Mission:
    return Mission(mid, f"m-{mid}", "u", "session", "claude", "", "/", None, {}, time.time(), None, None)


def test_a_version_1_database_keeps_its_missions_and_gains_events(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    db = sqlite3.connect(tmp_path / "state.db")
    db.executescript(_V1)
    db.close()
    store = Store()
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    old = store.get("old")
    assert old is not None and old.last_exit is not None and old.last_exit.code == 0
    assert store.add_event("aaaaaaaa", 3.0, "result", "{}") == 1


def test_events_are_numbered_per_mission_and_kept_byte_for_byte(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    store = Store()
    for mid in ("aaaaaaaa", "bbbbbbbb"):
        store.add(_mission(mid))
    long_line = json.dumps({"type": "user", "text": "x" * 200_000, "emoji": "🙂"}, ensure_ascii=False)
    assert [store.add_event("aaaaaaaa", 1.0, "user", long_line), store.add_event("bbbbbbbb", 1.0, "a", "{}"),
            store.add_event("aaaaaaaa", 2.0, "result", '{"type":"result"}')] == [1, 1, 2]
    assert store.event("aaaaaaaa", 1).data == long_line
    assert [e.seq for e in store.events("aaaaaaaa", after=1)] == [2]
    assert [e.type for e in store.events_newest_first("aaaaaaaa")] == ["result", "user"]
    assert store.last_seq("aaaaaaaa") == 2 and store.last_seq("cccccccc") == 0
    store.set_session_id("aaaaaaaa", "s-1")
    store.set_session_id("aaaaaaaa", "s-2")
    assert store.session_id("aaaaaaaa") == "s-2" and store.session_ids() == {"aaaaaaaa": "s-2"}
    store.remove("aaaaaaaa")
    assert store.events("aaaaaaaa") == [] and store.session_id("aaaaaaaa") is None
