"""The worktree pages in a real headless Chromium, served by the real `overmind dashboard`: a
mission commits in its worktree and the open page shows the diff (hostile text as text), merge
from the page lands it on the base, and remove refuses a worktree with unsaved work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.test_browser import CHROMIUM, Served, browser, page, served  # noqa: F401 (fixtures)
from tests.helpers import Overmind, must
from tests.isolation.conftest import git as run_git
from tests.isolation.conftest import repository

pytestmark = [pytest.mark.systemd, pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")]
HOSTILE = "<img src=x onerror=alert(1)>.txt"
SCRIPT_LINE = "<script>alert('diff')</script>"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return repository(tmp_path / "app")


def test_a_missions_commit_shows_in_the_open_page_and_merge_lands_it_on_the_base(
        page: Any, served: Served, om: Overmind, name: str, repo: Path) -> None:  # noqa: F811
    gate = repo.parent / "gate"
    script = (f"while [ ! -e {gate} ]; do sleep 0.1; done; printf 'x\\n' > '{HOSTILE}'; "
              f"printf '%s\\n' \"{SCRIPT_LINE}\" >> README.md; git add -A; "
              "git -c user.name=agent -c user.email=agent@example.com commit -q -m 'the <b>agent</b> commit'; "
              "sleep 300")
    om.run(script, "--worktree", "--name", name, "--cwd", str(repo))
    must(lambda: name in {row["name"] for row in om.json("worktree", "ls")}, what="the worktree")
    page.goto(f"{served.base}/worktrees/{name}")
    page.wait_for_selector("#live.on")
    assert "no changes" in page.locator("#worktree-body").inner_text()
    page.evaluate("window.sameDocument = true")
    gate.touch()
    page.locator("code.path", has_text=HOSTILE).wait_for(timeout=20_000)  # without a reload
    assert page.evaluate("window.sameDocument") is True
    readme = page.locator("details.file", has=page.locator("code.path", has_text="README.md"))
    assert SCRIPT_LINE in readme.locator("tr.d-add td.t").all_inner_texts()
    assert page.locator("td.subject").first.inner_text() == "the <b>agent</b> commit"
    assert page.locator('img[src="x"]').count() == 0 and page.locator("script:not([src])").count() == 0
    assert page.dialogs == []  # no alert ran

    page.remove_listener("dialog", page.recorder)
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.locator('button[data-action="merge"]').click()
    assert asked and asked[0].startswith(f"Merge overmind/{name} into main?")
    page.locator("#notice", has_text=f"merged overmind/{name} into main").wait_for()
    assert run_git(repo, "show", f"main:{HOSTILE}") == "x"
    assert SCRIPT_LINE in run_git(repo, "show", "main:README.md")
    om("stop", name)


def test_remove_refuses_a_worktree_with_uncommitted_work(
        page: Any, served: Served, om: Overmind, name: str, repo: Path) -> None:  # noqa: F811
    om("worktree", "add", name, "--cwd", str(repo))
    draft = repo / ".overmind" / "worktrees" / name / "draft.txt"
    draft.write_text("not committed yet\n")
    page.goto(f"{served.base}/worktrees")
    page.locator(f'tr[data-name="{name}"] a').click()
    page.wait_for_url(f"{served.base}/worktrees/{name}")
    page.remove_listener("dialog", page.recorder)
    page.on("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.locator('button[data-action="remove"]').first.click()
    assert f"worktree '{name}' has 1 uncommitted change" in page.locator("section.error").inner_text()
    assert draft.exists()
