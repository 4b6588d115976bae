"""`overmind notify add|ls|rm|test`: where a person is told that an agent needs them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from overmind import format as fmt
from overmind.cli.options import json_option
from overmind.control.notify_channels import DEFAULT_EVENTS, EVENTS, FORMATS

if TYPE_CHECKING:
    from overmind.control.notify import Listed


@click.group()
def notify() -> None:
    """Tell a person when a mission needs them: a webhook (JSON, Slack, ntfy), the desktop or a command."""


@notify.command("add")
@click.argument("name")
@click.option("--webhook", metavar="URL", help="POST each notice to URL.")
@click.option("--format", "format_", type=click.Choice(FORMATS), help="The webhook's body (default json).")
@click.option("--desktop", is_flag=True, help="Desktop notifications on this session bus.")
@click.option("--command", metavar="CMD", help="Run CMD (with /bin/sh) for each notice; the notice is in "
                                                "OVERMIND_NOTIFY_* variables and on stdin as JSON.")
@click.option("--on", "on", multiple=True, metavar="EVENTS",
              help=f"Comma-separated: {', '.join(EVENTS)} or all (default: {', '.join(DEFAULT_EVENTS)}).")
@click.option("--missions", metavar="GLOB", help="Only missions (blueprints, rituals) whose names match GLOB.")
@click.option("--retry-for", metavar="DURATION", help="Keep trying a failing delivery this long (default 1h).")
@json_option
def add(name: str, webhook: str | None, format_: str | None, desktop: bool, command: str | None, on: tuple[str, ...],
        missions: str | None, retry_for: str | None, as_json: bool) -> None:
    """Add channel NAME, and start the notification service if it is not running."""
    from overmind.control import notify as control
    from overmind.quantities import parse_duration

    retry = parse_duration(retry_for, "--retry-for") if retry_for is not None else None
    added = control.add(name, webhook=webhook, desktop=desktop, command=command, format=format_, on=on,
                        missions=missions, retry_for=retry)
    if as_json:
        fmt.print_json(added.to_json())
        return
    channel = added.channel
    scope = f" for missions matching {channel.missions}" if channel.missions else ""
    click.echo(f"added notification channel {name} ({channel.kind}: {channel.shown_target}){scope}")
    click.echo(f"on: {', '.join(channel.events)}; delivered by {added.unit}")
    for note in added.notes:
        click.echo(f"overmind: note: {note}", err=True)


@notify.command("ls")
@json_option
def ls(as_json: bool) -> None:
    """Channels, what they want, and what was delivered to them."""
    from overmind.control import notify as control

    shown = control.listing()
    if as_json:
        fmt.print_json([row.to_json() for row in shown])
        return
    if not shown:
        click.echo("no notification channels (add one with: overmind notify add NAME --webhook URL)")
        return
    headers = ("NAME", "KIND", "TARGET", "ON", "MISSIONS", "SENT", "LAST")
    rows = [(row.channel.name, row.channel.kind + (f" ({row.channel.format})" if row.channel.format else ""),
             row.channel.shown_target, _events(row.channel.events), row.channel.missions or "*",
             str(row.stats.sent), _last(row)) for row in shown]
    click.echo(fmt.table(headers, rows, shrinkable=(2,)))


def _events(events: tuple[str, ...]) -> str:
    if events == DEFAULT_EVENTS:
        return "needs you"
    return "all" if events == EVENTS else ",".join(events)


def _last(row: Listed) -> str:
    stats = row.stats
    if stats.pending:
        return f"{stats.pending} pending: {stats.last_error or 'sending'}"
    if stats.last_error and stats.failed:
        return f"{stats.failed} given up: {stats.last_error}"
    return f"sent {fmt.relative(stats.last_sent_at)}" if stats.last_sent_at else "-"


@notify.command("rm")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
def rm(names: tuple[str, ...]) -> None:
    """Remove channels; with the last one, the notification service stops and is removed."""
    from overmind.control import notify as control

    for line in control.remove(list(names)):
        click.echo(line)


@notify.command("test")
@click.argument("name")
@json_option
def test(name: str, as_json: bool) -> None:
    """Send a test notification to channel NAME now (exit 1 if it fails)."""
    from overmind.control import notify as control

    outcome = control.test(name)
    if as_json:
        fmt.print_json({"name": name, "sent": outcome.ok, "detail": outcome.detail})
    else:
        click.echo(f"sent a test notification to {name}: {outcome.detail}")


COMMANDS = [notify]
