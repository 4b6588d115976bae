"""The wrapper of a raw session: a shell command in a pseudo-terminal that a person can join.

Output goes to the journal unchanged (and to the attached terminal, if any); `send` types a
line; `attach` connects a terminal to the PTY until the client hangs up, with window-size
changes applied to the PTY (the kernel then signals SIGWINCH to the program).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import sys
import termios
from typing import Any

from overmind.store import Mission, Store
from overmind.wrapper.control import Connection, Handler
from overmind.wrapper.mission import MissionWrapper
from overmind.wrapper.relay import write_all

RECENT_BYTES = 4096  # replayed to a terminal that attaches, so it does not start blank
FRAME = struct.Struct("!cI")  # client frames: kind (b"d" data, b"w" window size), length
WINDOW = struct.Struct("!HH")  # rows, columns


def set_window_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


class TerminalSession(MissionWrapper):
    def __init__(self, mission: Mission, store: Store) -> None:
        super().__init__(mission, store)
        self.pid: int | None = None
        self.master: int | None = None
        self.viewer: Connection | None = None
        self.recent = bytearray()
        self.exited: asyncio.Future[int] | None = None

    def handlers(self) -> dict[str, Handler]:
        return {**super().handlers(), "send": self.op_send, "attach": self.op_attach, "subscribe": self.op_subscribe}

    def describe(self) -> dict[str, Any]:
        return {"state": self.state, "pid": self.pid}

    async def run_child(self) -> int:
        loop = asyncio.get_running_loop()
        pid, master = pty.fork()
        if pid == 0:  # the child: a new session with the PTY as its controlling terminal
            try:
                os.execv("/bin/sh", ["/bin/sh", "-c", self.mission.command])
            finally:
                os._exit(127)
        self.pid, self.master = pid, master
        set_window_size(master, 24, 80)
        os.set_blocking(master, False)
        self.exited = loop.create_future()
        pidfd = os.pidfd_open(pid)
        loop.add_reader(master, self._on_output)
        loop.add_reader(pidfd, self._on_exit, pidfd)
        self.ready("idle", "")
        code = await self.exited
        return code

    def signal_child(self, signum: int) -> None:
        if self.pid is not None and self.exited is not None and not self.exited.done():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signum)

    def _on_output(self) -> None:
        assert self.master is not None
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: every process has closed the terminal
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
            return
        self.activity.activity()
        write_all(sys.stdout.fileno(), data)
        self.recent += data
        del self.recent[:-RECENT_BYTES]
        if self.viewer is not None:
            self.viewer.writer.write(data)

    def _on_exit(self, pidfd: int) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(pidfd)
        os.close(pidfd)
        assert self.pid is not None and self.master is not None and self.exited is not None
        _, status = os.waitpid(self.pid, 0)
        with contextlib.suppress(OSError):
            while self._drain_once():
                pass
        loop.remove_reader(self.master)
        os.close(self.master)
        self.exited.set_result(os.waitstatus_to_exitcode(status))

    async def _type(self, data: bytes) -> None:
        """Write to the terminal's input, waiting while its buffer is full."""
        view = memoryview(data)
        while view and self.master is not None and self.exited is not None and not self.exited.done():
            try:
                view = view[os.write(self.master, view):]
            except BlockingIOError:
                await asyncio.sleep(0.01)

    def _drain_once(self) -> bool:
        before = len(self.recent)
        self._on_output()
        return len(self.recent) != before

    async def op_send(self, request: dict[str, Any], reader: asyncio.StreamReader, conn: Connection) -> None:
        text = request.get("text")
        if not isinstance(text, str) or not text:
            await conn.fail("empty message")
            return
        if self.master is None or self.exited is None or self.exited.done():
            await conn.fail(f"'{self.mission.name}' is not running")
            return
        await self._type(text.encode() + b"\r")  # typed, then Enter
        await conn.reply()

    async def op_subscribe(self, request: dict[str, Any], reader: asyncio.StreamReader, conn: Connection) -> None:
        if self.exited is not None:
            await asyncio.shield(self.exited)  # a raw session has no events: only its end

    async def op_attach(self, request: dict[str, Any], reader: asyncio.StreamReader, conn: Connection) -> None:
        if self.viewer is not None:
            await conn.fail(f"'{self.mission.name}' is already attached in another terminal")
            return
        if self.master is None or self.exited is None or self.exited.done():
            await conn.fail(f"'{self.mission.name}' is not running")
            return
        self.viewer = conn
        self.set_state("attached", "attached")
        try:
            await conn.reply(mode="terminal")
            await conn.write(bytes(self.recent))
            while True:
                kind, length = FRAME.unpack(await reader.readexactly(FRAME.size))
                body = await reader.readexactly(length)
                if kind == b"d":
                    await self._type(body)
                elif kind == b"w" and length == WINDOW.size:
                    set_window_size(self.master, *WINDOW.unpack(body))
                    with contextlib.suppress(OSError):  # redraw, even at the same size
                        os.killpg(os.tcgetpgrp(self.master), signal.SIGWINCH)
        except asyncio.IncompleteReadError:
            pass  # detached
        finally:
            self.viewer = None
            if self.exited is not None and not self.exited.done():
                self.set_state("idle", "")
