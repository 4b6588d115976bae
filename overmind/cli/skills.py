"""`overmind skill install`: put the orchestrator skill where Claude Code finds it."""

from __future__ import annotations

import click

from overmind.errors import OvermindError


@click.group()
def skill() -> None:
    """Agent skills shipped with overmind."""


@skill.command()
@click.option("--project", "project_dir", metavar="DIR",
              help="Install into DIR/.claude/skills (default: ~/.claude/skills).")
@click.option("--force", is_flag=True, help="Replace a different existing copy (kept as SKILL.md.bak).")
def install(project_dir: str | None, force: bool) -> None:
    """Install the orchestrator loop skill (skills/overmind/SKILL.md)."""
    import shutil
    from pathlib import Path

    from overmind.resources import shipped_file

    source = shipped_file("skills/overmind/SKILL.md")
    project = Path(project_dir) if project_dir is not None else None
    base = project if project is not None else Path.home()
    if project is not None and not project.is_dir():
        raise OvermindError(f"project directory '{project}' does not exist")
    target = base / ".claude" / "skills" / "overmind" / "SKILL.md"
    if target.exists():
        if target.read_bytes() == source.read_bytes():
            click.echo(f"already installed: {target}")
            return
        if not force:
            raise OvermindError(f"{target} exists and differs from overmind's skill",
                                hint="use --force to replace it (the old one is kept as SKILL.md.bak)")
        shutil.copyfile(target, target.with_name("SKILL.md.bak"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    click.echo(f"installed {target}")


COMMANDS = [skill]
