"""`overmind skill install` puts the orchestrator skill where Claude Code looks, never clobbering."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Overmind


def test_skill_install_into_a_project_and_home(om: Overmind, tmp_path: Path) -> None:
    project = tmp_path / "repo"
    project.mkdir()
    out = om("skill", "install", "--project", str(project)).stdout
    target = project / ".claude" / "skills" / "overmind" / "SKILL.md"
    assert out == f"installed {target}\n"
    text = target.read_text()
    assert text.startswith("---\nname: overmind\ndescription: ")
    assert "overmind kill --cascade" in text
    assert om("skill", "install", "--project", str(project)).stdout == f"already installed: {target}\n"

    home = tmp_path / "home"
    home.mkdir()
    Overmind(om.env | {"HOME": str(home)})("skill", "install")
    assert (home / ".claude" / "skills" / "overmind" / "SKILL.md").read_text() == text


def test_skill_install_keeps_a_users_own_file(om: Overmind, tmp_path: Path) -> None:
    target = tmp_path / ".claude" / "skills" / "overmind" / "SKILL.md"
    target.parent.mkdir(parents=True)
    target.write_text("mine")
    proc = om("skill", "install", "--project", str(tmp_path), check=False)
    assert proc.returncode == 1 and "exists and differs" in proc.stderr
    assert target.read_text() == "mine"
    om("skill", "install", "--project", str(tmp_path), "--force")
    assert target.with_name("SKILL.md.bak").read_text() == "mine"
    assert target.read_text().startswith("---\nname: overmind")
