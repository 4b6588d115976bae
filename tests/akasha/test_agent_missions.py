"""Agent missions consult the memory before they start and feed it when they end: the real claude
CLI against the fake Messages API, whose requests show what the agent was told."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest

from overmind.akasha.views import PROMPT_HEADER
from tests.helpers import Overmind, must
from tests.sessions.conftest import Claude


@pytest.fixture
def repo(claude: Claude) -> str:
    """The mission's working directory as a git repository with a remote of its own: its scope."""
    remote = f"https://git.example.com/team/app-{secrets.token_hex(4)}.git"
    # A first commit: an agent in a repository works in a worktree of its own, made from HEAD.
    author = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["remote", "add", "origin", remote],
                 [*author, "commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run(["git", "-C", str(claude.cwd), *args], check=True, capture_output=True)
    return remote.removeprefix("https://").removesuffix(".git")


def init_event(om: Overmind, name: str) -> dict[str, object]:
    """The claude CLI's own account of its start: its tools and MCP servers."""
    events = (json.loads(line).get("event") or {} for line in om("logs", name, "--json").stdout.splitlines())
    return next(event for event in events if event.get("type") == "system" and event.get("subtype") == "init")


def memories(om: Overmind, scope: str) -> list[dict[str, object]]:
    return json.loads(om("akasha", "ls", "--scope", scope, "--json").stdout)


def test_a_mission_is_told_the_relevant_memories_and_remembers_its_result(claude: Claude, name: str,
                                                                          repo: str) -> None:
    om = claude.om
    relevant = "The parser tests time out on CI unless PARSER_FAST=1 is set in the environment."
    om("akasha", "remember", relevant, "--scope", repo, "--kind", "pitfall")
    om("akasha", "remember", "The logo is drawn in Inkscape and exported as SVG.", "--scope", repo)
    started = claude.run(name, "Fix the flaky parser tests that keep timing out in CI")
    assert om("wait", name).returncode == 0

    system = claude.fake.systems[-1]
    assert PROMPT_HEADER in system and relevant in system and "Inkscape" not in system
    init = init_event(om, name)
    assert init["mcp_servers"] == [{"name": "akasha", "status": "connected", "source": "dynamic"}]
    assert {"mcp__akasha__recall", "mcp__akasha__remember"} <= set(init["tools"])  # type: ignore[arg-type]
    consulted = [line for line in om.logs(name) if line.startswith("[memory] consulted 1 memory: ")]
    assert len(consulted) == 1

    fed = must(lambda: [m for m in memories(om, repo) if m["mission"] == started["id"]], what="the fed memory")
    assert len(fed) == 1 and fed[0]["kind"] == "summary" and fed[0]["agent"] == name
    assert fed[0]["text"] == ("Task: Fix the flaky parser tests that keep timing out in CI\n"
                              "Result: echo: Fix the flaky parser tests that keep timing out in CI")
    assert "[memory] remembering 1 memory of this run" in om.logs(name)


def test_a_resumed_session_is_told_what_its_start_was_told_without_asking_the_memory_again(
        claude: Claude, name: str, repo: str) -> None:
    om = claude.om
    relevant = "The staging database is reset every night at 02:00 UTC; never keep test data there."
    memory = json.loads(om("akasha", "remember", relevant, "--scope", repo, "--json").stdout)["memory"]
    claude.run(name, "Plan where to keep the staging test data", session=True)
    assert claude.answer(name, "go on")["text"] == "echo: go on"
    assert relevant in claude.fake.systems[-1]
    om("akasha", "forget", memory["id"])  # what the service would answer now differs
    om("restart", name)  # the conversation is resumed by a new CLI process
    must(lambda: om.info(name)["status_text"] == "waiting for input", 60, "the session back")
    assert claude.answer(name, "and then")["text"] == "echo: and then"
    assert relevant in claude.fake.systems[-1]  # the same system prompt as the conversation began with
    assert len([line for line in om.logs(name) if line.startswith("[memory] consulted 1 memory: ")]) == 1
    om("stop", name)


def test_an_agent_teaches_the_memory_through_its_mcp_tools(claude: Claude, name: str, repo: str) -> None:
    lesson = "Database migrations must be reversible; write the down step first."
    claude.fake.on("teach", tool=("mcp__akasha__remember", {"text": lesson, "kind": "decision"}))
    started = claude.run(name, "teach the team about migrations")
    claude.om("wait", name)
    assert claude.om("result", name).stdout.startswith("tool said: Remembered as ")
    taught = next(m for m in memories(claude.om, repo) if m["text"] == lesson)
    assert taught["kind"] == "decision" and taught["agent"] == name and taught["mission"] == started["id"]


def test_files_an_agent_touched_are_logged_with_what_it_left(claude: Claude, name: str, repo: str) -> None:
    notes = Path(claude.cwd) / "docs" / "notes.md"
    claude.fake.on("write the notes", tool=("Write", {"file_path": str(notes), "content": "# Notes\n"}))
    started = claude.run(name, "write the notes", "--allowed-tools", "Write")
    claude.om("wait", name)
    assert notes.read_text() == "# Notes\n"
    log = must(lambda: (found := json.loads(claude.om("akasha", "files", str(notes.parent), "--json").stdout))
               ["memories"] and found, what="the run's memory")
    assert [(m["id"], m["name"], m["actions"]) for m in log["missions"]] == \
        [(started["id"], name, {"write": [str(notes)]})]
    assert [m["mission"] for m in log["memories"]] == [started["id"]]
    assert "Files changed: " + str(notes) in log["memories"][0]["text"]
    table = claude.om("akasha", "files", str(notes)).stdout
    assert name in table and "write 1" in table and "what they taught:" in table


def test_a_failed_mission_is_remembered_as_a_pitfall_with_its_reason(claude: Claude, name: str, repo: str) -> None:
    claude.fake.on("deploy", error=(500, "api_error", "upstream exploded"))
    started = claude.run(name, "deploy the staging stack")
    assert claude.om("wait", name, check=False).returncode == 1
    pitfall = must(lambda: next((m for m in memories(claude.om, repo) if m["mission"] == started["id"]), None),
                   what="the pitfall")
    assert pitfall["kind"] == "pitfall" and "failed" in pitfall["tags"]
    assert "Task: deploy the staging stack" in pitfall["text"] and "upstream exploded" in pitfall["text"]


def test_no_memory_means_nothing_consulted_and_nothing_fed(claude: Claude, name: str, repo: str) -> None:
    claude.om("akasha", "remember", "Secret sauce: the cache warms itself on Mondays.", "--scope", repo)
    claude.run(name, "tell me about the cache warming", "--no-memory")
    claude.om("wait", name)
    assert all(PROMPT_HEADER not in system for system in claude.fake.systems)
    assert init_event(claude.om, name)["mcp_servers"] == []
    assert [m["kind"] for m in memories(claude.om, repo)] == ["fact"]
    assert not any(line.startswith("[memory]") for line in claude.om.logs(name))
