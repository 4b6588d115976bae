"""The control channel to a mission's wrapper: a unix socket under $XDG_RUNTIME_DIR/overmind/.

One connection per request. The client writes one JSON line ({"op": "send", ...}); the wrapper
answers with JSON lines, or for `subscribe` with `<seq>\\t<event>` lines that carry each event
exactly as the agent printed it. Plain blocking sockets: this sits on the CLI's hot path.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from typing import Any

from overmind.errors import OvermindError
from overmind.systemd.manager import runtime_dir


def socket_dir() -> str:
    return os.path.join(runtime_dir(), "overmind")


def socket_path(mission_id: str) -> str:
    return os.path.join(socket_dir(), f"{mission_id}.sock")


def event_line(seq: int, data: str) -> bytes:
    """One line of a `subscribe` stream: the event's sequence number, a tab, the event as printed."""
    return f"{seq}\t{data}\n".encode()


def parse_event_line(line: bytes) -> tuple[int, bytes]:
    """A `subscribe` line back as (sequence number, the event as printed, its newline included)."""
    seq, _, event = line.partition(b"\t")
    return int(seq), event


class NotListening(OvermindError):
    """No wrapper answers: the mission has ended, is restarting, or is not a session."""


class Channel:
    def __init__(self, mission_id: str, name: str, timeout: float | None = None) -> None:
        self.name = name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(socket_path(mission_id))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            self.sock.close()
            raise NotListening(f"mission '{name}' is not running") from exc
        self._buffer = self.sock.makefile("rb")

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._buffer.close()
        self.sock.close()

    def write(self, request: dict[str, Any]) -> None:
        self.sock.sendall((json.dumps(request) + "\n").encode())

    def read_line(self) -> bytes:
        """The next line, b"" once the wrapper closed the connection."""
        try:
            return self._buffer.readline()
        except ConnectionResetError:
            return b""

    def reply(self, buffered: bool = True) -> dict[str, Any]:
        """The next JSON reply; an error reply becomes an OvermindError. Unbuffered, nothing past
        the reply is read, for connections that carry raw bytes after it."""
        line = self.read_line() if buffered else self._read_line_unbuffered()
        if not line:
            raise OvermindError(f"mission '{self.name}' ended before it answered")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok", True):
            raise OvermindError(answer.get("error", "the mission refused the request"), hint=answer.get("hint"))
        return answer

    def _read_line_unbuffered(self) -> bytes:
        line = bytearray()
        while not line.endswith(b"\n"):
            byte = self.sock.recv(1)
            if not byte:
                break
            line += byte
        return bytes(line)

    def lines(self) -> Iterator[bytes]:
        while line := self.read_line():
            yield line


def request(mission_id: str, name: str, op: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
    with Channel(mission_id, name, timeout) as channel:
        channel.write({"op": op, **fields})
        return channel.reply()
