"""What a ritual is: a mission spec run on a schedule by a systemd timer, and where its units live."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from overmind import names
from overmind.errors import OvermindError
from overmind.rituals.schedule import Schedule

if TYPE_CHECKING:
    from overmind.mission.spec import MissionSpec

# skip: a trigger that finds the previous run still going is dropped; queue: it starts one more
# run as soon as the previous one ends (several such triggers still make one run).
OVERLAPS = ("skip", "queue")


class _Named:
    """The unit names a ritual's name maps to."""

    name: str

    @property
    def timer(self) -> str:
        return names.ritual_unit(self.name, "timer")

    @property
    def service(self) -> str:
        return names.ritual_unit(self.name, "service")


@dataclass(frozen=True)
class RitualSpec(_Named):
    name: str
    mission: MissionSpec
    schedule: Schedule
    persistent: bool = False  # catch up on a calendar elapse missed while the machine was off
    randomized_delay: float | None = None  # seconds, RandomizedDelaySec=
    overlap: str = "skip"
    origin: str = "cli"  # who manages it: "cli", or e.g. "blueprint:<name>" for `apply --prune`

    def __post_init__(self) -> None:
        names.validate_name(self.name, "ritual")
        if self.overlap not in OVERLAPS:
            raise OvermindError(f"unknown overlap policy {self.overlap!r}", hint="use skip or queue")
        if (self.schedule.calendar is None) == (self.schedule.every is None):
            raise OvermindError("a ritual needs exactly one schedule", hint="--on-calendar EXPR or --every DURATION")
        if self.persistent and self.schedule.calendar is None:
            raise OvermindError("--persistent needs --on-calendar",
                                hint="an --every interval counts from the last run, so nothing is missed")
        if self.randomized_delay is not None and self.randomized_delay <= 0:
            raise OvermindError("the randomized delay must be positive")
        if self.mission.restart.policy != "never":
            raise OvermindError("rituals do not restart", hint="the next run comes on schedule")

    def metadata(self, created_at: float) -> dict[str, Any]:
        """What `ritual ls` and blueprints read back from the timer file."""
        return {
            "name": self.name, "origin": self.origin, "created_at": created_at,
            "schedule": self.schedule.to_json(), "persistent": self.persistent,
            "randomized_delay_s": self.randomized_delay, "overlap": self.overlap,
            "command": self.mission.command, "cwd": self.mission.cwd,
        }


@dataclass(frozen=True)
class Ritual(_Named):
    """An installed ritual, as read back from the files overmind wrote."""

    name: str
    schedule: Schedule
    overlap: str
    persistent: bool
    randomized_delay: float | None
    command: str
    cwd: str
    origin: str
    created_at: float
    files: tuple[Path, ...] = field(default=())

    @classmethod
    def from_metadata(cls, data: dict[str, Any], files: tuple[Path, ...]) -> Ritual:
        delay = data.get("randomized_delay_s")
        return cls(
            name=str(data["name"]), schedule=Schedule.from_json(data.get("schedule") or {}),
            overlap=str(data.get("overlap", "skip")), persistent=bool(data.get("persistent")),
            randomized_delay=float(delay) if isinstance(delay, (int, float)) else None,
            command=str(data.get("command", "")), cwd=str(data.get("cwd", "")),
            origin=str(data.get("origin", "cli")), created_at=float(data.get("created_at") or 0), files=files,
        )
