"""The private host's user manager dies, and its missions are taken back, not lost from sight.

Disruptive: each test kills the shared user manager (see tests/host_faults.py).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.helpers import Overmind, blueprint_file, must
from tests.host_faults import disruptive, host_left_up, kill, replaced, unseen

pytestmark = disruptive
BACK_WITHIN = 2.0  # seconds from a manager's death to a new one running
RUNNING = ("running", "attached")


def _start_twenty(om: Overmind, name: str, tmp_path: Path) -> dict[str, dict]:
    """Tasks with --restart on-failure, two sessions, a tree and a blueprint: 20 missions."""
    started = {f"task{i}": om.run("echo up; exec sleep 600", "--name", f"{name}-task{i}", "--restart", "on-failure",
                                  *(["--memory-max", "64M", "--tasks-max", "20"] if i == 0 else []))
               for i in range(10)}
    for i in range(2):
        started[f"session{i}"] = om.run("cat", "--name", f"{name}-session{i}", "--type", "session")
    started["root"] = om.run("sleep 600", "--name", f"{name}-root")
    for child, parent in (("a", "root"), ("b", "root"), ("a1", "a")):
        started[child] = om.run("sleep 600", "--name", f"{name}-{child}", "--parent", f"{name}-{parent}")
    om("apply", blueprint_file(tmp_path, f"{name}-bp", {
        "web": {"command": "echo web; exec sleep 600", "type": "session"},
        "worker": {"command": "exec sleep 600", "type": "session", "depends_on": ["web"]},
        "cron": {"command": "exec sleep 600", "type": "session"},
        "lint": {"command": "exec sleep 600", "type": "session"}}))
    for agent in ("web", "worker", "cron", "lint"):
        started[agent] = om.info(f"{name}-bp.{agent}")
    assert len(started) == 20
    must(lambda: all(om.status(m["id"]) in RUNNING for m in started.values()), 30, what="all 20 to run")
    return started


def test_the_manager_killed_under_twenty_missions_takes_every_one_back(om: Overmind, name: str,
                                                                       tmp_path: Path) -> None:
    with host_left_up(om):
        started = _start_twenty(om, name, tmp_path)
        pids = {key: om.info(m["id"])["os_pid"] for key, m in started.items()}
        old, killed_at = kill(om, "manager")
        replaced(om, "manager", old, BACK_WITHIN + 1)
        assert time.monotonic() - killed_at < BACK_WITHIN + 1
        # Every mission runs again, in its own process (taken back, not started anew), and no
        # process of any of them runs where ps does not see it.
        must(lambda: all(om.status(m["id"]) in RUNNING for m in started.values()), 15, what="all 20 back")
        assert not unseen(om)
        for key, pid in pids.items():
            assert om.pid_alive(pid), f"{key}'s process {pid} did not survive"
        # ... under their units' limits and restart policies: a crash of a taken-back task restarts it.
        task = started["task0"]
        assert om.unit_property(task["unit"], "MemoryMax") == str(64 << 20)
        assert om.unit_property(task["unit"], "TasksMax") == "20"
        os.kill(pids["task0"], signal.SIGKILL)
        must(lambda: (info := om.info(task["id"]))["status"] == "running" and info["restarts"] == 1, 15,
             what="task0 to restart")
        assert any(line.startswith("--- restart #1 ") for line in om.logs(task["id"]))
        # ... and stopped as any mission is.
        om("stop", "--cascade", f"{name}-root")
        must(lambda: all(om.status(started[k]["id"]) == "stopped" for k in ("root", "a", "b", "a1")), 20)
        om("stop", f"{name}-bp")
        om("stop", *(m["id"] for k, m in started.items() if k.startswith(("task", "session"))))
        assert not unseen(om)


@pytest.mark.parametrize("policy", ["on-failure", "never"])
def test_a_run_whose_end_nobody_could_see_is_lost_and_restarted_if_its_policy_says_so(
        om: Overmind, name: str, policy: str) -> None:
    """A supervisor started after the manager (the first one was killed) is not the parent of the
    manager's orphans: it takes them back, but cannot learn how they end."""
    with host_left_up(om):
        mission = om.run("exec sleep 600", "--name", name, "--restart", policy)
        pid = must(lambda: om.info(name)["os_pid"])
        kill(om, "supervisor")
        assert "already running" in om("host", "up").stdout  # a new supervisor, watching the same manager
        old, _ = kill(om, "manager")
        replaced(om, "manager", old, BACK_WITHIN + 1)
        must(lambda: om.status(name) == "running", 15)
        os.kill(pid, signal.SIGKILL)
        if policy == "never":
            info = must(lambda: (i := om.info(name))["status"] == "lost" and i, 15, what="lost")
            assert info["reason"] == "the host manager died"
            assert om.logs(name)[-1] == "--- lost: the host manager died ---"
        else:
            must(lambda: (i := om.info(name))["status"] == "running" and i["restarts"] == 1, 15, what="a restart")
            assert "--- lost: the host manager died ---" in om.logs(name)
        om("stop", mission["id"])
        assert not unseen(om)
