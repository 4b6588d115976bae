"""Permission requests of a running agent, relayed to a person (the wrapper's side).

The agent CLI asks before it uses a tool its permissions do not allow and waits. The relay
answers at once what a rule added with `--always` or the mission's policy decides; anything else
becomes a pending request in the store (which `ps`, `permissions`, the dashboard and the TUI
show) until a person answers it over the control socket (`op: permission`), or its timeout
passes and it is denied with a message the agent reads.

A request outlives the process that asked it. When the agent CLI or this wrapper dies with a
request pending, the next wrapper takes it over: the agent asks again when it resumes (same tool,
same input: the same request, same number), and is given the answer a person left meanwhile, if
any. Nothing is ever allowed that a person, a rule or the policy did not allow.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from overmind import permission_rules as rules
from overmind.agent_options import AgentOptions
from overmind.providers.permission import AsksPermissions, PermissionAsk
from overmind.store import Mission, Store
from overmind.store.permissions import PermissionRecord, PermissionStore
from overmind.wrapper.control import Connection

NEEDS_YOU = "needs you: permission for "
PEOPLE = ("cli", "dashboard", "tui", "api")  # who may answer over the socket


class Refused(Exception):
    """An answer that cannot be given: one line, and a hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def _same_use(record: PermissionRecord, ask: PermissionAsk) -> bool:
    return record.tool == ask.tool and _canonical(record.input) == _canonical(ask.input)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def relay_for(mission: Mission, store: Store, provider: object, options: AgentOptions,
              write: Callable[[bytes], bool], note: Callable[[dict[str, Any], str], None],
              changed: Callable[[], None]) -> PermissionRelay | None:
    """The relay of a mission whose agent CLI asks overmind (None for one that does not: its
    command line does not tell it to ask)."""
    if not isinstance(provider, AsksPermissions) or not provider.asks(options, mission.type):
        return None
    policy = rules.policy(mission.type, options.on_permission, options.permission_mode)
    return PermissionRelay(mission, store, provider, policy, rules.timeout_of(options.permission_timeout), write,
                           note, changed)


class PermissionRelay:
    """One mission's permission requests. `write` hands a line to the agent CLI's stdin (False
    if no process takes it), `note` records an event of overmind's own in the mission's stream,
    `changed` tells the wrapper its status line may have changed."""

    def __init__(self, mission: Mission, store: Store, provider: AsksPermissions, policy: str, timeout: float,
                 write: Callable[[bytes], bool], note: Callable[[dict[str, Any], str], None],
                 changed: Callable[[], None]) -> None:
        self.mission = mission
        self.records = PermissionStore(store)
        self.provider = provider
        self.policy = policy
        self.timeout = timeout
        self.write, self.note, self.changed = write, note, changed
        self.live: dict[int, PermissionAsk] = {}  # asked by the agent process running now
        self.carried: set[int] = set()  # open requests of a process that is gone: asked again, or answered
        self.rules = self.records.rules(mission.id)
        self.timers: dict[int, asyncio.TimerHandle] = {}
        self.labels: dict[int, str] = {}  # what the pending requests are about, oldest first

    def start(self) -> None:
        """Take over what earlier processes left open (call with the event loop running)."""
        for record in self.records.open(self.mission.id):
            self.carried.add(record.number)
            if record.pending:
                self._pending(record)
        if self.labels:
            self.changed()

    # -- the agent asks ----------------------------------------------------------------------
    def ask(self, ask: PermissionAsk) -> None:
        rule = next((r for r in self.rules if rules.matches(r, ask.tool, ask.subject)), None)
        if rule is not None:
            self._settle_now(ask, True, f"allowed by the rule {rule}")
            return
        if self.policy != "ask":
            allow = self.policy == "allow"
            message = "overmind denies this mission's permission requests (--on-permission deny)"
            self._settle_now(ask, allow, f"{'allowed' if allow else 'denied'} (--on-permission {self.policy})",
                             message)
            return
        for number in sorted(self.carried):
            record = self.records.get(self.mission.id, number)
            if record is not None and _same_use(record, ask) and self._take_over(record, ask):
                return
        record = self.records.add(self.mission.id, ask.request_id, ask.tool, ask.input, ask.subject, ask.label,
                                  ask.rules, time.time())
        self.live[record.number] = ask
        self._pending(record)
        self._note(record, "asked", f"asked (overmind approve {self.mission.name} {record.number},"
                                    f" or deny)")
        self.changed()

    def _take_over(self, record: PermissionRecord, ask: PermissionAsk) -> bool:
        """The agent asks again what an earlier process asked: the same request. Answered
        meanwhile: the answer is given now. False if it has nothing to do with this asking."""
        if record.pending and self.records.adopt(self.mission.id, record.number, ask.request_id):
            self.carried.discard(record.number)
            self.live[record.number] = ask
            self._note(record, "asked", "asked again (the agent resumed)")
            self.changed()
            return True
        fresh = self.records.get(self.mission.id, record.number)
        if fresh is None or fresh.state not in ("allowed", "denied") or fresh.delivered:
            return False
        if fresh.answered_by == "timeout":  # no one answered then; a person is asked now
            self.carried.discard(record.number)
            self.records.mark_delivered(self.mission.id, record.number)
            return False
        self.carried.discard(record.number)
        self.rules = self.records.rules(self.mission.id)  # an answer --always left meanwhile added some
        self._give(ask, fresh.state == "allowed", fresh.message or "", ())
        self.records.mark_delivered(self.mission.id, record.number)
        self._note(fresh, fresh.state, f"asked again; answered from the store: {fresh.outcome()}")
        self._forget(record.number)
        return True

    def _settle_now(self, ask: PermissionAsk, allow: bool, how: str, message: str = "") -> None:
        self._give(ask, allow, message, ())
        state = "allowed" if allow else "denied"
        data = {"type": "overmind", "subtype": "permission", "request": None, "tool": ask.tool, "input": ask.input,
                "state": state, "by": "rule" if how.startswith("allowed by the rule") else "policy"}
        self.note(data | {"text": f"[permission] {ask.label}: {how}"}, f"[permission] {ask.label}: {how}")

    def _give(self, ask: PermissionAsk, allow: bool, message: str, added: tuple[str, ...]) -> bool:
        return self.write(self.provider.permission_answer(ask, allow, message, added))

    # -- a person answers --------------------------------------------------------------------
    def answer(self, number: int, allow: bool, by: str, message: str | None = None,
               always: bool = False) -> PermissionRecord:
        """Answer a pending request; Refused (and nothing changed) if it is not pending."""
        name = self.mission.name
        record = self.records.get(self.mission.id, number)
        if record is None:
            raise Refused(f"'{name}' has no permission request {number}", hint=f"overmind permissions {name}")
        if not record.pending:
            raise Refused(f"request {number} of '{name}' is no longer pending ({record.outcome()})")
        added = record.rules if allow and always else ()
        denial = "" if allow else rules.denial_message(by, message)
        ask = self.live.get(number)
        given = ask is not None and self._give(ask, allow, denial, added)
        state = "allowed" if allow else "denied"
        if not self.records.answer(self.mission.id, number, state, by, denial or None,
                                   ", ".join(added) or None, delivered=given):
            raise Refused(f"request {number} of '{name}' was answered a moment ago")
        if added:
            self.records.add_rules(self.mission.id, added)
            self.rules.extend(r for r in added if r not in self.rules)
        settled = self.records.get(self.mission.id, number)
        assert settled is not None
        self.live.pop(number, None)
        if not given:
            self.carried.add(number)  # given when the agent asks again
        self._forget(number)
        self._note(settled, state, settled.outcome() + ("" if given else "; given when the agent asks again"))
        if added:
            self._allow_by_new_rules()
        self.changed()
        return settled

    def _allow_by_new_rules(self) -> None:
        """Other pending requests the new rule covers are allowed with it."""
        for number, ask in list(self.live.items()):
            rule = next((r for r in self.rules if rules.matches(r, ask.tool, ask.subject)), None)
            if rule is not None and self._give(ask, True, "", ()) and \
                    self.records.answer(self.mission.id, number, "allowed", "rule", rule=rule):
                self.live.pop(number)
                self._forget(number)
                settled = self.records.get(self.mission.id, number)
                if settled is not None:
                    self._note(settled, "allowed", f"allowed by the rule {rule}")

    # -- time and ends -----------------------------------------------------------------------
    def _pending(self, record: PermissionRecord) -> None:
        self.labels[record.number] = record.label
        delay = max(record.asked_at + self.timeout - time.time(), 0.0)
        self.timers[record.number] = asyncio.get_running_loop().call_later(delay, self._time_out, record.number)

    def _time_out(self, number: int) -> None:
        self.timers.pop(number, None)
        ask = self.live.pop(number, None)
        message = rules.timeout_message(self.timeout)
        given = ask is not None and self._give(ask, False, message, ())
        if self.records.answer(self.mission.id, number, "denied", "timeout", message, delivered=given):
            settled = self.records.get(self.mission.id, number)
            if settled is not None:
                self._note(settled, "denied", f"denied: {message}")
            if not given:
                self.carried.add(number)  # told when the agent asks again
        self._forget(number)
        self.changed()

    def child_gone(self) -> None:
        """The agent process ended: what it asked stays open for the next one."""
        self.carried.update(self.live)
        self.live.clear()

    def turn_ended(self) -> None:
        """The agent finished a turn: whatever it asked and did not ask again, it went on without."""
        withdrawn = [*self.live, *self.carried]
        self.live.clear()
        self.carried.clear()
        for number in withdrawn:
            if self.records.answer(self.mission.id, number, "withdrawn", "agent"):
                record = self.records.get(self.mission.id, number)
                if record is not None:
                    self._note(record, "withdrawn", record.outcome())
            else:
                self.records.mark_delivered(self.mission.id, number)  # an answer no one will ask for now
            self._forget(number)
        if withdrawn:
            self.changed()

    def close(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()

    def _forget(self, number: int) -> None:
        timer = self.timers.pop(number, None)
        if timer is not None:
            timer.cancel()
        self.labels.pop(number, None)

    # -- what the wrapper shows --------------------------------------------------------------
    def status(self) -> str | None:
        """`needs you: permission for Bash(npm publish)` while a request waits (None otherwise)."""
        if not self.labels:
            return None
        first = self.labels[min(self.labels)]
        more = len(self.labels) - 1
        return NEEDS_YOU + first + (f" and {more} more" if more else "")

    def _note(self, record: PermissionRecord, state: str, how: str) -> None:
        text = f"[permission] {record.number}. {record.label}: {how}"
        data = {"type": "overmind", "subtype": "permission", "request": record.number, "tool": record.tool,
                "input": record.input, "state": state, "by": record.answered_by, "message": record.message,
                "rule": record.rule, "text": text}
        self.note(data, text)

    # -- the control socket ------------------------------------------------------------------
    async def op_permission(self, request: dict[str, Any], reader: asyncio.StreamReader, conn: Connection) -> None:
        """{"op": "permission", "request": N, "allow": bool, "by": "cli", "message": ..., "always": bool}"""
        number, by = request.get("request"), request.get("by")
        if not isinstance(number, int) or isinstance(number, bool) or by not in PEOPLE:
            await conn.fail("invalid permission answer")
            return
        message = request.get("message")
        try:
            settled = self.answer(number, bool(request.get("allow")), by, message if isinstance(message, str) else None,
                                  bool(request.get("always")))
        except Refused as refused:
            await conn.fail(refused.message, refused.hint)
            return
        await conn.reply(number=settled.number, state=settled.state, delivered=settled.delivered)
