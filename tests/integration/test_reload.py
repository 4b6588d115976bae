"""A daemon-reload (any process may run one at any time) must not change what a mission runs:
systemd 252 re-reads transient units from files in which `$ ; \\` of command lines come back
changed, so such commands travel in the unit's environment."""

from __future__ import annotations

import pytest

from tests.helpers import Overmind, must

pytestmark = pytest.mark.systemd


def test_a_restart_after_a_daemon_reload_runs_the_same_command(om: Overmind, name: str) -> None:
    om.run("echo home=$HOME; echo pid=$$ > /dev/null; sleep 0.5; exit 3", "--name", name, "--restart", "always",
           "--backoff", "300")
    must(lambda: "home=" + om.environ()["HOME"] in om.logs(name), what="the first run")
    om.systemctl("daemon-reload")
    must(lambda: any(line.startswith("--- restart #2") for line in om.logs(name)), 20, "two restarts")
    runs = [line for line in om.logs(name) if line.startswith("home=")]
    assert len(runs) >= 2 and set(runs) == {"home=" + om.environ()["HOME"]}
    assert "--- exited with code 0 ---" not in om.logs(name)
    om("kill", name)
