"""The terminal side of `overmind attach`.

A claude session: the wrapper pauses the headless agent and answers with the interactive
command for the same conversation; it runs here through a PTY (pexpect) with the mission's
environment and working directory, and the headless agent resumes when it exits (when this
connection closes). A raw session: this terminal is joined to the mission's PTY.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import sys
import termios
import tty
from typing import Any

import click

from overmind.errors import OvermindError
from overmind.wrapper.channel import Channel

DETACH_KEY = b"\x1d"  # Ctrl-]
# Set by systemd for the unit's own processes; wrong for a process in the user's terminal.
_UNIT_ONLY_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "INVOCATION_ID", "JOURNAL_STREAM",
                  "MANAGERPID", "SYSTEMD_EXEC_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")


def terminal_size() -> tuple[int, int]:
    size = os.get_terminal_size(sys.stdout.fileno())
    return size.lines, size.columns


def agent_environment(unit_env: dict[str, str]) -> dict[str, str]:
    """The mission's environment, with this terminal's own settings (TERM, size, locale) kept."""
    env = {k: v for k, v in unit_env.items() if k not in _UNIT_ONLY_ENV}
    for key in ("TERM", "COLORTERM", "LANG", "LC_ALL", "DISPLAY"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def attach_agent(channel: Channel) -> None:
    import pexpect

    reply = channel.reply()
    if reply.get("waiting"):
        click.echo(f"overmind: waiting for {reply['waiting']} of '{channel.name}' to finish…", err=True)
        reply = channel.reply()
    argv: list[str] = reply["argv"]
    rows, columns = terminal_size()
    try:
        child = pexpect.spawn(argv[0], argv[1:], cwd=reply["cwd"], env=agent_environment(reply["env"]),
                              dimensions=(rows, columns), encoding=None)
    except pexpect.ExceptionPexpect as exc:
        raise OvermindError(f"cannot run {argv[0]}: {exc}") from None

    def resize(*_: Any) -> None:
        if child.isalive():
            child.setwinsize(*terminal_size())

    previous = signal.signal(signal.SIGWINCH, resize)
    try:
        child.interact(escape_character=None)
    finally:
        signal.signal(signal.SIGWINCH, previous)
        child.close()
    click.echo(f"overmind: '{channel.name}' continues in the background (session {reply['session_id']})", err=True)


def _frame(kind: bytes, body: bytes) -> bytes:
    return struct.pack("!cI", kind, len(body)) + body


def attach_terminal(channel: Channel) -> None:
    channel.reply(buffered=False)
    sock = channel.sock
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    click.echo(f"overmind: attached to '{channel.name}'; detach with Ctrl-]", err=True)
    saved = termios.tcgetattr(stdin)
    wake_r, wake_w = os.pipe()  # SIGWINCH wakes the select loop

    def on_resize(*_: Any) -> None:
        os.write(wake_w, b"w")

    previous = signal.signal(signal.SIGWINCH, on_resize)
    ended = False
    try:
        tty.setraw(stdin)
        sock.sendall(_frame(b"w", struct.pack("!HH", *terminal_size())))
        while True:
            readable, _, _ = select.select([stdin, sock, wake_r], [], [])
            if wake_r in readable:
                os.read(wake_r, 64)
                sock.sendall(_frame(b"w", struct.pack("!HH", *terminal_size())))
            if sock in readable:
                data = sock.recv(65536)
                if not data:
                    ended = True
                    break
                os.write(stdout, data)
            if stdin in readable:
                data = os.read(stdin, 4096)
                typed, detach, _ = data.partition(DETACH_KEY)
                if typed:
                    sock.sendall(_frame(b"d", typed))
                if detach or not data:
                    break
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)
        os.close(wake_r)
        os.close(wake_w)
    click.echo("", err=True)
    click.echo(f"overmind: '{channel.name}' has ended" if ended else f"overmind: detached from '{channel.name}'",
               err=True)
