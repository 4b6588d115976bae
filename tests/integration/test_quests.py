"""Quests: one-shot missions of type quest, waited on, and listed with their outcome."""

from __future__ import annotations

import json

from tests.helpers import Overmind, path_without
from tests.integration.test_run import finished


def test_quest_run_wait_blocks_and_exits_with_the_quest_code(om: Overmind, name: str) -> None:
    proc = om("quest", "run", "--name", name, "--wait", "echo working; sleep 0.3; exit 3", check=False)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("started quest ") and f"({name})" in lines[0]
    assert lines[1] == "finished: crashed (exit 3), exit code 3"
    assert om.logs(name)[0] == "working"
    assert om.info(name)["type"] == "quest"


def test_quest_ls_lists_only_quests_with_status_exit_code_and_duration(om: Overmind, name: str) -> None:
    om("quest", "run", "--name", f"{name}-ok", "--wait", "sleep 0.5")
    om("quest", "run", "--name", f"{name}-bad", "--wait", "exit 2", check=False)
    om("quest", "run", "--name", f"{name}-long", "sleep 30")
    om.run("true", "--name", f"{name}-task")
    finished(om, f"{name}-task")
    rows = {r["name"]: r for r in om.json("quest", "ls")}
    assert f"{name}-task" not in rows
    ok, bad, long = rows[f"{name}-ok"], rows[f"{name}-bad"], rows[f"{name}-long"]
    assert (ok["status"], ok["exit_code"], bad["status"], bad["exit_code"]) == ("stopped", 0, "crashed", 2)
    assert 0.5 <= ok["duration_s"] < 10
    assert (long["status"], long["exit_code"]) == ("running", None)
    assert ok["cost_usd"] is None and ok["provider"] == "raw"
    table = om("quest", "ls").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "STATUS", "EXIT", "DURATION", "COST", "STARTED", "COMMAND"]
    assert any(line.split()[1:4] == [f"{name}-bad", "crashed", "(exit"] for line in table)
    assert len(om.json("quest", "ls", "--last", "1")) == 1
    om("stop", f"{name}-long")


def test_quest_run_json_and_ps_show_the_quest_type(om: Overmind, name: str) -> None:
    started = json.loads(om("quest", "run", "--name", name, "--json", "sleep 30").stdout)
    assert started["name"] == name
    assert next(r for r in om.json("ps") if r["name"] == name)["type"] == "quest"
    om("stop", name)


def test_an_agent_cli_missing_from_path_is_a_clear_error_and_starts_nothing(om: Overmind, name: str) -> None:
    env = om.env | {"PATH": path_without("claude")}
    proc = Overmind(env)("quest", "run", "--name", name, "--provider", "claude", "review the code", check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == "overmind: claude is not installed (not found on PATH)"
    assert om("info", name, check=False).returncode == 1
