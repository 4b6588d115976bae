"""Adding, removing, switching and starting rituals: unit files plus the user manager's verbs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from overmind import names
from overmind.errors import NotFound, OvermindError
from overmind.rituals import unitfiles
from overmind.rituals.model import Ritual, RitualSpec
from overmind.store import Store, state_dir
from overmind.systemd import manager
from overmind.systemd.manager import ACTIVE_STATES
from overmind.systemd.unitfiles import unit_dir


class RitualNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"no ritual named '{name}'", hint="see 'overmind rituals'")


@dataclass(frozen=True)
class Installed:
    ritual: Ritual
    changed: bool  # False when the files already said exactly this


def pattern() -> str:
    return names.ritual_unit("*", "timer")


def all_rituals() -> list[Ritual]:
    """Every ritual of this unit prefix, by name."""
    return [r for r in unitfiles.installed(pattern()) if r.files and r.files[0].name == r.timer]


def get(name: str) -> Ritual:
    names.validate_name(name, "ritual")
    timer = unit_dir() / names.ritual_unit(name, "timer")
    if not timer.exists():
        raise RitualNotFound(name)
    ritual = unitfiles.read(timer)
    if ritual is None:
        unitfiles.raise_foreign(timer)
    assert ritual is not None
    return ritual


def install(spec: RitualSpec, replace: bool = False) -> Installed:
    """Write the ritual's timer and service, reload, and enable the timer now.

    With `replace`, a ritual of the same name that overmind wrote is updated in place (the files
    are left alone when nothing changed); a unit file overmind did not write is never touched.
    """
    directory = unit_dir()
    paths = [directory / spec.timer, directory / spec.service]
    refused = unitfiles.foreign(paths)
    if refused:
        unitfiles.raise_foreign(refused[0])
    existing = unitfiles.read(paths[0]) if paths[0].exists() else None
    if existing is not None and not replace:
        raise OvermindError(f"ritual '{spec.name}' already exists",
                            hint=f"overmind ritual rm {spec.name}, or add it again with --replace")
    _refuse_units_loaded_elsewhere(paths)
    created_at = existing.created_at if existing else time.time()
    files = unitfiles.render(spec, created_at, str(state_dir().resolve()))
    previous = {path.name: path.read_text() for path in paths if path.exists()} if existing else {}
    if existing is not None and list(previous.values()) == list(files.values()):
        manager.systemctl("enable", "--no-reload", "--now", spec.timer)
        return Installed(existing, changed=False)
    unitfiles.write(files)
    try:
        manager.systemctl("daemon-reload")
        _check_loaded_from(paths)
        manager.systemctl("enable", "--no-reload", spec.timer)  # a symlink; the reload is done
        # restart, not start: a changed schedule takes effect now
        manager.systemctl("restart", spec.timer)
    except OvermindError:
        if previous:  # put the ritual back as it was
            unitfiles.write(previous)
            manager.systemctl("daemon-reload", check=False)
            manager.systemctl("restart", spec.timer, check=False)
        else:
            _delete(spec.timer, spec.service, tuple(paths))
        raise
    ritual = unitfiles.read(paths[0])
    assert ritual is not None
    return Installed(ritual, changed=True)


def _refuse_units_loaded_elsewhere(paths: list[Path]) -> None:
    """A unit of the same name from another directory (or a transient one) is someone else's."""
    for props in manager.show([p.name for p in paths], ["Id", "LoadState", "FragmentPath"]):
        fragment = props.get("FragmentPath", "")
        if props.get("LoadState") == "loaded" and fragment and Path(fragment) not in paths:
            raise OvermindError(f"a unit named {props.get('Id')} already exists ({fragment}); it is left as it is",
                                hint="choose another ritual name")


def _check_loaded_from(paths: list[Path]) -> None:
    shown = manager.show([p.name for p in paths], ["Id", "LoadState", "FragmentPath"])
    for path, props in zip(paths, shown, strict=False):
        if props.get("LoadState") != "loaded":
            raise OvermindError(f"systemd could not load {path.name} ({props.get('LoadState') or 'unknown'})",
                                hint=f"see: systemctl --user status {path.name}")
        if Path(props.get("FragmentPath", "")) != path:
            raise OvermindError(f"systemd loads {path.name} from {props.get('FragmentPath') or 'nowhere'}, not {path}",
                                hint="the user manager's XDG_CONFIG_HOME differs from this shell's")


def remove(name: str) -> list[Path]:
    """Stop the ritual (a run going on included), delete its files and forget its runs."""
    ritual = get(name)
    removed = _delete(ritual.timer, ritual.service, ritual.files)
    Store().forget_ritual_runs(ritual.service)
    return removed


def _delete(timer: str, service: str, files: tuple[Path, ...]) -> list[Path]:
    manager.systemctl("stop", timer, service, check=False)
    # The stamp file Persistent= keeps: a ritual added again later must not catch up on this one.
    manager.systemctl("clean", "--what=state", timer, check=False)
    manager.systemctl("disable", "--no-reload", timer, check=False)
    removed = unitfiles.remove(files)
    manager.systemctl("daemon-reload")
    manager.systemctl("reset-failed", timer, service, check=False)
    return removed


def enable(name: str) -> Ritual:
    ritual = get(name)
    manager.systemctl("enable", "--no-reload", "--now", ritual.timer)
    return ritual


def disable(name: str) -> Ritual:
    """No further runs (a run going on finishes); the files stay for `enable`."""
    ritual = get(name)
    manager.systemctl("disable", "--no-reload", "--now", ritual.timer)
    return ritual


def run_now(name: str) -> Ritual:
    ritual = get(name)
    state = manager.show([ritual.service], ["ActiveState"])
    if state and state[0].get("ActiveState") in ACTIVE_STATES:
        raise OvermindError(f"ritual '{name}' is already running", hint=f"overmind ritual logs {name} -f")
    manager.systemctl("start", "--no-block", ritual.service)
    return ritual
