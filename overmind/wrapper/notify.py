"""sd_notify(3): tell the service manager about readiness, liveness and status."""

from __future__ import annotations

import os
import socket


class Notifier:
    """One datagram socket to $NOTIFY_SOCKET; a no-op when not run under systemd."""

    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self._address = address
        self._socket: socket.socket | None = None
        if address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def send(self, **fields: str | int) -> None:
        """notify(READY=1), notify(WATCHDOG=1), notify(STATUS="working: Bash(pytest)")."""
        if self._socket is None:
            return
        payload = "\n".join(f"{key}={value}" for key, value in fields.items())
        try:
            self._socket.sendto(payload.encode(), self._address)
        except OSError:
            pass  # the manager going away must never take the agent down with it

    def status(self, text: str) -> None:
        self.send(STATUS=" ".join(text.split())[:200])

    def watchdog(self) -> None:
        self.send(WATCHDOG=1)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
