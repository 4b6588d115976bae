"""Agents' results and quests (one-shot missions) with theirs, as `quest ls`, `result` and the
dashboard show them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from overmind.control.missions import views
from overmind.mission.view import MissionView
from overmind.store import Mission, Store, shared

if TYPE_CHECKING:
    from overmind.providers import Result


def last_result(mission: Mission, store: Store | None = None) -> Result | None:
    """The newest result an agent mission reported (None for plain commands)."""
    if mission.provider == "raw":
        return None
    from overmind.providers import get as provider

    parser = provider(mission.provider)
    stored = (store or shared()).events_newest_first(mission.id)
    return next((event.result for item in stored
                 if (event := parser.parse(item.data)) is not None and event.result is not None), None)


class Quest(NamedTuple):
    view: MissionView
    result: Result | None

    def to_json(self) -> dict[str, Any]:
        import time

        mission, status = self.view.mission, self.view.status
        if status.finished:
            end = mission.last_exit.at if mission.last_exit else None
            duration = end - mission.created_at if end else None
        else:
            duration = time.time() - (self.view.started_at or mission.created_at)
        return {
            "id": mission.id, "name": mission.name, "status": status.state, "reason": status.reason or None,
            "exit_code": status.exit_code if status.finished else None,
            "duration_s": round(duration, 3) if duration is not None else None,
            # What the agent reported it cost; a raw command costs nothing that overmind can see.
            "cost_usd": self.result.cost_usd if self.result else None, "provider": mission.provider,
            "created_at": mission.created_at, "command": mission.command,
        }


def quests(last: int | None = None, store: Store | None = None) -> list[Quest]:
    """Quests (one-shot missions), oldest first; the `last` N only if given."""
    store = store or shared()
    chosen = [m for m in store.all() if m.type == "quest"]
    found = views(chosen[-last:] if last else chosen, store)
    return [Quest(v, last_result(v.mission, store)) for v in found if isinstance(v, MissionView)]
