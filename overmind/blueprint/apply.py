"""Carry out a plan: store records, then one call to systemd that creates every agent to start.

Each agent is a transient unit in the blueprint's slice. A task is `Type=oneshot`, so a unit
ordered after it (`After=`) starts only once it has finished, and `Requires=` fails the
dependents' start jobs when it fails: they never run. All the units are created in a single
StartTransientUnit call, loaded but not started, next to a short-lived start unit that
`Wants=` them all; its one start job pulls the whole graph into one transaction. From then on
systemd alone runs the graph: no overmind process has to stay alive.
"""

from __future__ import annotations

import dataclasses
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from overmind import locks, names
from overmind.blueprint.model import Agent, Blueprint
from overmind.blueprint.plan import STARTING, Change, Plan, make_plan
from overmind.errors import OvermindError
from overmind.missions import Missions, MissionView
from overmind.spec import MissionSpec, RestartPolicy
from overmind.store import Mission, state_dir
from overmind.systemd import manager

AVAILABLE_PROVIDERS = ("raw",)
LOCK_TIMEOUT = 120.0
TASK_RETRIES = 4  # restart = "on-failure" without max_restarts: systemd's default limit of 5 starts
TASK_BACKOFF = 0.1  # seconds: systemd's default RestartSec=


@dataclass(frozen=True)
class Applied:
    record: Mission
    plan: Plan
    started: list[Mission]


def apply(blueprint: Blueprint, missions: Missions, prune: bool = True,
          on_wait: Callable[[], None] | None = None) -> Applied:
    """Make the running agents match the blueprint. Two applies of one blueprint never act at
    once: the second waits for the first, then finds its work done."""
    with locks.exclusive(f"blueprint-{blueprint.name}", LOCK_TIMEOUT, on_wait):
        plan = make_plan(blueprint, missions)
        if not prune:
            plan = _without_pruning(plan)
        _check_providers(plan)
        if plan.record is None:
            record = _new_record(blueprint, missions)
            try:
                started = _start(blueprint, plan, record, missions)
            except BaseException:
                missions.store.remove(record.id)
                raise
            return Applied(record, plan, started)
        record = plan.record
        missions.store.update_spec(record.id, _record_spec(blueprint))
        missions.store.unmark(record.id, "stop_requested_at")
        _retire(plan.of("start", "replace", "prune"), missions)
        return Applied(record, plan, _start(blueprint, plan, record, missions))


def _without_pruning(plan: Plan) -> Plan:
    kept = [dataclasses.replace(c, action="keep", reason="not in the file (--no-prune)") if c.action == "prune"
            else c for c in plan.changes]
    return dataclasses.replace(plan, changes=kept)


def _check_providers(plan: Plan) -> None:
    for change in plan.of(*STARTING):
        agent = plan.blueprint.agent(change.agent)
        if agent.spec.provider not in AVAILABLE_PROVIDERS:
            raise OvermindError(f"agent '{agent.name}': provider '{agent.spec.provider}' is not available"
                                f" in this version of overmind", hint="use provider = \"raw\" with a command")


def _record_spec(blueprint: Blueprint) -> dict[str, object]:
    return {"file": blueprint.path, "agents": [a.name for a in blueprint.agents], "applied_at": time.time()}


def _new_record(blueprint: Blueprint, missions: Missions) -> Mission:
    """The blueprint's own mission. It runs nothing itself; its unit is the slice its agents
    run in (the children slice of its id, as for any mission's children)."""
    from overmind.tree import children_slice

    mission_id = names.new_id()
    record = Mission(
        id=mission_id, name=blueprint.name, unit=children_slice([mission_id]), type="blueprint",
        provider="-", command=f"blueprint {blueprint.path}", cwd=str(_directory(blueprint)), parent=None,
        spec=_record_spec(blueprint), created_at=time.time(), killed_at=None, stop_requested_at=None,
    )
    missions.store.add(record)
    return record


def _directory(blueprint: Blueprint) -> str:
    return blueprint.path.rsplit("/", 1)[0] or "/"


# -- stopping what goes ------------------------------------------------------------------
def _retire(changes: list[Change], missions: Missions) -> None:
    """Stop the members that are replaced, run again or pruned, and forget their records.

    ignore-dependencies: stopping one agent must not stop the running agents that require it
    (systemd would propagate the stop along Requires=); "replace only that agent"."""
    old = [c.current for c in changes if c.current is not None]
    if not old:
        return
    units = [v.mission.unit for v in old]
    for view in old:
        missions.store.mark(view.mission.id, "stop_requested_at")
    manager.systemctl("stop", "--job-mode=ignore-dependencies", *units, check=False)
    manager.systemctl("reset-failed", *units, check=False)
    for view in old:
        missions.store.remove(view.mission.id)


# -- starting what comes -----------------------------------------------------------------
def _start(blueprint: Blueprint, plan: Plan, record: Mission, missions: Missions) -> list[Mission]:
    starting = plan.of(*STARTING)
    if not starting:
        return []
    _check_units_free([names.unit_name(c.name) for c in starting], missions)
    new = {c.name: _member_record(blueprint.agent(c.agent), c, record) for c in starting}
    units = {c.name: names.unit_name(c.name) for c in plan.changes}
    live = {c.name: c.current for c in plan.changes if c.action == "keep" and c.current is not None}
    state = str(state_dir().resolve())
    built = []
    for change in starting:
        mission = new[change.name]
        agent = blueprint.agent(change.agent)
        extra = {"Slice": record.unit, **_dependency_properties(blueprint, agent, plan, units, live, set(new))}
        built.append(_unit(agent, mission, state, extra))
    from overmind.systemd.bus import start_transient_units

    for mission in new.values():
        missions.store.add(mission)
    try:
        start_transient_units(_start_unit(blueprint, record, [unit for unit, _ in built]), built)
    except Exception:
        for mission in new.values():
            missions.store.remove(mission.id)
        raise
    return list(new.values())


def _check_units_free(units: list[str], missions: Missions) -> None:
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


def _member_record(agent: Agent, change: Change, record: Mission) -> Mission:
    spec = dataclasses.replace(agent.spec, name=change.name, parent=record.id)
    return Mission(
        id=names.new_id(), name=change.name, unit=names.unit_name(change.name), type=spec.type,
        provider=spec.provider, command=spec.command, cwd=spec.cwd, parent=record.id,
        spec={**spec.to_record(), "blueprint": {"agent": agent.name, "replica": change.replica,
                                                "prompt": agent.prompt, "model": agent.model,
                                                "depends_on": list(agent.depends_on)}},
        created_at=time.time(), killed_at=None, stop_requested_at=None,
    )


def _dependency_properties(blueprint: Blueprint, agent: Agent, plan: Plan, units: dict[str, str],
                           live: dict[str, MissionView], starting: set[str]) -> dict[str, str]:
    """Requires= on dependencies started with this agent; Requisite= on ones already running
    (never start a finished one again); nothing on ones already done."""
    requires, requisite = [], []
    for dep in agent.depends_on:
        for _, member in blueprint.member_names(blueprint.agent(dep)):
            if member in starting:
                requires.append(units[member])
            elif member in live and not live[member].status.finished:
                requisite.append(units[member])
    props = {}
    if requires or requisite:
        props["After"] = " ".join(requires + requisite)
    if requires:
        props["Requires"] = " ".join(requires)
    if requisite:
        props["Requisite"] = " ".join(requisite)
    return props


def _unit(agent: Agent, mission: Mission, state: str, extra: dict[str, str]) -> tuple[str, list]:
    from overmind.systemd.transient import unit_from_run_args
    from overmind.units import describe, transient_unit_args

    spec = dataclasses.replace(agent.spec, name=mission.name, parent=mission.parent)
    if agent.is_task:
        spec, extra = _as_task(spec, extra)
        extra["Description"] = describe(mission.name, agent.spec.command)
    return unit_from_run_args(transient_unit_args(spec, mission.id, mission.name, mission.unit, state,
                                                  extra_properties=extra))


def _as_task(spec: MissionSpec, extra: dict[str, str]) -> tuple[MissionSpec, dict[str, str]]:
    """A task is a oneshot unit: it is "started" once it has finished, which is what orders its
    dependents after it. systemd ignores RuntimeMaxSec= for oneshot units (the start timeout is
    the runtime limit), and fails dependents on a oneshot's first failed attempt even when
    Restart= will try again (systemd#18856), so retries happen inside the unit instead."""
    extra = {**extra, "Type": "oneshot"}
    if spec.limits.timeout is not None:
        extra["TimeoutStartSec"] = f"{spec.limits.timeout:g}s"
    command = spec.command
    restart = spec.restart
    if restart.policy == "on-failure":
        retries = restart.max_restarts if restart.max_restarts is not None else TASK_RETRIES
        if restart.backoff is None:  # systemd's fixed RestartSec= default
            command = retrying(command, retries, TASK_BACKOFF, TASK_BACKOFF)
        else:
            command = retrying(command, retries, restart.backoff, max(restart.backoff_max or 60.0, restart.backoff))
    spec = dataclasses.replace(spec, command=command, limits=dataclasses.replace(spec.limits, timeout=None),
                               restart=RestartPolicy())
    return spec, extra


def retrying(command: str, retries: int, backoff: float, backoff_max: float) -> str:
    """A shell loop running `command` until it succeeds, at most 1 + `retries` times, waiting
    `backoff` seconds before the first retry and twice as long each time, up to `backoff_max`."""
    first, ceiling = round(backoff * 1000), round(backoff_max * 1000)
    return (f"command={shlex.quote(command)}; attempt=0; delay={first}; "
            'until /bin/sh -c "$command"; do status=$?; attempt=$((attempt + 1)); '
            f'if [ "$attempt" -gt {retries} ]; then exit "$status"; fi; '
            "seconds=$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000))); "
            'echo "--- exited with code $status; restart #$attempt in ${seconds}s ---"; '
            f'sleep "$seconds"; delay=$((delay * 2)); if [ "$delay" -gt {ceiling} ]; then delay={ceiling}; fi; done')


def _start_unit(blueprint: Blueprint, record: Mission, units: list[str]) -> tuple[str, list]:
    from overmind.systemd.transient import unit_from_run_args

    joined = " ".join(units)
    return unit_from_run_args([
        f"--unit={names.blueprint_start_unit(blueprint.name, names.new_id())}",
        f"--description=overmind blueprint {blueprint.name}: start {len(units)} agent(s)",
        f"--slice={record.unit}", "--service-type=oneshot",
        f"--property=Wants={joined}", f"--property=After={joined}",
        "--property=CollectMode=inactive-or-failed",
        "--", "/bin/true",
    ])
