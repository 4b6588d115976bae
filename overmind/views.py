"""A mission as `ps` and `info` show it: its record joined with its unit's live properties."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from overmind.status import Status
from overmind.store import Mission


class MissionView(NamedTuple):
    """A mission as `ps` and `info` show it: the record joined with its unit's live state."""

    mission: Mission
    status: Status
    unit: dict[str, str]
    session_id: str | None = None  # the agent's conversation, once it has one

    @property
    def activity(self) -> str | None:
        """What the agent says it is doing (its wrapper's sd_notify STATUS=), while it runs."""
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
        return self._int("NRestarts") or self.mission.exit_count

    @property
    def os_pid(self) -> int | None:
        return (self._int("MainPID") or None) if not self.status.finished else None

    @property
    def started_at(self) -> float | None:
        stamp = self.unit.get("ExecMainStartTimestamp", "")
        return float(stamp[1:]) if stamp.startswith("@") else None

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
        return _unified_cpu_seconds(self.unit.get("ControlGroup", ""))

    def to_json(self) -> dict[str, Any]:
        m = self.mission
        spec = m.spec
        return {
            "id": m.id, "name": m.name, "type": m.type, "provider": m.provider,
            "status": self.status.state, "reason": self.status.reason or None,
            "exit_code": self.status.exit_code if self.status.finished else None,
            "restarts": self.restarts, "restart_policy": spec.get("restart", {}).get("policy", "never"),
            "uptime_s": _round(self.uptime), "memory_bytes": self.memory, "cpu_s": _round(self.cpu_seconds),
            "os_pid": self.os_pid, "unit": m.unit, "cgroup": self.unit.get("ControlGroup") or None,
            "command": m.command, "cwd": m.cwd, "parent": m.parent,
            "limits": {k: v for k, v in spec.get("limits", {}).items() if v is not None},
            "status_text": self.activity, "session_id": self.session_id,
            "created_at": m.created_at, "started_at": self.started_at,
            "finished_at": m.last_exit.at if m.last_exit and self.status.finished else None,
        }


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _unified_cpu_seconds(cgroup: str) -> float | None:
    """cgroup2 keeps usage_usec in every cgroup's cpu.stat, even where systemd's accounting
    cannot (hybrid hierarchies with cpu and cpuacct mounted apart report CPUUsageNSec unset)."""
    if not cgroup:
        return None
    for root in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        try:
            with open(f"{root}{cgroup}/cpu.stat") as f:
                for line in f:
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
        except OSError:
            continue
    return None
