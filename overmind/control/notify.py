"""Notifications, as a person asks for them: `overmind notify add|ls|rm|test`.

Channels are kept by `notify_channels`; the service that delivers (`overmind.notify`, a user unit:
`notify_unit`) follows the change feed and reads them when it has something to send. Each action
here is one function the command line (and any other front end) calls.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, NamedTuple

from overmind.control import notify_channels, notify_unit
from overmind.control.notify_channels import Channel
from overmind.control.notify_outbox import ChannelStats, Notice
from overmind.control.notify_send import Outcome
from overmind.errors import OvermindError

LOCK_TIMEOUT_S = 10.0


class Added(NamedTuple):
    channel: Channel
    unit: str
    started: bool  # the service was (re)started
    notes: tuple[str, ...]  # what the person should know (no notification server yet...)

    def to_json(self) -> dict[str, Any]:
        return {**self.channel.to_json(), "unit": self.unit, "started": self.started, "notes": list(self.notes)}


class Listed(NamedTuple):
    channel: Channel
    stats: ChannelStats

    def to_json(self) -> dict[str, Any]:
        """A row of `notify ls --json` (docs/json.md)."""
        return {**self.channel.to_json(), **self.stats.to_json()}


def add(name: str, *, webhook: str | None = None, desktop: bool = False, command: str | None = None,
        format: str | None = None, on: tuple[str, ...] | list[str] = (), missions: str | None = None,
        retry_for: float | None = None) -> Added:
    """Add a channel and make sure the service runs (installed, enabled, started). What was
    given is checked before anything is written or booted."""
    from overmind.control.host import ready
    from overmind.locks import exclusive

    notes: list[str] = []
    chosen = notify_channels.channel(name, webhook=webhook, desktop="" if desktop else None, command=command,
                                     format=format, on=on, missions=missions, retry_for=retry_for)
    if desktop:  # the rest is right: now the bus, which is asked (its address is the caller's)
        chosen = replace(chosen, target=_desktop_bus(notes))
    _unique(name, notify_channels.load())
    ready(auto_boot=True)
    with exclusive("notify", LOCK_TIMEOUT_S):
        channels = notify_channels.load()
        _unique(name, channels)  # again: another `notify add` may have come first
        notify_channels.save([*channels, chosen])
    try:
        started = notify_unit.ensure_running()
    except OvermindError:
        with exclusive("notify", LOCK_TIMEOUT_S):  # a channel nothing delivers to is no channel
            notify_channels.save([c for c in notify_channels.load() if c.name != name])
        raise
    return Added(chosen, notify_unit.unit_name(), started, tuple(notes))


def _unique(name: str, channels: list[Channel]) -> None:
    if any(c.name == name for c in channels):
        raise OvermindError(f"a notification channel named '{name}' exists",
                            hint=f"remove it first (overmind notify rm {name}), or choose another name")


def _desktop_bus(notes: list[str]) -> str:
    """The session bus a desktop channel sends to (the caller's), checked now."""
    import asyncio

    from overmind.control.notify_desktop import NAME, probe, session_bus

    address = session_bus()
    if address is None:
        raise OvermindError("there is no session bus here: desktop notifications need one",
                            hint="add it from your desktop session, or set DBUS_SESSION_BUS_ADDRESS")
    try:
        server = asyncio.run(probe(address))
    except OvermindError as error:
        raise OvermindError(f"{error.message}: desktop notifications need a session bus",
                            hint="add it from your desktop session, or set DBUS_SESSION_BUS_ADDRESS") from None
    if not server.running:
        notes.append(f"no notification server on the session bus yet ({NAME}): notices show once one runs")
    elif "actions" not in server.capabilities:
        notes.append("the notification server shows no buttons: notices come without 'Open'")
    return address


def listing() -> list[Listed]:
    """Every channel with what was delivered to it."""
    channels = notify_channels.load()
    stats = _stats() if channels else {}
    return [Listed(c, stats.get(c.name, ChannelStats())) for c in channels]


def _stats() -> dict[str, ChannelStats]:
    from overmind.control.notify_outbox import open_outbox

    outbox = open_outbox()
    try:
        return outbox.stats()
    finally:
        outbox.close()


def remove(names: list[str] | tuple[str, ...]) -> list[str]:
    """Remove channels (all named must exist); the last one gone stops and removes the service.
    Returns what changed, in words."""
    from overmind.control.notify_outbox import open_outbox
    from overmind.locks import exclusive

    with exclusive("notify", LOCK_TIMEOUT_S):
        channels = notify_channels.load()
        for name in names:
            notify_channels.find(name, channels)
        kept = [c for c in channels if c.name not in names]
        notify_channels.save(kept)
    outbox = open_outbox()
    try:
        for name in names:
            outbox.forget(name)
    finally:
        outbox.close()
    changed = [f"removed notification channel {name}" for name in names]
    if not kept:
        changed += [f"removed {path}" for path in notify_unit.remove()]
    return changed


def test(name: str) -> Outcome:
    """Send a test notice to one channel now, from this process (not the queue); raises if it failed."""
    chosen = notify_channels.find(name)
    outcome = deliver(chosen, _test_notice(name), dashboard=None)
    if not outcome.ok:
        raise OvermindError(f"the test notification to '{name}' failed: {outcome.detail}",
                            hint="check the channel (overmind notify ls); the service logs every delivery:"
                                 f" journalctl --user -u {notify_unit.unit_name()}")
    return outcome


def _test_notice(name: str) -> Notice:
    from overmind.control.notify_events import test as test_notice

    return test_notice(name, time.time())


def deliver(channel: Channel, notice: Notice, dashboard: str | None) -> Outcome:
    """Send one notice to one channel, once, blocking (the service sends the desktop's asynchronously)."""
    from overmind.control import notify_send

    url = notify_send.link(notice, dashboard)
    if channel.kind == "webhook":
        return notify_send.webhook(channel, notice, url)
    if channel.kind == "command":
        return notify_send.command(channel, notice, url)
    from overmind.control.notify_desktop import send_once

    return send_once(channel.target, notice, url)
