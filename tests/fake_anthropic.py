"""A fake Anthropic Messages API on 127.0.0.1 for the real claude CLI, scripted per test.

The CLI sends the whole conversation with every request, so replies are chosen from the last
user turn rather than from the order of requests (the CLI makes requests of its own, e.g. for
titles, and their number changes between releases):

- a turn that carries a tool result is answered with `tool said: <result>` (for a tool use the
  CLI was not allowed, the result is the denial's message);
- a turn whose text contains a scripted trigger gets that script's reply (text, a tool call or an
  HTTP error), optionally held until the test releases it. Each reply (and its tool call) has an
  id of its own, as the real API's do: the CLI merges what arrives under one id;
- any other turn is answered with `echo: <text>`.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str | None = None
    tool: tuple[str, dict[str, Any]] | None = None  # (tool name, input)
    error: tuple[int, str, str] | None = None  # (HTTP status, error type, message)
    gate: threading.Event | None = None  # the reply waits until the test sets it
    number: int = 1  # each reply's message (and tool call) has an id of its own


@dataclass
class FakeAnthropic:
    replies: dict[str, Reply] = field(default_factory=dict)
    prompts: list[str] = field(default_factory=list)  # the text of every user turn answered
    histories: list[list[str]] = field(default_factory=list)  # every request's user texts, in order
    systems: list[str] = field(default_factory=list)  # every request's system prompt, as text
    tools: list[list[str]] = field(default_factory=list)  # every request's tool names
    _server: ThreadingHTTPServer | None = None
    _calls: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def on(self, trigger: str, **reply: Any) -> Reply:
        self.replies[trigger] = Reply(**reply)
        return self.replies[trigger]

    def reset(self) -> None:
        for reply in self.replies.values():
            if reply.gate is not None:
                reply.gate.set()
        self.replies.clear()
        self.prompts.clear()
        self.histories.clear()
        self.systems.clear()
        self.tools.clear()

    def answer(self, request: dict[str, Any]) -> Reply:
        messages = request.get("messages", [])
        self.histories.append([_prompt(m.get("content")) for m in messages if m.get("role") == "user"])
        self.systems.append(_text_of(request.get("system")))
        self.tools.append([str(tool.get("name")) for tool in request.get("tools") or [] if isinstance(tool, dict)])
        turn = _last_user_turn(messages)
        results = [b for b in turn if b.get("type") == "tool_result"]
        if results:
            return Reply(text=f"tool said: {_text_of(results[0].get('content'))}")
        text = _prompt(turn)
        self.prompts.append(text)
        for trigger, reply in list(self.replies.items()):
            if trigger in text:
                return reply
        return Reply(text=f"echo: {text}")

    def start(self, port: int = 0) -> FakeAnthropic:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                if not self.path.startswith("/v1/messages") or self.path.startswith("/v1/messages/count_tokens"):
                    self._send(200, "application/json", json.dumps({"input_tokens": 10}).encode())
                    return
                reply = fake.answer(body)
                reply = replace(reply, number=next(fake._calls))
                if reply.gate is not None:
                    reply.gate.wait(60)
                if reply.error is not None:
                    status, kind, message = reply.error
                    payload = {"type": "error", "error": {"type": kind, "message": message}}
                    self._send(status, "application/json", json.dumps(payload).encode())
                elif body.get("stream"):
                    data = b"".join(f"event: {name}\ndata: {json.dumps(event)}\n\n".encode()
                                    for name, event in _stream(body.get("model", ""), reply))
                    self._send(200, "text/event-stream", data)
                else:
                    self._send(200, "application/json", json.dumps(_message(body.get("model", ""), reply)).encode())

            def do_GET(self) -> None:
                self._send(404, "application/json", b"{}")

            def do_HEAD(self) -> None:
                self._send(200, "text/plain", b"")

            def _send(self, status: int, content_type: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.reset()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _last_user_turn(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
    return []


def _prompt(content: Any) -> str:
    """What a person typed: the text blocks of a user turn, without the CLI's reminders."""
    if isinstance(content, str):
        return content.strip()
    return "\n".join(b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"
                     and not b.get("text", "").startswith("<system-reminder>")).strip()


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    return "\n".join(b.get("text", "") for b in content or [] if isinstance(b, dict)).strip()


def _blocks(reply: Reply) -> list[dict[str, Any]]:
    if reply.tool is not None:
        name, tool_input = reply.tool
        return [{"type": "tool_use", "id": f"toolu_fake_{reply.number}", "name": name, "input": tool_input}]
    return [{"type": "text", "text": reply.text or ""}]


def _message(model: str, reply: Reply) -> dict[str, Any]:
    return {"id": f"msg_fake_{reply.number}", "type": "message", "role": "assistant", "model": model,
            "content": _blocks(reply), "stop_reason": "tool_use" if reply.tool else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5}}


def _stream(model: str, reply: Reply) -> Iterator[tuple[str, dict[str, Any]]]:
    start = _message(model, reply) | {"content": [], "stop_reason": None}
    yield "message_start", {"type": "message_start", "message": start}
    for index, block in enumerate(_blocks(reply)):
        if block["type"] == "tool_use":
            head = block | {"input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            head = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": head}
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield "message_delta", {"type": "message_delta", "delta": {"stop_reason": _message(model, reply)["stop_reason"],
                                                               "stop_sequence": None}, "usage": {"output_tokens": 5}}
    yield "message_stop", {"type": "message_stop"}


if __name__ == "__main__":  # on a rig host: `python3 fake_anthropic.py PORT LOG` (each request's user texts: a line)
    import sys
    import time

    class Logged(FakeAnthropic):
        def answer(self, request: dict[str, Any]) -> Reply:
            reply = super().answer(request)
            with open(sys.argv[2], "a", encoding="utf-8") as log:
                log.write(json.dumps(self.histories[-1]) + "\n")
            return reply

    Logged().start(int(sys.argv[1]))
    while True:
        time.sleep(3600)
