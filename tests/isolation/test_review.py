"""A worktree as a reviewer reads it (its diff per file, its commits) and as the control towers
keep it (a board of rows, a watch that says which changed), on real git repositories."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from overmind.control import worktrees
from overmind.control.worktree_board import Board
from overmind.control.worktree_watch import EVERYTHING, WorktreeWatch
from overmind.isolation.review import parse_lines, parse_summary, split_patch
from tests.isolation.conftest import commit
from tests.isolation.conftest import git as run_git

HOSTILE = '<img src=x onerror=alert(1)> "quoted"\tname.txt'


def made(repo: Path, name: str) -> Path:
    return Path(worktrees.create(name, cwd=str(repo)).path)


def test_the_diff_is_split_per_file_with_counts_renames_binaries_and_untracked_files(repo: Path) -> None:
    path = made(repo, "review")
    run_git(path, "mv", "README.md", "GUIDE.md")
    commit(path, {"src/app.txt": "v1\nv2\n<script>alert(1)</script>\n", "logo.bin": ""}, "work")
    (path / "logo.bin").write_bytes(b"\x00\x01\x02\xff")
    (path / HOSTILE).write_text("line one\n\x1b[31mred\n")  # untracked, with a hostile name
    found = {f.path: f for f in worktrees.files("review")}
    assert set(found) == {"GUIDE.md", "src/app.txt", "logo.bin", HOSTILE}
    assert (found["GUIDE.md"].status, found["GUIDE.md"].old_path) == ("renamed", "README.md")
    assert (found["src/app.txt"].added, found["src/app.txt"].removed) == (2, 0)
    assert [(line.kind, line.text, line.old, line.new) for line in found["src/app.txt"].lines] == [
        ("hunk", "@@ -1 +1,3 @@", None, None), ("ctx", "v1", 1, 1), ("add", "v2", None, 2),
        ("add", "<script>alert(1)</script>", None, 3)]
    assert found["logo.bin"].binary and found["logo.bin"].lines == ()
    assert found[HOSTILE].status == "added" and [line.text for line in found[HOSTILE].lines[1:]] == [
        "line one", "\x1b[31mred"]
    assert worktrees.review("review").to_json()["files"][1]["path"] in found  # the JSON of `worktree diff --json`


def test_a_line_that_looks_like_a_file_header_stays_inside_its_file() -> None:
    patch = ("diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-old\n+diff --git a/y b/y\n"
             " same\n\\ No newline at end of file\n")
    sections = split_patch(patch)
    assert len(sections) == 1
    assert [(line.kind, line.text) for line in parse_lines(sections[0])] == [
        ("hunk", "@@ -1,2 +1,2 @@"), ("del", "old"), ("add", "diff --git a/y b/y"), ("ctx", "same"),
        ("note", "No newline at end of file")]
    summary = ":100644 100644 a b M\0x\0:100644 100644 c d R090\0old\0new\0" "1\t1\tx\0" "3\t0\t\0old\0new\0"
    assert parse_summary(summary) == [("x", None, "modified", 1, 1), ("new", "old", "renamed", 3, 0)]


def test_the_commits_on_its_branch_newest_first_whatever_their_message_holds(repo: Path) -> None:
    path = made(repo, "history")
    commit(path, {"a.txt": "1"}, "first <b>commit</b>")
    commit(path, {"a.txt": "2"}, "second \x1b[2J commit")
    found = worktrees.commits("history")
    assert [c.subject for c in found] == ["second \x1b[2J commit", "first <b>commit</b>"]
    assert found[0].author == "test" and abs(found[0].at - time.time()) < 120 and len(found[0].sha) == 40
    commit(repo, {"b.txt": "base moved"}, "on main")
    assert len(worktrees.commits("history")) == 2  # the base's own commits are not the worktree's


def test_reading_a_worktree_never_writes_its_index(repo: Path) -> None:
    path = made(repo, "quiet")
    (path / "src" / "app.txt").write_text("changed\n")
    index = Path(run_git(path, "rev-parse", "--path-format=absolute", "--git-path", "index"))
    os.utime(path / "src" / "app.txt")  # stat info the index does not have: git status would refresh it
    before = index.stat().st_mtime_ns
    worktrees.listing("quiet")
    worktrees.files("quiet")
    assert index.stat().st_mtime_ns == before


def test_the_board_shows_what_worktree_ls_shows_and_reads_git_again_only_when_asked(repo: Path) -> None:
    path = made(repo, "kept")
    made(repo, "other")
    board = Board()
    fresh = {row["name"]: row for row in board.rows()}
    listed = {w.data["name"]: w.data for w in worktrees.listing()}
    assert fresh == listed
    board.kept = True
    board.rows()
    (path / "new.txt").write_text("work\n")
    assert board.rows("kept")[0]["changes"] == []  # kept: not read again on its own
    assert board.refresh(["kept", "other"]) == {"kept"}  # what changed
    assert board.rows("kept")[0]["changes"] == ["?? new.txt"]


@pytest.mark.systemd
def test_the_watch_tells_a_commit_a_new_worktree_and_edits_in_a_focused_one(repo: Path, run_env: dict[str, str],
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", run_env["XDG_RUNTIME_DIR"])
    path = made(repo, "watched")

    async def scenario() -> None:
        from overmind.control.feed import Feed

        board = Board()
        async with Feed() as feed:
            watch = WorktreeWatch(board, feed)
            await watch.start()
            told = watch.subscribe()
            try:
                board.rows()
                started = time.monotonic()
                commit(path, {"feature.txt": "done\n"}, "the agent's commit")
                assert "watched" in await _next(told)
                assert time.monotonic() - started < 2.0
                assert board.rows("watched")[0]["ahead"] == 1

                await asyncio.to_thread(made, repo, "newcomer")
                assert EVERYTHING in await _until(told, lambda names: EVERYTHING in names)

                (path / "notes.txt").write_text("an edit nobody reports\n")
                watch.focus("watched")
                await _until(told, lambda names: "watched" in names and board.work("watched")["changes"])
                assert board.rows("watched")[0]["changes"] == ["?? notes.txt"]
            finally:
                await watch.close()

    asyncio.run(scenario())


async def _next(told: Any, timeout: float = 10.0) -> set[str]:
    names: set[str] = await asyncio.wait_for(anext(told), timeout)
    return names


async def _until(told: Any, condition: Any, timeout: float = 10.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while True:
        names = await _next(told, max(deadline - time.monotonic(), 0.1))
        if condition(names):
            return names
