"""The real `overmind tui` in tmux: `:worktrees`, a worktree's diff with hostile names and escape
codes shown as text, and a merge from the keyboard."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import Overmind, must
from tests.isolation.conftest import commit, repository
from tests.isolation.conftest import git as run_git
from tests.sessions.terminal import Tmux
from tests.tui.test_terminal import terminal  # noqa: F401 (a fixture: a real terminal, without colour)

pytestmark = pytest.mark.systemd


def test_the_diff_shows_names_and_escape_codes_as_text_and_m_merges(
        om: Overmind, terminal: Tmux, name: str, tmp_path: Path) -> None:  # noqa: F811
    repo = repository(tmp_path / "app")
    om("worktree", "add", name, "--cwd", str(repo))
    path = repo / ".overmind" / "worktrees" / name
    commit(path, {"[bold red]boom.txt": "\x1b[31mred\x1b[0m\n"}, "the [b]work[/b]")
    terminal.start(sys.executable, "-m", "overmind", "tui", columns=140, rows=35)
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
    terminal.keys("Enter")
    screen = terminal.wait_for("[bold red]boom.txt")  # the name as it is: no markup obeyed
    assert "+^[[31mred^[[0m" in screen and "the [b]work[/b]" in screen
    terminal.keys("m")
    terminal.wait_for(f"Merge overmind/{name}")
    terminal.keys("y")
    terminal.wait_for("merged ")  # the notice (wrapped: the name is long)
    terminal.wait_for("+0/-1 clean")  # and the diff read again: all of it is in main now
    assert run_git(repo, "show", "main:[bold red]boom.txt") == "\x1b[31mred\x1b[0m"
