"""Shared pieces of the benchmarks: an isolated overmind environment and timing."""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence


def environment() -> dict[str, str]:
    """A private unit prefix and state directory, like the test suite's."""
    env = dict(os.environ)
    env.update({
        "OVERMIND_UNIT_PREFIX": f"ombench-{secrets.token_hex(3)}",
        "OVERMIND_STATE_DIR": tempfile.mkdtemp(prefix="overmind-bench-"),
        "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}",
        "PATH": f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}",
    })
    return env


def overmind_argv(*args: str) -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "overmind")
    return [script, *args] if os.path.exists(script) else [sys.executable, "-m", "overmind", *args]


def run(argv: Sequence[str], env: dict[str, str]) -> None:
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def median_ms(action: Callable[[], None], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def report(title: str, ours: float, theirs: float, baseline: str) -> None:
    print(f"  {title:<44} {ours:8.1f} ms   {baseline:<40} {theirs:8.1f} ms   ratio {ours / theirs:5.2f}x")


def cleanup(env: dict[str, str]) -> None:
    pattern = f"{env['OVERMIND_UNIT_PREFIX']}@*.service"
    for action in (["stop", pattern], ["reset-failed", pattern]):
        subprocess.run(["systemctl", "--user", *action], env=env, capture_output=True)
    # collected: the unit files of persisted missions (sessions are, by default) go with them.
    # --all: a bare gc forgets only the missions of the repository it runs in.
    subprocess.run(overmind_argv("gc", "--all"), env=env, capture_output=True, check=True)
