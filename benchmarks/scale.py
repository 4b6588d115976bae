"""Speed at scale: many starts at once, ending many missions, and `ps` over many, side by side with
systemd's own tools and, where they can be installed, supervisord and pm2 doing the same work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.common import cleanup, environment, median_ms, overmind_argv, run

FLEET = 200
SHELLS = 8
TARGET_STARTS = 30  # per second, from SHELLS shells on the 2-core reference machine
PS_SIZES = (50, 200, 500)
REPO = Path(__file__).resolve().parent.parent
PEERS = REPO / ".tools" / "bench"


def line(title: str, value: str, detail: str = "") -> None:
    print(f"  {title:<52} {value:>12}   {detail}")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def parallel_starts(env: dict[str, str], argv_of: Callable[[int], list[str]], count: int = FLEET) -> float:
    """Seconds for `count` starts from SHELLS parallel shells."""
    def shell(index: int) -> None:
        for n in range(index, count, SHELLS):
            run(argv_of(n), env)

    with ThreadPoolExecutor(SHELLS) as pool:
        return timed(lambda: list(pool.map(shell, range(SHELLS))))


def raw_units(env: dict[str, str], prefix: str, count: int, *properties: str) -> list[str]:
    units = [f"{prefix}-raw{n}.service" for n in range(count)]
    for unit in units:
        run(["systemd-run", "--user", "--quiet", "--no-block", f"--unit={unit}",
             *(f"--property={p}" for p in properties), "sleep", "600"], env)
    return units


def starts_and_stops(env: dict[str, str]) -> None:
    prefix = env["OVERMIND_UNIT_PREFIX"]
    ours = parallel_starts(env, lambda n: overmind_argv("run", "--name", f"s{n}", "sleep 600"))
    theirs = parallel_starts(env, lambda n: ["systemd-run", "--user", "--quiet", f"--unit={prefix}-raw{n}.service",
                                             "sleep", "600"])
    line(f"start {FLEET} from {SHELLS} parallel shells: overmind run", f"{FLEET / ours:.0f}/s",
         f"systemd-run: {FLEET / theirs:.0f}/s  ratio {ours / theirs:.2f}x  "
         f"(target ≥ {TARGET_STARTS}/s: {'met' if FLEET / ours >= TARGET_STARTS else 'NOT met'})")
    ours = timed(lambda: run(overmind_argv("stop", "--all"), env))
    theirs = timed(lambda: run(["systemctl", "--user", "stop", *[f"{prefix}-raw{n}.service" for n in range(FLEET)]],
                               env))
    line(f"stop --all of {FLEET} running", f"{ours * 1000:.0f} ms",
         f"systemctl --user stop of {FLEET}: {theirs * 1000:.0f} ms  ratio {ours / theirs:.2f}x")
    # The floor of any unit that records its end: systemd forks an ExecStopPost= process per unit.
    hooked = raw_units(env, f"{prefix}-hooked", FLEET, "ExecStopPost=/bin/sh -c true")
    floor = timed(lambda: run(["systemctl", "--user", "stop", *hooked], env))
    line("  the same units with a no-op sh ExecStopPost=", f"{floor * 1000:.0f} ms",
         f"stop --all against it: ratio {ours / floor:.2f}x")
    run(overmind_argv("gc"), env)
    for n in range(FLEET):
        run(overmind_argv("run", "--name", f"k{n}", "sleep 600"), env)
    units = raw_units(env, f"{prefix}-k", FLEET)
    ours = timed(lambda: run(overmind_argv("kill", "--all"), env))
    def raw_kill() -> None:
        run(["systemctl", "--user", "kill", "--signal=SIGKILL", *units], env)
        run(["systemctl", "--user", "stop", *units], env)

    theirs = timed(raw_kill)
    line(f"kill --all of {FLEET} running", f"{ours * 1000:.0f} ms",
         f"systemctl kill + stop of {FLEET}: {theirs * 1000:.0f} ms  ratio {ours / theirs:.2f}x")
    run(overmind_argv("gc"), env)


def ps_at_scale(env: dict[str, str]) -> None:
    started = 0
    results = {}
    for size in PS_SIZES:
        for n in range(started, size):
            run(overmind_argv("run", "--name", f"p{n}", "sleep 600"), env)
        started = size
        results[size] = median_ms(lambda: run(overmind_argv("ps", "--json"), env), 10)
        raw = median_ms(lambda: run(["systemctl", "--user", "list-units", "--output=json"], env), 10)
        line(f"ps --json with {size} running", f"{results[size]:.0f} ms",
             f"systemctl list-units --output=json: {raw:.0f} ms  ratio {results[size] / raw:.2f}x")
    small, large = PS_SIZES[0], PS_SIZES[-1]
    per_hundred = (results[large] - results[small]) / (large - small) * 100
    line(f"ps --json: {large} running against {small}", f"{results[large] / results[small]:.2f}x",
         f"+{per_hundred:.1f} ms per 100 missions")
    run(overmind_argv("kill", "--all"), env)
    run(overmind_argv("gc"), env)


# -- peers ----------------------------------------------------------------------------------
def _supervisor() -> Path | None:
    """supervisord from PyPI, in a virtualenv of its own under .tools/bench."""
    venv = PEERS / "supervisor"
    if not (venv / "bin" / "supervisord").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        proc = subprocess.run([venv / "bin" / "pip", "install", "-q", "supervisor"], capture_output=True)
        if proc.returncode != 0:
            return None
    return venv / "bin"


def supervisord_rows() -> None:
    tools = _supervisor()
    if tools is None:
        line("supervisord", "skipped", "could not be installed from PyPI")
        return
    work = Path(tempfile.mkdtemp(prefix="overmind-bench-supervisor-"))
    conf = work / "supervisord.conf"
    programs = "".join(f"[program:s{n}]\ncommand=sleep 600\nautostart=false\nstartsecs=0\n" for n in range(FLEET))
    conf.write_text(f"[unix_http_server]\nfile={work}/sock\n[supervisord]\nlogfile={work}/log\npidfile={work}/pid\n"
                    f"[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
                    f"supervisor.rpcinterface:make_main_rpcinterface\n[supervisorctl]\nserverurl=unix://{work}/sock\n"
                    + programs)
    subprocess.run([tools / "supervisord", "-c", str(conf)], check=True)
    ctl = [str(tools / "supervisorctl"), "-c", str(conf)]
    try:
        deadline = time.monotonic() + 20
        while subprocess.run([*ctl, "status"], capture_output=True).returncode not in (0, 3):
            if time.monotonic() > deadline:
                raise SystemExit("supervisord did not come up")
            time.sleep(0.1)
        started = timed(lambda: subprocess.run([*ctl, "start", "all"], capture_output=True))
        stopped = timed(lambda: subprocess.run([*ctl, "stop", "all"], capture_output=True))
        line(f"supervisord: start all {FLEET}", f"{FLEET / started:.0f}/s", f"stop all: {stopped * 1000:.0f} ms")
    finally:
        subprocess.run([*ctl, "shutdown"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def pm2_rows() -> None:
    pm2 = PEERS / "node_modules" / ".bin" / "pm2"
    if not pm2.exists() and shutil.which("npm"):
        subprocess.run(["npm", "install", "--silent", "--prefix", str(PEERS), "pm2"], capture_output=True)
    if not pm2.exists():
        line("pm2", "skipped", "could not be installed from npm")
        return
    work = Path(tempfile.mkdtemp(prefix="overmind-bench-pm2-"))
    env = dict(os.environ, PM2_HOME=str(work / "home"))
    apps = [{"name": f"p{n}", "script": "sleep", "args": "600", "interpreter": "none", "autorestart": False}
            for n in range(FLEET)]
    (work / "ecosystem.config.js").write_text("module.exports = " + json.dumps({"apps": apps}))
    try:
        subprocess.run([pm2, "ping"], env=env, capture_output=True)
        started = timed(lambda: subprocess.run([pm2, "start", str(work / "ecosystem.config.js")], env=env,
                                               capture_output=True))
        stopped = timed(lambda: subprocess.run([pm2, "stop", "all"], env=env, capture_output=True))
        line(f"pm2: start an ecosystem of {FLEET}", f"{FLEET / started:.0f}/s", f"stop all: {stopped * 1000:.0f} ms")
    finally:
        subprocess.run([pm2, "kill"], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def first_runs() -> None:
    """50 processes opening a store in a state directory that does not exist yet."""
    state = Path(tempfile.mkdtemp(prefix="overmind-bench-first-")) / "new"
    env = dict(os.environ, OVERMIND_STATE_DIR=str(state))
    code = "from overmind.store import Store; Store()"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL) for _ in range(50)]
    failed = sum(p.wait() != 0 for p in procs)
    line("50 concurrent first runs on a missing state dir", f"{50 - failed} ok", f"{failed} errors")
    shutil.rmtree(state.parent, ignore_errors=True)


def main() -> None:
    env = environment()
    print("speed at scale:")
    try:
        starts_and_stops(env)
        ps_at_scale(env)
    finally:
        cleanup(env)
        prefix = env["OVERMIND_UNIT_PREFIX"]
        subprocess.run(["systemctl", "--user", "stop", f"{prefix}-*.service"], env=env, capture_output=True)
    first_runs()
    supervisord_rows()
    pm2_rows()


if __name__ == "__main__":
    main()
