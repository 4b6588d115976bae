"""Fixtures for the multi-host tests: loopback hosts (tests/hosts/sshd.py) registered in a state
directory of their own, driven through the real CLI."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Overmind
from tests.hosts.sshd import Keys, Sshd, available

HOSTS = ("h1", "h2")


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    reason = available()
    if reason:
        pytest.skip(reason)
    return Keys(tmp_path_factory.mktemp("ssh-client"))


@pytest.fixture(scope="session")
def hosts_env(run_env: dict[str, str], keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The local side: the run's prefix, a state directory of its own (its hosts registry), and
    the test's ssh config (key and known hosts) instead of root's own."""
    return {**run_env, "OVERMIND_STATE_DIR": str(tmp_path_factory.mktemp("local-state")),
            "OVERMIND_SSH_CONFIG": str(keys.config)}


@pytest.fixture(scope="session")
def loopback(run_env: dict[str, str], keys: Keys, hosts_env: dict[str, str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Sshd]]:
    """Hosts h1 and h2, registered with `hosts add` (their overmind found on ssh's PATH)."""
    base = tmp_path_factory.mktemp("hosts")
    tag = run_env["OVERMIND_UNIT_PREFIX"].removeprefix("omtest-")
    started = {name: Sshd(name, base / name, keys, prefix=f"omhost-{tag}-{name}").start() for name in HOSTS}
    om = Overmind(dict(hosts_env))
    try:
        for sshd in started.values():
            om("hosts", "add", sshd.name, sshd.address)
        yield started
    finally:
        for sshd in started.values():
            om("hosts", "rm", sshd.name, check=False)
            sshd.stop()
            sshd.stop_missions()


@pytest.fixture
def hom(hosts_env: dict[str, str], loopback: dict[str, Sshd]) -> Overmind:
    """The CLI on the local side, with h1 and h2 registered."""
    return Overmind(dict(hosts_env))


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word: a host that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def overmind_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "overmind", *args]


def spawn(env: dict[str, str], *args: str, stdout: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen(overmind_argv(*args), env=env, text=True, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.PIPE)


def unique(base: str) -> str:
    return f"{base}-{secrets.token_hex(2)}"


def master_pid(env: dict[str, str], sshd: Sshd) -> int | None:
    """The ssh master process of the connection to `sshd` (what a network cut takes away)."""
    proc = subprocess.run(["ssh", "-F", env["OVERMIND_SSH_CONFIG"], "-o", f"ControlPath={_control_dir(env)}/%C",
                           "-p", str(sshd.port), "-l", "root", "-O", "check", "127.0.0.1"],
                          capture_output=True, text=True, env=env)
    text = proc.stderr + proc.stdout
    return int(text.split("pid=")[1].split(")")[0]) if "pid=" in text else None


def _control_dir(env: dict[str, str]) -> Path:
    code = ("import os; os.environ.update(" + repr({k: env[k] for k in ("OVERMIND_STATE_DIR", "XDG_RUNTIME_DIR")})
            + "); from overmind.remote.ssh import control_dir; print(control_dir())")
    return Path(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                               env={**os.environ, **env}).stdout.strip())
