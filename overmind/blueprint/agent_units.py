"""How a blueprint agent becomes a transient unit: the unit `overmind run` would make
(`overmind.mission.units`), placed in the blueprint's slice and tied into the depends_on graph.

A task is `Type=oneshot`: it counts as started only once it has finished, so a unit ordered
after it (`After=`) runs after its end, and `Requires=` fails the dependents' start jobs when it
fails: they never run. The agents of one apply are created together, loaded but not started,
beside a short-lived start unit that `Wants=` them all: its one start job pulls the whole graph
into one transaction, and systemd alone runs it from there.
"""

from __future__ import annotations

import dataclasses
import shlex

from overmind import names
from overmind.blueprint.model import Agent, Blueprint
from overmind.mission.spec import MissionSpec, RestartPolicy
from overmind.store import Mission
from overmind.systemd.transient import Property, unit_from_run_args
from overmind.systemd.unit_exec import launched

TASK_RETRIES = 4  # restart = "on-failure" without max_restarts: systemd's default limit of 5 starts
TASK_BACKOFF = 0.1  # seconds: systemd's default RestartSec=
DEFAULT_BACKOFF_MAX = 60.0
FAILURE_HOLDS = "OVERMIND_FAILURE_HOLDS"  # read by the run hook (overmind/hooks/run.sh end)

BusUnit = tuple[str, list[Property]]


def dependency_properties(blueprint: Blueprint, agent: Agent, starting: set[str],
                          running: set[str]) -> dict[str, str]:
    """Requires= on the dependencies started with this agent; Requisite= on those already
    running (a finished one must not start again); nothing on those already done."""
    requires, requisite = [], []
    for dep in agent.depends_on:
        for _, member in blueprint.member_names(blueprint.agent(dep)):
            if member in starting:
                requires.append(names.unit_name(member))
            elif member in running:
                requisite.append(names.unit_name(member))
    props = {"After": " ".join(requires + requisite)} if requires or requisite else {}
    if requires:
        props["Requires"] = " ".join(requires)
    if requisite:
        props["Requisite"] = " ".join(requisite)
    return props


def agent_unit(agent: Agent, mission: Mission, state_dir: str, extra: dict[str, str]) -> list[str]:
    """The member's unit as `systemd-run` arguments: a transient unit (`unit_from_run_args`) or,
    persisted, a unit file (`overmind.control.persist.write_members`)."""
    from overmind.mission.kinds import runs_under_wrapper
    from overmind.mission.units import supervised, transient_unit_args

    spec = dataclasses.replace(agent.spec, name=mission.name, parent=mission.parent)
    retries: tuple[int, float, float] | None = None
    if agent.is_task:
        extra = {**extra, "Type": "oneshot"}
        if runs_under_wrapper(spec.provider, spec.type):
            extra["NotifyAccess"] = "all"  # STATUS= from the agent's wrapper; oneshot ignores READY=1
        spec, extra, retries = _as_task(spec, extra)
    args = transient_unit_args(spec, mission.id, mission.name, mission.unit, state_dir, extra_properties=extra,
                               record=mission.spec)
    if retries is not None:  # the retrying script has `$`s: it runs from the environment (see unit_exec)
        split = args.index("--")
        command = args[split + 1:][len(supervised([])):]  # inside the run hook, which stays outermost
        retrying, env = launched(retrying_argv(command, *retries), {}, variable="OVERMIND_RETRY_ARGV")
        args = [*args[:split], *(f"--setenv={key}={value}" for key, value in env.items()), "--",
                *supervised(retrying)]
    if spec.persist and agent.is_task:
        # A persisted task that failed is marked `.failed` (not `.done`) by its run hook: a boot's
        # start of it fails on this assertion, without running it, so what requires it still does not run.
        split = args.index("--")
        args = [*args[:split], f"--property=AssertPathExists=!{state_dir}/runs/{mission.id}.failed",
                f"--setenv={FAILURE_HOLDS}=1", *args[split:]]
    return args


def _as_task(spec: MissionSpec, extra: dict[str, str]) -> tuple[MissionSpec, dict[str, str],
                                                                 tuple[int, float, float] | None]:
    """systemd ignores RuntimeMaxSec= for oneshot units (their start timeout is the runtime
    limit), and fails the dependents on a oneshot's first failed run even when Restart= will try
    again (systemd#18856), so a task's retries happen inside its unit: its start job, which the
    dependents wait on, lasts until the last attempt."""
    if spec.limits.timeout is not None:
        extra["TimeoutStartSec"] = f"{spec.limits.timeout:g}s"
    restart = spec.restart
    retries = None
    if restart.policy == "on-failure":
        count = restart.max_restarts if restart.max_restarts is not None else TASK_RETRIES
        first = restart.backoff if restart.backoff is not None else TASK_BACKOFF
        ceiling = max(restart.backoff_max or DEFAULT_BACKOFF_MAX, first) if restart.backoff is not None else first
        retries = (count, first, ceiling)
    spec = dataclasses.replace(spec, limits=dataclasses.replace(spec.limits, timeout=None), restart=RestartPolicy())
    return spec, extra, retries


def retrying_argv(argv: list[str], retries: int, backoff: float, backoff_max: float) -> list[str]:
    """`argv` run until it succeeds, at most 1 + `retries` times, waiting `backoff` seconds
    before the first retry and twice as long each time, up to `backoff_max`. Each attempt is a run
    of its own to the run hook (its end and the next start recorded, marked in the journal as a
    restart is), so the mission counts its restarts as any other does."""
    from overmind.mission.units import RUN_HOOK

    first, ceiling = round(backoff * 1000), round(backoff_max * 1000)
    hook = shlex.quote(str(RUN_HOOK))
    script = (f"attempt=0; delay={first}; "
              'until "$@"; do status=$?; attempt=$((attempt + 1)); '
              f'if [ "$attempt" -gt {retries} ]; then exit "$status"; fi; '
              f'/bin/sh {hook} retry "$status"; '
              "sleep \"$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))\"; "
              f"/bin/sh {hook} start; "
              f'delay=$((delay * 2)); if [ "$delay" -gt {ceiling} ]; then delay={ceiling}; fi; done')
    return ["/bin/sh", "-c", script, "overmind-retry", *argv]


def boot_unit(blueprint: str) -> str:
    """The unit that starts a blueprint's persisted agents at boot (overmind.control.persist_blueprint)."""
    return f"{names.unit_prefix()}-boot@{blueprint}.service"


def start_unit(blueprint: str, slice_name: str, units: list[str]) -> BusUnit:
    """The unit whose start job pulls in `units`: it runs once they have all started (tasks:
    finished), whatever their result, and is then collected."""
    joined = " ".join(units)
    return unit_from_run_args([
        f"--unit={names.blueprint_start_unit(blueprint, names.new_id())}",
        f"--description=overmind blueprint {blueprint}: start {len(units)} agent(s)",
        f"--slice={slice_name}", "--service-type=oneshot",
        f"--property=Wants={joined}", f"--property=After={joined}",
        "--property=CollectMode=inactive-or-failed",
        "--", "/bin/true",
    ])
