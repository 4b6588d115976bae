"""The wrapper's side of the control channel (see overmind/channel.py for the client side).

The socket lives in a 0700 directory and is itself 0600: only the mission's user can send
messages to the agent or take over its terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from overmind.wrapper.channel import socket_dir, socket_path

Handler = Callable[[dict[str, Any], asyncio.StreamReader, "Connection"], Awaitable[None]]


class Connection:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    async def reply(self, **answer: Any) -> None:
        answer.setdefault("ok", True)
        await self.write((json.dumps(answer, ensure_ascii=False) + "\n").encode())

    async def fail(self, error: str, hint: str | None = None) -> None:
        await self.reply(ok=False, error=error, **({"hint": hint} if hint else {}))

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


class ControlServer:
    def __init__(self, mission_id: str, handlers: dict[str, Handler]) -> None:
        self.path = socket_path(mission_id)
        self.handlers = handlers
        self._server: asyncio.AbstractServer | None = None
        self._requests: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        os.makedirs(socket_dir(), mode=0o700, exist_ok=True)
        os.chmod(socket_dir(), 0o700)  # whatever made it first: only this user may reach agents
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # left by a run that was killed
        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=self.path, limit=1 << 24)
        finally:
            os.umask(old_umask)

    async def close(self, grace: float = 1.0) -> None:
        """Stop listening; give open requests `grace` seconds to finish (subscribers to get their
        last events), then cut them off."""
        if self._server is not None:
            self._server.close()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        if self._requests:
            _, late = await asyncio.wait(self._requests, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)
        connection = Connection(writer)
        try:
            line = await reader.readline()
            try:
                request = json.loads(line)
                handler = self.handlers.get(request.get("op"))
            except (ValueError, AttributeError):
                request, handler = {}, None
            if handler is None:
                await connection.fail(f"unknown request {line[:80]!r}")
            else:
                await handler(request, reader, connection)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away
        finally:
            writer.close()
