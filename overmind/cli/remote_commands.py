"""Commands sent to other hosts (`--on HOST`, `HOST:NAME`): the plain forward of the command line
as typed, one host's part each when references name several hosts, and the commands that need
more than a forward (a stream that survives a network cut, a terminal)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from typing import Any

import click

from overmind.errors import OvermindError


def send(typed: list[str] | None, on: str | None, groups: dict[str | None, list[str]], refs: str | None,
         special: str | None, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Run the command where its missions are, as typed (`typed`: the arguments after
    `overmind`), and exit with its exit code (the first failure's, when it ran on several hosts)."""
    from overmind.control.remote import host

    if typed is None:
        raise OvermindError("this command cannot be sent to another host from here")
    argv = list(typed)
    remote = [name for name in groups if name is not None]
    if special is not None:
        if len(groups) > 1:
            raise OvermindError("name missions of one host at a time")
        sys.exit(SPECIAL[special](host(remote[0]), argv, kwargs))
    if len(groups) == 1:
        sys.exit(_forward(host(remote[0]), argv))
    codes = _several(on, groups, refs, function, args, kwargs, argv)
    sys.exit(next((code for code in codes if code), 0))


def forward_typed(name: str, argv: list[str]) -> None:
    """`overmind --on HOST COMMAND...`: the whole command line runs there; exit with its code."""
    from overmind.control.remote import host

    sys.exit(_forward(host(name), list(argv)))


def _forward(target: Any, argv: list[str], tty: bool = False) -> int:
    from overmind.control.remote import forward

    return forward(target, argv, tty=tty)


def _several(on: str | None, groups: dict[str | None, list[str]], refs: str | None, function: Callable[..., Any],
             args: tuple[Any, ...], kwargs: dict[str, Any], argv: list[str]) -> list[int]:
    """References on several hosts: each host gets the command line without the others'
    references, all at once; those here run in this process."""
    from overmind.cli import die
    from overmind.control.remote import host
    from overmind.control.where import placed

    given = kwargs[refs] if refs else ()
    owner = {ref: next(iter(placed(on, [ref]))) for ref in given}
    codes: list[int] = []

    def part(name: str) -> None:
        others = {ref for ref, where in owner.items() if where != name}
        try:
            codes.append(_forward(host(name), [word for word in argv if word not in others]))
        except OvermindError as error:
            click.echo(f"overmind: {error.message}", err=True)
            codes.append(error.exit_code)

    threads = [threading.Thread(target=part, args=(name,)) for name in groups if name is not None]
    for thread in threads:
        thread.start()
    if None in groups:
        assert refs is not None
        try:
            function(*args, **{**kwargs, refs: tuple(groups[None])})
            codes.append(0)
        except SystemExit as ended:
            codes.append(ended.code if isinstance(ended.code, int) else 1)
        except OvermindError as error:
            try:
                die(error)
            except SystemExit as ended:
                codes.append(int(ended.code or 1))
    for thread in threads:
        thread.join()
    return codes


# -- what needs more than a forward ----------------------------------------------------------
def _attach(target: Any, argv: list[str], kwargs: dict[str, Any]) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise OvermindError("attach needs a terminal", hint="run it in an interactive shell")
    return _forward(target, argv, tty=True)


def _logs(target: Any, argv: list[str], kwargs: dict[str, Any]) -> int:
    """`logs -f` on another host: the lines come as JSON with their journal cursor, so a follow
    cut by the network picks up after the last line shown: none lost, none twice."""
    if not kwargs.get("follow"):
        return _forward(target, argv)
    from overmind.control.remote_streams import follow_logs
    from overmind.remote.text import printable

    as_json = bool(kwargs.get("as_json"))
    with_names = kwargs.get("ref") is None
    for line in follow_logs(target, argv, on_gap=_say):
        if as_json:
            click.echo(json.dumps(line))
        else:
            click.echo(printable(_log_line(line, with_names)))
    return 0


def _log_line(line: dict[str, Any], with_names: bool) -> str:
    from datetime import datetime

    when = str(line.get("time", ""))
    try:
        stamp = datetime.fromisoformat(when).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        stamp = when[:19]
    head = f"{stamp} {line.get('name', '')} | " if with_names else f"{stamp} "
    return head + str(line.get("message", "")).replace("\n", "\n" + " " * len(head))


def _say(text: str) -> None:
    click.echo(f"overmind: {text}", err=True)


def _events(target: Any, argv: list[str], kwargs: dict[str, Any]) -> int:
    """`events` of another host: each change once, in order, across network cuts."""
    from overmind.cli.changes import present
    from overmind.control.remote_streams import follow_events
    from overmind.control.where import split

    only = [split(ref)[1] for ref in kwargs.get("refs") or ()]
    try:
        for change in follow_events(target, argv, only, on_gap=_say):
            present(change, bool(kwargs.get("as_json")), clean=True)
    except KeyboardInterrupt:
        pass
    return 0


SPECIAL: dict[str, Callable[[Any, list[str], dict[str, Any]], int]] = {
    "attach": _attach, "logs": _logs, "events": _events}
