"""One change feed: what changed among missions, blueprints and rituals, as it happens.

Fed by the user manager's D-Bus signals (one connection, after `Subscribe()`) and by writes to the
state store (inotify on its directory: an exit recorded, a mission killed or collected), with no
polling loop. Each signal names a unit; the feed reads the missions behind the changed units
afresh (`overmind.control.missions.views`) and tells what is new about them. Any number of
consumers (`overmind events`, `overmind wait`, the dashboard's clients, the TUI) share one feed.

    async with Feed() as feed:
        async for change in feed.subscribe():
            print(change.to_json())
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any, NamedTuple

from overmind.control import permissions
from overmind.control.missions import UNIT_PROPERTIES, Record, View, records, units_behind, views
from overmind.store import Blueprint, Mission, Store

# Fields whose change is news; uptime, CPU and memory tick all the time and are read on demand.
_NEWS = ("status", "reason", "exit_code", "restarts", "status_text", "os_pid", "session_id", "permissions")


class Change(NamedTuple):
    """Something new about a mission, a blueprint or a ritual."""

    kind: str  # mission | blueprint | ritual | permission
    # started | changed | finished | removed (missions, blueprints); fired | changed (rituals);
    # asked | allowed | denied | withdrawn (a permission request of an agent mission)
    event: str
    id: str  # a mission's or blueprint's id (a permission request's mission); a ritual's name
    name: str
    at: float  # when the feed learned of it (epoch seconds)
    data: dict[str, Any] | None  # the new view's JSON (as `ps --json`, `rituals --json`); None once removed

    def to_json(self) -> dict[str, Any]:
        """One line of `overmind events --json` and one SSE message of the dashboard (docs/json.md)."""
        return {"version": 1, "type": self.kind, "event": self.event, "id": self.id, "name": self.name,
                "at": round(self.at, 6), self.kind: self.data}


class _Plan(NamedTuple):
    """What one batch of signals (or a store write) asks to read afresh."""

    chosen: list[Record]
    units: list[str]  # the units behind them
    removed: list[Change]  # what went from the store: news already
    rituals: bool  # whether rituals are to be read again


class _Known(NamedTuple):
    """What the feed last told about one mission or blueprint."""

    record: Record
    news: tuple[Any, ...]
    finished: bool


def _news(view: View) -> tuple[Any, ...]:
    data = view.to_json()
    extra = tuple((a["id"], a["status"]) for a in data.get("agents", []))
    return (*(data.get(key) for key in _NEWS), extra)


def _marks(record: Record) -> tuple[Any, ...]:
    """What the store says of a record that the manager does not signal."""
    if isinstance(record, Mission):
        return record.killed_at, record.stop_requested_at, record.exit_count
    return record.killed_at, record.stop_requested_at, record.applied_at


class Feed:
    """The change feed. `only` restricts it to some missions' and blueprints' ids (as `wait` does)."""

    def __init__(self, only: Iterable[str] | None = None, rituals: bool = True) -> None:
        self.only = set(only) if only is not None else None
        self.with_rituals = rituals and only is None
        self.known: dict[str, _Known] = {}
        self.marks: dict[str, tuple[Any, ...]] = {}
        self.rituals: dict[str, tuple[Any, ...]] = {}
        self.consumers: set[asyncio.Queue[Change | None]] = set()
        self.views: dict[str, View] = {}  # the latest view of every mission and blueprint shown
        self.permission_version = 0  # the last write to permission requests told
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Feed:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        from overmind.systemd.signals import UnitSignals

        # Subscribe first, then read everything: no change can fall between the two.
        self.signals = UnitSignals()
        await self.signals.connect()
        self._watch = _StoreWatch()
        await asyncio.to_thread(self._snapshot)
        self._tasks = [asyncio.create_task(self._follow_signals()),
                       asyncio.create_task(self._follow_store())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self.signals.close()
        self._watch.close()
        for queue in list(self.consumers):
            queue.put_nowait(None)

    def subscribe(self) -> AsyncIterator[Change]:
        """A new consumer: every change from now on, until the feed closes."""
        queue: asyncio.Queue[Change | None] = asyncio.Queue()
        self.consumers.add(queue)

        async def changes() -> AsyncIterator[Change]:
            try:
                while (change := await queue.get()) is not None:
                    yield change
            finally:
                self.consumers.discard(queue)

        return changes()

    def snapshot(self) -> list[View]:
        """The latest view of every mission and blueprint the feed follows."""
        return list(self.views.copy().values())  # a copy taken at once: the feed updates it from a worker thread

    # -- reading -----------------------------------------------------------------------------
    def _store_now(self) -> Store:
        # The feed's reads run in worker threads: each thread has its own connection.
        from overmind.store import shared

        return shared()

    def _followed(self, found: list[Record]) -> list[Record]:
        return [r for r in found if self.only is None or r.id in self.only]

    def _snapshot(self) -> None:
        store = self._store_now()
        known = self._followed(records(store))
        for view in views(known, store):
            record = next(r for r in known if r.id == view.id)
            self.known[view.id] = _Known(record, _news(view), view.status.finished)
            self.views[view.id] = view
        self.marks = {r.id: _marks(r) for r in known}
        self.permission_version = permissions.version(store)
        if self.with_rituals:
            self.rituals = {v.ritual.name: _ritual_news(v.to_json()) for v in _ritual_views()}

    def _plan(self, units: set[str], store_changed: bool) -> _Plan:
        """Which missions and blueprints to read afresh: those behind `units`, and after a store
        write those whose records changed, appeared or went (those gone are told at once)."""
        from overmind.names import unit_prefix
        from overmind.systemd.signals import RELOADED

        store = self._store_now()
        now = time.time()
        everything = records(store)
        blueprint_ids = {r.id for r in everything if isinstance(r, Blueprint)}
        touched = set()
        for record in everything:
            if record.unit in units or record.id not in self.known:
                touched.add(record.id)
                if record.parent in blueprint_ids:  # an agent's change is news about its blueprint
                    touched.add(record.parent)
        current = self._followed(everything)
        by_id = {r.id: r for r in current}
        removed: list[Change] = []
        if store_changed:
            marks = {r.id: _marks(r) for r in current}
            touched |= {rid for rid, mark in marks.items() if self.marks.get(rid) != mark}
            for gone in set(self.known) - set(by_id):
                old = self.known.pop(gone)
                self.views.pop(gone, None)
                removed.append(Change(_kind(old.record), "removed", gone, old.record.name, now, None))
            self.marks = marks
        chosen = [by_id[i] for i in touched if i in by_id]
        # A ritual's runs are recorded when its service stops, which the manager signals.
        ritual_units = f"{unit_prefix()}-ritual-"
        rituals = self.with_rituals and (any(u.startswith(ritual_units) for u in units) or RELOADED in units)
        return _Plan(chosen, units_behind(chosen, store) if chosen else [], removed, rituals)

    def _news_of(self, plan: _Plan, units: dict[str, dict[str, str]]) -> list[Change]:
        """What is new about the planned missions, given their units' properties."""
        now = time.time()
        changes = list(plan.removed)
        by_id = {r.id: r for r in plan.chosen}
        for view in views(plan.chosen, self._store_now(), units) if plan.chosen else []:
            changes.extend(self._compare(view, by_id[view.id], now))
        if plan.rituals:
            changes.extend(self._ritual_changes(now))
        return changes

    def _compare(self, view: View, record: Record, now: float) -> list[Change]:
        news, finished = _news(view), view.status.finished
        old = self.known.get(view.id)
        self.known[view.id] = _Known(record, news, finished)
        self.views[view.id] = view
        if old is None:
            event = "finished" if finished else "started"
        elif finished and not old.finished:
            event = "finished"
        elif not finished and old.finished:
            event = "started"  # restarted, or a finished blueprint applied again
        elif news != old.news:
            event = "changed"
        else:
            return []
        return [Change(view.kind, event, view.id, view.name, now, view.to_json())]

    def _ritual_changes(self, now: float) -> list[Change]:
        changes = []
        current = {v.ritual.name: v.to_json() for v in _ritual_views()}
        for name, data in current.items():
            news = _ritual_news(data)
            old = self.rituals.get(name)
            if old == news:
                continue
            fired = old is not None and (data["runs"] > old[0] or (data["running"] and not old[1]))
            changes.append(Change("ritual", "fired" if fired else "changed", name, name, now, data))
            self.rituals[name] = news
        for name in set(self.rituals) - set(current):
            del self.rituals[name]
            changes.append(Change("ritual", "removed", name, name, now, None))
        return changes

    # -- following ---------------------------------------------------------------------------
    async def _follow_signals(self) -> None:
        from overmind.names import unit_prefix
        from overmind.systemd.signals import RELOADED

        ours = (unit_prefix() + "@", unit_prefix() + "-")  # missions; rituals, blueprints' slices
        async for units in self.signals.batches():
            # Other users of the manager (other prefixes, the system's own units) are no news here.
            mine = {u for u in units if u.startswith(ours) or u == RELOADED}
            if mine:
                await self._publish(mine, store_changed=False)

    async def _follow_store(self) -> None:
        async for _ in self._watch.writes():
            await self._publish(set(), store_changed=True)

    async def _publish(self, units: set[str], store_changed: bool) -> None:
        """Read and tell what changed; a failed read (the manager busy, a store being migrated)
        is said on stderr and the feed goes on: the next signal reads afresh."""
        try:
            await self._read_and_tell(units, store_changed)
        except Exception as error:  # noqa: BLE001 - a long-lived feed must outlive one failed read
            print(f"overmind: the change feed could not read a change: {type(error).__name__}: {error}",
                  file=sys.stderr)

    async def _read_and_tell(self, units: set[str], store_changed: bool) -> None:
        plan = await asyncio.to_thread(self._plan, units, store_changed)
        # Read over the feed's own D-Bus connection: a round trip, where systemctl would be a process.
        props = await self.signals.read_units(plan.units, UNIT_PROPERTIES) if plan.units else {}
        news = await asyncio.to_thread(self._news_of, plan, props)
        if store_changed:  # an agent asked a person, or was answered: the wrapper wrote the store
            news += await asyncio.to_thread(self._permission_changes)
        for change in news:
            for queue in self.consumers:
                queue.put_nowait(change)

    def _permission_changes(self) -> list[Change]:
        found, self.permission_version = permissions.since(self.permission_version, self._store_now())
        now = time.time()
        return [Change("permission", request.event, request.record.mission_id, request.name, now, request.to_json())
                for request in found if self.only is None or request.record.mission_id in self.only]


def _kind(record: Record) -> str:
    return "blueprint" if isinstance(record, Blueprint) else "mission"


def _ritual_views() -> list[Any]:
    from overmind.control.rituals import listing

    return listing()


def _ritual_news(data: dict[str, Any]) -> tuple[Any, ...]:
    return data["runs"], data["running"], data["enabled"], data["last_result"], data["next_run_at"]


class _StoreWatch:
    """Wakes when the state store (or the per-run records beside it) is written: inotify on the
    state directory, read from the event loop, so nothing polls."""

    def __init__(self) -> None:
        from overmind.store import state_dir
        from overmind.store.runs import runs_dir
        from overmind.store.watch import Inotify

        self.inotify = Inotify(state_dir(), also=(runs_dir(state_dir()),))
        self._woken = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.inotify.fd, self._on_readable)

    def _on_readable(self) -> None:
        if self.inotify.drain():
            self._woken.set()

    async def writes(self) -> AsyncIterator[None]:
        while True:
            await self._woken.wait()
            self._woken.clear()
            yield None

    def close(self) -> None:
        try:
            asyncio.get_running_loop().remove_reader(self.inotify.fd)
        except RuntimeError:
            pass
        self.inotify.close()


async def changes(only: Iterable[str] | None = None) -> AsyncIterator[Change]:
    """A feed of one's own: every change until the caller stops iterating."""
    async with Feed(only) as feed:
        async for change in feed.subscribe():
            yield change
