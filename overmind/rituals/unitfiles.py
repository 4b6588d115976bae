"""A ritual's two unit files: rendered from the jinja2 templates in `units/`, written only where
nothing foreign stands, and recognised again by the marker line they begin with.

Every value that reaches a file is quoted or escaped here, so a name, command, path or variable
can neither add a line to the unit nor expand a % specifier.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from overmind.errors import OvermindError
from overmind.names import log_identifier
from overmind.quantities import span
from overmind.rituals.model import Ritual, RitualSpec, unit_dir

MARKER = "# Written by overmind: it changes or removes only unit files that begin with this line."
METADATA_PREFIX = "# overmind-ritual: "
TEMPLATES = Path(__file__).resolve().parent.parent / "unit_templates"
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def render(spec: RitualSpec, created_at: float, state_dir: str) -> dict[str, str]:
    """{unit file name: content} for the ritual's timer and service."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from overmind.mission.units import (
        describe,
        exec_argv,
        limit_properties,
        python_command,
        quote_assignment,
        quote_exec_arg,
        run_environment,
        watchdog_properties,
    )

    mission = spec.mission
    if _CONTROL_CHARS.search(mission.cwd) or _specifiers(mission.cwd) != mission.cwd.replace("%", "%%"):
        raise OvermindError("the working directory's path cannot be written into a unit file",
                            hint="it contains control characters, or ends with a space or a backslash")
    env = run_environment(mission, state_dir) | {"OVERMIND_RITUAL_NAME": spec.name}
    properties = {
        "TimeoutStopSec": f"{mission.stop_timeout:g}s",
        **limit_properties(mission),
        **watchdog_properties(mission),
    }
    schedule = spec.schedule
    jinja = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True,
                        autoescape=False)
    common = {"marker": MARKER, "timer": spec.timer, "service": spec.service}
    timer = jinja.get_template("ritual.timer.j2").render(
        **common,
        metadata=json.dumps(spec.metadata(created_at), ensure_ascii=True, sort_keys=True),
        description=_specifiers(describe(spec.name, schedule.describe(), kind="ritual")),
        calendar=_specifiers(schedule.calendar) if schedule.calendar else None,
        every=span(schedule.every) if schedule.every else None,
        persistent=spec.persistent,
        randomized_delay=span(spec.randomized_delay) if spec.randomized_delay else None,
    )
    hook = "overmind.hooks.ritual"
    service = jinja.get_template("ritual.service.j2").render(
        **common,
        description=_specifiers(describe(spec.name, mission.command, kind="ritual")),
        cwd=_specifiers(mission.cwd),
        identifier=log_identifier(spec.service),
        environment=[quote_assignment(key, value) for key, value in env.items()],
        properties=properties,
        gate=python_command(hook, "gate", spec.service, *_every_args(spec)) if spec.overlap == "skip" else None,
        exec_start=" ".join(quote_exec_arg(arg) for arg in exec_argv(mission)),
        end_hook=python_command(hook, "end", spec.service, f"--overlap={spec.overlap}"),
    )
    return {spec.timer: timer, spec.service: service}


def _every_args(spec: RitualSpec) -> list[str]:
    return [f"--every={spec.schedule.every:g}"] if spec.schedule.every else []


def _specifiers(text: str) -> str:
    """An unquoted value: no % specifiers, and no trailing backslash (it would continue the line)."""
    return text.replace("%", "%%").rstrip("\\ ")


def is_ours(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return f.readline().rstrip("\n") == MARKER
    except OSError:
        return False


def read(timer_path: Path) -> Ritual | None:
    """The ritual a timer file of ours describes, None for anything else."""
    try:
        lines = timer_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if len(lines) < 2 or lines[0] != MARKER or not lines[1].startswith(METADATA_PREFIX):
        return None
    try:
        data: dict[str, Any] = json.loads(lines[1].removeprefix(METADATA_PREFIX))
        service = timer_path.with_suffix(".service")
        return Ritual.from_metadata(data, (timer_path, service))
    except (ValueError, KeyError, TypeError):
        return None


def installed(prefix_glob: str) -> list[Ritual]:
    """Rituals of this unit prefix whose timer file overmind wrote, by name."""
    rituals = (read(path) for path in sorted(unit_dir().glob(prefix_glob)))
    return [ritual for ritual in rituals if ritual is not None]


def foreign(paths: list[Path]) -> list[Path]:
    """The paths among these that exist and were not written by overmind."""
    return [path for path in paths if (path.exists() or path.is_symlink()) and not is_ours(path)]


def write(files: dict[str, str]) -> list[Path]:
    """Write each file atomically (a reader never sees half a unit); refuse to touch foreign ones."""
    import tempfile

    directory = unit_dir()
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / name for name in files]
    refused = foreign(paths)
    if refused:
        raise_foreign(refused[0])
    for path, content in zip(paths, files.values(), strict=True):
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as f:
                f.write(content)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return paths


def remove(paths: tuple[Path, ...] | list[Path]) -> list[Path]:
    """Delete the files of ours among these; returns what was deleted."""
    removed = []
    for path in paths:
        if is_ours(path):
            path.unlink()
            removed.append(path)
    return removed


def raise_foreign(path: Path) -> None:
    raise OvermindError(f"{path} exists and was not written by overmind; it is left as it is",
                        hint="choose another ritual name")
