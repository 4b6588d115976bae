"""Permission requests of agent missions: what waits for a person, and a person's answers.

The CLI (`permissions`, `approve`, `deny`), the dashboard and the TUI all call these. An answer
goes to the mission's wrapper, which hands it to the waiting agent at once; while the wrapper is
not there (the mission restarts) it is kept in the store and given when the agent asks again.
Nothing changes when the request is not pending any more, or is not that mission's.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from overmind import permission_rules
from overmind.control.missions import resolve_mission, view, views
from overmind.errors import NotFound, OvermindError
from overmind.store import Mission, Store, shared
from overmind.store.permissions import PermissionRecord, PermissionStore
from overmind.wrapper.channel import Channel, NotListening

MESSAGE_MAX = 4000  # what a person may tell the agent with a denial
PEOPLE = ("cli", "dashboard", "tui", "api")


class PermissionRequest(NamedTuple):
    """One request with its mission's name, and when it will be denied if no one answers."""

    record: PermissionRecord
    name: str
    expires_at: float | None

    def to_json(self) -> dict[str, Any]:
        return self.record.to_json() | {"name": self.name, "expires_at": self.expires_at}

    @property
    def event(self) -> str:
        """What the change feed calls its latest write: asked, allowed, denied or withdrawn."""
        return "asked" if self.record.pending else self.record.state


def timeout(mission: Mission) -> float:
    return permission_rules.timeout_of((mission.spec.get("agent") or {}).get("permission_timeout"))


def _request(record: PermissionRecord, mission: Mission) -> PermissionRequest:
    expires = record.asked_at + timeout(mission) if record.pending else None
    return PermissionRequest(record, mission.name, expires)


# -- reading ------------------------------------------------------------------------------------
def pending(ref: str | None = None, store: Store | None = None) -> list[PermissionRequest]:
    """The requests waiting for a person, oldest first: of one mission, or of every mission
    that has not ended."""
    store = store or shared()
    records = PermissionStore(store).pending()
    if ref is not None:
        chosen = resolve_mission(ref, store)
        records = [r for r in records if r.mission_id == chosen.id]
    if not records:
        return []
    found = store.missions(sorted({r.mission_id for r in records}))
    running = {v.id: record for v, record in zip(views(found, store), found, strict=True) if not v.status.finished}
    return [_request(r, running[r.mission_id]) for r in records if r.mission_id in running]


def history(ref: str, store: Store | None = None) -> list[PermissionRequest]:
    """Every request a mission's agent asked a person, answered or not, in order."""
    store = store or shared()
    mission = resolve_mission(ref, store)
    return [_request(r, mission) for r in PermissionStore(store).of_mission(mission.id)]


def version(store: Store | None = None) -> int:
    """Where the requests' writes stand now (the change feed's cursor)."""
    return PermissionStore(store or shared()).version()


def since(after: int, store: Store | None = None) -> tuple[list[PermissionRequest], int]:
    """The requests written after `after` (each as it is now), and where the writes stand."""
    store = store or shared()
    records = PermissionStore(store)
    found = records.since(after)
    missions = {m.id: m for m in store.missions(sorted({r.mission_id for r in found}))} if found else {}
    latest = max((r.version for r in found), default=after)
    return [_request(r, missions[r.mission_id]) for r in found if r.mission_id in missions], latest


def rules(ref: str, store: Store | None = None) -> list[str]:
    """What `approve --always` added for a mission: its agent uses these without asking."""
    store = store or shared()
    return PermissionStore(store).rules(resolve_mission(ref, store).id)


# -- answering ----------------------------------------------------------------------------------
def approve(ref: str, request: str | None = None, always: bool = False, by: str = "cli",
            store: Store | None = None) -> PermissionRequest:
    """Allow a pending request (the only one, if `request` is None); with `always`, add the rule
    it proposes for the rest of the mission's life."""
    return answer(ref, request, True, by, always=always, store=store)


def deny(ref: str, request: str | None = None, message: str | None = None, by: str = "cli",
         store: Store | None = None) -> PermissionRequest:
    """Deny a pending request; the agent reads `message` (or a default) as the tool's result."""
    return answer(ref, request, False, by, message=message, store=store)


def answer(ref: str, request: str | None, allow: bool, by: str, message: str | None = None, always: bool = False,
           store: Store | None = None) -> PermissionRequest:
    if by not in PEOPLE:
        raise OvermindError(f"unknown front end {by!r}")
    if message is not None and ("\0" in message or len(message) > MESSAGE_MAX):
        raise OvermindError(f"invalid message: at most {MESSAGE_MAX} characters, no NUL byte")
    store = store or shared()
    mission = resolve_mission(ref, store)
    for _ in range(3):  # the wrapper may come or go in between: try again with what it is now
        record = chosen(mission, request, store)
        settled = _through_wrapper(mission, record, allow, by, message, always)
        if settled is None:  # no wrapper listens: the mission restarts, or it has ended
            current = view(mission, store)
            if current.status.finished:
                raise OvermindError(f"mission '{mission.name}' has ended ({current.status.label}); its request"
                                    f" {record.number} can no longer be answered",
                                    hint=f"overmind logs {mission.name}")
            settled = _through_store(mission, record, allow, by, message, always, store)
        if settled is not None:
            return _request(settled, mission)
    raise OvermindError(f"request {request} of '{mission.name}' could not be answered: its agent keeps restarting",
                        hint="try again in a moment")


def chosen(mission: Mission, request: str | None, store: Store) -> PermissionRecord:
    """The pending request a person named (by number, or by the agent's request id), or the only
    one; one line saying why not otherwise."""
    records = PermissionStore(store)
    name = mission.name
    if request is None:
        waiting = [r for r in records.of_mission(mission.id) if r.pending]
        if len(waiting) == 1:
            return waiting[0]
        if not waiting:
            raise NotFound(f"'{name}' has no pending permission request", hint=f"overmind permissions {name}")
        numbers = ", ".join(str(r.number) for r in waiting)
        raise OvermindError(f"'{name}' has {len(waiting)} pending permission requests ({numbers}): name one",
                            hint=f"overmind permissions {name}")
    request = request.strip()
    if request.isdigit():
        record = records.get(mission.id, int(request))
        if record is None:
            raise NotFound(f"'{name}' has no permission request {request}", hint=f"overmind permissions {name}")
    else:
        record = records.by_request_id(request)
        if record is None:
            raise NotFound(f"no permission request {request!r}", hint=f"overmind permissions {name}")
        if record.mission_id != mission.id:
            owner = store.get(record.mission_id)
            raise OvermindError(f"request {request!r} is not one of '{name}''s: it belongs to"
                                f" '{owner.name if owner else record.mission_id}'")
    if not record.pending:
        raise OvermindError(f"request {record.number} of '{name}' is no longer pending ({record.outcome()})")
    return record


def _through_wrapper(mission: Mission, record: PermissionRecord, allow: bool, by: str, message: str | None,
                     always: bool) -> PermissionRecord | None:
    """The running wrapper answers (it alone writes to the agent); None if none is listening."""
    try:
        channel = Channel(mission.id, mission.name, timeout=10)
    except NotListening:
        return None
    with channel:
        channel.write({"op": "permission", "request": record.number, "allow": allow, "by": by, "message": message,
                       "always": always})
        channel.reply()
    return PermissionStore(shared()).get(mission.id, record.number)


def _through_store(mission: Mission, record: PermissionRecord, allow: bool, by: str, message: str | None,
                   always: bool, store: Store) -> PermissionRecord | None:
    """No wrapper is listening (the mission restarts): the answer waits in the store for the
    agent to ask again. None if a wrapper took the request over meanwhile."""
    records = PermissionStore(store)
    added = record.rules if allow and always else ()
    denial = None if allow else permission_rules.denial_message(by, message)
    if not records.answer(mission.id, record.number, "allowed" if allow else "denied", by, denial,
                          ", ".join(added) or None, delivered=False, request_id=record.request_id):
        return None
    if added:
        records.add_rules(mission.id, added)
    return records.get(mission.id, record.number)
