"""`overmind akasha ...`: the shared memory agents consult and feed.

A thin front end: every command but `serve`, `stop` and `files` is one request to the warm
memory service over its unix socket (see overmind/akasha/client.py); nothing here imports
chromadb or the model.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from overmind import format as fmt
from overmind.akasha import AkashaError
from overmind.akasha.model import KINDS, Memory
from overmind.cli.options import json_option

_kind_option = click.option("--kind", type=click.Choice(KINDS), help="Only memories of this kind.")
_SCOPE_HELP = ("A repository (a directory in it, or its name as `ls` shows it), 'global', or 'all'. "
               "Default: the current directory's repository, plus global.")
_IMPORT_BATCH = 500


def _request(op: str, **fields: Any) -> dict[str, Any]:
    from overmind.akasha.client import request

    return request(op, **fields)


def _scopes(option: str | None) -> list[str] | None:
    from overmind.control.memory import scopes

    return scopes(option, os.getcwd())


def _print(rows: list[dict[str, Any]], as_json: bool, table: Callable[[list[dict[str, Any]]], str], none: str) -> None:
    if as_json:
        fmt.print_json(rows)
    elif rows:
        click.echo(table(rows))
    else:
        click.echo(f"{none} (teach one with: overmind akasha remember 'TEXT')")


@click.group()
def akasha() -> None:
    """The shared memory: what agents learned, consulted before each mission and fed after it."""


@akasha.command()
@click.argument("text")
@_kind_option
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--scope", help="Where it holds: a repository (a directory in it, or its name), or 'global'. "
                              "Default: the current directory's repository.")
@json_option
def remember(text: str, kind: str | None, tags: tuple[str, ...], scope: str | None, as_json: bool) -> None:
    """Remember TEXT ('-' reads it from standard input). A near-duplicate of a memory of the same
    scope is counted again instead of stored twice."""
    from overmind.control.memory import remember as remember_text

    if text == "-":
        text = sys.stdin.read()
    result = remember_text(text, kind=kind or "fact", tags=tags, scope=scope, cwd=os.getcwd(),
                           agent=os.environ.get("OVERMIND_MISSION_NAME") or "cli",
                           mission=os.environ.get("OVERMIND_MISSION_ID"))
    if as_json:
        fmt.print_json(result)
        return
    memory = result["memory"]
    verb = "remembered" if result["created"] else f"already known, seen {memory['count']} times"
    redacted = f" ({result['redacted']} likely secret{'s' if result['redacted'] != 1 else ''} redacted)" \
        if result["redacted"] else ""
    click.echo(f"{verb}: {memory['id']} [{memory['kind']}, {memory['scope']}]{redacted}")


@akasha.command()
@click.argument("query")
@click.option("-n", "count", type=click.IntRange(1, 100), default=5, show_default=True, help="How many.")
@_kind_option
@click.option("--scope", help=_SCOPE_HELP)
@json_option
def recall(query: str, count: int, kind: str | None, scope: str | None, as_json: bool) -> None:
    """The memories that best answer QUERY: by meaning, and by its words, with scores and sources."""
    from overmind.akasha.views import hits_table
    from overmind.control.memory import search

    hits = search(query, n=count, kind=kind, scopes=_scopes(scope))
    _print(hits, as_json, hits_table, "no memories match")


@akasha.command()
@_kind_option
@click.option("--scope", help=_SCOPE_HELP)
@click.option("--tag", help="Only memories with this tag.")
@click.option("-n", "limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most N, newest first.")
@click.option("--all", "-a", "show_all", is_flag=True, help="All of them.")
@json_option
def ls(kind: str | None, scope: str | None, tag: str | None, limit: int, show_all: bool, as_json: bool) -> None:
    """Memories, the most recently seen first."""
    from overmind.akasha.views import memories_table
    from overmind.control.memory import newest

    found = newest(kind=kind, scopes=_scopes(scope), tag=tag, limit=None if show_all else limit)
    _print(found.memories, as_json, memories_table, "no memories")
    if found.memories and not as_json and found.total > len(found.memories):
        click.echo(f"({len(found.memories)} of {found.total}; -n N or --all for more)")


@akasha.command()
@click.argument("memory_id", metavar="ID")
@json_option
def show(memory_id: str, as_json: bool) -> None:
    """One memory, whole, with where it came from."""
    from overmind.control.memory import show as show_memory

    memory = show_memory(memory_id)
    if as_json:
        fmt.print_json(memory)
        return
    from overmind.akasha.views import memory_fields
    from overmind.cli.output import print_fields

    print_fields(memory_fields(memory))
    click.echo()
    click.echo(memory["text"])


@akasha.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
def forget(ids: tuple[str, ...]) -> None:
    """Forget memories for good."""
    from overmind.control.memory import forget as forget_memories

    done = forget_memories(list(ids))
    for memory_id in done.forgotten:
        click.echo(f"forgot {memory_id}")
    missing = done.missing
    if missing:
        raise AkashaError(f"no memory {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                          hint="see 'overmind akasha ls'")


@akasha.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, writable=True))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def export(file: str | None, force: bool) -> None:
    """Every memory as JSON lines, to FILE or standard output: a backup, or a move to another machine."""
    memories = _request("export")["memories"]
    lines = "".join(json.dumps(memory, ensure_ascii=False) + "\n" for memory in memories)
    if file is None or file == "-":
        sys.stdout.write(lines)
        return
    if os.path.exists(file) and not force:
        raise AkashaError(f"{file} exists; it is left as it is", hint="choose another file, or --force")
    import tempfile

    directory = os.path.dirname(os.path.abspath(file))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".akasha-export.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        f.write(lines)
    os.replace(temporary, file)
    click.echo(f"exported {len(memories)} memories to {file}", err=True)


@akasha.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"))
def import_(file: Any) -> None:
    """Memories from an export (JSON lines; '-' reads standard input). Importing twice changes
    nothing: known ids and near-duplicates are left as they are. A malformed line is reported
    by number and the rest is imported."""
    records, problems = [], []
    for number, line in enumerate(file, 1):
        if not line.strip():
            continue
        try:
            records.append(Memory.from_json(json.loads(line)).to_json())
        except ValueError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
        except (AkashaError, TypeError) as exc:
            problems.append(f"line {number}: {getattr(exc, 'message', None) or exc}")
    totals = {"added": 0, "unchanged": 0, "duplicates": 0}
    for start in range(0, len(records), _IMPORT_BATCH):
        report = _request("import", memories=records[start:start + _IMPORT_BATCH])["report"]
        totals = {key: totals[key] + report[key] for key in totals}
    for problem in problems:
        click.echo(f"overmind: {problem}", err=True)
    click.echo(f"imported {totals['added']} new, {totals['unchanged']} already there, "
               f"{totals['duplicates']} near-duplicates of known memories"
               + (f"; {len(problems)} line{'s' if len(problems) != 1 else ''} skipped" if problems else ""))
    if problems:
        sys.exit(1)


@akasha.command()
@json_option
def stats(as_json: bool) -> None:
    """How many memories of which kind and scope, where they are stored, and the service's state."""
    from overmind.control.memory import stats as memory_stats

    data = memory_stats()
    if as_json:
        fmt.print_json(data)
        return
    from overmind.akasha.views import age
    from overmind.cli.output import print_fields

    service = data["service"]
    print_fields([
        ("memories", f"{data['memories']} (remembered {data['remembered']} times)"),
        ("kinds", ", ".join(f"{k} {v}" for k, v in sorted(data["kinds"].items())) or "-"),
        ("scopes", ", ".join(f"{k} {v}" for k, v in list(data["scopes"].items())[:8]) or "-"),
        ("newest", age(data["newest"])), ("store", data["backend"]), ("model", service["model"]),
        ("service", f"pid {service['pid']}, up {fmt.duration(service['uptime'])}, RSS {fmt.size(service['rss'])}, "
                    f"exits after {fmt.duration(service['idle_timeout'])} idle"),
    ])


@akasha.command()
@click.argument("path")
@json_option
def files(path: str, as_json: bool) -> None:
    """Which missions touched PATH (a file, or anything under a directory), when, how, and what
    they taught the memory."""
    from overmind.akasha.eventlog import EventLog

    target = os.path.abspath(os.path.expanduser(path))
    missions: dict[str, dict[str, Any]] = {}
    for mission_id, name, at, action, subject in EventLog().touching(target):
        entry = missions.setdefault(mission_id, {"id": mission_id, "name": name, "first": at, "last": at,
                                                 "actions": {}})
        entry["last"] = at
        entry["actions"].setdefault(action, [])
        if subject not in entry["actions"][action]:
            entry["actions"][action].append(subject)
    learned = _request("ls", missions=list(missions))["memories"] if missions else []
    if as_json:
        fmt.print_json({"path": target, "missions": list(missions.values()), "memories": learned})
        return
    if not missions:
        click.echo(f"no mission has touched {target}")
        return
    from overmind.akasha.views import age, memories_table

    rows = [(m["id"], m["name"], age(m["last"]), ", ".join(f"{a} {len(s)}" for a, s in m["actions"].items()),
             ", ".join(os.path.relpath(s, target) if s != target else os.path.basename(s)
                       for subjects in m["actions"].values() for s in subjects))
            for m in sorted(missions.values(), key=lambda m: -m["last"])]
    click.echo(fmt.table(("MISSION", "NAME", "WHEN", "ACTIONS", "FILES"), rows, shrinkable=(1,)))
    if learned:
        click.echo("\nwhat they taught:")
        click.echo(memories_table(learned))


@akasha.command()
def mcp() -> None:
    """An MCP server on standard input/output with `recall` and `remember` tools (claude agent
    missions get it automatically)."""
    from overmind.akasha.mcp_server import serve

    serve()


@akasha.command()
@click.option("--uninstall", is_flag=True, help="Also stop the socket and remove both unit files (not the memories).")
def stop(uninstall: bool) -> None:
    """Stop the memory service (the next command starts it again); nothing is lost."""
    from overmind.control.akasha import stop_service

    for line in stop_service(uninstall) or ["the Akasha service was not running"]:
        click.echo(line)



@akasha.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--token", help="Required of clients (default: generated when --host is not loopback).")
@click.option("--path", type=click.Path(file_okay=False), help="Where the server keeps the memories "
                                                                "(default: akasha/cortex in the state directory).")
@click.option("--stop", "stop_", is_flag=True, help="Stop serving and remove the unit (the memories stay).")
@json_option
def serve(host: str, port: int, token: str | None, path: str | None, stop_: bool, as_json: bool) -> None:
    """Run a shared Chroma server as a user unit; point other machines at it with OVERMIND_AKASHA_URL."""
    from pathlib import Path

    from overmind.control.akasha import serve as start
    from overmind.control.akasha import stop_serving

    if stop_:
        for line in stop_serving() or ["not serving"]:
            click.echo(line)
        return
    served = start(host, port, token, Path(path) if path else None)
    if as_json:
        fmt.print_json({"url": served.url, "token": served.token, "path": str(served.path), "unit": served.unit})
        return
    click.echo(f"serving the memory at {served.url} from {served.path} ({served.unit})")
    click.echo(f"on other machines: export OVERMIND_AKASHA_URL={served.url}")
    if served.token:
        click.echo(f"                   export OVERMIND_AKASHA_TOKEN={served.token}")


COMMANDS = [akasha]
