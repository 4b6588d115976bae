"""What the host-fault tests share: the private host's pids, killing its parts, and a scan of
every process for one that runs a mission `ps` does not show as running.

These tests kill the shared journald or user manager: they are `disruptive`, run only with
OVERMIND_TEST_HOST_RECOVERY=1 under the exclusive host lock (see HELPERS.md), and leave the
host up whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from overmind.host import pid1_is_systemd
from tests.helpers import Overmind, must

disruptive = [
    pytest.mark.disruptive,
    pytest.mark.skipif(pid1_is_systemd() or os.geteuid() != 0,
                       reason="the private host is for root where systemd is not PID 1"),
    pytest.mark.skipif(os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1",
                       reason="kills the shared host's journald or manager; set OVERMIND_TEST_HOST_RECOVERY=1"),
]


def host(om: Overmind) -> dict[str, Any]:
    return dict(json.loads(om("host", "status", "--json").stdout))


@contextmanager
def host_left_up(om: Overmind) -> Iterator[None]:
    """Whatever the test did, the host is up (and supervised) when it ends."""
    try:
        yield
    finally:
        subprocess.run([sys.executable, "-m", "overmind", "host", "up"], env=om.env, capture_output=True, timeout=120)


def kill(om: Overmind, part: str) -> tuple[int, float]:
    """SIGKILL the private host's journald, manager or supervisor; returns its pid and when."""
    pid = host(om)[f"private_{part}_pid"]
    assert pid, f"no {part} runs"
    os.kill(pid, signal.SIGKILL)
    return pid, time.monotonic()


def replaced(om: Overmind, part: str, old: int, timeout: float) -> int:
    """The pid of the new journald or manager, once it runs (read from its pid file: at once)."""
    from overmind.host import pids

    alive = {"journald": pids.journald_pid, "manager": pids.manager_pid, "supervisor": pids.supervisor_pid}[part]
    return int(must(lambda: (pid := alive()) not in (None, old) and pid, timeout, what=f"a new {part}"))


def _mission_of(pid: int, prefix: str) -> str | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(item.partition(b"=")[::2] for item in f.read().split(b"\0") if item)
    except OSError:
        return None
    if env.get(b"OVERMIND_UNIT_PREFIX", b"").decode() != prefix:
        return None
    return env.get(b"OVERMIND_MISSION_ID", b"").decode() or None


def _cgroup(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    return next((line.split(":", 2)[2] for line in lines if line.startswith("0::")), None)


def unseen(om: Overmind) -> list[str]:
    """Every process of this test run's missions that `ps` does not show running in its unit's
    cgroup: none may exist."""
    prefix = om.env["OVERMIND_UNIT_PREFIX"]
    rows = {row["id"]: row for row in om.json("ps", "--all")}
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or (mission := _mission_of(int(entry), prefix)) is None:
            continue
        row = rows.get(mission)
        cgroup = _cgroup(int(entry))
        if cgroup is None:
            continue  # it ended meanwhile
        if row is None or row["status"] not in ("running", "attached", "stopping", "restarting") \
                or not row["cgroup"] or not cgroup.startswith(row["cgroup"]):
            found.append(f"pid {entry} of mission {mission} in {cgroup}: ps says "
                         f"{(row or {}).get('status', 'nothing')} in {(row or {}).get('cgroup')}")
    return found
