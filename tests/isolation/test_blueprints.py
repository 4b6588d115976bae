"""Blueprint agents and isolation: their own worktrees, a worktree shared by a pipeline's stages,
and the repository's services, on the real user manager."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Overmind, blueprint_file, must
from tests.isolation.conftest import commit
from tests.isolation.images import image

pytestmark = [pytest.mark.systemd, pytest.mark.usefixtures("containers_cleaned")]


def agents(om: Overmind, blueprint: str) -> dict[str, dict]:
    return {a["agent"]: a for a in om.info(blueprint)["agents"]}


def test_a_pipeline_works_in_one_shared_worktree_in_order_next_to_its_service(
        om: Overmind, name: str, repo: Path, tmp_path: Path, port_range: tuple[int, int]) -> None:
    busybox = image(["httpd", "-f", "-p", "8080", "-h", "/www"])
    commit(repo, {".overmind.yml": f"isolation:\n  port_range: {port_range[0]}-{port_range[1]}\nservices:\n"
                                   f"  db:\n    docker: {busybox}\n    port: 8080\n"})
    stages = {
        "write": {"command": "echo one > stage.txt && git add stage.txt && git -c user.name=a -c user.email=a@b "
                             "commit -qm one", "cwd": str(repo), "worktree": "feature"},
        "read": {"command": "cat stage.txt > seen.txt; echo $DB_PORT > port.txt",
                 "cwd": str(repo), "worktree": "feature", "depends_on": ["write"]},
        "own": {"command": "pwd > where.txt", "cwd": str(repo), "isolation": "worktree"},
        "here": {"command": "pwd", "cwd": str(repo), "isolation": "none"},
    }
    path = blueprint_file(tmp_path, name, stages)
    om("apply", path, "--wait")
    members = agents(om, name)
    shared = repo / ".overmind" / "worktrees" / "feature"
    assert (shared / "seen.txt").read_text() == "one\n"
    assert {members["write"]["status"], members["read"]["status"]} == {"stopped"}
    infos = {agent: om.info(f"{name}.{agent}") for agent in stages}
    assert infos["write"]["worktree"]["name"] == infos["read"]["worktree"]["name"] == "feature"
    assert (shared / "port.txt").read_text().strip() == str(infos["read"]["ports"]["DB_PORT"])
    assert infos["own"]["worktree"]["name"] == f"{name}.own"
    assert (repo / ".overmind" / "worktrees" / f"{name}.own" / "where.txt").exists()
    assert infos["here"]["worktree"] is None and infos["here"]["cwd"] == str(repo)
    assert must(lambda: not [s for s in om.info(f"{name}.read")["services"] if s["state"] != "inactive"], 20,
                "the services to stop with the last stage")
    assert all(c["action"] == "keep" for c in om.json("diff", path)["changes"])  # applied as the file says
