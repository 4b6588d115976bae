"""M2: crash-to-replacement time against the same unit given to systemd-run, and the
in-unit wrapper's cost (added latency per output line, resident memory)."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time

from benchmarks.common import cleanup, environment, overmind_argv, run

CRASHES = 7
LINES = 300
EMITTER = (
    "import sys, time\n"
    f"for _ in range({LINES}):\n"
    "    sys.stdout.write(f'{time.monotonic_ns()}\\n'); sys.stdout.flush(); time.sleep(0.002)\n"
)


def _main_pid(unit: str, env: dict[str, str]) -> tuple[int, str]:
    out = subprocess.run(["systemctl", "--user", "show", "-p", "MainPID,SubState", unit], env=env,
                         capture_output=True, text=True).stdout
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return int(props.get("MainPID", "0") or 0), props.get("SubState", "")


def _replacement_ms(unit: str, env: dict[str, str]) -> float:
    """Kill the main process; time until a new one runs (polled every ~1 ms via systemctl)."""
    deadline = time.monotonic() + 10
    while (first := _main_pid(unit, env))[1] != "running" or not first[0]:
        if time.monotonic() > deadline:
            raise SystemExit(f"{unit} never ran")
    start = time.perf_counter()
    os.kill(first[0], signal.SIGKILL)
    while True:
        pid, sub = _main_pid(unit, env)
        if pid and pid != first[0] and sub == "running":
            return (time.perf_counter() - start) * 1000
        if time.monotonic() > deadline:
            raise SystemExit(f"{unit} did not come back")


def crash_to_replacement(env: dict[str, str]) -> None:
    prefix = env["OVERMIND_UNIT_PREFIX"]
    run(overmind_argv("run", "--name", "phoenix", "--restart", "always", "--max-restarts", "100", "sleep 600"), env)
    ours = statistics.median(_replacement_ms(f"{prefix}@phoenix.service", env) for _ in range(CRASHES))
    raw = f"{prefix}-raw-phoenix.service"
    run(["systemd-run", "--user", "--quiet", f"--unit={raw}", "-p", "Restart=always", "-p", "StartLimitBurst=101",
         "-p", "StartLimitIntervalSec=60s", "/bin/sh", "-c", "sleep 600"], env)
    theirs = statistics.median(_replacement_ms(raw, env) for _ in range(CRASHES))
    print(f"  crash -> replacement running              {ours:8.1f} ms   same unit via systemd-run     "
          f"{theirs:8.1f} ms   ratio {ours / theirs:5.2f}x")
    subprocess.run(["systemctl", "--user", "stop", raw], env=env, capture_output=True)


def _line_latencies(argv: list[str]) -> tuple[list[float], int]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    rss_kb = 0
    latencies = []
    for raw in proc.stdout:
        latencies.append((time.monotonic_ns() - int(raw)) / 1e6)
        if not rss_kb:
            with open(f"/proc/{proc.pid}/status") as status:
                rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    proc.wait()
    return latencies, rss_kb


def wrapper_cost() -> None:
    direct, _ = _line_latencies([sys.executable, "-c", EMITTER])
    wrapped, rss_kb = _line_latencies([sys.executable, "-m", "overmind.wrapper", "--", sys.executable, "-c", EMITTER])
    added = statistics.median(wrapped) - statistics.median(direct)
    print(f"  wrapper: added latency per output line    {added * 1000:8.0f} us   (median of {LINES} lines; "
          f"direct {statistics.median(direct) * 1000:.0f} us, wrapped {statistics.median(wrapped) * 1000:.0f} us)")
    print(f"  wrapper: resident memory                  {rss_kb / 1024:8.1f} MB")


def main() -> None:
    env = environment()
    try:
        print("self-healing (medians):")
        crash_to_replacement(env)
        wrapper_cost()
    finally:
        cleanup(env)


if __name__ == "__main__":
    main()
