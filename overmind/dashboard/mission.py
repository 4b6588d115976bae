"""One mission's page: everything `info` shows, its logs (live, searchable), an agent's timeline,
a session's message box, and stop / kill / restart."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from overmind.control import agents, attention, costs, fleet, lifecycle, missions, timeline
from overmind.control import logs as journal
from overmind.control.missions import View
from overmind.dashboard.forms import done, form_fields
from overmind.dashboard.live import HUB
from overmind.dashboard.permissions import panel_data
from overmind.dashboard.render import fragment, page

routes = web.RouteTableDef()
LOG_LINES = 300  # shown when the page opens; the rest is a search away
SEARCH_MATCHES = 1000
TIMELINE_STEPS = 300


def _logs(ident: str, query: str) -> tuple[list[journal.Entry], int | None]:
    """The last lines, or with a query the last lines that contain it (case-insensitive), and
    how many matched."""
    selection = journal.select(ident)
    if not query:
        return list(journal.lines(selection, count=LOG_LINES)), None
    needle = query.casefold()
    matches = [entry for entry in journal.lines(selection) if needle in entry.message.casefold()]
    return matches[-SEARCH_MATCHES:], len(matches)


def _facts(view: View) -> dict[str, Any]:
    """What the facts panel shows besides the view's JSON."""
    spent = costs.by_tree().get(view.id) or None
    return {"view": view, "data": view.to_json(), "needs_you": attention.needs_you(view), "cost_usd": spent}


def _page_data(ref: str, query: str) -> dict[str, Any]:
    view = missions.get(ref)
    if view.kind == "blueprint":
        raise web.HTTPSeeOther(f"/blueprints/{view.id}")
    data = view.to_json()
    entries, matched = _logs(view.id, query)
    agent = data["provider"] != "raw"
    steps = timeline.timeline(view.id)[-TIMELINE_STEPS:] if agent else []
    children = missions.listing(children_of=view.id, include_killed=True)
    asking = panel_data(view.id) if agent else {"requests": [], "one_mission": True}
    return {**_facts(view), **asking, "entries": entries, "matched": matched, "steps": steps, "children": children,
            "agent": agent, "talks": data["type"] == "session",
            "last_seq": max((s.seq or 0 for s in steps), default=0)}


@routes.get("/missions/{ref}")
async def mission_page(request: web.Request) -> web.Response:
    import time

    query = request.query.get("q", "").strip()
    opened = time.time()
    data = await asyncio.to_thread(_page_data, request.match_info["ref"], query)
    cursor = next((e.cursor for e in reversed(data["entries"]) if e.cursor), None) if not query else None
    # A start form's warnings (limits this host will not enforce) come along with its redirect.
    warnings = request.query.getall("warning", [])
    return page(request, "mission.html", active="missions", query=query, cursor=cursor, opened=opened,
                warnings=warnings, **data)


@routes.get("/missions/{ref}/facts")
async def facts(request: web.Request) -> web.Response:
    """The facts panel alone, from the feed's latest view: what a page fetches on a change."""
    ref = request.match_info["ref"]
    view = await asyncio.to_thread(lambda: request.app[HUB].view(ref) or missions.get(ref))
    data = await asyncio.to_thread(_facts, view)
    return web.Response(text=fragment(request, "mission_facts.html", **data), content_type="text/html")


@routes.post("/missions/{ref}/{action:stop|kill|restart}")
async def act(request: web.Request) -> web.StreamResponse:
    ref, action = request.match_info["ref"], request.match_info["action"]
    elsewhere = fleet.remote_ref(ref)
    if elsewhere is not None:
        from overmind.dashboard.hosts import remote_act

        return await remote_act(request, *elsewhere, action)
    form = await form_fields(request)
    cascade = form.get("cascade") in ("1", "true", "on")
    if action == "restart":
        mission = await asyncio.to_thread(lifecycle.restart, ref)
        return done(request, f"/missions/{mission.id}", [{"id": mission.id, "name": mission.name,
                                                          "unit": mission.unit}])
    chosen = await asyncio.to_thread(lifecycle.targets, [ref], False, action)
    end = lifecycle.stop if action == "stop" else lifecycle.kill
    ended = await asyncio.to_thread(end, chosen, cascade)
    return done(request, f"/missions/{chosen[0].id}", [e.to_json() for e in ended])


@routes.post("/missions/{ref}/send")
async def send(request: web.Request) -> web.StreamResponse:
    """Hand a message to a session; its reply streams into the page's timeline."""
    ref = request.match_info["ref"]
    text = (await form_fields(request)).get("text", "")
    sent = await asyncio.to_thread(agents.send, ref, text)
    mission = await asyncio.to_thread(missions.resolve_mission, ref)
    return done(request, f"/missions/{mission.id}", sent.to_json())
