"""Deriving a mission's status from its unit's properties and its recorded exits."""

from __future__ import annotations

import time

from overmind.mission.status import Status, derive
from overmind.store import Exit, Mission


def _mission(exits: list[Exit] | None = None, policy: str = "never", **fields) -> Mission:
    exits = exits or []
    base = dict(id="0123abcd", name="m", unit="u.service", type="task", provider="raw", command="true", cwd="/",
                parent=None, spec={"restart": {"policy": policy}}, created_at=time.time() - 60, killed_at=None,
                stop_requested_at=None, last_exit=exits[-1] if exits else None, exit_count=len(exits))
    base.update(fields)
    return Mission(**base)


def _exit(result: str, code: str, status: str, oom: bool = False) -> Exit:
    return Exit(time.time(), result, code, status, oom)


def _unit(active: str, sub: str, **extra: str) -> dict[str, str]:
    return {"LoadState": "loaded", "ActiveState": active, "SubState": sub, **extra}


def test_a_running_unit_is_running() -> None:
    assert derive(_mission(), _unit("active", "running")).state == "running"


def test_a_pending_restart_is_restarting() -> None:
    failed = [_exit("exit-code", "exited", "1")]
    assert derive(_mission(failed, "always"), _unit("activating", "auto-restart")).state == "restarting"
    assert derive(_mission(failed, "always"), _unit("activating", "start-pre")).state == "restarting"
    assert derive(_mission(), _unit("activating", "start-pre")).state == "running"


def test_clean_exit_is_stopped_and_failure_is_crashed() -> None:
    assert derive(_mission([_exit("success", "exited", "0")]), None).label == "stopped"
    crashed = derive(_mission([_exit("exit-code", "exited", "3")]), None)
    assert (crashed.label, crashed.exit_code) == ("crashed (exit 3)", 3)


def test_signals_and_limits_say_why() -> None:
    assert derive(_mission([_exit("signal", "killed", "KILL")]), None).reason == "SIGKILL"
    assert derive(_mission([_exit("signal", "killed", "KILL", oom=True)]), None).reason == "memory limit"
    assert derive(_mission([_exit("watchdog", "dumped", "ABRT")]), None).reason == "no activity"
    assert derive(_mission([_exit("timeout", "killed", "TERM")]), None).reason == "timeout"


def test_a_user_stop_is_stopped_whatever_the_last_run_did() -> None:
    mission = _mission([_exit("exit-code", "exited", "1")], "always", stop_requested_at=time.time())
    assert derive(mission, None).state == "stopped"


def test_a_refused_restart_means_the_breaker_tripped() -> None:
    exits = [_exit("exit-code", "exited", "2")] * 3
    status = derive(_mission(exits, "on-failure"), _unit("failed", "failed", Result="exit-code"))
    assert (status.state, status.reason) == ("crashed", "gave up after 2 restarts: exit 2")


def test_killed_wins_over_everything() -> None:
    assert derive(_mission(killed_at=time.time()), _unit("active", "running")).state == "killed"


def test_a_unit_gone_without_a_record_is_unknown_not_running() -> None:
    assert derive(_mission(), None).state == "unknown"
    assert derive(_mission(created_at=time.time()), None).state == "running"


def test_always_with_a_restart_limit_gave_up_even_on_a_clean_exit() -> None:
    exits = [_exit("success", "exited", "0")] * 3
    spec = {"restart": {"policy": "always", "max_restarts": 2}}
    status = derive(_mission(exits, spec=spec), _unit("failed", "failed", Result="start-limit-hit"))
    assert (status.state, status.reason, status.exit_code) == ("crashed", "gave up after 2 restarts: exit 0", 0)
    assert derive(_mission(exits, spec=spec), None).reason == "gave up after 2 restarts: exit 0"  # collected
    stopped = _mission(exits, spec=spec, stop_requested_at=time.time())
    assert derive(stopped, None).label == "stopped"


def test_one_wording_of_a_status_with_its_exit_code() -> None:
    assert Status("crashed", "memory limit", 137).summary == "crashed (memory limit), exit code 137"
    assert Status("stopped", exit_code=0).summary == "stopped, exit code 0"
    assert Status("running").summary == "running"
    assert Status("crashed", "memory limit", 137).label == "crashed (memory limit)"


def test_a_loaded_unit_whose_start_job_waits_is_running_however_long_it_waits() -> None:
    old = _mission(created_at=time.time() - 600)
    assert derive(old, _unit("inactive", "dead", JobType="start")).state == "running"
