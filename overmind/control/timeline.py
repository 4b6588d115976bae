"""What an agent did, as a person reads it: its text, tool calls and their output, the messages
it was sent, and each turn's result with what the turn cost; from the store, or live from its
wrapper (`overmind.control.agents.numbered_stream`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

from overmind.control.agents import numbered_stream
from overmind.control.missions import resolve_mission
from overmind.providers import Result, get
from overmind.store import Store, shared

TAGS = ("session", "tool", "tool output", "tool error", "result", "denied", "permission")


class Step(NamedTuple):
    """One event of an agent, as a person reads it: each part is (kind, text), where kind is
    `text` (what the agent said), `you` (a message it was sent), `tool`, `tool output`,
    `tool error`, `result`, `denied`, `permission` (asked of a person, and answered), `session`
    or `exit`; `turn_cost_usd` is what the turn this result ends cost."""

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
    async for seq, line in numbered_stream(mission.id, store_seq):
        if seq is None:
            yield _exit_step(time.time(), json.loads(line))
            return
        step = reader.step(seq, time.time(), line.decode(errors="replace"))
        if step is not None:
            yield step
