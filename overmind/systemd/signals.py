"""The user manager's D-Bus signals: which units changed, as they change, without polling.

dbus-fast is imported here only: it costs ~100 ms to import, which the CLI's quick commands
never pay. After `Subscribe()` the manager announces `UnitNew`, `UnitRemoved`, `JobNew`,
`JobRemoved` and every unit's `PropertiesChanged`; each only says *which* unit changed. Callers
then look at the unit afresh, so the signals' payloads (and their quirks: each start emits
`inactive` first, a collected unit reads back `not-found`) never decide anything on their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

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








class UnitSignals:
    """One connection to the user bus, subscribed to the manager: `batches()` yields the set of
    units that changed since the last batch (several signals about one unit come as one).
    With `units`, only signals about those units (and the manager's own) are delivered at all."""

    def __init__(self, units: Iterable[str] | None = None) -> None:
        self.units = list(units) if units is not None else None
        self.bus: MessageBus | None = None
        self._pending: set[str] = set()
        self._changed = asyncio.Event()
        self.received_at = 0.0  # wall-clock time of the last signal, for latency reports

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
        from overmind.systemd.properties import read_units

        assert self.bus is not None
        return await read_units(self.bus, units, properties)

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
        elif message.member in ("Reloading", "UnitFilesChanged"):
            unit = RELOADED
        if unit is None or (self.units is not None and unit not in self.units and unit != RELOADED
                            and message.member == "PropertiesChanged"):
            return
        self._pending.add(str(unit))
        self.received_at = time.time()
        self._changed.set()

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
