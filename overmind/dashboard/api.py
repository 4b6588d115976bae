"""`/api/v1/...`: the JSON of the CLI's `--json`, from the same control-layer calls (docs/json.md).

Reads are GET; actions are POST (with the CSRF token when authenticated by the cookie) and
answer as the CLI's `--json` does. `/api/v1/events` is the change feed as Server-Sent Events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from overmind.control import agents, blueprints, doctor, fleet, host, missions, quests, rituals, timeline
from overmind.control import logs as journal
from overmind.dashboard import forms, streams
from overmind.dashboard import hosts as hosts_routes
from overmind.dashboard import memory as memory_routes
from overmind.dashboard import mission as mission_routes
from overmind.dashboard import missions as missions_routes
from overmind.dashboard import rituals as ritual_routes
from overmind.dashboard import worktrees as worktree_routes
from overmind.dashboard.overview import spending_report
from overmind.errors import OvermindError

routes = web.RouteTableDef()
V1 = "/api/v1"


def _json(data: Any) -> web.Response:
    return web.json_response(data)


def _plain(found: Any) -> Any:
    """What a control-layer call returned, as JSON: its objects by their `to_json()`."""
    if isinstance(found, list):
        return [_plain(item) for item in found]
    to_json = getattr(found, "to_json", None)
    return to_json() if callable(to_json) else found


async def _answer(call: Callable[..., Any], *args: Any) -> web.Response:
    """Run a (blocking) control-layer call in a worker thread and answer with its JSON."""
    return _json(_plain(await asyncio.to_thread(call, *args)))


def _count(request: web.Request, key: str) -> int | None:
    text = request.query.get(key)
    if text is None:
        return None
    if not text.isdigit():
        raise OvermindError(f"invalid {key} {text!r}: give a whole number")
    return int(text)


@routes.get(f"{V1}/missions")
async def list_missions(request: web.Request) -> web.Response:
    """`ps --json` (?all=1, ?tree=1, ?children=ID|NAME); with ?hosts=all|A,B `ps --hosts --json`."""
    spec = request.query.get("hosts")
    if spec is not None:
        return await asyncio.to_thread(hosts_routes.across, spec, request.query.get("all") == "1")
    return await _answer(missions.listing, request.query.get("all") == "1", request.query.get("children"),
                         request.query.get("tree") == "1")


@routes.get(f"{V1}/missions/{{ref}}")
async def one_mission(request: web.Request) -> web.Response:
    """`info --json` (of another host's mission for `HOST:NAME`)."""
    elsewhere = fleet.remote_ref(request.match_info["ref"])
    if elsewhere is not None:
        return await hosts_routes.remote_info(*elsewhere)
    return await _answer(missions.get, request.match_info["ref"])


@routes.get(f"{V1}/missions/{{ref}}/logs")
async def mission_logs(request: web.Request) -> web.Response:
    """`logs --json` as one array (?lines=N, ?since=TIME)."""
    ref, count, since = request.match_info["ref"], _count(request, "lines"), request.query.get("since")

    def read() -> list[dict[str, Any]]:
        selection = journal.select(ref)
        found = journal.lines(selection, count=count, since=journal.parse_since(since) if since else None)
        return list(journal.to_json(found))

    return _json(await asyncio.to_thread(read))


@routes.get(f"{V1}/missions/{{ref}}/events")
async def mission_events(request: web.Request) -> web.Response:
    """An agent's events after ?after=SEQ, as recorded."""
    return await _answer(agents.events, request.match_info["ref"], _count(request, "after") or 0)


@routes.get(f"{V1}/missions/{{ref}}/timeline")
async def mission_timeline(request: web.Request) -> web.Response:
    """What the agent did, step by step, with each turn's cost."""
    return await _answer(timeline.timeline, request.match_info["ref"], _count(request, "after") or 0)


@routes.get(f"{V1}/missions/{{ref}}/result")
async def mission_result(request: web.Request) -> web.Response:
    """`result --json`."""
    return await _answer(agents.result, request.match_info["ref"])


@routes.get(f"{V1}/quests")
async def list_quests(request: web.Request) -> web.Response:
    return await _answer(quests.quests, _count(request, "last"))


@routes.get(f"{V1}/blueprints/{{ref}}/graph")
async def blueprint_graph(request: web.Request) -> web.Response:
    from overmind.blueprint.progress import BlueprintView

    view = await asyncio.to_thread(missions.get, request.match_info["ref"])
    if not isinstance(view, BlueprintView):
        raise OvermindError(f"'{view.name}' is a mission, not a blueprint")
    return _json(blueprints.graph(view))


@routes.get(f"{V1}/blueprints/{{ref}}/diff")
async def blueprint_diff(request: web.Request) -> web.Response:
    """`diff --json` of the blueprint's file."""
    view = await asyncio.to_thread(missions.get, request.match_info["ref"])
    file = view.to_json().get("file")
    if not file:
        raise OvermindError(f"'{view.name}' is not a blueprint with a file")
    plan = await asyncio.to_thread(lambda: blueprints.plan(blueprints.load(file)))
    return _json(plan.to_json())


routes.get(f"{V1}/worktrees")(worktree_routes.api_rows)
routes.get(f"{V1}/worktrees/{{name}}")(worktree_routes.api_one)
routes.get(f"{V1}/memory")(memory_routes.api_list)
routes.get(f"{V1}/memory/stats")(memory_routes.api_stats)
routes.get(f"{V1}/memory/{{id}}")(memory_routes.api_one)
routes.get(f"{V1}/missions/{{ref}}/memories")(memory_routes.api_of_mission)


@routes.get(f"{V1}/rituals")
async def list_rituals(request: web.Request) -> web.Response:
    return await _answer(rituals.listing)


@routes.get(f"{V1}/costs")
async def spending(request: web.Request) -> web.Response:
    return await _answer(spending_report)


@routes.get(f"{V1}/status")
async def status(request: web.Request) -> web.Response:
    return await _answer(host.status)


@routes.get(f"{V1}/doctor")
async def checks(request: web.Request) -> web.Response:
    return await _answer(doctor.run_all)


@routes.get(f"{V1}/counts")
async def counts(request: web.Request) -> web.Response:
    return await _answer(missions.counts)


# -- actions: the same handlers as the pages' forms, answering JSON ------------------------------
routes.post(f"{V1}/missions")(missions_routes.run_mission)
routes.post(f"{V1}/missions/{{ref}}/{{action:stop|kill|restart}}")(mission_routes.act)
routes.post(f"{V1}/missions/{{ref}}/send")(mission_routes.send)
routes.post(f"{V1}/rituals/{{name}}/{{action:run|enable|disable}}")(ritual_routes.act)
routes.post(f"{V1}/gc")(missions_routes.collect)
routes.post(f"{V1}/worktrees/{{name}}/merge")(worktree_routes.merge)
routes.post(f"{V1}/worktrees/{{name}}/remove")(worktree_routes.remove)
routes.post(f"{V1}/memory")(memory_routes.remember)
routes.post(f"{V1}/memory/{{id}}/forget")(memory_routes.forget)
routes.get(f"{V1}/events")(streams.changes)


@routes.post(f"{V1}/missions/{{ref}}/send/wait")
async def send_and_wait(request: web.Request) -> web.Response:
    """`send --wait --json`: the message, then the result of the turn it started."""
    ref = request.match_info["ref"]
    text = (await forms.form_fields(request)).get("text", "")
    return await _answer(agents.send, ref, text, True)

