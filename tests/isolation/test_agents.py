"""Agent CLIs get a worktree of their own by default inside a git repository (the real claude CLI
against the fake Messages API); --no-worktree keeps them in the checkout."""

from __future__ import annotations

import pytest

from tests.isolation.conftest import commit
from tests.isolation.conftest import git as run_git
from tests.sessions.conftest import Claude, claude, claude_bin, fake_api  # noqa: F401 (fixtures)

pytestmark = pytest.mark.systemd


def test_an_agent_in_a_repository_works_in_its_own_worktree_unless_told_not_to(claude: Claude,  # noqa: F811
                                                                                 name: str) -> None:
    run_git(claude.cwd, "init", "--quiet", "--initial-branch=main")
    commit(claude.cwd, {"README.md": "hi\n"})
    claude.run(name, "hello there")
    assert claude.om("wait", name).returncode == 0
    info = claude.om.info(name)
    assert info["worktree"]["path"] == str(claude.cwd / ".overmind" / "worktrees" / name) == info["cwd"]
    assert info["branch"] == f"overmind/{name}" and set(info["ports"]) == {"PORT"}
    assert claude.om("result", name).stdout == "echo: hello there\n"
    claude.run(f"{name}-here", "hello again", "--no-worktree")
    assert claude.om("wait", f"{name}-here").returncode == 0
    here = claude.om.info(f"{name}-here")
    assert here["worktree"] is None and here["cwd"] == str(claude.cwd)
