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
    from pathlib import Path

    from overmind import skillfile

    project = Path(project_dir) if project_dir is not None else None
    if project is not None and not project.is_dir():
        raise OvermindError(f"project directory '{project}' does not exist")
    target = skillfile.target(project)
    click.echo(f"installed {target}" if skillfile.install(target, force) else f"already installed: {target}")


COMMANDS = [skill]
