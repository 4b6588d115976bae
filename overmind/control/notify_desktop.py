"""Desktop notifications: org.freedesktop.Notifications on the person's session bus.

The service keeps one connection per bus (dbus-fast, imported only here and by the change feed).
Where the notification server supports actions, a notice with a dashboard page gets an "Open"
button; pressing it opens the page with `xdg-open`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
from typing import TYPE_CHECKING, Any, NamedTuple

from overmind.control.notify_outbox import Notice
from overmind.control.notify_send import Outcome
from overmind.errors import OvermindError

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
_URGENCY = {"crashed": 2, "breaker": 2, "permission": 2, "failed": 2, "blueprint-failed": 2, "ritual-failed": 2}
TIMEOUT_S = 5.0


def session_bus() -> str | None:
    """The person's session bus: $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus if it is a socket."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if address:
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    path = os.path.join(runtime, "bus") if runtime else ""
    try:
        return f"unix:path={path}" if path and stat.S_ISSOCK(os.stat(path).st_mode) else None
    except OSError:
        return None


class Server(NamedTuple):
    """What `notify add --desktop` found on the bus."""

    running: bool  # a notification server owns the name, or the bus can start one
    capabilities: tuple[str, ...]


async def _connect(address: str) -> MessageBus:
    from dbus_fast import BusType
    from dbus_fast.aio import MessageBus

    try:
        return await asyncio.wait_for(MessageBus(bus_address=address, bus_type=BusType.SESSION).connect(), TIMEOUT_S)
    except (OSError, EOFError, TimeoutError, ValueError) as error:
        raise OvermindError(f"cannot reach the session bus at {address} ({type(error).__name__}: {error})") from None


async def _call(bus: MessageBus, member: str, signature: str = "", body: list[Any] | None = None,
                destination: str = NAME, path: str = PATH, interface: str = NAME) -> list[Any] | None:
    """A method call's reply body; None if it answered with an error."""
    from dbus_fast import Message, MessageType

    reply = await asyncio.wait_for(bus.call(Message(destination=destination, path=path, interface=interface,
                                                    member=member, signature=signature, body=body or [])), TIMEOUT_S)
    if reply is None or reply.message_type == MessageType.ERROR:
        return None
    return list(reply.body)


async def _bus_call(bus: MessageBus, member: str, signature: str = "", body: list[Any] | None = None) -> Any:
    found = await _call(bus, member, signature, body, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus")
    return found[0] if found else None


async def probe(address: str) -> Server:
    """Whether a notification server answers on that bus (raises when there is no bus there)."""
    bus = await _connect(address)
    try:
        owned = await _bus_call(bus, "NameHasOwner", "s", [NAME])
        startable = NAME in (await _bus_call(bus, "ListActivatableNames") or [])
        if not owned:
            return Server(bool(startable), ())
        found = await _call(bus, "GetCapabilities")
        return Server(True, tuple(found[0]) if found else ())
    finally:
        bus.disconnect()


class Desktop:
    """One session bus, connected on first use and again after it went away."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.bus: MessageBus | None = None
        self.links: dict[int, str] = {}  # notification id -> the page its "Open" opens
        self.pressed: dict[int, str] = {}  # actions on notifications whose id is not known yet
        self.capabilities: tuple[str, ...] = ()

    async def _ready(self) -> MessageBus:
        if self.bus is not None and self.bus.connected:
            return self.bus
        bus = await _connect(self.address)
        bus.add_message_handler(self._on_message)
        await _bus_call(bus, "AddMatch", "s", [f"type='signal',interface='{NAME}',member='ActionInvoked'"])
        found = await _call(bus, "GetCapabilities")
        self.capabilities = tuple(found[0]) if found else ()
        self.bus = bus
        return bus

    async def send(self, notice: Notice, url: str | None) -> Outcome:
        try:
            bus = await self._ready()
            actions = ["default", "Open", "open", "Open"] if url and "actions" in self.capabilities else []
            hints = _hints(notice.event)
            found = await _call(bus, "Notify", "susssasa{sv}i",
                                ["overmind", 0, "", notice.title, notice.message, actions, hints, -1])
        except (OvermindError, TimeoutError, OSError, EOFError) as error:
            self.close()
            return Outcome(False, True, f"the session bus did not answer: {getattr(error, 'message', error)}")
        if found is None:
            return Outcome(False, True, f"no notification server on the session bus ({NAME})")
        if actions and url:
            self.linked(int(found[0]), url)
        return Outcome(True, False, f"shown as desktop notification {found[0]}")

    def linked(self, ident: int, url: str) -> None:
        """Notification `ident` opens `url`: now, if it was pressed before Notify's reply was read."""
        self.links[ident] = url
        if self.pressed.pop(ident, None) in ("default", "open"):
            self._open(ident)

    def _on_message(self, message: Any) -> None:
        if message.member == "ActionInvoked" and message.interface == NAME:
            ident, key = int(message.body[0]), message.body[1]
            if ident not in self.links:
                # The signal can be read before Notify's reply has been handled (both come on this
                # connection): kept until its link is known. Ids are the server's, never reused soon.
                self.pressed[ident] = key
                while len(self.pressed) > 64:
                    self.pressed.pop(next(iter(self.pressed)))
            elif key in ("default", "open"):
                self._open(ident)

    def _open(self, ident: int) -> None:
        url = self.links.pop(ident, None)
        opener = shutil.which("xdg-open")
        if url and opener:
            subprocess.Popen([opener, url], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)

    def close(self) -> None:
        if self.bus is not None:
            self.bus.disconnect()
            self.bus = None


def _hints(event: str) -> dict[str, Any]:
    from dbus_fast import Variant

    return {"urgency": Variant("y", _URGENCY.get(event, 1)), "category": Variant("s", "overmind." + event)}


def send_once(address: str, notice: Notice, url: str | None) -> Outcome:
    """One notification from a process that has no event loop (`notify test`)."""

    async def once() -> Outcome:
        desktop = Desktop(address)
        try:
            return await desktop.send(notice, url)
        finally:
            desktop.close()

    return asyncio.run(once())
