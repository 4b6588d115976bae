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


BOOT = Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def uptime_at(epoch: float) -> str:
    """The uptime the hooks would have read at `epoch`, as they write it."""
    return f"{epoch - (time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)):.2f}"


def append(store: Store, *lines: str, name: str = "log") -> None:
    with open(store.path.parent / "runs" / name, "a") as f:
        f.write("".join(line + "\n" for line in lines))


def end(mission: str, epoch: float, run: str, result: str = "success", code: str = "exited", status: str = "0",
        boot: str = BOOT) -> str:
    return f"exit {mission} {uptime_at(epoch)} {boot} {run} {result} {code} {status} 0"


def test_a_run_is_its_start_its_process_and_its_end(store: Store) -> None:
    started = time.time() - 3
    append(store, f"start aaaaaaaa {uptime_at(started)} {BOOT} inv1", "pid aaaaaaaa inv1 4242",
           end("aaaaaaaa", started + 2.5, "inv1", "exit-code", "exited", "3"))
    mission = store.get("a")
    assert mission is not None and mission.last_exit is not None
    exit = mission.last_exit
    assert (exit.code, exit.pid, exit.service_result, exit.oom) == (3, 4242, "exit-code", False)
    assert exit.started_at == pytest.approx(started, abs=0.05) and exit.at == pytest.approx(started + 2.5, abs=0.05)


def test_an_end_read_after_a_reboot_takes_the_time_its_log_was_written(store: Store) -> None:
    append(store, end("aaaaaaaa", time.time(), "inv1", boot="another-boot"))
    written = (store.path.parent / "runs" / "log").stat().st_mtime
    mission = store.get("a")
    assert mission is not None and mission.last_exit is not None and mission.last_exit.at == written


def test_each_line_is_taken_once_and_a_line_being_written_waits(store: Store) -> None:
    append(store, end("aaaaaaaa", 1.0, "inv1"))
    with open(store.path.parent / "runs" / "log", "a") as f:
        f.write(end("aaaaaaaa", 2.0, "inv2", "signal", "killed", "KILL")[:-2])  # the line is not finished
    other = Store(store.path)
    assert [m.exit_count for m in (store.get("a"), other.get("a")) if m] == [1, 1]
    append(store, " 0")
    mission = other.get("a")
    assert mission is not None and mission.exit_count == 2 and mission.last_exit and mission.last_exit.code == 137


def test_a_forgotten_missions_end_and_a_damaged_line_are_passed_over(store: Store,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    append(store, end("bbbbbbbb", 1.0, "inv1"), "exit aaaaaaaa nonsense", "hello", end("aaaaaaaa", 2.0, "inv2"))
    mission = store.get("a")
    assert mission is not None and mission.exit_count == 1
    assert capsys.readouterr().err.count("overmind: warning: ignored a damaged run record") == 1


def test_the_log_is_renamed_once_read_and_a_late_line_in_the_old_one_is_still_taken(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "ROTATE_AT", 10)
    append(store, end("aaaaaaaa", 1.0, "inv1"))
    store.all()  # read, then renamed
    assert (store.path.parent / "runs" / "log.old").exists()
    append(store, end("aaaaaaaa", 2.0, "inv2"), name="log.old")  # a hook that opened it before
    append(store, end("aaaaaaaa", 3.0, "inv3"))
    mission = store.get("a")
    assert mission is not None and mission.exit_count == 3
    old = store.path.parent / "runs" / "log.old"
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    store.all()  # the settled old file goes; the read log becomes the old one
    assert old.read_text().split(" ")[4] == "inv3"
    assert not (store.path.parent / "runs" / "log").exists()
