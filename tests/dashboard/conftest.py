"""The dashboard served in this process (aiohttp's test server, one for the package, one change
feed) against the test run's real systemd, journal and store; clients with and without the token.

Missions are started with the real CLI (`om`), as a user would, and appear through the feed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from aiohttp import ClientResponse, ClientSession, DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"
T = TypeVar("T")


@pytest.fixture(scope="package")
def in_process(run_env: dict[str, str]) -> Iterator[None]:
    """Control-layer calls made in this process reach the test run's missions and store."""
    with pytest.MonkeyPatch.context() as patch:
        for key in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR", "PATH"):
            patch.setenv(key, run_env[key])
        yield


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def server(in_process: None) -> AsyncIterator[TestServer]:
    from overmind.dashboard.app import create_app

    served = TestServer(create_app(allowed_hosts=("dash.example.org",)), host="127.0.0.1")
    await served.start_server()
    yield served
    await served.close()


@pytest.fixture(scope="package")
def token(server: TestServer) -> str:
    from overmind.dashboard import token as secret

    return secret.ensure()


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def client(server: TestServer, token: str) -> AsyncIterator[TestClient[Any, Any]]:
    """Signed in as a browser is: the first visit with ?token= set the cookie."""
    signed_in = TestClient(server)
    await signed_in.start_server()
    response = await signed_in.get(f"/missions?token={token}", allow_redirects=False)
    assert response.status == 303, await response.text()
    yield signed_in
    await signed_in._session.close()  # the server is the package's: closed by its fixture


@pytest_asyncio.fixture(loop_scope="package")
async def anonymous(server: TestServer) -> AsyncIterator[ClientSession]:
    """A client that has no token and keeps no cookie."""
    async with ClientSession(base_url=str(server.make_url("/")), cookie_jar=DummyCookieJar()) as session:
        yield session


@pytest.fixture(scope="package")
def csrf(server: TestServer) -> str:
    from overmind.dashboard import token as secret

    return secret.derived(secret.ensure(), "csrf")


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 15.0, what: str = "it") -> T:
    """Await `check` until it returns a value, within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        await asyncio.sleep(0.05)


class Events:
    """A Server-Sent Events response, read frame by frame."""

    def __init__(self, response: ClientResponse) -> None:
        self.response = response

    async def next(self, timeout: float = 15.0) -> dict[str, Any]:
        """The next frame with data: {"event", "id", "data"} (data decoded from JSON)."""
        frame: dict[str, Any] = {"event": "message", "id": None}
        while True:
            raw = await asyncio.wait_for(self.response.content.readline(), timeout)
            assert raw, "the stream ended"
            line = raw.decode().rstrip("\n")
            if line == "":
                if "data" in frame:
                    return frame
                frame = {"event": "message", "id": None}
            elif line.startswith(":") or line.startswith("retry:"):
                continue
            else:
                field, _, value = line.partition(": ")
                frame[field] = json.loads(value) if field == "data" else value

    async def until(self, match: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.next(max(0.1, deadline - time.monotonic()))
            if match(frame):
                return frame
