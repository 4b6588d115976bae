"""Missions after their start: restart, stop, kill (with cascade), collect and wait.

Starting is `overmind.control.launch`. Ending many missions is one manager call for all their
units, so systemd runs every stop job at once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from overmind.control.launch import create_unit
from overmind.control.missions import Record, View, owns_unit, record_of, records, resolve, running, view, views
from overmind.errors import OvermindError
from overmind.mission.view import MissionView
from overmind.store import Blueprint, Mission, Store, shared
from overmind.systemd import manager


class Ended(NamedTuple):
    """A mission or blueprint that a stop or kill ended."""

    id: str
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


# -- run again --------------------------------------------------------------------------
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
    create_unit(spec, record, slice_name, generated=False, store=store, forget_on_failure=False, prepared=prepared)
    return record


# -- stop / kill / collect ------------------------------------------------------------------
def targets(refs: Sequence[str], every: bool, verb: str, store: Store | None = None) -> list[Record]:
    """The missions a stop or kill names, or every running one with --all."""
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
    _unpersist(ending.records)
    return [Ended(r.id, r.name) for r in ending.records]


def _unpersist(ended: Sequence[Record]) -> None:
    """What a person stopped, killed or collected does not come back at boot: its unit file goes."""
    persisted = [r for r in ended if isinstance(r, Mission) and r.persisted]
    if persisted:
        from overmind.control.persist import remove

        remove(persisted)


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
    _unpersist(ending.records)
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
    _unpersist([v.mission for v in gone if isinstance(v, MissionView)])
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
