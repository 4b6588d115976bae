"""The state store: what systemd does not keep about missions, blueprints and rituals.

systemd is the source of truth for what runs; this keeps names, commands, specs and the record
of every run after systemd has garbage-collected the unit. It sits on the CLI's hot path, so it
uses the stdlib sqlite3 module (sqlite-utils alone takes ~140 ms to import).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from overmind.errors import OvermindError
from overmind.paths import state_dir
from overmind.store import mirror, runs, schema
from overmind.store.records import SKIPPED, Blueprint, Event, Exit, Mission, RitualRun
from overmind.store.transaction import Transaction

__all__ = ["SCHEMA_VERSION", "SKIPPED", "Blueprint", "Event", "Exit", "Mission", "RitualRun", "RunHistory", "Store",
           "shared", "state_dir"]

SCHEMA_VERSION = schema.VERSION
_MARKS = ("killed_at", "stop_requested_at")
_COPIED = ("id", "name", "unit", "type", "provider", "command", "cwd", "parent", "spec", "created_at")
RunHistory = tuple[list[tuple[str, float]], list[tuple[str, float]]]  # runs ended, runs going: (invocation, when)


_local = threading.local()


def shared() -> Store:
    """This thread's store for the current state directory: one connection per thread, opened
    once (sqlite3 connections must not cross threads; the dashboard runs reads in a pool)."""
    path = state_dir() / "state.db"
    store: Store | None = getattr(_local, "store", None)
    if store is None or store.path != path:
        store = _local.store = Store(path)
    return store


class Store:
    def __init__(self, path: Path | None = None, recover: bool = True) -> None:
        self.path = path or state_dir() / "state.db"
        self.dir = os.path.realpath(self.path.parent)
        self.mirrored = True  # changes are copied to the journal (overmind.store.mirror)
        self.full: str | None = None  # the file system it is on, while that is full: reads only
        self.inode: int | None = None
        self._open(recover)

    def _open(self, recover: bool) -> None:
        why = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if recover and not self.path.exists() and (self.path.parent / "runs").is_dir():
                why = "missing"  # a state directory with run records has had a store: it was lost
            else:
                self._connect()
        except sqlite3.DatabaseError as error:
            if not (recover and getattr(error, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")):
                self._open_for_reading(error)
                return
            why = f"damaged ({error})"
        except (OSError, sqlite3.Error) as error:
            self._open_for_reading(error)
            return
        if why is not None:
            from overmind.store import rebuild

            done = rebuild.recover(self.path)
            if done is not None:
                rebuild.say(self.path, why, *done)
            self.reopen()

    def _connect(self) -> None:
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
        self.db.execute("PRAGMA busy_timeout = 30000")
        if schema.version(self.db) != schema.VERSION:
            self._migrate()
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.inode = os.stat(self.path).st_ino

    def _open_for_reading(self, error: BaseException) -> None:
        """A full file system cannot take even the store's shared-memory file: read the database
        file as it is (its log is empty once the last writer has closed it); writes then fail."""
        from overmind.store import space

        where = space.full(self.path.parent)
        if where is None:
            raise OvermindError(f"cannot open the state store {self.path}: {error}",
                                hint="check that the state directory exists, is writable and has free space"
                                ) from None
        if not self.path.exists():
            raise OvermindError(f"no space left for the state store on {where}: it cannot be created",
                                hint="free some space there; overmind works again at once") from None
        self.full = where
        self.db = sqlite3.connect(f"file:{self.path}?immutable=1", uri=True, isolation_level=None)
        self.inode = os.stat(self.path).st_ino

    def reopen(self) -> None:
        """Open the file at `path` again (it was rebuilt, or replaced under us)."""
        if getattr(self, "db", None) is not None:
            self.db.close()
        self.full = None
        self._connect()

    def _fresh(self) -> None:
        """A long-lived process (an agent's wrapper, the dashboard) follows a store that was
        rebuilt or deleted since it opened it: one stat."""
        try:
            inode: int | None = os.stat(self.path).st_ino
        except OSError:
            inode = None
        if inode != self.inode:
            if getattr(self, "db", None) is not None:
                self.db.close()
            self._open(recover=True)

    def _mirror(self, op: str, key: str, data: dict[str, Any] | None = None) -> None:
        if self.mirrored:
            mirror.note(self.dir, op, key, data)

    def _migrate(self) -> None:
        """Create or upgrade the database under a lock: many processes may open a store that does not
        exist yet at once, and switching to WAL or upgrading must happen exactly once."""
        import fcntl

        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if schema.version(self.db) == schema.VERSION:
                return  # another process did it while we waited
            if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.db.execute("PRAGMA journal_mode = WAL")
            schema.upgrade(self.db)

    def transaction(self) -> Transaction:
        self._fresh()
        return Transaction(self.db)

    # -- missions -----------------------------------------------------------------------
    def add(self, mission: Mission) -> None:
        self.db.execute(
            "INSERT INTO missions (id, name, unit, type, provider, command, cwd, parent, spec, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mission.id, mission.name, mission.unit, mission.type, mission.provider, mission.command,
             mission.cwd, mission.parent, json.dumps(mission.spec), mission.created_at),
        )
        self._mirror("add", mission.id, {key: getattr(mission, key) for key in _COPIED})

    def remove(self, mission_id: str) -> None:
        self.db.execute("DELETE FROM missions WHERE id = ?", (mission_id,))
        self.db.execute("DELETE FROM runs_going WHERE mission_id = ?", (mission_id,))
        self._mirror("remove", mission_id)

    def record_exit(self, mission_id: str, exit: Exit) -> None:
        self.db.execute(
            "INSERT INTO exits (mission_id, at, service_result, exit_code, exit_status, oom, started_at, pid,"
            " invocation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mission_id, exit.at, exit.service_result, exit.exit_code, exit.exit_status, int(exit.oom),
             exit.started_at, exit.pid, exit.invocation),
        )

    def mark(self, mission_ids: str | list[str], column: str, table: str = "missions") -> None:
        """Set killed_at or stop_requested_at to now, for one or many missions (or blueprints)."""
        assert column in _MARKS and table in ("missions", "blueprints")
        ids = [mission_ids] if isinstance(mission_ids, str) else mission_ids
        now = time.time()
        with self.transaction():
            self.db.executemany(f"UPDATE {table} SET {column} = ? WHERE id = ?", [(now, i) for i in ids])
        if ids:
            self._mirror("mark", ids[0], {"column": column, "table": table, "at": now, "ids": ids})
        if column == "stop_requested_at" and table == "missions" and ids:
            runs.stop_requested(self.path.parent, ids)

    def unmark(self, mission_id: str, column: str, table: str = "missions") -> None:
        assert column in _MARKS and table in ("missions", "blueprints")
        self.db.execute(f"UPDATE {table} SET {column} = NULL WHERE id = ?", (mission_id,))
        self._mirror("unmark", mission_id, {"column": column, "table": table})

    def update_spec(self, mission_id: str, spec: dict[str, Any]) -> None:
        self.db.execute("UPDATE missions SET spec = ? WHERE id = ?", (json.dumps(spec), mission_id))
        self._mirror("spec", mission_id, {"spec": spec})

    def get(self, ref: str) -> Mission | None:
        """A mission by id, else the newest mission with that name."""
        rows = self._select("WHERE m.id = ?", (ref,)) or self._select(
            "WHERE m.name = ? ORDER BY m.created_at DESC LIMIT 1", (ref,))
        return rows[0] if rows else None

    def missions(self, ids: Iterable[str]) -> list[Mission]:
        """These missions (those that still exist), as recorded now."""
        wanted = list(ids)
        if len(wanted) > 500:  # SQLite's limit on parameters is far above, but a whole read is as quick
            chosen = set(wanted)
            return [m for m in self.all() if m.id in chosen]
        return self._select(f"WHERE m.id IN ({', '.join('?' * len(wanted))})", tuple(wanted)) if wanted else []

    def all(self) -> list[Mission]:
        return self._select("ORDER BY m.created_at", ())

    def children(self, parent_id: str) -> list[Mission]:
        return self._select("WHERE m.parent = ? ORDER BY m.created_at", (parent_id,))

    def mission_ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT id FROM missions")}

    def names_in_use(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT DISTINCT name FROM missions WHERE killed_at IS NULL")}

    def unit_owners(self) -> dict[str, str]:
        """unit -> id of the newest mission with that unit: only it can own the loaded unit."""
        return {row[0]: row[1] for row in self.db.execute("SELECT unit, id FROM missions ORDER BY created_at")}

    def exits(self, mission_id: str) -> list[Exit]:
        rows = self.db.execute(
            "SELECT at, service_result, exit_code, exit_status, oom, started_at, pid FROM exits"
            " WHERE mission_id = ? ORDER BY at", (mission_id,))
        return [Exit(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6]) for r in rows]

    def _select(self, clause: str, params: tuple[Any, ...]) -> list[Mission]:
        self._fresh()
        runs.read(self, self.path.parent)  # what ended since the last look
        query = (
            "SELECT m.id, m.name, m.unit, m.type, m.provider, m.command, m.cwd, m.parent, m.spec,"
            " m.created_at, m.killed_at, m.stop_requested_at,"
            " e.at, e.service_result, e.exit_code, e.exit_status, e.oom, e.started_at, e.pid,"
            " (SELECT COUNT(*) FROM exits WHERE mission_id = m.id),"
            " (SELECT MAX(started_at) FROM runs_going WHERE mission_id = m.id)"
            " FROM missions m LEFT JOIN exits e ON e.rowid ="
            " (SELECT rowid FROM exits WHERE mission_id = m.id ORDER BY at DESC LIMIT 1) " + clause
        )
        missions = []
        for r in self.db.execute(query, params):
            last_exit = Exit(r[12], r[13], r[14], r[15], bool(r[16]), r[17], r[18]) if r[12] is not None else None
            missions.append(Mission(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]),
                                    r[9], r[10], r[11], last_exit, r[19], r[20]))
        return missions

    # -- run records the units write (store/runs.py) -------------------------------------
    def run_log_offsets(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT file, offset FROM run_log").fetchall())

    def set_run_log_offset(self, file: str, offset: int) -> None:
        self.db.execute("INSERT INTO run_log (file, offset) VALUES (?, ?)"
                        " ON CONFLICT (file) DO UPDATE SET offset = excluded.offset", (file, offset))

    def run_started(self, mission_id: str, invocation: str, at: float) -> None:
        self.db.execute("INSERT OR REPLACE INTO runs_going (mission_id, invocation, started_at) VALUES (?, ?, ?)",
                        (mission_id, invocation, at))

    def run_pid(self, mission_id: str, invocation: str, pid: int | None) -> None:
        self.db.execute("UPDATE runs_going SET pid = ? WHERE mission_id = ? AND invocation = ?",
                        (pid, mission_id, invocation))

    def runs_going_now(self) -> dict[str, tuple[int, float]]:
        """Mission id -> (main process, start) of the run going on, as its hooks recorded them."""
        rows = self.db.execute("SELECT mission_id, pid, started_at FROM runs_going"
                               " WHERE pid IS NOT NULL AND started_at IS NOT NULL ORDER BY started_at")
        return {row[0]: (row[1], row[2]) for row in rows}  # the newest run of each mission last, so it wins

    def run_history(self, mission_ids: Iterable[str]) -> dict[str, RunHistory]:
        """Per mission: (invocation, when it ended) of each run that ended, in order, and
        (invocation, when it started) of runs started and not ended, as the run log recorded them."""
        wanted = list(mission_ids)
        runs.read(self, self.path.parent)
        found: dict[str, RunHistory] = {i: ([], []) for i in wanted}
        for chunk in (wanted[i:i + 500] for i in range(0, len(wanted), 500)):
            marks = ", ".join("?" * len(chunk))
            for mission_id, invocation, at in self.db.execute(
                    f"SELECT mission_id, invocation, at FROM exits WHERE mission_id IN ({marks})"
                    " ORDER BY rowid", chunk):
                found[mission_id][0].append((invocation or "", at))
            for mission_id, invocation, at in self.db.execute(
                    f"SELECT mission_id, invocation, started_at FROM runs_going WHERE mission_id IN ({marks})"
                    " ORDER BY started_at", chunk):
                found[mission_id][1].append((invocation, at or 0.0))
        return found

    def fingerprints(self) -> dict[str, tuple[Any, ...]]:
        """Every mission's and blueprint's id with what a change feed compares to know that its
        record changed (marks, a session, an apply), without reading specs or runs."""
        missions = self.db.execute(
            "SELECT m.id, m.killed_at, m.stop_requested_at, s.session_id FROM missions m"
            " LEFT JOIN sessions s ON s.mission_id = m.id")
        blueprints = self.db.execute("SELECT id, killed_at, stop_requested_at, applied_at, agents FROM blueprints")
        return {row[0]: row[1:] for rows in (missions, blueprints) for row in rows}

    def run_going(self, mission_id: str, invocation: str) -> tuple[float | None, int | None]:
        """When the run started and its main process, forgetting it as going: it has ended."""
        row = self.db.execute("DELETE FROM runs_going WHERE mission_id = ? AND invocation = ?"
                              " RETURNING started_at, pid", (mission_id, invocation)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    # -- blueprints ---------------------------------------------------------------------
    def add_blueprint(self, blueprint: Blueprint) -> None:
        self.db.execute(
            "INSERT INTO blueprints (id, name, slice, file, cwd, agents, applied_at, created_at) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?)",
            (blueprint.id, blueprint.name, blueprint.slice, blueprint.file, blueprint.cwd,
             json.dumps(blueprint.agents), blueprint.applied_at, blueprint.created_at))
        self._mirror("blueprint", blueprint.id, blueprint._asdict())

    def update_blueprint(self, blueprint_id: str, file: str, agents: list[str], applied_at: float) -> None:
        self.db.execute("UPDATE blueprints SET file = ?, agents = ?, applied_at = ? WHERE id = ?",
                        (file, json.dumps(agents), applied_at, blueprint_id))
        self._mirror("blueprint-update", blueprint_id, {"file": file, "agents": agents, "applied_at": applied_at})

    def remove_blueprint(self, blueprint_id: str) -> None:
        self.db.execute("DELETE FROM blueprints WHERE id = ?", (blueprint_id,))
        self._mirror("blueprint-remove", blueprint_id)

    def blueprint(self, ref: str) -> Blueprint | None:
        """A blueprint by id, else the newest with that name."""
        rows = self._blueprints("WHERE id = ?", (ref,)) or self._blueprints(
            "WHERE name = ? ORDER BY created_at DESC LIMIT 1", (ref,))
        return rows[0] if rows else None

    def blueprints(self) -> list[Blueprint]:
        return self._blueprints("ORDER BY created_at", ())

    def _blueprints(self, clause: str, params: tuple[Any, ...]) -> list[Blueprint]:
        rows = self.db.execute(
            "SELECT id, name, slice, file, cwd, agents, applied_at, created_at, killed_at, stop_requested_at"
            " FROM blueprints " + clause, params)
        return [Blueprint(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8], r[9]) for r in rows]

    # -- agent events and sessions ------------------------------------------------------
    def add_event(self, mission_id: str, at: float, type: str, data: str) -> int:
        """Append an event; returns its sequence number."""
        self._fresh()
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

    def events_newest_first(self, mission_id: str, type: str | None = None) -> Iterator[Event]:
        clause = " AND type = ?" if type else ""
        rows = self.db.execute(f"SELECT seq, at, type, data FROM events WHERE mission_id = ?{clause}"
                               " ORDER BY seq DESC", (mission_id, *([type] if type else [])))
        return (Event(*row) for row in rows)

    def event(self, mission_id: str, seq: int) -> Event | None:
        row = self.db.execute("SELECT seq, at, type, data FROM events WHERE mission_id = ? AND seq = ?",
                              (mission_id, seq)).fetchone()
        return Event(*row) if row else None

    def last_event(self, mission_id: str, type: str) -> Event | None:
        return next(self.events_newest_first(mission_id, type), None)

    def last_seq(self, mission_id: str) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE mission_id = ?", (mission_id,))
        return int(row.fetchone()[0])

    def set_session_id(self, mission_id: str, session_id: str) -> None:
        self.db.execute("INSERT INTO sessions (mission_id, session_id) VALUES (?, ?)"
                        " ON CONFLICT (mission_id) DO UPDATE SET session_id = excluded.session_id",
                        (mission_id, session_id))
        self._mirror("session", mission_id, {"session_id": session_id})

    def session_ids(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT mission_id, session_id FROM sessions").fetchall())

    def session_id(self, mission_id: str) -> str | None:
        row = self.db.execute("SELECT session_id FROM sessions WHERE mission_id = ?", (mission_id,)).fetchone()
        return row[0] if row else None

    # -- rituals ------------------------------------------------------------------------
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
