"""From the change feed to notices: which changes need a person, once each, and when to tell.

The change feed tells each mission's transitions once, numbered alike by every feed (`seq`), so a
transition's key (`mission:<id>:<seq>`) is claimed in the outbox once, across restarts of the
service: one notice per transition, never two. Two kinds of notice wait before they go:

- a crash that systemd restarts opens a crash loop; further crashes fold into it; it goes out
  as one notice when the breaker trips ("crashed 5 times in 40 s, breaker tripped"), when a person
  ends the mission, or once the mission has run a whole restart window without crashing;
- a session waiting for a message is told once it has waited SETTLE_S (a prompt given at its start
  ends the first wait at once).

After a (re)start the service catches up from the feed's first look: what ended since it last
listened is told, under the same keys (nothing twice); the first start ever only takes note.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from overmind.control import notify_events as words
from overmind.control.attention import WAITING
from overmind.control.notify_outbox import Notice, Outbox
from overmind.control.states import ENDS

if TYPE_CHECKING:
    from overmind.control.feed import Change
    from overmind.control.missions import View

SETTLE_S = 2.0
_ALIVE = "alive_at"  # meta key: when the service last took in a change (a restart catches up from there)
_MARGIN_S = 2.0


class Facts(Protocol):
    """What the feed's JSON does not say, read from the store when needed."""

    def crash(self, mission_id: str) -> str | None:
        """The reason the mission's last run crashed; None if it ended cleanly."""

    def window(self, mission_id: str) -> float:
        """How long a crash loop of this mission stays open after its last crash."""

    def turn(self, mission_id: str) -> int:
        """Which turn a session is at (the number of its last result, 0 before one)."""


class Watcher:
    def __init__(self, outbox: Outbox, facts: Facts, clock: Callable[[], float] = time.time) -> None:
        self.outbox, self.facts, self.clock = outbox, facts, clock

    # -- live ------------------------------------------------------------------------------------
    def change(self, change: Change) -> None:
        with self.outbox.atomic():
            self._change(change)

    def _change(self, change: Change) -> None:
        if change.kind == "mission":
            self._mission(change)
        elif change.kind == "permission" and change.event == "asked" and change.data:
            self._asked(change.id, change.name, change.data, change.at)
        elif change.kind == "blueprint" and change.event == "finished" and change.data:
            if change.data.get("status") == "failed":
                self._tell(words.blueprint_failed(change.data, change.at))
        elif change.kind == "ritual" and change.data and words.ritual_failing(change.data):
            self._tell(words.ritual_failed(change.data, change.at))

    def alive(self, at: float) -> None:
        self.outbox.put(_ALIVE, repr(at))

    def _mission(self, change: Change) -> None:
        data = change.data
        if data is None:  # removed: nothing held about it is wanted any more
            for held in self.outbox.held(change.id, "waiting:"):
                self.outbox.drop(held)
            return
        self._waiting(data, change.seq, change.at)
        for request in data.get("permissions") or []:
            self._asked(change.id, change.name, request, change.at)
        if change.state == change.previous or change.seq is None or change.state is None:
            return
        if change.state == "restarting" and change.previous in ("starting", "running", "stopping"):
            reason = self.facts.crash(change.id)  # systemd restarts it by itself: a crash, or a clean exit
            if reason is not None and self.outbox.claim(f"mission:{change.id}:{change.seq}", change.id, change.at):
                fold = self._fold(change.id)
                notice = words.crash_loop(data, change.seq, change.at, reason, fold)
                due = change.at + self.facts.window(change.id)
                if fold is None:
                    self.outbox.hold(notice, due)
                else:
                    self.outbox.update(notice, due)
            return
        if change.state in ENDS and self.outbox.claim(f"mission:{change.id}:{change.seq}", change.id, change.at):
            self._ended(data, change.state, change.seq, change.at, change.previous)

    def _ended(self, data: dict[str, Any], state: str, seq: int, at: float, previous: str | None = None) -> None:
        fold = self._fold(data["id"])
        now = self.clock()
        if state in ("crashed", "failed"):
            notice = words.ended(data, state, seq, at, fold, previous or "restarting")
            if fold is None:
                self.outbox.hold(notice, now)
            else:
                self.outbox.update(notice, now)
            return
        if fold is not None:
            self.outbox.update(words.stopped_after(fold, data, state), now)
        if state == "finished":
            self.outbox.hold(words.finished(data, seq, at), now)

    def _fold(self, mission_id: str) -> Notice | None:
        held = self.outbox.held(mission_id, "fold:")
        return held[-1] if held else None

    def _waiting(self, data: dict[str, Any], seq: int | None, at: float) -> None:
        held = self.outbox.held(data["id"], "waiting:")
        if not waits(data):
            for notice in held:  # it went on before it had waited long: no notice
                self.outbox.drop(notice)
            return
        if held:
            return
        notice = words.waiting(data, seq, self.facts.turn(data["id"]), at)
        if self.outbox.claim(notice.key, notice.subject, at):
            self.outbox.hold(notice, at + SETTLE_S)

    def _asked(self, mission_id: str, name: str, request: dict[str, Any], at: float) -> None:
        if request.get("state", "pending") == "pending":
            self._tell(words.permission(mission_id, name, request, at))

    def _tell(self, notice: Notice) -> None:
        if self.outbox.claim(notice.key, notice.subject, notice.at):
            self.outbox.hold(notice, self.clock())

    # -- after a (re)start -------------------------------------------------------------------------
    def catch_up(self, views: Iterable[View], states: dict[str, tuple[str, int]],
                 rituals: Iterable[dict[str, Any]]) -> None:
        """Tell what needs a person and happened since the service last listened (the feed's
        first look); the first start ever only claims what is there, so old news stays old."""
        with self.outbox.atomic():
            self._catch_up(views, states, rituals)

    def _catch_up(self, views: Iterable[View], states: dict[str, tuple[str, int]],
                  rituals: Iterable[dict[str, Any]]) -> None:
        alive = self.outbox.get(_ALIVE)
        since = float(alive) - _MARGIN_S if alive is not None else None
        now = self.clock()
        for view in views:
            data = view.to_json()
            if view.kind == "blueprint":
                if data.get("status") == "failed":
                    self._catch(words.blueprint_failed(data, now), since, data.get("finished_at"))
                continue
            state, seq = states.get(view.id, (None, None))
            if state in ENDS and seq is not None:
                key = f"mission:{view.id}:{seq}"
                if since is None:
                    self.outbox.claim(key, view.id, now)
                elif (data.get("finished_at") or now) >= since and self.outbox.claim(key, view.id, now):
                    self._ended(data, state, seq, now)
                continue
            for request in data.get("permissions") or []:
                self._catch(words.permission(view.id, view.name, request, now), since, now)
            if since is None and waits(data):
                self.outbox.claim(words.waiting(data, seq, self.facts.turn(view.id), now).key, view.id, now)
            else:
                self._waiting(data, seq, now)
        for ritual in rituals:
            if words.ritual_failing(ritual):
                self._catch(words.ritual_failed(ritual, now), since, ritual.get("last_run_at"))
        self.alive(now)

    def _catch(self, notice: Notice, since: float | None, happened_at: float | None) -> None:
        if since is None:
            self.outbox.claim(notice.key, notice.subject, notice.at)
        elif (happened_at or notice.at) >= since:
            self._tell(notice)


def waits(data: dict[str, Any]) -> bool:
    """A session waiting for a message (`ps --json`'s row)."""
    return data.get("type") == "session" and data.get("status") == "running" and \
        str(data.get("status_text") or "").startswith(WAITING)


class StoreFacts:
    """Facts read from the state store (this thread's connection)."""

    def crash(self, mission_id: str) -> str | None:
        from overmind.mission.status import exit_reason
        from overmind.store import shared

        mission = shared().get(mission_id)
        if mission is None:
            return None
        last = mission.last_exit
        failed = last is not None and last.service_result != "success"
        if mission.spec.get("restart", {}).get("policy") == "on-failure":
            return exit_reason(last) if failed and last is not None else ""  # it restarts only what failed
        return exit_reason(last) if failed and last is not None else None  # `always` restarts a clean exit too

    def window(self, mission_id: str) -> float:
        """The mission's breaker window (--max-seconds, 60 s with --max-restarts, systemd's own
        10 s otherwise); with a growing backoff, twice its longest delay."""
        from overmind.mission.units import DEFAULT_BACKOFF_MAX, DEFAULT_RESTART_WINDOW
        from overmind.store import shared

        mission = shared().get(mission_id)
        restart = mission.spec.get("restart", {}) if mission is not None else {}
        if restart.get("max_restarts") is not None:
            return float(restart.get("max_seconds") or DEFAULT_RESTART_WINDOW)
        if restart.get("backoff") is not None:
            return 2 * max(float(restart.get("backoff_max") or DEFAULT_BACKOFF_MAX), float(restart["backoff"]))
        return 10.0

    def turn(self, mission_id: str) -> int:
        from overmind.store import shared

        last = shared().last_event(mission_id, "result")
        return last.seq if last is not None else 0
