"""What the change feed knows of missions and blueprints, and what is new about them.

Each mission followed has its state machine (`overmind.control.states`), its unit's properties as
last announced, and what the feed last told of it. Records come from the store: all of them once,
then only those whose marks changed (`Store.fingerprints`, no spec read) or whose unit spoke.
Views are built for what is told only: a transition (with the unit's properties as they were at
that announcement) or news within a state (an agent's activity, a session, a mark).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from overmind.control.missions import Record, View, records, views
from overmind.control.states import ENDS, Machine, Marks, Runs, Transition, Unit, initial
from overmind.store import Blueprint, Mission, RunHistory, Store

if TYPE_CHECKING:
    from overmind.systemd.signals import Announcement

_GONE = ("inactive", "failed")
_LIVE_ONLY = ("ControlGroup", "MemoryCurrent", "CPUUsageNSec")  # what a unit that ended no longer has
_CREATED = Transition("created", None, 0)
# A new mission's unit as it is when the feed tells the mission's creation before the unit spoke:
# its start queued (its run may have begun already: the feed hears the unit in a later batch).
_QUEUED = {"LoadState": "loaded", "ActiveState": "inactive", "SubState": "dead", "JobType": "start"}


class Followed:
    """One mission as the feed follows it."""

    __slots__ = ("machine", "news", "props", "record")

    def __init__(self, record: Mission, machine: Machine, props: dict[str, str] | None = None) -> None:
        self.record = record
        self.machine = machine
        self.props = props or {}  # its unit's properties, as last announced ({}: no unit loaded)
        self.news: tuple[Any, ...] | None = None  # what was last told of it


class Told(NamedTuple):
    """What one look found new: missions' (followed, transition or None for news, view), other
    changes as (kind, event, id, name, data), and how many views it built."""

    missions: list[tuple[Followed, Transition | None, View]]
    others: list[tuple[str, str, str, str, dict[str, Any] | None]]
    views_built: int


def news_of(view: View) -> tuple[Any, ...]:
    """What is news when it changes; uptime, CPU and memory tick all the time and are read on demand."""
    data = view.to_json()
    extra = tuple((a["id"], a["status"]) for a in data.get("agents", []))
    keys = ("status", "reason", "exit_code", "restarts", "status_text", "os_pid", "session_id", "permissions")
    return (*(data.get(key) for key in keys), extra)


def kind_of(record: Record) -> str:
    return "blueprint" if isinstance(record, Blueprint) else "mission"


class MissionBook:
    """Missions and blueprints as the feed knows them; `only` restricts what it tells to those ids."""

    def __init__(self, only: set[str] | None) -> None:
        self.only = only
        self.records: dict[str, Record] = {}  # every mission and blueprint
        self.prints: dict[str, tuple[Any, ...]] = {}
        self.owners: dict[str, str] = {}  # unit -> the newest mission with it (only it owns the unit)
        self.missions: dict[str, Followed] = {}  # the missions followed
        self.blueprints: dict[str, tuple[tuple[Any, ...], bool]] = {}  # what was last told: news, finished
        self.views: dict[str, View] = {}  # the latest view of what is told, by id

    # -- scope -----------------------------------------------------------------------------
    def told(self, ident: str) -> bool:
        return self.only is None or ident in self.only

    def _followed(self, record: Record) -> bool:
        """Told, or read for what is told: a blueprint's agents, and an agent's fellow agents."""
        if self.only is None or record.id in self.only:
            return True
        agents_of = {r.parent for i in self.only
                     if isinstance(r := self.records.get(i), Mission) and r.parent and "blueprint" in r.spec}
        return record.parent is not None and (record.parent in self.only or record.parent in agents_of)

    def look_ahead(self, store: Store) -> tuple[set[str], set[str]]:
        """Before the manager is asked: the units of the missions followed, and those of missions
        that systemd restarts (see restarts)."""
        self.records = {r.id: r for r in records(store)}
        followed = [r for r in self.records.values() if isinstance(r, Mission) and self._followed(r)]
        return {r.unit for r in followed}, {r.unit for r in followed if _restarted(r)}

    def restarts(self, unit: str, result: str) -> bool:
        """Whether systemd may restart the mission behind a unit by itself after a run with this
        Result (see Feed._settle_restarts)."""
        owner = self.missions.get(self.owners.get(unit, ""))
        if owner is None:
            return False
        policy = owner.record.spec.get("restart", {}).get("policy", "never")
        return policy == "always" or (policy == "on-failure" and result not in ("", "success"))

    def knows(self, unit: str) -> bool:
        """Whether a mission known to the feed has this unit."""
        return unit in self.owners

    def marked(self, unit: str) -> bool:
        """Whether the mission behind a unit was asked to stop or was killed."""
        owner = self.missions.get(self.owners.get(unit, ""))
        return owner is not None and (owner.record.stop_requested_at is not None or owner.record.killed_at is not None)

    def states(self) -> dict[str, tuple[str, int]]:
        return {i: (f.machine.state, f.machine.seq) for i, f in self.missions.items() if self.told(i)}

    # -- the first look ------------------------------------------------------------------------
    def start(self, store: Store, units: dict[str, dict[str, str]], listed_at: float) -> int:
        """Read every record, and each mission's state from `units` (its loaded unit's properties,
        as listed at `listed_at`); returns how many views were built."""
        self.prints = store.fingerprints()  # before the records: one made in between is news next time
        self.records = {r.id: r for r in records(store)}
        self._own()
        chosen = [r for r in self.records.values() if self._followed(r)]
        built = views(chosen, store, units)
        # The run log after the views: it knows at least the runs they knew, with when each ended, so a
        # run that ended while they were read (after the listing) is a run still to be told, not a past one.
        history = store.run_history(r.id for r in chosen if isinstance(r, Mission))
        for view in built:
            record = self.records[view.id]
            if isinstance(record, Mission):
                props = units.get(record.unit, {}) if self.owners.get(record.unit) == record.id else {}
                machine = initial(Unit.of(props, listed_at) if props else None, listed_at, _runs(history[record.id]),
                                  view.status.state, view.status.finished)
                followed = self.missions[record.id] = Followed(record, machine, dict(props))
                followed.news = news_of(view)
            else:
                self.blueprints[view.id] = news_of(view), view.status.finished
            if self.told(view.id):
                self.views[view.id] = view
        return len(chosen)

    def _own(self) -> None:
        self.owners = {r.unit: r.id for r in sorted(self.records.values(), key=lambda r: r.created_at)
                       if isinstance(r, Mission)}

    # -- later looks -----------------------------------------------------------------------------
    def advance(self, store: Store, announced: dict[str, list[Announcement]], store_changed: bool,
                asked: Iterable[str] = ()) -> Told:
        """What the announcements (and the store, if written) make new; `asked`: missions whose
        permission requests were written (news within their state)."""
        told = Told([], [], 0)
        steps: dict[str, list[tuple[Transition, dict[str, str]]]] = {}
        details: set[str] = set(asked)
        if store_changed or self._strangers(announced):
            self._refresh(store, told, steps, details)
        spoke = {self.owners[u] for u in announced if self.owners.get(u) in self.missions}
        for record in store.missions(spoke) if spoke else []:
            self.records[record.id] = self.missions[record.id].record = record
        history = store.run_history(spoke) if spoke else {}
        for unit, said in announced.items():
            followed = self.missions.get(self.owners.get(unit, ""))
            if followed is not None:
                self._step(followed, unit, said, _runs(history.get(followed.record.id, ([], []))), steps, details)
        built = self._tell_steps(store, steps, told)
        built += self._tell_news(store, details - set(steps), told)
        built += self._tell_blueprints(store, steps, details, told)
        return told._replace(views_built=built)

    def _strangers(self, announced: dict[str, list[Announcement]]) -> bool:
        """Whether a unit spoke that no known mission owns now: a new mission, or a new one that
        took a finished one's unit name."""
        for unit, said in announced.items():
            if unit not in self.owners:
                return True
            owner = self.missions.get(self.owners[unit])  # None: a mission not followed
            if owner is not None and owner.machine.ended and \
                    not all(owner.machine.knows(a.props.get("InvocationID", "")) for a in said):
                return True
        return False

    def _refresh(self, store: Store, told: Told, steps: dict[str, list[tuple[Transition, dict[str, str]]]],
                 details: set[str]) -> None:
        """Records that appeared, changed or went since the last look."""
        prints = store.fingerprints()
        changed = {i for i, p in prints.items() if self.prints.get(i) != p}
        gone = set(self.prints) - set(prints)
        self.prints = prints
        fresh: list[Record] = list(store.missions(changed)) if changed else []
        if changed - {r.id for r in fresh}:  # blueprints changed too
            fresh += [b for b in store.blueprints() if b.id in changed]
        new = [r for r in fresh if r.id not in self.records]
        self.records.update({r.id: r for r in fresh})
        for ident in gone:
            record = self.records.pop(ident, None)
            self.missions.pop(ident, None)
            self.blueprints.pop(ident, None)
            if record is not None and self.views.pop(ident, None) is not None:
                told.others.append((kind_of(record), "removed", ident, record.name, None))
        self._own()
        for record in fresh:
            if not isinstance(record, Mission) or not self._followed(record):
                if isinstance(record, Blueprint) and self.told(record.id):
                    details.add(record.id)
                continue
            if record in new:
                self.missions[record.id] = Followed(record, Machine())
                steps[record.id] = [(_CREATED, {})]
            elif record.id in self.missions:
                self.missions[record.id].record = record
                details.add(record.id)

    def _step(self, followed: Followed, unit: str, said: list[Announcement], runs: Runs,
              steps: dict[str, list[tuple[Transition, dict[str, str]]]], details: set[str]) -> None:
        marks = _marks(followed.record)
        for announcement in said:
            before = followed.props
            followed.props = _merged(before, announcement.props, unit)
            transition = followed.machine.step(Unit.of(followed.props, announcement.at), marks, runs)
            if transition is not None:
                steps.setdefault(followed.record.id, []).append((transition, followed.props))
            elif before.get("StatusText") != followed.props.get("StatusText"):
                details.add(followed.record.id)  # an agent says what it does

    def _units(self, now: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, str]]:
        """The loaded units of the missions followed, for views (`now`: some as at an announcement)."""
        units = {f.record.unit: f.props for i, f in self.missions.items()
                 if f.props.get("LoadState") == "loaded" and self.owners.get(f.record.unit) == i}
        return units | (now or {})

    def _tell_steps(self, store: Store, steps: dict[str, list[tuple[Transition, dict[str, str]]]], told: Told) -> int:
        """A view for each transition, with the unit as it was at its announcement: in rounds, the
        first transition of every mission, then the second..."""
        built = 0
        for round_ in range(max((len(s) for s in steps.values()), default=0)):
            now = {i: s[round_] for i, s in steps.items() if len(s) > round_ and self.told(i)}
            units = self._units({self.missions[i].record.unit: props for i, (_, props) in now.items() if props})
            for i, (transition, props) in now.items():
                if not props:  # told before its unit spoke: as it was then
                    unit = self.missions[i].record.unit
                    if transition.state == "created":
                        units[unit] = dict(_QUEUED)
                    else:
                        units.pop(unit, None)
            for view in views([self.missions[i].record for i in now], store, units) if now else []:
                followed, (transition, _) = self.missions[view.id], now[view.id]
                followed.news = news_of(view)
                self.views[view.id] = view
                told.missions.append((followed, transition, view))
            built += len(now)
        return built

    def _tell_news(self, store: Store, details: set[str], told: Told) -> int:
        """News within a state (an agent's activity, a session, a mark), and the end of a mission
        that no unit will announce (killed or stopped before its unit started, a skipped agent)."""
        chosen = [self.missions[i].record for i in details if i in self.missions and self.told(i)]
        for view in views(chosen, store, self._units()) if chosen else []:
            followed = self.missions[view.id]
            machine, news = followed.machine, news_of(view)
            transition = None
            if view.status.finished and view.status.state != "unknown" and not machine.ended \
                    and _unit_cannot_tell(followed):
                transition = machine.end_without_unit(view.status.state)
            elif news == followed.news or view.status.finished != machine.ended:
                continue  # nothing new, or a view that runs ahead of the unit (a kill marked, not yet done)
            followed.news = news
            self.views[view.id] = view
            told.missions.append((followed, transition, view))
        return len(chosen)

    def _tell_blueprints(self, store: Store, steps: dict[str, Any], details: set[str], told: Told) -> int:
        """A blueprint is news when one of its agents is, or its record changed."""
        touched = {r.parent for i in (*steps, *details) if isinstance(r := self.records.get(i), Mission)
                   and r.parent is not None} | details
        chosen = [r for i in touched if isinstance(r := self.records.get(i), Blueprint) and self.told(i)]
        for view in views(chosen, store, self._units()) if chosen else []:
            news, finished = news_of(view), view.status.finished
            old = self.blueprints.get(view.id)
            self.blueprints[view.id] = news, finished
            self.views[view.id] = view
            if old is None:
                event = "finished" if finished else "started"
            elif finished != old[1]:
                event = "finished" if finished else "started"  # a finished blueprint applied again
            elif news != old[0]:
                event = "changed"
            else:
                continue
            told.others.append(("blueprint", event, view.id, view.name, view.to_json()))
        return len(chosen)


def _unit_cannot_tell(followed: Followed) -> bool:
    """Whether the mission's end may be told without its unit: it has none loaded (a skipped agent,
    a unit gone with its manager), or was stopped or killed before its unit ever started."""
    if not followed.props:
        return True
    marked = followed.record.killed_at is not None or followed.record.stop_requested_at is not None
    return marked and not followed.machine.begun and followed.props.get("ActiveState") in _GONE


def _restarted(record: Mission) -> bool:
    return bool(record.spec.get("restart", {}).get("policy", "never") != "never")


def _runs(history: RunHistory) -> Runs:
    return Runs(tuple(history[0]), tuple(history[1]))


def _marks(record: Mission) -> Marks:
    return Marks(record.killed_at, record.stop_requested_at)


def _merged(props: dict[str, str], announced: dict[str, str], unit: str) -> dict[str, str]:
    """A unit's properties after an announcement: its cgroup from its main process (the manager
    does not announce it), none of a running unit's readings once it has ended."""
    merged = props | announced
    merged["LoadState"], merged["Id"] = "loaded", unit
    merged.pop("JobType", None)  # as listed when the feed started: no longer known
    if merged.get("ActiveState") in _GONE:
        for key in _LIVE_ONLY:
            merged.pop(key, None)
    elif merged.get("MainPID", "0") != props.get("MainPID", "0") or "ControlGroup" not in merged:
        cgroup = _cgroup_of(merged.get("MainPID", "0"))
        if cgroup:
            merged["ControlGroup"] = cgroup
    return merged


def _cgroup_of(pid: str) -> str | None:
    if pid in ("", "0"):
        return None
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return next((line.strip()[3:] for line in f if line.startswith("0::")), None)
    except OSError:
        return None


__all__ = ["ENDS", "Followed", "MissionBook", "Told", "kind_of", "news_of"]
