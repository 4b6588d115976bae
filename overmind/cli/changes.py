"""One change of the feed as `overmind events` prints it, for this host's feed and another's."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click


def present(change: dict[str, Any], as_json: bool, clean: bool = False) -> None:
    """One change as a line (`09:00:01.250  mission  finished  build1:fix  crashed (exit 3)`) or
    as its JSON; `clean`: it came from another host, so every character of it is made printable."""
    from overmind.mission.status import words

    if as_json:
        click.echo(json.dumps(change))
        return
    data = change.get(str(change.get("type"))) or {}
    state = words(data.get("status") or data.get("last_result") or "-", data.get("reason"))
    if change.get("type") == "permission":
        state = f"request {data.get('request')}: {data.get('label')}"
    at = change.get("at")
    stamp = datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3] if isinstance(at, (int, float)) else "-"
    name = f"{change['host']}:{change.get('name')}" if change.get("host") else str(change.get("name"))
    line = f"{stamp}  {change.get('type')!s:<9}  {change.get('event')!s:<8}  {name}  {state}"
    if clean:
        from overmind.remote.text import printable_line

        line = printable_line(line)
    click.echo(line)
