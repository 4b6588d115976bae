"""Rituals: each schedule with its next and last run and result; run now, enable, disable."""

from __future__ import annotations

import asyncio

from aiohttp import web

from overmind.control import rituals
from overmind.dashboard.forms import done
from overmind.dashboard.render import page

routes = web.RouteTableDef()


@routes.get("/rituals")
async def rituals_page(request: web.Request) -> web.Response:
    found = await asyncio.to_thread(rituals.listing)
    return page(request, "rituals.html", active="rituals", rituals=[r.to_json() for r in found])


ACTIONS = {"run": rituals.run_now, "enable": rituals.enable, "disable": rituals.disable}


@routes.post("/rituals/{name}/{action:run|enable|disable}")
async def act(request: web.Request) -> web.StreamResponse:
    name, action = request.match_info["name"], request.match_info["action"]
    ritual = await asyncio.to_thread(ACTIONS[action], name)
    return done(request, "/rituals", {"name": ritual.name, "action": action})
