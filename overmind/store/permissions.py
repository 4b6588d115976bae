"""The store's side of permission requests: what agents asked a person, how it was answered, and
the rules an answer with --always added for its mission.

A request belongs to its mission, not to the process that asked it: it outlives the wrapper and
the agent CLI, so a person can answer it while the mission restarts, and the answer is given when
the agent asks again (`delivered` = 0 until then). Every write is compare-and-set on `state`: an
answer and a timeout never both win. `version` grows with every write, for the change feed.
"""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

from overmind.store import Store

PENDING = "pending"
ANSWERED = ("allowed", "denied")
WITHDRAWN = "withdrawn"  # the agent went on without it: it was never allowed


class PermissionRecord(NamedTuple):
    mission_id: str
    number: int  # 1, 2, ... within its mission: what a person names (`approve build 2`)
    request_id: str  # the agent CLI's id for its latest asking
    tool: str
    input: dict[str, Any]
    subject: str | None  # what the use is about, whole (the command, the path)
    label: str  # 'Bash(npm publish)'
    rules: tuple[str, ...]  # what "always allow" would add
    asked_at: float
    state: str  # pending | allowed | denied | withdrawn
    answered_at: float | None
    answered_by: str | None  # a person's front end (cli, dashboard, tui); or rule, policy, timeout
    message: str | None  # the denial the agent reads
    rule: str | None  # the rules added with --always, comma-separated
    delivered: bool  # False: answered while no agent process was asking; given when it asks again
    version: int

    @property
    def pending(self) -> bool:
        return self.state == PENDING

    def outcome(self) -> str:
        """How it went, in a few words: 'allowed by cli', 'denied by timeout: no one answered...'."""
        if self.state == PENDING:
            return "pending"
        if self.state == WITHDRAWN:
            return "withdrawn: the agent went on without it"
        how = f"{self.state} by {self.answered_by}"
        if self.state == "denied" and self.message:
            how += f": {self.message}"
        return how + (f" (always: {self.rule})" if self.rule else "")

    def to_json(self) -> dict[str, Any]:
        """One request as `permissions --json` lists it and `ps --json` carries it (docs/json.md)."""
        return {"id": self.mission_id, "request": self.number, "request_id": self.request_id, "tool": self.tool,
                "label": self.label, "input": self.input, "state": self.state, "asked_at": self.asked_at,
                "answered_at": self.answered_at, "answered_by": self.answered_by, "message": self.message,
                "rule": self.rule, "always_adds": list(self.rules)}


_COLUMNS = ("mission_id, number, request_id, tool, input, subject, label, rules, asked_at, state, answered_at,"
            " answered_by, message, rule, delivered, version")
_NEXT_VERSION = "(SELECT COALESCE(MAX(version), 0) + 1 FROM permission_requests)"


def _record(row: tuple[Any, ...]) -> PermissionRecord:
    values = list(row)
    values[4] = json.loads(values[4])
    values[7] = tuple(json.loads(values[7]))
    values[14] = bool(values[14])
    return PermissionRecord(*values)


class PermissionStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def _select(self, clause: str, params: tuple[Any, ...]) -> list[PermissionRecord]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM permission_requests {clause}", params)
        return [_record(row) for row in rows]

    # -- asking ----------------------------------------------------------------------------
    def add(self, mission_id: str, request_id: str, tool: str, tool_input: dict[str, Any], subject: str | None,
            label: str, rules: tuple[str, ...], asked_at: float) -> PermissionRecord:
        """A new pending request, numbered after its mission's others."""
        with self.store.transaction() as db:
            db.execute(
                f"INSERT INTO permission_requests ({_COLUMNS}) VALUES (?, (SELECT COALESCE(MAX(number), 0) + 1"
                " FROM permission_requests WHERE mission_id = ?), ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, NULL,"
                f" NULL, 1, {_NEXT_VERSION})",
                (mission_id, mission_id, request_id, tool, json.dumps(tool_input, ensure_ascii=False), subject, label,
                 json.dumps(list(rules)), asked_at))
            row = db.execute(f"SELECT {_COLUMNS} FROM permission_requests WHERE mission_id = ?"
                             " ORDER BY number DESC LIMIT 1", (mission_id,)).fetchone()
        return _record(row)

    def adopt(self, mission_id: str, number: int, request_id: str) -> bool:
        """The agent asks a pending request again (a new process, a new id): it stays the same
        request. False if it was answered meanwhile."""
        cursor = self.db.execute(
            f"UPDATE permission_requests SET request_id = ?, version = {_NEXT_VERSION}"
            " WHERE mission_id = ? AND number = ? AND state = 'pending'", (request_id, mission_id, number))
        return cursor.rowcount == 1

    # -- answering -------------------------------------------------------------------------
    def answer(self, mission_id: str, number: int, state: str, by: str, message: str | None = None,
               rule: str | None = None, delivered: bool = True, request_id: str | None = None) -> bool:
        """Settle a pending request (only as asked by `request_id`, if given); False if it was not
        pending any more, or was asked again meanwhile."""
        assert state in (*ANSWERED, WITHDRAWN)
        asked = " AND request_id = ?" if request_id is not None else ""
        cursor = self.db.execute(
            "UPDATE permission_requests SET state = ?, answered_at = ?, answered_by = ?, message = ?, rule = ?,"
            f" delivered = ?, version = {_NEXT_VERSION} WHERE mission_id = ? AND number = ? AND state = 'pending'"
            + asked, (state, time.time(), by, message, rule, int(delivered), mission_id, number,
                      *([request_id] if request_id is not None else [])))
        return cursor.rowcount == 1

    def mark_delivered(self, mission_id: str, number: int) -> None:
        self.db.execute(f"UPDATE permission_requests SET delivered = 1, version = {_NEXT_VERSION}"
                        " WHERE mission_id = ? AND number = ?", (mission_id, number))

    # -- reading ---------------------------------------------------------------------------
    def get(self, mission_id: str, number: int) -> PermissionRecord | None:
        found = self._select("WHERE mission_id = ? AND number = ?", (mission_id, number))
        return found[0] if found else None

    def by_request_id(self, request_id: str) -> PermissionRecord | None:
        found = self._select("WHERE request_id = ?", (request_id,))
        return found[0] if found else None

    def of_mission(self, mission_id: str) -> list[PermissionRecord]:
        return self._select("WHERE mission_id = ? ORDER BY number", (mission_id,))

    def open(self, mission_id: str) -> list[PermissionRecord]:
        """What a new wrapper takes over: requests still pending, and answers not yet given."""
        return self._select("WHERE mission_id = ? AND (state = 'pending' OR delivered = 0) ORDER BY number",
                            (mission_id,))

    def pending(self) -> list[PermissionRecord]:
        """Every pending request, oldest first (of missions running or not: the caller knows)."""
        return self._select("WHERE state = 'pending' ORDER BY asked_at", ())

    def pending_by_mission(self) -> dict[str, tuple[PermissionRecord, ...]]:
        found: dict[str, tuple[PermissionRecord, ...]] = {}
        for record in self.pending():
            found[record.mission_id] = (*found.get(record.mission_id, ()), record)
        return found

    def since(self, version: int) -> list[PermissionRecord]:
        """The requests written after `version`, in the order they were written."""
        return self._select("WHERE version > ? ORDER BY version", (version,))

    def version(self) -> int:
        return int(self.db.execute("SELECT COALESCE(MAX(version), 0) FROM permission_requests").fetchone()[0])

    # -- rules -----------------------------------------------------------------------------
    def rules(self, mission_id: str) -> list[str]:
        rows = self.db.execute("SELECT rule FROM permission_rules WHERE mission_id = ? ORDER BY added_at",
                               (mission_id,))
        return [row[0] for row in rows]

    def add_rules(self, mission_id: str, rules: tuple[str, ...]) -> None:
        now = time.time()
        self.db.executemany("INSERT OR IGNORE INTO permission_rules (mission_id, rule, added_at) VALUES (?, ?, ?)",
                            [(mission_id, rule, now) for rule in rules])

    def all_rules(self) -> dict[str, tuple[str, ...]]:
        """Every mission's rules, by mission (missions without any are left out)."""
        found: dict[str, tuple[str, ...]] = {}
        for mission_id, rule in self.db.execute("SELECT mission_id, rule FROM permission_rules ORDER BY added_at"):
            found[mission_id] = (*found.get(mission_id, ()), rule)
        return found
