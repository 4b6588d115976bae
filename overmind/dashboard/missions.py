"""The missions table: what needs you first, live; starting a mission; collecting finished ones.

The table is drawn from the change feed's latest views (memory and CPU read afresh from
cgroupfs), so showing it asks systemd nothing: the feed already did, once, when systemd
signalled a change.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from overmind.control import lifecycle
from overmind.dashboard.forms import done, form_fields
from overmind.dashboard.live import HUB
from overmind.dashboard.permissions import panel_data
from overmind.dashboard.render import fragment, page
from overmind.dashboard.rows import Line, board

routes = web.RouteTableDef()


def _flags(request: web.Request) -> tuple[bool, bool]:
    return request.query.get("tree") == "1", request.query.get("all") == "1"


async def _lines(request: web.Request, tree: bool, show_all: bool) -> list[Line]:
    hub = request.app[HUB]
    return await asyncio.to_thread(lambda: board(hub.views(), tree, show_all))


@routes.get("/missions")
async def missions_page(request: web.Request) -> web.Response:
    tree, show_all = _flags(request)
    lines = await _lines(request, tree, show_all)
    asking = await asyncio.to_thread(panel_data)
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.view.status.state] = counts.get(line.view.status.state, 0) + 1
    return page(request, "missions.html", active="missions", lines=lines, tree=tree, show_all=show_all,
                counts=counts, needing=sum(line.needs_you is not None for line in lines),
                home=os.path.expanduser("~"), **asking)


@routes.get("/missions/table")
async def missions_table(request: web.Request) -> web.Response:
    """The table's body alone: what a page fetches when rows come, go or change places."""
    tree, show_all = _flags(request)
    lines = await _lines(request, tree, show_all)
    return web.Response(text=fragment(request, "missions_rows.html", lines=lines), content_type="text/html")


# -- starting and collecting -------------------------------------------------------------------
RUN_FIELDS = ("name", "type", "provider", "cwd", "memory_max", "cpu_quota", "timeout", "activity_timeout",
              "restart", "max_restarts", "model", "parent")


def spec_from_form(form: dict[str, str]) -> Any:
    """A mission spec from the run form's strings, checked exactly as `overmind run` checks them."""
    from overmind.errors import OvermindError
    from overmind.mission.build import build_spec

    command = form.get("command", "").strip()
    provider = form.get("provider") or "raw"
    if not command and not (provider != "raw" and form.get("type") == "session"):
        raise OvermindError("give a command to run (or, for an agent, its prompt)")
    options: dict[str, Any] = {key: form[key].strip() for key in RUN_FIELDS if form.get(key, "").strip()}
    if "max_restarts" in options:
        try:
            options["max_restarts"] = int(options["max_restarts"])
        except ValueError:
            raise OvermindError(f"invalid max restarts {options['max_restarts']!r}: give a whole number") from None
    options.setdefault("cwd", os.path.expanduser("~"))
    if not os.path.isabs(options["cwd"]):
        raise OvermindError(f"the working directory must be an absolute path, not {options['cwd']!r}")
    env = [line.strip() for line in form.get("env", "").splitlines() if line.strip()]
    return build_spec([command] if command else [], env=env, **options)


@routes.post("/missions")
async def run_mission(request: web.Request) -> web.StreamResponse:
    from overmind.control.launch import launch

    spec = spec_from_form(await form_fields(request))
    launched = await asyncio.to_thread(launch, spec)
    target = f"/missions/{launched.mission.id}"
    if launched.warnings:
        target += "?" + urlencode([("warning", warning) for warning in launched.warnings])
    return done(request, target, launched.to_json())


@routes.post("/gc")
async def collect(request: web.Request) -> web.StreamResponse:
    removed = await asyncio.to_thread(lifecycle.collect)
    return done(request, "/missions", [r.to_json() for r in removed])
