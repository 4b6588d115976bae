"""What agents spent, from the results they reported: per mission, per tree and per day.

An agent CLI reports its spending as a running total for its process (claude's
`total_cost_usd` grows turn by turn); a total lower than the one before means a new process
(a restart, a resumed session), whose total starts again from zero. Each result's increase is
counted on the day it was reported.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from overmind.store import Blueprint, Mission, Store, shared


class Spend(NamedTuple):
    """One agent mission's spending on one day."""

    mission_id: str
    name: str
    day: str  # YYYY-MM-DD, local time
    usd: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.mission_id, "name": self.name, "day": self.day, "usd": round(self.usd, 6)}


def _reported_totals(mission: Mission, store: Store) -> list[tuple[float, float]]:
    """(time, running total) of every result an agent mission reported that carries a cost."""
    found = []
    for event in store.events(mission.id, type="result"):
        try:
            data = json.loads(event.data)
        except ValueError:
            continue
        cost = data.get("total_cost_usd") if isinstance(data, dict) else None
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            found.append((event.at, float(cost)))
    return found


def spending(store: Store | None = None, missions: Iterable[Mission] | None = None) -> list[Spend]:
    """Every agent mission's spending (or these missions'), day by day (missions forgotten by
    `gc` are not counted)."""
    store = store or shared()
    found: list[Spend] = []
    for mission in store.all() if missions is None else missions:
        if mission.provider == "raw":
            continue
        per_day: dict[str, float] = defaultdict(float)
        previous = 0.0
        for at, total in _reported_totals(mission, store):
            increase = total - previous if total >= previous else total
            previous = total
            per_day[datetime.fromtimestamp(at).strftime("%Y-%m-%d")] += increase
        found += [Spend(mission.id, mission.name, day, usd) for day, usd in sorted(per_day.items())]
    return found


def by_mission(store: Store | None = None, missions: Iterable[Mission] | None = None) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for spend in spending(store, missions):
        totals[spend.mission_id] += spend.usd
    return dict(totals)


def by_day(store: Store | None = None) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for spend in spending(store):
        totals[spend.day] += spend.usd
    return dict(sorted(totals.items()))


def today(store: Store | None = None) -> float:
    return by_day(store).get(datetime.now().strftime("%Y-%m-%d"), 0.0)


def by_tree(store: Store | None = None, known: Sequence[Mission | Blueprint] | None = None) -> dict[str, float]:
    """Each mission's own spending plus that of everything below it (a blueprint's is its agents');
    of the `known` records if given (read once by the caller), else of every record."""
    from overmind.control.missions import records
    from overmind.mission.tree import Tree

    store = store or shared()
    known = records(store) if known is None else known
    own = by_mission(store, [r for r in known if isinstance(r, Mission)])
    family = Tree(known)
    return {record.id: own.get(record.id, 0.0) + sum(own.get(m.id, 0.0) for m in family.descendants(record))
            for record in family.by_id.values()}
