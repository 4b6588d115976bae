"""Claude Code (`claude`) over stream-json: `-p` for tasks, stream-json input for sessions."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from overmind.agent_options import AGENT_OPTION_NAMES, AGENT_OPTIONS, AgentOptions
from overmind.errors import OvermindError
from overmind.permission_rules import policy
from overmind.providers import AgentEvent, Result, first_line, parse_event
from overmind.providers.permission import PermissionAsk

PERMISSION_MODES = ("acceptEdits", "auto", "bypassPermissions", "default", "dontAsk", "plan")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STREAM_JSON = ["--output-format=stream-json", "--verbose"]
# Tool uses its permissions do not allow are asked on stdout (`can_use_tool`) and answered on stdin.
_PROMPT_TOOL = "--permission-prompt-tool=stdio"
# The tool input that says the most about a call, per tool; others show their input as JSON.
_TOOL_SUBJECT = {
    "Bash": "command", "Read": "file_path", "Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path", "Grep": "pattern", "Glob": "pattern", "WebFetch": "url",
    "WebSearch": "query", "Task": "description", "Agent": "description", "Skill": "skill",
}


def option_args(options: AgentOptions) -> list[str]:
    """`--flag=value` throughout: a value can never be taken for another flag. claude's flags are
    overmind's own; the session id goes with the conversation (`conversation_args`)."""
    given = options.given()
    return [f"{option.flag}={given[option.name]:g}" if option.type is float else f"{option.flag}={given[option.name]}"
            for option in AGENT_OPTIONS if option.name in given and option.name != "session_id" and option.info.passed]


def conversation_args(session_id: str, resume: bool) -> list[str]:
    return [f"--resume={session_id}"] if resume else [f"--session-id={session_id}"]


def tool_subject(name: str, tool_input: Any) -> str | None:
    """What a tool use is about, whole: the command of Bash, the path of Edit; None for tools
    without one such input."""
    key = _TOOL_SUBJECT.get(name)
    subject = tool_input.get(key) if key and isinstance(tool_input, dict) else None
    return subject if isinstance(subject, str) else None


def tool_call(block: dict[str, Any]) -> tuple[str, str]:
    """(tool name, one-line subject): ('Bash', 'pytest -q')."""
    name = str(block.get("name", "tool"))
    tool_input = block.get("input") or {}
    subject = tool_subject(name, tool_input)
    if subject is None:
        subject = json.dumps(tool_input, ensure_ascii=False, separators=(",", ":"))
    return name, first_line(subject, 160)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


class ClaudeProvider:
    name = "claude"
    binary = "claude"
    supports_sessions = True
    supported_options = frozenset(AGENT_OPTION_NAMES)
    inherited_env_prefixes = ("ANTHROPIC_", "CLAUDE_", "IS_SANDBOX", "DISABLE_AUTOUPDATER", "DISABLE_TELEMETRY",
                              "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")
    install_hint = "npm install -g @anthropic-ai/claude-code"
    tasks_are_turns = False
    running_cost = True  # total_cost_usd grows turn by turn

    def __init__(self) -> None:
        self._announced: str | None = None  # the session id last written to the journal

    # -- command lines -------------------------------------------------------------------
    def task_argv(self, prompt: str, options: AgentOptions, session_id: str | None, resume: bool) -> list[str]:
        conversation = conversation_args(session_id, resume) if session_id else []
        if self.asks(options, "task"):  # answers come on stdin, so the prompt does too (a message)
            return [self.binary, "-p", "--input-format=stream-json", *_STREAM_JSON, _PROMPT_TOOL,
                    *option_args(options), *conversation]
        return [self.binary, "-p", *_STREAM_JSON, *option_args(options), *conversation, "--", prompt]

    def before_resume(self, session_id: str) -> None:
        pass  # claude resumes from its own transcript as it is

    def session_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        # Messages are echoed back when the CLI takes them in, so a reply can be matched to them.
        asking = [_PROMPT_TOOL] if self.asks(options, "session") else []
        return [self.binary, "-p", "--input-format=stream-json", *_STREAM_JSON, "--replay-user-messages",
                *asking, *option_args(options), *conversation_args(session_id, resume)]

    def attach_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        interactive = AgentOptions(model=options.model, permission_mode=options.permission_mode,
                                   allowed_tools=options.allowed_tools,
                                   append_system_prompt=options.append_system_prompt)
        return [self.binary, *option_args(interactive), *conversation_args(session_id, resume)]

    def new_session_id(self) -> str | None:
        return str(uuid.uuid4())  # chosen up front, so the conversation is known before it starts

    # -- stdin -----------------------------------------------------------------------------
    def handshake(self, options: AgentOptions, session_id: str | None, resume: bool) -> tuple[str, bytes] | None:
        request_id = "overmind-init"
        line = {"type": "control_request", "request_id": request_id, "request": {"subtype": "initialize"}}
        return request_id, (json.dumps(line) + "\n").encode()

    def user_message(self, text: str, message_id: str) -> bytes:
        line = {"type": "user", "uuid": message_id, "message": {"role": "user", "content": text}}
        return (json.dumps(line, ensure_ascii=False) + "\n").encode()

    # -- stdout ----------------------------------------------------------------------------
    def parse(self, line: str) -> AgentEvent | None:
        return parse_event(self, line)

    def _on_system(self, event: AgentEvent) -> None:
        if event.data.get("subtype") != "init":
            return
        event.status = "working"
        if event.session_id and event.session_id != self._announced:
            self._announced = event.session_id
            event.lines.append(f"[session] {event.session_id} · {event.data.get('model', '?')}")

    def _on_assistant(self, event: AgentEvent) -> None:
        event.status = "working"
        for block in (event.data.get("message") or {}).get("content") or []:
            if block.get("type") == "text" and block.get("text", "").strip():
                event.lines.append(block["text"].strip())
            elif block.get("type") == "tool_use":
                name, subject = tool_call(block)
                event.lines.append(f"[tool] {name}: {subject}")
                event.status = f"working: {name}({first_line(subject, 60)})"

    def _on_user(self, event: AgentEvent) -> None:
        if event.data.get("isReplay"):
            event.acknowledges = event.data.get("uuid")
            return
        content = (event.data.get("message") or {}).get("content")
        for block in content if isinstance(content, list) else []:
            if block.get("type") != "tool_result":
                continue
            output = _text(block.get("content")).strip()
            more = output.count("\n")
            label = "[tool error]" if block.get("is_error") else "[tool output]"
            event.lines.append(f"{label} {first_line(output, 160) or '(no output)'}"
                               + (f" (+{more} lines)" if more else ""))

    def _on_result(self, event: AgentEvent) -> None:
        data = event.data
        errors = [str(e) for e in data.get("errors") or []]
        result = data.get("result")
        text = result if isinstance(result, str) else "; ".join(errors) or str(data.get("subtype", ""))
        # A result whose subtype says success can still be an error (e.g. not logged in).
        failed = bool(data.get("is_error")) or data.get("subtype", "success") != "success" or (
            data.get("terminal_reason") not in (None, "completed"))
        usage = data.get("usage") or {}
        event.result = Result(text=text, is_error=failed, duration_ms=data.get("duration_ms"),
                              cost_usd=data.get("total_cost_usd"), session_id=event.session_id,
                              input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"))
        turns = data.get("num_turns")
        summary = event.result.summary()
        if turns is not None:
            head, _, rest = summary.partition(" · ")
            summary = " · ".join(filter(None, [head, f"{turns} turn{'s' if turns != 1 else ''}", rest]))
        event.lines.append(f"[result] {summary}")
        for denial in data.get("permission_denials") or []:
            name, subject = tool_call({"name": denial.get("tool_name"), "input": denial.get("tool_input")})
            event.lines.append(f"[denied] {name}: {subject}")

    def _on_control_response(self, event: AgentEvent) -> None:
        event.keep = False
        event.reply_to = (event.data.get("response") or {}).get("request_id")

    # -- permission requests (overmind.providers.permission) ---------------------------------
    def asks(self, options: AgentOptions, mission_type: str) -> bool:
        return policy(mission_type, options.on_permission, options.permission_mode) != "deny"

    def _on_control_request(self, event: AgentEvent) -> None:
        event.keep = False  # the wrapper records the request and its answer in its own words
        request = event.data.get("request") or {}
        if request.get("subtype") != "can_use_tool" or not isinstance(event.data.get("request_id"), str):
            return
        name = str(request.get("tool_name") or "tool")
        given = request.get("input")
        tool_input: dict[str, Any] = given if isinstance(given, dict) else {}
        subject = tool_subject(name, tool_input)
        _, shown = tool_call({"name": name, "input": tool_input})
        event.permission = PermissionAsk(event.data["request_id"], name, tool_input, f"{name}({first_line(shown, 80)})",
                                         subject, _always_rules(name, subject, request.get("permission_suggestions")))

    def permission_answer(self, ask: PermissionAsk, allow: bool, message: str, rules: tuple[str, ...]) -> bytes:
        answer: dict[str, Any] = {"behavior": "deny", "message": message}
        if allow:
            answer = {"behavior": "allow", "updatedInput": ask.input}
            if rules:  # for the rest of this process; overmind keeps them for the next ones
                answer["updatedPermissions"] = [{"type": "addRules", "behavior": "allow", "destination": "session",
                                                 "rules": [_rule_object(rule) for rule in rules]}]
        line = {"type": "control_response",
                "response": {"subtype": "success", "request_id": ask.request_id, "response": answer}}
        return (json.dumps(line, ensure_ascii=False) + "\n").encode()

    def failure(self, event: AgentEvent) -> str | None:
        if event.type == "result" and event.data.get("num_turns") == 0 and event.result and event.result.is_error:
            return event.result.text
        return None

    def validate(self, options: AgentOptions) -> None:
        if options.permission_mode is not None and options.permission_mode not in PERMISSION_MODES:
            raise OvermindError(f"invalid --permission-mode {options.permission_mode!r}",
                                hint=f"use one of: {', '.join(PERMISSION_MODES)}")
        if options.session_id is not None and not _UUID.fullmatch(options.session_id.lower()):
            raise OvermindError(f"invalid --session-id {options.session_id!r}: claude session ids are UUIDs")


def _always_rules(tool: str, subject: str | None, suggestions: Any) -> tuple[str, ...]:
    """The rules "always allow" adds: those the CLI proposes (`Bash(npm test *)`), or else this
    very use (`Write(/src/a.txt)`; the whole tool for one without a subject). Never the CLI's
    other proposals (a mode for the whole session, a directory): a person approved one kind of call."""
    from overmind.permission_rules import rule_text

    proposed = [rule_text(str(r.get("toolName") or tool), r.get("ruleContent") or None)
                for s in suggestions if isinstance(s, dict) and s.get("type") == "addRules"
                and s.get("behavior", "allow") == "allow"
                for r in s.get("rules") or [] if isinstance(r, dict)] if isinstance(suggestions, list) else []
    return tuple(dict.fromkeys(proposed)) or (rule_text(tool, subject),)


def _rule_object(rule: str) -> dict[str, str]:
    from overmind.permission_rules import parse_rule

    tool, content = parse_rule(rule)
    return {"toolName": tool, **({"ruleContent": content} if content else {})}


PROVIDER = ClaudeProvider
