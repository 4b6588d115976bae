"""Reading missions' output from journald, through journalctl.

Lines are matched by SYSLOG_IDENTIFIER, which each mission's unit sets to its own name: journald
takes it from the stream header, so it is there even when a process ends before journald could
read its cgroup and fill in _SYSTEMD_USER_UNIT (the field `journalctl --user-unit` matches).
A name, and so a unit, can be reused by a later mission, so each line is attributed to the
mission that owned the unit at the line's time. (LogExtraFields= would be neater, but journald
applies it only to units of the system manager.)
"""

from __future__ import annotations

import bisect
import json
import os
import subprocess
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from overmind import names, trace
from overmind.errors import OvermindError
from overmind.store import Mission
from overmind.systemd.manager import user_env

# OVERMIND_EVENT: on lines an agent wrapper wrote, the seq of the stored event they render.
_FIELDS = "MESSAGE,SYSLOG_IDENTIFIER,OVERMIND_EVENT"


class Entry(NamedTuple):
    timestamp: float
    mission_id: str
    name: str
    message: str
    event_seq: int | None = None
    cursor: str | None = None  # journald's cursor: where a follow resumes after this line

    def to_json(self) -> dict[str, object]:
        return {"time": datetime.fromtimestamp(self.timestamp).astimezone().isoformat(timespec="milliseconds"),
                "id": self.mission_id, "name": self.name, "message": self.message, "cursor": self.cursor}


class Owners:
    """Which mission owned each unit at a given time."""

    def __init__(self, missions: list[Mission], all_known: list[Mission]) -> None:
        self._wanted = {m.id for m in missions}
        units = {m.unit for m in missions}
        self._by_unit: dict[str, list[Mission]] = defaultdict(list)
        for mission in sorted(all_known, key=lambda m: m.created_at):
            if mission.unit in units:
                self._by_unit[mission.unit].append(mission)
        self._starts = {unit: [m.created_at for m in owners] for unit, owners in self._by_unit.items()}
        self.since = min(m.created_at for m in missions)
        # A single mission whose name a later mission reused: its lines end where the next begin.
        later = [t for t in self._starts.get(missions[0].unit, []) if t > self.since]
        self.until = min(later) if len(missions) == 1 and later else None

    @property
    def units(self) -> list[str]:
        return sorted(self._by_unit)

    def owner(self, unit: str, timestamp: float) -> Mission | None:
        index = bisect.bisect_right(self._starts.get(unit, []), timestamp) - 1
        if index < 0:
            return None
        mission = self._by_unit[unit][index]
        return mission if mission.id in self._wanted else None


def _argv(options: list[str], identifiers: list[str]) -> list[str]:
    argv = ["journalctl", *options, "--no-pager", "--quiet", "--all", "--output=json", f"--output-fields={_FIELDS}"]
    return argv + [f"SYSLOG_IDENTIFIER={identifier}" for identifier in identifiers] + [f"_UID={os.getuid()}"]


def records(options: list[str], identifiers: list[str]) -> Iterator[dict[str, Any]]:
    """journalctl's JSON records of this user's lines with these SYSLOG_IDENTIFIERs, in time order."""
    argv = _argv(options, identifiers)
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=user_env(), stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise OvermindError("journalctl is not installed", hint="apt-get install systemd") from exc
    assert proc.stdout is not None and proc.stderr is not None
    try:
        for line in proc.stdout:
            yield json.loads(line)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait()
        trace.note(f"{trace.command(argv)} -> {proc.returncode}", started)
    if proc.returncode not in (0, -15):
        detail = proc.stderr.read().strip().splitlines()
        raise OvermindError(f"journalctl failed: {detail[-1] if detail else proc.returncode}")


def sync() -> None:
    """Have journald write out what it has received (what streams still buffer included), as
    `journalctl --sync` asks it. Only root may ask; for others it is a no-op, and a line still in
    a stream's buffer shows a moment later."""
    argv = ["journalctl", "--sync"]
    started = time.perf_counter()
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=user_env(), timeout=10, check=False)
        trace.note(f"{trace.command(argv)} -> {proc.returncode}", started)
    except (OSError, subprocess.TimeoutExpired):
        pass


def timestamp(record: dict[str, Any]) -> float:
    return int(record.get("__REALTIME_TIMESTAMP", 0)) / 1e6


def message(record: dict[str, Any]) -> str:
    # journalctl emits a byte array for messages that are not valid UTF-8 text.
    value = record.get("MESSAGE")
    if isinstance(value, list):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else ""


async def records_async(options: list[str], identifiers: list[str]) -> AsyncIterator[dict[str, Any]]:
    """`records` for an event loop (a dashboard or TUI following logs): journalctl in a child
    process that is ended when the iteration stops."""
    import asyncio

    try:
        proc = await asyncio.create_subprocess_exec(*_argv(options, identifiers), stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.DEVNULL, env=user_env(),
                                                    stdin=asyncio.subprocess.DEVNULL, limit=1 << 24)
    except FileNotFoundError as exc:
        raise OvermindError("journalctl is not installed", hint="apt-get install systemd") from exc
    assert proc.stdout is not None
    try:
        while line := await proc.stdout.readline():
            yield json.loads(line)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


class _Reader:
    def __init__(self, owners: Owners, since: float) -> None:
        self.owners = owners
        self.since = since
        self.cursor: str | None = None

    def options(self, extra: list[str]) -> tuple[list[str], list[str]]:
        if self.owners.until is not None:
            extra = [*extra, f"--until=@{self.owners.until:.6f}"]
        return extra, [names.log_identifier(unit) for unit in self.owners.units]

    def entry(self, record: dict[str, Any]) -> Entry | None:
        at = timestamp(record)
        mission = self.owners.owner(f"{record.get('SYSLOG_IDENTIFIER')}.service", at)
        if mission is None:
            return None
        self.cursor = record.get("__CURSOR", self.cursor)
        seq = record.get("OVERMIND_EVENT")
        return Entry(at, mission.id, mission.name, message(record),
                     int(seq) if isinstance(seq, str) and seq.isdigit() else None, self.cursor)

    def run(self, extra: list[str]) -> Iterator[Entry]:
        for record in records(*self.options(extra)):
            if (entry := self.entry(record)) is not None:
                yield entry


def entries(missions: list[Mission], all_known: list[Mission], lines: int | None = None,
            since: float | None = None, follow: bool = False, after_cursor: str | None = None) -> Iterator[Entry]:
    """Entries of `missions` in time order (after the line at `after_cursor` when given); with
    follow, keeps yielding as journald writes (journalctl waits on inotify, it does not poll)."""
    if not missions:
        return
    owners = Owners(missions, all_known)
    reader = _Reader(owners, max(owners.since, since or 0))
    since_arg = f"--since=@{reader.since:.6f}"
    if after_cursor is not None:
        yield from reader.run([f"--after-cursor={after_cursor}", "--lines=all", *(["--follow"] if follow else [])])
        return
    if lines is not None:
        # With --since, journalctl's -n counts from the start; reversed, it takes the newest.
        newest = list(reader.run([since_arg, "--reverse", f"--lines={lines}"])) if lines else []
        yield from reversed(newest)
        if not follow:
            return
        start = [f"--after-cursor={reader.cursor}"] if newest and reader.cursor else [since_arg]
        if not newest:
            start = [f"--since=@{time.time():.6f}"]
        yield from reader.run([*start, "--lines=all", "--follow"])
        return
    yield from reader.run([since_arg, "--lines=all", *(["--follow"] if follow else [])])


def entries_before(missions: list[Mission], all_known: list[Mission], cursor: str, lines: int) -> list[Entry]:
    """The `lines` entries of `missions` just before the line at `cursor`, in time order: paging
    back through a long output reads only the page (journalctl walks back from the cursor)."""
    if not missions or lines <= 0:
        return []
    reader = _Reader(Owners(missions, all_known), 0.0)
    identifiers = [names.log_identifier(unit) for unit in reader.owners.units]
    found = [entry for record in records([f"--after-cursor={cursor}", "--reverse", f"--lines={lines}"], identifiers)
             if (entry := reader.entry(record)) is not None]
    return found[::-1]


async def follow_async(missions: list[Mission], all_known: list[Mission], after_cursor: str | None = None,
                       lines: int = 0, since: float | None = None) -> AsyncIterator[Entry]:
    """New entries of `missions` as journald writes them, after `after_cursor` (a line a client
    already has), else those since the moment `since`, else after the last `lines` lines."""
    if not missions:
        return
    owners = Owners(missions, all_known)
    reader = _Reader(owners, owners.since)
    if after_cursor is not None:
        start = [f"--after-cursor={after_cursor}", "--lines=all"]
    elif since is not None:
        start = [f"--since=@{max(since, owners.since):.6f}", "--lines=all"]
    else:  # the newest lines (those of an earlier owner of a reused name are left out)
        start = [f"--lines={lines}"]
    options, identifiers = reader.options([*start, "--follow"])
    async for record in records_async(options, identifiers):
        if (entry := reader.entry(record)) is not None:
            yield entry


def format_entry(entry: Entry, with_name: bool, name_width: int = 0) -> str:
    stamp = datetime.fromtimestamp(entry.timestamp).strftime("%Y-%m-%d %H:%M:%S")
    head = f"{stamp} {entry.name:<{name_width}} | " if with_name else f"{stamp} "
    # An agent's multi-line message is one entry: its lines continue under the first.
    return head + entry.message.replace("\n", "\n" + " " * len(head))
