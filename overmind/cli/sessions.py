"""Talking to running agents: send, subscribe, result, attach."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from overmind import format as fmt
from overmind.cli.missions import _missions, json_option
from overmind.errors import OvermindError

if TYPE_CHECKING:
    from overmind.channel import Channel

TIMED_OUT = 124  # as timeout(1)
STARTUP_PATIENCE = 30.0  # seconds to wait for a (re)starting wrapper to listen


def connect(missions: Any, mission: Any, verb: str, patience: float = STARTUP_PATIENCE) -> Channel:
    """A channel to the mission's wrapper, waiting up to `patience` seconds for one that is
    (re)starting; otherwise why nobody answers, in the user's terms."""
    from overmind.channel import reach

    if mission.provider == "raw" and mission.type != "session":
        raise OvermindError(f"'{mission.name}' is a plain command: it cannot {verb}",
                            hint="start a session: overmind run --type session ...")
    channel, view = reach(missions, mission, patience)
    if channel is not None:
        return channel
    view = view or missions.view(mission)
    if view.status.finished:
        raise OvermindError(f"mission '{mission.name}' has ended ({view.status.label})",
                            hint=f"overmind logs {mission.name}")
    raise OvermindError(f"mission '{mission.name}' is {view.status.state} and not answering",
                        hint=f"overmind logs {mission.name}")


def _print_result(name: str, result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        fmt.print_json(result)
    elif not result["is_error"]:
        click.echo(result["text"])
    if result["is_error"]:
        raise OvermindError(f"{name}: {result['text']}" if not as_json else f"{name} reported an error")


@click.command()
@click.argument("ref", metavar="ID|NAME")
@click.argument("message", nargs=-1, required=True)
@click.option("--wait", "wait_", is_flag=True, help="Wait for the agent's answer and print it.")
@click.option("--timeout", metavar="MS", help="With --wait: give up after this long (plain numbers are ms).")
@json_option
def send(ref: str, message: tuple[str, ...], wait_: bool, timeout: str | None, as_json: bool) -> None:
    """Send MESSAGE to a session ('-' reads it from stdin).

    With --wait, print the text of the turn's result (--json: text, duration_ms, cost_usd,
    is_error, session_id); exit 1 if the agent reports an error, 124 on --timeout.
    """
    text = sys.stdin.read() if message == ("-",) else " ".join(message)
    if not text.strip():
        raise OvermindError("empty message")
    if timeout and not wait_:
        raise OvermindError("--timeout only applies with --wait")
    seconds = None
    if timeout:
        from overmind.spec import parse_duration

        seconds = parse_duration(timeout, "--timeout", plain="ms")
    missions = _missions()
    mission = missions.resolve(ref)
    with connect(missions, mission, "take messages") as channel:
        channel.write({"op": "send", "text": text, "wait": wait_})
        channel.sock.settimeout(seconds)
        try:
            reply = channel.reply()
        except TimeoutError:
            raise OvermindError(f"no answer from '{mission.name}' within {(seconds or 0) * 1000:g} ms"
                                " (the message was sent)", exit_code=TIMED_OUT) from None
    if wait_:
        _print_result(mission.name, reply["result"], as_json)
    elif as_json:
        fmt.print_json({"sent": True, "session_id": reply.get("session_id")})


@click.command()
@click.argument("ref", metavar="ID|NAME")
@click.option("--from-start", is_flag=True, help="Replay every recorded event first.")
def subscribe(ref: str, from_start: bool) -> None:
    """Stream a mission's events as NDJSON until it ends (restarts included); the last line is
    {"type": "exit", "status": ..., "exit_code": ...}."""
    from overmind.subscription import follow

    missions = _missions()
    mission = missions.resolve(ref)
    out = sys.stdout.buffer
    for line in follow(missions, mission, after=0 if from_start else None):
        out.write(line)
        out.flush()


@click.command()
@click.argument("ref", metavar="ID|NAME")
@json_option
def result(ref: str, as_json: bool) -> None:
    """The last result of an agent mission: its final answer (--json: text, duration_ms,
    cost_usd, is_error, session_id). Exit 1 if the agent reported an error."""
    missions = _missions()
    mission = missions.resolve(ref)
    if mission.provider == "raw":
        raise OvermindError(f"'{mission.name}' is a plain command: it has no result", hint=f"overmind logs {ref}")
    found = missions.last_result(mission)
    if found is None:
        view = missions.view(mission)
        if view.status.finished:
            raise OvermindError(f"'{mission.name}' ended without a result ({view.status.label})",
                                hint=f"overmind logs {ref}")
        raise OvermindError(f"'{mission.name}' has no result yet (it is {view.status.state})",
                            hint=f"overmind wait {ref} && overmind result {ref}")
    _print_result(mission.name, found.to_json(), as_json)


@click.command()
@click.argument("ref", metavar="ID|NAME")
def attach(ref: str) -> None:
    """Take a session over in this terminal, then hand it back.

    A claude session: its interactive TUI on the same conversation; the headless agent resumes
    when you quit it. A raw session: its terminal; detach with Ctrl-].
    """
    from overmind.attach import attach_agent, attach_terminal

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise OvermindError("attach needs a terminal", hint="run it in an interactive shell")
    missions = _missions()
    mission = missions.resolve(ref)
    if mission.type != "session":
        raise OvermindError(f"'{mission.name}' is a task; only sessions can be attached")
    with connect(missions, mission, "be attached") as channel:
        channel.write({"op": "attach"})
        if mission.provider == "raw":
            attach_terminal(channel)
        else:
            attach_agent(channel)


COMMANDS = [send, subscribe, result, attach]
