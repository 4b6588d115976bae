"""The orchestrator: a real claude session, driven by the fake API, spawning and waiting on children."""

from __future__ import annotations

import json

from tests.helpers import must
from tests.sessions.conftest import Claude


def test_an_orchestrator_spawns_two_children_waits_and_reports(claude: Claude, name: str) -> None:
    kids = [f"{name}-a", f"{name}-b"]
    script = " && ".join([
        *(f"overmind run --parent {name} --name {kid} 'echo done-{kid}'" for kid in kids),
        f"overmind wait {kids[0]} {kids[1]}",
        *(f"overmind logs {kid} -n 2" for kid in kids),
    ])
    claude.fake.on("split the work", tool=("Bash", {"command": script, "description": "spawn and wait"}))
    out = claude.om("orchestrate", "--name", name, "--cwd", str(claude.cwd), "-e", f"HOME={claude.home}",
                    "please split the work").stdout
    assert f"stop:   overmind kill --cascade {name}" in out

    def finished_result() -> dict[str, object] | None:
        proc = claude.om("result", name, "--json", check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    result = must(finished_result, timeout=60, what="the orchestrator's result")
    assert result["is_error"] is False
    for kid in kids:
        assert f"done-{kid}" in result["text"]
    orchestrator = claude.om.info(name)
    children = claude.om.json("ps", "--children", name)
    assert sorted(c["name"] for c in children) == kids
    assert {(c["parent"], c["status"], c["exit_code"]) for c in children} == {(orchestrator["id"], "stopped", 0)}
    prompt = claude.fake.histories[0][0]
    assert prompt.startswith(f"You are the overmind orchestrator mission '{name}'")
    assert prompt.endswith("Task:\nplease split the work")
    claude.om("kill", "--cascade", name)


def test_orchestrate_needs_a_task(claude: Claude) -> None:
    proc = claude.om("orchestrate", check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == "overmind: no task given"


def test_a_cost_budget_refuses_children_once_spent(claude: Claude, name: str) -> None:
    claude.om.run("sleep 300", "--name", name, "--max-cost-usd", "0.000001")
    claude.run(f"{name}-1", "hello", "--parent", name)
    claude.om("wait", f"{name}-1")
    cost = json.loads(claude.om("result", f"{name}-1", "--json").stdout)["cost_usd"]
    assert cost and cost > 0.000001
    proc = claude.om("run", "--parent", name, "true", check=False)
    assert proc.returncode == 1
    assert f"mission '{name}' has spent ${cost:.2f} of its $0.00 budget: no more children" in proc.stderr
    claude.om("kill", "--cascade", name)


def test_a_claude_ritual_runs_the_agent_as_its_own_mission(claude: Claude, name: str) -> None:
    # A timer's run starts from the user manager, not from this shell: it gets its API settings explicitly.
    api = [f"--env={key}={claude.om.env[key]}" for key in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY",
                                                           "CLAUDE_CODE_MAX_RETRIES",
                                                           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC")]
    claude.om("ritual", "add", name, "--every", "1h", "--cwd", str(claude.cwd), "-e", f"HOME={claude.home}", *api,
              f"--env=PATH={claude.om.env['PATH']}", "--provider", "claude", "--max-turns", "3", "nightly review")
    try:
        claude.om("ritual", "run", name)
        agent = must(lambda: next((m for m in claude.om.json("ps") if m["provider"] == "claude"
                                   and m["command"] == "nightly review"), None), timeout=30, what="the agent mission")
        claude.om("wait", agent["id"])
        assert json.loads(claude.om("result", agent["id"], "--json").stdout)["text"] == "echo: nightly review"
    finally:
        claude.om("ritual", "rm", name)
