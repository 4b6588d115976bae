"""The state store: what systemd does not keep about missions.

systemd is the source of truth for what runs; this keeps names, commands, specs and the exit
record of every run after systemd has garbage-collected the unit. It sits on the CLI's hot path,
so it uses the stdlib sqlite3 module (sqlite-utils alone takes ~140 ms to import).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

SCHEMA_VERSION = 4  # 2: agent events and session ids; 3: ritual runs; 4: worktrees and port leases
_SCHEMA = """
CREATE TABLE IF NOT EXISTS missions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    type TEXT NOT NULL,
    provider TEXT NOT NULL,
    command TEXT NOT NULL,
    cwd TEXT NOT NULL,
    parent TEXT,
    spec TEXT NOT NULL,
    created_at REAL NOT NULL,
    killed_at REAL,
    stop_requested_at REAL
);
CREATE INDEX IF NOT EXISTS missions_by_name ON missions (name, created_at);
CREATE TABLE IF NOT EXISTS exits (
    mission_id TEXT NOT NULL REFERENCES missions (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    service_result TEXT NOT NULL,
    exit_code TEXT NOT NULL,
    exit_status TEXT NOT NULL,
    oom INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS exits_by_mission ON exits (mission_id, at);
CREATE TABLE IF NOT EXISTS events (
    mission_id TEXT NOT NULL REFERENCES missions (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (mission_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    mission_id TEXT PRIMARY KEY REFERENCES missions (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ritual_runs (
    unit TEXT NOT NULL,
    started_at REAL,
    at REAL NOT NULL,
    service_result TEXT NOT NULL,
    exit_code TEXT NOT NULL,
    exit_status TEXT NOT NULL,
    oom INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ritual_runs_by_unit ON ritual_runs (unit, at);
CREATE TABLE IF NOT EXISTS worktrees (
    name TEXT PRIMARY KEY,
    repo TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    branch TEXT NOT NULL,
    base TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    created_at REAL NOT NULL,
    setup_done_at REAL
);
CREATE TABLE IF NOT EXISTS port_leases (
    port INTEGER PRIMARY KEY,
    worktree TEXT NOT NULL REFERENCES worktrees (name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    leased_at REAL NOT NULL,
    UNIQUE (worktree, name)
);
"""
# Every schema change so far only adds tables, so migrating an older database is running the
# (idempotent) schema again: existing rows stay as they are.
SKIPPED = "skipped"  # the service_result of a ritual trigger that found the previous run still going


def state_dir() -> Path:
    explicit = os.environ.get("OVERMIND_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "overmind"


class Exit(NamedTuple):
    at: float
    service_result: str  # systemd's $SERVICE_RESULT: success, exit-code, signal, watchdog, ...
    exit_code: str  # systemd's $EXIT_CODE: exited, killed, dumped
    exit_status: str  # a number for exited, a signal name otherwise
    oom: bool

    @property
    def code(self) -> int:
        """The exit code as a shell reports it: the status, or 128 + signal number."""
        if self.exit_code == "exited":
            return int(self.exit_status) if self.exit_status.isdigit() else 1

        try:
            return 128 + int(signal.Signals["SIG" + self.exit_status])
        except KeyError:
            return 128


class Event(NamedTuple):
    """One event an agent CLI printed (a stream-json line), kept whole."""

    seq: int  # 1, 2, ... per mission, across restarts
    at: float
    type: str
    data: str  # the line exactly as the agent printed it


class Mission(NamedTuple):
    id: str
    name: str
    unit: str
    type: str
    provider: str
    command: str
    cwd: str
    parent: str | None
    spec: dict[str, Any]
    created_at: float
    killed_at: float | None
    stop_requested_at: float | None
    last_exit: Exit | None = None
    exit_count: int = 0  # runs that have ended so far, one per restart plus the final one


class RitualRun(NamedTuple):
    """A ritual's timer firing: a run that has ended, or a trigger skipped (no start, no exit)."""

    started_at: float | None
    exit: Exit

    @property
    def skipped(self) -> bool:
        return self.exit.service_result == SKIPPED


class Store:
    def __init__(self, path: Path | None = None) -> None:
        directory = state_dir()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path or directory / "state.db"
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout = 30000")
        if self.db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            self._migrate()
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA synchronous = NORMAL")

    def _migrate(self) -> None:
        # Switching to WAL needs the database to itself and does not wait on busy_timeout: many
        # first runs at once (a fresh state directory) would fail with "database is locked".
        for attempt in range(200):
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or attempt == 199:
                    raise
                time.sleep(0.05)
        with self.transaction():
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    def add(self, mission: Mission) -> None:
        self.db.execute(
            "INSERT INTO missions (id, name, unit, type, provider, command, cwd, parent, spec, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mission.id, mission.name, mission.unit, mission.type, mission.provider, mission.command,
             mission.cwd, mission.parent, json.dumps(mission.spec), mission.created_at),
        )

    def remove(self, mission_id: str) -> None:
        self.db.execute("DELETE FROM missions WHERE id = ?", (mission_id,))

    def record_exit(self, mission_id: str, exit: Exit) -> None:
        self.db.execute(
            "INSERT INTO exits (mission_id, at, service_result, exit_code, exit_status, oom) VALUES (?, ?, ?, ?, ?, ?)",
            (mission_id, exit.at, exit.service_result, exit.exit_code, exit.exit_status, int(exit.oom)),
        )

    def mark(self, mission_id: str, column: str) -> None:
        assert column in ("killed_at", "stop_requested_at")
        self.db.execute(f"UPDATE missions SET {column} = ? WHERE id = ?", (time.time(), mission_id))

    def unmark(self, mission_id: str, column: str) -> None:
        assert column in ("killed_at", "stop_requested_at")
        self.db.execute(f"UPDATE missions SET {column} = NULL WHERE id = ?", (mission_id,))

    def update_spec(self, mission_id: str, spec: dict[str, Any]) -> None:
        self.db.execute("UPDATE missions SET spec = ? WHERE id = ?", (json.dumps(spec), mission_id))

    def add_event(self, mission_id: str, at: float, type: str, data: str) -> int:
        """Append an event; returns its sequence number."""
        row = self.db.execute(
            "INSERT INTO events (mission_id, seq, at, type, data) VALUES"
            " (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE mission_id = ?), ?, ?, ?) RETURNING seq",
            (mission_id, mission_id, at, type, data)).fetchone()
        return int(row[0])

    def events(self, mission_id: str, after: int = 0, type: str | None = None) -> list[Event]:
        clause = " AND type = ?" if type else ""
        rows = self.db.execute(
            f"SELECT seq, at, type, data FROM events WHERE mission_id = ? AND seq > ?{clause} ORDER BY seq",
            (mission_id, after, *([type] if type else [])))
        return [Event(*row) for row in rows]

    def events_newest_first(self, mission_id: str) -> Iterator[Event]:
        rows = self.db.execute("SELECT seq, at, type, data FROM events WHERE mission_id = ? ORDER BY seq DESC",
                               (mission_id,))
        return (Event(*row) for row in rows)

    def event(self, mission_id: str, seq: int) -> Event | None:
        row = self.db.execute("SELECT seq, at, type, data FROM events WHERE mission_id = ? AND seq = ?",
                              (mission_id, seq)).fetchone()
        return Event(*row) if row else None

    def last_event(self, mission_id: str, type: str) -> Event | None:
        row = self.db.execute(
            "SELECT seq, at, type, data FROM events WHERE mission_id = ? AND type = ? ORDER BY seq DESC LIMIT 1",
            (mission_id, type)).fetchone()
        return Event(*row) if row else None

    def last_seq(self, mission_id: str) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE mission_id = ?", (mission_id,))
        return int(row.fetchone()[0])

    def set_session_id(self, mission_id: str, session_id: str) -> None:
        self.db.execute("INSERT INTO sessions (mission_id, session_id) VALUES (?, ?)"
                        " ON CONFLICT (mission_id) DO UPDATE SET session_id = excluded.session_id",
                        (mission_id, session_id))

    def session_ids(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT mission_id, session_id FROM sessions").fetchall())

    def session_id(self, mission_id: str) -> str | None:
        row = self.db.execute("SELECT session_id FROM sessions WHERE mission_id = ?", (mission_id,)).fetchone()
        return row[0] if row else None

    def get(self, ref: str) -> Mission | None:
        """A mission by id, else the newest mission with that name."""
        rows = self._select("WHERE m.id = ?", (ref,)) or self._select(
            "WHERE m.name = ? ORDER BY m.created_at DESC LIMIT 1", (ref,))
        return rows[0] if rows else None

    def all(self) -> list[Mission]:
        return self._select("ORDER BY m.created_at", ())

    def children(self, parent_id: str) -> list[Mission]:
        return self._select("WHERE m.parent = ? ORDER BY m.created_at", (parent_id,))

    def names_in_use(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT DISTINCT name FROM missions WHERE killed_at IS NULL")}

    def exits(self, mission_id: str) -> list[Exit]:
        rows = self.db.execute(
            "SELECT at, service_result, exit_code, exit_status, oom FROM exits WHERE mission_id = ? ORDER BY at",
            (mission_id,))
        return [Exit(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def record_ritual_run(self, unit: str, started_at: float | None, exit: Exit) -> None:
        self.db.execute(
            "INSERT INTO ritual_runs (unit, started_at, at, service_result, exit_code, exit_status, oom)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (unit, started_at, exit.at, exit.service_result, exit.exit_code, exit.exit_status, int(exit.oom)),
        )

    def record_ritual_skip(self, unit: str, at: float) -> None:
        self.record_ritual_run(unit, None, Exit(at, SKIPPED, "", "", False))

    def ritual_runs(self, unit: str) -> list[RitualRun]:
        rows = self.db.execute(
            "SELECT started_at, at, service_result, exit_code, exit_status, oom FROM ritual_runs"
            " WHERE unit = ? ORDER BY at", (unit,))
        return [RitualRun(r[0], Exit(r[1], r[2], r[3], r[4], bool(r[5]))) for r in rows]

    def forget_ritual_runs(self, unit: str) -> None:
        self.db.execute("DELETE FROM ritual_runs WHERE unit = ?", (unit,))

    def _select(self, clause: str, params: tuple[Any, ...]) -> list[Mission]:
        query = (
            "SELECT m.id, m.name, m.unit, m.type, m.provider, m.command, m.cwd, m.parent, m.spec,"
            " m.created_at, m.killed_at, m.stop_requested_at,"
            " e.at, e.service_result, e.exit_code, e.exit_status, e.oom,"
            " (SELECT COUNT(*) FROM exits WHERE mission_id = m.id)"
            " FROM missions m LEFT JOIN exits e ON e.rowid ="
            " (SELECT rowid FROM exits WHERE mission_id = m.id ORDER BY at DESC LIMIT 1) " + clause
        )
        missions = []
        for r in self.db.execute(query, params):
            last_exit = Exit(r[12], r[13], r[14], r[15], bool(r[16])) if r[12] is not None else None
            missions.append(Mission(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]),
                                    r[9], r[10], r[11], last_exit, r[17]))
        return missions


class _Transaction:
    """BEGIN IMMEDIATE takes the write lock up front, so concurrent writers queue on busy_timeout
    instead of failing with 'database is locked' on a lock upgrade."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
