"""What agents spent, from the results they reported: per mission, per tree and per day.

An agent CLI reports its spending as a running total for its process (claude's
`total_cost_usd` grows turn by turn; a total lower than the one before means a new process, a
restart or a resumed session, whose total starts again from zero), or turn by turn (opencode);
codex and gemini report tokens, not money. Each result's cost is counted on the day it was
reported.
"""

from __future__ import annotations

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


def _reported_costs(mission: Mission, store: Store) -> tuple[list[tuple[float, float]], bool]:
    """(time, cost) of every result an agent mission reported with a cost, read by its provider: a
    running total for the CLI's process (claude), or the turn's own cost (opencode)."""
    from overmind.providers import get

    parser = get(mission.provider)
    found = []
    for event in store.events(mission.id, type="result"):
        parsed = parser.parse(event.data)
        cost = parsed.result.cost_usd if parsed is not None and parsed.result is not None else None
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            found.append((event.at, float(cost)))
    return found, parser.running_cost


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
        reported, running = _reported_costs(mission, store)
        for at, total in reported:
            increase = (total - previous if total >= previous else total) if running else total
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
