"""Permission requests of agents, answered by a person: permissions, approve, deny."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from overmind import format as fmt
from overmind.cli.options import json_option
from overmind.control.host import ready

if TYPE_CHECKING:
    from overmind.control.permissions import PermissionRequest

request_argument = click.argument("request", metavar="[REQUEST]", required=False)


@click.command()
@click.argument("ref", metavar="[ID|NAME]", required=False)
@click.option("--all", "every", is_flag=True, help="With ID|NAME: every request it asked, answered ones too.")
@json_option
def permissions(ref: str | None, every: bool, as_json: bool) -> None:
    """List the permission requests agents wait on (of one mission with ID|NAME).

    Answer them with `overmind approve ID|NAME [REQUEST]` or `overmind deny ID|NAME [REQUEST]`."""
    from overmind.control import permissions as control
    from overmind.errors import OvermindError

    if every and ref is None:
        raise OvermindError("--all needs a mission", hint="overmind permissions NAME --all")
    ready()
    found = control.history(ref) if every and ref is not None else control.pending(ref)
    if as_json:
        fmt.print_json([request.to_json() for request in found])
        return
    if not found:
        click.echo("no permission request is waiting" + (f" for '{ref}'" if ref else ""))
        return
    now = time.time()
    headers = ("ID", "NAME", "REQUEST", "ASKED", *(["STATE"] if every else ["DENIED IN"]), "TOOL USE")
    rows = [(r.record.mission_id, r.name, str(r.record.number), fmt.duration(now - r.record.asked_at) + " ago",
             r.record.outcome() if every else fmt.duration(max((r.expires_at or now) - now, 0)),
             r.record.label) for r in found]
    click.echo(fmt.table(headers, rows, shrinkable=[1, 4] if every else [1]))


def _said(verb: str, answered: PermissionRequest) -> str:
    record = answered.record
    line = f"{verb} request {record.number} of '{answered.name}': {record.label}"
    if record.rule:
        line += f"; from now on it may, without asking: {record.rule}"
    if record.state == "denied" and record.message:
        line += f" (the agent reads: {record.message})"
    if not record.delivered:
        line += "; the agent is restarting and gets the answer when it asks again"
    return line


@click.command()
@click.argument("ref", metavar="ID|NAME")
@request_argument
@click.option("--always", is_flag=True,
              help="Also allow this kind of call for the rest of the mission (the rule the agent proposes, "
                   "e.g. Bash(npm test *); shown in info).")
@json_option
def approve(ref: str, request: str | None, always: bool, as_json: bool) -> None:
    """Allow a waiting permission request (the only one, without REQUEST): the tool runs."""
    _answer(ref, request, True, as_json, always=always)


@click.command()
@click.argument("ref", metavar="ID|NAME")
@request_argument
@click.option("--message", "-m", metavar="TEXT", help="What the agent is told (its tool's result).")
@json_option
def deny(ref: str, request: str | None, message: str | None, as_json: bool) -> None:
    """Deny a waiting permission request (the only one, without REQUEST): the tool does not run."""
    _answer(ref, request, False, as_json, message=message)


def _answer(ref: str, request: str | None, allow: bool, as_json: bool, always: bool = False,
            message: str | None = None) -> None:
    from overmind.control import permissions as control

    ready()
    answered = control.answer(ref, request, allow, "cli", message=message, always=always)
    if as_json:
        fmt.print_json(answered.to_json())
    else:
        click.echo(_said("allowed" if allow else "denied", answered))


COMMANDS = [permissions, approve, deny]
