"""Notifications: from a crash to the webhook's request, against systemd's own way of telling.

- overmind: a mission (`date +%s.%N > FILE; exit 3`) crashes; the notification service, following
  the change feed, POSTs its notice to a receiver on 127.0.0.1. Latency: the request's arrival
  minus the time the mission's last command wrote.
- systemd: the same command in a `systemd-run --user` unit with `OnFailure=` a template unit that
  runs `curl -X POST` to the same receiver (what a person would set up by hand), measured alike.
- the service's resident memory after it sent them, and its CPU while none of its missions
  changes (it waits on the feed, no timer polls: what it spends is reading other units' signals
  on a shared manager), beside the user manager's memory and CPU over the same time.

The crashes come one after another (each waited for): latency, not throughput.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

from benchmarks.common import cleanup, environment, overmind_argv
from benchmarks.feed import cpu_seconds, manager_pid
from tests.notify.webhook_receiver import Receiver

CRASHES = 15
IDLE_S = 10.0
TIMEOUT_S = 30.0


def crashed_at(stamps: Path, name: str) -> float:
    return float((stamps / name).read_text())


def overmind_latencies(env: dict[str, str], receiver: Receiver, stamps: Path) -> list[float]:
    found = []
    for n in range(CRASHES):
        name = f"nb-{n}"
        subprocess.run(overmind_argv("run", "--name", name, f"date +%s.%N > {stamps / name}; exit 3"), env=env,
                       check=True, stdout=subprocess.DEVNULL)
        found.append((receiver.arrival(name, TIMEOUT_S) - crashed_at(stamps, name)) * 1000)
    return found


def systemd_latencies(env: dict[str, str], receiver: Receiver, stamps: Path) -> list[float]:
    from overmind.systemd.unitfiles import unit_dir

    prefix = env["OVERMIND_UNIT_PREFIX"]
    template = unit_dir() / f"{prefix}-onfail@.service"
    post = f"curl -s -o /dev/null -H 'Content-Type: application/json' -d '{{\"name\": \"%i\"}}' {receiver.url}"
    template.write_text(f"[Service]\nType=oneshot\nExecStart={post}\n")
    subprocess.run(["systemctl", "--user", "daemon-reload"], env=env, check=True)
    found = []
    try:
        for n in range(CRASHES):
            name = f"sb-{n}"
            subprocess.run(["systemd-run", "--user", "--quiet", f"--unit={prefix}-{name}",
                            f"--property=OnFailure={prefix}-onfail@{name}.service", "/bin/sh", "-c",
                            f"date +%s.%N > {stamps / name}; exit 3"], env=env, check=True)
            found.append((receiver.arrival(name, TIMEOUT_S) - crashed_at(stamps, name)) * 1000)
    finally:
        units = [f"{prefix}-sb-{n}.service" for n in range(CRASHES)] + [f"{prefix}-onfail@sb-{n}.service"
                                                                         for n in range(CRASHES)]
        subprocess.run(["systemctl", "--user", "reset-failed", *units], env=env, capture_output=True)
        template.unlink(missing_ok=True)
        subprocess.run(["systemctl", "--user", "daemon-reload"], env=env, capture_output=True)
    return found


def main_pid(env: dict[str, str], unit: str) -> int:
    shown = subprocess.run(["systemctl", "--user", "show", "--property=MainPID", "--value", unit], env=env,
                           capture_output=True, text=True)
    return int(shown.stdout.strip() or 0)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for row in f:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    return 0.0


def main() -> None:
    import tempfile

    env = environment()
    receiver = Receiver()
    receiver.start()
    stamps = Path(tempfile.mkdtemp(prefix="overmind-bench-notify-"))
    print(f"Notifications: crash -> webhook request ({CRASHES} crashes one after another, median)")
    subprocess.run(overmind_argv("notify", "add", "bench", "--webhook", receiver.url, "--missions", "nb-*"),
                   env=env, check=True, stdout=subprocess.DEVNULL)
    unit = f"{env['OVERMIND_UNIT_PREFIX']}-notify.service"
    try:
        ours = statistics.median(overmind_latencies(env, receiver, stamps))
        theirs = statistics.median(systemd_latencies(env, receiver, stamps))
        print(f"  {'crash -> webhook, overmind-notify':<44} {ours:8.1f} ms   {'OnFailure= + curl (systemd)':<32}"
              f" {theirs:8.1f} ms   ratio {ours / theirs:5.2f}x")
        pid, manager = main_pid(env, unit), manager_pid(env)
        before, busy = cpu_seconds(pid), cpu_seconds(manager)
        time.sleep(IDLE_S)  # none of its missions changes: what it spends is other units' signals
        idle, busy = cpu_seconds(pid) - before, cpu_seconds(manager) - busy
        print(f"  {'the service: resident memory':<44} {rss_mb(pid):8.1f} MB   {'user manager':<32}"
              f" {rss_mb(manager):8.1f} MB")
        print(f"  {f'the service: CPU over {IDLE_S:g} s, its missions idle':<44} {idle * 1000:8.1f} ms   "
              f"{'user manager, same 10 s (other units)':<32} {busy * 1000:8.1f} ms")
    finally:
        subprocess.run(overmind_argv("notify", "rm", "bench"), env=env, capture_output=True)
        receiver.stop()
        cleanup(env)


if __name__ == "__main__":
    main()
