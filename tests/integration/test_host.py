"""The private systemd host: idempotent boot, and recovery over what a killed host leaves behind.

The recovery test kills the private user manager and journald, ending every mission on the
machine, so it runs only where overmind booted them (systemd is not PID 1) and only when asked
with OVERMIND_TEST_HOST_RECOVERY=1, as `make test` (and so CI) does; it leaves them running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import click
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


def bare_shell(om: Overmind, script: str) -> subprocess.CompletedProcess[str]:
    """`script` in a shell as a new root login has it here: no XDG_RUNTIME_DIR, no bus address."""
    env = {k: v for k, v in om.environ().items() if k not in ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS")}
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)


def test_host_env_lets_systemctl_and_journalctl_reach_the_private_host(om: Overmind, name: str) -> None:
    assert "Failed to connect to bus" in bare_shell(om, "systemctl --user is-system-running").stderr
    assert om("host", "env").stdout == "export XDG_RUNTIME_DIR=/run/user/0\n"
    unit = om.run("echo hello from the journal; exec sleep 300", "--name", name)["unit"]
    must(lambda: "hello from the journal" in om.logs(name))
    overmind = f"{sys.executable} -m overmind"
    shell = bare_shell(om, f'eval "$({overmind} host env)"; systemctl --user is-active {unit} &&'
                           f" journalctl --user-unit {unit} -o cat --no-pager")
    om("stop", name)
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.splitlines()[0] == "active" and "hello from the journal" in shell.stdout


def test_a_hint_naming_systemctl_runs_as_given_in_a_shell_without_the_environment(om: Overmind) -> None:
    from click.testing import CliRunner

    from overmind.cli import cli
    from overmind.errors import OvermindError

    @click.command("hinting-for-test")
    def hinting() -> None:
        raise OvermindError("something needs a look", hint="see: systemctl --user is-system-running")

    cli.add_command(hinting)
    try:
        printed = CliRunner().invoke(cli, ["hinting-for-test"], env={"XDG_RUNTIME_DIR": None})
    finally:
        cli.commands.pop("hinting-for-test")
    hint = printed.output.splitlines()[-1]
    assert hint == "(see: XDG_RUNTIME_DIR=/run/user/0 systemctl --user is-system-running)"
    ran = bare_shell(om, hint.removeprefix("(see: ").removesuffix(")"))
    assert "Failed to connect to bus" not in ran.stderr and ran.stdout.strip() in ("running", "degraded")


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
