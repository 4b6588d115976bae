"""When the shared memory may have changed, without asking the memory service over and over.

Every memory stored through this machine's service writes its files: the local store
(`akasha/chroma/chroma.sqlite3` in the state directory) and, for a mission's memories, the
mission event log beside it (`akasha/log.db`, which the service writes on a shared server too).
Both are watched with inotify; reading memories writes neither, so a reader woken by a change
never wakes itself. A memory someone stores on another machine's service, in a shared server,
shows at the next change seen here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from overmind.control.fanout import Fanout

if TYPE_CHECKING:
    from overmind.store.watch import Inotify

SETTLE_S = 0.3  # a remember writes several times: one change is told once they settle


class MemoryWatch:
    def __init__(self) -> None:
        self._inotify: Inotify | None = None
        self._written = asyncio.Event()
        self._told: Fanout[None] = Fanout()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from overmind.akasha.config import local_path
        from overmind.store import state_dir
        from overmind.store.watch import Inotify

        self._inotify = Inotify(state_dir() / "akasha", also=(local_path(),))
        self._inotify.attach(self._on_readable)
        self._task = asyncio.create_task(self._tell())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._inotify is not None:
            self._inotify.close()
        self._told.close()

    def subscribe(self) -> AsyncIterator[None]:
        """One item each time the memories may have changed, from now on until the watch closes."""
        return self._told.subscribe()

    def _on_readable(self) -> None:
        if self._inotify is not None and self._inotify.drain():
            self._written.set()

    async def _tell(self) -> None:
        while True:
            await self._written.wait()
            await asyncio.sleep(SETTLE_S)
            self._written.clear()
            self._told.publish(None)
