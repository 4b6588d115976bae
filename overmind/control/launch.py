"""Starting a mission: the one sequence every front end goes through (`launch`).

The manager must answer (booted if need be), the limits it cannot enforce are said, the mission
is placed in its tree (its parent's budgets checked) and recorded, its worktree and services
prepared, its unit created in one D-Bus call (`overmind.systemd.bus`), and a session waited for
until it takes messages. The CLI (`run`, `claude run`, `quest run`, `orchestrate`), the
dashboard's and the TUI's start forms all call `launch`, so they warn, refuse and report alike.
A blueprint starts all its agents in one call to systemd (`overmind.blueprint.apply`) after the
same `preflight`, from the same unit description (`overmind.mission.units`).

This is `run`'s path: everything beyond the plainest mission is imported where it is needed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from overmind import names
from overmind.errors import OvermindError
from overmind.store import Mission, Store, shared, state_dir
from overmind.systemd import bus

if TYPE_CHECKING:
    from overmind.isolation.start import Prepared
    from overmind.mission.spec import MissionSpec

SESSION_START_TIMEOUT = 60.0  # seconds for a session's agent to take messages


class Launched(NamedTuple):
    """A started mission, as every front end reports it."""

    mission: Mission
    state: str  # "starting" (its start is queued), "running" (it waited for its services), "ready" (a session)
    warnings: list[str]  # limits it asked for that this host will not enforce
    where: dict[str, Any]  # its worktree, branch and ports; empty without a worktree

    def to_json(self) -> dict[str, Any]:
        mission = self.mission
        return {"id": mission.id, "name": mission.name, "unit": mission.unit, "type": mission.type,
                "state": self.state, "warnings": self.warnings, "worktree": self.where.get("worktree"),
                "branch": self.where.get("branch"), "ports": self.where.get("ports", {})}


def preflight(specs: Sequence[MissionSpec]) -> list[str]:
    """What every start does first, a mission's or a blueprint's: the manager must answer (it is
    booted where overmind runs the host), and the limits this host will not enforce are said."""
    from overmind.control.host import ready, unenforced_limits

    ready(auto_boot=True)
    return list(dict.fromkeys(warning for spec in specs for warning in unenforced_limits(spec)))


def launch(spec: MissionSpec, store: Store | None = None, session_timeout: float = SESSION_START_TIMEOUT) -> Launched:
    """Start a mission the way every front end does; raises OvermindError (one line, a hint)
    if it cannot: the manager unreachable, its parent finished or over budget, its services not
    ready, systemd refusing, or a session that could not start (with the agent's own reason)."""
    warnings = preflight([spec])
    store = store or shared()
    mission, waited = _start(spec, store)
    state = "running" if waited else "starting"
    if spec.type == "session":
        failure = wait_started(mission, session_timeout, store)
        if failure:
            raise OvermindError(f"{spec.provider} session '{mission.name}' could not start: {failure}",
                                hint=f"overmind logs {mission.name}")
        state = "ready"
    where: dict[str, Any] = {}
    if mission.worktree:  # where it works: its worktree and ports
        from overmind.control.worktrees import workplace

        where = workplace(mission, store)
    return Launched(mission, state, warnings, where)


def _start(spec: MissionSpec, store: Store) -> tuple[Mission, bool]:
    """Record the mission and create its unit; a generated name is retried if taken. Also says
    whether the start waited for the unit's start job (it had services to wait for)."""
    if spec.name is not None:
        return _start_named(spec, spec.name, generated=False, store=store)
    for _ in range(20):
        candidate = names.random_name()
        if candidate not in store.names_in_use():
            try:
                return _start_named(spec, candidate, generated=True, store=store)
            except _NameTaken:
                continue
    return _start_named(spec, f"{names.random_name()}-{names.new_id()[:4]}", generated=True, store=store)


def _placement(spec: MissionSpec, store: Store) -> tuple[MissionSpec, str]:
    """Resolve --parent and pick the slice: the parent's children slice, or the root one."""
    from overmind.mission import tree

    if spec.parent is None:
        return spec, tree.root_slice()
    from overmind.control.guardrails import check_budgets
    from overmind.control.missions import records, status_of

    parent = store.get(spec.parent)
    if parent is None:
        raise OvermindError(f"parent not found: '{spec.parent}'", hint="see 'overmind ps --all'")
    status = status_of(parent, store)
    if status.finished:
        raise OvermindError(f"parent '{parent.name}' has finished ({status.state}); it cannot take children")
    family = tree.Tree(records(store))
    check_budgets(family, parent, store)
    return replace(spec, parent=parent.id), tree.children_slice(family.ancestry(parent))


def _start_named(spec: MissionSpec, name: str, generated: bool, store: Store) -> tuple[Mission, bool]:
    unit = names.unit_name(name)
    spec, slice_name = _placement(spec, store)
    record = spec.to_record()  # as asked: a blueprint compares it with its file
    prepared = _isolate(spec, name, generated, store)
    if prepared is not None:
        spec = prepared.spec  # in the worktree, with its ports
        record.update(worktree=prepared.worktree.name, environment=prepared.recorded)
    mission = Mission(
        id=names.new_id(), name=name, unit=unit, type=spec.type, provider=spec.provider,
        command=spec.command, cwd=spec.cwd, parent=spec.parent, spec=record,
        created_at=time.time(), killed_at=None, stop_requested_at=None,
    )
    store.add(mission)
    waited = create_unit(spec, mission, slice_name, generated, store, prepared=prepared)
    return mission, waited


def _isolate(spec: MissionSpec, name: str, generated: bool, store: Store) -> Prepared | None:
    """The mission's own worktree, ports and services, when it gets them (overmind.isolation)."""
    from overmind import isolation

    if not isolation.applies(spec):
        return None
    if generated and spec.isolation.worktree is None and isolation.worktree_exists(name, store):
        raise _NameTaken(name)  # a generated name must not land in an earlier mission's worktree
    return isolation.prepare(spec, name, store)


def create_unit(spec: MissionSpec, mission: Mission, slice_name: str, generated: bool, store: Store,
                forget_on_failure: bool = True, prepared: Prepared | None = None) -> bool:
    """Create and start the mission's unit; if systemd refuses, a new mission's record goes too.
    With services, wait for its start job: it runs once they are ready, or fails saying why.
    Returns whether it waited."""
    from overmind.mission.units import transient_unit_args
    from overmind.systemd.transient import unit_from_run_args

    args = [f"--slice={slice_name}",
            *transient_unit_args(spec, mission.id, mission.name, mission.unit, str(state_dir().resolve()),
                                 extra_properties=prepared.properties if prepared else None, record=mission.spec)]
    unit = unit_from_run_args(args)
    block = prepared is not None and prepared.blocking
    try:
        try:
            if spec.persist:  # the same unit, as a file enabled at boot (overmind.control.persist)
                from overmind.control import persist

                persist.start(args, block=block, at_boot=spec.on_boot == "run")
            else:
                bus.start_transient_unit(unit, block=block)
        except bus.Refused as refused:
            if spec.persist:
                raise
            if not (refused.exists and _release_finished_unit(mission.unit)):
                raise
            bus.start_transient_unit(unit, block=block)
        finally:
            if prepared is not None:
                prepared.release()
    except (bus.Refused, bus.JobFailed) as failure:
        if forget_on_failure:
            store.remove(mission.id)
        raise _refusal(failure, mission, generated, prepared) from None
    except OvermindError:
        if forget_on_failure:
            store.remove(mission.id)
        raise
    return block


def _refusal(failure: bus.Refused | bus.JobFailed, mission: Mission, generated: bool,
             prepared: Prepared | None) -> OvermindError:
    """What to say when systemd would not create or start the mission's unit."""
    exists = isinstance(failure, bus.Refused) and failure.exists
    if prepared is not None and not exists:
        from overmind import isolation

        return isolation.start_failed(prepared, mission.name, mission.unit, failure.message)
    if exists:
        if generated:
            return _NameTaken(mission.name)
        return OvermindError(f"a mission named '{mission.name}' is already running",
                             hint=f"overmind stop {mission.name}")
    detail = failure.detail if isinstance(failure, bus.Refused) else failure.message
    return OvermindError(f"systemd refused to start mission '{mission.name}': {detail}")


def _release_finished_unit(unit: str) -> bool:
    """A finished mission's failed unit stays loaded until reset; a new mission may then take over
    its name. True if the unit was finished and is released."""
    from overmind.systemd import manager

    props = manager.show([unit], ["LoadState", "ActiveState"])
    if not props or props[0].get("ActiveState") not in ("failed", "inactive"):
        return False
    manager.systemctl("reset-failed", unit, check=False)
    return True


def wait_started(mission: Mission, timeout: float, store: Store | None = None) -> str | None:
    """Block until a session takes messages (its unit is active: the wrapper said READY=1);
    returns why it could not start instead, if it could not."""
    from overmind.control.missions import view
    from overmind.systemd.signals import wait_for

    store = store or shared()
    known_failures = len(_start_failures(mission, store))

    def outcome() -> tuple[str | None] | None:
        failures = _start_failures(mission, store)
        if len(failures) > known_failures:
            return (failures[-1],)
        current = view(store.get(mission.id) or mission, store)
        if current.status.finished:
            return (f"it ended ({current.status.label})",)
        return (None,) if current.unit.get("ActiveState") == "active" else None

    result = wait_for([mission.unit], outcome, timeout)
    return f"not ready after {timeout:g}s" if result is None else result[0]


def _start_failures(mission: Mission, store: Store) -> list[str]:
    """What the wrapper recorded each time the agent could not start (events of type "overmind")."""
    import json

    events = [json.loads(e.data) for e in store.events(mission.id, type="overmind")]
    return [e.get("message", "") for e in events if e.get("subtype") == "start_failed"]


class _NameTaken(OvermindError):
    def __init__(self, name: str) -> None:
        super().__init__(f"name {name} is taken")
