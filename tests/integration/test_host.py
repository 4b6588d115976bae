"""The private systemd host: idempotent boot, and what its supervisor does when parts of it die.

The recovery tests kill the private user manager, journald or the supervisor, so they run only
where overmind booted them (systemd is not PID 1) and only when asked with
OVERMIND_TEST_HOST_RECOVERY=1, as `make test` (and so CI) does; they leave the host running.
(tests/integration/test_host_faults.py and tests/sessions/test_host_journald.py have more.)
"""

from __future__ import annotations

import os

import pytest

from overmind.host import pid1_is_systemd
from tests.helpers import Overmind, must
from tests.host_faults import host, host_left_up, kill, replaced

pytestmark = pytest.mark.skipif(pid1_is_systemd() or os.geteuid() != 0,
                                reason="the private host is for root where systemd is not PID 1")


def test_host_up_is_idempotent(om: Overmind) -> None:
    assert om("host", "up").stdout == "private systemd host already running\n"
    status = host(om)
    assert status["mode"] == "private"
    assert status["user_manager_reachable"] is True
    assert status["private_manager_pid"] and status["private_journald_pid"] and status["private_supervisor_pid"]


@pytest.mark.disruptive
@pytest.mark.skipif(os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1",
                    reason="kills the shared user manager; set OVERMIND_TEST_HOST_RECOVERY=1 (make test does)")
def test_a_host_whose_journald_and_manager_are_killed_comes_back_by_itself(om: Overmind, name: str) -> None:
    with host_left_up(om):
        survivor = om.run("echo before; sleep 300", "--name", f"{name}-old")
        orphan = must(lambda: om.info(survivor["id"])["os_pid"])
        must(lambda: "before" in om.logs(survivor["id"]))
        journald, _ = kill(om, "journald")
        manager, _ = kill(om, "manager")
        replaced(om, "journald", journald, 2.0)
        replaced(om, "manager", manager, 5.0)
        # Nobody typed a command: the supervisor brought both back, and the mission with them.
        must(lambda: om.status(survivor["id"]) == "running", 30)
        assert om.pid_alive(orphan)
        proc = om("run", "--name", name, "--json", "echo back")
        assert "started a private systemd host" not in proc.stderr
        assert om("wait", name).returncode == 0
        assert om.logs(name)[0] == "back"
        om("stop", survivor["id"])
        assert not om.pid_alive(orphan)


@pytest.mark.disruptive
@pytest.mark.skipif(os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1",
                    reason="restarts the shared journald; set OVERMIND_TEST_HOST_RECOVERY=1 (make test does)")
def test_a_killed_supervisor_is_started_again_and_takes_journald_over_without_losing_a_line(
        om: Overmind, name: str) -> None:
    with host_left_up(om):
        om.run("for i in $(seq 1 300); do echo line $i; sleep 0.01; done", "--name", name)
        before = host(om)
        kill(om, "supervisor")
        # The next command as root finds the host unsupervised and starts a supervisor, which takes
        # the running journald's sockets and streams and starts it again under itself.
        assert "restarted the private host's supervisor" in om("ps").stderr
        after = must(lambda: (h := host(om))["private_supervisor_pid"] not in (None, before["private_supervisor_pid"])
                     and h["private_journald_pid"] != before["private_journald_pid"] and h, 10)
        assert after["private_manager_pid"] == before["private_manager_pid"]
        om("wait", name)
        assert om.logs(name, "-n", "1000") == [f"line {i}" for i in range(1, 301)] + ["--- exited with code 0 ---"]
