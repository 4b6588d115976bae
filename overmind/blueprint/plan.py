"""What `apply` would do: the blueprint file against the agents that exist (`overmind diff`).

Like `kubectl apply`: an agent that is unchanged and running (or, for a task, done) is left
alone; one whose definition changed is replaced; one that failed, was skipped or was stopped
runs again; one no longer in the file (or beyond its `replicas`) is pruned. Members are matched
by (agent, replica), never by position, so scaling leaves existing replicas alone. A scheduled
agent is a ritual: created, replaced when its unit files would change, pruned the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from overmind.blueprint import scheduled
from overmind.blueprint.dag import dependents_closure
from overmind.blueprint.model import Agent, Blueprint
from overmind.blueprint.progress import is_done, member_info
from overmind.mission.view import MissionView
from overmind.store import Blueprint as BlueprintRecord
from overmind.store import Mission

if TYPE_CHECKING:
    from overmind.rituals import Ritual

STARTING = ("create", "start", "replace")
_FIELD_NAMES = {"restart": "restart policy", "agent": "agent options"}


@dataclass(frozen=True)
class Change:
    action: str  # create | start | replace | keep | prune
    name: str  # the member's mission (or ritual) name
    agent: str
    replica: int
    reason: str
    current: MissionView | None = None
    ritual: Ritual | None = None  # for a scheduled agent: its installed ritual
    kind: str = "mission"  # or "ritual"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "kind": self.kind, "name": self.name, "agent": self.agent,
                "replica": self.replica, "reason": self.reason,
                "id": self.current.mission.id if self.current else None}


@dataclass(frozen=True)
class Plan:
    blueprint: Blueprint
    record: BlueprintRecord | None  # the blueprint's record, None before its first apply
    changes: list[Change]

    def of(self, *actions: str, kind: str | None = None) -> list[Change]:
        return [c for c in self.changes if c.action in actions and kind in (None, c.kind)]

    @property
    def changes_anything(self) -> bool:
        return self.record is None or any(c.action != "keep" for c in self.changes)

    def to_json(self) -> dict[str, Any]:
        return {"blueprint": self.blueprint.name, "id": self.record.id if self.record else None,
                "file": self.blueprint.path, "changes": [c.to_json() for c in self.changes]}


def definition_of(mission: Mission) -> dict[str, Any]:
    """The definition a member was started from, comparable with Agent.definition()."""
    added = ("name", "parent", "blueprint", "worktree", "environment")  # what the record holds beside the spec
    record = {k: v for k, v in mission.spec.items() if k not in added}
    return {**record, "depends_on": member_info(mission).get("depends_on", [])}


def _normalized(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


def changed_fields(agent: Agent, mission: Mission) -> list[str]:
    new, old = _normalized(agent.definition()), _normalized(definition_of(mission))
    return [_FIELD_NAMES.get(key, key) for key in new if new.get(key) != old.get(key)]


def _keeps(agent: Agent, view: MissionView) -> bool:
    if view.status.state in ("running", "waiting", "restarting"):
        return True
    return agent.is_task and is_done(view.mission)


def _state_word(view: MissionView) -> str:
    return "done" if is_done(view.mission) else view.status.label


def make_plan(blueprint: Blueprint, record: BlueprintRecord | None, members: list[MissionView]) -> Plan:
    """Compare the file with the blueprint's record and its members' views (as `ps` sees them)."""
    current: dict[tuple[str, int], MissionView] = {}
    for view in members:
        info = member_info(view.mission)
        if info and view.mission.killed_at is None:
            current[(info["agent"], info["replica"])] = view
    changes = []
    for agent in blueprint.agents:
        if agent.timing is not None:
            continue
        for replica, name in blueprint.member_names(agent):
            changes.append(_change(agent, replica, name, current.pop((agent.name, replica), None)))
    _restart_waiting_dependents(blueprint, changes)
    scaled = {a.name: a.replicas for a in blueprint.agents}
    for (agent_name, replica), view in current.items():
        reason = (f"replicas = {scaled[agent_name]}" if agent_name in scaled else "no longer in the file")
        changes.append(Change("prune", view.mission.name, agent_name, replica, reason, view))
    return Plan(blueprint, record, changes + _ritual_changes(blueprint))


def _ritual_changes(blueprint: Blueprint) -> list[Change]:
    installed = scheduled.installed(blueprint.name)
    changes = []
    for agent in blueprint.agents:
        if agent.timing is None:
            continue
        spec = scheduled.ritual_spec(blueprint, agent)
        ritual = installed.pop(spec.name, None)
        when = f"on schedule: {agent.timing.schedule.describe()}"
        if ritual is None:
            scheduled.check_free(spec)
            changes.append(Change("create", spec.name, agent.name, 1, when, kind="ritual"))
        elif scheduled.differs(spec, ritual):
            changes.append(Change("replace", spec.name, agent.name, 1, "changed", ritual=ritual, kind="ritual"))
        else:
            changes.append(Change("keep", spec.name, agent.name, 1, when, ritual=ritual, kind="ritual"))
    for name, ritual in installed.items():
        agent_name = name.removeprefix(f"{blueprint.name}.")
        changes.append(Change("prune", name, agent_name, 1, "no longer in the file", ritual=ritual, kind="ritual"))
    return changes


def _restart_waiting_dependents(blueprint: Blueprint, changes: list[Change]) -> None:
    """An agent still queued behind one that is stopped and started again would lose its
    ordering with the new run (systemd orders jobs, not units), so it is started again too."""
    starting = {c.agent for c in changes if c.action in STARTING}
    behind = dependents_closure({a.name: a.depends_on for a in blueprint.agents}, starting) - starting
    for index, change in enumerate(changes):
        waiting = change.current is not None and change.current.status.state == "waiting"
        if change.action == "keep" and change.agent in behind and waiting:
            changes[index] = Change("start", change.name, change.agent, change.replica,
                                    "was waiting on an agent that starts again", change.current)


def _change(agent: Agent, replica: int, name: str, view: MissionView | None) -> Change:
    if view is None:
        return Change("create", name, agent.name, replica, "new")
    fields = changed_fields(agent, view.mission)
    if fields:
        return Change("replace", name, agent.name, replica, " and ".join(fields) + " changed", view)
    if _keeps(agent, view):
        return Change("keep", name, agent.name, replica, _state_word(view), view)
    return Change("start", name, agent.name, replica, f"was {_state_word(view)}", view)
