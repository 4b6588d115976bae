"""One change feed: what changed among missions, blueprints and rituals, as it happens.

Fed by the user manager's D-Bus signals (one connection, after `Subscribe()`) and by writes to the
state store (inotify on its directory: a mission created, marked, collected), with no polling
loop. Each mission has a state machine (`overmind.control.states`) that takes its unit's
announcements in the order systemd sent them (the values each signal carries: no unit is read
back), so every transition is told once, in order, numbered (`seq`) alike by every feed. Views
(`overmind.control.missions.views`) are built only for what is told. Any number of consumers
(`overmind events`, `overmind wait`, the dashboard's clients, the TUI) share one feed.

    async with Feed() as feed:
        async for change in feed.subscribe():
            print(change.to_json())
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from overmind.control import permissions
from overmind.control.feed_missions import Followed, MissionBook
from overmind.control.feed_restarts import settle_restarts
from overmind.control.missions import UNIT_PROPERTIES, View
from overmind.control.states import ENDS
from overmind.store import Store

if TYPE_CHECKING:
    from overmind.systemd.signals import Announcement

ANNOUNCED = (*UNIT_PROPERTIES, "InvocationID")  # kept from announcements (and a starting feed's readings)


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
    seq: int | None = None  # a mission's transition number (see states.py); None for blueprints and rituals
    previous: str | None = None  # a mission's state before this change (None: first told)
    state: str | None = None  # a mission's state after it

    def to_json(self) -> dict[str, Any]:
        """One line of `overmind events --json` and one SSE message of the dashboard (docs/json.md)."""
        return {"version": 1, "type": self.kind, "event": self.event, "id": self.id, "name": self.name,
                "at": round(self.at, 6), "seq": self.seq, "previous": self.previous, "state": self.state,
                self.kind: self.data}


class _Work:
    """What came since the feed last looked: the units signals named, whether the store was written
    (the announcements themselves wait in UnitSignals)."""

    def __init__(self) -> None:
        self.units: set[str] = set()
        self.store = False
        self.ready = asyncio.Event()

    def add(self, units: Iterable[str] = (), store: bool = False) -> None:
        self.units.update(units)
        self.store = self.store or store
        self.ready.set()

    def take(self) -> tuple[set[str], bool]:
        taken = self.units, self.store
        self.units, self.store = set(), False
        self.ready.clear()
        return taken


class Feed:
    """The change feed. `only` restricts it to some missions' and blueprints' ids (as `wait` does)."""

    def __init__(self, only: Iterable[str] | None = None, rituals: bool = True) -> None:
        self.only = set(only) if only is not None else None
        self.with_rituals = rituals and only is None
        self.book = MissionBook(self.only)
        self.rituals: dict[str, tuple[Any, ...]] = {}
        self.consumers: set[asyncio.Queue[Change | None]] = set()
        # What it cost: units read over D-Bus, views built, batches of work taken.
        self.counters = {"unit_reads": 0, "views": 0, "batches": 0}
        self.permission_version = 0  # the last write to permission requests told
        self._work = _Work()
        self._tasks: list[asyncio.Task[None]] = []
        self._watch: _StoreWatch | None = None

    @property
    def views(self) -> dict[str, View]:
        """The latest view of every mission and blueprint followed, by id."""
        return self.book.views

    async def __aenter__(self) -> Feed:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        from overmind.names import unit_prefix
        from overmind.systemd.signals import UnitSignals

        mission_units = unit_prefix() + "@"
        # Subscribe first, then read everything: no change can fall between the two.
        self.signals = UnitSignals(announce=ANNOUNCED, accept=lambda unit: unit.startswith(mission_units))
        await self.signals.connect()
        self._watch = _StoreWatch()
        await self._snapshot()
        self._tasks = [asyncio.create_task(self._follow_signals()), asyncio.create_task(self._follow_store()),
                       asyncio.create_task(self._process())]

    async def close(self) -> None:
        """Stop following; also while `start` is still under way (a front end quit at once)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        if hasattr(self, "signals"):  # set as start begins
            self.signals.close()
        if self._watch is not None:
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

    def states(self) -> dict[str, tuple[str, int]]:
        """Each followed mission's state and its seq, as the feed last told them."""
        return self.book.states()

    # -- reading -----------------------------------------------------------------------------
    def _store_now(self) -> Store:
        # The feed's reads run in worker threads: each thread has its own connection.
        from overmind.store import shared

        return shared()

    async def _snapshot(self) -> None:
        """Every mission's state now, and its view: the mission units the manager has loaded (one
        listing), the properties of those that run (one read each), the store. Announcements sent
        before these readings are older than them: dropped."""
        from overmind.names import unit_pattern

        followed, restarted = await asyncio.to_thread(lambda: self.book.look_ahead(self._store_now()))
        patterns = sorted(followed) if self.only else [unit_pattern()]
        listed_at = time.time()  # before: a run that ended while the manager answered counts as later
        serial, listed = await self.signals.list_states(patterns) if patterns else (0, {})
        self.signals.forget(serial)
        # Read: units that run (their invocation), failed ones that systemd restarts (their Result).
        going = [unit for unit, props in listed.items() if props["ActiveState"] not in ("inactive", "failed")
                 or (props["ActiveState"] == "failed" and unit in restarted)]
        for unit, (read_at, props) in (await self.signals.read_states(going, ANNOUNCED)).items():
            self.signals.forget(read_at, unit)
            listed[unit] |= props
        self.counters["unit_reads"] += len(going)
        # The store is read after the manager: what it says of runs that ended since is not counted.
        await asyncio.to_thread(self._take_snapshot, listed, listed_at)

    def _take_snapshot(self, units: dict[str, dict[str, str]], listed_at: float) -> None:
        store = self._store_now()
        # before the views: a request asked while they are read is told, never lost
        self.permission_version = permissions.version(store)
        self.counters["views"] += self.book.start(store, units, listed_at)
        if self.with_rituals:
            self.rituals = {v.ritual.name: _ritual_news(v.to_json()) for v in _ritual_views()}

    def _advance(self, units: set[str], announced: dict[str, list[Announcement]], store_changed: bool
                 ) -> list[Change]:
        """What the announcements and store writes since the last look make new (a worker thread)."""
        from overmind.names import unit_prefix
        from overmind.systemd.signals import RELOADED

        store, now = self._store_now(), time.time()
        # An agent asked a person, or was answered (the wrapper, or a person while none listens,
        # wrote the store): told, and its mission's view with them.
        asked = self._permission_changes(store, now) if store_changed else []
        told = self.book.advance(store, announced, store_changed, {c.id for c in asked})
        self.counters["views"] += told.views_built
        changes = [self._change(f, transition, view, now) for f, transition, view in told.missions]
        changes += [Change(kind, event, ident, name, now, data) for kind, event, ident, name, data in told.others]
        changes += asked
        ritual_units = f"{unit_prefix()}-ritual-"
        if self.with_rituals and any(u.startswith(ritual_units) or u == RELOADED for u in units):
            # A ritual's runs are recorded when its service stops, which the manager signals.
            changes += self._ritual_changes(now)
        return changes

    @staticmethod
    def _change(followed: Followed, transition: Any, view: View, now: float) -> Change:
        """A mission's change: a transition of its machine, or news within its state (transition None)."""
        machine = followed.machine
        if transition is None:
            return Change("mission", "changed", view.id, view.name, now, view.to_json(), machine.seq,
                          machine.state, machine.state)
        if transition.previous is None:
            event = "started"
        elif transition.state in ENDS:
            event = "finished"
        elif transition.previous in ENDS:
            event = "started"  # systemd really started it again
        else:
            event = "changed"
        return Change("mission", event, view.id, view.name, now, view.to_json(), transition.seq,
                      transition.previous, transition.state)

    def _permission_changes(self, store: Store, now: float) -> list[Change]:
        found, self.permission_version = permissions.since(self.permission_version, store)
        return [Change("permission", request.event, request.record.mission_id, request.name, now, request.to_json())
                for request in found if self.book.told(request.record.mission_id)]

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
                self._work.add(mine)

    async def _follow_store(self) -> None:
        assert self._watch is not None  # started after it
        async for _ in self._watch.writes():
            self._work.add(store=True)

    async def _process(self) -> None:
        """One batch at a time: whatever came while the last one was read is the next batch."""
        while True:
            await self._work.ready.wait()
            units, store_changed = self._work.take()
            announced = self.signals.take_announced()  # here, on the loop that adds to them
            self.counters["batches"] += 1
            try:
                await settle_restarts(announced, self.book, self.signals, self.only is None, self.counters)
                changes = await asyncio.to_thread(self._advance, units, announced, store_changed)
            except Exception as error:  # noqa: BLE001 - a long-lived feed must outlive one failed read
                # (the manager busy, a store being migrated): said, and the next batch reads afresh
                print(f"overmind: the change feed could not read a change: {type(error).__name__}: {error}",
                      file=sys.stderr)
                continue
            for change in changes:
                for queue in self.consumers:
                    queue.put_nowait(change)


def _ritual_views() -> list[Any]:
    from overmind.control.rituals import listing

    return listing()


def _ritual_news(data: dict[str, Any]) -> tuple[Any, ...]:
    return data["runs"], data["running"], data["enabled"], data["last_result"], data["next_run_at"]


class _StoreWatch:
    """Wakes when the state store is written: inotify on the state directory, read from the event
    loop, so nothing polls. (The run log beside it is not watched: every run's start and end is
    announced by systemd, after its hook wrote it.)"""

    def __init__(self) -> None:
        from overmind.store import state_dir
        from overmind.store.watch import Inotify

        self.inotify = Inotify(state_dir())
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


