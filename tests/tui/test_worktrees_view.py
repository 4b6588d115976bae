"""`:worktrees` with Textual's pilot, against real missions in real git worktrees: live rows, the
diff pane (hostile names as text, n/p, / search), its mission's logs, merge with confirmation, a
refused removal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from overmind.tui.app import Nexus
from overmind.tui.screens.diff import WorktreeDiff
from overmind.tui.screens.logs import Logs
from overmind.tui.screens.worktrees import Worktrees
from overmind.tui.widgets import Confirm
from tests.helpers import Overmind, must
from tests.isolation.conftest import git as run_git
from tests.isolation.conftest import repository
from tests.tui.conftest import cells_of, command_input, nexus, notices, until

pytestmark = [pytest.mark.systemd, pytest.mark.usefixtures("in_process")]
MARKUP_NAME = "[bold red]boom.txt"  # Rich markup in a file name: shown as it is, never obeyed


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return repository(tmp_path / "app")


def _run(coroutine: object) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 150))  # type: ignore[arg-type]


def rows(app: Nexus) -> dict[str, list[str]]:
    return cells_of(app, "#worktrees")


def pane_text(app: Nexus) -> list[str]:
    screen = app.screen
    assert isinstance(screen, WorktreeDiff)
    return [line.plain for line in screen.pane.lines]


async def command(pilot: Any, app: Nexus, text: str) -> None:
    await pilot.press("colon")
    command_input(app).value = text
    await pilot.press("enter")


def test_a_missions_commit_shows_live_and_its_diff_shows_names_as_text(om: Overmind, name: str, repo: Path) -> None:
    gate = repo.parent / "gate"
    script = (f"echo waiting for the gate; while [ ! -e {gate} ]; do sleep 0.1; done; printf 'x\\n' > '{MARKUP_NAME}'; "
              "printf '<script>alert(1)</script>\\n' >> README.md; git add -A; "
              "git -c user.name=agent -c user.email=agent@example.com commit -q -m 'the [b]agent[/b] commit'; "
              "sleep 300")
    om.run(script, "--worktree", "--name", name, "--cwd", str(repo))
    must(lambda: name in {row["name"] for row in om.json("worktree", "ls")}, what="the worktree")

    async def scenario() -> None:
        async with nexus(size=(140, 40)) as (app, pilot):
            await command(pilot, app, "wt")
            assert isinstance(app.screen, Worktrees)
            await until(pilot, lambda: name in rows(app) and "running" in rows(app)[name][3], what="the row")
            assert "+0/-0 clean" in rows(app)[name][4]
            screen = app.screen
            assert isinstance(screen, Worktrees)
            screen.table.move_cursor(row=list(rows(app)).index(name))
            await pilot.press("l")  # its mission's logs
            logs = await until(pilot, lambda: app.screen if isinstance(app.screen, Logs) else None, what="logs")
            assert f"logs({name}" in logs.crumb
            await until(pilot, lambda: any("waiting for the gate" in e.message for e in logs.entries), what="its log")
            await pilot.press("escape")
            assert isinstance(app.screen, Worktrees)
            gate.touch()
            await until(pilot, lambda: "+1/-0" in rows(app)[name][4], timeout=15, what="the commit, live")

            screen = app.screen
            assert isinstance(screen, Worktrees)
            screen.table.move_cursor(row=list(rows(app)).index(name))
            await pilot.press("enter")
            assert isinstance(app.screen, WorktreeDiff)
            await until(pilot, lambda: any(MARKUP_NAME in line for line in pane_text(app)),
                        what=f"the diff ({pane_text(app)[:8]}, {notices(app)})")
            lines = pane_text(app)
            assert any("the [b]agent[/b] commit" in line for line in lines)
            assert any(line.endswith("+<script>alert(1)</script>") for line in lines)
            await pilot.press("n")
            assert "file 1/2" in app.screen.crumb
            await pilot.press("n")
            assert "file 2/2" in app.screen.crumb
            await pilot.press("p")
            assert "file 1/2" in app.screen.crumb
            await pilot.press("slash")
            command_input(app).value = "alert"
            await pilot.press("enter")
            diff = app.screen
            assert isinstance(diff, WorktreeDiff)
            found = diff.pane.matches()  # marked, and the first shown
            assert "/alert" in diff.crumb and found and 0 <= found[0] - diff.pane.top < diff.pane.size.height

            await pilot.press("m")
            assert isinstance(app.screen, Confirm)
            await pilot.press("y")
            await until(pilot, lambda: f"merged overmind/{name} into main" in notices(app), what="the merge")
            assert run_git(repo, "show", f"main:{MARKUP_NAME}") == "x"

    _run(scenario())
    om("stop", name)


def test_removing_a_worktree_with_uncommitted_work_is_refused(om: Overmind, name: str, repo: Path) -> None:
    om("worktree", "add", name, "--cwd", str(repo))
    (repo / ".overmind" / "worktrees" / name / "draft.txt").write_text("unsaved\n")

    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await pilot.press("6")
            await until(pilot, lambda: name in rows(app), what="the row")
            await until(pilot, lambda: "1 uncommitted" in rows(app)[name][4], what="its work")
            screen = app.screen
            assert isinstance(screen, Worktrees)
            screen.table.move_cursor(row=list(rows(app)).index(name))
            await pilot.press("ctrl+d")
            assert isinstance(app.screen, Confirm)
            await pilot.press("y")
            refusal = f"worktree '{name}' has 1 uncommitted change"
            await until(pilot, lambda: refusal in notices(app), what="the refusal")
            assert name in rows(app)

    _run(scenario())
    assert (repo / ".overmind" / "worktrees" / name / "draft.txt").exists()
