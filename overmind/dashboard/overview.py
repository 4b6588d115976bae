"""The costs page (what agents spent, per day, mission and tree, as charts) and the host page
(systemd, the manager in use, journald, the doctor's checks)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from overmind.control import costs, doctor, host
from overmind.control.missions import records
from overmind.dashboard.render import page, usd
from overmind.dashboard.svg import bars, columns

routes = web.RouteTableDef()
DAYS = 30
TOP = 15


def spending_report() -> dict[str, Any]:
    """Everything the costs page shows (and `/api/v1/costs` returns)."""
    spent = costs.spending()
    per_day = costs.by_day()
    per_tree = costs.by_tree()
    known = {r.id: r for r in records()}
    per_mission: dict[str, float] = {}
    names: dict[str, str] = {}
    for item in spent:
        per_mission[item.mission_id] = per_mission.get(item.mission_id, 0.0) + item.usd
        names[item.mission_id] = item.name
    roots = {rid: usd_ for rid, usd_ in per_tree.items() if usd_ > 0 and rid in known and known[rid].parent is None}
    return {
        "today_usd": costs.today(), "total_usd": sum(per_mission.values()), "by_day": per_day,
        "by_mission": [{"id": mid, "name": names[mid], "usd": total}
                       for mid, total in sorted(per_mission.items(), key=lambda kv: -kv[1])],
        "by_tree": [{"id": rid, "name": known[rid].name, "usd": total}
                    for rid, total in sorted(roots.items(), key=lambda kv: -kv[1])],
        "spending": [s.to_json() for s in spent],
    }


def _last_days(per_day: dict[str, float]) -> list[tuple[str, float]]:
    today = date.today()
    days = [(today - timedelta(days=n)).isoformat() for n in range(DAYS - 1, -1, -1)]
    return [(day, per_day.get(day, 0.0)) for day in days]


@routes.get("/costs")
async def costs_page(request: web.Request) -> web.Response:
    report = await asyncio.to_thread(spending_report)
    charts = {
        "days": columns(_last_days(report["by_day"]), usd),
        "missions": bars([(m["name"], m["usd"], f"/missions/{m['id']}") for m in report["by_mission"][:TOP]], usd),
        "trees": bars([(t["name"], t["usd"], f"/missions/{t['id']}") for t in report["by_tree"][:TOP]], usd),
    }
    return page(request, "costs.html", active="costs", report=report, charts=charts, days=DAYS, top=TOP)


@routes.get("/host")
async def host_page(request: web.Request) -> web.Response:
    facts, checks = await asyncio.gather(asyncio.to_thread(host.status), asyncio.to_thread(doctor.run_all))
    return page(request, "host.html", active="host", facts=facts, checks=[c.to_json() for c in checks])
