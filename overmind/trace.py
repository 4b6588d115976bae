"""`--debug` (or OVERMIND_DEBUG=1): every call overmind makes to systemd, journald or D-Bus, printed
on stderr with how long it took, so a user can see what a command did and where its time went."""

from __future__ import annotations

import functools
import os
import shlex
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def enabled() -> bool:
    return os.environ.get("OVERMIND_DEBUG", "") not in ("", "0")


def command(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def note(what: str, started: float) -> None:
    """Print `what` with the time since `started` (a perf_counter() reading), when debugging."""
    if enabled():
        print(f"overmind: debug: {what} ({(time.perf_counter() - started) * 1000:.1f} ms)", file=sys.stderr,
              flush=True)


@contextmanager
def span(what: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        note(what, started)


def traced_async(what: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """A coroutine function whose every call is noted as `what`."""
    def decorate(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                note(what, started)

        return wrapper

    return decorate
