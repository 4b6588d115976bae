"""The live side of the worktree and memory pages: one worktree watch and one memory watch per
dashboard, started when the first such page opens and stopped a while after the last one closed
(an idle dashboard watches nothing). Each change is read once and told to every open page, which
fetches what it shows again (drawn on the server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from overmind.control.memory_watch import MemoryWatch
from overmind.control.worktree_board import Board
from overmind.control.worktree_watch import EVERYTHING, WorktreeWatch
from overmind.dashboard.live import Hub, Message

LINGER_S = 60.0  # a watch outlives its last page this long: a reload does not start it afresh


class Watched:
    """A watch that runs while it has clients (and LINGER_S after), fanned out to them."""

    def __init__(self, start: Callable[[], Awaitable[Any]], stop: Callable[[], Awaitable[None]],
                 source: Callable[[], AsyncIterator[Any]]) -> None:
        self._start, self._stop, self._source = start, stop, source
        self.running = False
        self.clients: set[asyncio.Queue[Any]] = set()
        self._lock = asyncio.Lock()
        self._relay: asyncio.Task[None] | None = None
        self._linger: asyncio.TimerHandle | None = None

    async def ensure(self) -> None:
        """Started (a page about to be drawn keeps it warm for the page's stream to come)."""
        async with self._lock:
            self._cancel_linger()
            if not self.running:
                await self._start()
                self.running = True
                self._relay = asyncio.create_task(self._fan_out())
            if not self.clients:
                self._schedule_stop()

    async def join(self) -> asyncio.Queue[Any]:
        """A new client's queue: every item from now on, until it leaves."""
        await self.ensure()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.clients.add(queue)
        self._cancel_linger()
        return queue

    def leave(self, queue: asyncio.Queue[Any]) -> None:
        self.clients.discard(queue)
        if not self.clients and self.running:
            self._schedule_stop()

    async def close(self) -> None:
        self._cancel_linger()
        await self._shutdown()

    async def _fan_out(self) -> None:
        async for item in self._source():
            for queue in list(self.clients):
                queue.put_nowait(item)

    def _schedule_stop(self) -> None:
        self._cancel_linger()
        self._linger = asyncio.get_running_loop().call_later(
            LINGER_S, lambda: asyncio.ensure_future(self._stop_if_unused()))

    def _cancel_linger(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None

    async def _stop_if_unused(self) -> None:
        async with self._lock:
            if not self.clients:
                await self._shutdown()

    async def _shutdown(self) -> None:
        if not self.running:
            return
        self.running = False
        if self._relay is not None:
            self._relay.cancel()
            await asyncio.gather(self._relay, return_exceptions=True)
        await self._stop()


class Towers:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.board = Board()
        self.worktree_watch: WorktreeWatch | None = None
        self.memory_watch: MemoryWatch | None = None
        self.worktrees = Watched(self._start_worktrees, self._stop_worktrees, self._worktree_changes)
        self.memory = Watched(self._start_memory, self._stop_memory, self._memory_changes)

    async def close(self) -> None:
        await self.worktrees.close()
        await self.memory.close()

    # -- worktrees ----------------------------------------------------------------------------
    async def _start_worktrees(self) -> None:
        feed = await self.hub.hold()  # the missions' changes: kept open while the watch follows them
        try:
            self.worktree_watch = WorktreeWatch(self.board, feed)
            await self.worktree_watch.start()
        except BaseException:
            self.worktree_watch = None
            self.hub.release()
            raise

    async def _stop_worktrees(self) -> None:
        if self.worktree_watch is not None:
            await self.worktree_watch.close()
            self.worktree_watch = None
            self.hub.release()

    def _worktree_changes(self) -> AsyncIterator[set[str]]:
        assert self.worktree_watch is not None
        return self.worktree_watch.subscribe()

    async def worktree_messages(self, name: str | None) -> AsyncIterator[Message]:
        """A worktrees page's stream (`name`: one worktree's page): `hello`, then `worktrees`
        {names, all} whenever rows changed."""
        queue = await self.worktrees.join()
        watch = self.worktree_watch
        if name is not None and watch is not None:
            watch.focus(name)
        try:
            yield "hello", {}, None
            while True:
                names = await queue.get()
                if name is None or name in names or EVERYTHING in names:
                    yield "worktrees", {"names": sorted(names - {EVERYTHING}), "all": EVERYTHING in names}, None
        finally:
            if name is not None and watch is not None:
                watch.unfocus(name)
            self.worktrees.leave(queue)

    def changed(self, name: str) -> None:
        """After an action on a worktree: read it again now, and tell its pages."""
        if self.worktree_watch is not None:
            self.worktree_watch.changed(name)

    # -- memory -------------------------------------------------------------------------------
    async def _start_memory(self) -> None:
        self.memory_watch = MemoryWatch()
        await self.memory_watch.start()

    async def _stop_memory(self) -> None:
        if self.memory_watch is not None:
            await self.memory_watch.close()
            self.memory_watch = None

    def _memory_changes(self) -> AsyncIterator[None]:
        assert self.memory_watch is not None
        return self.memory_watch.subscribe()

    async def memory_messages(self) -> AsyncIterator[Message]:
        """A memory page's stream: `hello`, then `memory` whenever the memories may have changed."""
        queue = await self.memory.join()
        try:
            yield "hello", {}, None
            while True:
                await queue.get()
                yield "memory", {}, None
        finally:
            self.memory.leave(queue)


TOWERS = web.AppKey("towers", Towers)
