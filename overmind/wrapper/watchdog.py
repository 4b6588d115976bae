"""Feed systemd's watchdog whenever the agent produces output (stall detection).

With WatchdogSec=S the manager kills the unit S seconds after the last WATCHDOG=1, so a
mission that writes nothing for S seconds counts as a failure and is restarted per policy.
"""

from __future__ import annotations

import time

from overmind.wrapper.notify import Notifier


class ActivityWatchdog:
    """Pings at most a few times a second, however chatty the agent is."""

    def __init__(self, notifier: Notifier, min_interval: float = 0.25) -> None:
        self._notifier = notifier
        self._min_interval = min_interval
        self._last = float("-inf")

    def activity(self) -> None:
        now = time.monotonic()
        if now - self._last >= self._min_interval:
            self._last = now
            self._notifier.watchdog()
