"""Persistent missions: their unit is a file in the user's unit directory, enabled under
`default.target`, so that the user manager starts it again when it starts (a reboot with linger,
`overmind host up` on the private host); what ran without it is told `lost at reboot`.

The file is the transient unit written down (`overmind.systemd.persistent`, from the same
`systemd-run` arguments `overmind.mission.units` gives). A session started again resumes its
conversation (its wrapper finds the session id in the store), a task runs again from the start;
the run hook counts the boots (`<state>/runs/<id>.boots`). Stopping, killing or collecting a
persisted mission removes its files: nothing a person stopped comes back.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from overmind.errors import OvermindError
from overmind.mission.status import Status
from overmind.store import Mission
from overmind.systemd import bus, unitfiles
from overmind.systemd.persistent import WANTED_BY, machine_id, unit_file_from_run_args

LOST = Status("lost", "at reboot")
INTERRUPTED = Status("interrupted", "by reboot")  # persisted with --on-boot skip: the boot left it
_BOOT_CHECK_TTL = 2.0  # seconds a long-lived reader (dashboard, TUI) trusts the manager's start time
_manager_start: tuple[float, float | None] = (0.0, None)  # (when read, the manager's start)


def unit_path(unit: str) -> Path:
    return unitfiles.unit_dir() / unit


def wants_link(unit: str) -> Path:
    return unitfiles.unit_dir() / f"{WANTED_BY}.wants" / unit


def live(mission: Mission) -> bool:
    """A persisted mission that nobody stopped or killed: its files are still wanted."""
    return mission.persisted and mission.stop_requested_at is None and mission.killed_at is None


def boot_unit_of(mission: Mission) -> str:
    """The unit whose `default.target` link starts a persisted mission at boot: its own, or, for a
    blueprint's agent, its blueprint's boot unit (overmind.control.persist_blueprint)."""
    member = mission.spec.get("blueprint")
    boot = member.get("boot") if isinstance(member, dict) else None
    return str(boot) if boot else mission.unit


def start(run_args: Sequence[str], block: bool = False, at_boot: bool = True) -> str:
    """Write the mission's unit file from its `systemd-run` arguments, enable it (unless not
    `at_boot`: --on-boot skip) and start it (with `block`, until its start job is done). Raises
    bus.Refused / bus.JobFailed as a transient start does; refuses to write over the file of a
    mission that runs."""
    unit, text = unit_file_from_run_args(run_args, host=machine_id())
    done = _done_file(run_args)  # started again by a person: it runs (see run.sh end)
    done.unlink(missing_ok=True)
    done.with_suffix(".failed").unlink(missing_ok=True)
    path = unit_path(unit)
    stale = bus.loaded(unit)  # an earlier mission's unit of that name, still in the manager's memory
    if stale:
        from overmind.systemd import manager

        state = manager.show([unit], ["ActiveState"])
        if state and state[0].get("ActiveState") in manager.ACTIVE_STATES:
            raise bus.Refused(unit, f"{bus.SYSTEMD}.UnitExists", f"unit {unit} is running")
    unitfiles.write({unit: text}, hint="remove it or choose another name")
    keep(unit, text)  # what `repair` writes back, and what `doctor` compares the file with
    link = wants_link(unit)
    if at_boot:
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(f"../{path.name}")
    elif link.is_symlink():
        link.unlink()  # an earlier mission of that name ran at boot; this one does not
    if stale:  # forget what the manager held of it, then read the new file
        from overmind.systemd import manager

        manager.systemctl("reset-failed", unit, check=False)
        bus.reload()
    try:
        return bus.start_unit(unit, block=block)
    except (bus.Refused, bus.JobFailed):
        delete(unit)  # a mission that did not start does not come back at boot either
        raise


def _done_file(run_args: Sequence[str]) -> Path:
    """Where the run hook marks the mission finished (the state directory and id it was given)."""
    env = dict(arg.removeprefix("--setenv=").split("=", 1) for arg in run_args if arg.startswith("--setenv="))
    return Path(env["OVERMIND_STATE_DIR"]) / "runs" / f"{env['OVERMIND_MISSION_ID']}.done"


def delete(unit: str) -> list[Path]:
    """Disable and delete one unit file of ours (the manager keeps what it loaded until a reload)."""
    forget(unit)
    deleted: list[Path] = []
    link = wants_link(unit)
    if link.is_symlink() and link.resolve() == unit_path(unit).resolve():
        link.unlink()
        deleted.append(link)
    return deleted + unitfiles.remove([unit_path(unit)])


def remove(missions: Iterable[Mission]) -> list[Path]:
    """Disable and delete the unit files of these missions (those overmind wrote), then have the
    manager forget them; returns what was deleted."""
    from overmind.isolation.service_files import forget_unneeded
    from overmind.store import shared

    ended = [mission for mission in missions if mission.persisted]
    removed: list[Path] = []
    for mission in ended:
        removed += delete(mission.unit)
    if ended:
        gone = {mission.id for mission in ended}
        others = [m for m in shared().all() if m.id not in gone and live(m) and m.runs_at_boot]
        # the boot units of their blueprints, and their services' files, unless another needs them
        needed = {boot_unit_of(mission) for mission in others}
        for unit in sorted({boot_unit_of(mission) for mission in ended} - {m.unit for m in ended} - needed):
            removed += delete(unit)
        if any(mission.worktree for mission in ended):
            removed += forget_unneeded(ended, others)
    if removed:
        try:
            bus.reload()
        except OvermindError:
            pass  # the manager is gone: it reads the (now missing) files when it starts
    return removed


def kept_copy(unit: str) -> Path:
    """The copy of a persisted mission's unit file, as overmind wrote it."""
    from overmind.store import state_dir

    return state_dir() / "units" / unit


def keep(unit: str, text: str) -> None:
    """Keep the copy of a unit file just written (written whole or not at all, as the file)."""
    unitfiles.write({unit: text}, directory=kept_copy(unit).parent)


def forget(unit: str) -> None:
    kept_copy(unit).unlink(missing_ok=True)


def after_reboot(mission: Mission, status: Status) -> Status:
    """`lost at reboot` for a mission that was not persisted and whose run the end of its manager
    ended (its unit is gone without an end, or a signal ended it, and nobody asked), once a new
    manager runs (`interrupted by reboot` for one persisted with --on-boot skip); any other status
    as it is."""
    if mission.runs_at_boot or mission.stop_requested_at is not None or mission.killed_at is not None:
        return status
    last = mission.last_exit
    # unknown: the unit is gone without a recorded end; stopped/crashed: a signal ended it
    ended_by_signal = status.state in ("stopped", "crashed") and last is not None and last.exit_code != "exited"
    if status.state != "unknown" and not ended_by_signal:
        return status
    began = mission.run_started_at or (last.started_at if last is not None else None) or mission.created_at
    booted = _manager_started_at()
    if booted is None or began >= booted:
        return status
    return INTERRUPTED if mission.persisted else LOST


def _manager_started_at() -> float | None:
    global _manager_start
    read_at, started = _manager_start
    if time.monotonic() - read_at > _BOOT_CHECK_TTL:
        try:
            started = bus.manager_started_at()
        except OvermindError:
            started = None
        _manager_start = (time.monotonic(), started)
    return started
