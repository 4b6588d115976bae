"""The dashboard's one change feed, fanned out to every open page.

One `control.feed.Feed` (one D-Bus connection, one inotify watch) serves the whole process while
pages use it: each change is decorated once (the missions table's new row, rendered here) and
handed to every client's queue. With no page open for LINGER_S, the feed is closed: missions that
come and go cost an idle dashboard nothing, and the next page starts a feed afresh, whose first
look is the catch-up. Memory and CPU tick without systemd saying so; while pages are open they
are read from cgroupfs every few seconds, once for all pages, and only what moved is sent.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
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
LINGER_S = 30.0  # the feed outlives the last page this long: a page that reloads, or the next one, finds it


class Hub:
    def __init__(self, decorate: Callable[[Change], dict[str, Any]]) -> None:
        self.feed: Feed | None = None
        self.decorate = decorate
        self.clients: set[asyncio.Queue[Message | None]] = set()
        self.holders = 0  # watches that follow the feed for pages of their own (the towers')
        self.linger_s = LINGER_S
        self._spent: Counter[str] = Counter()  # what the feeds closed so far cost
        self._usage: dict[str, dict[str, Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._resting: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()  # the feed starts with the first page

    async def close(self) -> None:
        if self._resting is not None:
            self._resting.cancel()
        await self._close_feed()
        for queue in list(self.clients):
            self._end(queue)

    @property
    def counters(self) -> Counter[str]:
        """What the feeds this dashboard held cost (see Feed.counters): units read, views built."""
        return self._spent + Counter(self.feed.counters if self.feed is not None else {})

    # -- the feed, while pages use it ----------------------------------------------------------
    async def ensure(self) -> Feed:
        """The feed, started if it was not running (its first look catches up on what happened)."""
        async with self._lock:
            if self.feed is None:
                feed = Feed()
                await feed.start()
                self.feed = feed
                self._tasks = [asyncio.create_task(self._relay(feed)), asyncio.create_task(self._tick())]
            self._linger()
            return self.feed

    async def hold(self) -> Feed:
        """The feed, kept open until release(): for a watch that follows it while its own pages
        are open (the worktrees'), as the missions' pages keep it."""
        self.holders += 1
        return await self.ensure()

    def release(self) -> None:
        self.holders -= 1
        self._linger()

    def _linger(self) -> None:
        """With no page open, the feed closes LINGER_S after it was last used."""
        if self._resting is not None:
            self._resting.cancel()
            self._resting = None
        if not self.clients and not self.holders and self._loop is not None:
            self._resting = self._loop.call_later(self.linger_s, lambda: asyncio.ensure_future(self._rest()))

    async def _rest(self) -> None:
        async with self._lock:
            if not self.clients and not self.holders:
                await self._close_feed()

    async def _close_feed(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.feed is not None:
            await self.feed.close()
            self._spent.update(self.feed.counters)
            self.feed = None

    def _feed_now(self) -> Feed:
        """From a worker thread (where pages render): the feed, started on the event loop if need be."""
        assert self._loop is not None, "the hub has not started"
        return asyncio.run_coroutine_threadsafe(self.ensure(), self._loop).result()

    # -- what pages render from -----------------------------------------------------------------
    def views(self) -> list[View]:
        """Every mission and blueprint as the feed last saw it, memory and CPU read now
        (cgroupfs only: call it from a worker thread)."""
        return usage.refresh(self.snapshot())

    def snapshot(self) -> list[View]:
        """The views as the feed last saw them (from a worker thread)."""
        return self._feed_now().snapshot()

    def view(self, ident: str) -> View | None:
        found = self._feed_now().views.get(ident)
        return usage.refresh([found])[0] if found is not None else None

    # -- clients ------------------------------------------------------------------------------
    async def subscribe(self) -> AsyncIterator[Message]:
        """One page's messages: `hello` first (a reconnected page reloads what it shows), then
        every change and usage tick, until the dashboard stops."""
        queue: asyncio.Queue[Message | None] = asyncio.Queue(BACKLOG)
        self.clients.add(queue)
        try:
            await self.ensure()
            yield "hello", {"at": time.time()}, None
            while (message := await queue.get()) is not None:
                yield message
        finally:
            self.clients.discard(queue)
            self._linger()

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
    async def _relay(self, feed: Feed) -> None:
        async for change in feed.subscribe():
            if not self.clients:
                continue  # a page that opens reads the feed's views: nothing to draw for nobody
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
