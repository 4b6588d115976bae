"""Other hosts over ssh: what a remote call costs against the same call here plus one round trip.

Three hosts: this machine (`local`) and two loopback OpenSSH servers standing in for machines
(tests/hosts/sshd.py: each its own state directory and unit prefix, this machine's systemd), so
the round trip is loopback's and what is measured is overmind's own cost on top of it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.common import cleanup, environment, median_ms, overmind_argv, run
from tests.hosts.sshd import Keys, Sshd

REMOTES = ("h1", "h2")
HELD = 100  # missions per host in the "held" figure (300 across three hosts)
REPEAT = 9


def line(title: str, value: str, detail: str = "") -> None:
    print(f"  {title:<56} {value:>10}   {detail}")


def output(env: dict[str, str], *args: str) -> str:
    return subprocess.run(overmind_argv(*args), env=env, check=True, capture_output=True, text=True).stdout


def rtt_ms(env: dict[str, str], sshd: Sshd) -> float:
    """One round trip over the host's open connection: `ssh HOST true`, as overmind calls it."""
    code = ("import sys; from overmind.remote import registry, ssh; h = registry.get(sys.argv[1]); "
            "import time; ssh.run(h, 'true', 10); t = []\n"
            "for _ in range(9):\n s = time.perf_counter(); ssh.run(h, 'true', 10); t.append(time.perf_counter() - s)\n"
            "t.sort(); print(t[4] * 1000)")
    proc = subprocess.run([sys.executable, "-c", code, sshd.name], env=env,
                          check=True, capture_output=True, text=True)
    return float(proc.stdout)


def ps_figures(env: dict[str, str], hosts: dict[str, Sshd]) -> None:
    local = median_ms(lambda: run(overmind_argv("ps"), env), REPEAT)
    trip = statistics.median(rtt_ms(env, sshd) for sshd in hosts.values())
    everywhere = median_ms(lambda: run(overmind_argv("ps", "--hosts", "all"), env), REPEAT)
    bound = 1.5 * local + trip
    line("ps here (5 missions)", f"{local:.0f} ms")
    line("one round trip (ssh HOST true over the open connection)", f"{trip:.0f} ms")
    line("ps --hosts all (3 hosts, 5 missions each)", f"{everywhere:.0f} ms",
         f"target <= 1.5 x ps + 1 round trip = {bound:.0f} ms: {'met' if everywhere <= bound else 'MISSED'}")


def run_figures(env: dict[str, str], hosts: dict[str, Sshd]) -> None:
    count = iter(range(10_000))
    local = median_ms(lambda: run(overmind_argv("run", "--name", f"r{next(count)}", "true"), env), REPEAT)
    remote = median_ms(lambda: run(overmind_argv("run", "--on", "h1", "--name", f"r{next(count)}", "true"), env),
                       REPEAT)
    trip = rtt_ms(env, hosts["h1"])
    bound = local + trip + 30
    line("run here", f"{local:.0f} ms")
    line("run --on h1", f"{remote:.0f} ms",
         f"target <= run + 1 round trip + 30 ms = {bound:.0f} ms: {'met' if remote <= bound else 'MISSED'}")


def _arrivals(argv: list[str], env: dict[str, str], key: Callable[[str], str | None], seen: dict[str, float],
              ready: threading.Event) -> subprocess.Popen[str]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            stdin=subprocess.DEVNULL)

    def read() -> None:
        assert proc.stdout is not None
        for text in proc.stdout:
            found = key(text)
            if found is not None:
                seen.setdefault(found, time.perf_counter())
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    return proc


def logs_follow_figures(env: dict[str, str], hosts: dict[str, Sshd]) -> None:
    """A line of a mission on h1, as the host's own `journalctl -f` sees it, then as
    `overmind logs h1:NAME -f` here prints it."""
    name = "ticker"
    run(overmind_argv("run", "--on", "h1", "--name", name, "--restart", "never",
                      "sleep 3; for i in $(seq 1 40); do echo mark-$i; sleep 0.25; done"), env)
    unit = f"{hosts['h1'].prefix}@{name}.service"
    journal: dict[str, float] = {}
    ours: dict[str, float] = {}

    def mark(text: str) -> str | None:
        return next((word for word in text.split() if word.startswith("mark-")), None)

    started = [threading.Event(), threading.Event()]
    follow_journal = _arrivals(["journalctl", "--user-unit", unit, "-f", "-n", "0", "-o", "cat"], env, mark, journal,
                               started[0])
    follow_ours = _arrivals(overmind_argv("logs", f"h1:{name}", "-f"), env, mark, ours, started[1])
    try:
        deadline = time.monotonic() + 60
        while len(ours) < 40 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        follow_journal.terminate()
        follow_ours.terminate()
    delays = sorted((ours[k] - journal[k]) * 1000 for k in ours if k in journal)
    if not delays:
        line("logs -f h1:NAME after the host's journalctl -f", "no lines")
        return
    median, worst = statistics.median(delays), delays[int(len(delays) * 0.95) - 1]
    line("logs -f h1:NAME, a line after the host's journalctl -f", f"{median:.0f} ms",
         f"p95 {worst:.0f} ms over {len(delays)} lines; target <= 100 ms: {'met' if worst <= 100 else 'MISSED'}")


def held_figures(env: dict[str, str]) -> None:
    def start(host: str, n: int) -> None:
        where = [] if host == "local" else ["--on", host]
        run(overmind_argv("run", *where, "--name", f"held{n}", "sleep 900"), env)

    jobs = [(host, n) for host in ("local", *REMOTES) for n in range(HELD)]
    began = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda job: start(*job), jobs))
    took = time.perf_counter() - began
    line(f"start {len(jobs)} missions over 3 hosts (8 shells)", f"{took:.1f} s", f"{len(jobs) / took:.0f}/s")
    listing = median_ms(lambda: run(overmind_argv("ps", "--hosts", "all"), env), 5)
    rows = json.loads(output(env, "ps", "--hosts", "all", "--json"))
    held = sum(1 for row in rows if row["name"].startswith("held") and row["status"] == "running")
    local = median_ms(lambda: run(overmind_argv("ps"), env), 5)
    line(f"ps --hosts all over {len(jobs)} missions", f"{listing:.0f} ms",
         f"{held} of {len(jobs)} listed running; ps here over {HELD}: {local:.0f} ms")


def main() -> None:
    env = environment()
    base = Path(tempfile.mkdtemp(prefix="overmind-bench-hosts-"))
    keys = Keys(base / "client")
    env["OVERMIND_SSH_CONFIG"] = str(keys.config)
    tag = env["OVERMIND_UNIT_PREFIX"].removeprefix("ombench-")
    hosts = {name: Sshd(name, base / name, keys, prefix=f"ombenchhost-{tag}-{name}").start() for name in REMOTES}
    print("other hosts over ssh (loopback sshd, 3 hosts: local, h1, h2):")
    try:
        for sshd in hosts.values():
            run(overmind_argv("hosts", "add", sshd.name, sshd.address), env)
        for host in ("local", *REMOTES):
            for n in range(5):
                where = [] if host == "local" else ["--on", host]
                run(overmind_argv("run", *where, "--name", f"few{n}", "sleep 900"), env)
        ps_figures(env, hosts)
        run_figures(env, hosts)
        logs_follow_figures(env, hosts)
        held_figures(env)
    finally:
        for sshd in hosts.values():
            subprocess.run(overmind_argv("hosts", "rm", sshd.name), env=env, capture_output=True)
            sshd.stop()
            sshd.stop_missions()
        cleanup(env)
        os.environ.get("OVERMIND_BENCH_KEEP") or subprocess.run(["rm", "-rf", str(base)], check=False)


if __name__ == "__main__":
    main()
