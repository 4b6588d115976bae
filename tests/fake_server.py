"""What every scripted fake model API shares: replies chosen by a trigger in the last user turn,
a record of what each request carried, and an HTTP server on 127.0.0.1 (port 0).

An agent CLI sends the whole conversation with every request, so replies are chosen from the
last user turn rather than from the order of requests:

- a turn that carries a tool result is answered with `tool said: <result>`;
- a turn whose text contains a scripted trigger gets that script's reply (text, a tool call or an
  HTTP error), optionally held until the test releases it (`gate`), or sent slowly in `chunks`
  pieces `delay` seconds apart;
- any other turn is answered with `echo: <text>`.

Each API (tests/fake_openai.py, tests/fake_gemini.py) says how to read its requests and how to
write a reply in its own wire format.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str | None = None
    tool: tuple[str, dict[str, Any]] | None = None  # (tool name, input)
    error: tuple[int, str, str] | None = None  # (HTTP status, error type, message)
    gate: threading.Event | None = None  # the reply waits until the test sets it
    chunks: int = 1  # the text is streamed in this many pieces ...
    delay: float = 0.0  # ... this many seconds apart


@dataclass
class Turn:
    """The last user turn of a request, as the fake reads it."""

    text: str  # what a person typed
    tool_output: str | None = None  # set when the turn carries a tool's result


@dataclass
class ScriptedFake:
    replies: dict[str, Reply] = field(default_factory=dict)
    prompts: list[str] = field(default_factory=list)  # the text of every user turn answered
    histories: list[list[str]] = field(default_factory=list)  # every request's user texts, in order
    requests: list[dict[str, Any]] = field(default_factory=list)  # every model request, whole
    _server: ThreadingHTTPServer | None = None

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
        self.requests.clear()

    def choose(self, history: list[str], turn: Turn, side: bool = False) -> Reply:
        if side:  # the CLI's own request (a title for the conversation): answered, not recorded
            return Reply(text="a title")
        self.histories.append(history)
        if turn.tool_output is not None:
            return Reply(text=f"tool said: {turn.tool_output.strip()}")
        self.prompts.append(turn.text)
        for trigger, reply in list(self.replies.items()):
            if trigger in turn.text:
                return reply
        return Reply(text=f"echo: {turn.text}")

    # -- for each API -------------------------------------------------------------------------
    def route(self, path: str) -> bool:
        """Whether a POST to `path` is a model request (others get an empty 200 answer)."""
        raise NotImplementedError

    def read(self, request: dict[str, Any]) -> tuple[list[str], Turn]:
        """Every user text of the conversation, in order, and its last user turn."""
        raise NotImplementedError

    def events(self, request: dict[str, Any], reply: Reply) -> Iterator[bytes]:
        """The reply as server-sent events, piece by piece."""
        raise NotImplementedError

    def side(self, request: dict[str, Any]) -> bool:
        """Whether this is a request the CLI makes for itself, not a turn of the conversation."""
        return False

    def error_body(self, status: int, kind: str, message: str) -> dict[str, Any]:
        return {"error": {"code": status, "type": kind, "status": kind, "message": message}}

    # -- the server --------------------------------------------------------------------------------
    def start(self) -> ScriptedFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                if not fake.route(self.path):
                    self._send(200, "application/json", b"{}")
                    return
                fake.requests.append(body)
                reply = fake.choose(*fake.read(body), side=fake.side(body))
                if reply.gate is not None:
                    reply.gate.wait(60)
                if reply.error is not None:
                    self._send(reply.error[0], "application/json", json.dumps(fake.error_body(*reply.error)).encode())
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for index, piece in enumerate(fake.events(body, reply)):
                    if index and reply.delay:
                        time.sleep(reply.delay)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

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

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.reset()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def pieces(text: str, count: int) -> list[str]:
    """`text` cut into `count` pieces (fewer if it is shorter), for a slow stream."""
    count = max(1, min(count, len(text)))
    size = -(-len(text) // count) if text else 1
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()
