"""Google's Gemini CLI over the Agent Client Protocol (`gemini --acp`: JSON-RPC on stdio), for tasks and
sessions alike; a person takes a conversation over with `gemini --resume <session>`.

`gemini -p` answers one prompt per process and reads no more input; in ACP mode one process holds
a session for as many prompts as it is sent (`session/prompt`, answered when the turn is over with
its stop reason and tokens), streams the answer and tool calls as `session/update` notifications,
and `session/load` resumes a recorded session by id (the same ids `--resume` takes). A loaded
session's history is streamed back first: nothing arrives outside a prompt but that history, so
it is skipped.

gemini has no flag to add to its system prompt: `--append-system-prompt` (and the memories
overmind consults) go ahead of the first message of a new conversation instead.
"""

from __future__ import annotations

import os
from typing import Any

from overmind.agent_options import AgentOptions
from overmind.providers import AgentEvent, Result, first_line, gemini_recordings, mcp_servers, output_line
from overmind.providers.jsonrpc import JsonRpcProvider, error_text, message, request

APPROVAL_MODES = ("yolo", "auto_edit", "plan", "default")  # --permission-mode for gemini
DEFAULT_APPROVAL = "yolo"  # headless: nobody to ask, so tools run (in the mission's worktree)
SESSION_REQUEST = "overmind-session"
READY_REQUEST = "overmind-ready"  # a resumed session is ready once this is answered (its history sent)
_SKIPPED_UPDATES = ("agent_thought_chunk", "user_message_chunk", "available_commands_update", "current_mode_update",
                    "plan", "session_info_update", "config_option_update", "usage_update")


def _text(content: Any) -> str:
    if isinstance(content, dict):
        if content.get("type") == "text":
            return str(content.get("text", ""))
        return _text(content.get("content"))
    if isinstance(content, list):
        return "\n".join(filter(None, (_text(part) for part in content)))
    return ""


def acp_servers(mcp_config: str | None) -> list[dict[str, Any]]:
    """MCP servers (claude's `--mcp-config` form) as ACP's `mcpServers` list."""
    return [{"name": name, "command": server.get("command", ""), "args": list(server.get("args") or []),
             "env": [{"name": key, "value": str(value)} for key, value in (server.get("env") or {}).items()]}
            for name, server in mcp_servers(mcp_config).items() if "command" in server]


class GeminiProvider(JsonRpcProvider):
    name = "gemini"
    binary = "gemini"
    supported_options = frozenset({"model", "session_id", "permission_mode", "append_system_prompt", "mcp_config"})
    inherited_env_prefixes = ("GEMINI_", "GOOGLE_", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")
    install_hint = "npm install -g @google/gemini-cli"
    permission_modes = APPROVAL_MODES
    permission_modes_are = "gemini's approval modes"
    chatter = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self.session_id: str | None = None
        self._preamble = ""  # said ahead of the first message of a new conversation
        self._loading = False  # a loaded session's history is being streamed back

    # -- command lines -------------------------------------------------------------------
    def _flags(self, options: AgentOptions) -> list[str]:
        model = [f"--model={options.model}"] if options.model else []
        return [*model, f"--approval-mode={options.permission_mode or DEFAULT_APPROVAL}"]

    def session_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        return [self.binary, "--acp", *self._flags(options)]

    def task_argv(self, prompt: str, options: AgentOptions, session_id: str | None, resume: bool) -> list[str]:
        return self.session_argv(options, session_id or "", resume)

    def attach_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        return [self.binary, *self._flags(options), f"--resume={session_id}"]

    def new_session_id(self) -> str | None:
        return None  # session/new names it

    def before_resume(self, session_id: str) -> None:
        gemini_recordings.before_resume(session_id)

    # -- stdin -----------------------------------------------------------------------------
    def handshake(self, options: AgentOptions, session_id: str | None, resume: bool) -> tuple[str, bytes] | None:
        hello = request("overmind-init", "initialize", {
            "protocolVersion": 1,
            "clientCapabilities": {"fs": {"readTextFile": False, "writeTextFile": False}, "terminal": False}})
        params = {"cwd": os.getcwd(), "mcpServers": acp_servers(options.mcp_config)}
        if resume and session_id:
            self.session_id, self._loading = session_id, True
            self.before_resume(session_id)
            return READY_REQUEST, hello + request(SESSION_REQUEST, "session/load", {"sessionId": session_id, **params})
        self._preamble = options.append_system_prompt or ""
        return SESSION_REQUEST, hello + request(SESSION_REQUEST, "session/new", params)

    def turn_request(self, text: str, message_id: str) -> bytes:
        prompt = [{"type": "text", "text": text}]
        if self._preamble:  # its own block, ahead of what the person said
            prompt.insert(0, {"type": "text", "text": f"<system-reminder>\n{self._preamble}\n</system-reminder>"})
            self._preamble = ""
        return request(message_id, "session/prompt", {"sessionId": self.session_id, "prompt": prompt})

    # -- stdout ----------------------------------------------------------------------------
    def _on_response(self, event: AgentEvent) -> None:
        data, result = event.data, event.data.get("result") or {}
        if event.reply_to == READY_REQUEST:
            # Asked once session/load was answered: the history it streams back has come before.
            self._loading = False
            if self.session_id:
                gemini_recordings.forget_strays(self.session_id)  # what the load recorded first
            return
        if event.reply_to == SESSION_REQUEST:
            self.session_id = result.get("sessionId") or self.session_id
            event.keep, event.type, event.session_id = True, "session", self.session_id
            refused = error_text(data)
            if self._loading:  # a load: ready after the ping below, unless it failed
                if refused:
                    event.reply_to = READY_REQUEST
                else:
                    event.respond = request(READY_REQUEST, "overmind/ping", {})
            model = (result.get("models") or {}).get("currentModelId", "?")
            event.lines.append(f"[error] {first_line(refused)}" if refused else
                               f"[session] {self.session_id} · {model}")
            return
        if event.reply_to is None or event.reply_to.startswith("overmind-"):
            return  # initialize's answer
        # session/prompt's answer: the message was taken in, and its turn is over.
        event.keep, event.type, event.acknowledges = True, "result", event.reply_to
        session = self.stored(event, "session") or self.session_id
        if self.stored(event, "session") is None:
            self.annotate(event, session=session)
        event.session_id = session
        text = self.said(event)
        tokens = ((result.get("_meta") or {}).get("quota") or {}).get("token_count") or {}
        refused = error_text(data)
        stop = result.get("stopReason")
        failed = refused is not None or stop not in ("end_turn", None)
        if failed and refused is None:
            refused = f"stopped: {stop}" + (f"\n{text}" if text else "")
        event.result = Result(refused or text, failed, session_id=session, input_tokens=tokens.get("input_tokens"),
                              output_tokens=tokens.get("output_tokens"))
        event.lines.append(f"[result] {event.result.summary(tokens=True)}")
        self.turn_over(event)

    def _on_session_update(self, event: AgentEvent) -> None:
        update = event.data["params"]["update"]
        kind = update.get("sessionUpdate")
        if kind in _SKIPPED_UPDATES or self._loading:  # a loaded session's history, or chatter
            event.keep = False
        elif kind == "agent_message_chunk":
            event.keep = False
            self.stream(_text(update.get("content")))
        elif kind == "tool_call":
            title = first_line(str(update.get("title") or update.get("kind") or "tool"), 160)
            self.said(event)
            event.lines.append(f"[tool] {update.get('kind') or 'tool'}: {title}")
            event.status = f"working: {first_line(title, 60)}"
        elif kind == "tool_call_update" and update.get("status") in ("completed", "failed"):
            label = "[tool error]" if update.get("status") == "failed" else "[tool output]"
            event.lines.append(output_line(_text(update.get("content")) or "(completed)", label))
        else:
            event.keep = False

    def _on_session_request_permission(self, event: AgentEvent) -> None:
        """Nobody is there to ask (--permission-mode yolo asks nothing): refused, and said so."""
        params = event.data["params"]
        options = params.get("options") or []
        reject = next((o.get("optionId") for o in options if str(o.get("kind", "")).startswith("reject")), None)
        outcome = {"outcome": "selected", "optionId": reject} if reject else {"outcome": "cancelled"}
        event.respond = message({"id": event.data["id"], "result": {"outcome": outcome}})
        title = first_line(str((params.get("toolCall") or {}).get("title") or "a tool"), 160)
        event.lines.append(f"[denied] {title}")


PROVIDER = GeminiProvider
