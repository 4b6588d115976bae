"""What the CLIs driven over JSON-RPC 2.0 on stdin/stdout share (codex's app-server, gemini's ACP).

Such a CLI is a long-lived server: a task is a session's first turn (`tasks_are_turns`), the
handshake opens or resumes the conversation, a message is a request whose response (gemini) or
whose `turn/completed` notification (codex) ends the turn. Each message is a request with the
message's own id, so the reply that acknowledges it is found without bookkeeping.

A turn at a time: a message sent while a turn runs waits here and is written (`respond`) when
that turn ends, as claude queues stream-json messages itself. Streamed text is kept back until
something is shown (a tool call, the turn's end) and stored there, in the event's annotation.
Requests the CLI makes of its client are answered by the provider's `_on_<method>` if it has
one, else refused, so the CLI never waits for an answer that does not come.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from overmind.agent_options import AgentOptions
from overmind.errors import OvermindError
from overmind.providers import AgentEvent, dispatch, handler_name, json_object, mcp_servers

METHOD_NOT_FOUND = -32601


def message(payload: dict[str, Any]) -> bytes:
    return (json.dumps({"jsonrpc": "2.0", **payload}, ensure_ascii=False) + "\n").encode()


def request(request_id: str, method: str, params: dict[str, Any]) -> bytes:
    return message({"id": request_id, "method": method, "params": params})


def notification(method: str, params: dict[str, Any] | None = None) -> bytes:
    return message({"method": method, **({"params": params} if params is not None else {})})


def error_text(data: dict[str, Any]) -> str | None:
    """The message of a JSON-RPC error response, None for a success."""
    error = data.get("error")
    if error is None:
        return None
    if isinstance(error, dict):
        detail = error.get("data")
        text = str(error.get("message") or "error")
        return f"{text}: {detail}" if isinstance(detail, str) and detail and detail not in text else text
    return str(error)


class JsonRpcProvider:
    name = ""
    tasks_are_turns = True
    supports_sessions = True
    running_cost = False
    chatter: frozenset[str] = frozenset()  # notifications known and of no interest: skipped silently
    permission_modes: tuple[str, ...] = ()  # what --permission-mode may be for this CLI ...
    permission_modes_are = ""  # ... and what they are, for the hint

    def __init__(self) -> None:
        self._busy = False  # a turn is running
        self._waiting: deque[bytes] = deque()  # messages sent meanwhile, in order
        self._streamed: list[str] = []  # text streamed since something was last shown
        self._unknown: set[str] = set()  # notifications of a newer CLI, said once each

    # -- for subclasses ---------------------------------------------------------------------
    def before_resume(self, session_id: str) -> None:
        pass  # codex's rollouts need nothing seen to (gemini's do: GeminiProvider)

    def turn_request(self, text: str, message_id: str) -> bytes:
        """The request that starts a turn with this message."""
        raise NotImplementedError

    # -- stdin ------------------------------------------------------------------------------
    def user_message(self, text: str, message_id: str) -> bytes:
        line = self.turn_request(text, message_id)
        if self._busy:
            self._waiting.append(line)
            return b""
        self._busy = True
        return line

    def turn_over(self, event: AgentEvent) -> None:
        """The running turn has ended: the next waiting message goes in."""
        self._busy = False
        if self._waiting:
            event.respond = (event.respond or b"") + self._waiting.popleft()
            self._busy = True

    # -- stdout -----------------------------------------------------------------------------
    def parse(self, line: str) -> AgentEvent | None:
        data = json_object(line)
        if data is None:
            return None
        method = data.get("method")
        if isinstance(method, str):
            event = AgentEvent(method, data)
            if not hasattr(self, handler_name(method)):
                event.keep = False
                if method not in self.chatter and method not in self._unknown:
                    self._unknown.add(method)
                    event.lines.append(f"[overmind] skipped {self.name}'s {method!r} events: not known to overmind")
            event = dispatch(self, method, event)
            if "id" in data and event.respond is None:  # a request of the CLI's that nobody here handles
                event.respond = message({"id": data["id"], "error": {"code": METHOD_NOT_FOUND,
                                                                     "message": f"overmind does not handle {method}"}})
            return event
        if "id" in data and ("result" in data or "error" in data):
            event = AgentEvent("response", data, reply_to=str(data["id"]), keep=False)
            return dispatch(self, "response", event)
        return None

    def stream(self, text: str) -> None:
        self._streamed.append(text)

    def said(self, event: AgentEvent) -> str:
        """The text streamed before this event, shown first in its lines and kept in its annotation.
        An event read back from the store has it in its annotation already."""
        stored = event.data.get("overmind")
        if isinstance(stored, dict):
            text = str(stored.get("text") or "")
        else:
            text, self._streamed = "".join(self._streamed).strip(), []
            if text:
                self.annotate(event, text=text)
        if text:
            event.lines.insert(0, text)
        return text

    @staticmethod
    def annotate(event: AgentEvent, **values: Any) -> None:
        event.annotation = {**(event.annotation or {}), **values}

    @staticmethod
    def stored(event: AgentEvent, key: str) -> Any:
        """A value this event's annotation carries, when it is read back from the store."""
        annotation = event.data.get("overmind")
        return annotation.get(key) if isinstance(annotation, dict) else None

    # -- the agent's start and options --------------------------------------------------------
    def failure(self, event: AgentEvent) -> str | None:
        """The handshake's answer (stored as type "session") refused the conversation."""
        return error_text(event.data) if event.type == "session" else None

    def validate(self, options: AgentOptions) -> None:
        if options.permission_mode is not None and options.permission_mode not in self.permission_modes:
            raise OvermindError(f"invalid --permission-mode {options.permission_mode!r} for {self.name}",
                                hint=f"{self.permission_modes_are}: {', '.join(self.permission_modes)}")
        if options.mcp_config is not None:
            try:
                mcp_servers(options.mcp_config)
            except (OSError, ValueError, AttributeError) as exc:
                raise OvermindError(f"invalid --mcp-config: {exc}") from None
