"""`ps --hosts all|a,b`: missions of several hosts in one table with a HOST column."""

from __future__ import annotations

from typing import Any

import click

from overmind import format as fmt
from overmind.errors import OvermindError


def print_fleet(spec: str, show_all: bool, tree: bool, as_json: bool) -> None:
    from overmind.control.fleet import missions
    from overmind.mission.status import words
    from overmind.remote.text import printable_line

    if tree:
        raise OvermindError("--tree and --children list one host's missions", hint="use them with --on HOST")
    fleet = missions(spec, include_killed=show_all)
    if as_json:
        fmt.print_json(fleet.to_json())
    else:
        def cell(value: Any) -> str:
            return printable_line(str(value))

        rows = [(cell(r["host"]), cell(r.get("id")), cell(r.get("name")), cell(r.get("type")),
                 cell(words(str(r.get("status")), r.get("reason"))), cell(r.get("restarts", 0)),
                 fmt.duration(_number(r.get("uptime_s"))), fmt.size(_int(r.get("memory_bytes"))),
                 fmt.cpu(_number(r.get("cpu_s"))), cell(_command(r))) for r in fleet.rows]
        if rows:
            headers = ("HOST", "ID", "NAME", "TYPE", "STATUS", "RESTARTS", "UPTIME", "MEM", "CPU", "COMMAND")
            click.echo(fmt.table(headers, rows, shrinkable=[2, 4]))
        elif not fleet.unreachable:
            click.echo("no missions on any host (start one with: overmind run --on HOST 'COMMAND')")
    for host, why in fleet.unreachable:
        click.echo(f"{host}: {why}", err=as_json)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _command(row: dict[str, Any]) -> str:
    provider, command = row.get("provider"), row.get("command") or ""
    return command if provider in (None, "raw") else f"{provider}: {command or '(no prompt)'}"
