"""Run records the units append (hooks/run.sh), read into the store once each, whatever happens."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from overmind.store import Mission, Store, runs


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    store = Store()
    store.add(Mission("aaaaaaaa", "a", "u", "task", "raw", "c", "/", None, {}, 1.0, None, None))
    (tmp_path / "runs").mkdir()
    return store


def append(store: Store, *lines: str, name: str = "log") -> None:
    with open(store.path.parent / "runs" / name, "a") as f:
        f.write("".join(line + "\n" for line in lines))


def test_a_run_is_its_start_its_process_and_its_end(store: Store) -> None:
    append(store, "start aaaaaaaa 100.5 inv1", "pid aaaaaaaa inv1 4242",
           "exit aaaaaaaa 103.0 inv1 exit-code exited 3 0")
    mission = store.get("a")
    assert mission is not None and mission.last_exit is not None
    exit = mission.last_exit
    assert (exit.code, exit.started_at, exit.pid, exit.service_result, exit.oom) == (3, 100.5, 4242, "exit-code", False)


def test_each_line_is_taken_once_and_a_line_being_written_waits(store: Store) -> None:
    append(store, "exit aaaaaaaa 1.0 inv1 success exited 0 0")
    with open(store.path.parent / "runs" / "log", "a") as f:
        f.write("exit aaaaaaaa 2.0 inv2 signal killed KILL")  # no newline yet
    other = Store(store.path)
    assert [m.exit_count for m in (store.get("a"), other.get("a")) if m] == [1, 1]
    append(store, " 0")
    mission = other.get("a")
    assert mission is not None and mission.exit_count == 2 and mission.last_exit and mission.last_exit.code == 137


def test_a_forgotten_missions_end_and_a_damaged_line_are_passed_over(store: Store,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    append(store, "exit bbbbbbbb 1.0 inv1 success exited 0 0", "exit aaaaaaaa nonsense", "hello",
           "exit aaaaaaaa 2.0 inv2 success exited 0 0")
    mission = store.get("a")
    assert mission is not None and mission.exit_count == 1
    assert capsys.readouterr().err.count("overmind: warning: ignored a damaged run record") == 1


def test_the_log_is_renamed_once_read_and_a_late_line_in_the_old_one_is_still_taken(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "ROTATE_AT", 10)
    append(store, "exit aaaaaaaa 1.0 inv1 success exited 0 0")
    store.all()  # read, then renamed
    assert (store.path.parent / "runs" / "log.old").exists()
    append(store, "exit aaaaaaaa 2.0 inv2 success exited 0 0", name="log.old")  # a hook that opened it before
    append(store, "exit aaaaaaaa 3.0 inv3 success exited 0 0")
    mission = store.get("a")
    assert mission is not None and mission.exit_count == 3
    old = store.path.parent / "runs" / "log.old"
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    store.all()  # the settled old file goes; the read log becomes the old one
    assert old.read_text() == "exit aaaaaaaa 3.0 inv3 success exited 0 0\n"
    assert not (store.path.parent / "runs" / "log").exists()
