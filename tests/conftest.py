"""Integration tests run the real CLI against a real systemd user manager and journald.

Every test run gets its own unit-name prefix and state directory, so it never touches a
user's real missions, and stops whatever it started.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Overmind


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart the shared systemd host run last, after everything that needs it steady."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


# Sessions are persisted by default; the suite's many throwaway ones are not (a reboot in a
# disruptive test would start them all again), here and in front ends run in this process (the
# TUI, the dashboard): tests of persistence ask with --persist, and tests/unit/test_persistence.py
# checks the default.
os.environ["OVERMIND_PERSIST_SESSIONS"] = "0"

@pytest.fixture(scope="session")
def run_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    prefix = f"omtest-{secrets.token_hex(3)}"
    state = tmp_path_factory.mktemp("state")
    env = dict(os.environ)
    env.update({
        "OVERMIND_UNIT_PREFIX": prefix,
        "OVERMIND_STATE_DIR": str(state),
        "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "COLUMNS": "200",
    })
    up = subprocess.run([sys.executable, "-m", "overmind", "host", "up"], env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    yield env
    _remove_rituals(env)
    _remove_akasha(env)
    _remove_persisted(prefix)
    pattern = f"{prefix}@*.service"
    slices = prefix.replace("-", "\\x2d") + "*.slice"  # the run's slices for trees and blueprints
    for action in (["stop", pattern, slices], ["reset-failed", pattern]):
        subprocess.run(["systemctl", "--user", *action], env=env, capture_output=True)


def _remove_rituals(env: dict[str, str]) -> None:
    """Rituals are files in the user's unit directory: take away any this run left behind."""
    listed = subprocess.run([sys.executable, "-m", "overmind", "rituals", "--json"], env=env, capture_output=True,
                            text=True)
    for ritual in json.loads(listed.stdout or "[]") if listed.returncode == 0 else []:
        subprocess.run([sys.executable, "-m", "overmind", "ritual", "rm", ritual["name"]], env=env,
                       capture_output=True)


def _remove_persisted(prefix: str) -> None:
    """Persisted missions are files enabled at boot: none of this run's may start at the host's next boot."""
    from overmind.control.persist import delete
    from overmind.systemd.unitfiles import unit_dir

    for path in unit_dir().glob(f"{prefix}@*.service"):
        delete(path.name)


def _remove_akasha(env: dict[str, str]) -> None:
    """Any agent mission may have started the run's memory service (and a test its shared server)."""
    for args in (["akasha", "serve", "--stop"], ["akasha", "stop", "--uninstall"]):
        subprocess.run([sys.executable, "-m", "overmind", *args], env=env, capture_output=True)


@pytest.fixture
def om(run_env: dict[str, str]) -> Overmind:
    return Overmind(dict(run_env))


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A mission name unique to this test."""
    base = request.node.name.removeprefix("test_").replace("_", "-")[:40].strip("-")
    return f"{base}-{secrets.token_hex(2)}"
