"""The systemd user manager, reached through systemctl (and systemd-run for a worktree's services).

They are the manager's own D-Bus clients; on the CLI's hot path they are faster than importing a
Python D-Bus library. Units are created over D-Bus without one (`overmind.systemd.bus`); only
long waits that need signals (see `overmind.systemd.signals`) load dbus-fast.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from overmind import trace
from overmind.errors import OvermindError

if TYPE_CHECKING:
    import subprocess

# A unit in one of these states has processes (or is about to, or is ending them).
ACTIVE_STATES = ("active", "activating", "deactivating", "reloading")
_UNREACHABLE_MARKERS = ("Failed to connect to bus", "Failed to connect to user scope bus")


class ManagerUnreachable(OvermindError):
    pass


def runtime_dir() -> str:
    return os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"


def user_env() -> dict[str, str]:
    """Our environment, completed with what the user manager's clients need to find it."""
    env = dict(os.environ)
    run_dir = runtime_dir()
    env["XDG_RUNTIME_DIR"] = run_dir
    env.setdefault("DBUS_SESSION_BUS_ADDRESS", f"unix:path={run_dir}/bus")
    env["SYSTEMD_PAGER"] = ""
    env.setdefault("SYSTEMD_COLORS", "0")
    return env


def _call(argv: Sequence[str], check: bool, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    import subprocess  # not at the top: `run` never forks systemctl

    started = time.perf_counter()
    try:
        proc = subprocess.run(
            argv, env=user_env(), capture_output=True, text=True, input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
        trace.note(f"{trace.command(argv)} -> {proc.returncode}", started)
    except FileNotFoundError as exc:
        raise OvermindError(f"{argv[0]} is not installed", hint="install systemd (apt-get install systemd)") from exc
    if proc.returncode != 0 and any(m in proc.stderr for m in _UNREACHABLE_MARKERS):
        raise ManagerUnreachable(
            "the systemd user manager is not reachable",
            hint="run 'overmind host up' (as root, where systemd is not PID 1) or log in with linger enabled",
        )
    if check and proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit code {proc.returncode}"
        raise OvermindError(f"{argv[0]} failed: {detail}")
    return proc


def systemctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _call(["systemctl", "--user", "--no-pager", "--no-ask-password", *args], check)


def systemd_run_all(many: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Create and start (--no-block) units that do not depend on each other: one systemd-run
    each, all side by side."""
    import subprocess

    started = time.perf_counter()
    argvs = [["systemd-run", "--user", "--quiet", "--no-block", "--no-ask-password", *args] for args in many]
    env = user_env()
    procs = [subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for argv in argvs]
    done = []
    for argv, proc in zip(argvs, procs, strict=True):
        out, err = proc.communicate()
        trace.note(f"{trace.command(argv)} -> {proc.returncode}", started)
        if proc.returncode != 0 and any(m in err for m in _UNREACHABLE_MARKERS):
            raise ManagerUnreachable("the systemd user manager is not reachable", hint="run 'overmind host up'")
        done.append(subprocess.CompletedProcess(argv, proc.returncode, out, err))
    return done


def show(units: Iterable[str], properties: Sequence[str]) -> list[dict[str, str]]:
    """`systemctl show` for many units (names or glob patterns) in one call."""
    units = list(units)
    if not units:
        return []
    proc = systemctl("show", "--timestamp=unix", "--property=" + ",".join(properties), "--", *units, check=False)
    return parse_show(proc.stdout)


def timers(units: Iterable[str]) -> dict[str, dict[str, Any]]:
    """`systemctl list-timers` for timers (names or patterns), by name: "next" and "last" elapse
    in microseconds since the epoch, 0 for none (`show` prints those two in whole seconds only)."""
    units = list(units)
    if not units:
        return {}
    proc = systemctl("list-timers", "--all", "--output=json", "--", *units, check=False)
    try:
        rows = json.loads(proc.stdout or "[]")
    except ValueError:
        return {}
    return {row["unit"]: row for row in rows if isinstance(row, dict) and "unit" in row}


def epoch_of_monotonic(usec: str) -> float | None:
    """A *TimestampMonotonic property (microseconds of CLOCK_MONOTONIC) as epoch seconds; None for unset."""
    if not usec.isdigit() or not int(usec):
        return None
    return time.time() - (time.monotonic() - int(usec) / 1e6)


def parse_show(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line:
            if current:
                blocks.append(current)
                current = {}
            continue
        key, _, value = line.partition("=")
        current[key] = value
    if current:
        blocks.append(current)
    return blocks


@functools.cache
def version() -> str:
    """systemd's version as `systemctl --version` says it ("252"), read once per process."""
    proc = _call(["systemctl", "--version"], check=False)
    first = proc.stdout.splitlines()[0] if proc.stdout else ""
    return first.split(" ", 2)[1] if first.startswith("systemd ") else "unknown"


def version_number() -> int:
    """The version as a number, 0 if unknown: for features that came with a release."""
    found = version()
    return int(found) if found.isdigit() else 0
