"""OpenAI Codex CLI over its app-server protocol (`codex app-server`: JSON-RPC on stdio), for tasks
and sessions alike; a person takes a conversation over with `codex resume <thread>`.

`codex exec --json` runs one prompt per process and takes nothing more on stdin; the app-server
holds a thread open for as many turns as it is sent (`turn/start`), reports each item (a message,
a command and its output, a file change) as it starts and completes, and resumes a thread by id
(`thread/resume`) after a crash. The thread id is codex's own (it names its rollout file).
"""

from __future__ import annotations

import os
from typing import Any

from overmind import __version__
from overmind.agent_options import AgentOptions
from overmind.providers import AgentEvent, Result, first_line, mcp_servers, output_line
from overmind.providers.jsonrpc import JsonRpcProvider, error_text, notification, request

SANDBOXES = ("read-only", "workspace-write", "danger-full-access")  # --permission-mode for codex
DEFAULT_SANDBOX = "workspace-write"  # edits in its (work)tree, commands sandboxed; nobody to ask
THREAD_REQUEST = "overmind-thread"


class CodexProvider(JsonRpcProvider):
    name = "codex"
    binary = "codex"
    supported_options = frozenset({"model", "session_id", "permission_mode", "append_system_prompt", "mcp_config"})
    inherited_env_prefixes = ("OPENAI_", "CODEX_", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")
    install_hint = "npm install -g @openai/codex"
    permission_modes = SANDBOXES
    permission_modes_are = "codex's sandboxes"
    chatter = frozenset({
        "configWarning", "remoteControl/status/changed", "thread/started", "thread/status/changed",
        "account/rateLimits/updated", "item/agentMessage/delta", "item/commandExecution/outputDelta",
        "item/reasoning/summaryTextDelta", "item/reasoning/summaryPartAdded", "item/reasoning/textDelta",
        "item/fileChange/outputDelta", "item/plan/delta", "thread/goal/cleared", "thread/goal/updated",
        "turn/diff/updated", "turn/plan/updated", "mcpServer/startupStatus/updated", "thread/name/updated",
        "thread/settings/updated", "skills/changed", "warning", "deprecationNotice", "hook/started",
        "hook/completed", "serverRequest/resolved"})

    def __init__(self) -> None:
        super().__init__()
        self.thread_id: str | None = None
        self._tokens = [0, 0]  # the running turn's input and output tokens

    # -- command lines -------------------------------------------------------------------
    def session_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        return [self.binary, "app-server", "--listen", "stdio://"]

    def task_argv(self, prompt: str, options: AgentOptions, session_id: str | None, resume: bool) -> list[str]:
        return self.session_argv(options, session_id or "", resume)

    def attach_argv(self, options: AgentOptions, session_id: str, resume: bool) -> list[str]:
        model = [f"--model={options.model}"] if options.model else []
        sandbox = f"--sandbox={options.permission_mode or DEFAULT_SANDBOX}"
        # In the person's terminal, without the background server codex otherwise leaves running.
        return [self.binary, "resume", "--no-daemon", *model, sandbox, session_id]

    def new_session_id(self) -> str | None:
        return None  # codex names its thread itself (thread/start's answer)

    # -- stdin -----------------------------------------------------------------------------
    def handshake(self, options: AgentOptions, session_id: str | None, resume: bool) -> tuple[str, bytes] | None:
        hello = request("overmind-init", "initialize",
                        {"clientInfo": {"name": "overmind", "title": "overmind", "version": __version__}})
        params: dict[str, Any] = {"cwd": os.getcwd(), "approvalPolicy": "never",
                                  "sandbox": options.permission_mode or DEFAULT_SANDBOX}
        if options.model:
            params["model"] = options.model
        if options.append_system_prompt:
            params["developerInstructions"] = options.append_system_prompt
        if servers := mcp_servers(options.mcp_config):
            params["config"] = {"mcp_servers": servers}
        if resume and session_id:
            self.thread_id = session_id
            thread = request(THREAD_REQUEST, "thread/resume", {"threadId": session_id, **params})
        else:
            thread = request(THREAD_REQUEST, "thread/start", params)
        return THREAD_REQUEST, hello + notification("initialized") + thread

    def turn_request(self, text: str, message_id: str) -> bytes:
        return request(message_id, "turn/start", {"threadId": self.thread_id, "clientUserMessageId": message_id,
                                                  "input": [{"type": "text", "text": text, "text_elements": []}]})

    # -- stdout ----------------------------------------------------------------------------
    def _on_response(self, event: AgentEvent) -> None:
        data, result = event.data, event.data.get("result")
        if event.reply_to == THREAD_REQUEST:
            thread = (result or {}).get("thread") or {}
            self.thread_id = thread.get("id") or self.thread_id
            event.keep, event.type, event.session_id = True, "session", self.thread_id
            if (refused := error_text(data)) is None:
                event.lines.append(f"[session] {self.thread_id} · {(result or {}).get('model', '?')}")
            else:
                event.lines.append(f"[error] {first_line(refused)}")
            return
        if event.reply_to is not None and event.reply_to.startswith("overmind-"):
            return  # initialize's answer
        event.acknowledges = event.reply_to  # turn/start's answer: the message is taken in
        if (refused := error_text(data)) is not None:  # ... or refused: that ends its turn
            event.keep, event.type = True, "result"
            event.result = Result(refused, True, session_id=self.thread_id)
            event.lines.append(f"[result] {event.result.summary()}")
            self.turn_over(event)

    def _on_turn_started(self, event: AgentEvent) -> None:
        event.keep, event.status = False, "working"
        self._tokens = [0, 0]

    def _on_item_started(self, event: AgentEvent) -> None:
        item = event.data["params"]["item"]
        if item.get("type") != "commandExecution":
            event.keep = False
            return
        command = first_line(str(item.get("command", "")), 160)
        event.lines.append(f"[tool] shell: {command}")
        event.status = f"working: shell({first_line(command, 60)})"

    def _on_item_completed(self, event: AgentEvent) -> None:
        item = event.data["params"]["item"]
        kind = item.get("type")
        if kind == "agentMessage":
            event.lines.append(str(item.get("text", "")).strip())
        elif kind == "commandExecution":
            code = item.get("exitCode")
            label = "[tool output]" if code == 0 else f"[tool error] exit {code}:"
            event.lines.append(output_line(str(item.get("aggregatedOutput") or ""), label))
        elif kind == "fileChange":
            event.lines += [f"[tool] edit: {change.get('path')}" for change in item.get("changes") or []]
        elif kind == "mcpToolCall":
            event.lines.append(f"[tool] {item.get('server')}.{item.get('tool')}")
        elif kind == "webSearch":
            event.lines.append(f"[tool] web search: {first_line(str(item.get('query', '')), 160)}")
        elif kind == "userMessage":
            event.keep = False  # what was sent: the journal has it already ([human])
        elif kind == "error":
            event.lines.append(f"[error] {first_line(str(item.get('message', '')))}")
        else:
            event.keep = False  # reasoning and the like

    def _on_thread_tokenUsage_updated(self, event: AgentEvent) -> None:
        event.keep = False
        last = event.data["params"]["tokenUsage"].get("last") or {}
        self._tokens[0] += int(last.get("inputTokens") or 0)
        self._tokens[1] += int(last.get("outputTokens") or 0)

    def _on_turn_completed(self, event: AgentEvent) -> None:
        params = event.data["params"]
        turn = params.get("turn") or {}
        event.type = "result"
        tokens = self.stored(event, "tokens") or self._tokens
        if self.stored(event, "tokens") is None:
            self.annotate(event, tokens=list(tokens))
        failed = turn.get("status") != "completed"
        messages = [str(item.get("text", "")) for item in turn.get("items") or [] if item.get("type") == "agentMessage"]
        error = (turn.get("error") or {}).get("message")
        text = str(error) if failed and error else (messages[-1] if messages else str(turn.get("status", "")))
        event.result = Result(text, failed, turn.get("durationMs"), session_id=params.get("threadId") or self.thread_id,
                              input_tokens=tokens[0], output_tokens=tokens[1])
        event.lines.append(f"[result] {event.result.summary(tokens=True)}")
        self.turn_over(event)

    def _on_error(self, event: AgentEvent) -> None:
        error = event.data["params"].get("error") or {}
        event.lines.append(f"[error] {first_line(str(error.get('message', 'error')))}")


PROVIDER = CodexProvider
