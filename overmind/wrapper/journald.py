"""Entries for journald through its native socket: whole multi-line messages, plus our own fields.

The session wrapper writes what a person reads (assistant text, `[tool] Bash: ...`) here, each
entry tagged OVERMIND_EVENT=<seq> with the stored stream-json event it came from, so
`overmind logs --json` can return the event whole next to the line.

journald may die and come back. Where its socket outlives it (systemd's socket unit, the private
host's supervisor) a datagram waits in the socket; where it is gone or full, the entry waits here
and is sent again, in order, before the next one: after a short wait in place (journald comes
back within a second), then at every later write and when the wrapper ends. Only what still has
not gone through after RETRY_FOR seconds goes to stdout, which systemd also connects to the journal.
"""

from __future__ import annotations

import socket
import sys
import time
from collections import deque

from overmind.journal_native import JOURNAL_SOCKET, entry

MAX_MESSAGE = 32 * 1024  # far below the datagram limit; the whole event is in the store anyway
SEND_TIMEOUT = 2.0  # a full socket (journald not reading) blocks a send this long at most
WAIT_IN_PLACE = 1.5  # seconds a failed write retries before it returns, leaving the entry pending
RETRY_FOR = 30.0  # seconds an entry waits for journald before it goes to stdout instead
MAX_PENDING = 10_000


def clip(message: str, limit: int = MAX_MESSAGE) -> str:
    if len(message) <= limit:
        return message
    return message[:limit] + f"… ({len(message) - limit} more characters in overmind logs --json)"


class JournalWriter:
    def __init__(self, identifier: str, path: str = JOURNAL_SOCKET) -> None:
        self.identifier = identifier
        self.path = path
        self.pending: deque[tuple[float, bytes, str]] = deque()  # (first tried, datagram, message)
        self._failed_at: float | None = None
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.settimeout(SEND_TIMEOUT)

    def write(self, message: str, priority: int = 6, **fields: str | int) -> None:
        message = clip(message)
        payload = entry({"MESSAGE": message, "PRIORITY": str(priority), "SYSLOG_IDENTIFIER": self.identifier,
                         **{key: str(value) for key, value in fields.items()}})
        self.pending.append((time.monotonic(), payload, message))
        recently_failed = self._failed_at is not None and time.monotonic() - self._failed_at < WAIT_IN_PLACE
        if not self.flush(wait=0.0 if recently_failed else WAIT_IN_PLACE):
            self._give_up_on_old()

    def flush(self, wait: float = 0.0) -> bool:
        """Send what is pending, oldest first, retrying for `wait` seconds; True once all went."""
        deadline = time.monotonic() + wait
        delay = 0.02
        while self.pending:
            _, payload, message = self.pending[0]
            try:
                self._socket.sendto(payload, self.path)
            except OSError as error:
                if error.errno == 90:  # EMSGSIZE: no retry makes it fit
                    self.pending.popleft()
                    self._to_stdout(message)
                    continue
                if time.monotonic() + delay > deadline:
                    self._failed_at = time.monotonic()
                    return False
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
                continue
            self.pending.popleft()
        self._failed_at = None
        return True

    def close(self, wait: float = 2.0) -> None:
        """The wrapper ends: a last try, then what journald never took goes to stdout."""
        if not self.flush(wait):
            while self.pending:
                self._to_stdout(self.pending.popleft()[2])
        self._socket.close()

    def _give_up_on_old(self) -> None:
        while self.pending and (time.monotonic() - self.pending[0][0] > RETRY_FOR or len(self.pending) > MAX_PENDING):
            self._to_stdout(self.pending.popleft()[2])

    @staticmethod
    def _to_stdout(message: str) -> None:
        try:
            sys.stdout.write(message + "\n")
            sys.stdout.flush()
        except OSError:
            pass
