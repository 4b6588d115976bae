"""The orchestrator skill file: where Claude Code finds it, and installing it without clobbering."""

from __future__ import annotations

import shutil
from pathlib import Path

from overmind.errors import OvermindError
from overmind.resources import shipped_file

SKILL = "skills/overmind/SKILL.md"


def target(project: Path | None = None) -> Path:
    """DIR/.claude/skills/overmind/SKILL.md for a project, ~/.claude/... for the user."""
    base = project if project is not None else Path.home()
    return base / ".claude" / "skills" / "overmind" / "SKILL.md"


def state(path: Path) -> str:
    """missing, current (the shipped text) or different (someone's own or an older copy)."""
    if not path.exists():
        return "missing"
    return "current" if path.read_bytes() == shipped_file(SKILL).read_bytes() else "different"


def install(path: Path, force: bool = False) -> bool:
    """Install the shipped skill at path; False if it was already there. A different file is kept
    unless forced, and then saved as SKILL.md.bak."""
    current = state(path)
    if current == "current":
        return False
    if current == "different":
        if not force:
            raise OvermindError(f"{path} exists and differs from overmind's skill",
                                hint="use --force to replace it (the old one is kept as SKILL.md.bak)")
        shutil.copyfile(path, path.with_name("SKILL.md.bak"))
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shipped_file(SKILL), path)
    return True
