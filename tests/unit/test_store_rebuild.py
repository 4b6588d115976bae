"""The pure parts of a store rebuild and a manager's recovery: reading what systemd wrote in a
transient unit file, replaying the journal's copies of changes, mending a half-written run record."""

from __future__ import annotations

import json
import sqlite3

from overmind.host.recovery import Unit, _seconds
from overmind.store import schema
from overmind.store.rebuild import _apply
from overmind.store.runs import _whole
from overmind.store.unitfiles import unit_file

TRANSIENT = r'''# This is a transient unit file, created programmatically via the systemd API. Do not edit.
[Unit]
Description=overmind mission build: make test

[Service]
Type=notify
Restart=on-failure
TimeoutStopSec=1min 30s
WorkingDirectory=/work/repo
Environment="PATH=/usr/bin:/bin" "OVERMIND_MISSION_ID=0123abcd" "OVERMIND_MISSION_NAME=build"
Environment="OVERMIND_SPEC={\"command\":\"echo \\\"100%%\\\" $HOME\\ttab \303\251\"}" "A=b c"
ExecStart=
ExecStart="/bin/sh" "/opt/overmind/hooks/run.sh" "run" "--" "/bin/sh" "-c" "make test"
'''


def test_a_transient_unit_file_gives_back_the_environment_systemd_was_given() -> None:
    env, settings = unit_file(TRANSIENT)
    assert env["OVERMIND_MISSION_ID"] == "0123abcd" and env["A"] == "b c"
    assert json.loads(env["OVERMIND_SPEC"]) == {"command": 'echo "100%" $HOME\ttab é'}
    assert settings["WorkingDirectory"] == "/work/repo"


def test_a_unit_left_by_a_dead_manager_says_how_it_restarts_and_stops() -> None:
    unit = Unit("omtest@build.service", "app.slice/omtest@build.service", {1}, TRANSIENT, {})
    assert unit.restarts and unit.settings["Type"] == "notify"
    assert unit.stop_timeout == 90.0
    assert _seconds("500ms", 10) == 0.5 and _seconds("", 10) == 10 and _seconds("2h", 0) == 7200


def _store() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    for step in schema.STEPS:
        for statement in filter(str.strip, step.split(";\n")):
            schema._execute(db, statement)
    return db


def test_the_journal_s_copies_replayed_in_order_give_the_store_back() -> None:
    db = _store()
    row = {"id": "0123abcd", "name": "build", "unit": "omtest@build.service", "type": "session", "provider": "claude",
           "command": "", "cwd": "/w", "parent": None, "spec": {"restart": {"policy": "always"}}, "created_at": 1.0}
    for op, key, data in (
            ("add", "0123abcd", row), ("add", "99999999", {**row, "id": "99999999", "name": "gone"}),
            ("session", "0123abcd", {"session_id": "s-1"}), ("mark", "0123abcd",
                                                             {"column": "stop_requested_at", "at": 5.0,
                                                              "ids": ["0123abcd"]}),
            ("unmark", "0123abcd", {"column": "stop_requested_at"}), ("remove", "99999999", {}),
            ("worktree", "build", {"name": "build", "repo": "/r", "path": "/r/.overmind/worktrees/build",
                                   "branch": "overmind/build", "base": "main", "base_commit": "abc",
                                   "created_at": 2.0}),
            ("leases", "build", {"leases": {"PORT": 41000}, "at": 3.0}), ("bogus", "x", {})):
        _apply(db, op, key, data)
    assert db.execute("SELECT id, name, type, stop_requested_at FROM missions").fetchall() == [
        ("0123abcd", "build", "session", None)]
    assert json.loads(db.execute("SELECT spec FROM missions").fetchone()[0]) == {"restart": {"policy": "always"}}
    assert db.execute("SELECT * FROM sessions").fetchall() == [("0123abcd", "s-1")]
    assert db.execute("SELECT port, worktree, name FROM port_leases").fetchall() == [(41000, "build", "PORT")]


def test_a_run_record_cut_short_by_a_full_disk_does_not_spoil_the_next_one() -> None:
    assert _whole(b"exit 0123abcd 12.5 boot-istart 89abcdef 13.0 boot run-2") == b"start 89abcdef 13.0 boot run-2"
    assert _whole(b"exit 0123abcd 12.5 boot run exit-code exited 3 0") == b"exit 0123abcd 12.5 boot run exit-code " \
        b"exited 3 0"
