"""A lost or damaged state store, set aside and rebuilt from what systemd and the journal know.

A damaged `state.db` (and its -wal and -shm) is moved to `state.db.broken-<time>`, never
deleted. A new one is built, in one transaction, from:

1. the journal: every change to the store's records is copied there as it is made
   (overmind.store.mirror), and replayed here in order: missions, blueprints, sessions,
   worktrees and port leases, marks, collected missions;
2. systemd: every loaded mission unit's file (`$XDG_RUNTIME_DIR/systemd/transient/`) carries
   the mission's id, name, parent, state directory and whole spec in its environment, and its
   worktree and leased ports, for a mission whose copies the journal no longer has
   (overmind.store.unitfiles);
3. the run log (`runs/log`): every run's start, main process and end, read again from its start.

What none of them keeps (agents' event history, rituals' past runs, missions known only from
the run log) is listed in the report `state.db.rebuilt.json`, which `overmind doctor` shows.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from overmind.store import mirror, runs, schema
from overmind.store.unitfiles import from_units

if TYPE_CHECKING:
    import sqlite3

DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")  # the same as `Store` checks when it opens


def damaged(error: BaseException) -> bool:
    return getattr(error, "sqlite_errorname", "") in DAMAGED


def report_path(path: Path) -> Path:
    return path.with_name(path.name + ".rebuilt.json")


def was_used(path: Path) -> bool:
    """A state directory with run records has had a store: one missing now was lost (the same
    test as `Store` makes when it opens)."""
    return (path.parent / "runs").is_dir()


Rebuilt = tuple[Path | None, dict[str, Any]]  # where the old store went, and the rebuild's report


def recover(path: Path, force: bool = False, broken: bool = True) -> Rebuilt | None:
    """Set the broken store aside (if there is one) and rebuild it, under the store's lock;
    None if another process did it meanwhile. With `force`, rebuild whatever the store looks
    like (a sound one, not `broken`, is kept as `state.db.replaced-<time>`). Returns where the
    old file went and the rebuild's report."""
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and _healthy(path):
            return None
        moved = _set_aside(path, "broken" if broken else "replaced") if path.exists() else None
        return moved, rebuild(path)


def say(path: Path, why: str, moved: Path | None, report: dict[str, Any]) -> None:
    """The one line on stderr that tells a rebuild happened, and where the old store went."""
    where = f"moved it to {moved}, " if moved else ""
    print(f"overmind: the state store {path} was {why}: {where}rebuilt {report['missions']} mission(s) from "
          f"systemd and the journal (see 'overmind doctor')", file=sys.stderr)


def _healthy(path: Path) -> bool:
    import sqlite3

    if not path.exists():
        return False
    try:
        db = sqlite3.connect(path, timeout=30)
        try:
            return schema.version(db) == schema.VERSION
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return False


def _set_aside(path: Path, what: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{what}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{what}-{stamp}.{n}")
    os.rename(path, target)
    for suffix in ("-wal", "-shm"):  # a new database must not replay the old one's log
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.rename(side, target.with_name(target.name + suffix))
    return target


def rebuild(path: Path) -> dict[str, Any]:
    """Build the store at `path` afresh (the caller holds the lock)."""
    import sqlite3

    from overmind.store import Store

    state = path.parent
    store_dir = os.path.realpath(state)
    for suffix in ("-wal", "-shm"):  # left by a deleted database: not ours to replay
        side = path.with_name(path.name + suffix)
        if side.exists() and not path.exists():
            os.rename(side, path.with_name(f"{path.name}.orphan-{int(time.time())}{suffix}"))
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    report: dict[str, Any] = {"at": time.time(), "from_journal": 0, "from_units": 0, "missions": 0}
    db.execute("BEGIN IMMEDIATE")
    try:
        for step in schema.STEPS:
            for statement in filter(str.strip, step.split(";\n")):
                schema._execute(db, statement)
        db.execute(f"PRAGMA user_version = {schema.VERSION}")
        added, removed = _replay(db, store_dir)
        report["from_journal"] = len(added - removed)
        report["from_units"] = from_units(db, store_dir, removed)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.close()
    store = Store(path, recover=False)
    store.mirrored = False  # what it reads back is in the journal already
    try:
        runs.read(store, state)  # every run record again, now that the missions are known
        report["missions"] = len(store.mission_ids())
        report["blueprints"] = len(store.blueprints())
        report["only_in_run_log"] = sorted(_run_log_ids(state) - store.mission_ids() - removed)
        fileless = sorted(b.name for b in store.blueprints() if not b.file)
    finally:
        store.db.close()
    report["not_recovered"] = ["agents' event history (logs --json events, result, subscribe replay)",
                               "rituals' past runs"]
    if fileless:  # known only from their members' units
        report["not_recovered"].append(f"the file of blueprint(s) {', '.join(fileless)} (apply it again)")
    try:
        report_path(path).write_text(json.dumps(report, indent=2) + "\n")
    except OSError:
        pass
    return report


# -- the journal -------------------------------------------------------------------------
def _replay(db: sqlite3.Connection, store_dir: str) -> tuple[set[str], set[str]]:
    """Apply every change the journal has for this state directory; returns the missions added
    and those collected since."""
    try:
        proc = subprocess.run(["journalctl", "--no-pager", "-o", "json", f"SYSLOG_IDENTIFIER={mirror.IDENTIFIER}",
                               f"OVERMIND_STORE={store_dir}"], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return set(), set()
    added: set[str] = set()
    removed: set[str] = set()
    for line in proc.stdout.splitlines():
        try:
            entry = json.loads(line)
            op, key, data = entry["OVERMIND_OP"], entry["OVERMIND_KEY"], json.loads(entry["OVERMIND_DATA"])
        except (ValueError, KeyError, TypeError):
            continue
        if _apply(db, op, key, data) and op in ("add", "remove"):
            (added if op == "add" else removed).add(key)
            (removed if op == "add" else added).discard(key)
    return added, removed


_MISSION = ("id", "name", "unit", "type", "provider", "command", "cwd", "parent", "spec", "created_at")
_BLUEPRINT = ("id", "name", "slice", "file", "cwd", "agents", "applied_at", "created_at")
_WORKTREE = ("name", "repo", "path", "branch", "base", "base_commit", "created_at")


def _apply(db: sqlite3.Connection, op: str, key: str, data: dict[str, Any]) -> bool:
    if op == "add":
        row = {**data, "spec": json.dumps(data.get("spec") or {})}
        db.execute(f"INSERT OR REPLACE INTO missions ({', '.join(_MISSION)}) VALUES ({', '.join('?' * 10)})",
                   tuple(row.get(k) for k in _MISSION))
    elif op == "remove":
        db.execute("DELETE FROM missions WHERE id = ?", (key,))
    elif op in ("mark", "unmark"):
        column, table = data.get("column"), data.get("table", "missions")
        if column not in ("killed_at", "stop_requested_at") or table not in ("missions", "blueprints"):
            return False
        value = data.get("at") if op == "mark" else None
        db.executemany(f"UPDATE {table} SET {column} = ? WHERE id = ?", [(value, i) for i in data.get("ids", [key])])
    elif op == "spec":
        db.execute("UPDATE missions SET spec = ? WHERE id = ?", (json.dumps(data.get("spec") or {}), key))
    elif op == "blueprint":
        row = {**data, "agents": json.dumps(data.get("agents") or [])}
        db.execute(f"INSERT OR REPLACE INTO blueprints ({', '.join(_BLUEPRINT)}) VALUES ({', '.join('?' * 8)})",
                   tuple(row.get(k) for k in _BLUEPRINT))
    elif op == "blueprint-update":
        db.execute("UPDATE blueprints SET file = ?, agents = ?, applied_at = ? WHERE id = ?",
                   (data.get("file"), json.dumps(data.get("agents") or []), data.get("applied_at"), key))
    elif op == "blueprint-remove":
        db.execute("DELETE FROM blueprints WHERE id = ?", (key,))
    elif op == "session":
        db.execute("INSERT OR REPLACE INTO sessions (mission_id, session_id) SELECT ?, ? WHERE EXISTS"
                   " (SELECT 1 FROM missions WHERE id = ?)", (key, data.get("session_id"), key))
    elif op == "worktree":
        db.execute(f"INSERT OR REPLACE INTO worktrees ({', '.join(_WORKTREE)}) VALUES ({', '.join('?' * 7)})",
                   tuple(data.get(k) for k in _WORKTREE))
    elif op == "worktree-remove":
        db.execute("DELETE FROM worktrees WHERE name = ?", (key,))
    elif op == "leases":
        db.execute("DELETE FROM port_leases WHERE worktree = ?", (key,))
        db.executemany("INSERT OR REPLACE INTO port_leases (port, worktree, name, leased_at) SELECT ?, ?, ?, ?"
                       " WHERE EXISTS (SELECT 1 FROM worktrees WHERE name = ?)",
                       [(port, key, name, data.get("at", 0), key) for name, port in (data.get("leases") or {}).items()])
    else:
        return False
    return True


def _run_log_ids(state: Path) -> set[str]:
    found = set()
    for name in (runs.OLD, runs.LOG):
        try:
            with open(runs.runs_dir(state) / name, "rb") as f:
                for raw in f:
                    words = raw.split(b" ", 2)
                    if len(words) >= 2:
                        found.add(words[1].decode(errors="replace"))
        except OSError:
            continue
    return found
