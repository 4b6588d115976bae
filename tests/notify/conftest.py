"""Notifications against the test run's real systemd: the real notification service (a user unit
named with the run's prefix), real missions, and a webhook receiver on 127.0.0.1 (port 0).

One channel (`keeper`, for no mission) is kept for the whole package so the service stays up
between tests; each test adds its own channels for its own missions (`--missions NAME*`), and
the package removes every channel, and with the last one the service, when it ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.helpers import Overmind
from tests.notify.webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.stop()


@pytest.fixture(scope="package")
def service(run_env: dict[str, str]) -> Iterator[str]:
    """The run's notification service, up for the whole package; its unit's name."""
    om = Overmind(dict(run_env))
    _remove_channels(om)  # what a killed earlier run of this package left
    om("notify", "add", "keeper", "--command", "true", "--missions", "no-mission-is-named-so")
    unit = f"{run_env['OVERMIND_UNIT_PREFIX']}-notify.service"
    yield unit
    _remove_channels(om)


def _remove_channels(om: Overmind) -> None:
    listed = om("notify", "ls", "--json", check=False)
    names = [row["name"] for row in json.loads(listed.stdout or "[]")] if listed.returncode == 0 else []
    if names:
        om("notify", "rm", *names, check=False)


@pytest.fixture
def hook(om: Overmind, service: str, receiver: Receiver, name: str) -> Iterator[str]:
    """A webhook channel (every event) for this test's missions: those named `<name>*`."""
    om("notify", "add", name, "--webhook", receiver.url, "--on", "all", "--missions", f"{name}*")
    yield name
    om("notify", "rm", name, check=False)
