"""The marks the run hook's `end` leaves for a persisted mission, which its unit's conditions read at
the next boot (ConditionPathExists=!…done: skipped; a blueprint task's AssertPathExists=!…failed:
its start fails), and the `finished` check that unit files of earlier releases still run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from overmind.mission.units import RUN_HOOK


def _hook(state: Path, *args: str, **env: str) -> int:
    base = {"PATH": os.environ["PATH"], "OVERMIND_MISSION_ID": "m1", "OVERMIND_STATE_DIR": str(state),
            "OVERMIND_PERSIST": "never"}
    return subprocess.run(["/bin/sh", str(RUN_HOOK), *args], env=base | env, capture_output=True, timeout=30).returncode


def _end(state: Path, status: str, **env: str) -> int:
    return _hook(state, "end", SERVICE_RESULT="success" if status == "0" else "exit-code", EXIT_CODE="exited",
                 EXIT_STATUS=status, **env)


def _marks(state: Path) -> set[str]:
    return {path.name for path in (state / "runs").iterdir() if path.name.startswith("m1.") and
            path.suffix in (".done", ".failed")}


def test_a_finished_mission_is_marked_done_and_an_old_unit_files_check_skips_it(tmp_path: Path) -> None:
    assert _hook(tmp_path, "finished") == 0
    _end(tmp_path, "0", OVERMIND_FAILURE_HOLDS="1")
    assert _marks(tmp_path) == {"m1.done"}
    assert _hook(tmp_path, "finished") == 1  # skipped, not failed


def test_a_plain_task_that_failed_is_done_but_a_blueprint_task_that_failed_is_marked_failed(tmp_path: Path) -> None:
    plain, member = tmp_path / "plain", tmp_path / "member"
    _end(plain, "3")
    assert _marks(plain) == {"m1.done"}  # a boot skips it, as a finished one
    _end(member, "3", OVERMIND_FAILURE_HOLDS="1")
    assert _marks(member) == {"m1.failed"}  # a boot's start of it fails: its dependents do not run


def test_a_mission_that_restarts_on_failure_is_not_marked_by_a_failure(tmp_path: Path) -> None:
    _end(tmp_path, "3", OVERMIND_PERSIST="on-failure")
    assert _marks(tmp_path) == set()


def test_the_run_records_its_own_pid_then_becomes_the_command(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()  # made by the run's `start`, which comes first
    out = subprocess.run(["/bin/sh", str(RUN_HOOK), "run", "--", "/bin/sh", "-c", "echo $$"], capture_output=True,
                         text=True, timeout=30, env={"PATH": os.environ["PATH"], "OVERMIND_MISSION_ID": "m1",
                                                     "OVERMIND_STATE_DIR": str(tmp_path), "INVOCATION_ID": "inv1"})
    assert (tmp_path / "runs" / "log").read_text() == f"pid m1 inv1 {out.stdout.strip()}\n"
