"""Memory and CPU of running missions right now, read from cgroupfs: a couple of small files a
mission and no systemd call, so a front end can refresh views it holds (the change feed's
snapshot) as often as it shows them. Uptime needs nothing: views compute it from the start time.
"""

from __future__ import annotations

from collections.abc import Sequence

from overmind.control.missions import View
from overmind.mission.view import MissionView


def refresh(shown: Sequence[View]) -> list[View]:
    """The same views with their memory and CPU read afresh (a blueprint's: its agents')."""
    from overmind.blueprint.progress import BlueprintView
    from overmind.systemd.accounting import usage

    running = [m for v in shown for m in (v.members if isinstance(v, BlueprintView) else [v])
               if isinstance(m, MissionView) and not m.status.finished and m.unit.get("ControlGroup")]
    now = usage([m.unit["ControlGroup"] for m in running])
    fresh: list[View] = []
    for view in shown:
        if isinstance(view, MissionView):
            fresh.append(_mission(view, now))
        elif isinstance(view, BlueprintView):
            fresh.append(view._replace(members=[_mission(m, now) for m in view.members]))
        else:
            fresh.append(view)
    return fresh


def _mission(view: MissionView, now: dict[str, tuple[int | None, int | None]]) -> MissionView:
    reading = now.get(view.unit.get("ControlGroup", "")) if not view.status.finished else None
    if reading is None or reading == (None, None):  # the cgroup is gone: the feed will tell what happened
        return view
    memory, usec = reading
    unit = dict(view.unit)
    unit["MemoryCurrent"] = str(memory) if memory is not None else ""
    unit["CPUUsageNSec"] = str(usec * 1000) if usec is not None else ""
    return view._replace(unit=unit)
