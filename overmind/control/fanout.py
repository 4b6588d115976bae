"""One producer, any number of consumers: each consumer gets every item published after it
subscribed, until the producer closes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Fanout(Generic[T]):
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[tuple[T] | None]] = set()

    def subscribe(self) -> AsyncIterator[T]:
        """Subscribed now (not when first iterated): nothing published from here on is missed."""
        queue: asyncio.Queue[tuple[T] | None] = asyncio.Queue()
        self._queues.add(queue)

        async def items() -> AsyncIterator[T]:
            try:
                while (item := await queue.get()) is not None:
                    yield item[0]
            finally:
                self._queues.discard(queue)

        return items()

    def publish(self, item: T) -> None:
        for queue in self._queues:
            queue.put_nowait((item,))

    def close(self) -> None:
        for queue in list(self._queues):
            queue.put_nowait(None)
