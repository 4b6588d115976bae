"""A plain shell command: no events, output shown as it is. Sessions run in a terminal (PTY)."""

from __future__ import annotations

from overmind.agent_options import AgentOptions
from overmind.providers import AgentEvent


class RawProvider:
    name = "raw"
    binary = ""
    supports_sessions = True
    supported_options: frozenset[str] = frozenset()
    inherited_env_prefixes: tuple[str, ...] = ()
    install_hint = ""
    tasks_are_turns = False
    running_cost = False

    def task_argv(self, prompt: str, options: AgentOptions, session_id: str | None, resume: bool) -> list[str]:
        return ["/bin/sh", "-c", prompt]

    def new_session_id(self) -> str | None:
        return None

    def session_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        raise NotImplementedError("raw sessions run their command in a terminal")

    def attach_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        raise NotImplementedError("attaching to a raw session joins its terminal")

    def before_resume(self, session_id: str) -> None:
        pass  # a raw command has no conversation

    def handshake(self, options: AgentOptions, session_id: str | None, resume: bool) -> tuple[str, bytes] | None:
        return None

    def user_message(self, text: str, message_id: str) -> bytes:
        return text.encode() + b"\r"  # typed into the terminal, then Enter

    def parse(self, line: str) -> AgentEvent | None:
        return None

    def failure(self, event: AgentEvent) -> str | None:
        return None

    def validate(self, options: AgentOptions) -> None:
        pass


PROVIDER = RawProvider
