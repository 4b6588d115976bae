"""Relay a child's stdout and stderr to our own, byte for byte, noticing every chunk.

No line splitting and no decoding: partial lines, lines without a trailing newline, very long
lines and binary output pass through exactly as written. (An agent CLI's output, which overmind
parses, is read as whole lines instead: `read_lines`.)
"""

from __future__ import annotations

import asyncio
import os
import selectors
from collections.abc import Callable

CHUNK = 65536


def relay(sources: dict[int, int], on_output: Callable[[], None]) -> None:
    """Copy each source fd to its destination fd until every source reaches EOF."""
    with selectors.DefaultSelector() as selector:
        for source, destination in sources.items():
            selector.register(source, selectors.EVENT_READ, destination)
        while selector.get_map():
            for key, _ in selector.select():
                try:
                    data = os.read(key.fd, CHUNK)
                except InterruptedError:
                    continue
                if not data:
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    continue
                write_all(key.data, data)
                on_output()


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BrokenPipeError:
            return  # nobody reads our output any more; keep draining the child


async def read_lines(stream: asyncio.StreamReader, on_line: Callable[[str], None]) -> None:
    """Whole lines however long (StreamReader.readline stops at its buffer limit)."""
    pending = b""
    while chunk := await stream.read(CHUNK):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            on_line(line.decode("utf-8", errors="replace"))
    if pending:
        on_line(pending.decode("utf-8", errors="replace"))
