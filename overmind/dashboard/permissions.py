"""Permission requests on the dashboard: what agents wait on (the tool and its whole input), with
Approve / Deny (a message for the agent), each asked for confirmation and sent with the CSRF token.

The panel heads the missions page and a mission's page; a page fetches it again when the change
feed says a request was asked or answered (`type: permission`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from overmind.control import permissions
from overmind.dashboard.forms import done, form_fields
from overmind.dashboard.render import fragment

routes = web.RouteTableDef()


def panel_data(ref: str | None = None) -> dict[str, Any]:
    """What the panel shows: the pending requests (of one mission), each input as readable JSON."""
    found = permissions.pending(ref)
    shown = [{"request": r, "data": r.to_json(), "input": json.dumps(r.record.input, indent=2, ensure_ascii=False)}
             for r in found]
    return {"requests": shown, "one_mission": ref is not None}


@routes.get("/permissions/panel")
async def panel(request: web.Request) -> web.Response:
    """The panel alone (`?mission=ID` for one mission's): what a page fetches on a change."""
    data = await asyncio.to_thread(panel_data, request.query.get("mission") or None)
    return web.Response(text=fragment(request, "permission_requests.html", **data), content_type="text/html")


def _back(form: dict[str, str], mission_id: str) -> str:
    """The page the form came from: the missions page or this mission's (nothing else)."""
    back = form.get("back", "")
    return back if back in ("/missions", f"/missions/{mission_id}") else f"/missions/{mission_id}"


@routes.post("/missions/{ref}/permissions/{number}/{verb:approve|deny}")
async def answer(request: web.Request) -> web.StreamResponse:
    """Approve (with `always=1`: and add its rule) or deny (with `message`) one pending request."""
    ref, number, verb = request.match_info["ref"], request.match_info["number"], request.match_info["verb"]
    form = await form_fields(request)
    if verb == "approve":
        always = form.get("always") in ("1", "true", "on")
        answered = await asyncio.to_thread(permissions.approve, ref, number, always, "dashboard")
    else:
        answered = await asyncio.to_thread(permissions.deny, ref, number, form.get("message") or None, "dashboard")
    return done(request, _back(form, answered.record.mission_id), answered.to_json())


# -- the JSON API ---------------------------------------------------------------------------------
@routes.get("/api/v1/permissions")
async def pending(request: web.Request) -> web.Response:
    """`permissions --json`: every request agents wait on."""
    found = await asyncio.to_thread(permissions.pending)
    return web.json_response([r.to_json() for r in found])


@routes.get("/api/v1/missions/{ref}/permissions")
async def of_mission(request: web.Request) -> web.Response:
    """`permissions NAME --json` (with ?all=1, `--all`: answered ones too)."""
    ref = request.match_info["ref"]
    call = permissions.history if request.query.get("all") == "1" else permissions.pending
    found = await asyncio.to_thread(call, ref)
    return web.json_response([r.to_json() for r in found])


routes.post("/api/v1/missions/{ref}/permissions/{number}/{verb:approve|deny}")(answer)
