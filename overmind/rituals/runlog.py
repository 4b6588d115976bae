"""A ritual's output from the journal, run by run.

All runs of a ritual share one unit and so one SYSLOG_IDENTIFIER; a line belongs to the latest run
that had started by the line's time. Runs are known from the store (each recorded by the end
hook with its start) plus the run going on, read from systemd.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from overmind.mission.status import exit_reason
from overmind.names import log_identifier
from overmind.rituals.model import Ritual
from overmind.rituals.views import run_going_on
from overmind.store import Exit, Store
from overmind.systemd import journal, manager


@dataclass(frozen=True)
class Run:
    number: int
    started_at: float
    exit: Exit | None  # None while it is going

    def header(self) -> str:
        stamp = datetime.fromtimestamp(self.started_at).strftime("%Y-%m-%d %H:%M:%S")
        if self.exit is None:
            outcome = "running"
        else:
            result = "ok" if self.exit.service_result == "success" else exit_reason(self.exit)
            outcome = f"{result} after {self.exit.at - self.started_at:.1f}s"
        return f"=== run {self.number} · {stamp} · {outcome} ==="


@dataclass(frozen=True)
class Line:
    timestamp: float
    run: Run | None  # None for lines older than the first known run
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"time": datetime.fromtimestamp(self.timestamp).astimezone().isoformat(timespec="milliseconds"),
                "run": self.run.number if self.run else None, "message": self.message}


class Runs:
    """The ritual's runs in order, refreshed when a line comes from a run not seen yet."""

    def __init__(self, ritual: Ritual) -> None:
        self.ritual = ritual
        self.runs: list[Run] = []
        self.refresh()

    def refresh(self) -> None:
        history = Store().ritual_runs(self.ritual.service)
        finished = [event for event in history if not event.skipped and event.started_at]
        runs = [Run(n, event.started_at or 0.0, event.exit) for n, event in enumerate(finished, start=1)]
        props = manager.show([self.ritual.service], ["ActiveState", "ExecMainStartTimestampMonotonic"])
        started = run_going_on(props[0], history) if props else None
        if started is not None:
            runs.append(Run(len(runs) + 1, started, None))
        self.runs = runs
        self.checked_at = time.time()
        self.run_closed = False

    def at(self, timestamp: float) -> Run | None:
        index = bisect.bisect_right([r.started_at for r in self.runs], timestamp) - 1
        return self.runs[index] if index >= 0 else None

    def is_stale_for(self, timestamp: float) -> bool:
        """Whether a new run may have begun by this line: none was going at the last look, or the
        hooks' closing `--- ... ---` line has been seen since."""
        last = self.runs[-1] if self.runs else None
        return timestamp > self.checked_at and (last is None or last.exit is not None or self.run_closed)

    def saw(self, message: str) -> None:
        self.run_closed = self.run_closed or message.startswith("--- ")


def lines(ritual: Ritual, last_runs: int | None = None, follow: bool = False) -> Iterator[Line]:
    runs = Runs(ritual)
    since = ritual.created_at
    if last_runs is not None:
        if last_runs == 0:
            return
        if len(runs.runs) >= last_runs:
            since = runs.runs[-last_runs].started_at
    options = [f"--since=@{since:.6f}", "--lines=all", *(["--follow"] if follow else [])]
    for record in journal.records(options, [log_identifier(ritual.service)]):
        at, message = journal.timestamp(record), journal.message(record)
        if follow and runs.is_stale_for(at):
            runs.refresh()
        runs.saw(message)
        yield Line(at, runs.at(at), message)


def format_lines(source: Iterator[Line]) -> Iterator[str]:
    """Human output: a header before each run's lines."""
    current: Run | None = None
    for line in source:
        if line.run is not None and (current is None or line.run.number != current.number):
            current = line.run
            yield current.header()
        stamp = datetime.fromtimestamp(line.timestamp).strftime("%Y-%m-%d %H:%M:%S")
        yield f"{stamp} {line.message}"
