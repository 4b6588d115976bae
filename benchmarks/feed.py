"""The change feed under churn: the CPU its holders spend while 200 missions start and end.

- a dashboard with no page open (one was, and was closed), and with 20 pages' event streams open
  (each stream read to the end of every message, as a browser does);
- `overmind events --json` (one feed, its lines thrown away) through the same churn;
- the user manager's own CPU through each churn: systemd's work for the same missions, the floor
  that any observer adds to;
- how soon `overmind events --json` tells a mission running and ended after the manager announced
  it (heard by a listener of the benchmark's own on the same bus): target ≤ 200 ms. (The tests
  check order and exactly-once only: a deadline in a test fails on a busy machine.)

Missions are started with the CLI from 8 parallel shells (`sleep 0.5`: each starts, runs and
ends inside the churn) and collected between rounds.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.common import cleanup, environment, overmind_argv

MISSIONS = 200
SHELLS = 8
PAGES = 20
SETTLE_S = 1.0  # CPU still for this long: the holder has caught up
LATENCY_MISSIONS = 10
LATENCY_TARGET_MS = 200


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(") ")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def manager_pid(env: dict[str, str]) -> int:
    shown = subprocess.run(["systemctl", "--user", "show", "--property=MainPID", "--value", "init.scope"],
                           env=env, capture_output=True, text=True)
    if shown.stdout.strip().isdigit() and shown.stdout.strip() != "0":
        return int(shown.stdout.strip())
    listed = subprocess.run(["pgrep", "-u", str(os.getuid()), "-xf", "/lib/systemd/systemd --user"],
                            capture_output=True, text=True)
    return int(listed.stdout.split()[0])


def churn(env: dict[str, str], tag: str) -> None:
    """MISSIONS short missions started from SHELLS shells, waited for until every one has ended."""
    names = [f"{tag}-{n}" for n in range(MISSIONS)]

    def start(name: str) -> None:
        subprocess.run(overmind_argv("run", "--name", name, "sleep 0.5"), env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    with ThreadPoolExecutor(SHELLS) as pool:
        list(pool.map(start, names))
    subprocess.run(overmind_argv("wait", *names, "--timeout", "120s"), env=env, check=True,
                   stdout=subprocess.DEVNULL)


def settle(pid: int) -> None:
    """Until the process has used no CPU for SETTLE_S (it has told everything it had to tell)."""
    last = cpu_seconds(pid)
    while True:
        time.sleep(SETTLE_S)
        now = cpu_seconds(pid)
        if now - last < 0.01:
            return
        last = now


def measured(env: dict[str, str], pid: int, tag: str) -> tuple[float, float]:
    """(holder's CPU, the manager's CPU) over one churn, in seconds."""
    manager = manager_pid(env)
    settle(pid)
    ours, theirs = cpu_seconds(pid), cpu_seconds(manager)
    churn(env, tag)
    settle(pid)
    used = cpu_seconds(pid) - ours, cpu_seconds(manager) - theirs
    subprocess.run(overmind_argv("gc"), env=env, check=True, stdout=subprocess.DEVNULL)
    return used


class Pages:
    """PAGES event streams open on a dashboard, each read as it comes, in a thread of their own."""

    def __init__(self, base: str, token: str, count: int) -> None:
        self.base, self.token, self.count = base, token, count
        self.messages = 0
        self.opened = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.done: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._read(),), daemon=True)
        self.thread.start()
        if count:
            assert self.opened.wait(30), "the pages' event streams did not open"

    async def _read(self) -> None:
        import aiohttp

        self.done = asyncio.Event()
        if not self.count:
            return
        headers = {"Authorization": f"Bearer {self.token}"}
        async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as session:
            streams = [await session.get(f"{self.base}/events") for _ in range(self.count)]
            for stream in streams:
                await stream.content.readline()
            self.opened.set()
            readers = [asyncio.create_task(self._drain(s)) for s in streams]
            await self.done.wait()
            for task in readers:
                task.cancel()
            for stream in streams:
                stream.close()

    async def _drain(self, stream: Any) -> None:
        async for raw in stream.content:
            if raw.startswith(b"data: "):
                self.messages += 1

    def close(self) -> None:
        if self.done is not None:
            self.loop.call_soon_threadsafe(self.done.set)
        self.thread.join(10)


class Counted:
    """Lines of a stream, counted and thrown away, in a thread of their own."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.count = stream, 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for _ in self.stream:
            self.count += 1


def dashboard(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(overmind_argv("dashboard", "--port", "0"), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    found = re.search(r"(http://\S+)/\?token=(\S+)", proc.stdout.readline())
    if not found:
        raise SystemExit("the dashboard did not start")
    return proc, found[1], found[2]


def idle(base: str, token: str) -> None:
    """A page was open, and was closed: as long as the dashboard keeps its feed after the last one."""
    import urllib.request

    request = urllib.request.Request(f"{base}/missions", headers={"Authorization": f"Bearer {token}"})
    urllib.request.urlopen(request, timeout=60).read()
    try:
        from overmind.dashboard.live import LINGER_S
    except ImportError:  # an older dashboard keeps its feed for good
        return
    time.sleep(LINGER_S + 1)


def line(title: str, ours: float, manager: float, extra: str = "") -> None:
    print(f"  {title:<44} {ours:7.2f} s CPU   user manager {manager:6.2f} s   ratio {ours / manager:5.2f}x  {extra}")


async def latencies(env: dict[str, str]) -> tuple[list[float], list[float]]:
    """For LATENCY_MISSIONS missions (`sleep 0.5; exit 3`, one after another): ms from the manager's
    `active` to the feed's `running` line, and from its `failed` to the `crashed` line."""
    import json

    from overmind.systemd.signals import UnitSignals

    prefix = f"{env['OVERMIND_UNIT_PREFIX']}@lat-"
    said: dict[str, dict[str, float]] = {}  # unit -> first time each ActiveState was announced
    told: dict[str, dict[str, float]] = {}  # mission name -> first time each state was told

    async def hear(signals: UnitSignals) -> None:
        async for _ in signals.batches():
            for unit, announcements in signals.take_announced().items():
                for a in announcements:
                    said.setdefault(unit, {}).setdefault(a.props.get("ActiveState", ""), a.at)

    async def read(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            change = json.loads(line)
            told.setdefault(change["name"], {}).setdefault(change["state"], time.time())

    async def until(check: Any, what: str) -> None:
        deadline = time.monotonic() + 60
        while not check():
            if time.monotonic() > deadline:
                raise SystemExit(f"the feed did not tell {what}")
            await asyncio.sleep(0.05)

    def start(name: str, command: str) -> None:
        subprocess.run(overmind_argv("run", "--name", name, command), env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    os.environ.update({k: env[k] for k in ("OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR")})
    events = await asyncio.create_subprocess_exec(*overmind_argv("events", "--json"), env=env,
                                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert events.stdout is not None
    tasks = [asyncio.create_task(read(events.stdout))]
    try:
        async with UnitSignals(announce=("ActiveState",), accept=lambda unit: unit.startswith(prefix)) as signals:
            tasks.append(asyncio.create_task(hear(signals)))
            for n in range(30):  # the feed listens once it tells a mission started after it
                await asyncio.to_thread(start, f"probe-{n}", "sleep 1")
                if any(name.startswith("probe-") for name in told):
                    break
                await asyncio.sleep(1)
            await until(lambda: any(name.startswith("probe-") for name in told), "a probe mission")
            for n in range(LATENCY_MISSIONS):
                await asyncio.to_thread(start, f"lat-{n}", "sleep 0.5; exit 3")
                await until(lambda n=n: "crashed" in told.get(f"lat-{n}", {}), f"lat-{n}'s end")
        running, ended = [], []
        for n in range(LATENCY_MISSIONS):
            heard, shown = said[f"{prefix}{n}.service"], told[f"lat-{n}"]
            running.append((shown["running"] - heard["active"]) * 1000)
            ended.append((shown["crashed"] - heard["failed"]) * 1000)
        return running, ended
    finally:
        for task in tasks:
            task.cancel()
        events.terminate()
        await events.wait()


def main() -> None:
    env = environment()
    print(f"The change feed under churn ({MISSIONS} missions start and end, {SHELLS} shells)")
    try:
        proc, base, token = dashboard(env)
        try:
            for pages in (0, PAGES):
                if not pages:
                    idle(base, token)
                opened = Pages(base, token, pages)
                try:
                    ours, manager = measured(env, proc.pid, f"d{pages}")
                finally:
                    opened.close()
                extra = f"({opened.messages} messages read)" if pages else ""
                line(f"dashboard, {pages} pages open", ours, manager, extra)
        finally:
            proc.terminate()
            proc.wait(30)
        events = subprocess.Popen(overmind_argv("events", "--json"), env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        assert events.stdout is not None
        lines = Counted(events.stdout)
        try:
            time.sleep(1)
            ours, manager = measured(env, events.pid, "e")
            line("overmind events --json", ours, manager, f"({lines.count} lines)")
        finally:
            events.terminate()
            events.wait(30)
        running, ended = asyncio.run(latencies(env))
        for title, found in (("systemd active -> events' running line", running),
                             ("systemd failed -> events' crashed line", ended)):
            worst = max(found)
            print(f"  {title:<44} {statistics.median(found):5.0f} ms median, {worst:5.0f} ms max   "
                  f"target ≤ {LATENCY_TARGET_MS} ms  {'ok' if worst <= LATENCY_TARGET_MS else 'MISSED'}")
    finally:
        cleanup(env)


if __name__ == "__main__":
    main()
