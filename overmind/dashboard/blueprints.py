"""Blueprints: each pipeline's DAG drawn with its agents' live states, what applying its file
again would change (the diff), and the result of the last apply made here."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from overmind.control import blueprints, missions
from overmind.control.missions import View
from overmind.dashboard.forms import done
from overmind.dashboard.live import HUB
from overmind.dashboard.render import page
from overmind.dashboard.svg import dag
from overmind.errors import OvermindError

routes = web.RouteTableDef()
LAST_APPLY: web.AppKey[dict[str, dict[str, Any]]] = web.AppKey("last_apply")


def _blueprint(ref: str) -> View:
    view = missions.get(ref)
    if view.kind != "blueprint":
        raise web.HTTPSeeOther(f"/missions/{view.id}")
    return view


@routes.get("/blueprints")
async def blueprints_page(request: web.Request) -> web.Response:
    shown = await asyncio.to_thread(request.app[HUB].views)
    found = sorted((v for v in shown if v.kind == "blueprint"), key=lambda v: (v.status.finished, -v.created_at))
    return page(request, "blueprints.html", active="blueprints", blueprints=[v.to_json() for v in found])


def _diff(view: View) -> tuple[dict[str, Any] | None, str | None]:
    """What `overmind diff FILE` says now, or why it cannot tell (the file moved, is invalid...)."""
    file = view.to_json().get("file")
    if not file:
        return None, "this blueprint has no file on record"
    try:
        return blueprints.plan(blueprints.load(file)).to_json(), None
    except OvermindError as error:
        return None, error.message


def _page_data(ref: str) -> dict[str, Any]:
    from overmind.blueprint.progress import BlueprintView

    view = _blueprint(ref)
    assert isinstance(view, BlueprintView)
    diff, problem = _diff(view)
    return {"view": view, "data": view.to_json(), "graph": dag(blueprints.graph(view)), "diff": diff,
            "diff_problem": problem, "rituals": blueprints.scheduled_rituals(view.blueprint)}


@routes.get("/blueprints/{ref}")
async def blueprint_page(request: web.Request) -> web.Response:
    data = await asyncio.to_thread(_page_data, request.match_info["ref"])
    last = request.app[LAST_APPLY].get(data["view"].id)
    return page(request, "blueprint.html", active="blueprints", last_apply=last, **data)


@routes.get("/blueprints/{ref}/graph")
async def graph(request: web.Request) -> web.Response:
    """The drawing alone, from the feed's latest view: what a page fetches when an agent changes."""
    from overmind.blueprint.progress import BlueprintView
    ref = request.match_info["ref"]
    view = await asyncio.to_thread(lambda: request.app[HUB].view(ref) or _blueprint(ref))
    if not isinstance(view, BlueprintView):
        raise web.HTTPNotFound()
    return web.Response(text=str(dag(blueprints.graph(view))), content_type="text/html")


@routes.post("/blueprints/{ref}/apply")
async def apply(request: web.Request) -> web.StreamResponse:
    """Apply the blueprint's file again (as `overmind apply FILE`): the agents come to match it."""
    from overmind.control.host import ready

    view = await asyncio.to_thread(_blueprint, request.match_info["ref"])
    file = view.to_json().get("file")
    if not file:
        raise OvermindError("this blueprint has no file on record to apply")
    await asyncio.to_thread(ready, True)
    applied = await asyncio.to_thread(lambda: blueprints.apply(blueprints.load(file)))
    result = {**applied.plan.to_json(), "id": applied.record.id, "name": applied.record.name}
    request.app[LAST_APPLY][applied.record.id] = {"at": time.time(), **result}
    return done(request, f"/blueprints/{applied.record.id}", result)
