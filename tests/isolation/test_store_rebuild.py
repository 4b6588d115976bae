"""A rebuilt state store keeps what isolation, restarts and trees recorded: each mission's
worktree, branch and leased ports, its cwd, restart count, limits and parent; and a new mission
never gets a port a running one holds. First from the journal's copies of the store's changes,
then, for a journal that no longer has them, from the units' files alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from overmind.store import rebuild
from tests.helpers import Overmind, blueprint_file, must

pytestmark = pytest.mark.systemd
KEPT = ("id", "name", "type", "provider", "status", "status_text", "parent", "cwd", "command", "restart_policy",
        "restarts", "limits", "worktree", "branch", "ports")


def _seen(om: Overmind, names: list[str]) -> dict[str, Any]:
    infos = {name: {key: om.info(name).get(key) for key in KEPT} for name in names}
    worktrees = {w["name"]: (w["repo"], w["path"], w["branch"], w["base"], w["ports"], w["missions"])
                 for w in om.json("worktree", "ls")}
    return {"missions": infos, "worktrees": worktrees}


def _start(om: Overmind, name: str, repo: Path, tmp_path: Path) -> list[str]:
    om.run("sleep 300", "--name", f"{name}-wt", "--worktree", "--cwd", str(repo))
    om.run("sleep 300", "--name", f"{name}-wt2", "--worktree", "--cwd", str(repo))
    once = tmp_path / "failed-once"
    om.run(f"test -e {once} || {{ touch {once}; exit 1; }}; exec sleep 300", "--name", f"{name}-flaky",
           "--restart", "on-failure", "--memory-max", "64M", "--cwd", str(tmp_path))
    must(lambda: (i := om.info(f"{name}-flaky"))["status"] == "running" and i["restarts"] == 1, 20,
         what="one restart")
    om.run("sleep 300", "--name", f"{name}-child", "--parent", f"{name}-flaky")
    om("apply", blueprint_file(tmp_path, f"{name}-bp", {
        "web": {"command": "exec sleep 300", "type": "session", "replicas": 2},
        "db": {"command": "exec sleep 300", "type": "session"}}))
    members = [f"{name}-bp.web", f"{name}-bp.web.2", f"{name}-bp.db"]
    must(lambda: all(om.status(member) == "running" for member in members), 20, what="the blueprint to run")
    return [f"{name}-wt", f"{name}-wt2", f"{name}-flaky", f"{name}-child", f"{name}-bp", *members]


def _lost(om: Overmind) -> None:
    store = Path(om.env["OVERMIND_STATE_DIR"]) / "state.db"
    for path in store.parent.glob("state.db*"):
        if not path.name.endswith(".lock") and ".broken-" not in path.name:
            path.unlink()


def _a_new_mission_gets_a_port_of_its_own(om: Overmind, name: str, repo: Path, before: dict[str, Any]) -> None:
    held = {port for w in before["worktrees"].values() for port in w[4].values()}
    fresh = om.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
    assert set(fresh["ports"].values()).isdisjoint(held), (fresh["ports"], held)
    om("stop", name)
    om("worktree", "rm", name)


def test_a_rebuilt_store_keeps_worktrees_ports_restarts_and_parents_from_the_journal_or_the_units_alone(
        om: Overmind, name: str, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = Overmind(om.env | {"OVERMIND_STATE_DIR": str(tmp_path / "state")})
    names = _start(own, name, repo, tmp_path)
    try:
        before = _seen(own, names)
        assert set(before["worktrees"]) == {f"{name}-wt", f"{name}-wt2"}
        # The store is lost: the next command rebuilds it from the journal's copies.
        _lost(own)
        assert "was missing" in own("ps", "--all").stderr
        assert _seen(own, names) == before
        _a_new_mission_gets_a_port_of_its_own(own, f"{name}-new1", repo, before)
        # Lost again, and the journal no longer has the copies (rotated away: the shared journal
        # cannot be vacuumed under other runs, so this rebuild is told it found nothing there).
        _lost(own)
        monkeypatch.setenv("OVERMIND_STATE_DIR", own.env["OVERMIND_STATE_DIR"])
        monkeypatch.setattr(rebuild, "_replay", lambda db, store_dir: (set(), set()))
        rebuilt = rebuild.recover(Path(own.env["OVERMIND_STATE_DIR"]) / "state.db")
        assert rebuilt is not None
        report = rebuilt[1]
        assert (report["from_journal"], report["from_units"], report["missions"], report["blueprints"]) == (0, 7, 7, 1)
        assert report["not_recovered"][-1] == f"the file of blueprint(s) {name}-bp (apply it again)"
        after = _seen(own, names)
        # The blueprint's file is the one thing its members' units do not carry.
        blueprint = f"{name}-bp"
        assert before["missions"][blueprint].pop("command").startswith("blueprint /")
        assert after["missions"][blueprint].pop("command") == "blueprint -"
        assert after["missions"] == before["missions"]
        assert after["worktrees"] == before["worktrees"]
        _a_new_mission_gets_a_port_of_its_own(own, f"{name}-new2", repo, before)
        own("stop", blueprint)  # a blueprint rebuilt from its members is stopped as any
        assert {own.status(member) for member in names[-3:]} == {"stopped"}
    finally:
        own("stop", *names, check=False)
        own("stop", f"{name}-bp", check=False)
        for worktree in ("wt", "wt2"):
            own("worktree", "rm", f"{name}-{worktree}", check=False)
