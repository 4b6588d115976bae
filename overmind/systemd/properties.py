"""Units' properties read over D-Bus, as `systemctl show --timestamp=unix` prints them.

The change feed holds a D-Bus connection anyway: reading the units a signal named over it costs a
round trip, where `systemctl show` would cost a process. The values come back as the same strings,
so views read both sources alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

SYSTEMD = "org.freedesktop.systemd1"
INTERFACES = (f"{SYSTEMD}.Service", f"{SYSTEMD}.Unit")  # the Unit interface (the state) last: see read_unit_states
IN_FLIGHT = 8


def as_shown(name: str, value: Any) -> str:
    """A property's value as `systemctl show --timestamp=unix` prints it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, bytes):
        return value.hex()  # InvocationID, as systemctl prints it
    if name.endswith("Timestamp") and isinstance(value, int):
        return f"@{value / 1e6:.6f}" if value else ""
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


async def read_units(bus: MessageBus, units: Sequence[str], properties: Sequence[str]) -> dict[str, dict[str, str]]:
    """The `properties` of each loaded unit among `units`, by unit name (units not loaded are left out)."""
    return {unit: props for unit, (_, props) in (await read_unit_states(bus, units, properties)).items()}


async def read_unit_states(bus: MessageBus, units: Sequence[str], properties: Sequence[str]
                           ) -> dict[str, tuple[int, dict[str, str]]]:
    """As `read_units`, each with the serial of the manager's last reply: the manager numbers its
    signals and replies in one sequence, so a signal about the unit with a lower serial was sent
    before the values read, and one with a higher serial after them."""
    # A few calls in flight at once: enough to overlap the round trips, few enough that the bus
    # socket's buffer never fills (dbus-fast then fails its write with EAGAIN).
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def read(unit: str) -> tuple[int, dict[str, str]]:
        async with gate:
            return await _read_unit(bus, unit, properties)

    found = await asyncio.gather(*(read(unit) for unit in units))
    return {unit: state for unit, state in zip(units, found, strict=True) if state[1].get("LoadState") == "loaded"}


async def _read_unit(bus: MessageBus, unit: str, properties: Sequence[str]) -> tuple[int, dict[str, str]]:
    from dbus_fast import Message, MessageType

    from overmind.systemd.objects import unit_object_path

    wanted = set(properties)
    shown: dict[str, str] = {}
    serial = 0
    for interface in INTERFACES:
        reply = await bus.call(Message(destination=SYSTEMD, path=unit_object_path(unit),
                                       interface="org.freedesktop.DBus.Properties", member="GetAll",
                                       signature="s", body=[interface]))
        if reply is None or reply.message_type == MessageType.ERROR:
            continue  # a unit that is gone, or not a service
        serial = max(serial, reply.serial)
        shown.update({key: as_shown(key, variant.value) for key, variant in reply.body[0].items() if key in wanted})
    return serial, shown
