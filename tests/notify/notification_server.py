"""A private session bus (its own dbus-daemon) with a tiny org.freedesktop.Notifications server
(dbus-fast) that records what it is asked to show and can press a notification's button.

(No `from __future__ import annotations` here: dbus-fast reads D-Bus signatures from the
annotations as written.)"""

import asyncio
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method
from dbus_fast.service import signal as dbus_signal

from tests.helpers import must

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class Notifications(ServiceInterface):
    def __init__(self, capabilities: list[str]) -> None:
        super().__init__(NAME)
        self.capabilities = capabilities
        self.shown: list[dict[str, Any]] = []

    @method()
    def GetCapabilities(self) -> "as":  # type: ignore[valid-type]  # noqa: F722, N802
        return self.capabilities

    @method()
    def GetServerInformation(self) -> "ssss":  # type: ignore[valid-type]  # noqa: F821, N802
        return ["overmind-tests", "overmind", "1", "1.2"]

    @method()
    def Notify(self, app_name: "s", replaces_id: "u", app_icon: "s", summary: "s", body: "s",  # type: ignore  # noqa: F821, N802
               actions: "as", hints: "a{sv}", expire_timeout: "i") -> "u":  # type: ignore  # noqa: F821, F722
        self.shown.append({"id": len(self.shown) + 1, "app": app_name, "summary": summary, "body": body,
                           "actions": list(actions), "hints": {k: v.value for k, v in hints.items()}})
        return len(self.shown)

    @method()
    def CloseNotification(self, ident: "u") -> None:  # type: ignore  # noqa: F821, N802
        pass

    @dbus_signal()
    def ActionInvoked(self, ident: int, key: str) -> "us":  # type: ignore  # noqa: F821, N802
        return [ident, key]


class NotificationServer:
    """`with NotificationServer(tmp_path) as server:` a bus at `server.address`, serving until the end."""

    def __init__(self, directory: Path, capabilities: tuple[str, ...] = ("actions", "body")) -> None:
        self.address = f"unix:path={directory / 'bus'}"
        self.socket = directory / "bus"
        self.interface = Notifications(list(capabilities))
        self.daemon: subprocess.Popen[bytes] | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> "NotificationServer":
        daemon = shutil.which("dbus-daemon")
        assert daemon, "dbus-daemon is not installed"
        self.socket.unlink(missing_ok=True)  # a bus that went before (or a killed run's) left its socket
        self.daemon = subprocess.Popen([daemon, "--session", f"--address={self.address}", "--nofork", "--nopidfile"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        must(lambda: os.path.exists(self.socket), 10, "the private session bus")
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)
        return self

    async def _serve(self) -> None:
        self.bus = await MessageBus(bus_address=self.address, bus_type=BusType.SESSION).connect()
        self.bus.export(PATH, self.interface)
        await self.bus.request_name(NAME)

    @property
    def shown(self) -> list[dict[str, Any]]:
        return list(self.interface.shown)

    def press(self, ident: int, key: str) -> None:
        """A person pressed a notification's button (or the notification, for `default`)."""
        self.loop.call_soon_threadsafe(self.interface.ActionInvoked, ident, key)

    def __exit__(self, *_: object) -> None:
        self.loop.call_soon_threadsafe(self.bus.disconnect)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if self.daemon is not None:
            self.daemon.terminate()
            self.daemon.wait(10)
