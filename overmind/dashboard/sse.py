"""Server-Sent Events: one open response per client, `event:`/`id:`/`data:` frames, and a comment
every 15 s so proxies and browsers keep the connection (and notice a dead one)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from aiohttp import web

HEARTBEAT_S = 15.0
RETRY_MS = 2000  # how soon a browser reconnects after the stream drops
T = TypeVar("T")


class EventStream:
    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no"})

    async def open(self) -> EventStream:
        await self.response.prepare(self.request)
        await self.response.write(f"retry: {RETRY_MS}\n\n".encode())
        return self

    async def send(self, data: Any, event: str | None = None, id: str | int | None = None) -> None:
        frame = ""
        if event is not None:
            frame += f"event: {event}\n"
        if id is not None:
            frame += f"id: {_one_line(str(id))}\n"
        # JSON never contains a raw line break, so one data line carries it whole.
        frame += f"data: {json.dumps(data, separators=(',', ':'))}\n\n"
        await self.response.write(frame.encode())

    async def heartbeat(self) -> None:
        await self.response.write(b": ping\n\n")


def _one_line(text: str) -> str:
    return text.replace("\r", "").replace("\n", "")


def last_event_id(request: web.Request, fallback: str | None = None) -> str | None:
    """Where a reconnecting EventSource left off (its Last-Event-ID), else the page's own mark."""
    return request.headers.get("Last-Event-ID") or fallback or None


async def with_heartbeats(source: AsyncIterator[T], stream: EventStream) -> AsyncIterator[T]:
    """The items of `source`; while none comes for HEARTBEAT_S, a heartbeat is sent instead."""
    pending: asyncio.Task[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT_S)
            if not done:
                await stream.heartbeat()
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.wait({pending})  # let the source unwind its step before closing it
        closing = getattr(source, "aclose", None)
        if closing is not None:
            await closing()


async def serve(request: web.Request, source: AsyncIterator[tuple[str, Any, str | int | None]]) -> web.StreamResponse:
    """Stream (event, data, id) items until the source ends or the client goes away."""
    stream = await EventStream(request).open()
    try:
        async for event, data, id in with_heartbeats(source, stream):
            await stream.send(data, event=event, id=id)
    except ConnectionResetError:
        pass  # the browser closed the page; the source is closed on the way out
    return stream.response
