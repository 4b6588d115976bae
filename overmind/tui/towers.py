"""The TUI's worktree and memory watches: started by the first view that needs one once the app's
change feed is live, shared by every view, closed with the app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from overmind.control.worktree_board import Board
from overmind.tui.failures import one_line

if TYPE_CHECKING:
    from overmind.control.memory_watch import MemoryWatch
    from overmind.control.worktree_watch import WorktreeWatch
    from overmind.tui.app import Nexus


class Watch(Protocol):
    async def start(self) -> None: ...

    def subscribe(self) -> AsyncIterator[Any]: ...


W = TypeVar("W", bound=Watch)


async def read_and_follow(read: Callable[[], Awaitable[None]], watch: Watch | None,
                          relevant: Callable[[Any], bool] = lambda _: True) -> None:
    """Read again whenever the watch tells something relevant (once more as it is joined: what
    changed while it started)."""
    if watch is None:
        return
    changes = watch.subscribe()
    await read()
    async for told in changes:
        if relevant(told):
            await read()


class Towers:
    def __init__(self, nexus: Nexus) -> None:
        self.nexus = nexus
        self.board = Board()
        self._worktrees: WorktreeWatch | None = None
        self._memory: MemoryWatch | None = None
        self._lock = asyncio.Lock()

    @property
    def watching(self) -> WorktreeWatch | None:
        """The worktree watch if it runs."""
        return self._worktrees

    async def worktrees(self) -> WorktreeWatch | None:
        """The worktree watch, once the feed is live (None if the app is not live)."""
        from overmind.control.worktree_watch import WorktreeWatch

        await self.nexus.live.wait()
        async with self._lock:
            if self._worktrees is None and self.nexus.feed is not None:
                self._worktrees = await self._started(WorktreeWatch(self.board, self.nexus.feed), "worktrees")
        return self._worktrees

    async def memory(self) -> MemoryWatch | None:
        from overmind.control.memory_watch import MemoryWatch

        async with self._lock:
            if self._memory is None:
                self._memory = await self._started(MemoryWatch(), "memory")
        return self._memory

    async def _started(self, watch: W, what: str) -> W | None:
        try:
            await watch.start()
        except Exception as error:  # noqa: BLE001 - the view stays, read once
            self.nexus.notify(f"{what} not live: {one_line(error)}", severity="error", markup=False)
            return None
        return watch

    async def close(self) -> None:
        for watch in (self._worktrees, self._memory):
            if watch is not None:
                await watch.close()
