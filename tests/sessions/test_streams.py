"""The control layer's async stream of a session's events: what the dashboard and the TUI read."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from overmind.control import agents
from overmind.store import Store
from tests.sessions.conftest import Claude


@pytest.mark.usefixtures("in_process")
def test_the_async_stream_follows_a_turn_and_ends_with_the_mission(claude: Claude, name: str) -> None:
    started = claude.run(name, session=True)
    before = Store().last_seq(started["id"])  # the stream starts after what is recorded now

    async def follow() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        stream = agents.stream(name, after=before)
        reading = asyncio.ensure_future(anext(stream))
        await asyncio.to_thread(claude.om, "send", name, "streamed")
        while True:
            events.append(json.loads(await reading))
            if events[-1]["type"] == "result":
                await asyncio.to_thread(claude.om, "stop", name)
            if events[-1]["type"] == "exit":
                return events
            reading = asyncio.ensure_future(anext(stream))

    events = asyncio.run(asyncio.wait_for(follow(), 60))
    types = [e["type"] for e in events]
    assert [t for t in types if t in ("user", "assistant", "result")] == ["user", "assistant", "result"]
    assert events[types.index("result")]["result"] == "echo: streamed"
    assert events[-1]["status"] == "stopped"
