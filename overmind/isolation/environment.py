"""What `ps`, `info` and `worktree ls` show of a mission's environment: its worktree, branch,
ports and services, from the store (what `run` recorded) and one `list-units` call for the
service units; and what works in a worktree (`busy`, `companions`) for stop and removal."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from overmind import names
from overmind.errors import OvermindError
from overmind.isolation import naming
from overmind.store import Mission, Store
from overmind.store.worktrees import WorktreeRecord, WorktreeStore
from overmind.systemd import manager
from overmind.systemd.accounting import list_units

if TYPE_CHECKING:  # ps and info read what runs recorded: the contract's modules load only without it
    from overmind.isolation.model import Contract

_USERS = ("BoundBy", "RequiredBy", "WantedBy")  # what makes a unit with StopWhenUnneeded= needed


def unit_states(worktree: str | None = None) -> dict[str, dict[str, str]]:
    """Loaded service and setup units (of one worktree, or of all) with what tells whether they
    are in use: the units bound to them and their pending jobs (`systemctl show`, ~2 ms a unit:
    for the few units of a worktree being stopped or removed, not for a listing)."""
    prefix = names.unit_prefix()
    patterns = [naming.service_units_pattern(worktree),
                naming.setup_unit(worktree) if worktree else f"{prefix}-setup@*.service"]
    shown = manager.show(patterns, ["Id", "LoadState", "ActiveState", "SubState", *_USERS, "Job"])
    return {props["Id"]: props for props in shown if props.get("Id") and props.get("LoadState") == "loaded"}


def service_states(worktree: str | None = None) -> dict[str, dict[str, dict[str, str]]]:
    """Loaded service units (of one worktree, or of all) with their ActiveState and SubState, by
    worktree, from one `list-units` call: what `ps` and `info` show, at any number of units."""
    return by_worktree(list_units(naming.service_units_pattern(worktree)))


def by_worktree(units: dict[str, dict[str, str]]) -> dict[str, dict[str, dict[str, str]]]:
    """The loaded service units among `units` (unit -> its properties), by worktree."""
    head = naming.service_units_pattern().removesuffix("*.service")
    grouped: dict[str, dict[str, dict[str, str]]] = {}
    for unit, props in units.items():
        if unit.startswith(head) and props.get("LoadState") == "loaded":
            # <prefix>-svc@<worktree>.<service>.service, and a service's name has no dot
            grouped.setdefault(unit.removeprefix(head).removesuffix(".service").rpartition(".")[0], {})[unit] = props
    return grouped


def service_units(missions: list[Mission]) -> list[str]:
    """Patterns of the units of these missions' worktrees' services (systemctl show expands them)."""
    return sorted({naming.service_units_pattern(name) for m in missions if (name := m.worktree)})


def missions_in(store: Store, name: str) -> list[Mission]:
    return [m for m in store.all() if m.worktree == name]


def busy(store: Store, name: str, states: dict[str, dict[str, str]] | None = None) -> tuple[list[str], list[str]]:
    """What works in worktree `name`: its running missions (names) and its service and setup units
    that run or are about to (a failed unit has stopped: it holds nothing)."""
    units = [m.unit for m in missions_in(store, name)]
    running = [props["Id"] for props in manager.show(units, ["Id", "ActiveState", "Job"]) if working(props)]
    states = unit_states(name) if states is None else states
    return [names.name_from_unit(unit) for unit in running], [unit for unit, props in states.items() if working(props)]


def working(props: dict[str, str]) -> bool:
    """The unit runs, starts or stops, or a job for it is queued."""
    return props.get("ActiveState") not in ("inactive", "failed", "") or pending(props)


def users(states: dict[str, dict[str, str]], ending: Collection[str] = ()) -> list[str]:
    """The units outside these (and outside `ending`) that need them and still work: missions bound
    to the worktree's services, or the hold of a mission that `run` is starting."""
    others = {user for props in states.values() for key in _USERS for user in props.get(key, "").split()}
    others -= {*states, *ending}
    return [props["Id"] for props in manager.show(sorted(others), ["Id", "ActiveState", "Job"]) if working(props)]


def pending(props: dict[str, str]) -> bool:
    """A job is queued for the unit (its `Job` property): about to start (or stop), though still inactive."""
    return props.get("Job", "") not in ("", "0")


def companions(missions: list[Mission], store: Store) -> list[str]:
    """The service and setup units to stop together with these missions: each of their worktrees'
    units, unless a mission outside them still works there (a worktree shared by a pipeline)."""
    chosen: list[str] = []
    ending = {m.unit for m in missions}
    known = store.all()
    for worktree in sorted({name for m in missions if (name := m.worktree)}):
        if not any(m.worktree == worktree and m.unit not in ending for m in known):
            # No other mission was ever in it: its units are the ones its missions' runs started,
            # nothing to ask systemd (stopping a unit that is not loaded is a no-op beside the others).
            started = [recorded(m) for m in missions if m.worktree == worktree]
            if all(started):
                chosen += sorted({naming.service_unit(worktree, s["name"]) for e in started if e
                                  for s in e["services"]}) + [naming.setup_unit(worktree)]
            else:  # a mission recorded before runs kept their services
                chosen += list(unit_states(worktree))
            continue
        states = unit_states(worktree)
        if users(states, ending):
            continue  # another mission still works with them
        chosen += [unit for unit, props in states.items() if props.get("ActiveState") != "inactive"]
    return chosen


def contract_or_none(repo: str) -> Contract | None:
    """The repository's contract for display; a file broken since the mission started shows nothing."""
    from overmind.isolation import cache

    try:
        return cache.contract_of(repo)
    except OvermindError:
        return None


def recorded(mission: Mission) -> dict[str, Any] | None:
    """The ports and services the mission's run gave it (env.described), as its record keeps them;
    None for a mission recorded before runs kept them."""
    found = mission.spec.get("environment")
    return found if isinstance(found, dict) else None


def declared(record: WorktreeRecord, leases: dict[str, int]) -> dict[str, Any]:
    """What the repository's `.overmind.yml` gives the worktree now, in the same shape: for a
    worktree no mission has recorded anything for (`worktree ls`, older records)."""
    from overmind.isolation import env

    contract = contract_or_none(record.repo)
    return env.described(contract, leases) if contract else {"ports": dict(leases), "services": []}


def services(worktree: str, environment: dict[str, Any], states: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """The environment's services with their unit's state (`states`: the worktree's units), and
    units of services it does not name."""
    shown: list[dict[str, Any]] = []
    for service in environment["services"]:
        unit = naming.service_unit(worktree, service["name"])
        props = states.get(unit, {})
        shown.append({"name": service["name"], "kind": service["kind"], "image": service["image"],
                      "port": service["port"], "unit": unit,
                      "state": props.get("ActiveState", "inactive"), "sub_state": props.get("SubState", "dead")})
    known = {entry["unit"] for entry in shown}
    prefix = naming.service_units_pattern(worktree).removesuffix("*.service")
    for unit, props in sorted(states.items()):
        if unit not in known:
            shown.append({"name": unit.removeprefix(prefix).removesuffix(".service"), "kind": None, "image": None,
                          "port": None, "unit": unit,
                          "state": props.get("ActiveState", ""), "sub_state": props.get("SubState", "")})
    return shown


def fields(record: WorktreeRecord | None, environment: dict[str, Any] | None,
           states: dict[str, dict[str, dict[str, str]]]) -> dict[str, Any]:
    """The `worktree`, `branch`, `ports` and `services` keys of ps/info --json (docs/json.md);
    `states` as service_states() gives them."""
    if record is None or environment is None:
        return {"worktree": None, "branch": None, "ports": {}, "services": []}
    return {"worktree": {"name": record.name, "path": record.path, "base": record.base},
            "branch": record.branch,
            "ports": dict(sorted(environment["ports"].items(), key=lambda item: (int(item[1]), item[0]))),
            "services": services(record.name, environment, states.get(record.name, {}))}


def _environment(mission: Mission, record: WorktreeRecord, store: Store) -> dict[str, Any]:
    return recorded(mission) or declared(record, WorktreeStore(store).leases(record.name))


def workplace(mission: Mission, store: Store) -> dict[str, Any]:
    worktree = mission.worktree
    record = WorktreeStore(store).get(worktree) if worktree else None
    if record is None:
        return {}
    data = fields(record, _environment(mission, record, store), {})
    del data["services"]
    return data


def describe_missions(missions: list[Mission], store: Store,
                      units: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, Any]]:
    """From the store and the service units' states: those among `units` when the caller read
    them with its own (see service_units), else from one `list-units` call (of one worktree's
    services when all the missions work in one). Nothing of the repositories' `.overmind.yml`
    is read for missions that recorded their environment."""
    worktrees = {name for m in missions if (name := m.worktree)}
    records = WorktreeStore(store)
    if len(worktrees) == 1:
        found = records.get(next(iter(worktrees)))
        by_name = {found.name: found} if found else {}
    else:
        by_name = {r.name: r for r in records.all()}
    if units is not None:
        states = by_worktree(units)
    else:
        states = service_states(next(iter(worktrees)) if len(worktrees) == 1 else None) if by_name else {}
    described = {}
    for mission in missions:
        record = by_name.get(mission.worktree or "")
        if mission.worktree is not None:
            described[mission.id] = fields(record, _environment(mission, record, store) if record else None, states)
    return described


def log_source(mission: Mission, service: str, store: Store) -> Mission:
    worktree = mission.worktree
    record = WorktreeStore(store).get(worktree) if worktree else None
    if record is None:
        raise OvermindError(f"mission '{mission.name}' has no worktree, so no services",
                            hint="services come with a worktree: overmind run --worktree ...")
    known = [s["name"] for s in _environment(mission, record, store)["services"]]
    if service == "setup":
        unit = naming.setup_unit(record.name)
    elif service in known or naming.service_unit(record.name, service) in service_states(record.name).get(
            record.name, {}):
        unit = naming.service_unit(record.name, service)
    else:
        raise OvermindError(f"mission '{mission.name}' has no service {service!r}",
                            hint=f"its services: {', '.join([*known, 'setup'])}")
    return mission._replace(unit=unit, name=f"{mission.name}/{service}", created_at=record.created_at)
