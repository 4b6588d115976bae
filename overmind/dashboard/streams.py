"""The live streams (Server-Sent Events): the change feed, a mission's log lines (each with its
journal cursor as the event id, so a reconnecting page resumes where it left off), and an
agent's timeline (each step with its event number)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from overmind.control import logs as journal
from overmind.control import missions
from overmind.control.timeline import follow_timeline
from overmind.dashboard import sse
from overmind.dashboard.live import HUB, Message
from overmind.dashboard.render import JINJA, visible, when
from overmind.errors import OvermindError

routes = web.RouteTableDef()


@routes.get("/events")
async def changes(request: web.Request) -> web.StreamResponse:
    """Every change among missions, blueprints and rituals (`overmind events --json`, plus the
    new table row), and memory/CPU ticks: one subscription to the process's one feed."""
    return await sse.serve(request, request.app[HUB].subscribe())


def _number(text: str | None, what: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise OvermindError(f"invalid {what} {text!r}") from None


@routes.get("/missions/{ref}/logs/stream")
async def log_lines(request: web.Request) -> web.StreamResponse:
    ref = request.match_info["ref"]
    selection = await asyncio.to_thread(journal.select, ref)
    cursor = sse.last_event_id(request, request.query.get("after"))
    since = _number(request.query.get("since"), "since") if cursor is None else None
    if cursor is not None and not journal.CURSOR.fullmatch(cursor):
        raise OvermindError("invalid journal cursor")

    async def lines() -> AsyncIterator[Message]:
        async for entry in journal.follow(selection, after_cursor=cursor, since=since):
            data = {"time": when(entry.timestamp), "at": entry.timestamp, "name": entry.name,
                    "message": visible(entry.message)}
            yield "line", data, entry.cursor

    return await sse.serve(request, lines())


@routes.get("/missions/{ref}/timeline/stream")
async def timeline(request: web.Request) -> web.StreamResponse:
    ref = request.match_info["ref"]
    mission = await asyncio.to_thread(missions.resolve_mission, ref)
    mark = sse.last_event_id(request, request.query.get("after"))
    after = int(_number(mark, "event number") or 0) if mark is not None else None
    template = request.app[JINJA].get_template("timeline_step.html")

    async def steps() -> AsyncIterator[Message]:
        async for step in follow_timeline(mission.id, after):
            html = template.render(step=step)
            if step.type == "exit":
                yield "end", {"html": html}, None
                return
            yield "step", {"html": html, "seq": step.seq}, step.seq

    return await sse.serve(request, steps())
