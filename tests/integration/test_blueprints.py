"""Blueprints on the real user manager: systemd runs the depends_on graph, apply reconciles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.helpers import Overmind, must

LINEAR = """\
[agents.setup]
command = "echo 'stage 1: setup complete'"

[agents.build]
command = "echo 'stage 2: build complete'"
depends_on = ["setup"]

[agents.deploy]
command = "echo 'stage 3: deploy complete'"
depends_on = ["build"]
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def timeline(om: Overmind, ref: str) -> list[tuple[str, str, str]]:
    """(time, mission name, message) of every line of a blueprint's agents, in journal order."""
    rows = [json.loads(line) for line in om("logs", ref, "--json").stdout.splitlines()]
    return [(row["time"], row["name"], row["message"]) for row in rows]


def first(lines: list[tuple[str, str, str]], mission: str, message: str) -> str:
    return next(t for t, n, m in lines if n == mission and m == message)


def agents(om: Overmind, name: str) -> dict[str, dict]:
    """The blueprint's agents by name (none while the blueprint does not exist yet)."""
    proc = om("info", name, "--json", check=False)
    return {a["agent"]: a for a in json.loads(proc.stdout)["agents"]} if proc.returncode == 0 else {}


def test_a_linear_pipeline_runs_its_stages_in_order(om: Overmind, name: str, tmp_path: Path) -> None:
    started = om("apply", write(tmp_path, name, LINEAR))
    pipeline = om.info(name)
    assert started.stdout == f"Started pipeline {pipeline['id']} ({name})\n"
    assert om("wait", name).stdout == "finished: done (exit code 0)\n"
    lines = timeline(om, name)
    done = "--- exited with code 0 ---"
    order = [first(lines, f"{name}.setup", "stage 1: setup complete"), first(lines, f"{name}.setup", done),
             first(lines, f"{name}.build", "stage 2: build complete"), first(lines, f"{name}.build", done),
             first(lines, f"{name}.deploy", "stage 3: deploy complete"), first(lines, f"{name}.deploy", done)]
    assert order == sorted(order)
    rows = {row["name"]: row for row in om.json("ps") if row["name"].startswith(name)}
    assert rows[name]["type"] == "blueprint" and rows[name]["status"] == "done"
    assert rows[name]["children"] == [agents(om, name)[a]["id"] for a in ("setup", "build", "deploy")]
    assert {rows[f"{name}.{a}"]["parent"] for a in ("setup", "build", "deploy")} == {pipeline["id"]}
    tree = [line.split()[1:3] for line in om("ps", "--tree").stdout.splitlines() if name in line]
    assert tree == [[name, "blueprint"], ["├─", f"{name}.setup"], ["├─", f"{name}.build"],
                    ["└─", f"{name}.deploy"]]


def test_logs_of_a_blueprint_are_its_agents_lines_prefixed_by_agent(om: Overmind, name: str, tmp_path: Path) -> None:
    om("apply", write(tmp_path, name, LINEAR))
    om("wait", name)
    lines = om("logs", name).stdout.splitlines()
    assert [line[20:] for line in lines if "stage" in line] == [
        "setup  | stage 1: setup complete", "build  | stage 2: build complete", "deploy | stage 3: deploy complete"]


def test_a_failing_stage_skips_its_dependents_while_other_branches_run(om: Overmind, name: str,
                                                                      tmp_path: Path) -> None:
    path = write(tmp_path, name, """
        [agents.setup]
        command = "echo setup"
        [agents.build]
        command = "echo building; exit 3"
        depends_on = ["setup"]
        [agents.deploy]
        command = "echo deploying"
        depends_on = ["build"]
        [agents.docs]
        command = "sleep 0.3; echo docs"
        depends_on = ["setup"]
    """)
    proc = om("apply", "--wait", path, check=False)
    assert proc.returncode == 1
    assert "  deploy  skipped (dependency failed)" in proc.stdout.splitlines()
    assert proc.stdout.splitlines()[-1].endswith(f"({name}) failed (build failed)")
    states = {agent: (a["status"], a["reason"]) for agent, a in agents(om, name).items()}
    assert states == {"setup": ("stopped", None), "build": ("crashed", "exit 3"),
                      "deploy": ("skipped", "dependency failed"), "docs": ("stopped", None)}
    assert (om.info(name)["status"], om.info(name)["reason"]) == ("failed", "build failed")
    assert om("wait", name, check=False).returncode == 1
    messages = [m for _, _, m in timeline(om, name)]
    assert "docs" in messages and "deploying" not in messages


def test_a_diamond_runs_its_two_middle_agents_in_parallel(om: Overmind, name: str, tmp_path: Path) -> None:
    om("apply", write(tmp_path, name, """
        [agents.a]
        command = "echo a"
        [agents.b]
        command = "echo start; sleep 1; echo end"
        depends_on = ["a"]
        [agents.c]
        command = "echo start; sleep 1; echo end"
        depends_on = ["a"]
        [agents.d]
        command = "echo d"
        depends_on = ["b", "c"]
    """))
    om("wait", name)
    lines = timeline(om, name)
    b_start, b_end = first(lines, f"{name}.b", "start"), first(lines, f"{name}.b", "end")
    c_start, c_end = first(lines, f"{name}.c", "start"), first(lines, f"{name}.c", "end")
    assert b_start < c_end and c_start < b_end  # they overlapped
    assert first(lines, f"{name}.a", "a") < min(b_start, c_start)
    assert first(lines, f"{name}.d", "d") > max(b_end, c_end)


def test_cycles_and_unknown_dependencies_are_refused_and_start_nothing(om: Overmind, name: str,
                                                                       tmp_path: Path) -> None:
    cycle = write(tmp_path, name, """
        [agents.a]
        command = "true"
        depends_on = ["b"]

        [agents.b]
        command = "true"
        depends_on = ["a"]
    """)
    proc = om("apply", cycle, check=False)
    assert (proc.returncode, proc.stderr) == (1, f"overmind: {cycle}:4: agents.a.depends_on: dependency cycle:"
                                                 f" a -> b -> a\n")
    unknown = write(tmp_path, name, """
        [agents.build]
        command = "true"
        depends_on = ["setp"]
    """)
    proc = om("apply", unknown, check=False)
    assert proc.stderr == f'overmind: {unknown}:4: agents.build.depends_on: unknown agent "setp"\n'
    assert om("diff", unknown, check=False).returncode == 2
    assert not [row for row in om.json("ps", "--all") if row["name"].startswith(name)]
    assert om.systemctl("list-units", "--all", "--plain", "--no-legend",
                        f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}*").stdout == ""


def test_agents_lists_agents_in_dependency_order(om: Overmind, name: str, tmp_path: Path) -> None:
    path = write(tmp_path, name, """
        [agents.deploy]
        command = "true"
        depends_on = ["build"]
        [agents.build]
        command = "true"
        depends_on = ["setup"]
        [agents.setup]
        prompt = "prepare the repository"
        provider = "claude"
        type = "session"
    """)
    lines = om("agents", path).stdout.splitlines()
    assert [line.split() for line in lines] == [
        ["AGENT", "PROVIDER", "TYPE", "REPLICAS", "DEPENDENCIES"],
        ["setup", "claude", "session", "1", "-"],
        ["build", "raw", "task", "1", "depends", "on:", "setup"],
        ["deploy", "raw", "task", "1", "depends", "on:", "build"]]
    assert [a["depends_on"] for a in om.json("agents", path)] == [[], ["setup"], ["build"]]
    refused = om("apply", path, check=False)
    assert refused.stderr.splitlines()[0] == ("overmind: agent 'setup': provider 'claude' is not available"
                                             " in this version of overmind")
    assert not [row for row in om.json("ps", "--all") if row["name"].startswith(name)]


def test_reapplying_an_unchanged_blueprint_is_a_no_op(om: Overmind, name: str, tmp_path: Path) -> None:
    path = write(tmp_path, name, LINEAR + '[agents.server]\ntype = "session"\ncommand = "echo up; exec sleep 300"\n')
    om("apply", path)
    must(lambda: {a["status"] for a in agents(om, name).values()} == {"stopped", "running"}, what="tasks done")
    before = {agent: a["id"] for agent, a in agents(om, name).items()}
    pipeline = om.info(name)["id"]
    assert om("apply", path).stdout == f"Pipeline {pipeline} ({name}) unchanged\n"
    assert om("diff", path).returncode == 0
    assert {agent: a["id"] for agent, a in agents(om, name).items()} == before
    messages = [m for _, _, m in timeline(om, name)]
    assert messages.count("stage 2: build complete") == 1 and messages.count("up") == 1
    om("stop", name)


def test_a_changed_command_replaces_only_that_agent(om: Overmind, name: str, tmp_path: Path) -> None:
    path = write(tmp_path, name, LINEAR)
    om("apply", path)
    om("wait", name)
    before = {agent: a["id"] for agent, a in agents(om, name).items()}
    Path(path).write_text(LINEAR.replace("stage 2: build complete", "stage 2: build v2"))
    diff = om("diff", path, check=False)
    assert diff.returncode == 1
    assert [line.split()[:3] for line in diff.stdout.splitlines()[2:]] == [
        ["=", "keep", f"{name}.setup"], ["~", "replace", f"{name}.build"], ["=", "keep", f"{name}.deploy"]]
    assert "command changed" in diff.stdout
    assert om("apply", path).stdout.endswith(f"({name}): replaced 1\n")
    om("wait", name)
    after = {agent: a["id"] for agent, a in agents(om, name).items()}
    assert after["setup"] == before["setup"] and after["deploy"] == before["deploy"]
    assert after["build"] != before["build"]
    messages = [m for _, _, m in timeline(om, name)]
    assert messages.count("stage 1: setup complete") == 1 and messages.count("stage 3: deploy complete") == 1
    assert "stage 2: build v2" in messages


def test_prune_stops_an_agent_removed_from_the_file(om: Overmind, name: str, tmp_path: Path) -> None:
    sessions = """
        [agents.keep]
        type = "session"
        command = "exec sleep 300"
        [agents.old]
        type = "session"
        command = "exec sleep 300"
    """
    path = write(tmp_path, name, sessions)
    om("apply", path)
    old = must(lambda: (info := om.info(f"{name}.old"))["os_pid"] and info, what="old running")
    write(tmp_path, name, sessions.split("[agents.old]")[0])
    assert om("apply", "--no-prune", path).stdout.endswith("unchanged\n")
    assert om.status(f"{name}.old") == "running"
    assert "- prune" in om("diff", path, check=False).stdout.replace("  ", " ")
    assert om("apply", path).stdout.endswith("pruned 1\n")
    assert not om.pid_alive(old["os_pid"])
    assert list(agents(om, name)) == ["keep"]
    assert om.unit_property(old["unit"], "ActiveState") in ("inactive", "")
    om("stop", name)


def test_replicas_scale_up_and_down_leaving_existing_ones_alone(om: Overmind, name: str, tmp_path: Path) -> None:
    fleet = 'name = "{n}"\n[agents.worker]\ntype = "session"\ncommand = "exec sleep 300"\nreplicas = {r}\n'
    path = tmp_path / "fleet.toml"

    def scale(replicas: int) -> dict[str, str]:
        path.write_text(fleet.format(n=name, r=replicas))
        om("apply", str(path))
        running = must(lambda: (found := agents(om, name)) and len(found) == replicas
                       and {a["status"] for a in found.values()} == {"running"} and found, what=f"{replicas} up")
        return {agent: a["id"] for agent, a in running.items()}

    two = scale(2)
    assert list(two) == ["worker", "worker.2"]
    four = scale(4)
    assert list(four) == ["worker", "worker.2", "worker.3", "worker.4"]
    assert {k: four[k] for k in two} == two
    one = scale(1)
    assert one == {"worker": two["worker"]}
    om("kill", "--cascade", name)


def test_a_pipeline_keeps_running_after_every_overmind_process_is_killed(om: Overmind, name: str,
                                                                        tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    path = write(tmp_path, name, f"""
        [agents.first]
        command = "echo waiting; while [ ! -e {gate} ]; do sleep 0.05; done; echo first done"
        [agents.second]
        command = "echo second ran"
        depends_on = ["first"]
    """)
    watcher = subprocess.Popen([sys.executable, "-m", "overmind", "apply", "--wait", path], env=om.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    must(lambda: agents(om, name).get("first", {}).get("status") == "running", what="the first stage to run")
    os.killpg(watcher.pid, signal.SIGKILL)
    watcher.wait()
    assert agents(om, name)["second"]["status"] == "waiting"
    gate.touch()
    assert om("wait", name).returncode == 0
    assert [m for _, _, m in timeline(om, name) if "ran" in m or "done" in m] == ["first done", "second ran"]


def test_two_concurrent_applies_of_one_blueprint_act_once(om: Overmind, name: str, tmp_path: Path) -> None:
    path = write(tmp_path, name, LINEAR + '[agents.server]\ntype = "session"\ncommand = "echo up; exec sleep 300"\n')
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: om("apply", path), range(2)))
    outputs = sorted(r.stdout.split(" ")[0] for r in results)
    assert outputs == ["Pipeline", "Started"]
    om("wait", f"{name}.deploy")
    assert len(agents(om, name)) == 4
    messages = [m for _, _, m in timeline(om, name)]
    assert messages.count("up") == 1 and messages.count("stage 1: setup complete") == 1
    om("stop", name)


def test_stop_and_kill_end_every_agent_of_a_blueprint(om: Overmind, name: str, tmp_path: Path) -> None:
    path = write(tmp_path, name, """
        [agents.a]
        type = "session"
        command = "exec sleep 300"
        [agents.b]
        type = "session"
        command = "exec sleep 300"
        depends_on = ["a"]
    """)
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
    om("apply", write(tmp_path, name, f"""
        [agents.flaky]
        command = "n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}; [ $n -ge 2 ]"
        restart = "on-failure"
        backoff = "50ms"
        [agents.after]
        command = "echo after ran"
        depends_on = ["flaky"]
    """))
    assert om("wait", name).returncode == 0
    assert counter.read_text().strip() == "3"
    assert "after ran" in [m for _, _, m in timeline(om, name)]


def test_a_task_timeout_fails_it_as_a_oneshot_unit(om: Overmind, name: str, tmp_path: Path) -> None:
    om("apply", write(tmp_path, name, """
        [agents.slow]
        command = "sleep 30"
        timeout = "1s"
        memory_max = "64M"
    """))
    unit = f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}.slow.service"
    assert om.unit_property(unit, "Type") == "oneshot"
    assert om.unit_property(unit, "MemoryMax") == str(64 * 1024**2)
    escaped_prefix = om.env["OVERMIND_UNIT_PREFIX"].replace("-", "\\x2d")
    assert om.unit_property(unit, "Slice") == f"{escaped_prefix}-{om.info(name)['id']}.slice"
    assert om("wait", name, check=False).returncode == 1
    assert (agents(om, name)["slow"]["status"], agents(om, name)["slow"]["reason"]) == ("crashed", "timeout")


def test_gc_keeps_a_running_pipelines_agents_and_forgets_a_finished_one(om: Overmind, name: str,
                                                                        tmp_path: Path) -> None:
    om("apply", write(tmp_path, f"{name}-a", LINEAR))
    om("apply", write(tmp_path, f"{name}-b", 'name = "{}"\n[agents.done]\ncommand = "true"\n'
                                              '[agents.serve]\ntype = "session"\ncommand = "exec sleep 300"\n'
                      .format(f"{name}-b")))
    om("wait", f"{name}-a")
    must(lambda: agents(om, f"{name}-b")["done"]["status"] == "stopped", what="b.done finished")
    removed = {m["name"] for m in om.json("gc")}
    assert {f"{name}-a", f"{name}-a.setup", f"{name}-a.build", f"{name}-a.deploy"} <= removed
    assert f"{name}-b.done" not in removed
    assert om("diff", str(tmp_path / f"{name}-b.toml")).returncode == 0
    om("kill", name + "-b")
