"""The store's tables, and how a database of any earlier version is brought up to date.

A new database gets every step in order; an existing one gets the steps after its
`PRAGMA user_version`. Steps only add, or move rows between tables: a user's data survives.
"""

from __future__ import annotations

import sqlite3

_V1 = """
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
"""
_V2 = """
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
"""
_V3 = """
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
"""
# Blueprints get a table of their own (they were missions of type "blueprint" that ran nothing),
# each run's record keeps when it started and its main process, and the run records that units
# append to a file (store/runs.py) are read up to an offset, runs still going kept aside.
_RUN_RECORDS = """
CREATE TABLE IF NOT EXISTS run_log (
    file TEXT PRIMARY KEY,
    offset INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs_going (
    mission_id TEXT NOT NULL,
    invocation TEXT NOT NULL,
    started_at REAL,
    pid INTEGER,
    PRIMARY KEY (mission_id, invocation)
);
"""
_V4 = """
CREATE TABLE IF NOT EXISTS blueprints (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slice TEXT NOT NULL,
    file TEXT NOT NULL,
    cwd TEXT NOT NULL,
    agents TEXT NOT NULL,
    applied_at REAL,
    created_at REAL NOT NULL,
    killed_at REAL,
    stop_requested_at REAL
);
CREATE INDEX IF NOT EXISTS blueprints_by_name ON blueprints (name, created_at);
INSERT OR IGNORE INTO blueprints
    (id, name, slice, file, cwd, agents, applied_at, created_at, killed_at, stop_requested_at)
    SELECT id, name, unit, COALESCE(json_extract(spec, '$.file'), ''), cwd,
           COALESCE(json_extract(spec, '$.agents'), '[]'), json_extract(spec, '$.applied_at'),
           created_at, killed_at, stop_requested_at
    FROM missions WHERE type = 'blueprint';
DELETE FROM missions WHERE type = 'blueprint';
ALTER TABLE exits ADD COLUMN started_at REAL;
ALTER TABLE exits ADD COLUMN pid INTEGER;
""" + _RUN_RECORDS
# Missions' worktrees, and the host ports leased to them (a lease lasts as long as its worktree).
_V5 = """
CREATE TABLE IF NOT EXISTS worktrees (
    name TEXT PRIMARY KEY,
    repo TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    branch TEXT NOT NULL,
    base TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS port_leases (
    port INTEGER PRIMARY KEY,
    worktree TEXT NOT NULL REFERENCES worktrees (name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    leased_at REAL NOT NULL,
    UNIQUE (worktree, name)
);
""" + _RUN_RECORDS  # again: a store made while version 4 had no run records gets them
# Each run's end keeps the unit's invocation: the change feed numbers runs by it (control/states.py).
_V6 = """
ALTER TABLE exits ADD COLUMN invocation TEXT;
"""
# Permission requests agents asked a person (overmind approve / deny), and the rules an answer
# with --always added for its mission. `version` grows with every write: the change feed's cursor.
# Version 6's column again: a store an early build of this step numbered 6 has no invocation.
_V7 = """
CREATE TABLE IF NOT EXISTS permission_requests (
    mission_id TEXT NOT NULL REFERENCES missions (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    input TEXT NOT NULL,
    subject TEXT,
    label TEXT NOT NULL,
    rules TEXT NOT NULL,
    asked_at REAL NOT NULL,
    state TEXT NOT NULL,
    answered_at REAL,
    answered_by TEXT,
    message TEXT,
    rule TEXT,
    delivered INTEGER NOT NULL DEFAULT 1,
    version INTEGER NOT NULL,
    PRIMARY KEY (mission_id, number)
);
CREATE INDEX IF NOT EXISTS permission_requests_by_state ON permission_requests (state, mission_id);
CREATE INDEX IF NOT EXISTS permission_requests_by_version ON permission_requests (version);
CREATE TABLE IF NOT EXISTS permission_rules (
    mission_id TEXT NOT NULL REFERENCES missions (id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    added_at REAL NOT NULL,
    PRIMARY KEY (mission_id, rule)
);
ALTER TABLE exits ADD COLUMN invocation TEXT;
"""
# Every step can run again over its own result: an older release that opened the database in
# between sets the version back (it only knows its own), and the next upgrade must still succeed.
STEPS = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)
VERSION = len(STEPS)


def version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def upgrade(db: sqlite3.Connection) -> None:
    """Apply the missing steps in one transaction (the caller holds the migration lock)."""
    current = version(db)
    if current >= VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for step in STEPS[current:]:
            for statement in filter(str.strip, step.split(";\n")):
                _execute(db, statement)
        db.execute(f"PRAGMA user_version = {VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _execute(db: sqlite3.Connection, statement: str) -> None:
    """SQLite has no ADD COLUMN IF NOT EXISTS: a column that is there already is left alone."""
    words = statement.split()
    if words[:2] == ["ALTER", "TABLE"] and words[3:5] == ["ADD", "COLUMN"]:
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({words[2]})")}
        if words[5] in columns:
            return
    db.execute(statement)
