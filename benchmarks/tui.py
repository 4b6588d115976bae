"""M8: the TUI against its targets, on the real systemd host, with the real `overmind tui` in a
pseudo-terminal (pexpect) where a terminal matters:

- first frame: from starting `overmind tui` to the missions table drawn, with 200 missions
  (target <= 1.0 s; beside it, `overmind ps` and `systemctl --user list-units` for the same fleet);
- change to row: from systemd's signal that a mission stopped (seen by an independent D-Bus
  listener in this process) to the table showing it, in Textual's headless pilot (target <= 500 ms);
- key to frame: from a key press (j) to the terminal receiving the redrawn frame, with 1,000
  missions listed (target <= 50 ms);
- resident memory of the TUI with 1,000 missions listed (target <= 120 MB);
- a long output's last page and the page before it, as the logs view reads them.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.common import cleanup, environment, median_ms, overmind_argv, run

RUNNING = 200
LISTED = 1000
ROUNDS = 15
PAGE = 500  # lines the logs view reads at a time


def _fleet(env: dict[str, str], count: int, command: str, prefix: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: run(overmind_argv("run", "--name", f"{prefix}-{i}", command), env), range(count)))


def _spawn(env: dict[str, str]) -> object:
    import pexpect

    argv = overmind_argv("tui")
    child = pexpect.spawn(argv[0], argv[1:], env={k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
                          | {"TERM": "xterm-256color"}, dimensions=(40, 160), encoding=None, timeout=30)
    child.delaybeforesend = None  # pexpect waits 50 ms before each send unless told not to
    return child


def first_frame_ms(env: dict[str, str], listed: int) -> tuple[float, float]:
    """Wall-clock milliseconds to the first frame with the missions, and the CPU the TUI used for
    it (the part that does not grow with other work on the machine)."""
    start = time.perf_counter()
    child = _spawn(env)
    child.expect(f"missions\\({listed}\\)".encode())  # type: ignore[attr-defined]
    elapsed = (time.perf_counter() - start) * 1000
    with open(f"/proc/{child.pid}/stat") as f:  # type: ignore[attr-defined]
        fields = f.read().rpartition(")")[2].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") * 1000  # utime + stime
    child.terminate(force=True)  # type: ignore[attr-defined]
    return elapsed, cpu


def key_to_frame(env: dict[str, str], listed: int) -> tuple[list[float], int]:
    """Milliseconds from writing `j` to the first byte of the redrawn frame; and the RSS in bytes."""
    import pexpect

    child = _spawn(env)
    child.expect(f"missions\\({listed}\\)".encode())  # type: ignore[attr-defined]
    time.sleep(2.0)  # let startup work (the feed, costs) settle
    samples = []
    for index in range(ROUNDS + 1):
        try:  # drain what is pending (a clock tick), then time one key
            while child.read_nonblocking(1 << 16, timeout=0.05):  # type: ignore[attr-defined]
                pass
        except pexpect.TIMEOUT:
            pass
        start = time.perf_counter()
        child.send(b"j" if index % 2 == 0 else b"k")  # type: ignore[attr-defined]
        child.read_nonblocking(1, timeout=5)  # type: ignore[attr-defined]
        samples.append((time.perf_counter() - start) * 1000)
    with open(f"/proc/{child.pid}/status") as f:  # type: ignore[attr-defined]
        rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    child.terminate(force=True)  # type: ignore[attr-defined]
    return samples[1:], rss


async def _change_to_row(ids: list[str], units: list[str]) -> list[float]:
    from textual.widgets import DataTable

    from overmind.systemd.signals import UnitSignals
    from overmind.tui.app import Nexus

    heard: dict[str, list[float]] = {unit: [] for unit in units}
    listener = UnitSignals(units)
    await listener.connect()

    async def listen() -> None:
        async for batch in listener.batches():
            for unit in batch & set(units):
                heard[unit].append(listener.received_at)

    listening = asyncio.create_task(listen())
    app = Nexus()
    samples = []
    async with app.run_test(size=(160, 40)) as pilot:
        await app.loaded.wait()
        while app.feed is None or not app.feed.consumers:
            await pilot.pause(0.05)
        table = app.screen.query_one(DataTable)
        for mission_id, unit in zip(ids, units, strict=True):
            asked = time.time()
            await asyncio.to_thread(subprocess.run, ["systemctl", "--user", "stop", unit], capture_output=True)
            deadline = time.monotonic() + 10
            while "stopped" not in str(table.get_cell(mission_id, "status")):
                assert time.monotonic() < deadline, f"the row never changed: {table.get_cell(mission_id, 'status')!s}"
                await asyncio.sleep(0.002)
            shown = time.time()
            # From the first signal about the unit after the stop was asked for: an upper bound,
            # as it includes the stop itself (SIGTERM, the exit, the unit going inactive).
            signal = min((at for at in heard[unit] if at >= asked), default=asked)
            samples.append((shown - signal) * 1000)
    listening.cancel()
    listener.close()
    return samples


def _logs(env: dict[str, str]) -> None:
    """Opening a long output: the TUI reads the last page, and a page before a cursor on demand;
    neither reads more than the page, however long the output (journald keeps what its rate
    limit lets through of the million lines)."""
    from overmind.control import logs

    run(overmind_argv("run", "--name", "long", "--wait", "seq 1 1000000"), env)
    selection = logs.select("long")
    kept = sum(1 for _ in logs.lines(selection))
    last = median_ms(lambda: list(logs.lines(selection, count=PAGE)), 5)
    first = list(logs.lines(selection, count=PAGE))[0]
    assert first.cursor is not None
    earlier = median_ms(lambda: logs.earlier(selection, first.cursor or "", PAGE), 5)
    unit = f"{env['OVERMIND_UNIT_PREFIX']}@long.service"
    raw = median_ms(lambda: run(["journalctl", "--user-unit", unit, "-n", str(PAGE), "--no-pager"], env), 5)
    _line(f"logs: last {PAGE} of {kept:,} lines", last, 100, f"(journalctl -n {PAGE}: {raw:.0f} ms)")
    _line(f"logs: the {PAGE} before them", earlier, 100, "")


def main() -> None:
    env = environment()
    os.environ.update({k: env[k] for k in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR")})
    try:
        print("tui (medians; targets from the TUI's design):")
        _fleet(env, RUNNING, "sleep 600", "fleet")
        frames, cpus = zip(*[first_frame_ms(env, RUNNING) for _ in range(5)], strict=True)
        ps = median_ms(lambda: run(overmind_argv("ps", "--json"), env), 5)
        systemctl = median_ms(lambda: run(["systemctl", "--user", "list-units", "--output=json"], env), 5)
        _line(f"first frame, {RUNNING} missions", statistics.median(frames), 1000,
              f"(CPU {statistics.median(cpus):.0f} ms; overmind ps --json {ps:.0f} ms, "
              f"systemctl list-units {systemctl:.0f} ms)")

        from overmind.store import Store

        fleet = sorted(Store().all(), key=lambda m: m.created_at)[:ROUNDS]
        latencies = asyncio.run(_change_to_row([m.id for m in fleet], [m.unit for m in fleet]))
        _line("systemd signal -> row changed", statistics.median(latencies), 500,
              f"(max {max(latencies):.0f} ms over {len(latencies)} stops)")

        _logs(env)  # one more mission, finished
        _fleet(env, LISTED - RUNNING - 1, "true", "done")
        samples, rss = key_to_frame(env, LISTED)
        _line(f"key -> next frame, {LISTED} missions listed", statistics.median(samples), 50,
              f"(p90 {sorted(samples)[int(len(samples) * 0.9)]:.1f} ms)")
        print(f"  {'resident memory, ' + str(LISTED) + ' missions listed':<44} {rss / 2**20:8.1f} MB   "
              f"target {120:>6} MB   {'ok' if rss <= 120 * 2**20 else 'OVER'}")
    finally:
        run(overmind_argv("kill", "--all"), env)
        cleanup(env)


def _line(title: str, ours: float, target: float, note: str) -> None:
    verdict = "ok" if ours <= target else "OVER"
    print(f"  {title:<44} {ours:8.1f} ms   target {target:>6.0f} ms   {verdict}   {note}")


if __name__ == "__main__":
    main()
