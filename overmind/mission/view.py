"""A mission as every front end shows it: its record joined with its unit's live properties."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from overmind.mission.status import Status
from overmind.store import Mission
from overmind.store.permissions import PermissionRecord

NEEDS_PERMISSION = "needs you: permission for "  # what the wrapper tells systemd (STATUS=) meanwhile

NO_ENVIRONMENT: dict[str, Any] = {"worktree": None, "branch": None, "ports": {}, "services": []}
# what a view that asks no permissions says of them (a blueprint's agents say it in their own rows)
NO_PERMISSIONS: dict[str, Any] = {"permissions": [], "on_permission": None, "permission_timeout_s": None,
                                  "permission_rules": []}


class MissionView(NamedTuple):
    """A mission as `ps`, `info`, the dashboard and the TUI show it. `unit` holds systemd's
    properties of its unit by systemd's names (empty once the unit is gone)."""

    mission: Mission
    status: Status
    unit: dict[str, str]
    session_id: str | None = None  # the agent's conversation, once it has one
    # where it works, for a mission with a worktree: worktree, branch, ports, services
    environment: dict[str, Any] | None = None
    asking: tuple[PermissionRecord, ...] = ()  # its pending permission requests, oldest first
    rules: tuple[str, ...] = ()  # what `approve --always` allowed it for good: 'Bash(npm test *)'

    @property
    def permissions(self) -> tuple[PermissionRecord, ...]:
        """The permission requests waiting for a person (none once it has ended: no one asks then)."""
        return self.asking if not self.status.finished else ()

    @property
    def kind(self) -> str:
        return "mission"

    # -- what every view (missions and blueprints alike) tells ---------------------------
    @property
    def id(self) -> str:
        return self.mission.id

    @property
    def name(self) -> str:
        return self.mission.name

    @property
    def type(self) -> str:
        return self.mission.type

    @property
    def parent(self) -> str | None:
        return self.mission.parent

    @property
    def created_at(self) -> float:
        return self.mission.created_at

    @property
    def activity(self) -> str | None:
        """What the agent says it is doing (its wrapper's sd_notify STATUS=), while it runs; a
        permission request waiting for a person says so, from the store, even while it restarts."""
        if self.permissions:
            more = len(self.permissions) - 1
            return NEEDS_PERMISSION + self.permissions[0].label + (f" and {more} more" if more else "")
        return (self.unit.get("StatusText") or None) if not self.status.finished else None

    @property
    def command_line(self) -> str:
        """The command, or for agent CLIs the provider and its prompt."""
        m = self.mission
        return m.command if m.provider == "raw" else f"{m.provider}: {m.command or '(no prompt)'}"

    def _int(self, key: str) -> int | None:
        value = self.unit.get(key, "")
        return int(value) if value.isdigit() and value != str(2**64 - 1) else None

    @property
    def restarts(self) -> int:
        # Once finished, count the runs: systemd's NRestarts also counts the one restart the
        # start limit refused.
        if self.status.finished:
            return max(self.mission.exit_count - 1, 0)
        # The runs that ended before this one started (while a run is ending, its own record may
        # already be written), or systemd's count if higher (cgroupfs readings have none).
        last, mono = self.mission.last_exit, self._int("ExecMainStartTimestampMonotonic")
        current_started = time.time() - (time.monotonic() - mono / 1e6) if mono else None
        if self.mission.run_started_at is not None:  # a blueprint task's retry starts inside its unit's run
            current_started = max(current_started or 0.0, self.mission.run_started_at)
        ended_now = last is not None and current_started is not None and last.at > current_started
        return max(self._int("NRestarts") or 0, self.mission.exit_count - ended_now)

    @property
    def persisted(self) -> bool:
        return self.mission.persisted

    @property
    def boots(self) -> int:
        """How many boots started a persisted mission again (its run hook counts them)."""
        if not self.mission.persisted:
            return 0
        from overmind.store import state_dir

        try:
            return int((state_dir() / "runs" / f"{self.mission.id}.boots").read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    @property
    def os_pid(self) -> int | None:
        if not self.status.finished:
            return self._int("MainPID") or None
        return self.mission.last_exit.pid if self.mission.last_exit else None

    @property
    def started_at(self) -> float | None:
        """When the current run started, or for a finished mission its last run."""
        stamp = self.unit.get("ExecMainStartTimestamp", "")
        if stamp.startswith("@") and not self.status.finished:
            return float(stamp[1:])
        last = self.mission.last_exit
        if last is not None and last.started_at is not None:
            return last.started_at
        return float(stamp[1:]) if stamp.startswith("@") else None

    @property
    def finished_at(self) -> float | None:
        last = self.mission.last_exit
        return last.at if last is not None and self.status.finished else None

    @property
    def uptime(self) -> float | None:
        mono = self._int("ExecMainStartTimestampMonotonic")
        if self.status.state not in ("running", "attached", "stopping") or not mono:
            return None
        return max(0.0, time.monotonic() - mono / 1e6)

    @property
    def memory(self) -> int | None:
        return self._int("MemoryCurrent") if not self.status.finished else None

    @property
    def cpu_seconds(self) -> float | None:
        if self.status.finished:
            return None
        nsec = self._int("CPUUsageNSec")
        if nsec is not None:
            return nsec / 1e9
        from overmind.systemd.accounting import cpu_usage_usec

        usec = cpu_usage_usec(self.unit.get("ControlGroup", "")) if self.unit.get("ControlGroup") else None
        return usec / 1e6 if usec is not None else None

    def to_json(self) -> dict[str, Any]:
        """The shape of `ps --json`, `info --json` and the dashboard's /api/v1/missions (docs/json.md)."""
        m = self.mission
        spec = m.spec
        return {
            "id": m.id, "name": m.name, "type": m.type, "provider": m.provider,
            "status": self.status.state, "reason": self.status.reason or None,
            "exit_code": self.status.exit_code if self.status.finished else None,
            "restarts": self.restarts, "restart_policy": spec.get("restart", {}).get("policy", "never"),
            "uptime_s": rounded(self.uptime), "memory_bytes": self.memory, "cpu_s": rounded(self.cpu_seconds),
            "os_pid": self.os_pid, "unit": m.unit, "cgroup": self.unit.get("ControlGroup") or None,
            "command": m.command, "cwd": m.cwd, "parent": m.parent,
            "limits": {k: v for k, v in spec.get("limits", {}).items() if v is not None},
            "status_text": self.activity, "session_id": self.session_id,
            "permissions": [record.to_json() for record in self.permissions],
            **self._permission_policy(), "permission_rules": list(self.rules),
            "created_at": m.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
            "persist": self.mission.persisted, "on_boot": spec.get("on_boot", "run"), "boots": self.boots,
            **(self.environment or NO_ENVIRONMENT),
        }

    def _permission_policy(self) -> dict[str, Any]:
        """What becomes of a tool use its agent must ask for (None where its CLI cannot ask)."""
        from overmind import permission_rules

        m = self.mission
        agent = m.spec.get("agent") or {}
        policy = permission_rules.of_mission(m.provider, m.type, agent)
        timeout = permission_rules.timeout_of(agent.get("permission_timeout")) if policy == "ask" else None
        return {"on_permission": policy, "permission_timeout_s": timeout}


def rounded(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None
