"""Knowing when the state store was written, without polling: inotify on its directory.

SQLite in WAL mode appends every commit to `state.db-wal`; a write there (or a new file such as a
run's record) wakes the reader. The standard library has no inotify, so this calls libc directly.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import struct
from collections.abc import Callable
from pathlib import Path

_IN_MODIFY, _IN_CLOSE_WRITE, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x2, 0x8, 0x80, 0x100, 0x200
_IN_NONBLOCK, _IN_CLOEXEC = 0o4000, 0o2000000
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then a NUL-padded name)
_MASK = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
_IGNORED_SUFFIXES = (".lock", "-shm")  # taking a lock or mapping shared memory is no write


class Inotify:
    """Watches a directory (and the directories given with `also`); `drain()` says whether any
    file other than a lock was written since the last call."""

    def __init__(self, directory: Path, also: tuple[Path, ...] = ()) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._libc = libc
        self._loop: asyncio.AbstractEventLoop | None = None
        self.fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.first = -1  # the watch descriptor of `directory`
        for path in (directory, *also):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            wd = libc.inotify_add_watch(self.fd, os.fsencode(path), _MASK)
            self.first = wd if self.first < 0 else self.first
            if wd < 0:
                errno = ctypes.get_errno()
                os.close(self.fd)
                raise OSError(errno, f"inotify_add_watch failed on {path}")

    def drain(self) -> bool:
        """Read every pending event; True if one was about a file that is not a lock."""
        return bool(self.written())

    def add(self, path: str) -> int:
        """Watch one more existing directory; its watch descriptor, or -1 if it cannot be watched."""
        return int(self._libc.inotify_add_watch(self.fd, os.fsencode(path), _MASK))

    def remove(self, wd: int) -> None:
        self._libc.inotify_rm_watch(self.fd, wd)

    def written(self) -> set[int]:
        """Read every pending event; the watches (descriptors) in which a file other than a lock was written."""
        found: set[int] = set()
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return found
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, _, _, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size:offset + _EVENT.size + length].rstrip(b"\0").decode(errors="replace")
                if not name.endswith(_IGNORED_SUFFIXES):
                    found.add(wd)
                offset += _EVENT.size + length

    def attach(self, on_readable: Callable[[], None]) -> None:
        """Call `on_readable` from the running event loop whenever events are waiting (until closed)."""
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, on_readable)

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed() and self.fd >= 0:
            loop.remove_reader(self.fd)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
