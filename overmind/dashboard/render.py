"""Pages from jinja2 templates, autoescaped, with the filters every page uses."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader

from overmind import __version__
from overmind import format as fmt
from overmind.dashboard.guards import AUTH, SECRET

JINJA = web.AppKey("jinja", Environment)

# Where a person goes: (label, address, the `active` name its pages give).
NAVIGATION: list[tuple[str, str, str]] = [
    ("Missions", "/missions", "missions"),
    ("Blueprints", "/blueprints", "blueprints"),
    ("Worktrees", "/worktrees", "worktrees"),
    ("Memory", "/memory", "memory"),
    ("Rituals", "/rituals", "rituals"),
    ("Costs", "/costs", "costs"),
    ("Host", "/host", "host"),
    ("Hosts", "/hosts", "hosts"),
]
visible = fmt.caret  # control characters in caret notation (^[[31m): shown, never obeyed


def when(epoch: float | None) -> str:
    """Local time: 14:03:07 today, else 2026-01-31 14:03."""
    if epoch is None:
        return "-"
    moment = datetime.fromtimestamp(epoch)
    return moment.strftime("%H:%M:%S") if moment.date() == datetime.now().date() else moment.strftime("%Y-%m-%d %H:%M")


def relative(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    delta = epoch - time.time()
    return f"in {fmt.duration(delta)}" if delta >= 0 else f"{fmt.duration(-delta)} ago"


def usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def percent(part: float | None, whole: float | None) -> int | None:
    if part is None or not whole:
        return None
    return max(0, min(100, round(part * 100 / whole)))


def environment() -> Environment:
    env = Environment(loader=PackageLoader("overmind.dashboard", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(duration=fmt.duration, size=fmt.size, cpu=fmt.cpu, when=when, relative=relative,
                       visible=visible, usd=usd, truncate_line=fmt.truncate)
    env.globals.update(navigation=NAVIGATION, version=__version__, percent=percent)
    return env


def fragment(request: web.Request, template: str, **context: Any) -> str:
    """A template (or a piece of a page) rendered to text."""
    return request.app[JINJA].get_template(template).render(csrf=request.app[SECRET].csrf, **context)


def page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    return web.Response(text=fragment(request, template, **context), status=status, content_type="text/html")


def error_page(request: web.Request, status: int, message: str, hint: str | None) -> web.Response:
    return page(request, "error.html", status=status, status_code=status, message=message, hint=hint,
                active=None, signed_in=request.get(AUTH) is not None)
