"""Notifications against the test run's real systemd: the real notification service (a user unit
named with the run's prefix), real missions, and a webhook receiver on 127.0.0.1 (port 0).

One channel (`keeper`, for no mission) is kept for the whole package so the service stays up
between tests; each test adds its own channels for its own missions (`--missions NAME*`), and
the package removes every channel, and with the last one the service, when it ends.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.helpers import Overmind, must


@dataclass
class Receiver:
    """Records every POST; answers with the statuses queued by `answer()`, then 200."""

    token: str = field(default_factory=lambda: secrets.token_hex(8))
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)  # path, headers, body
    answers: list[int] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
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

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.received.append((self.path, dict(self.headers), body))
                    receiver.answered.append(status)
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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.stop()


@pytest.fixture(scope="package")
def service(run_env: dict[str, str]) -> Iterator[str]:
    """The run's notification service, up for the whole package; its unit's name."""
    om = Overmind(dict(run_env))
    _remove_channels(om)  # what a killed earlier run of this package left
    om("notify", "add", "keeper", "--command", "true", "--missions", "no-mission-is-named-so")
    unit = f"{run_env['OVERMIND_UNIT_PREFIX']}-notify.service"
    yield unit
    _remove_channels(om)


def _remove_channels(om: Overmind) -> None:
    listed = om("notify", "ls", "--json", check=False)
    names = [row["name"] for row in json.loads(listed.stdout or "[]")] if listed.returncode == 0 else []
    if names:
        om("notify", "rm", *names, check=False)


@pytest.fixture
def hook(om: Overmind, service: str, receiver: Receiver, name: str) -> Iterator[str]:
    """A webhook channel (every event) for this test's missions: those named `<name>*`."""
    om("notify", "add", name, "--webhook", receiver.url, "--on", "all", "--missions", f"{name}*")
    yield name
    om("notify", "rm", name, check=False)
