"""Agent CLIs as blueprint agents: the real claude CLI against the fake API, inside a pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import blueprint_file
from tests.sessions.conftest import Claude


def _apply(claude: Claude, name: str, tmp_path: Path, agents: dict[str, dict[str, Any]]) -> None:
    where = {"cwd": str(claude.cwd), "env": {"HOME": str(claude.home)}}
    agents = {agent: table | where if table.get("provider") == "claude" else table for agent, table in agents.items()}
    claude.om("apply", blueprint_file(tmp_path, name, agents))


def _messages(claude: Claude, name: str) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in claude.om("logs", name, "--json").stdout.splitlines()]
    return [(row["name"].rsplit(".", 1)[-1], row["message"]) for row in rows]


def test_a_claude_task_runs_between_shell_stages(claude: Claude, name: str, tmp_path: Path) -> None:
    _apply(claude, name, tmp_path, {
        "prepare": {"command": "echo prepared"},
        "review": {"provider": "claude", "prompt": "review the change", "depends_on": ["prepare"]},
        "publish": {"command": "echo published", "depends_on": ["review"]}})
    assert claude.om("wait", name).returncode == 0
    assert claude.om("result", f"{name}.review").stdout == "echo: review the change\n"
    messages = _messages(claude, name)
    order = [messages.index(("prepare", "prepared")), messages.index(("review", "echo: review the change")),
             messages.index(("publish", "published"))]
    assert order == sorted(order)


def test_a_dependent_starts_once_a_claude_session_takes_messages(claude: Claude, name: str,
                                                                 tmp_path: Path) -> None:
    _apply(claude, name, tmp_path, {
        "chat": {"provider": "claude", "type": "session"},
        "ask": {"command": f"overmind send {name}.chat --wait 'are you there'", "depends_on": ["chat"]}})
    assert claude.om("wait", f"{name}.ask").returncode == 0
    assert ("ask", "echo: are you there") in _messages(claude, name)
    claude.om("stop", name)
