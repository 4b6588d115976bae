"""Talking to running agents: their events, their results, messages to sessions, live streams.
(What they did, as a person reads it, is `overmind.control.timeline`.)

An agent mission's wrapper serves a control socket (`overmind.wrapper.channel`); the events it
parsed are also kept whole in the store, so what happened while nobody listened is never lost.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, NamedTuple

from overmind.control.missions import View, resolve_mission, view
from overmind.control.quests import last_result
from overmind.errors import OvermindError
from overmind.mission.kinds import runs_under_wrapper
from overmind.providers import Result
from overmind.store import Event, Mission, Store, shared
from overmind.wrapper.channel import Channel, NotListening, parse_event_line, socket_path

STARTUP_PATIENCE = 30.0  # seconds to wait for a (re)starting wrapper to listen


class StoredEvent(NamedTuple):
    """One event an agent printed, as recorded."""

    mission_id: str
    seq: int
    at: float
    type: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.mission_id, "seq": self.seq, "at": self.at, "type": self.type, "event": self.data}


def events(ref: str, after: int = 0, type: str | None = None, store: Store | None = None) -> list[StoredEvent]:
    """The events an agent mission printed after sequence number `after` (for a timeline)."""
    store = store or shared()
    mission = resolve_mission(ref, store)
    return [StoredEvent(mission.id, e.seq, e.at, e.type, json.loads(e.data))
            for e in store.events(mission.id, after, type)]


def result(ref: str, store: Store | None = None) -> Result:
    """The last result of an agent mission, or why there is none yet, in one line."""
    store = store or shared()
    mission = resolve_mission(ref, store)
    if mission.provider == "raw":
        raise OvermindError(f"'{mission.name}' is a plain command: it has no result", hint=f"overmind logs {ref}")
    found = last_result(mission, store)
    if found is not None:
        return found
    status = view(mission, store).status
    if status.finished:
        raise OvermindError(f"'{mission.name}' ended without a result ({status.label})", hint=f"overmind logs {ref}")
    raise OvermindError(f"'{mission.name}' has no result yet (it is {status.state})",
                        hint=f"overmind wait {ref} && overmind result {ref}")


# -- the wrapper's control socket -----------------------------------------------------------
def reach(mission: Mission, patience: float | None, store: Store | None = None) -> tuple[Channel | None, View | None]:
    """A channel to the mission's wrapper, waiting (on systemd's signals, up to `patience` seconds;
    None: no limit) while it is (re)starting. (None, view) once the mission has ended, (None, None)
    if the wait ran out."""
    try:
        return Channel(mission.id, mission.name), None
    except NotListening:
        pass
    from overmind.systemd.signals import wait_for

    store = store or shared()

    def channel_or_end() -> tuple[Channel | None, View | None] | None:
        current = view(store.get(mission.id) or mission, store)
        if current.status.finished:
            return None, current
        try:
            return Channel(mission.id, mission.name), current
        except NotListening:
            return None

    return wait_for([mission.unit], channel_or_end, patience) or (None, None)


def connect(mission: Mission, verb: str, patience: float = STARTUP_PATIENCE, store: Store | None = None) -> Channel:
    """A channel to the mission's wrapper, or why nobody answers, in the user's terms."""
    if not runs_under_wrapper(mission.provider, mission.type):
        raise OvermindError(f"'{mission.name}' is a plain command: it cannot {verb}",
                            hint="start a session: overmind run --type session ...")
    channel, current = reach(mission, patience, store)
    if channel is not None:
        return channel
    current = current or view(mission, store)
    if current.status.finished:
        raise OvermindError(f"mission '{mission.name}' has ended ({current.status.label})",
                            hint=f"overmind logs {mission.name}")
    raise OvermindError(f"mission '{mission.name}' is {current.status.state} and not answering",
                        hint=f"overmind logs {mission.name}")


class Sent(NamedTuple):
    """A message handed to a session; with wait, the result of the turn it started."""

    session_id: str | None
    result: Result | None

    def to_json(self) -> dict[str, Any]:
        return self.result.to_json() if self.result is not None else {"sent": True, "session_id": self.session_id}


def send(ref: str, text: str, wait: bool = False, timeout: float | None = None, store: Store | None = None) -> Sent:
    """Send a message to a session; with `wait`, block for the answer (TimeoutError after
    `timeout` seconds: the message was sent all the same)."""
    if not text.strip():
        raise OvermindError("empty message")
    if "\0" in text:
        raise OvermindError("the message contains a NUL byte")
    mission = resolve_mission(ref, store)
    with connect(mission, "take messages", store=store) as channel:
        channel.write({"op": "send", "text": text, "wait": wait})
        channel.sock.settimeout(timeout)
        reply = channel.reply()
    found = reply.get("result")
    return Sent(reply.get("session_id"), Result(**found) if isinstance(found, dict) else None)


def _events_after(mission_id: str, seq: int) -> list[Event]:
    return shared().events(mission_id, seq)


def exit_event(current: View) -> bytes:
    status = current.status
    data = {"type": "exit", "status": status.state, "exit_code": status.exit_code, "reason": status.reason or None}
    return (json.dumps(data) + "\n").encode()


def subscribe(ref: str, after: int | None = None, store: Store | None = None) -> Iterator[bytes]:
    """A mission's events as the agent printed them, across its wrapper's restarts (each
    connection asks for the events after the last one seen: nothing lost, nothing repeated),
    then `{"type": "exit", ...}`. `after` None starts with what comes next."""
    from overmind.control.lifecycle import wait as wait_for_end

    store = store or shared()
    mission = resolve_mission(ref, store)
    seen = store.last_seq(mission.id) if after is None else after
    listens = runs_under_wrapper(mission.provider, mission.type)
    while True:
        if listens:
            channel, ended = reach(mission, None, store)
        else:  # no wrapper, no events: only the end
            finished = wait_for_end([mission], None)
            channel, ended = None, finished[0] if finished else None
        if channel is not None:
            with channel:
                channel.write({"op": "subscribe", "after": seen})
                for line in channel.lines():
                    seen, event = parse_event_line(line)
                    yield event
            continue  # the wrapper ended: the mission restarts, or it is over
        for stored in store.events(mission.id, seen):  # what was recorded while we were away
            seen = stored.seq
            yield stored.data.encode() + b"\n"
        assert ended is not None
        yield exit_event(ended)
        return


async def stream(ref: str, after: int | None = None) -> AsyncIterator[bytes]:
    """`subscribe` for an event loop (the dashboard, the TUI): the same lines, read from the
    wrapper's socket without a thread; while the wrapper restarts, woken by systemd's signals."""
    async for _, line in numbered_stream(ref, after):
        yield line


async def numbered_stream(ref: str, after: int | None) -> AsyncIterator[tuple[int | None, bytes]]:
    """(seq, line) of each event as `stream` yields it; seq None for the final exit line."""
    import asyncio

    from overmind.systemd.signals import UnitSignals

    mission = await asyncio.to_thread(resolve_mission, ref)
    seen = await asyncio.to_thread(lambda: shared().last_seq(mission.id)) if after is None else after
    listens = runs_under_wrapper(mission.provider, mission.type)
    async with UnitSignals([mission.unit]) as signals:
        while True:
            try:
                if not listens:
                    raise FileNotFoundError
                reader, writer = await asyncio.open_unix_connection(socket_path(mission.id), limit=1 << 24)
            except (FileNotFoundError, ConnectionRefusedError):
                current = await asyncio.to_thread(lambda: view(shared().get(mission.id) or mission))
                if current.status.finished:
                    backlog = await asyncio.to_thread(_events_after, mission.id, seen)
                    for stored in backlog:
                        yield stored.seq, stored.data.encode() + b"\n"
                    yield None, exit_event(current)
                    return
                await signals.next_batch(timeout=1.0)  # (re)starting: look again when the unit changes
                continue
            try:
                writer.write((json.dumps({"op": "subscribe", "after": seen}) + "\n").encode())
                await writer.drain()
                while line := await reader.readline():
                    seen, event = parse_event_line(line)
                    yield seen, event
            finally:
                writer.close()


def cursor(ref: str, store: Store | None = None) -> int:
    """The sequence number of the last event a mission's agent printed: a stream started after
    it shows what comes next (read it before sending, so no reply can slip in between)."""
    store = store or shared()
    return store.last_seq(resolve_mission(ref, store).id)
