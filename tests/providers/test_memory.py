"""Memory with every agent CLI that can take it (claude's is tests/akasha/test_agent_missions.py):
the relevant memories are told before the agent starts, the Akasha MCP server is among its tools,
and what the run did is remembered when it ends."""

from __future__ import annotations

import json
import secrets
import subprocess

import pytest

from tests.helpers import must
from tests.providers.conftest import Agent

pytest.importorskip("chromadb", reason="Akasha is not installed (scripts/install-akasha.sh)")


def _repository(agent: Agent) -> str:
    """The agent's directory as a git repository with a remote of its own: its memory scope."""
    remote = f"https://git.example.com/team/app-{secrets.token_hex(4)}.git"
    author = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["remote", "add", "origin", remote],
                 [*author, "commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run(["git", "-C", str(agent.cwd), *args], check=True, capture_output=True)
    return remote.removeprefix("https://").removesuffix(".git")


@pytest.mark.parametrize("agent", ["codex", "gemini"], indirect=True)
def test_a_mission_is_told_its_memories_has_the_memory_tools_and_feeds_its_result(agent: Agent, name: str) -> None:
    scope = _repository(agent)
    agent.options.remove("--no-memory")
    relevant = "The parser tests time out on CI unless PARSER_FAST=1 is set in the environment."
    agent.om("akasha", "remember", relevant, "--scope", scope, "--kind", "pitfall")
    started = agent.run(name, "Fix the flaky parser tests that keep timing out in CI")
    assert agent.om("wait", name, timeout=120).returncode == 0
    asked = [text for r in agent.fake.requests if "Fix the flaky parser" in (text := json.dumps(r))]
    told = [text for text in asked if relevant in text]  # the turn's requests (not the CLI's own, for a title)
    assert told and all("recall" in text and "remember" in text for text in told), agent.om.logs(name)  # MCP tools
    assert any(line.startswith("[memory] consulted 1 memory: ") for line in agent.om.logs(name))
    listed = lambda: json.loads(agent.om("akasha", "ls", "--scope", scope, "--json").stdout)  # noqa: E731
    fed = must(lambda: [m for m in listed() if m["mission"] == started["id"]], 60, "the fed memory")
    assert fed[0]["text"].startswith("Task: Fix the flaky parser tests that keep timing out in CI\nResult: echo: ")
