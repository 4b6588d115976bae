"""Table rows as pages show them, and as the change feed's messages carry them (drawn once for
every open page)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from aiohttp import web

from overmind.control import attention, costs
from overmind.control.missions import Row, View, arrange, record_of
from overmind.dashboard.guards import SECRET
from overmind.dashboard.render import JINJA

if TYPE_CHECKING:
    from overmind.control.feed import Change
    from overmind.dashboard.live import Hub


class Line(NamedTuple):
    """One row of the table: the listing's row, why it needs you (if it does), what it cost."""

    row: Row
    needs_you: str | None
    cost_usd: float | None

    @property
    def view(self) -> View:
        return self.row.view


def board(views: list[View], tree: bool, show_all: bool) -> list[Line]:
    """The rows as `ps` orders them (with `tree`, parents above children), and without a tree
    what needs a person first. Runs in a worker thread (it reads the store)."""
    rows = arrange(views, include_killed=show_all, tree=tree)
    if not tree:
        rows = attention.first(rows)
    spent = costs.by_tree(known=[record_of(v) for v in views])
    return [Line(row, attention.needs_you(row.view), spent.get(row.view.id) or None) for row in rows]


def decorate(app: web.Application, hub: Hub, change: Change) -> dict[str, Any]:
    """What a change's SSE message carries besides its JSON: the table row, drawn once for every
    open page (runs in a worker thread)."""
    if change.kind not in ("mission", "blueprint"):
        if change.kind == "ritual" and change.data is not None:
            return {"html": ritual_row(app, change.data)}
        return {}
    view = hub.view(change.id)
    if view is None:
        return {}
    known = [record_of(v) for v in hub.snapshot()]  # the feed's records: no store read for them
    line = Line(Row(view), attention.needs_you(view), costs.by_tree(known=known).get(view.id) or None)
    template = app[JINJA].get_template("missions_rows.html")
    return {"html": template.render(lines=[line], csrf=app[SECRET].csrf), "needs_you": line.needs_you}


def ritual_row(app: web.Application, data: dict[str, Any]) -> str:
    """One ritual's table row (for a change's SSE message)."""
    return app[JINJA].get_template("ritual_rows.html").render(rituals=[data], csrf=app[SECRET].csrf)
