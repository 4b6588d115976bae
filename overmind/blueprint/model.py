"""A validated blueprint: plain dataclasses the planner and executor work from (no pydantic here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from overmind.mission.spec import MissionSpec

if TYPE_CHECKING:
    from overmind.rituals.schedule import Schedule

NAME_MAX = 63  # a unit instance name, like any mission name


@dataclass(frozen=True)
class Timing:
    """When a scheduled agent runs: it becomes a ritual (a systemd timer) instead of a mission."""

    schedule: Schedule
    persistent: bool = False
    randomized_delay: float | None = None  # seconds
    overlap: str = "skip"


@dataclass(frozen=True)
class Agent:
    name: str
    line: int  # of its [agents.<name>] table, for messages
    spec: MissionSpec  # no name and no parent yet: those come with each member
    depends_on: tuple[str, ...]
    replicas: int
    timing: Timing | None = None

    @property
    def is_task(self) -> bool:
        return self.spec.type == "task"

    def definition(self) -> dict[str, Any]:
        """Everything that makes a running member this agent; a change means replacing it."""
        record = self.spec.to_record()
        for key in ("name", "parent"):
            record.pop(key)
        return {**record, "depends_on": list(self.depends_on)}


@dataclass(frozen=True)
class Blueprint:
    name: str
    path: str  # absolute
    agents: tuple[Agent, ...]  # dependencies first

    def agent(self, name: str) -> Agent:
        return next(a for a in self.agents if a.name == name)

    def member_names(self, agent: Agent) -> list[tuple[int, str]]:
        return [(replica, member_name(self.name, agent.name, replica)) for replica in range(1, agent.replicas + 1)]


def member_name(blueprint: str, agent: str, replica: int) -> str:
    """`pipe.build`, and `pipe.worker.2`, `pipe.worker.3` for further replicas of a fleet, so
    scaling up or down leaves the existing members alone."""
    return f"{blueprint}.{agent}" if replica == 1 else f"{blueprint}.{agent}.{replica}"
