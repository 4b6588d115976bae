"""A mission's status, derived from its unit's live properties and its recorded exits."""

from __future__ import annotations

import time
from typing import NamedTuple

from overmind.store import Exit, Mission
from overmind.systemd.manager import ACTIVE_STATES

# Blueprint agents may also be `waiting` for their dependencies or end `skipped` (never run);
# a blueprint ends `done` or `failed`.
CREATION_GRACE = 5.0  # seconds a new mission counts as starting while its unit is created and started
FINISHED_STATES = ("stopped", "crashed", "killed", "lost", "interrupted", "unknown", "skipped", "done", "failed")
LOST = "lost"  # the service result the run hook records when the host's manager died under a run


class Status(NamedTuple):
    state: str  # running | attached | restarting | stopping | stopped | crashed | killed | lost | interrupted | unknown
    reason: str = ""  # why it ended, for crashed/killed missions
    exit_code: int | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def label(self) -> str:
        """`crashed (memory limit)`: how `ps`, the dashboard and the TUI say it."""
        return words(self.state, self.reason)

    @property
    def summary(self) -> str:
        """`crashed (memory limit), exit code 137`: how `info` and `wait` say it, once it has ended."""
        return words(self.state, self.reason, self.exit_code if self.finished else None)


def words(state: str, reason: str | None = None, exit_code: int | None = None) -> str:
    """The one wording of a status, for every front end (and for a status read back from JSON)."""
    said = f"{state} {reason}" if reason in ("at reboot", "by reboot") else f"{state} ({reason})" if reason else state
    return said if exit_code is None else f"{said}, exit code {exit_code}"


def exit_reason(exit: Exit) -> str:
    if exit.oom:
        return "memory limit"
    if exit.service_result == "watchdog":
        return "no activity"
    if exit.service_result == "timeout":
        return "timeout"
    if exit.service_result == "start-limit-hit":
        return "crash loop"
    if exit.exit_code == "exited":
        return f"exit {exit.exit_status}"
    return f"SIG{exit.exit_status}"


def grace_period(mission: Mission) -> str:
    """`killed after the 10s grace period`: a requested stop that SIGTERM did not end in time
    (systemd says `timeout`, as for a runtime limit; the run hook words it alike)."""
    return f"killed after the {float(mission.spec.get('stop_timeout', 10.0)):g}s grace period"


def _from_exit(mission: Mission, exit: Exit, stop_requested: bool) -> Status:
    if exit.service_result == LOST:
        return Status("lost", "the host manager died", exit.code)
    if exit.service_result == "success" or (stop_requested and not exit.oom):
        late = stop_requested and exit.service_result == "timeout"
        return Status("stopped", grace_period(mission) if late else "", exit.code)
    return Status("crashed", exit_reason(exit), exit.code)


def derive(mission: Mission, unit: dict[str, str] | None) -> Status:
    """systemd decides while the unit is loaded; the exit record speaks once it is collected."""
    if mission.killed_at is not None:
        return Status("killed", exit_code=137)
    stop_requested = mission.stop_requested_at is not None
    loaded = unit is not None and unit.get("LoadState") == "loaded"
    if loaded and unit is not None:
        active, sub = unit.get("ActiveState", ""), unit.get("SubState", "")
        if sub == "auto-restart" or (sub == "start-pre" and mission.exit_count):
            return Status("restarting")
        if active == "deactivating":
            return Status("stopping")
        if active in ACTIVE_STATES:
            # A session lent to a terminal (`overmind attach`) says so through its wrapper.
            attached = mission.type == "session" and unit.get("StatusText", "").startswith("attached")
            return Status("attached" if attached else "running")
    if mission.last_exit is not None:
        status = _from_exit(mission, mission.last_exit, stop_requested)
        if _gave_up(mission, mission.last_exit, status, stop_requested):
            # The policy asked for another restart and systemd refused: the start limit hit.
            restarts = mission.exit_count - 1
            reason = f"gave up after {restarts} restart{'s' if restarts != 1 else ''}: {exit_reason(mission.last_exit)}"
            return Status("crashed", reason, status.exit_code)
        return status
    # A new mission's unit may not be there yet; once a run has started (its hook said so), a
    # unit that is gone without an end recorded is gone (its manager died), however new.
    starting = time.time() - mission.created_at < CREATION_GRACE and mission.run_started_at is None
    if loaded and unit is not None:
        queued = starting or unit.get("JobType") == "start"  # (JobType: as the manager lists units)
        if queued and unit.get("ActiveState") == "inactive" and not _ever_ran(unit):
            return Status("running")  # loaded, its start job not run yet
        return _from_unit_result(unit)
    if starting:
        return Status("running")  # the unit is being created right now
    if stop_requested:
        return Status("stopped", "never started")  # stopped while its start was still queued
    return Status("unknown", "unit gone without an exit record")


def _ever_ran(unit: dict[str, str]) -> bool:
    return unit.get("ExecMainStartTimestampMonotonic", "0") not in ("", "0")


def _would_restart(mission: Mission, exit: Exit) -> bool:
    policy = mission.spec.get("restart", {}).get("policy", "never")
    return policy == "always" or (policy == "on-failure" and exit.service_result != "success")


def _gave_up(mission: Mission, exit: Exit, status: Status, stop_requested: bool) -> bool:
    """The policy asked for another restart and systemd refused (its start limit): after a crash,
    or with `always` after a clean exit too, which nothing but the limit ends unless a stop did."""
    if status.state == "crashed":
        return _would_restart(mission, exit)
    clean_end = exit.exit_code == "exited" and not stop_requested
    return clean_end and mission.spec.get("restart", {}).get("policy") == "always"


def _from_unit_result(unit: dict[str, str]) -> Status:
    result = unit.get("Result", "")
    code = int(unit.get("ExecMainStatus") or 0)
    if result == "success":
        return Status("stopped", exit_code=code)
    exited = unit.get("ExecMainCode") == "1"
    return Status("crashed", f"exit {code}" if exited else result, code if exited else 128 + code)
