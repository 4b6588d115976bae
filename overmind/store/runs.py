"""The run records units write (`overmind/hooks/run.sh`), read into the store when a command looks.

Every mission's hooks append lines to one file, `<state dir>/runs/log`:

    start <mission> <uptime> <boot id> <invocation>
    pid   <mission> <invocation> <pid>
    exit  <mission> <uptime> <boot id> <invocation> <service result> <exit code> <exit status> <oom 0|1>

(the hooks read the kernel's uptime themselves rather than start `date`; it becomes a date here)

so knowing whether anything ended since the last look is one stat(). New lines are read from the
offset the store remembers, in one transaction with the rows they become: two readers never both
take a line, and a reader killed halfway takes nothing. A run's start waits in `runs_going` for
its end. Once the file has grown past ROTATE_AT and is all read, it is renamed `log.old` (a hook
that opened it just before still appends there, and is read next time) and a new one begins.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from overmind.store.records import Exit

if TYPE_CHECKING:
    from overmind.store import Store

LOG = "log"
OLD = "log.old"
ROTATE_AT = 1 << 20  # bytes
SETTLED = 60.0  # seconds after which no hook can still be appending to a renamed file


def runs_dir(state: Path) -> Path:
    return state / "runs"


class _Line:
    """One record line, split; `problem` says why it cannot be used."""

    def __init__(self, text: str) -> None:
        self.words = text.split(" ")
        self.problem = None if len(self.words) >= 2 else "too short"
        self.kind = self.words[0]
        self.mission = self.words[1] if len(self.words) > 1 else ""


def read(store: Store, state: Path) -> None:
    """Take every new line of the run log into the store."""
    directory = runs_dir(state)
    sizes = {}
    for name in (LOG, OLD):
        try:
            sizes[name] = os.stat(directory / name).st_size
        except FileNotFoundError:
            continue
    if store.full:
        return  # nothing can be written: reads go on without the newest records, taken once there is room
    offsets = store.run_log_offsets()
    if not any(size > offsets.get(name, 0) for name, size in sizes.items()) and not _rotation_due(sizes, offsets):
        return
    try:
        with store.transaction():
            offsets = store.run_log_offsets()  # again, under the write lock: another reader may have been first
            for name in (OLD, LOG):
                if name in sizes and sizes[name] > offsets.get(name, 0):
                    offsets[name] = _take(store, directory / name, offsets.get(name, 0))
            _rotate(store, directory, offsets)
    except sqlite3.OperationalError:
        from overmind.store import space

        if space.full(state) is None:
            raise  # not a full file system: a real failure


def _take(store: Store, path: Path, offset: int) -> int:
    """Read the complete lines after `offset` into the store; return the new offset."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1  # a line still being written is left for next time
    known = store.mission_ids()
    clock = _Clock(path)
    for raw in data[:end].splitlines():
        raw = _whole(raw)
        line = _Line(raw.decode("utf-8", errors="replace"))
        if line.mission not in known:
            continue  # a mission forgotten (gc, a blueprint's replaced agent) while its last run ended
        try:
            _apply(store, line, clock)
        except (ValueError, IndexError) as error:
            print(f"overmind: warning: ignored a damaged run record in {path}: {raw[:120]!r} ({error})",
                  file=sys.stderr)
    store.set_run_log_offset(path.name, offset + end)
    return offset + end


_RECORD = re.compile(rb"(?:start|pid|exit) [0-9a-f]{8} ")


def _whole(raw: bytes) -> bytes:
    """A hook that could write only part of its line (a full disk) left it without a newline, and
    the next hook's line was appended to it: keep that whole one."""
    starts = [match.start() for match in _RECORD.finditer(raw)]
    return raw[starts[-1]:] if starts and starts[-1] > 0 else raw


def _apply(store: Store, line: _Line, clock: _Clock) -> None:
    words = line.words
    if line.problem:
        raise ValueError(line.problem)
    if line.kind == "start":
        store.run_started(line.mission, words[4], clock.epoch(words[2], words[3]))
    elif line.kind == "pid":
        store.run_pid(line.mission, words[2], int(words[3]) if words[3].isdigit() else None)
    elif line.kind == "exit":
        started, pid = store.run_going(line.mission, words[4])
        store.record_exit(line.mission, Exit(clock.epoch(words[2], words[3]), _field(words[5]), _field(words[6]),
                                             _field(words[7]), words[8] == "1", started, pid, _field(words[4])))
    else:
        raise ValueError(f"unknown record {line.kind!r}")


class _Clock:
    """Uptimes of this boot as dates. A line from an earlier boot (the machine restarted before any
    overmind read it) gets the time its file was last written: the closest the log can tell."""

    def __init__(self, path: Path) -> None:
        self.boot = _boot_id()
        self.offset = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        self.path = path

    def epoch(self, uptime: str, boot: str) -> float:
        if boot == self.boot:
            return self.offset + float(uptime)
        float(uptime)  # a malformed line is still refused
        return self.path.stat().st_mtime


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def _field(word: str) -> str:
    return "" if word == "-" else word


def _rotation_due(sizes: dict[str, int], offsets: dict[str, int]) -> bool:
    log_done = LOG in sizes and sizes[LOG] >= ROTATE_AT and offsets.get(LOG, 0) >= sizes[LOG]
    return log_done or (OLD in sizes and offsets.get(OLD, 0) >= sizes[OLD])


def _rotate(store: Store, directory: Path, offsets: dict[str, int]) -> None:
    old, log = directory / OLD, directory / LOG
    if old.exists() and offsets.get(OLD, 0) >= old.stat().st_size and time.time() - old.stat().st_mtime > SETTLED:
        old.unlink()
        store.set_run_log_offset(OLD, 0)
    size = log.stat().st_size if log.exists() else 0
    if not old.exists() and size >= ROTATE_AT and offsets.get(LOG, 0) >= size:
        log.rename(old)
        store.set_run_log_offset(OLD, offsets.get(LOG, 0))
        store.set_run_log_offset(LOG, 0)


def stop_requested(state: Path, mission_ids: list[str]) -> None:
    """Tell the missions' run hooks that a stop was asked for: a run killed when the stop's grace
    period ran out ends with systemd's `timeout`, as one that reached its runtime limit does. The
    hook empties the file when the next run starts (a shell truncates a file without a fork)."""
    directory = runs_dir(state)
    directory.mkdir(parents=True, exist_ok=True)
    for mission_id in mission_ids:
        (directory / f"{mission_id}.stop").write_text("stop\n")


def forget(state: Path, mission_id: str) -> None:
    """A collected mission's files go (its lines in the log were read long ago)."""
    for suffix in ("ended", "stop", "boots", "manager", "done", "failed", "consulted"):
        (runs_dir(state) / f"{mission_id}.{suffix}").unlink(missing_ok=True)
