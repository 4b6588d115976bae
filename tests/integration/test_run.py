"""`overmind run`: missions become transient user units, with the environment and limits asked for."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import Overmind, must

FINISHED = ("stopped", "crashed", "killed")


def finished(om: Overmind, ref: str, timeout: float = 15) -> dict:
    return must(lambda: (info := om.info(ref))["status"] in FINISHED and info, timeout, f"{ref} to finish")


def test_run_starts_a_transient_user_unit_named_after_the_mission(om: Overmind, name: str) -> None:
    started = om.run("sleep 30", "--name", name)
    assert started["name"] == name
    assert started["unit"] == f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}.service"
    assert len(started["id"]) == 8
    # run returns once systemd has the unit and its start job, which a busy manager may not have
    # begun yet (jobs read first: a job that is gone by then has started the unit)
    jobs = om.systemctl("list-jobs", "--no-legend", started["unit"]).stdout
    assert started["unit"] in jobs or om.unit_property(started["unit"], "ActiveState") in ("activating", "active")
    must(lambda: om.unit_property(started["unit"], "ActiveState") == "active", what="the unit running")
    assert om.unit_property(started["unit"], "Transient") == "yes"
    om("stop", name)


def test_plain_output_is_one_line_with_the_id(om: Overmind, name: str) -> None:
    out = om("run", "--name", name, "true").stdout
    assert out.count("\n") == 1
    assert om.info(name)["id"] in out


def test_generated_names_are_adjective_noun_and_unique(om: Overmind) -> None:
    names = {om.run("true")["name"] for _ in range(5)}
    assert len(names) == 5
    assert all(n.count("-") == 1 for n in names)


def test_shell_chains_short_circuit_and_crash(om: Overmind, name: str) -> None:
    om.run("echo before && false && echo after", "--name", name)
    info = finished(om, name)
    assert (info["status"], info["exit_code"]) == ("crashed", 1)
    lines = om.logs(name)
    assert "before" in lines
    assert "after" not in lines


def test_quoting_reaches_the_shell_intact(om: Overmind, name: str) -> None:
    om.run("""printf '%s|' "a b" 'c;d' $HOME""", "--name", name)
    finished(om, name)
    assert om.logs(name)[0] == f"a b|c;d|{os.path.expanduser('~')}|"


def test_several_words_are_quoted_as_one_argv(om: Overmind, name: str) -> None:
    om("run", "--name", name, "--", "printf", "%s|", "x; echo injected", "$HOME")
    finished(om, name)
    assert om.logs(name)[0] == "x; echo injected|$HOME|"


def test_cwd_is_honoured(om: Overmind, name: str, tmp_path) -> None:
    om.run("pwd", "--name", name, "--cwd", str(tmp_path))
    finished(om, name)
    assert om.logs(name)[0] == str(tmp_path)
    assert om.info(name)["cwd"] == str(tmp_path)


def test_mission_sees_its_id_name_and_env(om: Overmind, name: str) -> None:
    mission = om.run('echo "$OVERMIND_MISSION_ID $OVERMIND_MISSION_NAME $GREETING"', "--name", name,
                     "--env", "GREETING=hello world")
    finished(om, name)
    assert om.logs(name)[0] == f"{mission['id']} {name} hello world"


@pytest.mark.parametrize("bad", ["../etc", "a/b", "with space", "-dash", "tab\tname", "x" * 64, "nul\x01"])
def test_bad_names_are_refused_without_a_unit(om: Overmind, bad: str) -> None:
    proc = om("run", "--name", bad, "true", check=False)
    assert proc.returncode != 0
    assert proc.stderr.startswith("overmind: invalid mission name")
    assert "Traceback" not in proc.stderr
    assert om.systemctl("list-units", "--all", "--plain", "--no-legend", f"{om.env['OVERMIND_UNIT_PREFIX']}@*").stdout \
        .count(bad) == 0


def test_missing_cwd_is_a_clear_error_and_starts_nothing(om: Overmind, name: str, tmp_path) -> None:
    proc = om("run", "--name", name, "--cwd", str(tmp_path / "nope"), "true", check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == f"overmind: working directory '{tmp_path / 'nope'}' does not exist"
    assert om("info", name, check=False).returncode == 1
    assert om.unit_property(f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}.service", "LoadState") == "not-found"


@pytest.mark.parametrize("option,value,message", [
    ("--env", "NOEQUALS", "invalid environment assignment"),
    ("--env", "OVERMIND_MISSION_ID=x", "reserved"),
    ("--memory-max", "lots", "invalid memory limit"),
    ("--cpu-quota", "-5", "invalid CPU quota"),
    ("--timeout", "soon", "invalid timeout"),
])
def test_bad_options_give_one_line_errors(om: Overmind, option: str, value: str, message: str) -> None:
    proc = om("run", option, value, "true", check=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_running_name_cannot_be_reused(om: Overmind, name: str) -> None:
    om.run("sleep 30", "--name", name)
    proc = om("run", "--name", name, "true", check=False)
    assert proc.returncode == 1
    assert f"a mission named '{name}' is already running" in proc.stderr
    om("stop", name)


def test_a_finished_name_can_be_reused_and_logs_stay_apart(om: Overmind, name: str) -> None:
    first = om.run("echo first; exit 3", "--name", name)
    finished(om, name)
    second = om.run("echo second", "--name", name)
    finished(om, second["id"])
    assert om.logs(first["id"])[0] == "first"
    assert om.logs(name)[0] == "second"
    assert om.info(first["id"])["exit_code"] == 3


def test_concurrent_runs_do_not_collide(om: Overmind) -> None:
    with ThreadPoolExecutor(max_workers=12) as pool:
        procs = list(pool.map(lambda _: om("run", "--json", "true", check=False), range(24)))
    assert [p.stderr for p in procs if p.returncode] == []
    ids = {json.loads(p.stdout)["id"] for p in procs}
    names = {json.loads(p.stdout)["name"] for p in procs}
    assert len(ids) == len(names) == 24


def test_limits_become_unit_properties(om: Overmind, name: str) -> None:
    unit = om.run("sleep 30", "--name", name, "--memory-max", "64M", "--cpu-quota", "50%",
                  "--tasks-max", "20", "--timeout", "5min")["unit"]
    assert om.unit_property(unit, "MemoryMax") == str(64 * 1024 * 1024)
    assert om.unit_property(unit, "CPUQuotaPerSecUSec") == "500ms"
    assert om.unit_property(unit, "TasksMax") == "20"
    assert om.unit_property(unit, "RuntimeMaxUSec") == "5min"
    assert om.info(name)["limits"] == {"memory_max": 64 * 1024 * 1024, "cpu_quota": 50, "tasks_max": 20,
                                       "timeout": 300.0}
    om("stop", name)


def test_memory_limit_kills_an_allocator_and_says_so(om: Overmind, name: str) -> None:
    om.run("python3 -c 'b = []\nwhile True: b.append(bytearray(1 << 20))'", "--name", name, "--memory-max", "40M")
    info = finished(om, name, timeout=30)
    assert (info["status"], info["reason"]) == ("crashed", "memory limit")
    assert "--- killed: memory limit reached (MemoryMax) ---" in om.logs(name)
    assert "crashed (memory limit)" in om("ps", "--all").stdout
    waited = om("wait", name, check=False)
    assert (waited.returncode, waited.stdout) == (137, "finished: crashed (memory limit), exit code 137\n")


def test_tasks_max_is_enforced(om: Overmind, name: str) -> None:
    unit = om.run("i=0; while [ $i -lt 30 ]; do sleep 30 & i=$((i+1)); done; wait", "--name", name,
                  "--tasks-max", "5")["unit"]
    # The sixth task is refused: either the shell reports it and ends, or it sits at the limit.
    must(lambda: any("Cannot fork" in line for line in om.logs(name))
         or om.unit_property(unit, "TasksCurrent") == "5", what="the task limit to be reached")
    assert om.unit_property(unit, "TasksCurrent") in ("5", "1", "", "[not set]")
    om("kill", name)


def test_timeout_ends_a_long_mission(om: Overmind, name: str) -> None:
    om.run("sleep 60", "--name", name, "--timeout", "1s")
    info = finished(om, name)
    assert (info["status"], info["reason"]) == ("crashed", "timeout")
