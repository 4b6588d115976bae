"""A quest run by the real Claude CLI: quest ls shows what it cost."""

from __future__ import annotations

from tests.sessions.conftest import Claude


def test_quest_ls_shows_what_an_agent_quest_cost(claude: Claude, name: str) -> None:
    claude.om("quest", "run", "--provider", "claude", "--name", name, "--cwd", str(claude.cwd),
              "-e", f"HOME={claude.home}", "--wait", "hello there")
    row = next(r for r in claude.om.json("quest", "ls") if r["name"] == name)
    assert (row["provider"], row["status"], row["exit_code"]) == ("claude", "stopped", 0)
    assert row["cost_usd"] > 0
    assert f"${row['cost_usd']:.4f}" in claude.om("quest", "ls").stdout
