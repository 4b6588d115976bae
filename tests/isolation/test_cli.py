"""`overmind worktree ...` and `gc --worktrees` through the real CLI: what a user types and reads."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from tests.helpers import Overmind
from tests.isolation.conftest import commit
from tests.isolation.conftest import git as run_git

pytestmark = pytest.mark.systemd


def worked(om: Overmind, name: str, repo: Path, script: str) -> Path:
    """A finished mission that ran `script` in its own worktree; returns the worktree."""
    om.run(script, "--name", name, "--worktree", "--cwd", str(repo), "--wait")
    return Path(om.info(name)["worktree"]["path"])


GIT = "git -c user.name=a -c user.email=a@b"


def test_ls_diff_merge_and_rm_walk_a_worktree_from_work_to_gone(om: Overmind, name: str, repo: Path) -> None:
    path = worked(om, name, repo, f"echo new > new.txt && {GIT} add new.txt && {GIT} commit -qm new && "
                                  "echo wip > wip.txt")
    listed = om("worktree", "ls").stdout
    row = next(line for line in listed.splitlines() if line.startswith(name))
    assert "1 uncommitted +1/-0" in row and "overmind/" in row and "PORT=" in row
    assert "+new" in om("worktree", "diff", name).stdout and "wip.txt" in om("worktree", "diff", name, "--stat").stdout
    refused = om("worktree", "rm", name, check=False)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == \
        f"overmind: worktree '{name}' has 1 uncommitted change and 1 commit not in main"
    merged = om("worktree", "merge", name)
    assert merged.stdout.startswith(f"merged overmind/{name} into main (")
    assert "1 uncommitted change(s) in the worktree were not part of the merge" in merged.stderr
    assert (repo / "new.txt").read_text() == "new\n"
    removed = om("worktree", "rm", "--force", name).stdout
    assert removed.startswith(f"removed worktree {name}; its work is saved as refs/overmind/saved/{name}/")
    ref = removed.split("saved as ")[1].split(" ")[0]
    assert run_git(repo, "show", f"{ref}:wip.txt") == "wip" and not path.exists()
    assert name not in [w["name"] for w in om.json("worktree", "ls")]


def test_a_conflicting_merge_exits_1_lists_the_files_and_changes_nothing(om: Overmind, name: str, repo: Path) -> None:
    worked(om, name, repo, f"echo theirs > src/app.txt && {GIT} commit -qam theirs")
    head = commit(repo, {"src/app.txt": "ours\n"})
    proc = om("worktree", "merge", name, check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[:2] == [f"overmind: merging overmind/{name} into main conflicts in:",
                                            "    src/app.txt"]
    assert run_git(repo, "rev-parse", "HEAD") == head and (repo / "src" / "app.txt").read_text() == "ours\n"
    as_json = om("worktree", "merge", name, "--json", check=False)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {
        "name": name, "branch": f"overmind/{name}", "into": "main", "merged": False, "already_merged": False,
        "commit": None, "conflicts": ["src/app.txt"], "uncommitted": 0}
    om("worktree", "rm", "--force", name)


def test_gc_worktrees_removes_the_merged_and_keeps_the_unmerged(om: Overmind, name: str, repo: Path) -> None:
    clean = worked(om, f"{name}-clean", repo, "true")
    kept = worked(om, f"{name}-kept", repo, f"echo x > x.txt && {GIT} add x.txt && {GIT} commit -qm x")
    out = om("gc", "--worktrees", cwd=repo).stdout
    assert f"kept worktree {name}-kept: 0 uncommitted, 1 unmerged" in out
    assert not clean.exists() and kept.exists()
    om("worktree", "rm", "--force", f"{name}-kept")


def test_unknown_worktrees_and_bad_names_are_one_line_errors(om: Overmind, name: str, repo: Path) -> None:
    for args, message in ((("worktree", "rm", "nope-x"), "overmind: no worktree named 'nope-x'"),
                          (("worktree", "add", "../up", "--cwd", str(repo)),
                           "overmind: invalid worktree name '../up'"),
                          (("run", "--worktree-name", "a/b", "true"), "overmind: invalid worktree name 'a/b'"),
                          (("logs", name, "--service", "db"), f"overmind: no mission named '{name}'")):
        proc = om(*args, check=False)
        assert proc.returncode != 0 and proc.stderr.splitlines()[0] == message
        assert "Traceback" not in proc.stderr


def test_rm_of_several_worktrees_removes_each_it_can_reports_each_and_exits_1_if_any_was_refused(
        om: Overmind, name: str, repo: Path) -> None:
    first, dirty, last = (worked(om, f"{name}-{which}", repo, script) for which, script in (
        ("first", "true"), ("dirty", "echo wip > wip.txt"), ("last", "true")))
    proc = om("worktree", "rm", f"{name}-first", f"{name}-dirty", "nope-x", f"{name}-last", check=False)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [f"removed worktree {name}-first", f"removed worktree {name}-last"]
    assert proc.stderr.splitlines() == [
        f"overmind: worktree '{name}-dirty' has 1 uncommitted change",
        "(commit and merge it, or --force to save the work as a ref and remove the worktree)",
        "overmind: no worktree named 'nope-x'", "(see 'overmind worktree ls')"]
    assert not first.exists() and not last.exists() and (dirty / "wip.txt").exists()
    as_json = om("worktree", "rm", "--json", f"{name}-dirty", "--force", check=False)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)[0]["removed"] is True
    refused = om("worktree", "rm", "--json", "nope-x", check=False)
    assert refused.returncode == 1 and json.loads(refused.stdout) == [
        {"name": "nope-x", "saved": None, "notes": [], "removed": False, "error": "no worktree named 'nope-x'",
         "hint": "see 'overmind worktree ls'"}]


def test_gc_in_a_repository_keeps_to_its_missions_and_worktrees_says_what_went_and_all_takes_every_one(
        om: Overmind, name: str, repo: Path, tmp_path: Path) -> None:
    own = Overmind({**om.env, "OVERMIND_STATE_DIR": str(tmp_path / "state"),
                    "OVERMIND_UNIT_PREFIX": f"omtest-{secrets.token_hex(3)}"})  # gc --all: this test's alone
    other = tmp_path / "other"
    other.mkdir()
    run_git(other, "init", "--quiet", "--initial-branch=main")
    commit(other, {"README.md": "other\n"}, "initial")
    mine, theirs = worked(own, f"{name}-mine", repo, "true"), worked(own, f"{name}-theirs", other, "true")
    outside = own.run("true", "--name", f"{name}-plain", "--no-worktree", "--cwd", str(tmp_path), "--wait")
    inside = own("gc", "--worktrees", cwd=repo / "src").stdout.splitlines()
    assert [line.split(" ", 2)[2] for line in inside if line.startswith("forgot ")] == [f"({name}-mine)"]
    assert inside[-3:] == [f"removed 1 finished mission in {repo}", f"removed worktree {name}-mine",
                           f"removed 1 worktree in {repo}"]
    assert not mine.exists() and theirs.exists()
    assert {m["name"] for m in own.json("ps")} == {f"{name}-theirs", outside["name"]}
    everything = own("gc", "--worktrees", "--all", cwd=repo).stdout.splitlines()
    assert everything[-2:] == [f"removed worktree {name}-theirs", "removed 1 worktree"]
    assert "removed 2 finished missions" in everything and not theirs.exists() and own.json("ps") == []
