"""Persisted missions' unit files as they are on disk: what `doctor` reports of them and what
`overmind repair` puts right.

`persist.start` keeps a copy of every unit file it writes (`<state>/units/<unit>`). A file that
went missing is written again from that copy; one that differs from it (edited by hand, or
rewritten by an older release) is put back while its mission does not run, and under a running
one only when asked (`repair --rebuild`); a `default.target` link that went missing is made
again; files of ours that no persisted mission owns (a mission forgotten while its manager was
down) go, unless their unit runs (a store rebuilt without its mission: nothing that runs loses
its file).
A file without overmind's marker is someone else's: reported, never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from overmind.control.persist import boot_unit_of, forget, kept_copy, live, unit_path, wants_link
from overmind.control.setup import Step
from overmind.store import Mission
from overmind.systemd import unitfiles


@dataclass
class Survey:
    """What differs from what overmind wrote, by mission name (orphans: file names)."""

    missions: int = 0  # persisted missions that a boot may start (not stopped, not killed)
    missing: list[Mission] = field(default_factory=list)  # the file is gone
    unlinked: list[Mission] = field(default_factory=list)  # the default.target link is gone
    edited: list[Mission] = field(default_factory=list)  # differs from the copy overmind kept
    foreign: list[Mission] = field(default_factory=list)  # replaced by a file without overmind's marker
    orphans: list[Path] = field(default_factory=list)  # files of ours that no such mission owns

    @property
    def problems(self) -> list[str]:
        said = [(self.missing, "unit file missing"), (self.unlinked, "default.target link missing"),
                (self.edited, "unit file edited since overmind wrote it"),
                (self.foreign, "unit file replaced by one overmind did not write")]
        found = [f"{what}: {', '.join(m.name for m in which)}" for which, what in said if which]
        if self.orphans:
            found.append(f"unit files of no persisted mission: {', '.join(p.name for p in self.orphans)}")
        return found


def survey(missions: Iterable[Mission]) -> Survey:
    """Compare the unit directory with the persisted missions among `missions`."""
    from overmind import names

    wanted = [m for m in missions if live(m)]
    found = Survey(missions=len(wanted))
    for mission in wanted:
        path, copy = unit_path(mission.unit), kept_copy(mission.unit)
        if not path.exists():
            found.missing.append(mission)
        elif not unitfiles.is_ours(path):
            found.foreign.append(mission)
        elif copy.exists() and path.read_text(encoding="utf-8", errors="replace") != copy.read_text(encoding="utf-8"):
            found.edited.append(mission)
        boot = boot_unit_of(mission)  # its own, or its blueprint's boot unit
        if mission.runs_at_boot and not (wants_link(boot).is_symlink() and unit_path(boot).exists()):
            found.unlinked.append(mission)
    owned = {m.unit for m in wanted} | {boot_unit_of(m) for m in wanted}
    directory = unitfiles.unit_dir()
    prefix = names.unit_prefix()
    files = [*directory.glob(f"{prefix}@*.service"), *directory.glob(f"{prefix}-boot@*.service")] \
        if directory.is_dir() else []
    found.orphans = sorted((p for p in files if p.name not in owned and unitfiles.is_ours(p)), key=lambda p: p.name)
    return found


def repair(rebuild: bool) -> Step:
    """`overmind repair`'s step for persisted missions. A file edited under a running mission is
    written back only when asked (`rebuild`: the running unit keeps what it loaded until its next
    start)."""
    from overmind.control.persist import delete
    from overmind.store import shared

    found = survey(shared().all())
    running = _running([*(m.unit for m in found.edited), *(p.name for p in found.orphans)])
    done: list[str] = []
    needs: list[str] = []
    for mission in [*found.missing, *found.edited]:
        copy = kept_copy(mission.unit)
        if mission.unit in running and not rebuild:
            needs.append(f"{mission.name}: its unit file was edited and it runs, so it is left as it is;"
                         " overmind repair --rebuild writes overmind's back (for its next start)")
        elif not copy.exists():
            needs.append(f"{mission.name}: no copy of its unit file is kept; overmind restart {mission.name}"
                         " writes it again")
        else:
            unitfiles.write({mission.unit: copy.read_text(encoding="utf-8")}, hint="move it away, then repair")
            done.append(f"wrote {mission.name}'s unit file again")
    needs += [f"{m.name}: {unit_path(m.unit)} is not overmind's; move it away, then overmind repair"
              for m in found.foreign]
    for mission in found.unlinked:
        boot = boot_unit_of(mission)
        if boot != mission.unit and not unit_path(boot).exists():  # its blueprint's boot unit went
            if not kept_copy(boot).exists():
                needs.append(f"{mission.name}: no copy of {boot} is kept; apply its blueprint again")
                continue
            unitfiles.write({boot: kept_copy(boot).read_text(encoding="utf-8")}, hint="move it away, then repair")
        link = wants_link(boot)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)  # a dangling link is not a link to the file
        link.symlink_to(f"../{boot}")
        done.append(f"enabled {mission.name} at boot again")
    for orphan in found.orphans:
        if orphan.name in running:  # a store that lost its mission (rebuilt, another state dir): kept
            needs.append(f"{orphan.name} runs but belongs to no persisted mission in this store; left as it is")
            continue
        delete(orphan.name)
        forget(orphan.name)
        done.append(f"removed {orphan.name} (no persisted mission owns it)")
    if done:
        _reload()
    if needs:
        return Step("persisted missions", "needs", "; ".join([*done, *needs]))
    if done:
        return Step("persisted missions", "changed", "; ".join(done))
    return Step("persisted missions", "ok", f"{found.missions} persisted; their unit files are as overmind wrote them")


def _running(units: list[str]) -> set[str]:
    """Which of these units the manager runs now (none if it cannot be asked)."""
    from overmind.errors import OvermindError
    from overmind.systemd import manager

    if not units:
        return set()
    try:
        return {p["Id"] for p in manager.show(units, ["Id", "ActiveState"])
                if p.get("ActiveState") in manager.ACTIVE_STATES}
    except OvermindError:
        return set()


def _reload() -> None:
    from overmind.errors import OvermindError
    from overmind.systemd import bus

    try:
        bus.reload()
    except OvermindError:
        pass  # the manager is down: it reads the files when it starts


def check(started_at_boot: bool) -> tuple[str, str, str | None]:
    """`doctor`'s look at persisted missions: (ok | warn, what it found, a hint). Warns when
    nothing starts the user manager at boot (`started_at_boot` False), and when the unit files
    are not as overmind wrote them (overmind.control.persist_files)."""
    from overmind.store import shared

    found = survey(shared().all())
    problems = found.problems
    if found.missions and not started_at_boot:
        problems.insert(0, f"{found.missions} persisted, but nothing starts the user manager at boot")
    if not problems:
        return "ok", (f"{found.missions} persisted; they start again at boot" if found.missions
                      else "none persisted"), None
    hints = [*(["overmind setup (it makes the user manager start at boot)"] if found.missions and not started_at_boot
               else []), *(["overmind repair"] if found.problems else [])]
    hint = "; then ".join(hints)
    return "warn", "; ".join(problems), hint
