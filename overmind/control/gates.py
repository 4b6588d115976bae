"""How a blueprint step on one host waits for a step on another, with no daemon of overmind's.

The dependent's host gets a *gate*: an ordinary task agent standing in for the dependency, under
the dependency's name, so systemd orders the dependents after it there as after any step
(`After=`, `Requires=`). The gate waits (inotify, no polling) for a file in the state directory
named after the gate unit's own run (its InvocationID), and ends with the exit code written in
it: a gate of an earlier run never passes a later one.

The machine that applied the blueprint runs a *relay* for each edge between hosts: a transient
unit like any mission, so it survives the overmind that started it. It waits for the dependency
where it runs (`overmind wait` there), then opens the gate where the dependent runs
(`overmind hosts gate open` there), both over ssh, retrying through network cuts. Hosts never
need to reach each other: only the machine that applied reaches each host, as for every command.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
from pathlib import Path
from typing import Any

from overmind.errors import OvermindError

OPENED, ENDED, NOT_YET = "opened", "ended", "not started"
OPEN_PATIENCE = 600.0  # seconds a relay waits for steps or a gate that do not exist yet
_BACKOFF_MAX = 10.0
_FAILED_STATES = ("skipped", "killed", "unknown", "failed", "crashed")


def _gates_dir() -> Path:
    from overmind.store import state_dir

    path = state_dir() / "gates"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _file(name: str, invocation: str) -> Path:
    from overmind.names import NAME_PATTERN

    if not NAME_PATTERN.fullmatch(name) or not invocation.isalnum():
        raise OvermindError(f"invalid gate {name!r}")
    return _gates_dir() / f"{name}.{invocation}"


def wait(name: str) -> int:
    """In the gate's unit: block until the gate is opened for this run; its exit code."""
    from overmind.store.watch import Inotify

    invocation = os.environ.get("INVOCATION_ID", "")
    if not invocation:
        raise OvermindError("a gate runs as a blueprint step (systemd gives it an INVOCATION_ID)")
    path = _file(name, invocation)
    watch = Inotify(path.parent)  # watching before looking: an opening cannot fall in between
    try:
        while not path.exists():
            select.select([watch.fd], [], [])
            watch.drain()
        text = path.read_text().strip()
    finally:
        watch.close()
    path.unlink(missing_ok=True)
    print(f"opened with exit code {text}", flush=True)
    return int(text) if text.lstrip("-").isdigit() else 1


def open_gate(name: str, code: int) -> str:
    """Open the gate `name` (a running gate step) with `code`: `opened`; `ended` when it has
    finished already; `not started` while its unit has not run yet."""
    from overmind.control.missions import resolve_mission
    from overmind.systemd import manager

    mission = resolve_mission(name)
    props = (manager.show([mission.unit], ["ActiveState", "InvocationID"]) or [{}])[0]
    if props.get("ActiveState") not in ("active", "activating", "reloading"):
        return ENDED if mission.last_exit is not None else NOT_YET
    invocation = props.get("InvocationID", "")
    path = _file(name, invocation)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(f"{code}\n")
    temporary.rename(path)
    return OPENED


def _outcome(views: Any) -> int:
    """0 when every step finished successfully; else the first failure's exit code (or 1)."""
    rows = views if isinstance(views, list) else [views]
    for row in rows:
        code = row.get("exit_code")
        if row.get("status") in _FAILED_STATES or code != 0:
            return code if isinstance(code, int) and code != 0 else 1
    return 0


def _retrying(what: str, attempt: Any) -> Any:
    """`attempt()` until it does not fail to reach its host, backing off up to 10 s."""
    from overmind.control.remote import Unreachable

    delay = 0.5
    while True:
        try:
            return attempt()
        except Unreachable as error:
            print(f"{what}: {error.message}; trying again", file=sys.stderr, flush=True)
            time.sleep(delay)
            delay = min(delay * 2, _BACKOFF_MAX)


def relay(source_host: str, sources: list[str], target_host: str, gate: str) -> int:
    """Wait for the steps `sources` on their host, then open `gate` on its host with their outcome."""
    from overmind.control.remote import call, host
    from overmind.remote.registry import LOCAL

    def finished() -> Any:
        """The steps' views once they have finished; None while they do not exist yet (the
        relay starts before the parts are applied, so that no kill in between loses an edge)."""
        if source_host == LOCAL:
            from overmind.control.lifecycle import wait as wait_here
            from overmind.control.missions import resolve
            from overmind.errors import MissionNotFound

            try:
                chosen = [resolve(ref) for ref in sources]
            except MissionNotFound:
                return None
            return [view.to_json() for view in wait_here(chosen, None) or []]
        answer = call(host(source_host), ["wait", *sources, "--json"], timeout=None)
        if not answer.stdout.strip():
            if b"no mission named" in answer.stderr:
                return None
            raise answer.error(source_host)
        return json.loads(answer.stdout)

    deadline = time.monotonic() + OPEN_PATIENCE
    while (views := _retrying(f"waiting for {', '.join(sources)} on {source_host}", finished)) is None:
        if time.monotonic() > deadline:
            raise OvermindError(f"{', '.join(sources)} never appeared on {source_host}")
        time.sleep(1.0)
    code = _outcome(views)
    print(f"{', '.join(sources)} on {source_host}: exit code {code}", flush=True)

    def opening() -> str:
        if target_host == LOCAL:
            return open_gate(gate, code)
        answer = call(host(target_host), ["hosts", "gate", "open", gate, str(code)])
        if answer.code != 0:
            raise answer.error(target_host)
        return answer.stdout.decode(errors="replace").strip()

    deadline = time.monotonic() + OPEN_PATIENCE
    while (said := _retrying(f"opening {gate} on {target_host}", opening)) == NOT_YET:
        if time.monotonic() > deadline:
            raise OvermindError(f"the gate {gate} on {target_host} never started")
        time.sleep(1.0)
    print(f"gate {gate} on {target_host}: {said}", flush=True)
    return 0
