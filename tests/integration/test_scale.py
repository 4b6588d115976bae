"""Many missions at once, and the run records that survive any overmind process being killed."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import Overmind, must

FLEET = 100


@pytest.fixture
def fleet(run_env: dict[str, str], tmp_path: Path) -> Iterator[Overmind]:
    """An overmind of its own (unit prefix and state), so `--all` reaches only this test's missions."""
    env = run_env | {"OVERMIND_UNIT_PREFIX": f"omfleet-{secrets.token_hex(3)}",
                     "OVERMIND_STATE_DIR": str(tmp_path / "state")}
    yield Overmind(env)
    pattern = f"{env['OVERMIND_UNIT_PREFIX']}@*.service"
    for action in (["stop", pattern], ["reset-failed", pattern]):
        subprocess.run(["systemctl", "--user", *action], env=env, capture_output=True)


def start_many(om: Overmind, command: str, count: int) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: om("run", "--name", f"m{n}", command), range(count)))


def test_stop_all_of_a_hundred_missions_is_one_manager_call_that_ends_every_one(fleet: Overmind) -> None:
    start_many(fleet, "sleep 300", FLEET)
    must(lambda: sum(m["os_pid"] is not None for m in fleet.json("ps")) == FLEET, timeout=60,
         what="every mission running")
    stopped = fleet("--debug", "stop", "--all")
    calls = [line for line in stopped.stderr.splitlines() if "systemctl" in line and " stop " in line]
    assert len(calls) == 1, calls
    assert len(stopped.stdout.splitlines()) == FLEET
    missions = fleet.json("ps", "--all")
    assert len(missions) == FLEET and {m["status"] for m in missions} == {"stopped"}
    active = fleet.systemctl("list-units", "--state=active", "--no-legend", f"{fleet.env['OVERMIND_UNIT_PREFIX']}@*")
    assert active.stdout.strip() == ""


def test_run_records_survive_killed_overmind_processes_and_count_once(fleet: Overmind) -> None:
    start_many(fleet, "sleep 1; exit 7", 5)
    waiters = [subprocess.Popen([sys.executable, "-m", "overmind", "wait", f"m{n}"], env=fleet.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for n in range(5)]
    for waiter in waiters:
        waiter.send_signal(signal.SIGKILL)
        waiter.wait()
    log = Path(fleet.env["OVERMIND_STATE_DIR"]) / "runs" / "log"
    must(lambda: log.exists() and log.read_text().count("\nexit ") + log.read_text().startswith("exit ") == 5,
         timeout=30, what="every run's end in the run log")
    readers = [subprocess.Popen([sys.executable, "-m", "overmind", "ps", "--all"], env=fleet.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(4)]
    readers[0].send_signal(signal.SIGKILL)  # one reader killed while the others read the records in
    for reader in readers:
        reader.wait()
    missions = {m["name"]: m for m in fleet.json("ps", "--all")}
    assert {(m["status"], m["exit_code"], m["restarts"]) for m in missions.values()} == {("crashed", 7, 0)}
    for mission in missions.values():
        assert mission["started_at"] < mission["finished_at"]
        assert mission["finished_at"] - mission["started_at"] >= 1.0
    assert sum(1 for line in log.read_text().splitlines() if line.startswith("exit ")) == 5


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may ask journald to write its buffers out")
def test_wait_then_logs_shows_the_runs_last_line(om: Overmind, name: str) -> None:
    for attempt in range(5):
        mission = f"{name}-{attempt}"
        om("run", "--name", mission, "--wait", "seq 1 2000")
        assert om.logs(mission, "-n", "2") == ["2000", "--- exited with code 0 ---"]
