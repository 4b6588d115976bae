"""The user manager's D-Bus signals: which units changed, as they change, without polling.

dbus-fast is imported here only: it costs ~100 ms to import, which the CLI's quick commands
never pay. After `Subscribe()` the manager announces `UnitNew`, `UnitRemoved`, `JobNew`,
`JobRemoved` and every unit's `PropertiesChanged`; each only says *which* unit changed. Callers
then look at the unit afresh, so the signals' payloads (and their quirks: each start emits
`inactive` first, a collected unit reads back `not-found`) never decide anything on their own.

A holder that follows units' states step by step (the change feed) also asks for their
announcements: the values each `PropertiesChanged` carried, in the order the manager sent them.
The manager sends a unit's type interface (Service) first, then its Unit interface (the state);
the two make one announcement.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from overmind.errors import OvermindError
from overmind.systemd.manager import user_env
from overmind.systemd.objects import MANAGER_PATH, unit_object_path, unit_of_path
from overmind.trace import traced_async

if TYPE_CHECKING:
    from dbus_fast import Message
    from dbus_fast.aio import MessageBus

T = TypeVar("T")
SYSTEMD = "org.freedesktop.systemd1"
RELOADED = "*reloaded*"  # stands for "the manager reloaded its unit files" in a batch of changed units
_UNIT_INTERFACE = f"{SYSTEMD}.Unit"


class Announcement(NamedTuple):
    """What one signal said of a unit's properties (as systemctl shows them)."""

    serial: int  # the manager's message serial: its signals and replies share one sequence
    at: float  # when it came (epoch seconds)
    props: dict[str, str]


class UnitSignals:
    """One connection to the user bus, subscribed to the manager: `batches()` yields the set of
    units that changed since the last batch (several signals about one unit come as one).
    With `units`, only signals about those units (and the manager's own) are delivered at all.
    With `announce`, the values of those properties are kept, announcement by announcement, for
    the units `accept` takes (`take_announced()`)."""

    def __init__(self, units: Iterable[str] | None = None, announce: Iterable[str] = (),
                 accept: Callable[[str], bool] = lambda unit: True) -> None:
        self.units = list(units) if units is not None else None
        self.bus: MessageBus | None = None
        self._pending: set[str] = set()
        self._changed = asyncio.Event()
        self.received_at = 0.0  # wall-clock time of the last signal, for latency reports
        self.announce = frozenset(announce)
        self.accept = accept
        self._announced: dict[str, list[Announcement]] = {}
        self._typed: dict[str, dict[str, str]] = {}  # a type interface's values, until its unit's state comes
        self.reads = 0  # units read over this connection

    async def __aenter__(self) -> UnitSignals:
        await self.connect()
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()

    @traced_async("dbus Subscribe")
    async def connect(self) -> None:
        from dbus_fast import BusType, Message
        from dbus_fast.aio import MessageBus

        address = user_env()["DBUS_SESSION_BUS_ADDRESS"]
        try:
            self.bus = await MessageBus(bus_address=address, bus_type=BusType.SESSION).connect()
        except (OSError, EOFError) as error:
            raise OvermindError(f"cannot reach the user's D-Bus ({type(error).__name__}: {error})",
                                hint="run 'overmind host up' or check 'systemctl --user status dbus'") from None
        self.bus.add_message_handler(self._on_message)
        if self.units is None:
            rules = [f"type='signal',sender='{SYSTEMD}'"]
        else:
            rules = [f"type='signal',sender='{SYSTEMD}',path='{unit_object_path(u)}'" for u in self.units]
            rules += [f"type='signal',sender='{SYSTEMD}',path='{MANAGER_PATH}',member='{member}'"
                      for member in ("UnitRemoved", "JobRemoved", "UnitNew")]
        for rule in rules:
            await self.bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                                        interface="org.freedesktop.DBus", member="AddMatch", signature="s",
                                        body=[rule]))
        # Without a subscriber the manager does not emit unit signals at all.
        await self.bus.call(Message(destination=SYSTEMD, path=MANAGER_PATH, interface=f"{SYSTEMD}.Manager",
                                    member="Subscribe"))

    async def read_units(self, units: list[str], properties: tuple[str, ...]) -> dict[str, dict[str, str]]:
        """These units' properties over this connection (see systemd/properties.py)."""
        return {unit: props for unit, (_, props) in (await self.read_states(units, properties)).items()}

    async def read_states(self, units: list[str], properties: tuple[str, ...]) -> dict[str, tuple[int, dict[str, str]]]:
        """These units' properties, each with the serial that orders it among the announcements."""
        from overmind.systemd.properties import read_unit_states

        assert self.bus is not None
        self.reads += len(units)
        return await read_unit_states(self.bus, units, properties)

    async def list_states(self, patterns: list[str]) -> tuple[int, dict[str, dict[str, str]]]:
        """The loaded units matching `patterns` with LoadState, ActiveState, SubState and the type of
        the job waiting on them, JobType (one call),
        and the serial of the reply: announcements with a lower serial are older than the listing."""
        from dbus_fast import Message, MessageType

        assert self.bus is not None
        reply = await self.bus.call(Message(destination=SYSTEMD, path=MANAGER_PATH, interface=f"{SYSTEMD}.Manager",
                                            member="ListUnitsByPatterns", signature="asas", body=[[], patterns]))
        if reply is None or reply.message_type == MessageType.ERROR:
            raise OvermindError(f"the user manager could not list units: {reply.body if reply else 'no reply'}")
        units = {row[0]: {"Id": row[0], "LoadState": row[2], "ActiveState": row[3], "SubState": row[4],
                          "JobType": row[8]} for row in reply.body[0] if row[2] == "loaded"}
        return reply.serial, units

    def forget(self, before: int, unit: str | None = None) -> None:
        """Drop the announcements (of `unit`, or of every unit) sent before serial `before`."""
        for name in [unit] if unit is not None else list(self._announced):
            kept = [a for a in self._announced.get(name, []) if a.serial > before]
            if kept:
                self._announced[name] = kept
            else:
                self._announced.pop(name, None)

    def waiting(self, unit: str) -> list[Announcement]:
        """The announcements of a unit not taken yet (they stay for `take_announced`)."""
        return list(self._announced.get(unit, []))

    def take_announced(self) -> dict[str, list[Announcement]]:
        """Every announcement since the last call, by unit, in the order they came."""
        taken, self._announced = self._announced, {}
        return taken

    def close(self) -> None:
        if self.bus is not None:
            self.bus.disconnect()
            self.bus = None

    def _on_message(self, message: Message) -> None:
        from dbus_fast import MessageType

        if message.message_type != MessageType.SIGNAL:
            return
        unit = None
        if message.member in ("UnitNew", "UnitRemoved") and message.body:
            unit = message.body[0]
        elif message.member in ("JobNew", "JobRemoved") and len(message.body) >= 3:
            unit = message.body[2]
        elif message.member == "PropertiesChanged":
            unit = unit_of_path(message.path or "")
            if self.announce and unit is not None and self.accept(unit):
                self._keep(unit, message)
        elif message.member in ("Reloading", "UnitFilesChanged"):
            unit = RELOADED
        if unit is None or (self.units is not None and unit not in self.units and unit != RELOADED
                            and message.member == "PropertiesChanged"):
            return
        self._pending.add(str(unit))
        self.received_at = time.time()
        self._changed.set()

    def _keep(self, unit: str, message: Message) -> None:
        from overmind.systemd.properties import as_shown

        interface, changed = message.body[0], message.body[1]
        values = {key: as_shown(key, variant.value) for key, variant in changed.items() if key in self.announce}
        if interface != _UNIT_INTERFACE:
            self._typed.setdefault(unit, {}).update(values)
            return
        values = self._typed.pop(unit, {}) | values
        self._announced.setdefault(unit, []).append(Announcement(message.serial, time.time(), values))

    async def next_batch(self, timeout: float | None = None) -> set[str] | None:
        """The units that changed since the last batch, waiting up to `timeout` seconds for one;
        None if none came in time."""
        if not self._pending:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                return None
        self._changed.clear()
        batch, self._pending = self._pending, set()
        return batch

    async def batches(self) -> AsyncIterator[set[str]]:
        while self.bus is not None:
            batch = await self.next_batch()
            if batch:
                yield batch


def wait_for(units: list[str], check: Callable[[], T | None], timeout: float | None) -> T | None:
    """Call `check` now and after every signal about `units` until it returns a value;
    None once `timeout` seconds pass."""
    return asyncio.run(_wait_for(units, check, timeout))


async def _wait_for(units: list[str], check: Callable[[], T | None], timeout: float | None) -> T | None:
    deadline = None if timeout is None else time.monotonic() + timeout
    async with UnitSignals(units) as signals:
        while True:
            result = check()
            if result is not None:
                return result
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            await signals.next_batch(remaining)  # on a timeout: one last check before giving up
