"""`overmind events`: the change feed, live, as lines or NDJSON (what the dashboard and TUI read)."""

from __future__ import annotations

import asyncio
import json

import click

from overmind.cli.changes import present
from overmind.cli.on_host import on_host
from overmind.cli.options import json_option
from overmind.control.host import ready


@click.command()
@click.argument("refs", nargs=-1, metavar="[ID|NAME...]")
@json_option
@click.option("--ready", "say_ready", is_flag=True, hidden=True,
              help='First print {"type": "ready"} once the feed is following (what a caller over ssh waits for).')
@on_host("refs", special="events")
def events(refs: tuple[str, ...], as_json: bool, say_ready: bool) -> None:
    """Print what changes among missions, blueprints and rituals as it happens (until Ctrl-C);
    with ID|NAME, only about those. --json prints one JSON object per line."""
    from overmind.control.missions import resolve

    ready()
    only = [resolve(ref).id for ref in refs] if refs else None
    try:
        asyncio.run(_print(only, as_json, say_ready))
    except KeyboardInterrupt:
        pass


async def _print(only: list[str] | None, as_json: bool, say_ready: bool) -> None:
    from overmind.control.feed import Feed

    async with Feed(only) as feed:
        if say_ready:
            click.echo(json.dumps({"version": 1, "type": "ready"}))
        async for change in feed.subscribe():
            present(change.to_json(), as_json)


COMMANDS = [events]
