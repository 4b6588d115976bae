"""What `ps`, `info` and `worktree ls` show of a mission's environment: its worktree, branch,
ports and services, from the store and one `systemctl show` for all the service units."""

from __future__ import annotations

from typing import Any

from overmind import names
from overmind.errors import OvermindError
from overmind.isolation import cache, naming
from overmind.isolation.model import Contract
from overmind.store import Mission, Store
from overmind.store.worktrees import WorktreeRecord, WorktreeStore
from overmind.systemd import manager


def worktree_of(mission: Mission) -> str | None:
    name = mission.spec.get("worktree")
    return name if isinstance(name, str) else None


def unit_states(worktree: str | None = None) -> dict[str, dict[str, str]]:
    """Loaded service and setup units (of one worktree, or of all): unit -> its properties."""
    prefix = names.unit_prefix()
    patterns = [naming.service_units_pattern(worktree),
                naming.setup_unit(worktree) if worktree else f"{prefix}-setup@*.service"]
    shown = manager.show(patterns, ["Id", "LoadState", "ActiveState", "SubState", "BoundBy", "RequiredBy", "Job"])
    return {props["Id"]: props for props in shown if props.get("Id") and props.get("LoadState") == "loaded"}


def missions_in(store: Store, name: str) -> list[Mission]:
    return [m for m in store.all() if worktree_of(m) == name]


def busy(store: Store, name: str) -> tuple[list[str], list[str]]:
    """What works in worktree `name`: its running missions (names) and its active service units."""
    units = [m.unit for m in missions_in(store, name)]
    running = [props["Id"] for props in manager.show(units, ["Id", "ActiveState", "Job"])
               if props.get("ActiveState") not in ("inactive", "failed", "") or pending(props)]
    services = [unit for unit, props in unit_states(name).items()
                if props.get("ActiveState") != "inactive" or pending(props)]
    return [names.name_from_unit(unit) for unit in running], services


def pending(props: dict[str, str]) -> bool:
    """A job is queued for the unit (its `Job` property): about to start (or stop), though still inactive."""
    return props.get("Job", "") not in ("", "0")


def companions(missions: list[Mission], store: Store) -> list[str]:
    """The service and setup units to stop together with these missions: each of their worktrees'
    units, unless a mission outside them still works there (a worktree shared by a pipeline)."""
    chosen: list[str] = []
    ending = {m.unit for m in missions}
    known = store.all()
    for worktree in sorted({name for m in missions if (name := worktree_of(m))}):
        if not any(worktree_of(m) == worktree and m.unit not in ending for m in known):
            # No other mission was ever in it: its units are the declared ones, nothing to ask
            # systemd (stopping a unit that is not loaded is a no-op beside the others).
            contract = _contract_of(store, worktree)
            declared = [naming.service_unit(worktree, s.name) for s in contract.services] if contract else []
            chosen += [*declared, naming.setup_unit(worktree)] if contract else list(unit_states(worktree))
            continue
        states = unit_states(worktree)
        own = ending | set(states)  # the services and setup depend on each other, too
        others = {user for props in states.values() for key in ("BoundBy", "RequiredBy")
                  for user in props.get(key, "").split()} - own
        if others and any(props.get("ActiveState") not in ("inactive", "failed") or pending(props)
                          for props in manager.show(sorted(others), ["Id", "ActiveState", "Job"])):
            continue  # another mission still works with them
        chosen += [unit for unit, props in states.items() if props.get("ActiveState") != "inactive"]
    return chosen


def _contract_of(store: Store, worktree: str) -> Contract | None:
    record = WorktreeStore(store).get(worktree)
    return contract_or_none(record.repo) if record else None


def contract_or_none(repo: str) -> Contract | None:
    """The repository's contract for display; a file broken since the mission started shows nothing."""
    try:
        return cache.contract_of(repo)
    except OvermindError:
        return None


def services(record: WorktreeRecord, leases: dict[str, int], states: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Declared services with their unit's state, and units of services no longer declared."""
    contract = contract_or_none(record.repo)
    shown: list[dict[str, Any]] = []
    declared = contract.services if contract else ()
    for service in declared:
        unit = naming.service_unit(record.name, service.name)
        props = states.get(unit, {})
        shown.append({"name": service.name, "kind": service.kind, "image": service.image,
                      "port": leases.get(service.variable), "unit": unit,
                      "state": props.get("ActiveState", "inactive"), "sub_state": props.get("SubState", "dead")})
    known = {entry["unit"] for entry in shown}
    prefix = naming.service_units_pattern(record.name).removesuffix("*.service")
    for unit, props in sorted(states.items()):
        if unit.startswith(prefix) and unit not in known:
            shown.append({"name": unit.removeprefix(prefix).removesuffix(".service"), "kind": None, "image": None,
                          "port": None, "unit": unit,
                          "state": props.get("ActiveState", ""), "sub_state": props.get("SubState", "")})
    return shown


def fields(record: WorktreeRecord | None, leases: dict[str, int], states: dict[str, dict[str, str]]) -> dict[str, Any]:
    if record is None:
        return {"worktree": None, "branch": None, "ports": {}, "services": []}
    from overmind.isolation import env

    contract = contract_or_none(record.repo)
    injected = env.ports(contract, leases) if contract else {k: str(v) for k, v in leases.items()}
    return {"worktree": {"name": record.name, "path": record.path, "base": record.base},
            "branch": record.branch,
            "ports": {k: int(v) for k, v in sorted(injected.items(), key=lambda item: (int(item[1]), item[0]))},
            "services": services(record, leases, states)}


def workplace(mission: Mission, store: Store) -> dict[str, Any]:
    worktree = worktree_of(mission)
    records = WorktreeStore(store)
    record = records.get(worktree) if worktree else None
    if record is None:
        return {}
    data = fields(record, records.leases(record.name), {})
    del data["services"]
    return data


def describe_missions(missions: list[Mission], store: Store) -> dict[str, dict[str, Any]]:
    records = WorktreeStore(store)
    leases = records.all_leases()
    states = unit_states()
    described = {}
    for mission in missions:
        worktree = worktree_of(mission)
        if worktree is not None:
            described[mission.id] = fields(records.get(worktree), leases.get(worktree, {}), states)
    return described


def log_source(mission: Mission, service: str, store: Store) -> Mission:
    worktree = worktree_of(mission)
    record = WorktreeStore(store).get(worktree) if worktree else None
    if record is None:
        raise OvermindError(f"mission '{mission.name}' has no worktree, so no services",
                            hint="services come with a worktree: overmind run --worktree ...")
    contract = contract_or_none(record.repo)
    declared = [s.name for s in contract.services] if contract else []
    if service == "setup":
        unit = naming.setup_unit(record.name)
    elif service in declared or naming.service_unit(record.name, service) in unit_states(record.name):
        unit = naming.service_unit(record.name, service)
    else:
        raise OvermindError(f"mission '{mission.name}' has no service {service!r}",
                            hint=f"its services: {', '.join([*declared, 'setup'])}")
    return mission._replace(unit=unit, name=f"{mission.name}/{service}", created_at=record.created_at)
