"""Pure pieces of the worktree and memory towers: caret notation, the TUI's diff lines, the
dashboard's grouping by repository, the commands' aliases."""

from __future__ import annotations

import pytest

pytest.importorskip("textual")
pytest.importorskip("aiohttp")

from overmind import format as fmt  # noqa: E402
from overmind.control.worktrees import Review  # noqa: E402
from overmind.isolation.review import Commit, DiffLine, FileDiff  # noqa: E402
from overmind.tui import commands  # noqa: E402
from overmind.tui.screens.diff import render  # noqa: E402

ROW = {"name": "fix", "branch": "overmind/fix", "base": "main", "missing": False, "dirty": True,
       "changes": [" M a.py"], "ahead": 2, "behind": 0}


def test_control_characters_show_in_caret_notation_and_tabs_and_line_breaks_stay() -> None:
    assert fmt.caret("\x1b[2J\x07\x7f") == "^[[2J^G^?"
    assert fmt.caret("a\tb\nc") == "a\tb\nc"


def test_the_diff_pane_shows_markup_and_escapes_as_text_and_knows_where_each_file_starts() -> None:
    files = [FileDiff("[bold]a.py", None, "modified", 1, 1,
                      (DiffLine("hunk", "@@ -1 +1 @@", None, None), DiffLine("del", "[red]old", 1, None),
                       DiffLine("add", "\x1b[31mnew", None, 1))),
             FileDiff("logo.png", None, "added", None, None, ())]
    lines, starts = render(ROW, Review("fix", files, [Commit("a" * 40, "[i]me", 0.0, "subject [u]x[/u]")]))
    plain = [line.plain for line in lines]
    assert "[bold]a.py" in plain[starts[0]] and "+1 -1" in plain[starts[0]]
    assert plain[starts[0] + 2].endswith("-[red]old") and plain[starts[0] + 3].endswith("+^[[31mnew")
    assert "logo.png" in plain[starts[1]] and "binary" in plain[starts[1]]
    assert any("subject [u]x[/u]" in line for line in plain)
    assert all(not line.spans or all(span.style for span in line.spans) for line in lines)


def test_the_dashboard_groups_worktrees_by_repository_newest_first() -> None:
    from overmind.dashboard.worktrees import groups

    rows = [{"repo": "/b", "created_at": 1.0, "name": "x"}, {"repo": "/a", "created_at": 1.0, "name": "y"},
            {"repo": "/b", "created_at": 2.0, "name": "z"}]
    assert [(repo, [r["name"] for r in members]) for repo, members in groups(rows)] == [("/a", ["y"]),
                                                                                        ("/b", ["z", "x"])]


def test_worktrees_and_memory_have_commands_aliases_and_number_keys() -> None:
    assert commands.parse("wt").verb.name == "worktrees" and commands.parse(":mem").verb.name == "memory"
    assert {v.name: v.key for v in commands.VERBS}["worktrees"] == "6"
    assert {v.name: v.key for v in commands.VERBS}["memory"] == "7"
    assert commands.complete("wor", []) == "worktrees"
