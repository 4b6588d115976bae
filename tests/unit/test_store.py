"""The state store under concurrent writers, as many shells running `overmind run` at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from overmind.errors import OvermindError
from overmind.store import Exit, Mission, Store


def _add(args: tuple[str, int]) -> None:
    directory, index = args
    os.environ["OVERMIND_STATE_DIR"] = directory
    store = Store()
    for n in range(20):
        mid = f"{index:04x}{n:04x}"
        store.add(Mission(mid, f"m{index}-{n}", "u", "task", "raw", "c", "/", None, {}, time.time(), None, None))
        store.record_exit(mid, Exit(time.time(), "success", "exited", "0", False))


def test_concurrent_writers_never_see_database_is_locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ProcessPoolExecutor(max_workers=8) as pool:
        list(pool.map(_add, [(str(tmp_path), i) for i in range(8)]))
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    missions = Store().all()
    assert len(missions) == 160
    assert all(m.exit_count == 1 and m.last_exit and m.last_exit.code == 0 for m in missions)


_FIRST_RUN = """
import sys, time
from overmind.store import Mission, Store
store = Store()
store.add(Mission(sys.argv[1], "m" + sys.argv[1], "u", "task", "raw", "c", "/", None, {}, time.time(), None, None))
"""


def test_fifty_first_runs_at_once_on_a_missing_state_directory_all_succeed(tmp_path: Path) -> None:
    state = tmp_path / "not" / "there" / "yet"
    env = os.environ | {"OVERMIND_STATE_DIR": str(state)}
    procs = [subprocess.Popen([sys.executable, "-c", _FIRST_RUN, f"{n:08x}"], env=env, stderr=subprocess.PIPE,
                              text=True) for n in range(50)]
    errors = [p.communicate()[1] for p in procs if p.wait() != 0]
    assert errors == []
    db = sqlite3.connect(state / "state.db")
    assert db.execute("SELECT COUNT(*) FROM missions").fetchone()[0] == 50
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_read_only_state_directory_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() == 0:
        # root writes anyway; a file where the directory should be fails for everyone
        (tmp_path / "state").write_text("")
        monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path / "state"))
    else:
        tmp_path.chmod(0o500)
        monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path / "state"))
    with pytest.raises(OvermindError, match="cannot open the state store"):
        Store()


def test_lookup_by_id_or_newest_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    store = Store()
    for mid, created in (("aaaaaaaa", 1.0), ("bbbbbbbb", 2.0)):
        store.add(Mission(mid, "same", "u", "task", "raw", "c", "/", None, {}, created, None, None))
    found = store.get("same")
    assert found is not None and found.id == "bbbbbbbb"
    by_id = store.get("aaaaaaaa")
    assert by_id is not None and by_id.id == "aaaaaaaa"
    assert store.get("other") is None
