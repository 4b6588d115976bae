"""Waiting on the user manager's D-Bus signals instead of polling.

dbus-fast is imported here only: it costs ~100 ms to import, which the CLI's quick commands
never pay. Every signal about the unit just triggers a fresh look at the mission, so the
signals' payloads (and their quirks: each start emits `inactive` first, a collected unit
reads back `not-found`) never decide anything on their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from overmind.systemd.manager import user_env

T = TypeVar("T")
SYSTEMD = "org.freedesktop.systemd1"
MANAGER_PATH = "/org/freedesktop/systemd1"


def unit_object_path(unit: str) -> str:
    """systemd's object path for a unit: bytes outside [A-Za-z0-9] become _xx."""
    label = "".join(c if c.isascii() and c.isalnum() else "".join(f"_{b:02x}" for b in c.encode()) for c in unit)
    return f"{MANAGER_PATH}/unit/{label}"


def wait_for(units: list[str], check: Callable[[], T | None], timeout: float | None) -> T | None:
    """Call `check` now and after every signal about `units` until it returns a value;
    None once `timeout` seconds pass."""
    return asyncio.run(_wait_for(units, check, timeout))


async def _wait_for(units: list[str], check: Callable[[], T | None], timeout: float | None) -> T | None:
    from dbus_fast import BusType, Message, MessageType
    from dbus_fast.aio import MessageBus

    address = user_env()["DBUS_SESSION_BUS_ADDRESS"]
    bus = await MessageBus(bus_address=address, bus_type=BusType.SESSION).connect()
    changed = asyncio.Event()

    def on_message(message: Message) -> None:
        if message.message_type == MessageType.SIGNAL:
            changed.set()

    bus.add_message_handler(on_message)
    rules = [f"type='signal',sender='{SYSTEMD}',path='{unit_object_path(u)}'" for u in units]
    rules.append(f"type='signal',sender='{SYSTEMD}',path='{MANAGER_PATH}',member='UnitRemoved'")
    rules.append(f"type='signal',sender='{SYSTEMD}',path='{MANAGER_PATH}',member='JobRemoved'")
    for rule in rules:
        await bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                               interface="org.freedesktop.DBus", member="AddMatch", signature="s", body=[rule]))
    # Without a subscriber the manager does not emit unit signals at all.
    await bus.call(Message(destination=SYSTEMD, path=MANAGER_PATH, interface=f"{SYSTEMD}.Manager",
                           member="Subscribe"))
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            changed.clear()
            result = check()
            if result is not None:
                return result
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue  # one last check before giving up
    finally:
        bus.disconnect()
