"""Agents with a `schedule`: rituals (a systemd timer and service in the user's unit directory)
that belong to their blueprint. They are installed, compared and pruned like its other agents;
the ritual's origin (`blueprint:<name>`) says which blueprint owns it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from overmind.blueprint.model import Agent, Blueprint, member_name
from overmind.errors import OvermindError
from overmind.systemd import manager

if TYPE_CHECKING:
    from overmind.rituals import Ritual, RitualSpec


def origin(blueprint: str) -> str:
    return f"blueprint:{blueprint}"


def ritual_spec(blueprint: Blueprint, agent: Agent) -> RitualSpec:
    from overmind.mission.build import as_agent_run
    from overmind.rituals import RitualSpec

    assert agent.timing is not None
    from overmind import isolation

    name = member_name(blueprint.name, agent.name, 1)
    mission = agent.spec if agent.spec.provider == "raw" else as_agent_run(
        agent.spec, isolation.scheduled_worktree(agent.spec, name))
    timing = agent.timing
    return RitualSpec(name=name, mission=mission, schedule=timing.schedule,
                      persistent=timing.persistent, randomized_delay=timing.randomized_delay,
                      overlap=timing.overlap, origin=origin(blueprint.name))


def installed(blueprint: str) -> dict[str, Ritual]:
    """The blueprint's rituals by name. Reads the unit directory only, so ps and info can afford it."""
    from overmind.rituals import all_rituals

    return {r.name: r for r in all_rituals() if r.origin == origin(blueprint)}


def check_free(spec: RitualSpec) -> None:
    """A ritual of the same name that someone else made is never taken over."""
    from overmind.rituals import RitualNotFound, get

    try:
        found = get(spec.name)
    except RitualNotFound:
        return
    if found.origin != spec.origin:
        raise OvermindError(f"a ritual named '{spec.name}' already exists and does not belong to this blueprint",
                            hint=f"overmind ritual rm {spec.name}, or rename the agent")


def differs(spec: RitualSpec, ritual: Ritual) -> bool:
    """Whether installing `spec` would rewrite the ritual's files (what `ritual add --replace` checks)."""
    from overmind.rituals import unitfiles
    from overmind.store import state_dir

    wanted = unitfiles.render(spec, ritual.created_at, str(state_dir().resolve()))
    present = {path.name: path.read_text() for path in ritual.files if path.exists()}
    return present != wanted


def disable(blueprint: str) -> list[str]:
    """Stop the blueprint's timers (a run going on ends too); the next apply enables them again."""
    rituals = list(installed(blueprint).values())
    if rituals:
        manager.systemctl("disable", "--now", *[r.timer for r in rituals], check=False)
        manager.systemctl("stop", *[r.service for r in rituals], check=False)
    return [r.name for r in rituals]
