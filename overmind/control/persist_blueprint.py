"""A blueprint's persisted agents: their unit files, and the blueprint's boot unit that starts them.

A blueprint's tasks are `Type=oneshot` units (overmind.blueprint.agent_units). Enabled under
`default.target` one by one, they would hold the target back until each had finished (a target
orders itself after what it wants), and a user manager is not ready before its default target is
(user@.service gives up after 90 s). So a persisted member's file is written like any persisted
mission's (overmind.control.persist) but not enabled; one boot unit per blueprint, enabled, wants
them all without waiting for them, and the members' own `Requires=`/`After=` run the graph as the
apply did: a finished task skips itself (its run hook's `finished`), a failed one fails again so
that what depends on it still does not run, a session resumes its conversation, a task that was
running runs again, and a pending one waits for its dependencies as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from overmind.blueprint.agent_units import boot_unit
from overmind.control.persist import keep, remove, wants_link
from overmind.systemd import bus, unitfiles
from overmind.systemd.persistent import WANTED_BY, machine_id, unit_file_from_run_args


def boot_unit_text(blueprint: str, wanted: Sequence[str], host: str | None) -> str:
    lines = [unitfiles.MARKER, "[Unit]", f"Description=overmind blueprint {blueprint}: its persisted agents at boot",
             *([f"Wants={' '.join(wanted)}"] if wanted else []), *([f"ConditionHost={host}"] if host else []), "",
             "[Service]", "Type=oneshot", "ExecStart=/bin/true", "", "[Install]", f"WantedBy={WANTED_BY}", ""]
    return "\n".join(lines)


def write(blueprint: str, members: Sequence[Sequence[str]], wanted: Sequence[str]) -> None:
    """Write the unit files of members about to start (their `systemd-run` arguments; loaded, not
    started: the apply's start unit starts them) and the blueprint's boot unit, wanting `wanted`
    (every persisted member the next boot starts), enabled under `default.target`."""
    host = machine_id()
    files = dict(unit_file_from_run_args(args, host=host) for args in members)
    # An earlier member of that name still in the manager's memory (its boot unit wants it): the
    # manager must read the new file before starting it.
    stale = any(bus.loaded(unit) for unit in files)
    boot = boot_unit(blueprint)
    files[boot] = boot_unit_text(blueprint, sorted(wanted), host)
    unitfiles.write(files, hint="remove it or rename the blueprint")
    for unit, text in files.items():
        keep(unit, text)  # what `repair` writes back, and what `doctor` compares the file with
    link = wants_link(boot)
    if wanted and not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"../{boot}")
    elif not wanted and link.is_symlink():
        link.unlink()
    if stale:
        bus.reload()


__all__ = ["boot_unit", "boot_unit_text", "remove", "write"]  # remove: overmind.blueprint.apply.UnitFiles
