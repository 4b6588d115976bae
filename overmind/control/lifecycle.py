"""Starting and ending missions: run, stop, kill (with cascade), restart, collect and wait.

The flow is spec (validated) -> units (systemd-run arguments) -> systemd (the user manager), with
the store beside it for what systemd forgets. Ending many missions is one manager call for all
their units, so systemd runs every stop job at once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from overmind import names
from overmind.control.missions import Record, View, owns_unit, record_of, records, resolve, view, views
from overmind.errors import OvermindError
from overmind.mission.view import MissionView
from overmind.store import Blueprint, Mission, Store, shared, state_dir
from overmind.systemd import manager

if TYPE_CHECKING:
    from overmind.isolation.start import Prepared
    from overmind.mission.spec import MissionSpec
    from overmind.mission.tree import Tree

_ALREADY_EXISTS = ("already exists", "already loaded", "already active")


class Ended(NamedTuple):
    """A mission or blueprint that a stop or kill ended."""

    id: str
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


# -- start --------------------------------------------------------------------------------
def start(spec: MissionSpec, store: Store | None = None) -> Mission:
    """Record the mission and create its transient unit; a generated name is retried if taken."""
    store = store or shared()
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
    parent = store.get(spec.parent)
    if parent is None:
        raise OvermindError(f"parent not found: '{spec.parent}'", hint="see 'overmind ps --all'")
    status = view(parent, store).status
    if status.finished:
        raise OvermindError(f"parent '{parent.name}' has finished ({status.state}); it cannot take children")
    family = tree.Tree(records(store))
    _check_budget(family, parent, store)
    return replace(spec, parent=parent.id), tree.children_slice(family.ancestry(parent))


def _check_budget(family: Tree[Record], parent: Mission, store: Store) -> None:
    """Refuse a new child when any ancestor's --max-children or --max-cost-usd is used up."""
    from overmind.control.missions import last_result

    for ancestor in [*family.ancestors(parent), parent]:
        if not isinstance(ancestor, Mission):
            continue
        below = [m for m in family.descendants(ancestor) if isinstance(m, Mission)]
        cap = ancestor.spec.get("max_children")
        if cap is not None and len(below) >= cap:
            raise OvermindError(f"mission '{ancestor.name}' already has its maximum of {cap} children",
                                hint="raise --max-children, or wait for and collect finished children")
        budget = ancestor.spec.get("max_cost_usd")
        if budget is not None:
            spent = sum(result.cost_usd or 0 for m in below if (result := last_result(m, store)) is not None)
            if spent >= budget:
                raise OvermindError(f"mission '{ancestor.name}' has spent ${spent:.2f} of its "
                                    f"${budget:.2f} budget: no more children",
                                    hint="raise --max-cost-usd on a new tree")


def _start_named(spec: MissionSpec, name: str, generated: bool, store: Store) -> Mission:
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
    _create_unit(spec, mission, slice_name, generated, store, prepared=prepared)
    return mission


def _isolate(spec: MissionSpec, name: str, generated: bool, store: Store) -> Prepared | None:
    """The mission's own worktree, ports and services, when it gets them (overmind.isolation)."""
    from overmind import isolation

    if not isolation.applies(spec):
        return None
    if generated and spec.isolation.worktree is None and isolation.worktree_exists(name, store):
        raise _NameTaken(name)  # a generated name must not land in an earlier mission's worktree
    return isolation.prepare(spec, name, store)


def _create_unit(spec: MissionSpec, mission: Mission, slice_name: str, generated: bool, store: Store,
                 forget_on_failure: bool = True, prepared: Prepared | None = None) -> None:
    """Create and start the mission's unit; if systemd refuses, a new mission's record goes too.
    With services, wait for its start job: it runs once they are ready, or fails saying why."""
    from overmind.mission.units import transient_unit_args

    args = [f"--slice={slice_name}",
            *transient_unit_args(spec, mission.id, mission.name, mission.unit, str(state_dir().resolve()),
                                 extra_properties=prepared.properties if prepared else None)]
    block = prepared is not None and prepared.blocking
    try:
        proc = manager.systemd_run(args, check=False, block=block)
        if _already_exists(proc.stderr) and _release_finished_unit(mission.unit):
            proc = manager.systemd_run(args, check=False, block=block)
    except OvermindError:
        if forget_on_failure:
            store.remove(mission.id)
        raise
    finally:
        if prepared is not None:
            prepared.release()
    if proc.returncode != 0:
        if forget_on_failure:
            store.remove(mission.id)
        if prepared is not None and not _already_exists(proc.stderr):
            from overmind import isolation

            raise isolation.start_failed(prepared, mission.name, mission.unit, proc.stderr)
        if _already_exists(proc.stderr):
            if generated:
                raise _NameTaken(mission.name)
            raise OvermindError(f"a mission named '{mission.name}' is already running",
                                hint=f"overmind stop {mission.name}")
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "unknown error"
        raise OvermindError(f"systemd refused to start mission '{mission.name}': {detail}")


def _release_finished_unit(unit: str) -> bool:
    """A finished mission's failed unit stays loaded until reset; a new mission may then take over
    its name. True if the unit was finished and is released."""
    props = manager.show([unit], ["LoadState", "ActiveState"])
    if not props or props[0].get("ActiveState") not in ("failed", "inactive"):
        return False
    manager.systemctl("reset-failed", unit, check=False)
    return True


def wait_started(mission: Mission, timeout: float, store: Store | None = None) -> str | None:
    """Block until a session takes messages (its unit is active: the wrapper said READY=1);
    returns why it could not start instead, if it could not."""
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
    events = [json.loads(e.data) for e in store.events(mission.id, type="overmind")]
    return [e.get("message", "") for e in events if e.get("subtype") == "start_failed"]


def restart(ref: str, store: Store | None = None) -> Mission:
    """Start a mission's command again: a running one is restarted by systemd (a restart like any
    other); a finished, stopped or killed one gets a new run under the same id and name."""
    from overmind.mission.spec import MissionSpec
    from overmind.mission.tree import Tree, children_slice, root_slice

    store = store or shared()
    record = resolve(ref, store)
    if isinstance(record, Blueprint):
        raise OvermindError(f"'{record.name}' is a blueprint",
                            hint=f"apply its file again: overmind apply {record.file}")
    if not owns_unit(record, store):
        raise OvermindError(f"a newer mission named '{record.name}' has taken its unit",
                            hint=f"restart that one: overmind restart {record.name}")
    running_now = not view(record, store).status.finished
    for column in ("killed_at", "stop_requested_at"):
        store.unmark(record.id, column)
    if running_now:
        manager.systemctl("restart", record.unit)
        return record
    family = Tree(records(store))
    parent = family.by_id.get(record.parent or "")
    slice_name = children_slice(family.ancestry(parent)) if parent is not None else root_slice()
    spec = MissionSpec.from_record(record.spec)
    prepared = None
    if record.worktree:  # back in its worktree, with its ports and services
        from overmind import isolation

        spec = replace(spec, isolation=replace(spec.isolation, mode="worktree", worktree=record.worktree))
        prepared = isolation.prepare(spec, record.name, store)
        spec = prepared.spec
        store.update_spec(record.id, {**record.spec, "environment": prepared.recorded})
    _create_unit(spec, record, slice_name, generated=False, store=store, forget_on_failure=False, prepared=prepared)
    return record


# -- stop / kill / collect ------------------------------------------------------------------
def targets(refs: Sequence[str], every: bool, verb: str, store: Store | None = None) -> list[Record]:
    """The missions a stop or kill names, or every running one with --all."""
    from overmind.control.missions import running

    if every and refs:
        raise OvermindError(f"give mission names or --all to {verb}, not both")
    if every:
        return running(store)
    if not refs:
        raise OvermindError(f"nothing to {verb}", hint=f"overmind {verb} ID|NAME, or --all")
    return [resolve(ref, store) for ref in refs]


class _Ending(NamedTuple):
    """What ending some missions touches: every record (children first), the slices of whole
    subtrees, and the units the chosen missions own."""

    records: list[Record]
    slices: list[str]
    units: list[str]
    services: list[str]  # among units: the service and setup units of the missions' worktrees


def _ending(chosen: Sequence[Record], cascade: bool, store: Store) -> _Ending:
    from overmind.mission.tree import Tree, children_slice

    family = Tree(records(store))
    ordered: dict[str, Record] = {}
    slices: list[str] = []
    units: list[str] = []
    for record in chosen:
        # A blueprint is nothing but its agents: ending it always cascades, and its scheduled
        # agents' timers stop too (the next apply starts them again).
        below = family.descendants(record) if cascade or isinstance(record, Blueprint) else []
        if isinstance(record, Blueprint):
            from overmind.blueprint.scheduled import disable

            disable(record.name)
        if below:
            slices.append(children_slice(family.ancestry(record)))
        ordered.update({r.id: r for r in [*below, record] if r.id not in ordered})
        if isinstance(record, Mission) and owns_unit(record, store):
            units.append(record.unit)
    ending = [r for r in chosen if isinstance(r, Mission) and r.worktree and r.unit in units]
    services = []
    if ending:  # their worktrees' services end with them, unless other missions still use them
        from overmind import isolation

        services = isolation.companions(ending, store)
    return _Ending(list(ordered.values()), slices, [*units, *services], services)


def _mark(found: list[Record], column: str, store: Store) -> None:
    store.mark([r.id for r in found if isinstance(r, Mission)], column)
    store.mark([r.id for r in found if isinstance(r, Blueprint)], column, table="blueprints")


def stop(chosen: Sequence[Record], cascade: bool = False, store: Store | None = None) -> list[Ended]:
    """SIGTERM to the whole cgroup, SIGKILL after the grace period: systemd's stop jobs, for every
    unit and subtree slice at once. Returns what it stopped, children before parents."""
    store = store or shared()
    ending = _ending(chosen, cascade, store)
    _mark(ending.records, "stop_requested_at", store)
    if ending.slices or ending.units:
        manager.systemctl("stop", *ending.slices, *ending.units, check=False)
    if ending.services:  # a service that failed while stopping would keep its unit, and its worktree
        manager.systemctl("reset-failed", *ending.services, check=False)
    return [Ended(r.id, r.name) for r in ending.records]


def kill(chosen: Sequence[Record], cascade: bool = False, store: Store | None = None) -> list[Ended]:
    """SIGKILL to every process of the missions (and, with cascade, of their subtrees)."""
    store = store or shared()
    ending = _ending(chosen, cascade, store)
    _mark(ending.records, "killed_at", store)
    everything = [*ending.slices, *ending.units]
    if everything:
        manager.systemctl("kill", "--signal=SIGKILL", *everything, check=False)
        # stop cancels a pending restart and waits out the ExecStopPost hook.
        manager.systemctl("stop", *everything, check=False)
    owned = [m.unit for m in ending.records if isinstance(m, Mission) and owns_unit(m, store)]
    if owned or ending.services:  # reset-failed without units would reset every failed unit
        manager.systemctl("reset-failed", *owned, *ending.services, check=False)
    return [Ended(r.id, r.name) for r in ending.records]


def collect(store: Store | None = None, within: Sequence[str] | None = None) -> list[Ended]:
    """Forget finished missions and blueprints (their journal lines stay in the journal); with
    `within`, only those that ran in one of those folders or below (a repository's work trees).
    A running blueprint's finished agents stay: they are part of its state (done tasks are not
    rerun)."""
    from overmind.blueprint.progress import BlueprintView, member_info
    from overmind.store.runs import forget

    store = store or shared()
    shown = views(records(store), store)
    running_ids = {v.id for v in shown if not v.status.finished}
    gone = [v for v in shown if v.status.finished and _inside(record_of(v).cwd, within) and not (
        isinstance(v, MissionView) and member_info(v.mission) and v.parent in running_ids)]
    units = [v.mission.unit for v in gone if isinstance(v, MissionView) and v.unit]
    slices = [v.blueprint.slice for v in gone if isinstance(v, BlueprintView)]
    if units:
        manager.systemctl("reset-failed", *units, check=False)
    if slices:
        manager.systemctl("stop", *slices, check=False)  # their empty slices
    with store.transaction():
        for v in gone:
            if isinstance(v, BlueprintView):
                store.remove_blueprint(v.id)
            else:
                store.remove(v.id)
    for v in gone:
        forget(store.path.parent, v.id)
    return [Ended(v.id, v.name) for v in gone]


def _inside(cwd: str, folders: Sequence[str] | None) -> bool:
    if folders is None:
        return True
    cwd = os.path.abspath(cwd)
    return any(cwd == folder or cwd.startswith(folder.rstrip("/") + "/") for folder in folders)


# -- wait ---------------------------------------------------------------------------------
def wait(chosen: Sequence[Record], timeout: float | None) -> list[View] | None:
    """Block until every mission has finished (restarts included), woken by the change feed;
    None if `timeout` seconds pass first."""
    import asyncio

    return asyncio.run(_wait([r.id for r in chosen], timeout))


async def _wait(ids: list[str], timeout: float | None) -> list[View] | None:
    import asyncio

    from overmind.control.feed import Feed

    async with Feed(only=ids) as feed:
        changes = feed.subscribe()

        def finished() -> list[View] | None:
            latest = {v.id: v for v in feed.snapshot()}
            found = [latest[i] for i in ids if i in latest]
            return found if len(found) == len(ids) and all(v.status.finished for v in found) else None

        async def until_finished() -> list[View]:
            while (done := finished()) is None:
                await anext(changes)
            return done

        try:
            return await asyncio.wait_for(until_finished(), timeout)
        except TimeoutError:
            return finished()


def _already_exists(stderr: str) -> bool:
    return any(marker in stderr for marker in _ALREADY_EXISTS)


class _NameTaken(OvermindError):
    def __init__(self, name: str) -> None:
        super().__init__(f"name {name} is taken")
