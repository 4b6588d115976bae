"""The dashboard's one change feed, fanned out to every open page.

One `control.feed.Feed` (one D-Bus connection, one inotify watch) serves the whole process: each
change is decorated once (the missions table's new row, rendered here) and handed to every
client's queue. Memory and CPU tick without systemd saying so; while pages are open they are read
from cgroupfs every few seconds, once for all pages, and only what moved is sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from overmind import format as fmt
from overmind.control import usage
from overmind.control.feed import Change, Feed
from overmind.control.missions import View

Message = tuple[str, Any, "str | int | None"]  # (SSE event, data, id)
USAGE_EVERY_S = 2.0
BACKLOG = 512  # messages a slow client may fall behind by before it is dropped (it reconnects)


class Hub:
    def __init__(self, decorate: Callable[[Change], dict[str, Any]]) -> None:
        self.feed = Feed()
        self.decorate = decorate
        self.clients: set[asyncio.Queue[Message | None]] = set()
        self._usage: dict[str, dict[str, Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.feed.start()
        self._tasks = [asyncio.create_task(self._relay()), asyncio.create_task(self._tick())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.feed.close()
        for queue in list(self.clients):
            self._end(queue)

    # -- what pages render from -----------------------------------------------------------------
    def views(self) -> list[View]:
        """Every mission and blueprint as the feed last saw it, memory and CPU read now
        (cgroupfs only: call it from a worker thread)."""
        return usage.refresh(self.feed.snapshot())

    def view(self, ident: str) -> View | None:
        found = self.feed.views.get(ident)
        return usage.refresh([found])[0] if found is not None else None

    # -- clients ------------------------------------------------------------------------------
    async def subscribe(self) -> AsyncIterator[Message]:
        """One page's messages: `hello` first (a reconnected page reloads what it shows), then
        every change and usage tick, until the dashboard stops."""
        queue: asyncio.Queue[Message | None] = asyncio.Queue(BACKLOG)
        self.clients.add(queue)
        try:
            yield "hello", {"at": time.time()}, None
            while (message := await queue.get()) is not None:
                yield message
        finally:
            self.clients.discard(queue)

    def _broadcast(self, message: Message) -> None:
        for queue in list(self.clients):
            if queue.full():
                self._end(queue)  # too far behind: its page reconnects and reloads
            else:
                queue.put_nowait(message)

    def _end(self, queue: asyncio.Queue[Message | None]) -> None:
        self.clients.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)

    # -- sources ------------------------------------------------------------------------------
    async def _relay(self) -> None:
        async for change in self.feed.subscribe():
            data = change.to_json()
            if change.data is not None:
                data |= await asyncio.to_thread(self.decorate, change)
            self._broadcast(("change", data, None))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(USAGE_EVERY_S)
            if not self.clients:
                continue
            moved = await asyncio.to_thread(self._usage_moved)
            if moved:
                self._broadcast(("usage", moved, None))

    def _usage_moved(self) -> dict[str, dict[str, Any]]:
        """Memory, CPU and uptime of running missions, as shown, where they changed."""
        current = {v.id: usage_cells(v) for v in self.views() if not v.status.finished}
        moved = {ident: cells for ident, cells in current.items() if self._usage.get(ident) != cells}
        self._usage = current
        return moved


def usage_cells(view: View) -> dict[str, Any]:
    """What a page shows of a view's usage, formatted as the page prints it."""
    limit = view.to_json().get("limits", {}).get("memory_max")
    memory = view.memory
    return {"memory": fmt.size(memory), "memory_pct": round(memory * 100 / limit) if memory and limit else None,
            "cpu": fmt.cpu(view.cpu_seconds), "uptime": fmt.duration(view.uptime)}


HUB = web.AppKey("hub", Hub)
