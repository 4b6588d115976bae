"""OpenAI Codex CLI (`codex exec --json`): JSONL thread, turn and item events. Tasks only."""

from __future__ import annotations

import time
from typing import Any

from overmind.agent_options import AgentOptions
from overmind.providers import AgentEvent, Result, first_line, parse_event


class CodexProvider:
    name = "codex"
    binary = "codex"
    supports_sessions = False
    supported_options = frozenset({"model", "session_id"})
    inherited_env_prefixes = ("OPENAI_", "CODEX_", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")
    install_hint = "npm install -g @openai/codex"

    def __init__(self) -> None:
        self._last_message = ""
        self._turn_started: float | None = None

    def task_argv(self, prompt: str, options: AgentOptions, session_id: str | None, resume: bool) -> list[str]:
        model = [f"--model={options.model}"] if options.model else []
        thread = ["resume", session_id] if session_id and resume else []
        return [self.binary, "exec", "--json", *model, *thread, "--", prompt]

    def new_session_id(self) -> str | None:
        return None  # codex names its thread itself (thread.started)

    def session_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        raise NotImplementedError("codex exec runs one task per process")

    def attach_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        return [self.binary, "resume", session_id]

    def handshake(self) -> tuple[str, bytes] | None:
        return None

    def user_message(self, text: str, message_id: str) -> bytes:
        raise NotImplementedError("codex exec takes no messages while it runs")

    def parse(self, line: str) -> AgentEvent | None:
        return parse_event(self, line)

    def _on_thread_started(self, event: AgentEvent) -> None:
        event.session_id = event.data.get("thread_id")
        event.lines.append(f"[session] {event.session_id}")

    def _on_turn_started(self, event: AgentEvent) -> None:
        self._turn_started = time.monotonic()
        event.status = "working"

    def _on_item_started(self, event: AgentEvent) -> None:
        item = event.data.get("item") or {}
        if item.get("type") == "command_execution":
            command = first_line(str(item.get("command", "")), 160)
            event.lines.append(f"[tool] shell: {command}")
            event.status = f"working: shell({first_line(command, 60)})"

    def _on_item_completed(self, event: AgentEvent) -> None:
        item = event.data.get("item") or {}
        kind = item.get("type")
        if kind == "agent_message":
            self._last_message = str(item.get("text", ""))
            event.lines.append(self._last_message.strip())
        elif kind == "command_execution":
            output = str(item.get("aggregated_output") or "").strip()
            shown = first_line(output, 160) or "(no output)"
            event.lines.append(f"[tool output] exit {item.get('exit_code')}: {shown}")
        elif kind == "file_change":
            event.lines += [f"[edit] {c.get('kind', 'update')} {c.get('path')}" for c in item.get("changes") or []]
        elif kind == "mcp_tool_call":
            event.lines.append(f"[tool] {item.get('server')}.{item.get('tool')}")
        elif kind == "web_search":
            event.lines.append(f"[tool] web search: {first_line(str(item.get('query', '')), 160)}")
        elif kind == "error":
            event.lines.append(f"[error] {first_line(str(item.get('message', '')))}")

    def _on_turn_completed(self, event: AgentEvent) -> None:
        usage: dict[str, Any] = event.data.get("usage") or {}
        event.result = Result(self._last_message, False, self._elapsed_ms())
        tokens = f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out tokens"
        event.lines.append(f"[result] {event.result.summary()} · {tokens}")

    def _on_turn_failed(self, event: AgentEvent) -> None:
        message = str((event.data.get("error") or {}).get("message", "turn failed"))
        event.result = Result(message, True, self._elapsed_ms())
        event.lines.append(f"[result] {event.result.summary()}")

    def _on_error(self, event: AgentEvent) -> None:
        event.lines.append(f"[error] {first_line(str(event.data.get('message', '')))}")

    def _elapsed_ms(self) -> int | None:
        return round((time.monotonic() - self._turn_started) * 1000) if self._turn_started is not None else None

    def failure(self, event: AgentEvent) -> str | None:
        return event.result.text if event.result and event.result.is_error else None

    def validate(self, options: AgentOptions) -> None:
        pass


PROVIDER = CodexProvider
