"""Providers: how overmind drives one agent CLI (claude, codex, gemini, opencode, or a plain shell
command).

A provider builds the agent's command line from a mission's spec, turns each line the agent
prints into an `AgentEvent` (what to keep, what a person reads, what to report to systemd),
and writes the user messages a session is sent. One small module per agent CLI; the wrapper
inside the unit and the CLI only ever talk to this interface (docs/providers.md).
"""

from __future__ import annotations

import importlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from overmind.agent_options import AGENT_OPTIONS, AgentOptions
from overmind.agent_options import PROVIDERS as PROVIDERS  # the names, listed where run reads them
from overmind.errors import OvermindError

if TYPE_CHECKING:
    from overmind.providers.permission import PermissionAsk


@dataclass(frozen=True)
class Result:
    """The end of one agent turn: what `send --wait` and `result` report."""

    text: str
    is_error: bool
    duration_ms: int | None = None
    cost_usd: float | None = None  # as the CLI reports it (see Provider.running_cost)
    session_id: str | None = None
    input_tokens: int | None = None  # the turn's tokens, where the CLI reports them
    output_tokens: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "duration_ms": self.duration_ms, "cost_usd": self.cost_usd,
                "is_error": self.is_error, "session_id": self.session_id, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens}

    def summary(self, tokens: bool = False) -> str:
        """'ok · 1.2s · $0.0312' or 'error: <first line> · 0.1s'; with `tokens`, then
        '120 in / 40 out tokens' where known."""
        head = f"error: {first_line(self.text)}" if self.is_error else "ok"
        parts = [head]
        if self.duration_ms is not None:
            parts.append(f"{self.duration_ms / 1000:.1f}s")
        if self.cost_usd is not None:
            parts.append(f"${self.cost_usd:.4f}")
        if tokens and (self.input_tokens is not None or self.output_tokens is not None):
            parts.append(f"{self.input_tokens or 0} in / {self.output_tokens or 0} out tokens")
        return " · ".join(parts)


@dataclass
class AgentEvent:
    """One line of an agent's machine-readable output, understood."""

    type: str  # the agent's own event type, e.g. "assistant" or "item.completed"
    data: dict[str, Any]
    lines: list[str] = field(default_factory=list)  # human-readable, for the journal
    status: str | None = None  # what the agent is doing now, for sd_notify STATUS=
    session_id: str | None = None  # the conversation this event belongs to, when it says
    result: Result | None = None  # set on the event that ends a turn
    acknowledges: str | None = None  # id of a user message the agent has taken in
    keep: bool = True  # False for protocol chatter that is neither stored nor streamed
    reply_to: str | None = None  # id of a control request this answers
    permission: PermissionAsk | None = None  # the agent asks whether it may use a tool (permission.py)
    # What the provider pieced together from earlier lines (streamed text, a turn's tokens), stored
    # with the line under the key "overmind", so that the stored event reads the same later.
    annotation: dict[str, Any] | None = None
    respond: bytes | None = None  # a line for the agent's stdin: the answer to a request it made

    def stored(self, line: str) -> str:
        """The line as it is stored and streamed: as printed, plus the annotation if any."""
        if not self.annotation:
            return line
        return json.dumps({**self.data, "overmind": self.annotation}, ensure_ascii=False)


class Provider(Protocol):
    name: str
    binary: str  # the executable looked up on PATH; "" for none
    supports_sessions: bool
    supported_options: frozenset[str]  # AgentOptions fields this CLI understands
    inherited_env_prefixes: tuple[str, ...]  # caller variables a mission inherits (API keys, ...)
    install_hint: str
    # A task is the session protocol's first turn: the same command and handshake, the prompt sent
    # as the first message, stdin closed once it has its result (codex's app-server, gemini's ACP).
    tasks_are_turns: bool
    running_cost: bool  # a result's cost_usd is the process's running total (claude), not the turn's

    def task_argv(self, prompt: str, options: AgentOptions, session_id: str | None, resume: bool) -> list[str]:
        """The command of a one-shot task that prints events until it exits."""

    def new_session_id(self) -> str | None:
        """An id for a new conversation, where the CLI lets us choose it."""

    def session_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        """The command of a long-lived session reading user messages on stdin."""

    def attach_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        """The interactive command a person runs to take the conversation over."""

    def before_resume(self, session_id: str) -> None:
        """Called just before a process of the CLI (headless or a person's terminal) resumes the
        conversation: where its files need seeing to first."""

    def handshake(self, options: AgentOptions, session_id: str | None, resume: bool) -> tuple[str, bytes] | None:
        """Requests (id, lines) sent at start; the reply to the one with that id means ready."""

    def user_message(self, text: str, message_id: str) -> bytes:
        """One line on the session's stdin carrying a user message."""

    def parse(self, line: str) -> AgentEvent | None:
        """An output line understood; None for lines that are not events (shown as they are)."""

    def failure(self, event: AgentEvent) -> str | None:
        """Why the agent could not start, if this event says it could not."""

    def validate(self, options: AgentOptions) -> None:
        """Refuse option values the agent CLI would refuse, with a one-line error."""


def parse_event(provider: object, line: str) -> AgentEvent | None:
    """A JSON object line with a string "type" as an event, filled in by the provider's
    `_on_<type>` method (dots as underscores: `_on_item_completed`), if it has one."""
    data = json_object(line)
    if data is None or not isinstance(data.get("type"), str):
        return None
    session = data.get("session_id")
    event = AgentEvent(data["type"], data, session_id=session if isinstance(session, str) and session else None)
    return dispatch(provider, data["type"], event)


def json_object(line: str) -> dict[str, Any] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def handler_name(kind: str) -> str:
    return "_on_" + re.sub(r"\W", "_", kind)


def dispatch(provider: object, kind: str, event: AgentEvent) -> AgentEvent:
    """The event filled in by the provider's `_on_<kind>` (non-word characters as underscores),
    if it has one. An event of a type the provider does not know is kept as it is, with nothing to
    show; one whose shape its handler did not expect (a CLI that changed its format) says so in
    one line rather than stopping the wrapper."""
    handler = getattr(provider, handler_name(kind), None)
    if handler is None:
        return event
    try:
        handler(event)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        shown = AgentEvent(event.type, event.data, session_id=event.session_id)
        shown.lines.append(f"[overmind] could not read a {kind} event ({type(exc).__name__}: {exc}); skipped")
        return shown
    return event


def get(name: str) -> Provider:
    if name not in PROVIDERS:
        raise OvermindError(f"unknown provider {name!r}", hint=f"use one of: {', '.join(PROVIDERS)}")
    module = importlib.import_module(f"overmind.providers.{name}")
    provider: Provider = module.PROVIDER()  # parsers keep a little state, so one instance per use
    return provider


_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def check_agent_spec(provider_name: str, mission_type: str, prompt: str, options: AgentOptions) -> None:
    """What `run` may ask of a provider: sessions where it has them, options it understands."""
    provider = get(provider_name)
    given = set(options.given())
    for key in sorted(given - provider.supported_options):
        raise OvermindError(f"--{key.replace('_', '-')} does not apply to {provider_name} missions")
    if mission_type == "session" and not provider.supports_sessions:
        raise OvermindError(f"{provider_name} has no long-lived sessions", hint="run it as a task (--type task)")
    if provider_name != "raw" and mission_type != "session" and not prompt.strip():
        raise OvermindError("empty prompt", hint=f"overmind run --provider {provider_name} 'PROMPT'")
    for key, value in options.given().items():
        if isinstance(value, str) and (not value.strip() or "\0" in value):
            raise OvermindError(f"invalid --{key.replace('_', '-')} {value!r}")
    if options.session_id is not None and not _SESSION_ID.fullmatch(options.session_id):
        raise OvermindError(f"invalid session id {options.session_id!r}")
    for option in AGENT_OPTIONS:
        value = getattr(options, option.name)
        if option.info.choices and value is not None and value not in option.info.choices:
            raise OvermindError(f"invalid {option.flag} {value!r}",
                                hint=f"use one of: {', '.join(option.info.choices)}")
    if options.max_turns is not None and options.max_turns < 1:
        raise OvermindError("--max-turns must be 1 or more")
    if options.max_budget_usd is not None and not options.max_budget_usd > 0:
        raise OvermindError("--max-budget-usd must be more than 0")
    if options.permission_timeout is not None and not options.permission_timeout > 0:
        raise OvermindError("--permission-timeout must be more than 0")
    provider.validate(options)


def require_installed(provider_name: str, env: dict[str, str]) -> None:
    """The agent CLI must be on the mission's PATH: say so now rather than in its logs."""
    import shutil

    provider = get(provider_name)
    if provider.binary and shutil.which(provider.binary, path=env.get("PATH", os.environ.get("PATH"))) is None:
        raise OvermindError(f"{provider.binary} is not installed (not found on PATH)", hint=provider.install_hint)


def mcp_servers(mcp_config: str | None) -> dict[str, Any]:
    """claude's `--mcp-config` (JSON, or a file of it: {"mcpServers": {name: {command, args, env}}})
    as codex's `mcp_servers` configuration table."""
    if not mcp_config:
        return {}
    text = mcp_config
    if not text.lstrip().startswith("{"):
        with open(text) as f:
            text = f.read()
    servers = json.loads(text).get("mcpServers") or {}
    return {name: {key: server[key] for key in ("command", "args", "env", "url") if key in server}
            for name, server in servers.items() if isinstance(server, dict)}


def output_line(output: str, label: str = "[tool output]") -> str:
    """A tool's output as one journal line: '[tool output] first line (+12 lines)'."""
    output = output.strip()
    more = output.count("\n")
    return f"{label} {first_line(output, 160) or '(no output)'}" + (f" (+{more} lines)" if more else "")


def first_line(text: str, width: int = 200) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"
