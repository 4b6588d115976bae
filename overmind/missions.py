"""Mission lifecycle: start, look up, observe, stop, kill, collect.

The flow is spec (validated) -> units (systemd-run arguments) -> systemd (the user manager),
with the store beside it for what systemd forgets.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from overmind import names
from overmind.errors import MissionNotFound, OvermindError
from overmind.status import derive
from overmind.store import Mission, Store, state_dir
from overmind.store_worktrees import WorktreeStore
from overmind.systemd import manager
from overmind.views import MissionView

if TYPE_CHECKING:
    from overmind import tree
    from overmind.isolation.start import Prepared
    from overmind.providers import Result
    from overmind.spec import MissionSpec

UNIT_PROPERTIES = (
    "Id", "LoadState", "ActiveState", "SubState", "Result", "NRestarts", "MainPID",
    "ExecMainStartTimestamp", "ExecMainStartTimestampMonotonic", "ExecMainCode", "ExecMainStatus",
    "MemoryCurrent", "CPUUsageNSec", "ControlGroup", "StatusText",
)
_ALREADY_EXISTS = ("already exists", "already loaded", "already active")


def _reports_status(mission: Mission) -> bool:
    """Missions whose wrapper reports STATUS= to systemd: agent CLIs and sessions."""
    return mission.provider != "raw" or mission.type == "session"


class Missions:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()

    # -- lookup -------------------------------------------------------------------------
    def resolve(self, ref: str) -> Mission:
        mission = self.store.get(ref)
        if mission is None:
            raise MissionNotFound(ref)
        return mission

    def view(self, mission: Mission) -> MissionView:
        """One mission with every property systemd has about its unit."""
        if _in_pipeline(mission):
            return self.views([mission])[0]
        props = self._owned_unit(mission)
        session = self.store.session_id(mission.id) if mission.provider != "raw" else None
        return MissionView(mission, derive(mission, props), props or {}, session)

    def views(self, missions: list[Mission]) -> list[MissionView]:
        """Many missions at once, from the fast cgroupfs-based reading of their units."""
        if not missions:
            return []
        from overmind.systemd.accounting import live_properties

        live = live_properties(names.unit_pattern())
        incomplete = [unit for unit, props in live.items() if props.pop("Incomplete", None)]
        # Agents' wrappers say what they are doing (StatusText), which cgroupfs cannot tell.
        talking = [m.unit for m in missions if _reports_status(m) and m.unit in live and m.unit not in incomplete]
        for props in manager.show(incomplete, UNIT_PROPERTIES):
            live[props["Id"]] = props
        for shown in manager.show(talking, ["Id", "StatusText"]):
            live[shown["Id"]]["StatusText"] = shown.get("StatusText", "")
        owners = self._unit_owners()
        sessions = self.store.session_ids() if any(m.provider != "raw" or _in_pipeline(m) for m in missions) else {}

        def view(mission: Mission) -> MissionView:
            props = live.get(mission.unit) if owners.get(mission.unit) == mission.id else None
            return MissionView(mission, derive(mission, props), props or {}, sessions.get(mission.id))

        views = [view(m) for m in missions]
        if not any(_in_pipeline(m) for m in missions):
            return views
        from overmind.blueprint.progress import Pipelines

        pipelines = Pipelines(self.store, lambda blueprint_id: [view(m) for m in self.store.children(blueprint_id)])
        return [pipelines.refine(v) for v in views]

    def _unit_owners(self) -> dict[str, str]:
        """unit -> id of the newest mission with that unit: only it can own the loaded unit."""
        return {row[0]: row[1] for row in self.store.db.execute(
            "SELECT unit, id FROM missions ORDER BY created_at")}

    def _owned_unit(self, mission: Mission) -> dict[str, str] | None:
        if self._unit_owners().get(mission.unit) != mission.id:
            return None
        props = manager.show([mission.unit], UNIT_PROPERTIES)
        return props[0] if props and props[0].get("LoadState") == "loaded" else None

    # -- start --------------------------------------------------------------------------
    def start(self, spec: MissionSpec) -> Mission:
        if spec.name is not None:
            return self._start_named(spec, spec.name, generated=False)
        for _ in range(20):
            candidate = names.random_name()
            if candidate not in self.store.names_in_use():
                try:
                    return self._start_named(spec, candidate, generated=True)
                except _NameTaken:
                    continue
        return self._start_named(spec, f"{names.random_name()}-{names.new_id()[:4]}", generated=True)

    def _placement(self, spec: MissionSpec) -> tuple[MissionSpec, str]:
        """Resolve --parent and pick the slice: the parent's children slice, or the root one."""
        from dataclasses import replace

        from overmind import tree

        if spec.parent is None:
            return spec, tree.root_slice()
        parent = self.store.get(spec.parent)
        if parent is None:
            raise OvermindError(f"parent not found: '{spec.parent}'", hint="see 'overmind ps --all'")
        status = self.view(parent).status
        if status.finished:
            raise OvermindError(f"parent '{parent.name}' has finished ({status.state}); it cannot take children")
        family = tree.Tree(self.store.all())
        self._check_budget(family, parent)
        return replace(spec, parent=parent.id), tree.children_slice(family.ancestry(parent))

    def _check_budget(self, family: tree.Tree, parent: Mission) -> None:
        """Refuse a new child when any ancestor's --max-children or --max-cost-usd is used up."""
        for ancestor in [*family.ancestors(parent), parent]:
            below = family.descendants(ancestor)
            cap = ancestor.spec.get("max_children")
            if cap is not None and len(below) >= cap:
                raise OvermindError(f"mission '{ancestor.name}' already has its maximum of {cap} children",
                                    hint="raise --max-children, or wait for and collect finished children")
            budget = ancestor.spec.get("max_cost_usd")
            if budget is not None:
                spent = sum(result.cost_usd or 0 for m in below if (result := self.last_result(m)) is not None)
                if spent >= budget:
                    raise OvermindError(f"mission '{ancestor.name}' has spent ${spent:.2f} of its "
                                        f"${budget:.2f} budget: no more children",
                                        hint="raise --max-cost-usd on a new tree")

    def last_result(self, mission: Mission) -> Result | None:
        """The newest result an agent mission reported (None for plain commands)."""
        if mission.provider == "raw":
            return None
        from overmind.providers import get

        provider = get(mission.provider)
        return next((event.result for stored in self.store.events_newest_first(mission.id)
                     if (event := provider.parse(stored.data)) is not None and event.result is not None), None)

    def _start_named(self, spec: MissionSpec, name: str, generated: bool) -> Mission:
        unit = names.unit_name(name)
        spec, slice_name = self._placement(spec)
        record = spec.to_record()  # as asked: a blueprint compares it with its file
        prepared = self._isolate(spec, name, generated)
        if prepared is not None:
            spec = prepared.spec
            record["worktree"] = prepared.worktree.name
        mission = Mission(
            id=names.new_id(), name=name, unit=unit, type=spec.type, provider=spec.provider,
            command=spec.command, cwd=spec.cwd, parent=spec.parent, spec=record,
            created_at=time.time(), killed_at=None, stop_requested_at=None,
        )
        self.store.add(mission)
        from overmind.units import transient_unit_args

        extra = prepared.properties if prepared else None
        args = [f"--slice={slice_name}",
                *transient_unit_args(spec, mission.id, name, unit, str(state_dir().resolve()), extra_properties=extra)]
        block = prepared is not None and prepared.blocking
        try:
            proc = manager.systemd_run(args, check=False, block=block)
            if _already_exists(proc.stderr) and self._release_finished_unit(unit):
                proc = manager.systemd_run(args, check=False, block=block)
        except OvermindError:
            self.store.remove(mission.id)
            raise
        if proc.returncode != 0:
            self.store.remove(mission.id)
            if prepared is not None and not _already_exists(proc.stderr):
                from overmind import isolation

                raise isolation.start_failed(prepared, name, unit, proc.stderr)
            if _already_exists(proc.stderr):
                if generated:
                    raise _NameTaken(name)
                raise OvermindError(f"a mission named '{name}' is already running", hint=f"overmind stop {name}")
            detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "unknown error"
            raise OvermindError(f"systemd refused to start mission '{name}': {detail}")
        return mission

    def _isolate(self, spec: MissionSpec, name: str, generated: bool) -> Prepared | None:
        """The mission's own worktree, ports and services, when it gets them."""
        from overmind import isolation

        if not isolation.applies(spec):
            return None
        if generated and spec.isolation.worktree is None and WorktreeStore(self.store).get(name) is not None:
            raise _NameTaken(name)  # a generated name must not land in an earlier mission's worktree
        return isolation.prepare(spec, name, self.store)

    def _release_finished_unit(self, unit: str) -> bool:
        """A finished mission's failed unit stays loaded until reset; a new mission may then
        take over its name. True if the unit was finished and is released."""
        props = manager.show([unit], ["LoadState", "ActiveState"])
        if not props or props[0].get("ActiveState") not in ("failed", "inactive"):
            return False
        manager.systemctl("reset-failed", unit, check=False)
        return True

    def wait_started(self, mission: Mission, timeout: float) -> str | None:
        """Block until a session takes messages (its unit is active: the wrapper said READY=1);
        returns why it could not start instead, if it could not."""
        from overmind.systemd.signals import wait_for

        known_failures = len(self._start_failures(mission))

        def outcome() -> tuple[str | None] | None:
            failures = self._start_failures(mission)
            if len(failures) > known_failures:
                return (failures[-1],)
            view = self.view(self.store.get(mission.id) or mission)
            if view.status.finished:
                return (f"it ended ({view.status.label})",)
            return (None,) if view.unit.get("ActiveState") == "active" else None

        result = wait_for([mission.unit], outcome, timeout)
        return f"not ready after {timeout:g}s" if result is None else result[0]

    def _start_failures(self, mission: Mission) -> list[str]:
        """What the wrapper recorded each time the agent could not start (events of type "overmind")."""
        events = [json.loads(e.data) for e in self.store.events(mission.id, type="overmind")]
        return [e.get("message", "") for e in events if e.get("subtype") == "start_failed"]

    # -- wait ---------------------------------------------------------------------------
    def wait(self, missions: list[Mission], timeout: float | None) -> list[MissionView] | None:
        """Block until every mission has finished (restarts included), woken by systemd's
        signals; None if `timeout` seconds pass first."""
        from overmind.systemd.signals import wait_for

        def all_finished() -> list[MissionView] | None:
            fresh = [self.store.get(m.id) or m for m in missions]
            views = self.views(fresh)
            return views if all(v.status.finished for v in views) else None

        return wait_for([m.unit for m in missions], all_finished, timeout)

    # -- stop / kill / gc ---------------------------------------------------------------
    def stop(self, mission: Mission, cascade: bool = False) -> list[Mission]:
        """SIGTERM to the whole cgroup, SIGKILL after the grace period: systemd's stop job.
        With cascade, the whole subtree first, by stopping its slice. Returns what it stopped."""
        subtree = self._subtree_to_end(mission, cascade)
        for member in [*subtree, mission]:
            self.store.mark(member.id, "stop_requested_at")
        if subtree:
            manager.systemctl("stop", self._children_slice(mission), check=False)
        if self._owns_unit(mission):
            manager.systemctl("stop", mission.unit, *_companions(mission))
        return [*subtree, mission]

    def kill(self, mission: Mission, cascade: bool = False) -> list[Mission]:
        """SIGKILL to every process of the mission (and, with cascade, of its subtree)."""
        subtree = self._subtree_to_end(mission, cascade)
        for member in [*subtree, mission]:
            self.store.mark(member.id, "killed_at")
        if subtree:
            children = self._children_slice(mission)
            manager.systemctl("kill", "--signal=SIGKILL", children, check=False)
            manager.systemctl("stop", children, check=False)
            owned = [m.unit for m in subtree if self._owns_unit(m)]
            if owned:  # reset-failed without units would reset every failed unit
                manager.systemctl("reset-failed", *owned, check=False)
        self._kill_unit(mission)
        return [*subtree, mission]

    def _subtree_to_end(self, mission: Mission, cascade: bool) -> list[Mission]:
        """A blueprint is nothing but its agents: ending it always cascades, and its scheduled
        agents' timers stop too (the next apply starts them again)."""
        if mission.type != "blueprint":
            return self._subtree(mission) if cascade else []
        from overmind.blueprint.scheduled import disable

        disable(mission.name)
        return self._subtree(mission)

    def children(self, mission: Mission) -> list[Mission]:
        from overmind.tree import Tree

        return Tree(self.store.all()).children.get(mission.id, [])

    def _subtree(self, mission: Mission) -> list[Mission]:
        from overmind.tree import Tree

        return Tree(self.store.all()).descendants(mission)

    def _children_slice(self, mission: Mission) -> str:
        from overmind.tree import Tree, children_slice

        return children_slice(Tree(self.store.all()).ancestry(mission))

    def _kill_unit(self, mission: Mission) -> None:
        if self._owns_unit(mission):
            manager.systemctl("kill", "--signal=SIGKILL", mission.unit, check=False)
            # stop cancels a pending restart and waits out the ExecStopPost hook.
            manager.systemctl("stop", mission.unit, *_companions(mission), check=False)
            manager.systemctl("reset-failed", mission.unit, check=False)

    def _owns_unit(self, mission: Mission) -> bool:
        return self._unit_owners().get(mission.unit) == mission.id

    def collect(self) -> list[Mission]:
        """Forget finished missions (their journal lines stay in the journal). A running
        blueprint's finished agents stay: they are part of its state (done tasks are not rerun)."""
        removed = []
        views = self.views(self.store.all())
        running = {v.mission.id for v in views if not v.status.finished}
        for view in views:
            if view.status.finished and not (_in_pipeline(view.mission) and view.mission.parent in running):
                if view.unit:
                    manager.systemctl("reset-failed", view.mission.unit, check=False)
                if view.mission.type == "blueprint":
                    manager.systemctl("stop", view.mission.unit, check=False)  # its empty slice
                self.store.remove(view.mission.id)
                removed.append(view.mission)
        return removed


def _already_exists(stderr: str) -> bool:
    return any(marker in stderr for marker in _ALREADY_EXISTS)


def _companions(mission: Mission) -> list[str]:
    """The units that end with the mission: its worktree's services, unless another mission uses them."""
    if not mission.spec.get("worktree"):
        return []
    from overmind import isolation

    return isolation.companions(mission)


def _in_pipeline(mission: Mission) -> bool:
    """A blueprint, or one of its agents: their status depends on each other."""
    return mission.type == "blueprint" or "blueprint" in mission.spec


class _NameTaken(OvermindError):
    def __init__(self, name: str) -> None:
        super().__init__(f"name {name} is taken")

