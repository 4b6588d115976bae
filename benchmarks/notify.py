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
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.common import cleanup, environment, overmind_argv
from benchmarks.feed import cpu_seconds, manager_pid

CRASHES = 15
IDLE_S = 10.0
TIMEOUT_S = 30.0


class Receiver:
    """Notes when each request arrives, by the last part of its path (or the notice's name)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                import json

                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                key = self.path.rsplit("/", 1)[-1]
                if key == "hook":
                    key = str(json.loads(body).get("name"))
                with receiver.lock:
                    receiver.arrived.setdefault(key, now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait(self, key: str) -> float:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            with self.lock:
                if key in self.arrived:
                    return self.arrived[key]
            time.sleep(0.005)
        raise TimeoutError(f"no request for {key} within {TIMEOUT_S:g} s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def crashed_at(stamps: Path, name: str) -> float:
    return float((stamps / name).read_text())


def overmind_latencies(env: dict[str, str], receiver: Receiver, stamps: Path) -> list[float]:
    found = []
    for n in range(CRASHES):
        name = f"nb-{n}"
        subprocess.run(overmind_argv("run", "--name", name, f"date +%s.%N > {stamps / name}; exit 3"), env=env,
                       check=True, stdout=subprocess.DEVNULL)
        found.append((receiver.wait(name) - crashed_at(stamps, name)) * 1000)
    return found


def systemd_latencies(env: dict[str, str], receiver: Receiver, stamps: Path) -> list[float]:
    from overmind.systemd.unitfiles import unit_dir

    prefix = env["OVERMIND_UNIT_PREFIX"]
    template = unit_dir() / f"{prefix}-onfail@.service"
    template.write_text(f"[Service]\nType=oneshot\nExecStart=curl -s -o /dev/null -X POST -d x {receiver.base}/%i\n")
    subprocess.run(["systemctl", "--user", "daemon-reload"], env=env, check=True)
    found = []
    try:
        for n in range(CRASHES):
            name = f"sb-{n}"
            subprocess.run(["systemd-run", "--user", "--quiet", f"--unit={prefix}-{name}",
                            f"--property=OnFailure={prefix}-onfail@{name}.service", "/bin/sh", "-c",
                            f"date +%s.%N > {stamps / name}; exit 3"], env=env, check=True)
            found.append((receiver.wait(name) - crashed_at(stamps, name)) * 1000)
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
    stamps = Path(tempfile.mkdtemp(prefix="overmind-bench-notify-"))
    print(f"Notifications: crash -> webhook request ({CRASHES} crashes one after another, median)")
    subprocess.run(overmind_argv("notify", "add", "bench", "--webhook", f"{receiver.base}/hook", "--missions", "nb-*"),
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
        receiver.close()
        cleanup(env)


if __name__ == "__main__":
    main()
