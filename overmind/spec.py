"""A validated mission specification: everything `run` was asked for, checked before systemd sees it.

This sits on the CLI's hot path, so it is a plain dataclass rather than a pydantic model
(importing pydantic alone costs more than the whole systemd-run call).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from overmind.errors import OvermindError
from overmind.names import validate_name
from overmind.providers import AgentOptions, check_agent_spec

MISSION_TYPES = ("task", "session", "quest", "blueprint")
RESTART_POLICIES = {"never": "no", "on-failure": "on-failure", "always": "always"}

_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_DURATION_UNITS = {
    "ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400,
}
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED_ENV_PREFIX = "OVERMIND_"


def parse_size(text: str, what: str) -> int:
    """'512M' -> 536870912. Accepts K/M/G/T suffixes (base 1024) and an optional trailing B."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)B?", text.strip(), re.IGNORECASE)
    if not match or float(match[1]) <= 0:
        raise OvermindError(f"invalid {what} {text!r}", hint="use a size such as 512M or 2G")
    return int(float(match[1]) * _SIZE_UNITS[match[2].upper()])


def parse_duration(text: str, what: str, plain: str = "s") -> float:
    """'90s', '5min', '1h', '250ms' or a plain number (of `plain` units) -> seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text.strip().lower())
    if not match or match[2] not in ("", *_DURATION_UNITS) or float(match[1]) <= 0:
        raise OvermindError(f"invalid {what} {text!r}", hint="use a duration such as 500ms, 30s, 5min or 2h")
    return float(match[1]) * _DURATION_UNITS[match[2] or plain]


def parse_cpu_quota(text: str) -> int:
    """'50%' or '50' -> 50 (percent of one CPU; 200 means two full CPUs)."""
    match = re.fullmatch(r"(\d+)\s*%?", text.strip())
    if not match or int(match[1]) <= 0:
        raise OvermindError(f"invalid CPU quota {text!r}", hint="use a percentage such as 50% or 200%")
    return int(match[1])


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
    max_children: int | None = None  # cap on this mission's whole subtree
    max_cost_usd: float | None = None  # cap on what this mission's subtree's agents reported spending
    agent: AgentOptions = field(default_factory=AgentOptions)  # for agent CLIs; `command` is the prompt
    isolation: Isolation = field(default_factory=Isolation)

    def __post_init__(self) -> None:
        if self.provider == "raw" and not self.command.strip():
            raise OvermindError("empty command", hint="overmind run 'COMMAND'")
        if "\0" in self.command:
            raise OvermindError("the command contains a NUL byte")
        if self.name is not None:
            validate_name(self.name)
        if self.type not in MISSION_TYPES:
            raise OvermindError(f"unknown mission type {self.type!r}")
        check_agent_spec(self.provider, self.type, self.command, self.agent)
        if self.restart.policy not in RESTART_POLICIES:
            raise OvermindError(f"unknown restart policy {self.restart.policy!r}",
                                hint="use never, on-failure or always")
        if self.restart.max_restarts is not None and self.restart.max_restarts < 0:
            raise OvermindError("--max-restarts must be 0 or more")
        if self.isolation.mode not in ISOLATION_MODES:
            raise OvermindError(f"unknown isolation {self.isolation.mode!r}", hint="use auto, worktree or none")
        if self.isolation.worktree is not None:
            from overmind.isolation.paths import check_worktree_name

            check_worktree_name(self.isolation.worktree)
        cwd = os.path.abspath(os.path.expanduser(self.cwd))
        if not os.path.isdir(cwd):
            raise OvermindError(f"working directory {self.cwd!r} does not exist")
        object.__setattr__(self, "cwd", cwd)

    def to_record(self) -> dict[str, Any]:
        return asdict(self)
