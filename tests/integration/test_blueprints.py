"""Blueprints on the real user manager: systemd runs the depends_on graph, apply reconciles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Overmind, blueprint_file, documented_keys, must

LINEAR = "pipeline.toml"  # setup -> build -> deploy, as upstream overmind's example has it
STAGES = ("stage 1: setup complete", "stage 2: build complete", "stage 3: deploy complete")
SERVER = {"server": {"type": "session", "command": "echo up; exec sleep 300"}}
DONE = "--- exited with code 0 ---"


@pytest.fixture(autouse=True)
def _kill_blueprints_afterwards(om: Overmind, name: str) -> Any:
    """Each test's blueprints end with it: killed, they leave ps (and their agents with them)."""
    yield
    for row in om.json("ps"):
        if row["type"] == "blueprint" and row["name"].startswith(name):
            om("kill", row["id"], check=False)


def task(command: str, *depends_on: str, **more: Any) -> dict[str, Any]:
    return {"command": command, **({"depends_on": list(depends_on)} if depends_on else {}), **more}


def session(command: str = "exec sleep 300", *depends_on: str, **more: Any) -> dict[str, Any]:
    return task(command, *depends_on, type="session", **more)


def timeline(om: Overmind, ref: str) -> list[tuple[str, str, str]]:
    """(time, agent, message) of every line of a blueprint's agents, in journal order."""
    rows = [json.loads(line) for line in om("logs", ref, "--json").stdout.splitlines()]
    return [(row["time"], row["name"].removeprefix(f"{ref}."), row["message"]) for row in rows]


def first(lines: list[tuple[str, str, str]], agent: str, message: str) -> str:
    return next(t for t, a, m in lines if a == agent and m == message)


def messages(om: Overmind, ref: str) -> list[str]:
    return [m for _, _, m in timeline(om, ref)]


def agents(om: Overmind, name: str) -> dict[str, dict]:
    """The blueprint's agents by name (none while the blueprint does not exist yet)."""
    proc = om("info", name, "--json", check=False)
    return {a["agent"]: a for a in json.loads(proc.stdout)["agents"]} if proc.returncode == 0 else {}


def ids(om: Overmind, name: str) -> dict[str, str]:
    return {agent: a["id"] for agent, a in agents(om, name).items()}


def started_nothing(om: Overmind, name: str) -> bool:
    return not [row for row in om.json("ps", "--all") if row["name"].startswith(name)]


def test_a_linear_pipeline_runs_its_stages_in_order(om: Overmind, name: str, tmp_path: Path) -> None:
    started = om("apply", blueprint_file(tmp_path, name, {}, example=LINEAR))
    pipeline = om.info(name)
    assert started.stdout == f"Started pipeline {pipeline['id']} ({name})\n"
    assert om("wait", name).stdout == "finished: done, exit code 0\n"
    lines = timeline(om, name)
    order = [first(lines, agent, line) for agent, stage in zip(("setup", "build", "deploy"), STAGES, strict=True)
             for line in (stage, DONE)]
    assert order == sorted(order)
    rows = {row["name"]: row for row in om.json("ps") if row["name"].startswith(name)}
    assert rows[name]["type"] == "blueprint" and rows[name]["status"] == "done"
    assert rows[name]["children"] == list(ids(om, name).values())
    promised = documented_keys("A mission") | documented_keys("A blueprint")
    assert promised <= set(rows[name]) and promised <= set(pipeline)  # null, never missing (docs/json.md)
    assert (rows[name]["worktree"], rows[name]["ports"], rows[name]["services"]) == (None, {}, [])
    assert {rows[f"{name}.{a}"]["parent"] for a in ("setup", "build", "deploy")} == {pipeline["id"]}
    tree = [line.split()[1:3] for line in om("ps", "--tree").stdout.splitlines() if name in line]
    assert tree == [[name, "blueprint"], ["├─", f"{name}.setup"], ["├─", f"{name}.build"],
                    ["└─", f"{name}.deploy"]]


def test_logs_of_a_blueprint_are_its_agents_lines_prefixed_by_agent(om: Overmind, name: str, tmp_path: Path) -> None:
    om("apply", blueprint_file(tmp_path, name, {}, example=LINEAR))
    om("wait", name)
    lines = om("logs", name).stdout.splitlines()
    assert [line[20:] for line in lines if "stage" in line] == [
        f"setup  | {STAGES[0]}", f"build  | {STAGES[1]}", f"deploy | {STAGES[2]}"]


def test_a_failing_stage_skips_its_dependents_while_other_branches_run(om: Overmind, name: str,
                                                                      tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {
        "setup": task("echo setup"), "build": task("echo building; exit 3", "setup"),
        "deploy": task("echo deploying", "build"), "docs": task("sleep 0.3; echo docs", "setup")})
    proc = om("apply", "--wait", path, check=False)
    assert proc.returncode == 1
    assert "  deploy  skipped (dependency failed)" in proc.stdout.splitlines()
    assert proc.stdout.splitlines()[-1].endswith(f"({name}) failed (build failed)")
    states = {agent: (a["status"], a["reason"]) for agent, a in agents(om, name).items()}
    assert states == {"setup": ("stopped", None), "build": ("crashed", "exit 3"),
                      "deploy": ("skipped", "dependency failed"), "docs": ("stopped", None)}
    assert (om.info(name)["status"], om.info(name)["reason"]) == ("failed", "build failed")
    assert om("wait", name, check=False).returncode == 1
    assert "docs" in messages(om, name) and "deploying" not in messages(om, name)


def test_a_diamond_runs_its_two_middle_agents_in_parallel(om: Overmind, name: str, tmp_path: Path) -> None:
    middle = "echo start; sleep 1; echo end"
    om("apply", blueprint_file(tmp_path, name, {
        "a": task("echo a"), "b": task(middle, "a"), "c": task(middle, "a"), "d": task("echo d", "b", "c")}))
    om("wait", name)
    lines = timeline(om, name)
    b_start, b_end = first(lines, "b", "start"), first(lines, "b", "end")
    c_start, c_end = first(lines, "c", "start"), first(lines, "c", "end")
    assert b_start < c_end and c_start < b_end  # they overlapped
    assert first(lines, "a", "a") < min(b_start, c_start)
    assert first(lines, "d", "d") > max(b_end, c_end)


def test_cycles_and_unknown_dependencies_are_refused_and_start_nothing(om: Overmind, name: str,
                                                                       tmp_path: Path) -> None:
    cycle = blueprint_file(tmp_path, name, {"a": task("true", "b"), "b": task("true", "a")})
    proc = om("apply", cycle, check=False)
    assert (proc.returncode, proc.stderr) == (1, f"overmind: {cycle}:3: agents.a.depends_on: dependency cycle:"
                                                 f" a -> b -> a\n")
    unknown = blueprint_file(tmp_path, name, {"build": task("true", "setp")})
    proc = om("apply", unknown, check=False)
    assert proc.stderr == f'overmind: {unknown}:3: agents.build.depends_on: unknown agent "setp"\n'
    assert om("diff", unknown, check=False).returncode == 2
    assert started_nothing(om, name)
    assert om.systemctl("list-units", "--all", "--plain", "--no-legend",
                        f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}*").stdout == ""


def test_agents_lists_agents_in_dependency_order(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {
        "deploy": task("true", "build"), "build": task("true", "setup"),
        "setup": {"prompt": "prepare the repository", "provider": "claude", "type": "session"},
        "nightly": task("true", schedule="daily")})
    lines = om("agents", path).stdout.splitlines()
    assert [line.split() for line in lines] == [
        ["AGENT", "PROVIDER", "TYPE", "REPLICAS", "RUNS"],
        ["setup", "claude", "session", "1", "-"],
        ["build", "raw", "task", "1", "depends", "on:", "setup"],
        ["deploy", "raw", "task", "1", "depends", "on:", "build"],
        ["nightly", "raw", "task", "1", "on", "schedule:", "*-*-*", "00:00:00"]]
    assert [a["depends_on"] for a in om.json("agents", path)] == [[], ["setup"], ["build"], []]


def test_an_agent_whose_cli_is_missing_fails_apply_naming_it(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name,
                          {"review": {"provider": "codex", "prompt": "review", "depends_on": ["build"]}},
                          example=LINEAR)
    without_codex = Overmind(om.env | {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    refused = without_codex("apply", path, check=False)
    assert refused.stderr.splitlines()[0] == "overmind: agent 'review': codex is not installed (not found on PATH)"
    assert started_nothing(om, name)


def test_reapplying_an_unchanged_blueprint_is_a_no_op(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, SERVER, example=LINEAR)
    om("apply", path)
    must(lambda: {a["status"] for a in agents(om, name).values()} == {"stopped", "running"}, what="tasks done")
    before = ids(om, name)
    assert om("apply", path).stdout == f"Pipeline {om.info(name)['id']} ({name}) unchanged\n"
    assert om("diff", path).returncode == 0
    assert ids(om, name) == before
    assert messages(om, name).count(STAGES[1]) == 1 and messages(om, name).count("up") == 1


def test_a_changed_command_replaces_only_that_agent(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {}, example=LINEAR)
    om("apply", path)
    om("wait", name)
    before = ids(om, name)
    blueprint_file(tmp_path, name, {"build": task("echo 'stage 2: build v2'", "setup")}, example=LINEAR)
    diff = om("diff", path, check=False)
    assert diff.returncode == 1
    assert [line.split()[:4] for line in diff.stdout.splitlines()[3:]] == [  # after the count, title, header
        ["=", "keep", "mission", f"{name}.setup"], ["~", "replace", "mission", f"{name}.build"],
        ["=", "keep", "mission", f"{name}.deploy"]]
    assert "command changed" in diff.stdout
    assert om("apply", path).stdout.endswith(f"({name}): replaced 1\n")
    om("wait", name)
    after = ids(om, name)
    assert (after["setup"], after["deploy"]) == (before["setup"], before["deploy"])
    assert after["build"] != before["build"]
    assert messages(om, name).count(STAGES[0]) == 1 and messages(om, name).count(STAGES[2]) == 1
    assert "stage 2: build v2" in messages(om, name)


def test_prune_stops_an_agent_removed_from_the_file(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {"keep": session(), "old": session()})
    om("apply", path)
    old = must(lambda: (info := om.info(f"{name}.old"))["os_pid"] and info, what="old running")
    blueprint_file(tmp_path, name, {"keep": session()})
    assert om("apply", "--no-prune", path).stdout.endswith("unchanged\n")
    assert om.status(f"{name}.old") == "running"
    assert "-  prune" in om("diff", path, check=False).stdout
    assert om("apply", path).stdout.endswith("pruned 1\n")
    assert not om.pid_alive(old["os_pid"])
    assert list(agents(om, name)) == ["keep"]
    assert om.unit_property(old["unit"], "ActiveState") in ("inactive", "")


def test_replicas_scale_up_and_down_leaving_existing_ones_alone(om: Overmind, name: str, tmp_path: Path) -> None:
    def scale(replicas: int) -> dict[str, str]:
        om("apply", blueprint_file(tmp_path, name, {"worker": session(replicas=replicas)}))
        running = must(lambda: (found := agents(om, name)) and len(found) == replicas
                       and {a["status"] for a in found.values()} == {"running"} and found, what=f"{replicas} up")
        return {agent: a["id"] for agent, a in running.items()}

    two = scale(2)
    assert list(two) == ["worker", "worker.2"]
    four = scale(4)
    assert list(four) == ["worker", "worker.2", "worker.3", "worker.4"]
    assert {k: four[k] for k in two} == two
    assert scale(1) == {"worker": two["worker"]}


def test_a_pipeline_keeps_running_after_every_overmind_process_is_killed(om: Overmind, name: str,
                                                                        tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    path = blueprint_file(tmp_path, name, {
        "first": task(f"echo waiting; while [ ! -e {gate} ]; do sleep 0.05; done; echo first done"),
        "second": task("echo second ran", "first")})
    watcher = subprocess.Popen([sys.executable, "-m", "overmind", "apply", "--wait", path], env=om.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    must(lambda: agents(om, name).get("first", {}).get("status") == "running", what="the first stage to run")
    os.killpg(watcher.pid, signal.SIGKILL)
    watcher.wait()
    assert agents(om, name)["second"]["status"] == "waiting"
    gate.touch()
    assert om("wait", name).returncode == 0
    assert [m for m in messages(om, name) if "ran" in m or "done" in m] == ["first done", "second ran"]


def test_two_concurrent_applies_of_one_blueprint_act_once(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, SERVER, example=LINEAR)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: om("apply", path), range(2)))
    assert sorted(r.stdout.split(" ")[0] for r in results) == ["Pipeline", "Started"]
    om("wait", f"{name}.deploy")
    assert len(agents(om, name)) == 4
    assert messages(om, name).count("up") == 1 and messages(om, name).count(STAGES[0]) == 1


def test_stop_and_kill_end_every_agent_of_a_blueprint(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {"a": session(), "b": session("exec sleep 300", "a")})
    om("apply", path)
    pids = must(lambda: [p for p in (om.info(f"{name}.{a}")["os_pid"] for a in "ab") if p] or None, what="pids")
    om("stop", name)
    assert {a["status"] for a in agents(om, name).values()} == {"stopped"}
    assert om.status(name) == "stopped"
    assert not any(om.pid_alive(pid) for pid in pids)
    assert om("apply", path).stdout.endswith("restarted 2\n")
    must(lambda: {a["status"] for a in agents(om, name).values()} == {"running"}, what="running again")
    killed = om("kill", "--cascade", name).stdout.splitlines()
    assert killed[-1].endswith(f"({name})") and len(killed) == 3
    assert not [row for row in om.json("ps") if row["name"].startswith(name)]


def test_a_retried_task_holds_its_dependents_until_it_succeeds(om: Overmind, name: str, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    flaky = f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}; [ $n -ge 2 ]"
    om("apply", blueprint_file(tmp_path, name, {
        "flaky": task(flaky, restart="on-failure", backoff="50ms"), "after": task("echo after ran", "flaky")}))
    assert om("wait", name).returncode == 0
    assert counter.read_text().strip() == "3"
    assert "after ran" in messages(om, name)


def test_a_task_timeout_fails_it_as_a_oneshot_unit(om: Overmind, name: str, tmp_path: Path) -> None:
    om("apply", blueprint_file(tmp_path, name, {"slow": task("sleep 30", timeout="1s", memory_max="64M")}))
    unit = f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}.slow.service"
    assert om.unit_property(unit, "Type") == "oneshot"
    assert om.unit_property(unit, "MemoryMax") == str(64 * 1024**2)
    escaped_prefix = om.env["OVERMIND_UNIT_PREFIX"].replace("-", "\\x2d")
    assert om.unit_property(unit, "Slice") == f"{escaped_prefix}-{om.info(name)['id']}.slice"
    assert om("wait", name, check=False).returncode == 1
    assert (agents(om, name)["slow"]["status"], agents(om, name)["slow"]["reason"]) == ("crashed", "timeout")


def test_gc_keeps_a_running_pipelines_agents_and_forgets_a_finished_one(om: Overmind, name: str,
                                                                        tmp_path: Path) -> None:
    om("apply", blueprint_file(tmp_path, f"{name}-a", {}, example=LINEAR))
    b = blueprint_file(tmp_path, f"{name}-b", {"done": task("true"), **SERVER})
    om("apply", b)
    om("wait", f"{name}-a")
    must(lambda: agents(om, f"{name}-b")["done"]["status"] == "stopped", what="b.done finished")
    removed = {m["name"] for m in om.json("gc", "--all")}
    assert {f"{name}-a", f"{name}-a.setup", f"{name}-a.build", f"{name}-a.deploy"} <= removed
    assert f"{name}-b.done" not in removed
    assert om("diff", b).returncode == 0


def test_a_scheduled_agent_is_a_ritual_the_blueprint_owns(om: Overmind, name: str, tmp_path: Path) -> None:
    def every(interval: str) -> str:
        return blueprint_file(tmp_path, name, {"report": task("echo report", schedule=interval)}, example=LINEAR)

    def listed() -> dict | None:
        return next((r for r in om.json("rituals") if r["name"] == f"{name}.report"), None)

    path = every("1h")
    om("apply", path)
    assert listed()["schedule"] == "every 1h" and listed()["enabled"]
    assert f"{name}.report (every 1h)" in om("info", name).stdout
    assert om("apply", path).stdout.endswith("unchanged\n")
    every("2h")
    assert "~  replace  ritual" in om("diff", path, check=False).stdout
    assert om("apply", path).stdout.endswith("replaced 1\n")
    assert listed()["schedule"] == "every 2h"
    om("stop", name)
    assert not listed()["enabled"]
    om("apply", path)
    assert listed()["enabled"]
    blueprint_file(tmp_path, name, {}, example=LINEAR)
    assert om("apply", path).stdout.endswith("pruned 1\n")
    assert listed() is None


def test_a_task_that_keeps_failing_reports_the_retries_it_made(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {
        "build": task("echo trying; exit 1", restart="on-failure", max_restarts=2, backoff="50ms")})
    proc = om("apply", "--wait", path, check=False)
    assert proc.returncode == 1
    assert "  build  failed (gave up after 2 restarts: exit 1)" in proc.stdout.splitlines()
    row = next(r for r in om.json("ps", "--all") if r["name"] == f"{name}.build")
    assert (row["status"], row["reason"], row["restarts"]) == ("crashed", "gave up after 2 restarts: exit 1", 2)
    lines = messages(om, name)
    assert lines.count("trying") == 3
    assert [m.split(" at ")[0] for m in lines if m.startswith("--- restart #")] == ["--- restart #1", "--- restart #2"]


def test_a_task_that_succeeds_on_a_retry_counts_that_retry(om: Overmind, name: str, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    flaky = f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}; [ $n -ge 1 ]"
    om("apply", "--wait", blueprint_file(tmp_path, name, {"flaky": task(flaky, restart="on-failure", backoff="50ms")}))
    row = next(r for r in om.json("ps", "--all") if r["name"] == f"{name}.flaky")
    assert (row["status"], row["exit_code"], row["restarts"]) == ("stopped", 0, 1)


def test_apply_wait_fails_naming_a_failed_task_beside_a_running_session(om: Overmind, name: str,
                                                                        tmp_path: Path) -> None:
    proc = om("apply", "--wait", blueprint_file(tmp_path, name, {"build": task("exit 3"), **SERVER}), check=False)
    assert proc.returncode == 1, proc.stdout
    assert proc.stdout.splitlines()[-1].endswith(f"({name}) running; build failed (exit 3)")
    as_json = om("apply", "--wait", "--json", blueprint_file(tmp_path, name, {"build": task("exit 3"), **SERVER}),
                 check=False)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["status"] == "running"
