"""Reading what a form (or a JSON body) posted, and answering an action."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from overmind.dashboard.guards import wants_json
from overmind.errors import OvermindError


async def form_fields(request: web.Request) -> dict[str, str]:
    """The posted form (or JSON object) as strings."""
    if request.content_type == "application/json":
        data = await request.json()
        if not isinstance(data, dict):
            raise OvermindError("send a JSON object")
        return {str(k): v if isinstance(v, str) else str(v) for k, v in data.items() if v is not None}
    posted = await request.post()
    return {k: v for k, v in posted.items() if isinstance(v, str)}


def done(request: web.Request, target: str, data: Any) -> web.StreamResponse:
    """After an action: JSON for a script or a page's fetch, back to a page for a form."""
    if wants_json(request) or request.headers.get("X-CSRF-Token"):
        return web.json_response(data)
    raise web.HTTPSeeOther(target)
