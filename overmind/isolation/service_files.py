"""A persisted mission's services as unit files, so that a boot starts them before it.

A persisted mission's unit is a file (overmind.control.persist) bound to its worktree's service
units (`BindsTo=`, `After=`, and `Requires=` its setup while that has not run). At boot the
manager pulls those in by name, so they must be files too: the very `systemd-run` arguments of
each service, written down as the mission's are (overmind.systemd.persistent), not enabled on
their own: only a persisted mission needing them starts them. The setup's unit skips itself once
the worktree's setup has run (its done marker), so a boot never runs it again.

Once a service has a file, any mission of the worktree starts it from that file (systemd refuses
a transient unit of that name). The files go when no persisted mission of the worktree is left
(`forget_unneeded`), or with the worktree.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from overmind.errors import OvermindError
from overmind.isolation import naming
from overmind.systemd import unitfiles

if TYPE_CHECKING:
    from overmind.isolation.start import Prepared
    from overmind.store import Mission


def start_from_files(wave: list[list[str]], prepared: Prepared) -> list[list[str]]:
    """Start the units of `wave` that have (or, for a persisted mission, now get) a unit file of
    ours; returns the `systemd-run` arguments of the others, to be started as transient units."""
    from overmind.systemd.persistent import machine_id, unit_file_from_run_args

    directory = unitfiles.unit_dir()
    from_files: list[str] = []
    transient: list[list[str]] = []
    for args in wave:
        unit = args[0].removeprefix("--unit=")
        if unit == prepared.hold:
            transient.append(args)  # it only bridges this start
        elif prepared.spec.persist:
            name, text = unit_file_from_run_args(args, host=machine_id())
            unitfiles.write({name: text}, hint="move it away, then run again")
            from_files.append(unit)
        elif unitfiles.is_ours(directory / unit):
            from_files.append(unit)
        else:
            transient.append(args)
    if from_files:
        _start(from_files, prepared)
    return transient


def _start(units: list[str], prepared: Prepared) -> None:
    from overmind.systemd import bus, manager

    loaded = [unit for unit in units if bus.loaded(unit)]
    if loaded:  # an earlier transient unit of that name, still in the manager's memory: read the file
        manager.systemctl("reset-failed", *loaded, check=False)
        bus.reload()
    proc = manager.systemctl("start", "--no-block", *units, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit code {proc.returncode}"
        raise OvermindError(f"systemd refused to start a service: {detail}")
    prepared.created.extend(units)


def units_of(worktree: str) -> list[Path]:
    """The unit files of a worktree's services and setup (those that exist)."""
    directory = unitfiles.unit_dir()
    found = list(directory.glob(naming.service_units_pattern(worktree))) if directory.is_dir() else []
    setup = directory / naming.setup_unit(worktree)
    return [path for path in [*found, setup] if path.exists() and unitfiles.is_ours(path)]


def forget_unneeded(ended: Iterable[Mission], others: Iterable[Mission]) -> list[Path]:
    """Delete the service files of the worktrees of `ended` persisted missions that none of
    `others` (the persisted missions a boot still starts) works in; returns what was deleted."""
    kept = {m.worktree for m in others if m.worktree}
    worktrees = {m.worktree for m in ended if m.worktree and m.worktree not in kept}
    return unitfiles.remove([path for worktree in sorted(worktrees) for path in units_of(worktree)])
