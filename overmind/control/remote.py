"""Commands run on other hosts: one call with its output collected (a listing, a host's facts),
or a command forwarded whole, its output passed through and its exit code returned.

The far side is always the host's own `overmind remote-exec TOKEN` (`overmind.remote.wire`): the
command line travels as an inert token, so nothing a mission name or a prompt holds is parsed by
a shell there. Output shown on a terminal goes through `printable` first: a host's output is
hostile input.
"""

from __future__ import annotations

import codecs
import json
import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any, NamedTuple

from overmind.errors import OvermindError
from overmind.remote import registry, ssh, wire
from overmind.remote.registry import Host
from overmind.remote.text import printable, printable_line

CALL_TIMEOUT = 30.0  # seconds for a call whose output is collected (a listing, facts)


class Unreachable(OvermindError):
    """ssh could not reach the host, or lost it: `build1: unreachable (ssh: connect timed out)`."""

    def __init__(self, host: str, why: str) -> None:
        super().__init__(f"{host}: unreachable (ssh: {printable_line(why)})",
                         hint=f"overmind hosts check {host}", exit_code=ssh.TRANSPORT_FAILED)
        self.host = host
        self.why = why


def host(name: str) -> Host:
    return registry.get(name)


def _columns() -> int | None:
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else None
    except OSError:
        return None


def remote_command(target: Host, payload: wire.Payload) -> tuple[str, bytes | None]:
    """What the remote shell runs, and what goes first on its stdin (for a payload too long for
    a command line). The shell sees the overmind path (quoted), `remote-exec` and a token."""
    token = wire.encode(payload)
    program = shlex.quote(target.overmind)
    if len(token) <= wire.INLINE_MAX:
        return f"{program} remote-exec {token}", None
    return f"{program} remote-exec -", wire.stdin_frame(payload)


class Answer(NamedTuple):
    """A remote command's exit code and output (bytes as they came: decode and clean before showing)."""

    code: int
    stdout: bytes
    stderr: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except ValueError:
            raise OvermindError("the host's answer is not JSON") from None

    def error(self, host: str) -> OvermindError:
        """The remote's own one-line error (`overmind: ...`), told as that host's."""
        lines = [printable_line(line) for line in self.stderr.decode(errors="replace").splitlines() if line.strip()]
        message = next((line.removeprefix("overmind: ") for line in lines if line.startswith("overmind: ")),
                       lines[0] if lines else f"exit code {self.code}")
        hint = next((line[1:-1] for line in lines if line.startswith("(") and line.endswith(")")), None)
        return OvermindError(f"{host}: {message}", hint=hint, exit_code=self.code or 1)


def call(target: Host, argv: Sequence[str], timeout: float | None = CALL_TIMEOUT,
         stdin: bytes | None = None) -> Answer:
    """Run `overmind ARGV` on the host and collect what it prints; Unreachable when ssh fails."""
    remote, frame = remote_command(target, wire.Payload(list(argv), target.name))
    data = (frame or b"") + (stdin or b"") if frame is not None or stdin is not None else None
    proc = ssh.run(target, remote, timeout, data)
    stderr = proc.stderr.decode(errors="replace")
    if ssh.transport_failed(proc.returncode, stderr):
        raise Unreachable(target.name, ssh.failure(stderr))
    return Answer(proc.returncode, proc.stdout, proc.stderr)


def call_json(target: Host, argv: Sequence[str], timeout: float = CALL_TIMEOUT) -> Any:
    """`overmind ARGV --json` on the host: its JSON, or its error as this host's."""
    answer = call(target, [*argv, "--json"], timeout)
    if answer.code != 0:
        raise answer.error(target.name)
    return answer.json()


def forward(target: Host, argv: Sequence[str], tty: bool = False) -> int:
    """Run the command on the host as if typed there: its output passes through (cleaned on a
    terminal), this process's stdin goes to it, its exit code comes back."""
    remote, frame = remote_command(target, wire.Payload(list(argv), target.name, _columns()))
    command = ssh.command(target, remote, tty=tty)
    if tty:
        if frame is not None:
            raise OvermindError("this command line is too long to send to a terminal on another host")
        return subprocess.run(command, check=False).returncode
    clean_out = sys.stdout.isatty()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE if frame is not None else None,
                            stdout=subprocess.PIPE if clean_out else None, stderr=subprocess.PIPE)
    if frame is not None and proc.stdin is not None:
        proc.stdin.write(frame)
        proc.stdin.close()
    tail: list[str] = []
    copiers = [threading.Thread(target=_copy, args=(proc.stderr, sys.stderr, sys.stderr.isatty(), tail), daemon=True)]
    if clean_out:
        copiers.append(threading.Thread(target=_copy, args=(proc.stdout, sys.stdout, True, None), daemon=True))
    for copier in copiers:
        copier.start()
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()  # ssh closes the channel: the remote command gets SIGHUP
        code = proc.wait()
    for copier in copiers:
        copier.join()
    stderr = "".join(tail)
    if ssh.transport_failed(code, stderr):
        raise Unreachable(target.name, ssh.failure(stderr))
    return code


def _copy(source: IO[bytes] | None, sink: IO[str], clean: bool, tail: list[str] | None) -> None:
    """Copy a remote stream as it comes; on a terminal with every control character made visible.
    `tail` keeps the last text, to tell ssh's own failure from the command's."""
    if source is None:
        return
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := os.read(source.fileno(), 65536):
        text = decoder.decode(chunk)
        if tail is not None:
            tail.append(text)
            del tail[:-8]
        if tail is not None and _is_ssh_noise(text):
            continue
        try:
            sink.write(printable(text) if clean else text)
            sink.flush()
        except (BrokenPipeError, ValueError):
            return


def _is_ssh_noise(text: str) -> bool:
    """ssh's own complaints (said again as one line by the caller) are not shown as they come."""
    return text.startswith(("ssh: ", "Connection to ", "Timeout, server", "client_loop:", "kex_exchange",
                            "mux_client")) or \
        "Connection closed by" in text or "Host key verification failed" in text or "Permission denied (" in text
