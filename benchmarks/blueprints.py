"""M3: how long `apply` takes, and how close together systemd starts a blueprint's independent
agents (all pulled in by one start job)."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.common import cleanup, environment, overmind_argv, run

SIZES = (10, 50)
HOLD = 3.0  # seconds each agent runs: longer than the spread, so every agent is seen running


def _blueprint(directory: Path, name: str, agents: int) -> Path:
    lines = [f'name = "{name}"']
    for index in range(agents):
        lines += [f"[agents.a{index}]", f'command = "sleep {HOLD:g}"']
    path = directory / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _start_times(name: str, env: dict[str, str]) -> list[float]:
    """Each agent's start in seconds, from its unit (ExecMainStartTimestampMonotonic: µs) while
    all are still running."""
    prefix = env["OVERMIND_UNIT_PREFIX"]
    out = subprocess.run(["systemctl", "--user", "show", "-p", "ExecMainStartTimestampMonotonic", "--value",
                          f"{prefix}@{name}.*"], env=env, capture_output=True, text=True).stdout
    return [int(value) / 1e6 for value in out.split() if value.isdigit() and value != "0"]


def parallel_starts(env: dict[str, str], directory: Path, agents: int) -> None:
    name = f"fanout{agents}"
    begin = time.perf_counter()
    run(overmind_argv("apply", str(_blueprint(directory, name, agents))), env)
    applied = (time.perf_counter() - begin) * 1000
    deadline = time.monotonic() + HOLD
    starts: list[float] = []
    while time.monotonic() < deadline and len(starts) < agents:
        starts = _start_times(name, env)
    spread = (max(starts) - min(starts)) * 1000 if starts else float("nan")
    running = json.loads(subprocess.run(overmind_argv("info", name, "--json"), env=env, capture_output=True,
                                        text=True).stdout)["agents"]
    concurrent = sum(1 for a in running if a["status"] == "running")
    print(f"  apply {agents:>3} independent agents           {applied:8.1f} ms   "
          f"all {len(starts)} started within {spread:6.1f} ms   {concurrent} running at once")
    run(overmind_argv("kill", name), env)


def main() -> None:
    print("blueprints: one start job for the whole graph")
    env = environment()
    with tempfile.TemporaryDirectory() as directory:
        try:
            for size in SIZES:
                parallel_starts(env, Path(directory), size)
        finally:
            cleanup(env)


if __name__ == "__main__":
    main()
