"""journald's native protocol: one datagram per entry, fields as `NAME=value` lines (a value with
a newline is sent length-prefixed). Stdlib only: the agent wrapper, the store's copies in the
journal and the doctor's probe all write this way."""

from __future__ import annotations

# The C module under `socket`: `socket` itself builds enums on import (several ms), and this runs
# on `run`'s path. A datagram to a path needs nothing more.
import _socket

JOURNAL_SOCKET = "/run/systemd/journal/socket"


def field(name: str, value: str) -> bytes:
    data = value.encode("utf-8", errors="replace")
    if b"\n" in data:
        return name.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


def entry(fields: dict[str, str]) -> bytes:
    return b"".join(field(name, value) for name, value in fields.items())


def send(fields: dict[str, str], timeout: float = 0.5, path: str = JOURNAL_SOCKET) -> bool:
    """Write one entry; False if journald did not take it."""
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
        try:
            sock.settimeout(timeout)
            sock.sendto(entry(fields), path)
        finally:
            sock.close()
        return True
    except OSError:
        return False
