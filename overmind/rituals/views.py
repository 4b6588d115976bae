"""Rituals as `overmind rituals` shows them: the timer's and service's state joined with the runs
the hooks recorded."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from overmind.mission.status import exit_reason
from overmind.rituals.model import Ritual
from overmind.store import RitualRun, Store
from overmind.systemd import manager
from overmind.systemd.manager import ACTIVE_STATES

_PROPERTIES = ("Id", "ActiveState", "UnitFileState", "ExecMainStartTimestampMonotonic")


@dataclass(frozen=True)
class RitualView:
    ritual: Ritual
    enabled: bool  # the timer is enabled and scheduling runs
    running: bool
    run_started_at: float | None  # of the run going on
    next_at: float | None
    last_trigger_at: float | None
    history: list[RitualRun]
    overdue: bool  # an elapse passed while the run going on was still going

    @property
    def runs(self) -> int:
        return sum(not event.skipped for event in self.history) + self.running

    @property
    def skipped(self) -> int:
        return sum(event.skipped for event in self.history)

    @property
    def last_run_at(self) -> float | None:
        if self.running:
            return self.run_started_at
        finished = [event for event in self.history if not event.skipped]
        return finished[-1].started_at if finished else None

    @property
    def result(self) -> str:
        if self.running:
            if self.overdue:
                return "skipped: still running" if self.ritual.overlap == "skip" else "queued: still running"
            return "running"
        finished = [event for event in self.history if not event.skipped]
        if not finished:
            return "skipped: still running" if self.history else "-"
        last = finished[-1]
        if any(event.skipped and event.exit.at >= (last.started_at or 0) for event in self.history):
            return "skipped: still running"  # the last trigger found the last run still going
        return "ok" if last.exit.service_result == "success" else exit_reason(last.exit)

    def to_json(self) -> dict[str, Any]:
        r = self.ritual
        last_exit = next((e.exit for e in reversed(self.history) if not e.skipped), None)
        return {
            "name": r.name, "enabled": self.enabled, "schedule": r.schedule.describe(),
            "calendar": r.schedule.calendar, "every_s": r.schedule.every, "persistent": r.persistent,
            "randomized_delay_s": r.randomized_delay, "overlap": r.overlap,
            "next_run_at": self.next_at, "last_run_at": self.last_run_at, "last_result": self.result,
            "last_exit_code": last_exit.code if last_exit else None, "running": self.running,
            "runs": self.runs, "skipped": self.skipped, "command": r.command, "cwd": r.cwd,
            "origin": r.origin, "created_at": r.created_at, "timer": r.timer, "service": r.service,
        }


def views(rituals: list[Ritual]) -> list[RitualView]:
    """Every ritual's state from one `systemctl show` and one `systemctl list-timers`."""
    if not rituals:
        return []
    units = [r.timer for r in rituals] + [r.service for r in rituals]
    props = {p.get("Id"): p for p in manager.show(units, _PROPERTIES)}
    timers = manager.timers([r.timer for r in rituals])
    store = Store()
    return [_view(r, props.get(r.timer, {}), props.get(r.service, {}), timers.get(r.timer, {}), store)
            for r in rituals]


def _view(ritual: Ritual, timer: dict[str, str], service: dict[str, str], listed: dict[str, Any],
          store: Store) -> RitualView:
    history = store.ritual_runs(ritual.service)
    started = run_going_on(service, history)
    running = started is not None
    last_trigger = _epoch(listed.get("last"))
    return RitualView(
        ritual=ritual,
        enabled=timer.get("UnitFileState") == "enabled" and timer.get("ActiveState") == "active",
        running=running,
        run_started_at=started if running else None,
        next_at=_epoch(listed.get("next")) if timer.get("ActiveState") == "active" else None,
        last_trigger_at=last_trigger,
        history=history,
        overdue=started is not None and _overdue(ritual, started, last_trigger),
    )


def run_going_on(service: dict[str, str], history: list[RitualRun]) -> float | None:
    """The start of the run going on, None if there is none: a start the gate is still deciding on
    has no main process yet, and a run whose end hook has recorded it is over."""
    if service.get("ActiveState") not in ACTIVE_STATES:
        return None
    started = manager.epoch_of_monotonic(service.get("ExecMainStartTimestampMonotonic", ""))
    recorded = (event.started_at for event in history[-3:] if event.started_at is not None)
    if started is None or any(abs(started - at) < 0.05 for at in recorded):
        return None
    return started


def _overdue(ritual: Ritual, started: float, last_trigger: float | None) -> bool:
    now = time.time()
    if last_trigger is not None and last_trigger > started:
        return True  # the timer fired into a run started by hand
    if ritual.schedule.every is not None:
        return now - started >= ritual.schedule.every
    from overmind.rituals.schedule import next_elapse_after

    due = next_elapse_after(ritual.schedule.calendar or "", started)
    return due is not None and due <= now


def _epoch(usec: Any) -> float | None:
    # list-timers says 0 for never, and a huge number while the timer waits for a run to end
    if not isinstance(usec, int) or usec <= 0 or usec >= 2**63:
        return None
    return usec / 1e6
