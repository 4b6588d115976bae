"""A ritual's two unit files: rendered from the jinja2 templates in `units/`, written only where
nothing foreign stands, and recognised again by the marker line they begin with.

Every value that reaches a file is quoted or escaped here, so a name, command, path or variable
can neither add a line to the unit nor expand a % specifier.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from overmind.errors import OvermindError
from overmind.names import log_identifier
from overmind.quantities import span
from overmind.rituals.model import Ritual, RitualSpec
from overmind.systemd.unitfiles import (
    MARKER,
    TEMPLATES,
    foreign,
    python_command,
    quote_assignment,
    quote_exec_arg,
    raise_foreign,
    remove,
    unit_dir,
    write,
)

METADATA_PREFIX = "# overmind-ritual: "
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def render(spec: RitualSpec, created_at: float, state_dir: str) -> dict[str, str]:
    """{unit file name: content} for the ritual's timer and service."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from overmind.mission.units import describe, exec_argv, limit_properties, run_environment, watchdog_properties

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


__all__ = ["MARKER", "foreign", "installed", "raise_foreign", "read", "remove", "render", "write"]
