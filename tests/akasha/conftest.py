"""Akasha against real components: chromadb (a local store, and `chroma run` servers on
127.0.0.1), the real embedding model, the socket-activated service under the test run's unit
prefix, and the real claude CLI against the fake Messages API.

The test run's memory service (its socket and unit files) is removed at the end (tests/conftest.py);
each test keeps to its own memory scope, so tests that share the store never see each other's
memories.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.helpers import Overmind
from tests.sessions.conftest import claude, claude_bin, fake_api  # noqa: F401 - the claude mission fixtures


def _overmind(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "overmind", *args], env=env, capture_output=True, timeout=120)


def tear_down(env: dict[str, str]) -> None:
    """Stop what a test environment started: its shared server, its memory service and socket."""
    _overmind(env, "akasha", "serve", "--stop")
    _overmind(env, "akasha", "stop", "--uninstall")


@pytest.fixture(scope="session")
def akasha_env(run_env: dict[str, str]) -> dict[str, str]:
    """The test run's environment with the local store (run_env's teardown removes its service)."""
    return {key: value for key, value in run_env.items() if not key.startswith("OVERMIND_AKASHA_")}


@pytest.fixture
def ak(akasha_env: dict[str, str]) -> Overmind:
    return Overmind(dict(akasha_env))


@pytest.fixture
def scope(request: pytest.FixtureRequest) -> str:
    """A memory scope of this test's own."""
    return f"test/{request.node.name[:40]}-{secrets.token_hex(3)}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def machine(run_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Another overmind installation ("machine"): its own unit prefix, state directory and memory
    service, on the same user manager. Call it with extra environment variables."""
    made: list[dict[str, str]] = []

    def make(**extra: str) -> Overmind:
        prefix = f"{run_env['OVERMIND_UNIT_PREFIX']}-m{len(made)}"
        env = {key: value for key, value in run_env.items() if not key.startswith("OVERMIND_AKASHA_")}
        env |= {"OVERMIND_UNIT_PREFIX": prefix, "OVERMIND_STATE_DIR": str(tmp_path_factory.mktemp("machine")), **extra}
        made.append(env)
        return Overmind(env)

    yield make
    for env in made:
        tear_down(env)
