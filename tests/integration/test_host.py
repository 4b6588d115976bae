"""The private systemd host: idempotent boot, and recovery over what a killed host leaves behind.

The recovery test kills the private user manager and journald, ending every mission on the
machine, so it runs only where overmind booted them (systemd is not PID 1) and only when asked
with OVERMIND_TEST_HOST_RECOVERY=1, as `make test` (and so CI) does; it leaves them running.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

from overmind.host import pid1_is_systemd
from tests.helpers import Overmind, must

pytestmark = pytest.mark.skipif(pid1_is_systemd() or os.geteuid() != 0,
                                reason="the private host is for root where systemd is not PID 1")


def _host(om: Overmind) -> dict:
    return json.loads(om("host", "status", "--json").stdout)


def test_host_up_is_idempotent(om: Overmind) -> None:
    assert om("host", "up").stdout == "private systemd host already running\n"
    status = _host(om)
    assert status["mode"] == "private"
    assert status["user_manager_reachable"] is True
    assert status["private_manager_pid"] and status["private_journald_pid"]


@pytest.mark.disruptive
@pytest.mark.skipif(os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1",
                    reason="kills the shared user manager; set OVERMIND_TEST_HOST_RECOVERY=1 (make test does)")
def test_run_reboots_over_a_killed_host(om: Overmind, name: str) -> None:
    survivor = om.run("sleep 300", "--name", f"{name}-old")
    orphan = must(lambda: om.info(survivor["id"])["os_pid"])
    status = _host(om)
    os.kill(status["private_manager_pid"], signal.SIGKILL)
    os.kill(status["private_journald_pid"], signal.SIGKILL)
    must(lambda: not _host(om)["user_manager_reachable"], what="the manager to be gone")

    down = om("ps", check=False)
    assert down.returncode == 1
    assert down.stderr.splitlines()[0] == "overmind: the private systemd host is not running"

    proc = om("run", "--name", name, "--json", "echo back", check=False)
    assert proc.returncode == 0, proc.stderr
    assert "started a private systemd host" in proc.stderr
    assert om("wait", name).returncode == 0
    assert om.logs(name)[0] == "back"
    # What the dead manager left running in its cgroup did not survive the reboot.
    assert not om.pid_alive(orphan)
    # The store never claims a mission runs when systemd no longer knows it.
    assert om.status(survivor["id"]) != "running"
