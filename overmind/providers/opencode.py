"""opencode (`opencode run --format json`): one prompt per process, its steps as JSON lines. Tasks only.

Each step of the agent's loop is framed by `step_start` and `step_finish` (with its tokens and
cost); in between come `text` and `tool_use` parts. The run is over at the first step that does
not end for tool calls. Its result (the last text, and the tokens and cost of all its steps) is
pieced together here and stored with that event. `--session <id>` continues a conversation.
"""

from __future__ import annotations

from typing import Any

from overmind.agent_options import AgentOptions
from overmind.providers import AgentEvent, Result, first_line, output_line, parse_event


class OpencodeProvider:
    name = "opencode"
    binary = "opencode"
    supports_sessions = False
    supported_options = frozenset({"model", "session_id"})
    inherited_env_prefixes = ("OPENCODE_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "HTTPS_PROXY", "HTTP_PROXY",
                              "NO_PROXY")
    install_hint = "npm install -g opencode-ai"
    tasks_are_turns = False
    running_cost = False

    def __init__(self) -> None:
        self._text = ""
        self._spent = [0.0, 0, 0]  # cost, input and output tokens of the run's steps so far

    def task_argv(self, prompt: str, options: AgentOptions, session_id: str | None, resume: bool) -> list[str]:
        model = [f"--model={options.model}"] if options.model else []
        session = [f"--session={session_id}"] if session_id and resume else []
        return [self.binary, "run", "--format=json", *model, *session, "--", prompt]

    def new_session_id(self) -> str | None:
        return None  # opencode names its sessions (sessionID)

    def session_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        raise NotImplementedError("opencode run answers one prompt per process")

    def attach_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        return [self.binary, f"--session={session_id}"]

    def before_resume(self, session_id: str) -> None:
        pass  # opencode's sessions need nothing seen to

    def handshake(self, options: AgentOptions, session_id: str | None, resume: bool) -> tuple[str, bytes] | None:
        return None

    def user_message(self, text: str, message_id: str) -> bytes:
        raise NotImplementedError("opencode run takes no messages while it runs")

    def parse(self, line: str) -> AgentEvent | None:
        event = parse_event(self, line)
        if event is not None and isinstance(event.data.get("sessionID"), str):
            event.session_id = event.data["sessionID"]
        return event

    def _on_step_start(self, event: AgentEvent) -> None:
        event.keep, event.status = False, "working"

    def _on_text(self, event: AgentEvent) -> None:
        self._text = str(event.data["part"].get("text", "")).strip()
        event.lines.append(self._text)

    def _on_tool_use(self, event: AgentEvent) -> None:
        part = event.data["part"]
        state: dict[str, Any] = part.get("state") or {}
        subject = state.get("title") or first_line(str(state.get("input") or ""), 160)
        event.lines.append(f"[tool] {part.get('tool', 'tool')}: {first_line(str(subject), 160)}")
        label = "[tool error]" if state.get("status") == "error" else "[tool output]"
        event.lines.append(output_line(str(state.get("output") or state.get("error") or ""), label))
        event.status = f"working: {part.get('tool', 'tool')}"

    def _on_step_finish(self, event: AgentEvent) -> None:
        part = event.data["part"]
        tokens = part.get("tokens") or {}
        self._spent[0] += float(part.get("cost") or 0)
        self._spent[1] += int(tokens.get("input") or 0)
        self._spent[2] += int(tokens.get("output") or 0)
        if part.get("reason") == "tool-calls":
            event.keep = False
            return
        stored = event.data.get("overmind")
        if isinstance(stored, dict):  # read back from the store
            text, spent = str(stored.get("text", "")), stored.get("spent") or self._spent
        else:
            text, spent = self._text, list(self._spent)
            event.annotation = {"text": text, "spent": spent}
        self._text, self._spent = "", [0.0, 0, 0]  # what comes next is another run's
        event.type = "result"
        failed = part.get("reason") not in ("stop", "end_turn", None)
        event.result = Result(text, failed, cost_usd=float(spent[0]), session_id=event.data.get("sessionID"),
                              input_tokens=int(spent[1]), output_tokens=int(spent[2]))
        event.lines.append(f"[result] {event.result.summary(tokens=True)}")

    def _on_error(self, event: AgentEvent) -> None:
        error = event.data.get("error") or {}
        detail = error.get("data", {}).get("message") if isinstance(error.get("data"), dict) else None
        message = str(detail or error.get("message") or error.get("name") or "error")
        event.type = "result"
        event.result = Result(message, True, session_id=event.data.get("sessionID"))
        event.lines.append(f"[result] {event.result.summary()}")

    def failure(self, event: AgentEvent) -> str | None:
        return None

    def validate(self, options: AgentOptions) -> None:
        pass


PROVIDER = OpencodeProvider
