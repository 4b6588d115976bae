"""The dashboard's aiohttp application and its server: pages, the JSON API, live streams.

Every route calls the control layer (`overmind.control`), the same functions as the CLI's
`--json`, and the live parts come from one change feed per process (`live.Hub`).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from overmind.control.dashboard_unit import Address
from overmind.dashboard import guards, render
from overmind.dashboard.live import HUB, Hub

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 256 * 1024  # a message to a session, a form: never more
ACTIVITY = web.AppKey("activity", dict)


def create_app(allowed_hosts: tuple[str, ...] = ()) -> web.Application:
    from overmind.dashboard import api, blueprints, hosts, memory, mission, missions, overview, rituals, rows, streams
    from overmind.dashboard import permissions as permission_pages
    from overmind.dashboard import worktrees as worktree_pages
    from overmind.dashboard.towers import TOWERS, Towers

    app = web.Application(middlewares=[_activity, *guards.MIDDLEWARES], client_max_size=MAX_BODY)
    app[guards.SECRET] = guards.Secret()
    app[guards.ALLOWED_HOSTS] = allowed_hosts
    app[guards.ERROR_PAGE] = render.error_page
    app[render.JINJA] = render.environment()
    app[ACTIVITY] = {"last": time.monotonic(), "open": 0}
    app[blueprints.LAST_APPLY] = {}
    app[HUB] = hub = Hub(lambda change: rows.decorate(app, hub, change))
    app[TOWERS] = Towers(hub)
    app.on_response_prepare.append(guards.headers)
    app.cleanup_ctx.append(_feed)
    # /missions/table before /missions/{ref}: the first route that matches serves.
    for module in (missions, mission, permission_pages, blueprints, worktree_pages, memory, rituals, overview, hosts,
                   streams, api):
        app.router.add_routes(module.routes)
    app.router.add_get("/", _home)
    app.router.add_static("/static/", STATIC, append_version=True)
    return app


async def _feed(app: web.Application) -> AsyncIterator[None]:
    from overmind.dashboard.towers import TOWERS

    await app[HUB].start()
    yield
    await app[TOWERS].close()
    await app[HUB].close()


async def _home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/missions")


@web.middleware
async def _activity(request: web.Request, handler: guards.Handler) -> web.StreamResponse:
    """Counts open requests (a page's live stream stays open), for the idle exit."""
    state = request.app[ACTIVITY]
    state["open"] += 1
    try:
        return await handler(request)
    finally:
        state["open"] -= 1
        state["last"] = time.monotonic()


# -- serving ----------------------------------------------------------------------------------
def inherited_socket() -> socket.socket | None:
    """The listening socket systemd passed (socket activation), if it passed one to us."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or int(os.environ.get("LISTEN_FDS", "0")) < 1:
        return None
    return socket.socket(fileno=3)


def serve(address: Address, announce: Callable[[str], None], socket_activated: bool = False,
          idle_exit: float | None = None) -> None:
    """Serve until interrupted (or, with `idle_exit`, until that long without any open request)."""
    try:
        asyncio.run(_serve(address, announce, socket_activated, idle_exit))
    except (web.GracefulExit, KeyboardInterrupt):
        pass  # SIGTERM (systemctl stop) or Ctrl-C: a clean stop


async def _serve(address: Address, announce: Callable[[str], None], socket_activated: bool,
                 idle_exit: float | None) -> None:
    from overmind.errors import OvermindError

    app = create_app(address.allowed_hosts)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    try:
        if socket_activated:
            inherited = inherited_socket()
            if inherited is None:
                raise OvermindError("--socket-activated, but systemd passed no socket",
                                    hint="start it through its socket: overmind dashboard install")
            site: web.BaseSite = web.SockSite(runner, inherited)
        else:
            site = web.TCPSite(runner, address.host, address.port, reuse_address=True)
        try:
            await site.start()
        except OSError as error:
            raise OvermindError(f"cannot listen on {address.listen}: {error.strerror}",
                                hint="is another dashboard running? choose another --port") from None
        host, port = _bound(runner, address)
        announce(Address(host, port, address.allowed_hosts).url)
        await _until_idle(app, idle_exit)
    finally:
        await runner.cleanup()


def _bound(runner: web.AppRunner, address: Address) -> tuple[str, int]:
    for bound in runner.addresses:
        if isinstance(bound, tuple) and len(bound) >= 2:
            return str(bound[0]), int(bound[1])
    return address.host, address.port


async def _until_idle(app: web.Application, idle_exit: float | None) -> None:
    state = app[ACTIVITY]
    while True:
        await asyncio.sleep(min(idle_exit / 4, 30.0) if idle_exit else 3600)
        if idle_exit and state["open"] == 0 and time.monotonic() - state["last"] >= idle_exit:
            return
