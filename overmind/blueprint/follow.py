"""`apply --wait`: report each agent's progress until the pipeline has settled.

Settled means every task has finished and every session is running (or has ended): a fleet
keeps running, so waiting for it to end would never return. Woken by systemd's signals about
the agents' units and jobs, like `overmind wait`.
"""

from __future__ import annotations

from collections.abc import Callable

from overmind.blueprint.progress import PipelineView, agent_label, is_done
from overmind.missions import Missions, MissionView
from overmind.store import Mission


def progress_word(view: MissionView) -> str:
    status = view.status
    if is_done(view.mission):
        return "done"
    if status.state == "crashed":
        return f"failed ({status.reason})" if status.reason else "failed"
    return status.label


def settled(pipeline: PipelineView) -> bool:
    return all(m.status.finished or (m.mission.type == "session" and m.status.state == "running")
               for m in pipeline.members)


def follow(missions: Missions, record: Mission, echo: Callable[[str], None]) -> PipelineView:
    """Echo `<agent>  <state>` whenever an agent's state changes; return the settled pipeline."""
    from overmind.systemd.signals import wait_for

    shown: dict[str, str] = {}

    def check() -> PipelineView | None:
        pipeline = missions.view(missions.store.get(record.id) or record)
        assert isinstance(pipeline, PipelineView)
        width = max((len(agent_label(m.mission)) for m in pipeline.members), default=0)
        for member in pipeline.members:
            word = progress_word(member)
            if shown.get(member.mission.id) != word:
                shown[member.mission.id] = word
                echo(f"  {agent_label(member.mission):<{width}}  {word}")
        return pipeline if settled(pipeline) else None

    units = [m.unit for m in missions.store.children(record.id)]
    result = wait_for(units, check, None)
    assert result is not None
    return result
