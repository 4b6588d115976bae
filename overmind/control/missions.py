"""Missions and blueprints with their live state, as every front end lists and shows them.

A view joins a record from the store with its unit's live properties; systemd decides while the
unit is loaded, the run records speak once it is gone (`overmind.mission.status`). Many views
are read at once from one `list-units` call plus cgroupfs (`overmind.systemd.accounting`):
this is `ps`'s path, so nothing heavy is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from overmind import names
from overmind.errors import MissionNotFound, OvermindError
from overmind.mission.kinds import runs_under_wrapper
from overmind.mission.status import Status, derive
from overmind.mission.view import MissionView
from overmind.store import Blueprint, Mission, Store, shared
from overmind.systemd import manager
from overmind.systemd.manager import ACTIVE_STATES

if TYPE_CHECKING:
    from overmind.blueprint.progress import BlueprintView
    from overmind.mission.tree import Tree
    from overmind.store.permissions import PermissionRecord

UNIT_PROPERTIES = (
    "Id", "LoadState", "ActiveState", "SubState", "Result", "NRestarts", "MainPID",
    "ExecMainStartTimestamp", "ExecMainStartTimestampMonotonic", "ExecMainCode", "ExecMainStatus",
    "MemoryCurrent", "CPUUsageNSec", "ControlGroup", "StatusText",
)
Record = Mission | Blueprint


class View(Protocol):
    """What a mission's and a blueprint's views both tell (MissionView, BlueprintView)."""

    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def created_at(self) -> float: ...
    @property
    def status(self) -> Status: ...
    @property
    def unit(self) -> dict[str, str]: ...
    @property
    def activity(self) -> str | None: ...
    @property
    def command_line(self) -> str: ...
    @property
    def restarts(self) -> int: ...
    @property
    def uptime(self) -> float | None: ...
    @property
    def memory(self) -> int | None: ...
    @property
    def cpu_seconds(self) -> float | None: ...
    @property
    def finished_at(self) -> float | None: ...
    @property
    def persisted(self) -> bool: ...
    @property
    def boots(self) -> int: ...
    def to_json(self) -> dict[str, Any]: ...


class Row(NamedTuple):
    """One line of a listing: the view, its box-drawing prefix in a tree, its children's ids."""

    view: View
    lead: str = ""
    children: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return self.view.to_json() | {"children": list(self.children)}


# -- lookup -------------------------------------------------------------------------------
def resolve(ref: str, store: Store | None = None) -> Record:
    """A mission or blueprint by id, else the newest of either with that name."""
    store = store or shared()
    mission, blueprint = store.get(ref), store.blueprint(ref)
    if mission is not None and blueprint is not None:
        if mission.id == ref or (blueprint.id != ref and mission.created_at > blueprint.created_at):
            return mission
        return blueprint
    found: Record | None = mission or blueprint
    if found is None:
        raise MissionNotFound(ref)
    return found


def resolve_mission(ref: str, store: Store | None = None) -> Mission:
    """A mission (not a blueprint) by id or name: for what only missions do (send, attach, result)."""
    record = resolve(ref, store)
    if isinstance(record, Blueprint):
        raise OvermindError(f"'{record.name}' is a blueprint, not a mission",
                            hint=f"see its agents: overmind info {record.name}")
    return record


def records(store: Store | None = None) -> list[Record]:
    """Every mission and blueprint, oldest first."""
    store = store or shared()
    found: list[Record] = [*store.all(), *store.blueprints()]
    return sorted(found, key=lambda record: record.created_at)


def get(ref: str, store: Store | None = None) -> View:
    """One mission or blueprint, with every property systemd has about its unit."""
    store = store or shared()
    return view(resolve(ref, store), store)


def view(record: Record, store: Store | None = None) -> View:
    store = store or shared()
    if isinstance(record, Blueprint) or _is_member(record):
        return views([record], store)[0]
    owned = store.unit_owners().get(record.unit) == record.id
    # one `systemctl show` for the mission's unit and its services' (see _live_units)
    shown = _shown([*([record.unit] if owned else []), *_service_units([record])])
    props = shown.get(record.unit) if owned else None
    record = store.get(record.id) or record  # read after the unit: see _mission_views
    session = store.session_id(record.id) if record.provider != "raw" else None
    asking, rules = _permissions(store) if record.provider != "raw" else ({}, {})
    return MissionView(record, _status(record, props), props or {}, session,
                       _environments([record], store, shown).get(record.id), asking.get(record.id, ()),
                       rules.get(record.id, ()))


def status_of(mission: Mission, store: Store | None = None) -> Status:
    """A mission's status alone: its unit's state and its run records, without what else a view
    reads (its session, worktree and services), e.g. whether a parent has finished."""
    store = store or shared()
    if _is_member(mission):  # an agent's state depends on its blueprint's other agents
        return view(mission, store).status
    props = _shown([mission.unit]).get(mission.unit) if owns_unit(mission, store) else None
    return _status(store.get(mission.id) or mission, props)


def _status(mission: Mission, unit: dict[str, str] | None) -> Status:
    """The status systemd and the run records give, or `lost at reboot` for a mission an earlier
    manager's end took (overmind.control.persist)."""
    status = derive(mission, unit)
    if status.state in ("unknown", "stopped", "crashed"):
        from overmind.control.persist import after_reboot

        status = after_reboot(mission, status)
    return status


def _missions_behind(chosen: Sequence[Record], store: Store) -> tuple[dict[str, Mission], dict[str, list[Mission]]]:
    """The missions whose units a view of `chosen` reads: the chosen missions, and every agent of
    a chosen blueprint or of a chosen agent's blueprint (an agent's state depends on the others')."""
    blueprint_ids = {r.id for r in chosen if isinstance(r, Blueprint)}
    blueprint_ids |= {r.parent for r in chosen if isinstance(r, Mission) and _is_member(r) and r.parent}
    members = {bid: store.children(bid) for bid in blueprint_ids}
    missions = {r.id: r for r in chosen if isinstance(r, Mission)}
    missions.update({m.id: m for group in members.values() for m in group})
    return missions, members


def units_behind(chosen: Sequence[Record], store: Store | None = None) -> list[str]:
    """The units `views(chosen)` reads, for a caller that reads them itself (the change feed)."""
    return sorted({m.unit for m in _missions_behind(chosen, store or shared())[0].values()})


def views(chosen: Sequence[Record], store: Store | None = None,
          units: dict[str, dict[str, str]] | None = None) -> list[View]:
    """Many missions and blueprints at once, from the fast cgroupfs-based reading of their units,
    or from `units`: the loaded units among `units_behind(chosen)` with their properties."""
    if not chosen:
        return []
    store = store or shared()
    missions, members = _missions_behind(chosen, store)
    blueprint_ids = set(members)
    plain = _mission_views(list(missions.values()), store, units)
    if not blueprint_ids:
        return [plain[r.id] for r in chosen]
    from overmind.blueprint.progress import BlueprintView, refine_members, summarize

    refined: dict[str, MissionView] = {}
    blueprint_views: dict[str, BlueprintView] = {}
    for bid in blueprint_ids:
        blueprint = next((r for r in chosen if isinstance(r, Blueprint) and r.id == bid), None) or store.blueprint(bid)
        if blueprint is None:  # members of a blueprint that was forgotten: shown as they are
            continue
        group = refine_members([plain[m.id] for m in members[bid]], blueprint.agents)
        refined.update({v.mission.id: v for v in group})
        blueprint_views[bid] = BlueprintView(blueprint, summarize(blueprint, group), group)
    return [blueprint_views[r.id] if isinstance(r, Blueprint) else refined.get(r.id, plain[r.id]) for r in chosen]


FEW = 8  # up to this many missions, asking systemd about their units alone is quicker than a listing


def _mission_views(missions: list[Mission], store: Store,
                   units: dict[str, dict[str, str]] | None = None) -> dict[str, MissionView]:
    live = units if units is not None else _live_units(missions, store)
    # Read again, after the units, the records of missions whose unit is not running: a unit is
    # gone (or inactive) only once its end hook has written the run's record, so a record read
    # now has every end that the unit's state implies.
    settled = [m.id for m in missions if live.get(m.unit, {}).get("ActiveState") not in ACTIVE_STATES]
    fresh = {m.id: m for m in store.missions(settled)} if settled else {}
    missions = [fresh.get(m.id, m) for m in missions]
    owners = store.unit_owners()
    agents = any(m.provider != "raw" for m in missions)
    sessions = store.session_ids() if agents else {}
    # units read by the caller hold no service units: their states are read apart
    environments = _environments(missions, store, live if units is None else None)
    asking, rules = _permissions(store) if agents else ({}, {})
    found = {}
    for mission in missions:
        owned = live.get(mission.unit) if owners.get(mission.unit) == mission.id else None
        found[mission.id] = MissionView(mission, _status(mission, owned), owned or {}, sessions.get(mission.id),
                                        environments.get(mission.id), asking.get(mission.id, ()),
                                        rules.get(mission.id, ()))
    return found


def _permissions(store: Store) -> tuple[dict[str, tuple[PermissionRecord, ...]], dict[str, tuple[str, ...]]]:
    """Pending permission requests and rules added with --always, by mission (two small reads)."""
    from overmind.store.permissions import PermissionStore

    records = PermissionStore(store)
    return records.pending_by_mission(), records.all_rules()


def _environments(missions: list[Mission], store: Store,
                  units: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, Any]]:
    """Worktree, branch, ports and services of the missions that work in a worktree; `units`:
    their services' units, read along with the missions' own (else they are listed apart)."""
    if not any(m.worktree for m in missions):
        return {}
    from overmind import isolation

    return isolation.describe(missions, store, units)


def _service_units(missions: list[Mission]) -> list[str]:
    """The units of the services of the missions that work in a worktree (none for the others)."""
    if not any(m.worktree for m in missions):
        return []
    from overmind import isolation

    return isolation.units_of_services(missions)


def _shown(units: list[str]) -> dict[str, dict[str, str]]:
    return {p["Id"]: p for p in manager.show(units, UNIT_PROPERTIES) if p.get("LoadState") == "loaded"}


def _live_units(missions: list[Mission], store: Store) -> dict[str, dict[str, str]]:
    """The loaded units' properties, with those of the missions' services: for a few missions,
    one `systemctl show` of their units; for more, one listing of all mission (and service) units
    plus cgroupfs (`show` costs ~2 ms a unit), with each run's main process and start as its
    hooks recorded them where they did."""
    from overmind.systemd.accounting import live_properties

    if len(missions) <= FEW:
        return _shown([*(m.unit for m in missions), *_service_units(missions)])
    going = store.runs_going_now()
    started = {m.unit: going[m.id] for m in missions if m.id in going}
    also = []
    if any(m.worktree for m in missions):
        from overmind import isolation

        also.append(isolation.service_units_pattern())
    live = live_properties(names.unit_pattern(), started, also)
    incomplete = [unit for unit, props in live.items() if props.pop("Incomplete", None)]
    # Agents' wrappers say what they are doing (StatusText), which cgroupfs cannot tell.
    talking = [m.unit for m in missions
               if runs_under_wrapper(m.provider, m.type) and m.unit in live and m.unit not in incomplete]
    for props in manager.show(incomplete, UNIT_PROPERTIES):
        live[props["Id"]] = props
    for shown_props in manager.show(talking, ["Id", "StatusText"]):
        live[shown_props["Id"]]["StatusText"] = shown_props.get("StatusText", "")
    return live




def owns_unit(mission: Mission, store: Store | None = None) -> bool:
    """Whether the mission is the newest with its unit name: only it can own the loaded unit."""
    return (store or shared()).unit_owners().get(mission.unit) == mission.id


def _is_member(mission: Mission) -> bool:
    """One of a blueprint's agents: its status depends on its blueprint's other agents."""
    return "blueprint" in mission.spec


# -- listings -----------------------------------------------------------------------------
def listing(include_killed: bool = False, children_of: str | None = None, tree: bool = False,
            store: Store | None = None) -> list[Row]:
    """What `ps` lists: running missions first, then finished ones not yet collected; with
    `tree`, parents above their children; with `children_of`, only that mission's children."""
    from overmind.mission.tree import Tree

    store = store or shared()
    known = records(store)
    family = Tree(known)
    chosen = family.children.get(resolve(children_of, store).id, []) if children_of else known
    return _rows(family, views(chosen, store), include_killed, tree and not children_of)


def arrange(shown: Sequence[View], include_killed: bool = False, tree: bool = False) -> list[Row]:
    """Views read earlier (the change feed's snapshot, say) as `listing` orders them, without
    asking systemd again."""
    from overmind.mission.tree import Tree

    return _rows(Tree([record_of(v) for v in shown]), shown, include_killed, tree)


def record_of(view: View) -> Record:
    """The record behind a mission's or a blueprint's view."""
    from overmind.blueprint.progress import BlueprintView

    if isinstance(view, BlueprintView):
        return view.blueprint
    assert isinstance(view, MissionView)
    return view.mission


def _rows(family: Tree[Record], found: Sequence[View], include_killed: bool, tree: bool) -> list[Row]:
    shown = {v.id: v for v in found if include_killed or v.status.state != "killed"}
    if tree:
        order = [(lead, shown[r.id]) for lead, r in family.walk() if r.id in shown]
    else:
        order = [("", v) for v in sorted(shown.values(), key=lambda v: (v.status.finished, v.created_at))]
    return [Row(v, lead, tuple(c.id for c in family.children.get(v.id, []))) for lead, v in order]


def running(store: Store | None = None) -> list[Record]:
    """Every mission and blueprint that has not finished."""
    store = store or shared()
    known = records(store)
    return [r for r, v in zip(known, views(known, store), strict=True) if not v.status.finished]


def children(record: Record, store: Store | None = None) -> list[Mission]:
    return (store or shared()).children(record.id)


def subtree(record: Record, store: Store | None = None) -> list[Record]:
    """Everything below a mission or blueprint, deepest first (children before their parents)."""
    from overmind.mission.tree import Tree

    return Tree(records(store)).descendants(record)


def counts(store: Store | None = None) -> dict[str, int]:
    """Missions and blueprints by status, for a header or `status`."""
    return tally(views(records(store), store))


def tally(shown: Sequence[View]) -> dict[str, int]:
    """Views already read (a change feed's snapshot, say), counted by status."""
    found: dict[str, int] = {}
    for v in shown:
        found[v.status.state] = found.get(v.status.state, 0) + 1
    return dict(sorted(found.items()))
