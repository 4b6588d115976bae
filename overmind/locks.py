"""Exclusive locks on files in the state directory, so two overmind processes do not both act."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from overmind.errors import OvermindError
from overmind.store import state_dir
from overmind.waiting import wait_until


@contextmanager
def exclusive(name: str, timeout: float, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold `<state dir>/locks/<name>.lock`; waits up to `timeout` seconds for another holder.
    The kernel drops the lock when its holder exits, even a killed one."""
    directory = state_dir() / "locks"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(directory / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def take() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    try:
        if not take():
            if on_wait:
                on_wait()
            if not wait_until(take, timeout, interval=0.05):
                raise OvermindError(f"{name} is still locked by another overmind process after {timeout:g}s")
        yield
    finally:
        os.close(fd)
