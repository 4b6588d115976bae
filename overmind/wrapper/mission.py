"""What every wrapper of an agent CLI or session does, whatever runs below it.

It serves the control socket, reports its state to systemd (READY=1, STATUS=, WATCHDOG=1),
forwards stop signals, and keeps the unit alive while a person has the agent in a terminal
(`overmind attach`): the child may exit then, and a new one starts when the terminal is done.
"""

from __future__ import annotations

import asyncio
import os
import signal
from abc import ABC, abstractmethod
from typing import Any

from overmind.store import Mission, Store
from overmind.wrapper.control import Connection, ControlServer, Handler
from overmind.wrapper.notify import Notifier
from overmind.wrapper.watchdog import ActivityWatchdog

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class MissionWrapper(ABC):
    def __init__(self, mission: Mission, store: Store) -> None:
        self.mission = mission
        self.store = store
        self.notifier = Notifier()
        self.activity = ActivityWatchdog(self.notifier)
        self.state = "starting"  # starting | working | idle | attached
        self.status_text = ""  # the last STATUS= said
        self.server = ControlServer(mission.id, self.handlers())
        self.attached: asyncio.Event | None = None  # set when the terminal is given back
        self.stop_signal: int | None = None
        self._ready = False

    # -- for subclasses ----------------------------------------------------------------
    def handlers(self) -> dict[str, Handler]:
        return {"status": self.op_status}

    @abstractmethod
    async def run_child(self) -> int:
        """Start the agent, serve it until it exits, return its exit code (negative: signal)."""

    @abstractmethod
    def signal_child(self, signum: int) -> None:
        """Pass a stop signal on to the agent."""

    def describe(self) -> dict[str, Any]:
        return {"state": self.state}

    def waiting_for_a_person(self) -> bool:
        """Silence now is no stall: it waits for a message, a terminal, or an answer."""
        return self.state in ("idle", "attached")

    # -- shared --------------------------------------------------------------------------
    def set_state(self, state: str, status: str | None = None) -> None:
        """`status` is what systemd shows (STATUS=); "" clears it, None says the state."""
        self.state = state
        self.status_text = state if status is None else status
        self.notifier.status(self.status_text)

    def ready(self, state: str, status: str) -> None:
        self.set_state(state, status)
        if not self._ready:
            self._ready = True
            self.notifier.send(READY=1)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._on_stop_signal, signum)
        loop.add_signal_handler(signal.SIGUSR2, self._announce_again)
        await self.server.start()
        keepalive = asyncio.create_task(self._feed_watchdog_while_idle())
        try:
            while True:
                code = await self.run_child()
                if self.stop_signal is not None:
                    # Stopped: end of the stop signal, whatever the CLI made of it (claude exits 143),
                    # so systemd and the run hook see a stop, not an exit: a persisted mission stopped
                    # by a shutdown starts again at the next boot.
                    return -self.stop_signal
                if self.attached is None:
                    return code
                await self.attached.wait()  # a terminal has the conversation; go on when it is done
                if self.stop_signal is not None:
                    return -self.stop_signal
        finally:
            keepalive.cancel()
            self.closing()
            await self.server.close()

    def closing(self) -> None:  # noqa: B027 (an optional hook, not abstract)
        """The wrapper is about to end: let open requests finish."""

    def begin_attach(self) -> asyncio.Event:
        self.attached = asyncio.Event()
        return self.attached

    def end_attach(self) -> None:
        if self.attached is not None:
            done, self.attached = self.attached, None
            done.set()

    def _announce_again(self) -> None:
        """A new user manager has taken this unit back (the old one died, hooks/run.sh): it
        waits for READY=1 and knows nothing of our status yet."""
        if self._ready:
            self.notifier.send(READY=1)
            self.notifier.status(self.status_text)

    def _on_stop_signal(self, signum: int) -> None:
        self.stop_signal = signum
        self.signal_child(signum)
        if self.attached is not None:
            self.attached.set()

    async def _feed_watchdog_while_idle(self) -> None:
        """With an activity timeout, silence while working is a stall; waiting for input or
        being attached is not."""
        period = int(os.environ.get("WATCHDOG_USEC") or 0) / 3e6
        if not period:
            return
        while True:
            await asyncio.sleep(period)
            if self.waiting_for_a_person():
                self.notifier.watchdog()

    async def op_status(self, request: dict[str, Any], reader: asyncio.StreamReader, conn: Connection) -> None:
        await conn.reply(**self.describe())

