"""A command line for a remote `overmind`, packed so that no shell can re-parse it.

`ssh` always hands the remote command to the remote user's shell, which would split, expand and
run whatever a mission name or a prompt carries (quotes, `$()`, `;`, newlines). So the command
the shell sees is fixed: `overmind remote-exec TOKEN`, where TOKEN is the JSON of the argument
vector in URL-safe base64 (letters, digits, `-`, `_`: nothing any shell treats specially). A
token longer than one argument may be (Linux: 128 KiB) goes on stdin instead, after a length
line: `overmind remote-exec -`.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, NamedTuple

from overmind.errors import OvermindError

VERSION = 1
PREFIX = f"v{VERSION}."
INLINE_MAX = 96 * 1024  # bytes of token on the command line; beyond it, the payload goes on stdin
_HEADER_MAX = 64 * 1024 * 1024


class Payload(NamedTuple):
    """What one remote call runs: the arguments after `overmind`, as which host the remote
    answers (so `--on NAME` and `NAME:mission` mean itself there), the caller's terminal width."""

    argv: list[str]
    host: str
    columns: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"v": VERSION, "argv": self.argv, "as": self.host, "columns": self.columns}


def encode(payload: Payload) -> str:
    data = json.dumps(payload.to_json(), separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("=")


def stdin_frame(payload: Payload) -> bytes:
    """The payload for `remote-exec -`: its length on a line, then the JSON."""
    data = json.dumps(payload.to_json(), separators=(",", ":")).encode()
    return f"{len(data)}\n".encode() + data


def decode(token: str) -> Payload:
    if not token.startswith(PREFIX):
        raise OvermindError(f"remote-exec: unsupported payload version {token[:8]!r}",
                            hint="the calling overmind is newer: upgrade overmind on this host")
    body = token[len(PREFIX):]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, json.JSONDecodeError):
        raise OvermindError("remote-exec: the payload is damaged") from None
    return _payload(data)


def read_frame(fd: int = 0) -> Payload:
    """The payload `stdin_frame` wrote, read with plain os.read so that nothing after it is
    consumed: the rest of stdin belongs to the command (`send NAME -`)."""
    header = b""
    while not header.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte or len(header) > 20:
            raise OvermindError("remote-exec: no payload on stdin")
        header += byte
    try:
        size = int(header)
    except ValueError:
        raise OvermindError("remote-exec: no payload on stdin") from None
    if not 0 < size <= _HEADER_MAX:
        raise OvermindError("remote-exec: the payload is too large")
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise OvermindError("remote-exec: the payload was cut short")
        data += chunk
    try:
        return _payload(json.loads(data))
    except json.JSONDecodeError:
        raise OvermindError("remote-exec: the payload is damaged") from None


def _payload(data: Any) -> Payload:
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise OvermindError("remote-exec: unsupported payload", hint="use the same overmind version on both hosts")
    argv, host, columns = data.get("argv"), data.get("as"), data.get("columns")
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv) and isinstance(host, str)):
        raise OvermindError("remote-exec: the payload is damaged")
    return Payload(argv, host, columns if isinstance(columns, int) else None)
