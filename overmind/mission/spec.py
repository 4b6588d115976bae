"""A validated mission specification: everything `run` was asked for, checked before systemd sees it.

This sits on the CLI's hot path, so it is a plain dataclass rather than a pydantic model
(importing pydantic alone costs more than the whole systemd-run call).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from overmind.agent_options import AgentOptions
from overmind.errors import OvermindError
from overmind.mission.kinds import MISSION_TYPES, ON_BOOT, RESTART_POLICIES
from overmind.names import validate_name, validate_worktree_name

_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED_ENV_PREFIX = "OVERMIND_"


def parse_env(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _ENV_KEY.fullmatch(key):
            raise OvermindError(f"invalid environment assignment {pair!r}", hint="use KEY=VALUE")
        if key.startswith(_RESERVED_ENV_PREFIX):
            raise OvermindError(f"environment variable {key} is reserved for overmind")
        if "\0" in value:
            raise OvermindError(f"environment variable {key} contains a NUL byte")
        env[key] = value
    return env


@dataclass(frozen=True)
class Limits:
    memory_max: int | None = None  # bytes
    cpu_quota: int | None = None  # percent of one CPU
    tasks_max: int | None = None
    timeout: float | None = None  # seconds of runtime before systemd stops it


@dataclass(frozen=True)
class RestartPolicy:
    policy: str = "never"  # never | on-failure | always
    max_restarts: int | None = None  # StartLimitBurst within max_seconds
    max_seconds: float | None = None
    backoff: float | None = None  # first restart delay, seconds
    backoff_max: float | None = None


ISOLATION_MODES = ("auto", "worktree", "none")


@dataclass(frozen=True)
class Isolation:
    """Where a mission works: `auto` gives agents (not plain commands) started inside a git work
    tree their own worktree, ports and services; `worktree` always, `none` never."""

    mode: str = "auto"
    base: str | None = None  # the branch, tag or commit a new worktree starts from (default: HEAD)
    worktree: str | None = None  # a named worktree several missions share; default: the mission's name


@dataclass(frozen=True)
class MissionSpec:
    command: str
    name: str | None = None
    cwd: str = field(default_factory=os.getcwd)
    env: dict[str, str] = field(default_factory=dict)
    type: str = "task"
    provider: str = "raw"
    limits: Limits = field(default_factory=Limits)
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    activity_timeout: float | None = None
    stop_timeout: float = 10.0
    parent: str | None = None  # an id or name as given; the mission layer resolves it to an id
    max_children: int | None = None  # cap on this mission's whole subtree not yet collected
    max_cost_usd: float | None = None  # cap on what this mission's subtree's agents reported spending
    agent: AgentOptions = field(default_factory=AgentOptions)  # for agent CLIs; `command` is the prompt
    isolation: Isolation = field(default_factory=Isolation)
    memory: bool = True  # agents consult and feed Akasha, the shared memory (--no-memory: neither)
    persist: bool = False  # a unit file enabled at boot instead of a transient unit (overmind.control.persist)
    on_boot: str = "run"  # a persisted mission at the next boot: run again, or skip (`interrupted by reboot`)

    def __post_init__(self) -> None:
        if self.provider == "raw" and not self.command.strip():
            raise OvermindError("empty command", hint="overmind run 'COMMAND'")
        if "\0" in self.command:
            raise OvermindError("the command contains a NUL byte")
        if self.name is not None:
            validate_name(self.name)
        if self.on_boot not in ON_BOOT:
            raise OvermindError(f"unknown --on-boot {self.on_boot!r}", hint="use run or skip")
        if self.on_boot == "skip" and not self.persist:
            raise OvermindError("--on-boot skip is for a persisted mission", hint="add --persist")
        if self.type not in MISSION_TYPES:
            raise OvermindError(f"unknown mission type {self.type!r}")
        if self.restart.policy not in RESTART_POLICIES:
            raise OvermindError(f"unknown restart policy {self.restart.policy!r}",
                                hint="use never, on-failure or always")
        if self.restart.max_restarts is not None and self.restart.max_restarts < 0:
            raise OvermindError("--max-restarts must be 0 or more")
        if self.isolation.mode not in ISOLATION_MODES:
            raise OvermindError(f"unknown isolation {self.isolation.mode!r}", hint="use auto, worktree or none")
        if self.isolation.worktree is not None:
            validate_worktree_name(self.isolation.worktree)
        cwd = os.path.abspath(os.path.expanduser(self.cwd))
        if not os.path.isdir(cwd):
            raise OvermindError(f"working directory {self.cwd!r} does not exist")
        object.__setattr__(self, "cwd", cwd)

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> MissionSpec:
        """The spec a mission was recorded with (keys added beside it, e.g. a blueprint's, are left)."""
        known = {f.name for f in fields(cls)}
        data = {key: value for key, value in record.items() if key in known}
        data.update(limits=Limits(**record.get("limits") or {}), restart=RestartPolicy(**record.get("restart") or {}),
                    agent=AgentOptions.from_record(record.get("agent")),
                    isolation=Isolation(**record.get("isolation") or {}))
        return cls(**data)
