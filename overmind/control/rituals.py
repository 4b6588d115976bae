"""Rituals (missions on a schedule: a systemd timer and service) as front ends list and drive them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from overmind.errors import OvermindError

if TYPE_CHECKING:
    from overmind.rituals import Installed, Ritual, RitualSpec
    from overmind.rituals.runlog import Line
    from overmind.rituals.schedule import Preview
    from overmind.rituals.views import RitualView


def listing() -> list[RitualView]:
    """Every ritual with its schedule, next and last run, last result and runs so far."""
    from overmind.rituals import all_rituals
    from overmind.rituals.views import views

    return views(all_rituals())


def get(name: str) -> RitualView:
    from overmind.rituals import get as get_ritual
    from overmind.rituals.views import views

    return views([get_ritual(name)])[0]


def prepare(name: str, command: tuple[str, ...] | list[str], on_calendar: str | None = None,
            every: str | None = None, persistent: bool = False, randomized_delay: str | None = None,
            overlap: str = "skip", **options: Any) -> tuple[RitualSpec, Preview]:
    """Ritual NAME running COMMAND (or an agent's prompt) on a schedule, checked, with its next
    elapses; `options` are `run`'s (cwd, env, limits, provider and the agent's options)."""
    from overmind import names
    from overmind.mission.build import as_agent_run, build_spec
    from overmind.quantities import parse_duration
    from overmind.rituals import RitualSpec, schedule

    names.validate_name(name, "ritual")
    if (on_calendar is None) == (every is None):
        raise OvermindError("a ritual needs exactly one of --on-calendar and --every",
                            hint="e.g. --on-calendar 'Mon..Fri 09:00' or --every 1h")
    preview = schedule.calendar(on_calendar) if on_calendar is not None else schedule.every(every or "")
    mission = build_spec(command, persist=False, **options)  # a ritual's unit is a timer's, already a file
    if mission.provider != "raw":
        from overmind import isolation

        mission = as_agent_run(mission, isolation.scheduled_worktree(mission, name))
    spec = RitualSpec(
        name=name, mission=mission, schedule=preview.schedule, persistent=persistent,
        randomized_delay=parse_duration(randomized_delay, "--randomized-delay") if randomized_delay else None,
        overlap=overlap,
    )
    return spec, preview


def add(spec: RitualSpec, replace: bool = False) -> Installed:
    """Write the ritual's timer and service and enable it (with `replace`, update one overmind wrote)."""
    from overmind.rituals import install

    return install(spec, replace=replace)


def run_now(name: str) -> Ritual:
    from overmind.rituals import run_now as start

    return start(name)


def enable(name: str) -> Ritual:
    from overmind.rituals import enable as switch_on

    return switch_on(name)


def disable(name: str) -> Ritual:
    from overmind.rituals import disable as switch_off

    return switch_off(name)


def remove(name: str) -> list[str]:
    """Stop the ritual, delete its unit files, forget its runs (the journal keeps its output)."""
    from overmind.rituals import remove as delete

    return [str(path) for path in delete(name)]


def lines(name: str, last_runs: int | None = None, follow: bool = False) -> Iterator[Line]:
    """The output of every run of a ritual, run by run."""
    from overmind.rituals import get as get_ritual
    from overmind.rituals.runlog import lines as run_lines

    return run_lines(get_ritual(name), last_runs, follow)
