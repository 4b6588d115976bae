"""Entries for journald through its native socket: whole multi-line messages, plus our own fields.

The session wrapper writes what a person reads (assistant text, `[tool] Bash: ...`) here, each
entry tagged OVERMIND_EVENT=<seq> with the stored stream-json event it came from, so
`overmind logs --json` can return the event whole next to the line. Without journald (or if a
datagram is refused) the entry goes to stdout, which systemd also connects to the journal.
"""

from __future__ import annotations

import socket
import struct
import sys

JOURNAL_SOCKET = "/run/systemd/journal/socket"
MAX_MESSAGE = 32 * 1024  # far below the datagram limit; the whole event is in the store anyway


def _field(key: str, value: str) -> bytes:
    data = value.encode("utf-8", errors="replace")
    if b"\n" in data:
        return key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return key.encode() + b"=" + data + b"\n"


def clip(message: str, limit: int = MAX_MESSAGE) -> str:
    if len(message) <= limit:
        return message
    return message[:limit] + f"… ({len(message) - limit} more characters in overmind logs --json)"


class JournalWriter:
    def __init__(self, identifier: str, path: str = JOURNAL_SOCKET) -> None:
        self.identifier = identifier
        self.path = path
        self._socket: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    def write(self, message: str, priority: int = 6, **fields: str | int) -> None:
        message = clip(message)
        if self._socket is not None:
            payload = b"".join(_field(k, str(v)) for k, v in (
                ("MESSAGE", message), ("PRIORITY", priority), ("SYSLOG_IDENTIFIER", self.identifier), *fields.items()))
            try:
                self._socket.sendto(payload, self.path)
                return
            except OSError:
                self._socket.close()
                self._socket = None  # journald is not there: stdout from now on
        sys.stdout.write(message + "\n")
        sys.stdout.flush()
