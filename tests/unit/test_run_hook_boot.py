"""The run hook's `finished` (ExecCondition= of a persisted mission) and the mark `end` leaves:
what a boot does with a persisted mission that has finished."""

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


def _exits(state: Path) -> int:
    return sum(line.startswith("exit ") for line in (state / "runs" / "log").read_text().splitlines())


def test_a_finished_mission_is_skipped_at_boot_and_one_that_did_not_finish_runs(tmp_path: Path) -> None:
    assert _hook(tmp_path, "finished") == 0
    _end(tmp_path, "0")
    assert _hook(tmp_path, "finished") == 1  # skipped, not failed
    assert _hook(tmp_path, "finished", OVERMIND_FAILURE_HOLDS="1") == 1


def test_a_failed_blueprint_task_fails_its_boot_start_without_a_run_of_its_own(tmp_path: Path) -> None:
    _end(tmp_path, "3")
    assert (tmp_path / "runs" / "m1.done").read_text().strip() == "3"
    assert _hook(tmp_path, "finished") == 1  # a plain mission that failed is only skipped
    assert _hook(tmp_path, "finished", OVERMIND_FAILURE_HOLDS="1") == 255  # fails: its dependents do not run
    # systemd then runs ExecStopPost= for the refused start: no run began, so no end is recorded.
    assert _end(tmp_path, "255", OVERMIND_FAILURE_HOLDS="1") == 0
    assert _exits(tmp_path) == 1 and not (tmp_path / "runs" / "m1.refused").exists()
    assert _end(tmp_path, "0") == 0 and _exits(tmp_path) == 2  # a later run's end is recorded again
