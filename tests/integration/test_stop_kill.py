"""stop, kill and gc: the whole cgroup ends, and the records go when asked."""

from __future__ import annotations

import re

from tests.helpers import Overmind, must


def _children_pids(om: Overmind, name: str, count: int) -> list[int]:
    def pids() -> list[int] | None:
        found = [int(p) for p in re.findall(r"child (\d+)", "\n".join(om.logs(name)))]
        return found if len(found) == count else None

    return must(pids, what=f"{count} child pids in the logs")


FORKER = "for i in 1 2; do (sh -c 'sleep 300 & echo child $!; wait') & done; wait"


def test_stop_ends_a_long_sleep_as_stopped(om: Overmind, name: str) -> None:
    om.run("sleep 300", "--name", name)
    om("stop", name)
    info = om.info(name)
    assert info["status"] == "stopped"
    assert "--- stopped (SIGTERM) ---" in om.logs(name)


def test_stop_escalates_to_sigkill_after_the_grace_period(om: Overmind, name: str) -> None:
    om.run("trap '' TERM; echo ready; while :; do sleep 0.1; done", "--name", name, "--stop-timeout", "1s")
    must(lambda: om.logs(name) == ["ready"])
    pid = om.info(name)["os_pid"]
    om("stop", name)
    info = om.info(name)
    assert info["status"] in ("stopped", "crashed")
    assert info["os_pid"] == pid and not om.pid_alive(pid)  # the last run's process, gone


def test_a_stop_whose_grace_period_runs_out_is_told_as_a_stop_not_a_runtime_limit(om: Overmind, name: str) -> None:
    om.run("trap '' TERM; echo ready; while :; do sleep 0.1; done", "--name", name, "--stop-timeout", "1s")
    must(lambda: om.logs(name) == ["ready"])
    om("stop", name)
    info = om.info(name)
    assert (info["status"], info["reason"]) == ("stopped", "killed after the 1s grace period")
    assert om.logs(name)[-1] == "--- stopped by request, killed after the 1s grace period ---"
    assert "stopped (killed after the 1s grace period)" in om("ps", "--all").stdout
    assert "stopped (killed after the 1s grace period), exit code 137" in om("info", name).stdout


def test_a_runtime_limit_is_told_as_one(om: Overmind, name: str) -> None:
    om.run("sleep 30", "--name", name, "--timeout", "1s")
    must(lambda: om.status(name) == "crashed", what="the runtime limit")
    assert om.info(name)["reason"] == "timeout"
    assert om.logs(name)[-1] == "--- killed: runtime limit reached ---"


def test_stop_kills_forked_grandchildren(om: Overmind, name: str) -> None:
    om.run(FORKER, "--name", name)
    pids = _children_pids(om, name, 2)
    assert all(om.pid_alive(p) for p in pids)
    om("stop", name)
    assert not any(om.pid_alive(p) for p in pids)


def test_kill_removes_from_ps_kills_grandchildren_and_keeps_logs(om: Overmind, name: str) -> None:
    mission = om.run(FORKER, "--name", name)
    pids = _children_pids(om, name, 2)
    om("kill", name)
    assert not any(om.pid_alive(p) for p in pids)
    assert name not in [row["name"] for row in om.json("ps")]
    assert {"name": name, "status": "killed"}.items() <= next(
        r for r in om.json("ps", "--all") if r["id"] == mission["id"]).items()
    assert len([line for line in om.logs(mission["id"]) if line.startswith("child ")]) == 2
    assert om.unit_property(mission["unit"], "LoadState") == "not-found"


def test_kill_all_kills_every_running_mission(om: Overmind, name: str) -> None:
    for suffix in ("a", "b"):
        om.run("sleep 300", "--name", f"{name}-{suffix}")
    om("kill", "--all")
    assert {om.status(f"{name}-a"), om.status(f"{name}-b")} == {"killed"}
    assert not [row for row in om.json("ps") if row["status"] == "running"]


def test_stop_and_kill_need_a_target(om: Overmind) -> None:
    for verb in ("stop", "kill"):
        proc = om(verb, check=False)
        assert proc.returncode == 1 and f"nothing to {verb}" in proc.stderr


def test_gc_forgets_finished_missions_only(om: Overmind, name: str) -> None:
    done = om.run("true", "--name", f"{name}-done")
    om.run("sleep 300", "--name", f"{name}-live")
    must(lambda: om.status(done["id"]) == "stopped")
    removed = {m["id"] for m in om.json("gc")}
    assert done["id"] in removed
    assert om("info", done["id"], check=False).returncode == 1
    assert om.status(f"{name}-live") == "running"
    om("stop", f"{name}-live")
