"""Carry out a plan: stop and forget what goes, record what comes, create every agent to start in
one call to systemd (see `agent_units`), then install or remove the scheduled agents' rituals.
From then on systemd alone runs the graph: no overmind process has to stay alive.

The caller holds the blueprint's lock and made the plan (`overmind.control.blueprints`).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from overmind import names
from overmind.blueprint.agent_units import agent_unit, boot_unit, dependency_properties, start_unit
from overmind.blueprint.model import Agent, Blueprint
from overmind.blueprint.plan import STARTING, Change, Plan
from overmind.errors import OvermindError
from overmind.mission.spec import MissionSpec
from overmind.store import Blueprint as BlueprintRecord
from overmind.store import Mission, Store, state_dir
from overmind.systemd import manager

if TYPE_CHECKING:
    from overmind.isolation.start import Prepared


class UnitFiles(Protocol):
    """How persisted agents' unit files are written and removed (overmind.control.persist_blueprint:
    the control layer owns persisted units; this package only runs the graph)."""

    def write(self, blueprint: str, members: Sequence[Sequence[str]], wanted: Sequence[str]) -> None: ...

    def remove(self, missions: Iterable[Mission]) -> list[Path]: ...


@dataclass(frozen=True)
class Applied:
    record: BlueprintRecord
    plan: Plan
    started: list[Mission]
    warnings: list[str] = field(default_factory=list)  # limits this host will not enforce


def without_pruning(plan: Plan) -> Plan:
    kept = [dataclasses.replace(c, action="keep", reason="not in the file (--no-prune)") if c.action == "prune"
            else c for c in plan.changes]
    return dataclasses.replace(plan, changes=kept)


def execute(plan: Plan, store: Store, files: UnitFiles) -> Applied:
    """Make the running agents match the plan's blueprint."""
    blueprint = plan.blueprint
    _check_installed(plan)
    if plan.record is None:
        record = _new_record(blueprint, store)
        try:
            started = _start(blueprint, plan, record, store, files)
        except BaseException:
            store.remove_blueprint(record.id)
            raise
    else:
        record = plan.record
        store.update_blueprint(record.id, blueprint.path, [a.name for a in blueprint.agents], time.time())
        store.unmark(record.id, "stop_requested_at", table="blueprints")
        _retire(plan.of("start", "replace", "prune", kind="mission"), store, files)
        started = _start(blueprint, plan, record, store, files)
    _schedule(blueprint, plan)
    return Applied(store.blueprint(record.id) or record, plan, started)


def _check_installed(plan: Plan) -> None:
    """Every agent CLI that is about to run is on PATH: say so now, naming the agent."""
    from overmind.providers import require_installed

    for change in plan.changes:
        if change.action == "prune" or (change.action == "keep" and change.kind == "mission"):
            continue
        agent = plan.blueprint.agent(change.agent)
        if agent.spec.provider == "raw":
            continue
        try:
            require_installed(agent.spec.provider, agent.spec.env)
        except OvermindError as error:
            raise OvermindError(f"agent '{agent.name}': {error.message}", hint=error.hint) from None


def _new_record(blueprint: Blueprint, store: Store) -> BlueprintRecord:
    """The blueprint's record. It runs nothing itself; its agents run in the children slice of its
    id, as any mission's children do."""
    from overmind.mission.tree import children_slice

    blueprint_id = names.new_id()
    record = BlueprintRecord(
        id=blueprint_id, name=blueprint.name, slice=children_slice([blueprint_id]), file=blueprint.path,
        cwd=os.path.dirname(blueprint.path), agents=[a.name for a in blueprint.agents], applied_at=time.time(),
        created_at=time.time(), killed_at=None, stop_requested_at=None,
    )
    store.add_blueprint(record)
    return record


# -- stopping what goes ------------------------------------------------------------------
def _retire(changes: list[Change], store: Store, files: UnitFiles) -> None:
    """Stop the members that are replaced, run again or pruned, and forget their records.

    ignore-dependencies: stopping one agent must not stop the running agents that require it
    (systemd would propagate the stop along Requires=); "replace only that agent"."""
    old = [c.current for c in changes if c.current is not None]
    if not old:
        return
    units = [v.mission.unit for v in old]
    store.mark([v.mission.id for v in old], "stop_requested_at")
    manager.systemctl("stop", "--job-mode=ignore-dependencies", *units, check=False)
    manager.systemctl("reset-failed", *units, check=False)
    files.remove([v.mission for v in old])  # persisted: a replaced agent's file is written again, a pruned one's goes
    for view in old:
        store.remove(view.mission.id)


# -- starting what comes -----------------------------------------------------------------
def _start(blueprint: Blueprint, plan: Plan, record: BlueprintRecord, store: Store,
           files: UnitFiles) -> list[Mission]:
    starting = plan.of(*STARTING, kind="mission")
    if not starting:
        return []
    _check_units_free([names.unit_name(c.name) for c in starting])
    new = {c.name: _member_record(blueprint.agent(c.agent), c, record) for c in starting}
    running = {c.name for c in plan.of("keep", kind="mission") if c.current and not c.current.status.finished}
    state = str(state_dir().resolve())
    environments = _environments(blueprint, starting, store)
    built = []
    try:
        for change in starting:
            agent = blueprint.agent(change.agent)
            extra = {"Slice": record.slice, **dependency_properties(blueprint, agent, set(new), running)}
            prepared = environments.get(change.name)
            if prepared is not None:  # its worktree, with its ports and services
                agent, extra = dataclasses.replace(agent, spec=prepared.spec), prepared.merged_into(extra)
                new[change.name] = new[change.name]._replace(
                    cwd=prepared.spec.cwd, spec={**new[change.name].spec, "worktree": prepared.worktree.name,
                                                 "environment": prepared.recorded})
            built.append((agent.spec.persist, agent_unit(agent, new[change.name], state, extra)))
        from overmind.systemd.bus import start_transient_unit
        from overmind.systemd.transient import unit_from_run_args

        for mission in new.values():
            store.add(mission)
        try:
            if any(persisted for persisted, _ in built):  # unit files, started now and at boot
                files.write(blueprint.name, [args for persisted, args in built if persisted], _wanted(plan, new))
            transient = [unit_from_run_args(args) for persisted, args in built if not persisted]
            start_transient_unit(start_unit(blueprint.name, record.slice, [m.unit for m in new.values()]), transient)
        except Exception:
            files.remove(new.values())  # the files of members that did not start
            for mission in new.values():
                store.remove(mission.id)
            raise
        finally:
            for prepared in environments.values():
                prepared.release()  # the members' start jobs need their services from now on
    except BaseException:
        from overmind.isolation.start import undo

        for prepared in environments.values():
            undo(prepared)  # the services it started; its worktree stays
        raise
    return list(new.values())


def _wanted(plan: Plan, new: dict[str, Mission]) -> list[str]:
    """Every persisted member a boot starts again: those starting now and those kept."""
    kept = [c.current.mission for c in plan.of("keep", kind="mission") if c.current is not None]
    return [m.unit for m in [*new.values(), *kept] if m.runs_at_boot]


def _environments(blueprint: Blueprint, starting: list[Change], store: Store) -> dict[str, Prepared]:
    """The worktree, ports and services of each starting member that works in one; members
    naming the same `worktree` share it (a pipeline's stages, one after the other)."""
    from overmind import isolation

    prepared: dict[str, Prepared] = {}
    for change in starting:
        spec = dataclasses.replace(blueprint.agent(change.agent).spec, name=change.name)
        if isolation.applies(spec):
            prepared[change.name] = isolation.prepare(spec, change.name, store)
    return prepared


def _schedule(blueprint: Blueprint, plan: Plan) -> None:
    """Install (or re-enable) the scheduled agents' rituals and remove the pruned ones."""
    from overmind import rituals
    from overmind.blueprint.scheduled import ritual_spec

    for change in plan.of("prune", kind="ritual"):
        rituals.remove(change.name)
    for change in plan.of(*STARTING, "keep", kind="ritual"):
        rituals.install(ritual_spec(blueprint, blueprint.agent(change.agent)), replace=True)


def _check_units_free(units: list[str]) -> None:
    """A unit of the same name may linger failed from an earlier run; one still active belongs
    to a mission outside this blueprint (its own members were stopped above)."""
    for props in manager.show(units, ["Id", "LoadState", "ActiveState"]):
        if props.get("LoadState") != "loaded":
            continue
        if props.get("ActiveState") in ("inactive", "failed"):
            manager.systemctl("reset-failed", props["Id"], check=False)
            continue
        name = names.name_from_unit(props["Id"])
        raise OvermindError(f"a mission named '{name}' is already running outside this blueprint",
                            hint=f"overmind stop {name}")


def _member_record(agent: Agent, change: Change, record: BlueprintRecord) -> Mission:
    spec = dataclasses.replace(agent.spec, name=change.name, parent=record.id)
    return Mission(
        id=names.new_id(), name=change.name, unit=names.unit_name(change.name), type=spec.type,
        provider=spec.provider, command=spec.command, cwd=spec.cwd, parent=record.id,
        spec={**spec.to_record(), "blueprint": {"agent": agent.name, "replica": change.replica,
                                                "depends_on": list(agent.depends_on), **_boot(spec, record.name)}},
        created_at=time.time(), killed_at=None, stop_requested_at=None,
    )


def _boot(spec: MissionSpec, blueprint: str) -> dict[str, str]:
    """A persisted member is started at boot by its blueprint's boot unit (see agent_units.boot_unit)."""
    return {"boot": boot_unit(blueprint)} if spec.persist else {}
