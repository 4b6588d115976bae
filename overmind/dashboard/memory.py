"""Memory: the newest memories or a search answered as you type, filtered by scope and kind, live;
a memory's page; forget and remember; and what a mission consulted and fed. Every call goes
through `overmind.control.memory`, the CLI's own; without Akasha the page says so in one line."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from overmind.control import memory, missions
from overmind.dashboard import sse
from overmind.dashboard.forms import done, form_fields
from overmind.dashboard.render import fragment, page
from overmind.dashboard.towers import TOWERS
from overmind.errors import OvermindError

routes = web.RouteTableDef()
NEWEST = 50  # memories listed without a search
FOUND = 20  # a search's results
MAX_SHOWN = 500


class Query(dict[str, Any]):
    """What the page shows, from its address: q (a search), kind, scope, n."""

    @classmethod
    def of(cls, request: web.Request) -> Query:
        query = request.query
        kind = query.get("kind") or None
        if kind is not None and kind not in memory.KINDS:
            raise OvermindError(f"unknown kind {kind!r}", hint=f"use one of: {', '.join(memory.KINDS)}")
        text = query.get("n", "")
        if text and (not text.isdigit() or not 1 <= int(text) <= MAX_SHOWN):
            raise OvermindError(f"invalid n {text!r}: give a whole number from 1 to {MAX_SHOWN}")
        q = query.get("q", "").strip()
        return cls(q=q, kind=kind, scope=query.get("scope") or None,
                   n=int(text) if text else (FOUND if q else NEWEST))


def read(shown: Query) -> dict[str, Any]:
    """The memories the query asks for: {memories, total, searched}; or {problem} in one line."""
    scopes = [shown["scope"]] if shown["scope"] else None
    try:
        if shown["q"]:
            hits = memory.search(shown["q"], n=min(shown["n"], 100), kind=shown["kind"], scopes=scopes)
            return {"memories": hits, "total": len(hits), "searched": True, "problem": None}
        found = memory.newest(kind=shown["kind"], scopes=scopes, limit=shown["n"])
        return {"memories": found.memories, "total": found.total, "searched": False, "problem": None}
    except memory.AkashaError as error:
        return {"memories": [], "total": 0, "searched": bool(shown["q"]), "problem": memory.one_line(error)}


def stats() -> dict[str, Any] | None:
    try:
        return memory.stats()
    except memory.AkashaError:
        return None


def _everything(shown: Query, with_stats: bool) -> dict[str, Any]:
    missing = memory.unavailable()
    if missing:
        return {"memories": [], "total": 0, "searched": False, "problem": missing, "stats": None}
    found = read(shown)
    return {**found, "stats": stats() if with_stats and found["problem"] is None else None}


@routes.get("/memory")
async def memory_page(request: web.Request) -> web.Response:
    shown = Query.of(request)
    await request.app[TOWERS].memory.ensure()
    data = await asyncio.to_thread(_everything, shown, True)
    return page(request, "memory.html", active="memory", shown=shown, kinds=memory.KINDS, **data,
                notice=request.query.get("said"))


@routes.get("/memory/rows")
async def rows(request: web.Request) -> web.Response:
    """The table's rows alone: what the page fetches as you type, and live."""
    shown = Query.of(request)
    data = await asyncio.to_thread(_everything, shown, False)
    return web.Response(text=fragment(request, "memory_rows.html", shown=shown, **data), content_type="text/html")


@routes.get("/memory/stats")
async def stats_line(request: web.Request) -> web.Response:
    """The stats line alone: what the page fetches when the memories changed."""
    found = await asyncio.to_thread(stats)
    return web.Response(text=fragment(request, "memory_stats.html", stats=found), content_type="text/html")


@routes.get("/memory/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    """`memory` whenever the memories may have changed (the store's files were written)."""
    return await sse.serve(request, request.app[TOWERS].memory_messages())


@routes.post("/memory/remember")
async def remember(request: web.Request) -> web.StreamResponse:
    """`akasha remember`: text, kind, scope (default global), tags (separated by spaces or commas)."""
    form = await form_fields(request)
    tags = [tag for tag in form.get("tags", "").replace(",", " ").split() if tag]
    result = await asyncio.to_thread(lambda: memory.remember(
        form.get("text", ""), kind=form.get("kind") or "fact", tags=tags, scope=form.get("scope") or memory.GLOBAL,
        agent="dashboard"))
    stored = result["memory"]
    said = ("remembered" if result["created"] else f"already known, seen {stored['count']} times") + f": {stored['id']}"
    return done(request, f"/memory/{stored['id']}?said={_quoted(said)}", result)


@routes.get("/memory/{id}")
async def one(request: web.Request) -> web.Response:
    memory_id = request.match_info["id"]
    missing = memory.unavailable()
    if missing:
        raise OvermindError(missing)
    shown = await asyncio.to_thread(memory.show, memory_id)
    return page(request, "memory_one.html", active="memory", memory=shown, notice=request.query.get("said"))


@routes.post("/memory/{id}/forget")
async def forget(request: web.Request) -> web.StreamResponse:
    memory_id = request.match_info["id"]
    result = await asyncio.to_thread(memory.forget, [memory_id])
    if result.missing:
        from overmind.errors import NotFound

        raise NotFound(f"no memory '{memory_id}'", hint="see 'overmind akasha ls'")
    return done(request, f"/memory?said={_quoted(f'forgot {memory_id}')}", result.to_json())


@routes.get("/missions/{ref}/memories")
async def of_mission(request: web.Request) -> web.Response:
    """What an agent mission consulted at its start and fed when it ended (the mission event log)."""
    mission = await asyncio.to_thread(missions.resolve_mission, request.match_info["ref"])
    found = await asyncio.to_thread(memory.of_mission, mission.id)
    text = fragment(request, "mission_memories.html", found=found)
    return web.Response(text=text, content_type="text/html")


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


# -- the JSON API: `akasha recall --json` / `ls --json`, `show --json`, `stats --json` --------------
async def api_list(request: web.Request) -> web.Response:
    """?q=QUERY: `akasha recall --json`; without q, the newest (`akasha ls --json`); &n, &kind, &scope."""
    shown = Query.of(request)
    scopes = [shown["scope"]] if shown["scope"] else None
    if shown["q"]:
        found: Any = await asyncio.to_thread(lambda: memory.search(shown["q"], n=min(shown["n"], 100),
                                                                   kind=shown["kind"], scopes=scopes))
    else:
        listing = await asyncio.to_thread(lambda: memory.newest(kind=shown["kind"], scopes=scopes, limit=shown["n"]))
        found = listing.memories
    return web.json_response(found)


async def api_stats(request: web.Request) -> web.Response:
    return web.json_response(await asyncio.to_thread(memory.stats))


async def api_one(request: web.Request) -> web.Response:
    return web.json_response(await asyncio.to_thread(memory.show, request.match_info["id"]))


async def api_of_mission(request: web.Request) -> web.Response:
    mission = await asyncio.to_thread(missions.resolve_mission, request.match_info["ref"])
    return web.json_response((await asyncio.to_thread(memory.of_mission, mission.id)).to_json())
