"""`overmind events`: the change feed, live, as lines or NDJSON (what the dashboard and TUI read)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import click

from overmind.cli.options import json_option
from overmind.control.host import ready


@click.command()
@click.argument("refs", nargs=-1, metavar="[ID|NAME...]")
@json_option
def events(refs: tuple[str, ...], as_json: bool) -> None:
    """Print what changes among missions, blueprints and rituals as it happens (until Ctrl-C);
    with ID|NAME, only about those. --json prints one JSON object per line."""
    from overmind.control.missions import resolve

    ready()
    only = [resolve(ref).id for ref in refs] if refs else None
    try:
        asyncio.run(_print(only, as_json))
    except KeyboardInterrupt:
        pass


async def _print(only: list[str] | None, as_json: bool) -> None:
    from overmind.control.feed import changes
    from overmind.mission.status import words

    async for change in changes(only):
        if as_json:
            click.echo(json.dumps(change.to_json()))
            continue
        data = change.data or {}
        state = words(data.get("status") or data.get("last_result") or "-", data.get("reason"))
        if change.kind == "permission":
            state = f"request {data['request']}: {data['label']}"
        stamp = datetime.fromtimestamp(change.at).strftime("%H:%M:%S.%f")[:-3]
        click.echo(f"{stamp}  {change.kind:<9}  {change.event:<8}  {change.name}  {state}")


COMMANDS = [events]
