"""Talking to running agents: send, subscribe, result, attach."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from overmind import format as fmt
from overmind.cli.on_host import on_host
from overmind.cli.options import json_option
from overmind.control.host import ready
from overmind.errors import OvermindError

if TYPE_CHECKING:
    from overmind.providers import Result

TIMED_OUT = 124  # as timeout(1)


def _print_result(name: str, result: Result, as_json: bool) -> None:
    if as_json:
        fmt.print_json(result.to_json())
    elif not result.is_error:
        click.echo(result.text)
    if result.is_error:
        raise OvermindError(f"{name}: {result.text}" if not as_json else f"{name} reported an error")


@click.command()
@click.argument("ref", metavar="ID|NAME")
@click.argument("message", nargs=-1, required=True)
@click.option("--wait", "wait_", is_flag=True, help="Wait for the agent's answer and print it.")
@click.option("--timeout", metavar="MS", help="With --wait: give up after this long (plain numbers are ms).")
@json_option
@on_host("ref")
def send(ref: str, message: tuple[str, ...], wait_: bool, timeout: str | None, as_json: bool) -> None:
    """Send MESSAGE to a session ('-' reads it from stdin).

    With --wait, print the text of the turn's result (--json: text, duration_ms, cost_usd,
    is_error, session_id); exit 1 if the agent reports an error, 124 on --timeout.
    """
    from overmind.control import agents
    from overmind.control.missions import resolve_mission

    text = sys.stdin.read() if message == ("-",) else " ".join(message)
    if timeout and not wait_:
        raise OvermindError("--timeout only applies with --wait")
    seconds = None
    if timeout:
        from overmind.quantities import parse_duration

        seconds = parse_duration(timeout, "--timeout", plain="ms")
    ready()
    try:
        sent = agents.send(ref, text, wait=wait_, timeout=seconds)
    except TimeoutError:
        name = resolve_mission(ref).name
        raise OvermindError(f"no answer from '{name}' within {(seconds or 0) * 1000:g} ms"
                            " (the message was sent)", exit_code=TIMED_OUT) from None
    if wait_ and sent.result is not None:
        _print_result(resolve_mission(ref).name, sent.result, as_json)
    elif as_json:
        fmt.print_json(sent.to_json())


@click.command()
@click.argument("ref", metavar="ID|NAME")
@click.option("--from-start", is_flag=True, help="Replay every recorded event first.")
@on_host("ref")
def subscribe(ref: str, from_start: bool) -> None:
    """Stream a mission's events as NDJSON until it ends (restarts included); the last line is
    {"type": "exit", "status": ..., "exit_code": ...}."""
    from overmind.control.agents import subscribe as events_of

    ready()
    out = sys.stdout.buffer
    for line in events_of(ref, after=0 if from_start else None):
        out.write(line)
        out.flush()


@click.command()
@click.argument("ref", metavar="ID|NAME")
@json_option
@on_host("ref")
def result(ref: str, as_json: bool) -> None:
    """The last result of an agent mission: its final answer (--json: text, duration_ms,
    cost_usd, is_error, session_id). Exit 1 if the agent reported an error."""
    from overmind.control import agents
    from overmind.control.missions import resolve_mission

    ready()
    _print_result(resolve_mission(ref).name, agents.result(ref), as_json)


@click.command()
@click.argument("ref", metavar="ID|NAME")
@on_host("ref", special="attach")
def attach(ref: str) -> None:
    """Take a session over in this terminal, then hand it back.

    A claude session: its interactive TUI on the same conversation; the headless agent resumes
    when you quit it. A raw session: its terminal; detach with Ctrl-].
    """
    from overmind.cli.attach import attach_agent, attach_terminal
    from overmind.control.agents import connect
    from overmind.control.missions import resolve_mission

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise OvermindError("attach needs a terminal", hint="run it in an interactive shell")
    ready()
    mission = resolve_mission(ref)
    if mission.type != "session":
        raise OvermindError(f"'{mission.name}' is a task; only sessions can be attached")
    with connect(mission, "be attached") as channel:
        channel.write({"op": "attach"})
        if mission.provider == "raw":
            attach_terminal(channel)
        else:
            attach_agent(channel)


COMMANDS: list[Any] = [send, subscribe, result, attach]
