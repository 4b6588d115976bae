"""The hosts page: every host `hosts ls` knows, with its facts, and the missions of all of them
(or of one, `?host=NAME`) in one table with a host column, each with stop / kill / restart.

Every host is asked at once and answers for itself (overmind.control.fleet): a host that does
not answer is one line, and never holds the others'. What a host sends is hostile input; the
templates escape it and show its control characters as text.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from aiohttp import web

from overmind.control import fleet, hosts
from overmind.dashboard.forms import done, form_fields
from overmind.dashboard.render import page

routes = web.RouteTableDef()


def _spec(request: web.Request, key: str) -> str | None:
    return request.query.get(key, "").strip() or None


@routes.get("/hosts")
async def hosts_page(request: web.Request) -> web.Response:
    chosen = _spec(request, "host")
    listed, found = await asyncio.gather(asyncio.to_thread(hosts.listing),
                                         asyncio.to_thread(fleet.missions, chosen or "all"))
    return page(request, "hosts.html", active="hosts", hosts=[h.to_json() for h in listed], chosen=chosen,
                rows=found.rows, unreachable=found.unreachable)


@routes.get("/api/v1/hosts")
async def hosts_json(request: web.Request) -> web.Response:
    """`hosts ls --json` (?hosts=all|A,B)."""
    listed = await asyncio.to_thread(hosts.listing, _spec(request, "hosts"))
    return web.json_response([h.to_json() for h in listed])


def across(spec: str, include_killed: bool) -> web.Response:
    """`ps --hosts SPEC --json`; the hosts that did not answer in a header, one `HOST: why` each."""
    found = fleet.missions(spec, include_killed=include_killed)
    response = web.json_response(found.to_json())
    if found.unreachable:
        response.headers["X-Overmind-Unreachable"] = "; ".join(f"{host}: {why}" for host, why in found.unreachable)
    return response


async def remote_info(host: str, name: str) -> web.Response:
    return web.json_response(await asyncio.to_thread(fleet.info, host, name))


async def remote_act(request: web.Request, host: str, name: str, action: str) -> web.StreamResponse:
    """stop / kill / restart on another host: that host's own command; back to the hosts page."""
    form = await form_fields(request)
    cascade = form.get("cascade") in ("1", "true", "on")
    answer = await asyncio.to_thread(fleet.act, host, name, action, cascade)
    return done(request, f"/hosts?host={quote(host)}", answer)
