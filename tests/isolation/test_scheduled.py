"""A scheduled agent (a ritual) works in one worktree named after the ritual, run after run,
instead of leaving a new worktree behind every time."""

from __future__ import annotations

import shlex
from pathlib import Path

from overmind import isolation
from overmind.mission.build import as_agent_run
from overmind.mission.spec import Isolation, MissionSpec


def agent(cwd: Path, mode: str = "auto", worktree: str | None = None) -> MissionSpec:
    return MissionSpec(command="review the open PRs", cwd=str(cwd), provider="claude",
                       isolation=Isolation(mode=mode, worktree=worktree))


def test_every_run_of_a_scheduled_agent_in_a_repository_works_in_the_worktree_named_after_its_ritual(
        repo: Path, tmp_path: Path) -> None:
    assert isolation.scheduled_worktree(agent(repo), "nightly") == "nightly"
    assert isolation.scheduled_worktree(agent(repo, worktree="shared"), "nightly") == "shared"
    assert isolation.scheduled_worktree(agent(repo, mode="none"), "nightly") is None
    (tmp_path / "plain").mkdir()
    assert isolation.scheduled_worktree(agent(tmp_path / "plain"), "nightly") is None
    words = shlex.split(as_agent_run(agent(repo), "nightly").command)
    assert "--worktree-name=nightly" in words and words[words.index("--") + 1] == "review the open PRs"
    assert "--no-worktree" in shlex.split(as_agent_run(agent(repo, mode="none")).command)
