"""`apply` of a blueprint whose agents run on several hosts: each host's part, the relays between
them, and with --wait each host's progress (overmind.control.blueprint_hosts)."""

from __future__ import annotations

import sys

import click

from overmind import format as fmt


def apply_spread(file: str, on: str | None, wait_: bool, prune: bool, as_json: bool) -> None:
    from overmind.control.blueprint_hosts import apply_everywhere, follow_everywhere
    from overmind.remote.text import printable_line

    found, parts, relays = apply_everywhere(file, on, prune)
    failed = [part for part in parts if not part.ok]
    if as_json:
        fmt.print_json({"name": found.name, "hosts": {part.host: part.data if part.ok else {"error": part.text}
                                                      for part in parts},
                        "edges": [edge._asdict() for edge in found.edges], "relays": relays})
    else:
        for part in parts:
            click.echo(f"{part.host}: {printable_line(part.text)}", err=not part.ok)
        for edge, relay in zip(found.edges, relays, strict=False):
            agent = edge.gate.removeprefix(f"{found.name}.")
            click.echo(f"{edge.target}: {agent} is a gate, open once {', '.join(edge.members)} on {edge.source} "
                       f"has finished (relay {relay})")
    if failed:
        sys.exit(1)
    if wait_:
        ok = follow_everywhere(found, (lambda line: None) if as_json else click.echo)
        sys.exit(0 if ok else 1)
