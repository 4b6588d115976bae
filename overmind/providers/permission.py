"""A permission request as an agent CLI asks it, and what a provider that relays them offers.

An agent CLI that can ask its host program before it uses a tool (claude's
`--permission-prompt-tool stdio`) prints the request as one line; its provider turns that line
into a `PermissionAsk` (on `AgentEvent.permission`), and writes the answer back as the line the
CLI waits for. The wrapper (`overmind.wrapper.permissions`) decides who answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from overmind.agent_options import AgentOptions


@dataclass(frozen=True)
class PermissionAsk:
    request_id: str  # the CLI's id for this asking; the answer must carry it
    tool: str
    input: dict[str, Any]
    label: str  # for a person: 'Bash(npm publish)'
    subject: str | None = None  # what the use is about, whole (the command, the path), for rules
    rules: tuple[str, ...] = field(default_factory=tuple)  # what "always allow" adds: 'Bash(npm test *)'


@runtime_checkable
class AsksPermissions(Protocol):
    """A provider whose CLI can ask overmind before it uses a tool."""

    def asks(self, options: AgentOptions, mission_type: str) -> bool:
        """Whether a mission with these options has its permission requests relayed (its command
        line says so, and a task's prompt then goes on stdin, as a message)."""

    def permission_answer(self, ask: PermissionAsk, allow: bool, message: str, rules: tuple[str, ...]) -> bytes:
        """The line on the CLI's stdin that answers `ask`: allowed (adding `rules` for the rest of
        its process), or denied with `message`, which the agent reads as the tool's result."""
