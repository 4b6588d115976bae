"""M6: the web dashboard against its targets, with 200 missions running.

- the missions page's server time (its Server-Timing header), against `systemctl --user
  list-units` of the same units (systemd's own listing) — target ≤ 50 ms;
- a systemd state change reaching an open page: from the manager's own D-Bus signal (a
  subscriber of our own) to the change on the page's event stream — target ≤ 300 ms;
- a log line reaching an open mission page: from the moment journald stamped it to the line on
  the page's stream — target ≤ 300 ms;
- 20 open pages: the systemd, journald and D-Bus calls the dashboard makes while they sit open
  (counted by its --debug trace) — target 0 (one feed, no polling);
- the dashboard's resident memory with those pages open — target ≤ 80 MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import cleanup, environment, overmind_argv

MISSIONS = 200
PAGE_LOADS = 30
CHANGES = 10
LINES = 20
OPEN_PAGES = 20
QUIET_S = 10.0
START_MANY = """
import sys
from overmind.control.launch import launch
from overmind.mission.build import build_spec
for n in range(int(sys.argv[1])):
    launch(build_spec(["sleep 900"], name=f"load-{n}"))
"""


class Dashboard:
    """`overmind --debug dashboard --port 0`: its URL, and every traced call with when it came."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([*overmind_argv("--debug", "dashboard", "--port", "0")], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        found = re.search(r"(http://\S+)/\?token=(\S+)", self.proc.stdout.readline())
        if not found:
            raise SystemExit(f"the dashboard did not start: {self.proc.stderr.read()}")
        self.base, self.token = found[1], found[2]
        self.calls: list[tuple[float, str]] = []
        threading.Thread(target=self._read_trace, daemon=True).start()

    def _read_trace(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if "debug:" in line:
                self.calls.append((time.monotonic(), line.strip()))

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status)[1]) / 1024  # type: ignore[index]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


async def _frames(response: Any) -> Any:
    """(event, id, data) of a Server-Sent Events response, as they arrive."""
    event, ident = "message", None
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if not line:
            event, ident = "message", None
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("id: "):
            ident = line[4:]
        elif line.startswith("data: "):
            yield event, ident, json.loads(line[6:])


async def page_times(session: Any, base: str) -> list[float]:
    times = []
    for _ in range(PAGE_LOADS + 3):
        async with session.get(f"{base}/missions") as response:
            await response.read()
            times.append(float(response.headers["Server-Timing"].split("dur=")[1]))
    return times[3:]  # the first loads warm jinja's template cache


def list_units_ms(env: dict[str, str]) -> float:
    samples = []
    for _ in range(PAGE_LOADS):
        start = time.perf_counter()
        subprocess.run(["systemctl", "--user", "list-units", "--all", "--output=json", "--",
                        f"{env['OVERMIND_UNIT_PREFIX']}@*"], env=env, capture_output=True, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def change_latencies(session: Any, base: str, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Stop a mission's unit with systemctl; time from systemd's signal to the page's change, and
    to the same change read from a change feed of our own (what `overmind events` prints)."""
    from overmind.control.feed import Feed
    from overmind.systemd.signals import UnitSignals

    page, feed_only = [], []
    async with Feed() as feed, session.get(f"{base}/events") as response:
        frames, own = _frames(response), feed.subscribe()
        await anext(frames)  # hello

        async def on_page(name: str) -> float:
            async for event, _, data in frames:
                if event == "change" and data["name"] == name:
                    break
            return time.time()

        async def in_feed(name: str) -> float:
            async for change in own:
                if change.name == name:
                    break
            return time.time()

        for n in range(CHANGES):
            unit = f"{env['OVERMIND_UNIT_PREFIX']}@load-{n}.service"
            async with UnitSignals([unit]) as signals:
                stopper = await asyncio.create_subprocess_exec("systemctl", "--user", "stop", unit, env=env)
                seen = asyncio.gather(on_page(f"load-{n}"), in_feed(f"load-{n}"))
                await signals.next_batch(10)
                signalled = signals.received_at
                shown, fed = await seen
                page.append((shown - signalled) * 1000)
                feed_only.append((fed - signalled) * 1000)
                await stopper.wait()
    return page, feed_only


async def log_latencies(session: Any, base: str, env: dict[str, str], fifo: Path) -> list[float]:
    """Write lines into a mission's output; time from journald's stamp to the page's stream."""
    latencies = []
    async with session.get(f"{base}/missions/logger/logs/stream?since={time.time()}") as response:
        frames = _frames(response)
        await asyncio.sleep(0.5)  # journalctl --follow is watching
        with fifo.open("a") as writer:
            for n in range(LINES):
                writer.write(f"line {n}\n")
                writer.flush()
                async for event, _, data in frames:
                    if event == "line" and data["message"] == f"line {n}":
                        latencies.append((time.time() - data["at"]) * 1000)
                        break
                await asyncio.sleep(0.05)
    return latencies


async def journalctl_latencies(env: dict[str, str], fifo: Path) -> list[float]:
    """The same, read by journalctl --follow itself: what journald's own reader takes."""
    identifier = f"SYSLOG_IDENTIFIER={env['OVERMIND_UNIT_PREFIX']}@logger"
    # --since, not --lines=0: a journalctl still opening a large journal when the first line is
    # written would skip it (and this would wait for it forever).
    reader = await asyncio.create_subprocess_exec(
        "journalctl", "--follow", f"--since=@{time.time():.6f}", "--output=json", identifier, env=env,
        stdout=asyncio.subprocess.PIPE)
    assert reader.stdout is not None
    latencies = []
    with fifo.open("a") as writer:
        for n in range(LINES):
            writer.write(f"raw {n}\n")
            writer.flush()
            while True:
                try:
                    record = json.loads(await asyncio.wait_for(reader.stdout.readline(), 60))
                except TimeoutError:
                    reader.terminate()
                    raise RuntimeError(f"journalctl --follow did not print 'raw {n}' within 60 s") from None
                if record.get("MESSAGE") == f"raw {n}":
                    latencies.append((time.time() - int(record["__REALTIME_TIMESTAMP"]) / 1e6) * 1000)
                    break
            await asyncio.sleep(0.05)
    reader.terminate()
    await reader.wait()
    return latencies


async def quiet_pages(session: Any, base: str, dashboard: Dashboard) -> tuple[int, float]:
    """Open OPEN_PAGES missions pages' event streams; count the dashboard's calls while they sit."""
    streams = [await session.get(f"{base}/events") for _ in range(OPEN_PAGES)]
    for stream in streams:
        await stream.content.readline()
    settled = time.monotonic() + 30  # let the missions' starts play out first
    while time.monotonic() < settled and dashboard.calls and time.monotonic() - dashboard.calls[-1][0] < 3:
        await asyncio.sleep(0.2)
    start = time.monotonic()
    await asyncio.sleep(QUIET_S)
    calls = [line for at, line in dashboard.calls if at >= start]
    for call in calls[:3]:
        print(f"    called: {call[:150]}")
    rss = dashboard.rss_mb()
    for stream in streams:
        stream.close()
    return len(calls), rss


async def measure(env: dict[str, str], dashboard: Dashboard, fifo: Path) -> dict[str, Any]:
    import aiohttp

    headers = {"Authorization": f"Bearer {dashboard.token}"}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=120)) as session:
        pages = await page_times(session, dashboard.base)
        calls, rss = await quiet_pages(session, dashboard.base, dashboard)  # before anything changes
        changes, fed = await change_latencies(session, dashboard.base, env)
        lines = await log_latencies(session, dashboard.base, env, fifo)
        raw_lines = await journalctl_latencies(env, fifo)
    return {"pages": pages, "changes": changes, "fed": fed, "lines": lines, "raw_lines": raw_lines, "calls": calls,
            "rss": rss}


def line(title: str, value: str, target: str, ok: bool, baseline: str = "") -> None:
    print(f"  {title:<46} {value:>16}   target {target:<10} {'ok' if ok else 'MISSED':<7} {baseline}")


def main() -> None:
    env = environment()
    print(f"M6 dashboard ({MISSIONS} missions running)")
    directory = Path(tempfile.mkdtemp(prefix="om-bench-dash-"))
    fifo = directory / "lines"
    fifo.write_text("")
    os.environ.update({k: env[k] for k in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR")})
    dashboard = None
    try:
        subprocess.run([sys.executable, "-c", START_MANY, str(MISSIONS)], env=env, check=True)
        subprocess.run(overmind_argv("run", "--name", "logger", f"tail -f {fifo}"), env=env, check=True,
                       stdout=subprocess.DEVNULL)
        dashboard = Dashboard(env)
        found = asyncio.run(measure(env, dashboard, fifo))
        listing = list_units_ms(env)
        page = statistics.median(found["pages"])
        line("missions page, server time (median)", f"{page:.1f} ms", "≤ 50 ms", page <= 50,
             f"systemctl list-units {listing:.1f} ms, ratio {page / listing:.2f}x")
        median, worst = statistics.median(found["changes"]), max(found["changes"])
        fed = statistics.median(found["fed"])
        line("systemd signal -> open page (median/max)", f"{median:.0f} / {worst:.0f} ms", "≤ 300 ms", worst <= 300,
             f"overmind events' feed {fed:.0f} ms, ratio {median / fed:.2f}x")
        median, worst = statistics.median(found["lines"]), max(found["lines"])
        raw = statistics.median(found["raw_lines"])
        line("journald line -> open mission page (med/max)", f"{median:.0f} / {worst:.0f} ms", "≤ 300 ms",
             worst <= 300, f"journalctl --follow {raw:.0f} ms, ratio {median / raw:.2f}x")
        line(f"calls while {OPEN_PAGES} pages sit open {QUIET_S:.0f}s", str(found["calls"]), "0",
             found["calls"] == 0, f"(polling ps every 2 s would be {OPEN_PAGES * QUIET_S / 2:.0f})")
        line(f"dashboard RSS, {OPEN_PAGES} pages open", f"{found['rss']:.1f} MB", "≤ 80 MB", found["rss"] <= 80)
    finally:
        if dashboard is not None:
            dashboard.stop()
        cleanup(env)


if __name__ == "__main__":
    main()
