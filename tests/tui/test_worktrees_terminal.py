"""The real `overmind tui` in tmux: `:worktrees`, a mission's commit shown live, the worktree's
diff with hostile names and escape codes shown as text, a merge from the keyboard, and the
removal of a worktree with uncommitted work refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import Overmind, must
from tests.isolation.conftest import git as run_git
from tests.isolation.conftest import repository
from tests.sessions.terminal import Tmux
from tests.tui.test_terminal import terminal  # noqa: F401 (a fixture: a real terminal, without colour)

pytestmark = pytest.mark.systemd
MARKUP_NAME = "[bold red]boom.txt"  # Rich markup in a file name: shown as it is, never obeyed


def test_a_missions_commit_shows_live_its_diff_as_text_m_merges_and_removal_of_a_dirty_one_is_refused(
        om: Overmind, terminal: Tmux, name: str, tmp_path: Path) -> None:  # noqa: F811
    repo = repository(tmp_path / "app")
    gate = tmp_path / "gate"
    script = (f"while [ ! -e {gate} ]; do sleep 0.1; done; printf '\\033[31mred\\033[0m\\n' > '{MARKUP_NAME}'; "
              "printf '<script>alert(1)</script>\\n' >> README.md; git add -A; "
              "git -c user.name=agent -c user.email=agent@example.com commit -q -m 'the [b]work[/b]'; sleep 300")
    om.run(script, "--worktree", "--name", name, "--cwd", str(repo))
    must(lambda: name in {row["name"] for row in om.json("worktree", "ls")}, what="the worktree")
    # wide: the columns fit the longest of every worktree other tests left, not only this one's
    terminal.start(sys.executable, "-m", "overmind", "tui", columns=400, rows=35)
    terminal.tmux("set-option", "-s", "escape-time", "0")
    terminal.wait_for("missions(")
    terminal.keys(":")
    must(lambda: terminal.screen().splitlines()[-2].startswith(":"), what="the command bar")
    terminal.type("wt")
    terminal.wait_for(f"overmind/{name[:20]}")
    terminal.keys("/")
    must(lambda: terminal.screen().splitlines()[-2].startswith("/"), what="the filter bar")
    terminal.type(name)  # this test's worktree alone, the cursor on it
    terminal.wait_for("worktrees(1)")
    terminal.wait_for("+0/-0 clean")
    gate.touch()
    terminal.wait_for("+1/-0 clean")  # the agent's commit, live
    terminal.keys("Enter")
    screen = terminal.wait_for(MARKUP_NAME)  # the name as it is: no markup obeyed
    assert "+^[[31mred^[[0m" in screen and "the [b]work[/b]" in screen and "+<script>alert(1)</script>" in screen
    terminal.keys("m")
    terminal.wait_for(f"Merge overmind/{name}")
    terminal.keys("y")
    terminal.wait_for("merged ")  # the notice (wrapped: the name is long)
    terminal.wait_for("+0/-1 clean")  # and the diff read again: all of it is in main now
    assert run_git(repo, "show", f"main:{MARKUP_NAME}") == "\x1b[31mred\x1b[0m"

    terminal.keys("Escape")
    terminal.wait_for("worktrees(1)")
    (repo / ".overmind" / "worktrees" / name / "draft.txt").write_text("not committed yet\n")
    om("stop", name)  # no mission in it any more, only its work holds it; its end has the row read again
    terminal.wait_for("1 uncommitted")
    terminal.keys("C-d")
    terminal.wait_for(f"Remove worktree {name}")
    terminal.keys("y")
    terminal.wait_for("uncommitted change")  # refused: the worktree and its draft stay
    assert (repo / ".overmind" / "worktrees" / name / "draft.txt").exists()
