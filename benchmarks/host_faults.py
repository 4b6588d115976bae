"""Faults of the host itself: journald's death to lines being taken again, the user manager's
death to every mission supervised again (50 running), and a state store rebuilt under 200 missions.

The first two kill the private host's journald and user manager, which every mission on the
machine shares: they run only where overmind runs the private host, with
OVERMIND_TEST_HOST_RECOVERY=1 (under the exclusive host lock, as the disruptive tests).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import time
from pathlib import Path

from benchmarks.common import cleanup, environment, overmind_argv, report, run

DEATHS = 5
RUNNING = 50
STORE_MISSIONS = 200


def _pid(what: str) -> int | None:
    from overmind.host import pids

    return {"journald": pids.journald_pid, "manager": pids.manager_pid}[what]()


def _readable(token: str, env: dict[str, str], deadline: float) -> bool:
    while time.monotonic() < deadline:
        found = subprocess.run(["journalctl", "--no-pager", "-o", "cat", f"OVERMIND_PROBE={token}"], env=env,
                               capture_output=True, text=True).stdout
        if token in found:
            return True
    return False


def _probe_ms(env: dict[str, str], kill_first: bool) -> float:
    """A line sent to journald, until journalctl reads it back (after SIGKILL to journald)."""
    from overmind.journal_native import send

    token = os.urandom(8).hex()
    old = _pid("journald")
    start = time.perf_counter()
    if kill_first and old:
        os.kill(old, signal.SIGKILL)
    assert send({"MESSAGE": f"probe {token}", "OVERMIND_PROBE": token, "SYSLOG_IDENTIFIER": "overmind-bench"},
                timeout=5.0)
    if not _readable(token, env, time.monotonic() + 30):
        raise SystemExit("journald did not come back")
    took = (time.perf_counter() - start) * 1000
    while kill_first and _pid("journald") in (None, old):
        time.sleep(0.01)
    return took


def journald_death(env: dict[str, str]) -> None:
    normal = statistics.median(_probe_ms(env, kill_first=False) for _ in range(DEATHS))
    killed = []
    for _ in range(DEATHS):
        killed.append(_probe_ms(env, kill_first=True))
        time.sleep(1.0)  # five starts in ten seconds count as a crash loop
    report("journald SIGKILL -> a line read back", statistics.median(killed), normal,
           "a line read back, journald up")


def _active(env: dict[str, str]) -> int:
    listed = subprocess.run(["systemctl", "--user", "list-units", "--state=active", "--no-legend", "--plain",
                             f"{env['OVERMIND_UNIT_PREFIX']}@*.service"], env=env, capture_output=True, text=True)
    return len(listed.stdout.splitlines()) if listed.returncode == 0 else 0


def manager_death(env: dict[str, str]) -> None:
    for i in range(RUNNING):
        run(overmind_argv("run", "--name", f"m{i}", "--restart", "on-failure", "exec sleep 900"), env)
    while _active(env) < RUNNING:
        time.sleep(0.1)
    old = _pid("manager")
    assert old
    start = time.perf_counter()
    os.kill(old, signal.SIGKILL)
    while _pid("manager") in (None, old) or not (Path(env["XDG_RUNTIME_DIR"]) / "systemd" / "private").exists():
        time.sleep(0.005)
    manager_ms = (time.perf_counter() - start) * 1000
    while _active(env) < RUNNING:
        time.sleep(0.02)
    supervised_ms = (time.perf_counter() - start) * 1000
    # What systemd itself takes to start as many new units, for scale.
    cleanup(env)
    names = [f"{env['OVERMIND_UNIT_PREFIX']}@raw{i}.service" for i in range(RUNNING)]
    begin = time.perf_counter()
    subprocess.run(["sh", "-c", " & ".join(f"systemd-run --user --quiet --unit={n} sleep 900" for n in names)
                    + " & wait"], env=env, check=True)
    while _active(env) < RUNNING:
        time.sleep(0.02)
    fresh_ms = (time.perf_counter() - begin) * 1000
    print(f"  manager SIGKILL -> new manager running     {manager_ms:8.1f} ms")
    report(f"manager SIGKILL -> {RUNNING} missions taken back", supervised_ms, fresh_ms,
           f"{RUNNING} new units via systemd-run")


def store_rebuild(env: dict[str, str]) -> None:
    for i in range(STORE_MISSIONS):
        command = "exec sleep 900" if i < RUNNING else f"echo {i}"
        run(overmind_argv("run", "--name", f"s{i}", command), env)
    run(overmind_argv("ps"), env)  # every run record read in
    store = Path(env["OVERMIND_STATE_DIR"]) / "state.db"
    listed = len(json.loads(subprocess.run(overmind_argv("ps", "--all", "--json"), env=env, capture_output=True,
                                           text=True, check=True).stdout))
    samples, plain = [], []
    for _ in range(3):
        for path in store.parent.glob("state.db*"):
            if not path.name.endswith(".lock"):
                path.unlink()
        begin = time.perf_counter()
        proc = subprocess.run(overmind_argv("ps", "--all", "--json"), env=env, capture_output=True, text=True)
        samples.append((time.perf_counter() - begin) * 1000)
        assert len(json.loads(proc.stdout)) == listed, proc.stderr
        begin = time.perf_counter()
        run(overmind_argv("ps", "--all"), env)
        plain.append((time.perf_counter() - begin) * 1000)
    report(f"store deleted -> ps with {listed} missions", statistics.median(samples), statistics.median(plain),
           "ps, store intact")


def main() -> None:
    print("host faults")
    env = environment()
    try:
        store_rebuild(env)
    finally:
        cleanup(env)
    if os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1":
        print("  (journald and manager deaths: set OVERMIND_TEST_HOST_RECOVERY=1, under the exclusive host lock)")
        return
    from overmind.host import pids

    if pids.supervisor_pid() is None:
        print("  (journald and manager deaths: only where overmind's private host runs)")
        return
    env = environment()
    try:
        journald_death(env)
        manager_death(env)
    finally:
        cleanup(env)
        run(overmind_argv("host", "up"), env)


if __name__ == "__main__":
    main()
