"""`--on HOST` (or OVERMIND_HOST) and `HOST:NAME` references for the commands that act on missions.

A command whose missions are here runs as it always did; the check is a few string operations,
so it imports nothing of the remote machinery. A command for another host is sent there whole,
as typed, to that host's own overmind (`overmind.control.remote`), which knows itself by the name
used here: `--on build1` and `build1:` mean itself there. Its output and exit code come back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

ARGV_KEY = "overmind.argv"  # the command line as typed, kept by the top-level group


def on_host(refs: str | None = None, special: str | None = None) -> Callable[[F], F]:
    """Add `--on HOST` to a command; `refs` names its parameter of mission references (one or a
    tuple); `special` names a function of overmind.cli.remote_commands that sends it instead of
    the plain forward (a stream that reconnects, a terminal, a blueprint's files)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, on: str | None = None, **kwargs: Any) -> Any:
            from overmind.control.where import host_for, placed

            given = kwargs.get(refs) if refs else None
            many = isinstance(given, tuple)
            named: list[str] = list(given) if isinstance(given, tuple) else [given] if given else []
            groups = placed(on, named) if named else {host_for(on): []}
            if list(groups) == [None]:  # all here
                if refs and given:
                    kwargs[refs] = tuple(groups[None]) if many else groups[None][0]
                return function(*args, **kwargs)
            from overmind.cli.remote_commands import send

            send(click.get_current_context().meta.get(ARGV_KEY), on, groups, refs, special, function, args, kwargs)

        wrapper.handles_hosts = True  # type: ignore[attr-defined]
        option = click.option("--on", "on", metavar="HOST", envvar="OVERMIND_HOST",
                              help="Act on host HOST (see: overmind hosts ls); also OVERMIND_HOST.")
        return option(wrapper)  # type: ignore[return-value]

    return decorate


def takes_hosts(function: F) -> F:
    """For a command with its own --on: the top-level `overmind --on HOST` leaves it to it."""
    function.handles_hosts = True  # type: ignore[attr-defined]
    return function


def handles_hosts(command: click.Command | None) -> bool:
    """Whether the command takes --on itself (OVERMIND_HOST), rather than being sent whole."""
    return bool(command is not None and getattr(command.callback, "handles_hosts", False))
