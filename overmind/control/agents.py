"""Talking to running agents: their events, their results, messages to sessions, live streams.

An agent mission's wrapper serves a control socket (`overmind.wrapper.channel`); the events it
parsed are also kept whole in the store, so what happened while nobody listened is never lost.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, NamedTuple

from overmind.control.missions import View, last_result, resolve_mission, view
from overmind.errors import OvermindError
from overmind.mission.kinds import runs_under_wrapper
from overmind.providers import Result
from overmind.store import Event, Mission, Store, shared
from overmind.wrapper.channel import Channel, NotListening

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
                    seq, _, event = line.partition(b"\t")
                    seen = int(seq)
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
    async for _, line in _numbered_stream(ref, after):
        yield line


async def _numbered_stream(ref: str, after: int | None) -> AsyncIterator[tuple[int | None, bytes]]:
    """(seq, line) of each event as `stream` yields it; seq None for the final exit line."""
    import asyncio

    from overmind.systemd.signals import UnitSignals
    from overmind.wrapper.channel import socket_path

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
                    seq, _, event = line.partition(b"\t")
                    seen = int(seq)
                    yield seen, event
            finally:
                writer.close()


# -- a timeline of what an agent did ----------------------------------------------------------
TAGS = ("session", "tool", "tool output", "tool error", "result", "denied", "permission")


class Step(NamedTuple):
    """One event of an agent, as a person reads it: each part is (kind, text), where kind is
    `text` (what the agent said), `you` (a message it was sent), `tool`, `tool output`,
    `tool error`, `result`, `denied`, `permission` (asked of a person, and answered), `session`
    or `exit`; `turn_cost_usd` is what the turn
    this result ends cost."""

    seq: int | None
    at: float
    type: str
    parts: list[tuple[str, str]]
    result: Result | None = None
    turn_cost_usd: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "type": self.type,
                "parts": [{"kind": kind, "text": text} for kind, text in self.parts],
                "result": self.result.to_json() if self.result else None, "turn_cost_usd": self.turn_cost_usd}


class _Reader:
    """Turns an agent's event lines into steps: the provider parses them; a result's cost is
    a running total for the agent's process, so the turn's cost is its increase (a lower total
    means a new process, which counts from zero)."""

    def __init__(self, provider: str, previous_total: float = 0.0) -> None:
        from overmind.providers import get

        self.parser = get(provider)
        self.previous_total = previous_total

    def step(self, seq: int | None, at: float, line: str) -> Step | None:
        event = self.parser.parse(line)
        if event is None or not event.keep:
            return None
        parts = [_tagged(text) for text in event.lines]
        if event.type == "overmind" and isinstance(event.data.get("text"), str):  # overmind's own note
            parts.append(_tagged(event.data["text"]))
        if event.acknowledges is not None and (said := _message_text(event.data)):
            parts.insert(0, ("you", said))
        turn_cost = None
        if event.result is not None and event.result.cost_usd is not None:
            total = event.result.cost_usd
            turn_cost = total - self.previous_total if total >= self.previous_total else total
            if not self.parser.running_cost:  # the turn's own cost
                turn_cost = total
            self.previous_total = total
        if not parts and event.result is None:
            return None
        return Step(seq, at, event.type, parts, event.result, turn_cost)


def _tagged(line: str) -> tuple[str, str]:
    if line.startswith("["):
        tag, _, text = line[1:].partition("] ")
        if tag in TAGS:
            return tag, text
    return "text", line


def _message_text(data: dict[str, Any]) -> str:
    content = (data.get("message") or {}).get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _exit_step(at: float, data: dict[str, Any]) -> Step:
    reason = f" ({data['reason']})" if data.get("reason") else ""
    code = f", exit code {data['exit_code']}" if data.get("exit_code") is not None else ""
    return Step(None, at, "exit", [("exit", f"{data.get('status')}{reason}{code}")])


def _total_before(mission_id: str, seq: int, store: Store) -> float:
    """The running total the last result up to `seq` reported (0 if none)."""
    for stored in store.events_newest_first(mission_id, type="result"):
        if stored.seq <= seq:
            cost = json.loads(stored.data).get("total_cost_usd")
            if isinstance(cost, (int, float)):
                return float(cost)
    return 0.0


def timeline(ref: str, after: int = 0, store: Store | None = None) -> list[Step]:
    """What an agent mission did after event `after`: its text, tool calls and their output,
    the messages it was sent, and each turn's result with its cost."""
    store = store or shared()
    mission = resolve_mission(ref, store)
    if mission.provider == "raw":
        return []
    reader = _Reader(mission.provider, _total_before(mission.id, after, store) if after else 0.0)
    found = (reader.step(e.seq, e.at, e.data) for e in store.events(mission.id, after))
    return [step for step in found if step is not None]


async def follow_timeline(ref: str, after: int | None = None) -> AsyncIterator[Step]:
    """`timeline` as it happens: the steps after event `after` (None: from now), live, ending
    with an `exit` step once the mission has ended."""
    import asyncio
    import time

    mission = await asyncio.to_thread(resolve_mission, ref)
    if mission.provider == "raw":
        return
    store_seq = after if after is not None else await asyncio.to_thread(lambda: shared().last_seq(mission.id))
    previous = await asyncio.to_thread(lambda: _total_before(mission.id, store_seq, shared()))
    reader = _Reader(mission.provider, previous)
    async for seq, line in _numbered_stream(mission.id, store_seq):
        if seq is None:
            yield _exit_step(time.time(), json.loads(line))
            return
        step = reader.step(seq, time.time(), line.decode(errors="replace"))
        if step is not None:
            yield step


def cursor(ref: str, store: Store | None = None) -> int:
    """The sequence number of the last event a mission's agent printed: a stream started after
    it shows what comes next (read it before sending, so no reply can slip in between)."""
    store = store or shared()
    return store.last_seq(resolve_mission(ref, store).id)
