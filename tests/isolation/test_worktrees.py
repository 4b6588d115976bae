"""Worktrees on real git repositories: where they live, what goes in, and keeping the work in them safe."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from overmind.errors import OvermindError
from overmind.isolation import files, git, keeping, lifecycle, worktrees
from overmind.isolation.contract import read
from overmind.isolation.paths import worktree_path
from overmind.store import SCHEMA_VERSION, Store
from overmind.store.worktrees import WorktreeRecord, WorktreeStore
from tests.isolation.conftest import commit
from tests.isolation.conftest import git as run_git


def make(repo: Path, name: str, base: str | None = None) -> WorktreeRecord:
    record, fresh = worktrees.acquire(git.checkout_of(str(repo)), name, base, WorktreeStore(Store()))
    assert fresh
    return record


def test_a_worktree_lives_inside_the_repository_on_its_own_branch_ignored_locally(repo: Path) -> None:
    record = make(repo, "fix-login")
    assert record.path == str(repo / ".overmind" / "worktrees" / "fix-login")
    assert (record.branch, record.base) == ("overmind/fix-login", "main")
    assert record.base_commit == run_git(repo, "rev-parse", "HEAD")
    assert run_git(Path(record.path), "rev-parse", "--abbrev-ref", "HEAD") == "overmind/fix-login"
    assert run_git(repo, "status", "--porcelain") == ""  # the folder is ignored ...
    assert not (repo / ".gitignore").exists()  # ... without touching the user's .gitignore
    assert "/.overmind/" in (repo / ".git" / "info" / "exclude").read_text()


def test_a_worktree_made_from_inside_another_lives_in_the_main_repository_and_starts_from_its_head(repo: Path) -> None:
    parent = make(repo, "parent")
    commit(Path(parent.path), {"src/app.txt": "parent's work\n"})
    child = make(Path(parent.path) / "src", "child")
    assert child.path == str(repo / ".overmind" / "worktrees" / "child")
    assert child.base == "overmind/parent"
    assert (Path(child.path) / "src" / "app.txt").read_text() == "parent's work\n"


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", ".hidden", "a..b", "x.lock", "/abs", "a b", "-rf", ""])
def test_names_that_could_escape_the_worktrees_folder_or_break_a_branch_are_refused(repo: Path, name: str) -> None:
    with pytest.raises(OvermindError, match="invalid worktree name"):
        make(repo, name)
    assert not (repo / "escape").exists() and not (repo / ".overmind" / "escape").exists()


def test_a_symlinked_worktrees_folder_is_refused(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (repo / ".overmind").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OvermindError, match="is a symlink"):
        worktree_path(str(repo), "x")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_the_same_name_finds_the_same_worktree_and_another_repository_cannot_take_it(repo: Path,
                                                                                   tmp_path: Path) -> None:
    record = make(repo, "same")
    again, fresh = worktrees.acquire(git.checkout_of(str(repo)), "same", None, WorktreeStore(Store()))
    assert (again, fresh) == (record, False)
    other = tmp_path / "other"
    other.mkdir()
    run_git(other, "init", "--quiet")
    commit(other, {"x": "1"})
    with pytest.raises(worktrees.WorktreeTaken, match="belongs to another repository"):
        worktrees.acquire(git.checkout_of(str(other)), "same", None, WorktreeStore(Store()))


def test_a_branch_of_that_name_already_there_is_refused_not_reused(repo: Path) -> None:
    run_git(repo, "branch", "overmind/taken")
    with pytest.raises(OvermindError, match="branch overmind/taken already exists"):
        make(repo, "taken")
    assert WorktreeStore(Store()).get("taken") is None


def test_a_worktree_git_has_but_the_store_lost_is_adopted(repo: Path) -> None:
    path = repo / ".overmind" / "worktrees" / "lost"
    run_git(repo, "worktree", "add", "--quiet", "-b", "overmind/lost", str(path))
    (path / "work.txt").write_text("unsaved\n")
    record = make(repo, "lost")
    assert record.path == str(path) and (path / "work.txt").read_text() == "unsaved\n"


def test_copy_and_link_bring_untracked_files_in_and_overwrite_nothing(repo: Path) -> None:
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "config").mkdir()
    (repo / "config" / "db.local.yml").write_text("local\n")
    (repo / "node_modules" / "left-pad").mkdir(parents=True)
    (repo / "README.md").write_text("changed in the main checkout\n")
    contract = read(".overmind.yml", "copy: [.env, 'config/*.local.yml', README.md, missing.txt]\n"
                                     "link: [node_modules]\n")
    record = make(repo, "files")
    notes = files.populate(str(repo), record.path, contract)
    wt = Path(record.path)
    assert (wt / ".env").read_text() == "SECRET=1\n" and (wt / "config" / "db.local.yml").read_text() == "local\n"
    assert (wt / "node_modules").is_symlink() and (wt / "node_modules" / "left-pad").is_dir()
    assert (wt / "README.md").read_text() == "hello\n"
    assert any("README.md is already in the worktree" in n for n in notes)
    assert any("nothing matches 'missing.txt'" in n for n in notes)
    assert keeping.state(record, contract).changes == []  # what overmind put there is not work


def test_copy_never_writes_through_a_symlink_out_of_the_worktree(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "conf").symlink_to(outside)
    old = commit(repo, {}, "conf is a symlink")
    run_git(repo, "rm", "--quiet", "conf")
    commit(repo, {"conf/tracked.txt": "t\n"}, "conf is a folder")
    (repo / "conf" / "secret.txt").write_text("s\n")
    record = make(repo, "through", base=old)
    notes = files.populate(str(repo), record.path, read(".overmind.yml", "copy: [conf/secret.txt]\n"))
    assert list(outside.iterdir()) == []
    assert any("leads outside the worktree" in n for n in notes)


def test_a_save_keeps_commits_uncommitted_and_untracked_work_without_touching_the_index(repo: Path) -> None:
    record = make(repo, "save")
    wt = Path(record.path)
    commit(wt, {"src/app.txt": "committed\n"})
    (wt / "src" / "app.txt").write_text("uncommitted\n")
    (wt / "new.txt").write_text("untracked\n")
    work = keeping.state(record, None)
    assert sorted(work.changes) == [" M src/app.txt", "?? new.txt"] and (work.ahead, work.behind) == (1, 0)
    ref = keeping.save(record, None, work)
    assert run_git(repo, "show", f"{ref}:src/app.txt") == "uncommitted"
    assert run_git(repo, "show", f"{ref}:new.txt") == "untracked"
    assert run_git(repo, "show", f"{ref}^1:src/app.txt") == "committed"
    assert keeping.state(record, None).changes == work.changes
    assert keeping.save(record, None, work) != ref  # a second save never overwrites the first


def test_diff_shows_commits_uncommitted_and_untracked_changes(repo: Path) -> None:
    record = make(repo, "diffs")
    wt = Path(record.path)
    commit(wt, {"src/app.txt": "v2\n"})
    (wt / "brand-new.txt").write_text("fresh\n")
    text = keeping.diff(record, None, stat=False, color=False)
    assert "+v2" in text and "+fresh" in text and "brand-new.txt" in text
    assert run_git(wt, "status", "--porcelain") == "?? brand-new.txt"


def test_merge_moves_the_checked_out_base_and_reports_conflicts_without_changing_anything(repo: Path) -> None:
    clean = make(repo, "clean")
    commit(Path(clean.path), {"feature.txt": "feature\n"})
    result = lifecycle.merge(clean, None)
    assert result.commit and not result.conflicts and (repo / "feature.txt").read_text() == "feature\n"
    assert lifecycle.merge(clean, None).already

    clash = make(repo, "clash")
    commit(Path(clash.path), {"src/app.txt": "theirs\n"})
    main_before = commit(repo, {"src/app.txt": "ours\n"})
    result = lifecycle.merge(clash, None)
    assert result.conflicts == ["src/app.txt"] and result.commit is None
    assert run_git(repo, "rev-parse", "HEAD") == main_before and run_git(repo, "status", "--porcelain") == ""
    assert (Path(clash.path) / "src" / "app.txt").read_text() == "theirs\n"


def test_merge_into_a_branch_nobody_has_checked_out_moves_only_that_branch(repo: Path) -> None:
    run_git(repo, "branch", "release")
    record = make(repo, "rel")
    commit(Path(record.path), {"fix.txt": "fix\n"})
    head = run_git(repo, "rev-parse", "HEAD")
    result = lifecycle.merge(record, "release")
    assert result.commit == run_git(repo, "rev-parse", "release")
    assert run_git(repo, "show", "release:fix.txt") == "fix"
    assert run_git(repo, "rev-parse", "HEAD") == head and not (repo / "fix.txt").exists()


def test_rm_refuses_unsaved_work_and_force_saves_it_first(repo: Path) -> None:
    store = Store()
    record = make(repo, "work")
    commit(Path(record.path), {"done.txt": "done\n"})
    (Path(record.path) / "wip.txt").write_text("wip\n")
    with pytest.raises(OvermindError, match="has 1 uncommitted change and 1 commit not in main"):
        lifecycle.remove(store, record, force=False)
    assert (Path(record.path) / "wip.txt").exists()
    removed = lifecycle.remove(store, record, force=True)
    assert removed.saved and run_git(repo, "show", f"{removed.saved}:wip.txt") == "wip"
    assert run_git(repo, "show", f"{removed.saved}:done.txt") == "done"
    assert not Path(record.path).exists() and WorktreeStore(store).get("work") is None
    assert run_git(repo, "branch", "--list", "overmind/work") == ""


def test_rm_of_merged_work_removes_worktree_branch_and_ports_but_not_linked_folders(repo: Path) -> None:
    store = Store()
    (repo / "node_modules").mkdir()
    (repo / "node_modules" / "keep.js").write_text("1\n")
    commit(repo, {".overmind.yml": "link: [node_modules]\n"})
    record = make(repo, "merged")
    files.populate(str(repo), record.path, read(".overmind.yml", "link: [node_modules]\n"))
    WorktreeStore(store).lease("merged", lambda mine, others: {"PORT": 39999})
    removed = lifecycle.remove(store, record, force=False)
    assert removed.saved is None and not Path(record.path).exists()
    assert (repo / "node_modules" / "keep.js").read_text() == "1\n"
    assert WorktreeStore(store).all_leases() == {}


def test_gc_removes_merged_worktrees_keeps_unmerged_ones_and_forgets_vanished_ones(repo: Path) -> None:
    store = Store()
    merged, unmerged, vanished = make(repo, "m"), make(repo, "u"), make(repo, "v")
    commit(Path(unmerged.path), {"u.txt": "u\n"})
    run_git(repo, "worktree", "remove", "--force", vanished.path)
    collected = lifecycle.collect(store)
    assert sorted(r.name for r in collected.removed) == ["m", "v"] and [name for name, _ in collected.kept] == ["u"]
    assert not Path(merged.path).exists() and Path(unmerged.path).exists()
    assert [r.name for r in WorktreeStore(store).all()] == ["u"]


def test_a_store_of_the_previous_release_gains_the_worktree_tables_and_keeps_its_missions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(Path(__file__).parents[1] / "data" / "store-v3.db", tmp_path / "state.db")
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    store = Store()
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.get("plain") is not None and WorktreeStore(store).all() == []
    WorktreeStore(store).add(WorktreeRecord("w", "/r", "/r/w", "overmind/w", "main", "c", 1.0))
    WorktreeStore(store).lease("w", lambda mine, others: {"PORT": 3100})
    assert WorktreeStore(store).all_leases() == {"w": {"PORT": 3100}}
