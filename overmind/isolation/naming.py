"""What a worktree's units, containers and volumes are called (cheap: `stop` and `ps` need only this)."""

from __future__ import annotations

from overmind import names

LABEL = "io.overmind"  # the prefix of the labels on containers and volumes


def service_unit(worktree: str, service: str) -> str:
    return f"{names.unit_prefix()}-svc@{worktree}.{service}.service"


def setup_unit(worktree: str) -> str:
    return f"{names.unit_prefix()}-setup@{worktree}.service"


def hold_unit(mission: str) -> str:
    """Holds a worktree's services up while mission `mission` starts (see service_units.hold_unit_args)."""
    return f"{names.unit_prefix()}-hold@{mission}.service"


def service_units_pattern(worktree: str | None = None) -> str:
    return f"{names.unit_prefix()}-svc@{worktree + '.' if worktree else ''}*.service"


def container_name(worktree: str, service: str) -> str:
    return f"{names.unit_prefix()}-{worktree}-{service}"


def volume_name(worktree: str, volume: str) -> str:
    return f"{names.unit_prefix()}-{worktree}-{volume}"
