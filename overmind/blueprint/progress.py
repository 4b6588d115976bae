"""What a pipeline and its agents are doing, from the same unit state and exit records as `ps`.

systemd runs the graph, so an agent whose dependency failed never starts: its start job fails
and its unit is dropped without an exit record, and one still queued is a loaded unit that has
never run. Here both are told apart (`skipped (dependency failed)`, `waiting`) by walking the
dependencies, and a blueprint's status is summed up from its agents'. This is on `ps`'s path:
no heavy imports.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, NamedTuple, TypeVar

from overmind.blueprint.dag import CycleError, topological_order
from overmind.mission.status import Status
from overmind.mission.view import NO_ENVIRONMENT, NO_PERMISSIONS, MissionView, rounded
from overmind.store import Blueprint, Mission

FAILED = ("crashed", "skipped", "killed", "lost", "unknown")
T = TypeVar("T", int, float)


def member_info(mission: Mission) -> dict[str, Any]:
    """A blueprint agent's place in its blueprint (agent, replica, depends_on); {} for others."""
    info: dict[str, Any] = mission.spec.get("blueprint") or {}
    return info


def agent_label(mission: Mission) -> str:
    """`build`, or `worker.2` for a further replica: the mission name without the blueprint's."""
    info = member_info(mission)
    if not info:
        return mission.name
    return info["agent"] if info["replica"] == 1 else f"{info['agent']}.{info['replica']}"


def is_done(mission: Mission) -> bool:
    """Ran to the end with exit code 0 (a later stop of the finished pipeline changes nothing)."""
    exit = mission.last_exit
    if exit is None or (exit.exit_code, exit.exit_status) != ("exited", "0"):
        return False
    return mission.stop_requested_at is None or mission.stop_requested_at > exit.at


def never_started(view: MissionView) -> bool:
    if view.mission.last_exit is not None:
        return False
    unit = view.unit
    return not unit or unit.get("LoadState") != "loaded" or unit.get("ActiveState") in ("inactive", "failed")


class BlueprintView(NamedTuple):
    """A blueprint as `ps`, `info`, `wait` and the front ends show it: its agents' states summed up."""

    blueprint: Blueprint
    status: Status
    members: list[MissionView]

    @property
    def kind(self) -> str:
        return "blueprint"

    @property
    def type(self) -> str:
        return "blueprint"

    @property
    def parent(self) -> str | None:
        return None

    @property
    def session_id(self) -> str | None:
        return None

    @property
    def unit(self) -> dict[str, str]:
        """A blueprint runs nothing itself: its agents' units are its members'."""
        return {}

    @property
    def id(self) -> str:
        return self.blueprint.id

    @property
    def name(self) -> str:
        return self.blueprint.name

    @property
    def created_at(self) -> float:
        return self.blueprint.created_at

    @property
    def command_line(self) -> str:
        return f"blueprint {self.blueprint.file or '-'}"  # none: rebuilt from its members' units

    @property
    def restarts(self) -> int:
        return sum(m.restarts for m in self.members)

    @property
    def uptime(self) -> float | None:
        return None if self.status.finished else max(0.0, time.time() - self.blueprint.created_at)

    @property
    def memory(self) -> int | None:
        return _total(m.memory for m in self.members)

    @property
    def activity(self) -> str | None:
        """What the pipeline is doing: how many of its agents run and have finished."""
        if self.status.finished or not self.members:
            return None
        running = sum(not m.status.finished for m in self.members)
        done = len(self.members) - running
        return f"{running} running, {done}/{len(self.members)} finished"

    @property
    def cpu_seconds(self) -> float | None:
        return _total(m.cpu_seconds for m in self.members)

    @property
    def finished_at(self) -> float | None:
        if not self.status.finished:
            return None
        return max((m.finished_at for m in self.members if m.finished_at is not None), default=None)

    @property
    def persisted(self) -> bool:
        return any(m.mission.persisted for m in self.members)

    @property
    def boots(self) -> int:
        return max((m.boots for m in self.members), default=0)

    def to_json(self) -> dict[str, Any]:
        """The same fields as a mission's (docs/json.md), plus the file and each agent's state."""
        b = self.blueprint
        return {
            "id": b.id, "name": b.name, "type": "blueprint", "provider": "-",
            "status": self.status.state, "reason": self.status.reason or None,
            "exit_code": self.status.exit_code if self.status.finished else None,
            "restarts": self.restarts, "restart_policy": "never", "uptime_s": rounded(self.uptime),
            "memory_bytes": self.memory, "cpu_s": rounded(self.cpu_seconds), "os_pid": None, "unit": b.slice,
            "cgroup": None, "command": self.command_line, "cwd": b.cwd, "parent": None, "limits": {},
            "status_text": self.activity, "session_id": None, "created_at": b.created_at, "started_at": None,
            "finished_at": self.finished_at, "persist": self.persisted, "on_boot": "run", "boots": self.boots,
            **NO_ENVIRONMENT, **NO_PERMISSIONS,
            "file": b.file,
            "applied_at": b.applied_at,
            "agents": [{"id": m.mission.id, "name": m.mission.name, "agent": agent_label(m.mission),
                        "status": m.status.state, "reason": m.status.reason or None,
                        "exit_code": m.status.exit_code if m.status.finished else None,
                        "depends_on": member_info(m.mission).get("depends_on", [])}
                       for m in self.members],
        }


def _total(values: Iterable[T | None]) -> T | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def summarize(blueprint: Blueprint, members: list[MissionView]) -> Status:
    if blueprint.killed_at is not None:
        return Status("killed", exit_code=137)
    if any(not m.status.finished for m in members):
        return Status("running")
    broken = [agent_label(m.mission) for m in members if m.status.state in FAILED and m.status.state != "skipped"]
    if broken:
        return Status("failed", ", ".join(broken) + " failed", 1)
    if any(m.status.state == "skipped" for m in members):
        return Status("failed", "agents skipped", 1)
    if blueprint.stop_requested_at is not None and not all(is_done(m.mission) for m in members):
        return Status("stopped", exit_code=143)
    return Status("done", exit_code=0)


def refine_members(members: list[MissionView], agents: list[str]) -> list[MissionView]:
    """Agents that have not run get their state from their dependencies, in dependency order.
    Returned in the blueprint's order of `agents`, replicas in turn."""
    by_agent: dict[str, list[MissionView]] = {}
    for view in members:
        by_agent.setdefault(member_info(view.mission).get("agent", view.mission.name), []).append(view)
    graph = {agent: [d for d in member_info(views[0].mission).get("depends_on", []) if d in by_agent]
             for agent, views in by_agent.items()}
    try:
        order = topological_order(graph)
    except CycleError:
        order = list(graph)
    refined: dict[str, Status] = {}
    for agent in order:
        deps = [refined[v.mission.id] for dep in graph[agent] for v in by_agent[dep]]
        for view in by_agent[agent]:
            refined[view.mission.id] = _member_status(view, deps)
    place = {agent: index for index, agent in enumerate(agents)}
    members = sorted(members, key=lambda v: (place.get(member_info(v.mission).get("agent", ""), len(place)),
                                            member_info(v.mission).get("replica", 0)))
    return [v._replace(status=refined[v.mission.id]) for v in members]


def _member_status(view: MissionView, deps: list[Status]) -> Status:
    mission = view.mission
    if view.status.state == "stopping" and mission.stop_requested_at is None:
        return Status("running")  # a task that has ended is recording its exit
    if mission.killed_at is not None or not never_started(view):
        return view.status
    if mission.stop_requested_at is not None:
        return Status("stopped", "never started")
    if any(d.state in FAILED for d in deps):
        return Status("skipped", "dependency failed")
    if any(d.state == "stopped" and d.exit_code for d in deps):
        return Status("skipped", "dependency stopped")
    if view.unit.get("LoadState") == "loaded" or time.time() - mission.created_at < 5:
        return Status("waiting")  # its start job is queued, behind its dependencies or about to run
    return Status("unknown", "unit gone without an exit record")


def progress_word(view: MissionView) -> str:
    """An agent's state as `apply --wait` and `info` say it: done, failed (why), or its status."""
    status = view.status
    if is_done(view.mission):
        return "done"
    if status.state == "crashed":
        return f"failed ({status.reason})" if status.reason else "failed"
    return status.label


def failures(pipeline: BlueprintView) -> list[str]:
    """Each agent that failed or was skipped, as `build failed (exit 3)`: what makes `apply --wait`
    fail even while the pipeline's sessions keep it running."""
    return [f"{agent_label(m.mission)} {progress_word(m)}" for m in pipeline.members if m.status.state in FAILED]


def settled(pipeline: BlueprintView) -> bool:
    """Every task has finished and every session is running (or has ended): a fleet keeps running,
    so waiting for it to end would never return."""
    return all(m.status.finished or (m.mission.type == "session" and m.status.state == "running")
               for m in pipeline.members)
