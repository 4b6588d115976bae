"""Blueprint commands: agents, apply, diff (and `info` of a blueprint)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from overmind import format as fmt
from overmind.cli.on_host import takes_hosts
from overmind.cli.options import json_option
from overmind.cli.output import print_fields
from overmind.errors import OvermindError

if TYPE_CHECKING:
    from overmind.blueprint.model import Agent
    from overmind.control.missions import View

file_argument = click.argument("file", metavar="FILE")


@click.command()
@file_argument
@json_option
def agents(file: str, as_json: bool) -> None:
    """List a blueprint's agents, dependencies first."""
    from overmind.control.blueprints import agent_to_json, load

    blueprint = load(file)
    if as_json:
        fmt.print_json([agent_to_json(a) for a in blueprint.agents])
        return

    def runs(agent: Agent) -> str:
        if agent.timing:
            return f"on schedule: {agent.timing.schedule.describe()}"
        return f"depends on: {', '.join(agent.depends_on)}" if agent.depends_on else "-"

    rows = [(a.name, a.spec.provider, a.spec.type, str(a.replicas), runs(a)) for a in blueprint.agents]
    click.echo(fmt.table(("AGENT", "PROVIDER", "TYPE", "REPLICAS", "RUNS"), rows, shrinkable=(0,)))


max_new_option = click.option(
    "--max-new", type=click.IntRange(min=0), metavar="N",
    help="Most new missions one apply may create (default: $OVERMIND_MAX_NEW, else 500).")


@click.command()
@file_argument
@click.option("--wait", "wait_", is_flag=True, help="Show each agent's progress until the pipeline settles;"
                                                     " exit 1 if an agent failed.")
@click.option("--prune/--no-prune", default=True, show_default=True,
              help="Stop agents that are no longer in the file.")
@click.option("--on", "on", metavar="HOST", envvar="OVERMIND_HOST",
              help="Run the agents without a host = \"...\" of their own on host HOST.")
@max_new_option
@json_option
@takes_hosts
def apply(file: str, wait_: bool, prune: bool, on: str | None, max_new: int | None, as_json: bool) -> None:
    """Make the running agents match a blueprint file, then return (systemd runs the graph)."""
    from overmind.control import blueprints
    from overmind.control.blueprint_hosts import placed_elsewhere

    if placed_elsewhere(file, on):  # agents on other hosts: each host applies its part
        from overmind.cli.spread import apply_spread

        apply_spread(file, on, wait_, prune, as_json)
        return

    blueprint = blueprints.load(file)

    def waiting() -> None:
        click.echo(f"overmind: waiting for another apply of '{blueprint.name}' to finish", err=True)

    applied = blueprints.apply(blueprint, prune=prune, on_wait=waiting, max_new=max_new)
    for warning in applied.warnings:
        click.echo(f"overmind: warning: {warning} (see 'overmind doctor')", err=True)
    record = applied.record
    if as_json and not wait_:
        fmt.print_json({**applied.plan.to_json(), "id": record.id, "name": record.name})
    elif not as_json:
        click.echo(blueprints.summary(applied))
    if not wait_:
        return
    pipeline = blueprints.follow(record, (lambda line: None) if as_json else click.echo)
    words, failed = blueprints.outcome(pipeline)
    if as_json:
        fmt.print_json(pipeline.to_json())
    else:
        click.echo(f"pipeline {record.id} ({record.name}) {words}")
    sys.exit(1 if failed else 0)


_SIGNS = {"create": "+", "start": ">", "replace": "~", "prune": "-", "keep": "="}


@click.command()
@file_argument
@max_new_option
@json_option
def diff(file: str, max_new: int | None, as_json: bool) -> None:
    """Show what `apply FILE` would do, changing nothing. Exits 0 without changes, 1 with
    changes, 2 on errors (like `kubectl diff`)."""
    from overmind.control import blueprints, guardrails
    from overmind.control.host import ready

    try:
        ready()
        plan = blueprints.plan(blueprints.load(file))
        limit = guardrails.max_new(max_new)
    except OvermindError as error:
        raise OvermindError(error.message, hint=error.hint, exit_code=2) from None
    count = blueprints.new_missions(plan)
    if as_json:
        fmt.print_json({"new_missions": count, "max_new": limit, **plan.to_json()})
    else:
        refusal = guardrails.new_missions_refusal(plan.blueprint.name, count, limit)
        click.echo(f"{count} new mission{'s' if count != 1 else ''} (limit {limit})" if refusal is None else
                   f"apply would be refused: {refusal.message} ({refusal.hint})")
        title = (f"pipeline {plan.record.id} ({plan.record.name})" if plan.record
                 else f"new pipeline {plan.blueprint.name}")
        click.echo(title)
        rows = [(_SIGNS[c.action], c.action, c.kind, c.name, c.reason) for c in plan.changes]
        click.echo(fmt.table(("", "ACTION", "KIND", "NAME", "WHY"), rows, shrinkable=(3,)))
    sys.exit(1 if plan.changes_anything else 0)


def print_pipeline(view: View) -> None:
    """`info` for a blueprint: the pipeline at a glance, then one line per agent."""
    from overmind.control.describe import AGENT_HEADERS, agent_rows, fields

    print_fields(fields(view))
    rows = agent_rows(view)
    if rows:
        click.echo()
        click.echo(fmt.table(AGENT_HEADERS, rows, shrinkable=(0, 3)))


COMMANDS = [agents, apply, diff]
