"""Who may ask, and how: the token (cookie or bearer), CSRF on every state change, the Host
header (against DNS rebinding), response headers, and errors as pages rather than tracebacks.

The first visit with `?token=` sets an HttpOnly, SameSite=Strict cookie and redirects to the same
URL without the token. A request authenticated by that cookie that changes anything (any method
but GET/HEAD) must carry the CSRF token (form field `csrf` or header `X-CSRF-Token`) and, when the
browser sends one, an Origin of this very host. A request with `Authorization: Bearer TOKEN`
cannot be forged by another site (browsers never add that header on their own), so it needs no
CSRF token.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from overmind.dashboard import token as secret
from overmind.errors import NotFound, OvermindError

COOKIE = "overmind_dashboard"
PUBLIC_PREFIX = "/static/"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger("overmind.dashboard")


class Secret:
    """The token as it is now: its file is looked at (one stat) on each request, so a rotated
    token takes effect at once."""

    def __init__(self) -> None:
        self._stamp: tuple[int, int] | None = None
        self._token = ""

    def current(self) -> str:
        try:
            info = os.stat(secret.path())
        except OSError:
            info = None
        stamp = (info.st_mtime_ns, info.st_ino) if info else None
        if stamp != self._stamp or not self._token:
            self._token = secret.ensure()
            self._stamp = stamp if info else None
        return self._token

    @property
    def cookie(self) -> str:
        return secret.derived(self.current(), "cookie")

    @property
    def csrf(self) -> str:
        return secret.derived(self.current(), "csrf")


ErrorPage = Callable[[web.Request, int, str, "str | None"], web.Response]
SECRET = web.AppKey("secret", Secret)
ALLOWED_HOSTS: web.AppKey[tuple[str, ...]] = web.AppKey("allowed_hosts")
ERROR_PAGE: web.AppKey[ErrorPage] = web.AppKey("error_page")
AUTH = web.RequestKey("auth", str)  # how the request proved it may ask: "cookie" or "bearer"


def host_allowed(header: str, allowed: tuple[str, ...]) -> bool:
    """An IP address, localhost, or a name given with --allow-host (any port): a page that a
    rebinding DNS name points at this server arrives with its own name and is refused."""
    try:
        host = urlsplit(f"//{header}").hostname if header else None
    except ValueError:  # e.g. an unclosed [ of an IPv6 address
        return False
    if not host:
        return False
    if host == "localhost" or host in allowed:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def refuse(request: web.Request, status: int, message: str, hint: str | None = None) -> web.Response:
    """An error as JSON for the API, as a page for a person."""
    if wants_json(request):
        return web.json_response({"error": message, "hint": hint}, status=status)
    return request.app[ERROR_PAGE](request, status, message, hint)


@web.middleware
async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Server-Timing: how long the server took (the benchmark reads it)."""
    started = time.perf_counter()
    response = await handler(request)
    if not response.prepared:
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown things are 404 pages, bad input one line, anything else a 500 without a traceback."""
    try:
        return await handler(request)
    except NotFound as error:
        return refuse(request, 404, error.message, error.hint)
    except OvermindError as error:
        return refuse(request, 400, error.message, error.hint)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        reason = {404: "no such page", 405: f"{request.method} is not allowed here",
                  413: "the request is too large"}.get(error.status, error.reason)
        return refuse(request, error.status, reason)
    except Exception as error:
        log.exception("request failed: %s %s", request.method, request.path)
        return refuse(request, 500, f"unexpected error: {type(error).__name__}", "the dashboard's log has details")


@web.middleware
async def hosts(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not host_allowed(request.headers.get("Host", ""), request.app[ALLOWED_HOSTS]):
        return refuse(request, 403, "this host name is not allowed",
                      "open the dashboard by IP address or localhost, or start it with --allow-host NAME")
    return await handler(request)


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PUBLIC_PREFIX):
        return await handler(request)
    keys: Secret = request.app[SECRET]
    given = request.query.get("token")
    if given is not None and request.method in SAFE_METHODS:
        if not secret.matches(given, keys.current()):
            return refuse(request, 401, "wrong token", "overmind dashboard url prints the right one")
        target = request.rel_url.with_query({k: v for k, v in request.query.items() if k != "token"})
        redirect = web.HTTPSeeOther(str(target))
        redirect.set_cookie(COOKIE, keys.cookie, httponly=True, samesite="Strict", path="/", secure=request.secure)
        raise redirect
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer ") and secret.matches(authorization[7:].strip(), keys.current()):
        request[AUTH] = "bearer"
    elif secret.matches(request.cookies.get(COOKIE), keys.cookie):
        request[AUTH] = "cookie"
    else:
        refused = refuse(request, 401, "this dashboard needs its token",
                         "open the URL that 'overmind dashboard url' prints")
        refused.headers["WWW-Authenticate"] = 'Bearer realm="overmind"'
        return refused
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in SAFE_METHODS or request.get(AUTH) != "cookie":
        return await handler(request)
    if not _same_origin(request):
        return refuse(request, 403, "this request comes from another site")
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        field = (await request.post()).get("csrf")
        given = field if isinstance(field, str) else None
    if not secret.matches(given, request.app[SECRET].csrf):
        return refuse(request, 403, "missing or wrong CSRF token", "reload the page and try again")
    return await handler(request)


def _same_origin(request: web.Request) -> bool:
    """No Origin (an old browser, a script), or this very host."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        return urlsplit(origin).netloc == request.host
    except ValueError:
        return False


async def headers(request: web.Request, response: web.StreamResponse) -> None:
    """No inline script or style, nothing from elsewhere, never framed, no address sent to other sites."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith(PUBLIC_PREFIX):
        response.headers.setdefault("Cache-Control", "no-store")


MIDDLEWARES = [timing, errors, hosts, authentication, csrf]
