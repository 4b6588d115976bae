"""The private systemd host: idempotent boot, and what its supervisor does when parts of it die.

The recovery tests kill the private user manager, journald or the supervisor, so they run only
where overmind booted them (systemd is not PID 1) and only when asked with
OVERMIND_TEST_HOST_RECOVERY=1, as `make test` (and so CI) does; they leave the host running.
(tests/integration/test_host_faults.py and tests/sessions/test_host_journald.py have more.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import click
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
