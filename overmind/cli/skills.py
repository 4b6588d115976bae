"""`overmind skill install`: put the orchestrator skill where Claude Code finds it."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from overmind.errors import OvermindError


@click.group()
def skill() -> None:
    """Agent skills shipped with overmind."""


@skill.command()
@click.option("--project", type=click.Path(file_okay=False, path_type=Path),
              help="Install into DIR/.claude/skills (default: ~/.claude/skills).")
@click.option("--force", is_flag=True, help="Replace a different existing copy (kept as SKILL.md.bak).")
def install(project: Path | None, force: bool) -> None:
    """Install the orchestrator loop skill (skills/overmind/SKILL.md)."""
    from overmind.resources import shipped_file

    source = shipped_file("skills/overmind/SKILL.md")
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
