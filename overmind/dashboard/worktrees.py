"""Worktrees: every worktree grouped by repository, live; one worktree's diff per file (paged,
so a diff of thousands of lines opens at once), its commits, and merge / remove."""

from __future__ import annotations

import asyncio
from itertools import groupby
from typing import Any

from aiohttp import web

from overmind.control import worktrees
from overmind.dashboard import sse
from overmind.dashboard.forms import done, form_fields
from overmind.dashboard.guards import wants_json
from overmind.dashboard.live import HUB
from overmind.dashboard.render import fragment, page
from overmind.dashboard.towers import TOWERS
from overmind.errors import OvermindError

routes = web.RouteTableDef()
PAGE_LINES = 500  # a file's lines drawn at a time; "more" draws the next ones
INLINE_BUDGET = 2000  # lines drawn with the page; files beyond it open (and draw) when asked


def mission_states(request: web.Request) -> dict[str, dict[str, str]]:
    """Each known mission's id and status by name, as the change feed last saw them (the
    worktree watch holds the feed while worktree pages are served)."""
    found: dict[str, dict[str, str]] = {}
    feed = request.app[HUB].feed
    for view in feed.snapshot() if feed is not None else []:
        if view.kind == "mission":
            found[view.name] = {"id": view.id, "state": view.status.state, "label": view.status.label}
    return found


def groups(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Rows by repository, repositories and their worktrees in a steady order."""
    ordered = sorted(rows, key=lambda row: (row["repo"], -row["created_at"]))
    return [(repo, list(members)) for repo, members in groupby(ordered, key=lambda row: row["repo"])]


async def _rows(request: web.Request, name: str | None = None) -> list[dict[str, Any]]:
    towers = request.app[TOWERS]
    await towers.worktrees.ensure()  # cached work, kept current while pages follow it
    return await asyncio.to_thread(towers.board.rows, name)


@routes.get("/worktrees")
async def worktrees_page(request: web.Request) -> web.Response:
    rows = await _rows(request)
    return page(request, "worktrees.html", active="worktrees", groups=groups(rows), states=mission_states(request),
                notice=_notice(request))


@routes.get("/worktrees/table")
async def table(request: web.Request) -> web.Response:
    """The table's groups alone: what the page fetches when the stream says rows changed."""
    rows = await _rows(request)
    text = fragment(request, "worktree_rows.html", groups=groups(rows), states=mission_states(request))
    return web.Response(text=text, content_type="text/html")


def _notice(request: web.Request) -> str | None:
    """What the last action did, as its redirect said it (shown escaped)."""
    query = request.query
    if "removed" in query:
        saved = query.get("saved")
        return f"removed worktree {query['removed']}" + (
            f"; its work is saved as {saved} (git checkout -b NAME {saved})" if saved else "")
    if "merged" in query:
        return query["merged"]
    return None


def _review(name: str, row: dict[str, Any]) -> dict[str, Any]:
    found = worktrees.review(name) if not row["missing"] else worktrees.Review(name, [], [])
    files, commits = found.files, found.commits
    budget = INLINE_BUDGET
    shown = []
    for file in files:
        inline = budget > 0
        shown.append({"file": file, "inline": inline, "lines": file.lines[:PAGE_LINES] if inline else ()})
        budget -= min(len(file.lines), PAGE_LINES) if inline else 0
    return {"files": shown, "commits": commits,
            "added": sum(f.added or 0 for f in files), "removed": sum(f.removed or 0 for f in files)}


@routes.get("/worktrees/{name}")
async def worktree_page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    row = (await _rows(request, name))[0]
    review = await asyncio.to_thread(_review, name, row)
    return page(request, "worktree.html", active="worktrees", row=row, states=mission_states(request),
                notice=_notice(request), page_lines=PAGE_LINES, **review)


@routes.get("/worktrees/{name}/summary")
async def summary(request: web.Request) -> web.Response:
    """The facts, the commits and the diff again: what the page fetches when the stream says it changed."""
    name = request.match_info["name"]
    row = (await _rows(request, name))[0]
    review = await asyncio.to_thread(_review, name, row)
    text = fragment(request, "worktree_body.html", row=row, states=mission_states(request), page_lines=PAGE_LINES,
                    **review)
    return web.Response(text=text, content_type="text/html")


@routes.get("/worktrees/{name}/file")
async def file_lines(request: web.Request) -> web.Response:
    """The next page of one file's lines (?path=P&from=N)."""
    name, path = request.match_info["name"], request.query.get("path", "")
    start = request.query.get("from", "0")
    if not start.isdigit():
        raise OvermindError(f"invalid line number {start!r}")
    found = await asyncio.to_thread(worktrees.files, name)
    file = next((f for f in found if f.path == path), None)
    if file is None:
        raise web.HTTPNotFound()
    first = int(start)
    text = fragment(request, "diff_lines.html", name=name, file=file, lines=file.lines[first:first + PAGE_LINES],
                    next_from=first + PAGE_LINES if first + PAGE_LINES < len(file.lines) else None)
    return web.Response(text=text, content_type="text/html")


@routes.get("/worktrees/{name}/stream")
async def one_stream(request: web.Request) -> web.StreamResponse:
    """`worktrees` when this worktree's row changed (its git state is looked at every few
    seconds while the page is open)."""
    return await sse.serve(request, request.app[TOWERS].worktree_messages(request.match_info["name"]))


@routes.get("/worktrees-stream")
async def all_stream(request: web.Request) -> web.StreamResponse:
    """`worktrees` {names, all} whenever rows changed, or worktrees came or went."""
    return await sse.serve(request, request.app[TOWERS].worktree_messages(None))


@routes.post("/worktrees/{name}/merge")
async def merge(request: web.Request) -> web.StreamResponse:
    """`worktree merge`: into its base; with conflicts nothing changes and they are listed."""
    name = request.match_info["name"]
    result = await asyncio.to_thread(worktrees.merge, name, None)
    request.app[TOWERS].changed(name)
    data = result.to_json()
    if result.conflicts:
        if wants_json(request) or request.headers.get("X-CSRF-Token"):
            return web.json_response(data, status=409)
        raise OvermindError(f"merging {result.branch} into {result.into} conflicts in: {', '.join(result.conflicts)}",
                            hint=f"nothing was changed: resolve it in the worktree (e.g. merge {result.into} there), "
                                 "then merge again")
    if result.already:
        said = f"{result.branch} is already merged into {result.into}"
    else:
        said = f"merged {result.branch} into {result.into} ({(result.commit or '')[:12]})"
    if result.uncommitted:
        said += f"; {result.uncommitted} uncommitted change(s) in the worktree were not part of the merge"
    return done(request, f"/worktrees/{name}?merged={_quoted(said)}", data)


@routes.post("/worktrees/{name}/remove")
async def remove(request: web.Request) -> web.StreamResponse:
    """`worktree rm` (with force="1": `--force`, the work saved as a ref first)."""
    name = request.match_info["name"]
    force = (await form_fields(request)).get("force") in ("1", "true", "on")
    result = await asyncio.to_thread(worktrees.remove, name, force)
    request.app[TOWERS].changed(name)
    target = f"/worktrees?removed={_quoted(name)}" + (f"&saved={_quoted(result.saved)}" if result.saved else "")
    return done(request, target, result.to_json())


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


async def api_rows(request: web.Request) -> web.Response:
    """`worktree ls --json`."""
    return web.json_response(await _rows(request))


async def api_one(request: web.Request) -> web.Response:
    """One worktree's row, its diff per file and its commits (`worktree diff --json`)."""
    name = request.match_info["name"]
    row = (await _rows(request, name))[0]
    review = await asyncio.to_thread(worktrees.review, name)
    return web.json_response({**row, **review.to_json()})
