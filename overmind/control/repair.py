"""`overmind repair`: put right what can be put right, each repair saying what it found and did.

A repair is a function `(rebuild: bool) -> Step` in REPAIRS, run in order; `rebuild` asks it to
redo its part even when it finds nothing wrong. Other parts of overmind add theirs here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from overmind.control.setup import Step
from overmind.errors import OvermindError

Repair = Callable[[bool], Step]


def store(rebuild: bool) -> Step:
    """The state store: rebuilt (the old file moved aside) if SQLite finds it damaged, or asked."""
    from overmind.store import health, state_dir
    from overmind.store import rebuild as rebuilding

    path = state_dir() / "state.db"
    problem = health.quick_check(path)
    if problem is None and not rebuild:
        return Step("store", "ok", f"{path} passes SQLite's quick_check: nothing to repair",
                    "overmind repair --rebuild rebuilds it anyway")
    if problem == "it does not exist" and not rebuilding.was_used(path):
        return Step("store", "ok", f"no state store yet at {path}: nothing to repair")
    done = rebuilding.recover(path, force=True, broken=problem is not None)
    assert done is not None
    moved, report = done
    where = f"; the old one is at {moved}" if moved else ""
    return Step("store", "changed", f"rebuilt {path} ({problem or 'asked to'}): {summary(report)}{where}")


def summary(report: dict[str, object]) -> str:
    """What a rebuild recovered, in one clause."""
    lost = report.get("only_in_run_log") or []
    assert isinstance(lost, list)
    return (f"{report.get('missions', 0)} mission(s) ({report.get('from_journal', 0)} from the journal, "
            f"{report.get('from_units', 0)} only from their units), {report.get('blueprints', 0)} blueprint(s)"
            + (f"; {len(lost)} mission(s) known only from the run log are gone" if lost else ""))


def persisted_units(rebuild: bool) -> Step:
    """Persisted missions' unit files (overmind.control.persist_files)."""
    from overmind.control.persist_files import repair

    return repair(rebuild)


REPAIRS: list[Repair] = [store, persisted_units]


def run_all(rebuild: bool = False) -> list[Step]:
    return [repair(rebuild) for repair in REPAIRS]


def store_failure(error: Exception) -> OvermindError | None:
    """One line for a failure of the state store (or of a write into its directory): a full file
    system, named; a damaged database, with its repair. None if it is neither."""
    import errno
    import sqlite3

    from overmind.store import rebuild as rebuilding
    from overmind.store import space, state_dir

    directory = state_dir()
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        where = space.filesystem(Path(error.filename).parent if error.filename else directory)
        return OvermindError(f"no space left on {where}: nothing was written",
                             hint="free some space there; overmind works again at once")
    if not isinstance(error, sqlite3.Error):
        return None
    full = space.full(directory)
    if full is not None or getattr(error, "sqlite_errorname", "") == "SQLITE_FULL":
        return OvermindError(f"no space left for the state store on {full or space.filesystem(directory)}: "
                             "the change was not recorded (nothing half-written)",
                             hint="free some space there; overmind works again at once")
    if rebuilding.damaged(error):
        return OvermindError(f"the state store {directory / 'state.db'} is damaged: {error}",
                             hint="overmind repair (rebuilds it from systemd and the journal; the old file is kept)")
    return None
