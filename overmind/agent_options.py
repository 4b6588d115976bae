"""The options an agent mission passes to its agent CLI: the one list of them.

The command line (`run --model ...`), blueprint files (`model = ...`), the spec stored with each
mission and the providers' argument lists all read the fields below and their metadata, so a
new option is added here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

# What runs a mission: a shell command (raw) or one of the agent CLIs (`overmind.providers`). The
# names live here, not beside the providers, so that `run`'s options list them without importing
# the providers for a plain command.
PROVIDERS = ("raw", "claude", "codex", "gemini", "opencode")


class OptionInfo(NamedTuple):
    help: str
    minimum: float | None = None  # values must be >= this (or > for floats with `exclusive`)
    exclusive: bool = False
    in_blueprints: bool = True  # can a blueprint's agent table set it
    choices: tuple[str, ...] = ()  # the only values it takes, if limited
    duration: bool = False  # a duration ('30m', '2h'), kept in seconds
    passed: bool = True  # given to the agent CLI as its own flag; False: overmind's own (the wrapper reads it)


def _option(help: str, **info: Any) -> Any:
    return field(default=None, metadata={"option": OptionInfo(help, **info)})


@dataclass(frozen=True)
class AgentOptions:
    """Options passed through to the agent CLI; None means the CLI's own default."""

    model: str | None = _option("Model for the agent.")
    permission_mode: str | None = _option("claude: acceptEdits, auto, bypassPermissions, default, dontAsk, plan.")
    allowed_tools: str | None = _option("claude: tools allowed without asking, e.g. 'Bash,Edit'.")
    max_turns: int | None = _option("claude: stop after N agent turns.", minimum=1)
    append_system_prompt: str | None = _option("claude: text appended to the system prompt.")
    max_budget_usd: float | None = _option("claude: spending cap.", minimum=0, exclusive=True)
    session_id: str | None = _option("Resume this conversation (the agent's own session id).", in_blueprints=False)
    mcp_config: str | None = _option("claude: MCP servers to load (JSON, or a file).", in_blueprints=False)
    on_permission: str | None = _option(
        "claude: a tool use its permissions do not allow: ask a person (overmind approve/deny), deny or allow it"
        " (default: ask for sessions; for tasks, ask only with a --permission-mode that prompts).",
        choices=("ask", "deny", "allow"), passed=False)
    permission_timeout: float | None = _option(
        "claude: deny a permission request no one answered within this long (default 30m).",
        minimum=0, exclusive=True, duration=True, passed=False)

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> AgentOptions:
        return cls(**(record or {}))

    def given(self) -> dict[str, Any]:
        """The options that are set, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


class AgentOption(NamedTuple):
    name: str  # the field, e.g. "max_turns"
    type: type  # str, int or float
    info: OptionInfo

    @property
    def flag(self) -> str:
        """The command-line flag, the same for overmind and the agent CLIs: --max-turns."""
        return "--" + self.name.replace("_", "-")


def _type_of(annotation: Any) -> type:
    text = str(annotation)
    return int if text.startswith("int") else float if text.startswith("float") else str


AGENT_OPTIONS: tuple[AgentOption, ...] = tuple(
    AgentOption(f.name, _type_of(f.type), f.metadata["option"]) for f in fields(AgentOptions))
AGENT_OPTION_NAMES: tuple[str, ...] = tuple(option.name for option in AGENT_OPTIONS)
