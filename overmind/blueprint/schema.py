"""The blueprint file's schema: key names and value types, checked by pydantic.

Only `overmind.blueprint.load` imports this (pydantic costs more to import than a whole `run`).
Field names follow MissionSpec and `overmind run`'s options. Relations between keys and agents
(depends_on, cycles, command vs prompt) are checked in `load`, where the file's lines are known.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from overmind.agent_options import AGENT_OPTIONS
from overmind.errors import OvermindError
from overmind.quantities import parse_cpu_quota, parse_duration, parse_size

RESTART_ALIASES = {"on_failure": "on-failure"}  # spelled both ways in existing blueprint files


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a number or a string, not {str(value).lower()}")
    return value


def _converted(parse: Any, example: str) -> Any:
    """A before-validator: strings and TOML numbers both go through `parse`, as on the command line."""

    def convert(value: Any) -> Any:
        value = _not_bool(value)
        if not isinstance(value, (str, int, float)):
            return value  # the field's type check reports it
        try:
            return parse(str(value))
        except OvermindError:
            raise ValueError(f"invalid value {json.dumps(value)} (use e.g. {example})") from None

    return BeforeValidator(convert)


# Plain numbers mean what they mean for `overmind run`: seconds, but milliseconds for backoffs.
Duration = Annotated[float, _converted(lambda text: parse_duration(text, "duration"), "30s, 5min or 2h")]
Backoff = Annotated[float, _converted(lambda text: parse_duration(text, "backoff", "ms"), "500ms or 2s")]
Size = Annotated[int, _converted(lambda text: parse_size(text, "size"), "512M or 2G")]
CpuQuota = Annotated[int, _converted(parse_cpu_quota, "50% or 200%")]
Restart = Annotated[
    Literal["never", "on-failure", "always"],
    BeforeValidator(lambda value: RESTART_ALIASES.get(value, value) if isinstance(value, str) else value),
]


class _AgentTable(BaseModel):
    """An [agents.<name>] table; the agent CLI's options are added from AGENT_OPTIONS below."""

    model_config = ConfigDict(extra="forbid", strict=True)

    command: str | None = None
    prompt: str | None = None
    host: str | None = None  # the host it runs on (overmind hosts), applied there as its part
    provider: str = "raw"
    type: Literal["task", "session"] = "task"
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    restart: Restart = "never"
    max_restarts: int | None = Field(default=None, ge=0)
    max_seconds: Duration | None = None
    backoff: Backoff | None = None
    backoff_max: Backoff | None = None
    activity_timeout: Duration | None = None
    stop_timeout: Duration | None = None
    memory_max: Size | None = None
    cpu_quota: CpuQuota | None = None
    tasks_max: int | None = Field(default=None, ge=1)
    timeout: Duration | None = None
    replicas: int = Field(default=1, ge=0)
    # a unit file that the next boot starts again (overmind run --persist); the file's own
    # `persist` is the default of its agents
    persist: bool | None = None
    on_boot: Literal["run", "skip"] | None = None
    # where it works: its own worktree (with the repository's ports and services), a named
    # worktree shared with other agents (a pipeline's stages, in order), or the directory itself
    isolation: Literal["worktree", "none"] | None = None
    worktree: str | None = None
    base: str | None = None
    # a scheduled agent is a ritual, as `overmind ritual add` makes them
    schedule: str | None = None
    persistent: bool | None = None
    randomized_delay: Duration | None = None
    overlap: Literal["skip", "queue"] | None = None


def _agent_option_fields() -> dict[str, Any]:
    """For agent CLIs (claude, codex, gemini, opencode): the options `overmind run --provider` takes."""
    found: dict[str, Any] = {}
    for option in BLUEPRINT_AGENT_OPTIONS:
        limit = option.info.minimum
        if option.info.duration:
            found[option.name] = (Duration | None, None)
        elif option.info.choices:
            found[option.name] = (Literal[option.info.choices] | None, None)
        elif limit is None:
            found[option.name] = (option.type | None, None)
        elif option.info.exclusive:
            found[option.name] = (option.type | None, Field(default=None, gt=limit))
        else:
            found[option.name] = (option.type | None, Field(default=None, ge=limit))
    return found


BLUEPRINT_AGENT_OPTIONS = tuple(option for option in AGENT_OPTIONS if option.info.in_blueprints)
AgentTable = create_model("AgentTable", __base__=_AgentTable, **_agent_option_fields())


class BlueprintFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = None
    host: str | None = None  # the host of the agents without one of their own
    persist: bool = False  # the default of the agents without `persist` of their own
    agents: dict[str, AgentTable] = Field(default_factory=dict)  # type: ignore[valid-type]
