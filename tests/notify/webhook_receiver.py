"""A webhook receiver on 127.0.0.1 (port 0) that records what it is sent and answers as told."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers import must


@dataclass
class Receiver:
    """Records every POST; answers with the statuses queued by `answer()`, then 200."""

    token: str = field(default_factory=lambda: secrets.token_hex(8))
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)  # path, headers, body
    answers: list[int] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # when each request came (time.time())
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{self.token}"

    def answer(self, *statuses: int) -> None:
        with self.lock:
            self.answers.extend(statuses)

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the requests answered 2xx, in order."""
        with self.lock:
            return [json.loads(body) for (_, _, body), status in zip(self.received, self.answered, strict=True)
                    if status < 300]

    def about(self, name: str, event: str | None = None) -> list[dict[str, Any]]:
        return [b for b in self.bodies() if b.get("name") == name and (event is None or b["event"] == event)]

    def wait_for(self, name: str, event: str, timeout: float = 30.0) -> dict[str, Any]:
        return must(lambda: self.about(name, event), timeout, f"a {event} notice about {name}")[0]

    def arrival(self, name: str, timeout: float = 30.0) -> float:
        """When the first request whose body names `name` came (waiting for it)."""

        def came() -> float | None:
            with self.lock:
                return next((at for (_, _, body), at in zip(self.received, self.arrived, strict=True)
                             if json.loads(body).get("name") == name), None)

        return float(must(came, timeout, f"a request about {name}"))

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.received.append((self.path, dict(self.headers), body))
                    receiver.answered.append(status)
                    receiver.arrived.append(now)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
