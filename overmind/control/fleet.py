"""Missions across hosts: `ps --hosts all|a,b`, and what the dashboard and the TUI list.

Every host is asked at once (its own `overmind ps --json`, over its connection); this machine's
missions are read here meanwhile. A host that does not answer within PS_TIMEOUT is one line,
`build1: unreachable (ssh: connect timed out)`, and never holds the others' answer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from overmind.remote.registry import LOCAL

PS_TIMEOUT = 4.0  # seconds a host has to answer a listing


class Fleet(NamedTuple):
    rows: list[dict[str, Any]]  # `ps --json` rows, each with `host`
    unreachable: list[tuple[str, str]]  # (host, why): `unreachable (ssh: connect timed out)`

    def to_json(self) -> list[dict[str, Any]]:
        return self.rows


def _local(include_killed: bool) -> list[dict[str, Any]]:
    from overmind.control.host import ready
    from overmind.control.missions import listing

    ready()
    return [row.to_json() | {"host": LOCAL} for row in listing(include_killed=include_killed)]


def _remote(name: str, include_killed: bool) -> list[dict[str, Any]]:
    from overmind.control.remote import call_json, host

    rows = call_json(host(name), ["ps", *(["--all"] if include_killed else [])], timeout=PS_TIMEOUT)
    return [row | {"host": name} for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def missions(spec: str | None, include_killed: bool = False) -> Fleet:
    """Every mission of the hosts `spec` names (`all`, or `a,b`), local first."""
    from overmind.control.hosts import names, parallel
    from overmind.errors import OvermindError
    from overmind.remote.text import printable_line

    chosen = names(spec)

    def ask(name: str) -> list[dict[str, Any]] | str:
        try:
            return _local(include_killed) if name == LOCAL else _remote(name, include_killed)
        except OvermindError as error:
            message = printable_line(error.message)
            return message.removeprefix(f"{name}: ")

    answers = parallel(chosen, ask)
    rows: list[dict[str, Any]] = []
    unreachable: list[tuple[str, str]] = []
    for name, answer in zip(chosen, answers, strict=True):
        if isinstance(answer, str):
            unreachable.append((name, answer))
        else:
            rows.extend(answer)
    return Fleet(rows, unreachable)


# -- one mission on another host, for the front ends that are no command line (the dashboard) ----
ACTIONS = ("stop", "kill", "restart")


def remote_ref(ref: str) -> tuple[str, str] | None:
    """(host, name) for `HOST:NAME` naming another host; None for a mission here."""
    from overmind.control.where import is_here, split

    host, name = split(ref)
    return None if is_here(host) else (str(host), name)


def info(host: str, name: str) -> dict[str, Any]:
    """`info --json` of a mission on another host (its answer, with `host`)."""
    from overmind.control.remote import call_json
    from overmind.control.remote import host as registered

    found = call_json(registered(host), ["info", name])
    return {**found, "host": host} if isinstance(found, dict) else {"host": host}


def act(host: str, name: str, action: str, cascade: bool = False) -> Any:
    """stop, kill or restart a mission on another host: its own command there, its `--json` answer."""
    from overmind.control.remote import call_json
    from overmind.control.remote import host as registered
    from overmind.errors import OvermindError

    if action not in ACTIONS:
        raise OvermindError(f"unknown action {action!r}", hint="stop, kill or restart")
    return call_json(registered(host), [action, name, *(["--cascade"] if cascade and action != "restart" else [])])


def act_on(ref: str, action: str) -> str:
    """stop, kill or restart the mission `ref` (`NAME` here, `HOST:NAME` on another host); what
    was done, in a few words."""
    done = {"stop": "stopped", "kill": "killed", "restart": "restarted"}.get(action, action)
    elsewhere = remote_ref(ref)
    if elsewhere is not None:
        act(*elsewhere, action)
        return f"{done} {ref}"
    from overmind.control import lifecycle

    if action == "restart":
        lifecycle.restart(ref)
    else:
        chosen = lifecycle.targets([ref], False, action)
        (lifecycle.stop if action == "stop" else lifecycle.kill)(chosen, cascade=False)
    return f"{done} {ref}"
