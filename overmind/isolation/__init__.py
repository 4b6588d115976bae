"""Per-mission isolation: a git worktree, leased ports and the repository's services
(`.overmind.yml`), supervised by systemd next to the mission.

The rest of overmind calls only what is here. Importing this package costs nothing: the
modules behind each entry point load when it is called, so `run` without isolation pays nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from overmind.errors import OvermindError
    from overmind.isolation.start import Prepared
    from overmind.mission.spec import MissionSpec
    from overmind.store import Mission, Store


def applies(spec: MissionSpec) -> bool:
    """Whether a mission gets a worktree: agents started inside a git work tree do unless told
    not to (--no-worktree), plain commands only when asked (--worktree)."""
    if spec.isolation.mode != "auto":
        return spec.isolation.mode == "worktree"
    if spec.provider == "raw":
        return False
    from overmind.isolation.git import inside_work_tree

    return inside_work_tree(spec.cwd)


def scheduled_worktree(spec: MissionSpec, ritual: str) -> str | None:
    """The worktree every scheduled run of an agent works in: the one the spec names, else one
    named after the ritual when the agent gets a worktree at all (runs never pile them up)."""
    if spec.isolation.worktree is not None:
        return spec.isolation.worktree
    return ritual if applies(spec) else None


def prepare(spec: MissionSpec, name: str, store: Store) -> Prepared:
    """Worktree, ports, files and service units for mission `name`; the returned Prepared holds
    the spec to start (cwd and environment in the worktree) and the unit properties it needs."""
    from overmind.isolation.start import prepare as prepare_environment

    return prepare_environment(spec, name, store)


def start_failed(prepared: Prepared, name: str, unit: str, stderr: str) -> OvermindError:
    """The error to show for a mission whose start job failed, after undoing what its run started."""
    from overmind.isolation.failures import explain

    return explain(prepared, name, unit, stderr)


def companions(missions: list[Mission], store: Store) -> list[str]:
    """The units to stop together with these missions: their worktrees' services and setups,
    unless another mission is bound to them (a worktree shared by a pipeline)."""
    from overmind.isolation.environment import companions as worktree_companions

    return worktree_companions(missions, store)


def worktree_exists(name: str, store: Store) -> bool:
    from overmind.store.worktrees import WorktreeStore

    return WorktreeStore(store).get(name) is not None


def service_log_source(mission: Mission, service: str, store: Store) -> Mission:
    """`logs NAME --service S`: the mission as seen through service S's unit (or `setup`), so the
    journal is read for that unit's lines since the worktree was made."""
    from overmind.isolation.environment import log_source

    return log_source(mission, service, store)


def workplace(mission: Mission, store: Store) -> dict[str, Any]:
    """Where a mission works: its worktree, branch and ports (what `run` prints)."""
    from overmind.isolation.environment import workplace as of_mission

    return of_mission(mission, store)


def describe(missions: list[Mission], store: Store,
             units: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, Any]]:
    """For ps/info --json: mission id -> worktree, branch, ports and services (missions without
    a worktree are left out). `units`: the service units' states, read along with the missions'
    own units (units_of_services, service_units_pattern); without them they are listed here."""
    if not any(m.worktree for m in missions):
        return {}
    from overmind.isolation.environment import describe_missions

    return describe_missions(missions, store, units)


def units_of_services(missions: list[Mission]) -> list[str]:
    """The units of the services these missions' runs started, to read with the missions' own."""
    from overmind.isolation.environment import service_units

    return service_units(missions) if any(m.worktree for m in missions) else []


def service_units_pattern() -> str:
    """Every worktree's service units, to list with the missions' own (`ps`)."""
    from overmind.isolation.naming import service_units_pattern as pattern

    return pattern()
