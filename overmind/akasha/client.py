"""The thin client of the memory service: one JSON line out, one JSON line back, over the 0600
unix socket. Stdlib only (this is what the CLI, the MCP server and the in-unit wrapper load):
the service holds chromadb and the model warm, so a call costs milliseconds, not a second.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from overmind.akasha import INSTALL_HINT, AkashaError, names
from overmind.akasha.config import configured

DEFAULT_TIMEOUT = 120.0  # a cold start plus a large import stays well inside this


def installed() -> bool:
    """Whether the 'akasha' extra is there (the service needs it); cheap: nothing is imported."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("chromadb", "onnxruntime", "tokenizers"))


def require_installed() -> None:
    if not installed():
        raise AkashaError("Akasha is not installed (chromadb and the embedding model are missing)", hint=INSTALL_HINT)


def request(op: str, timeout: float = DEFAULT_TIMEOUT, **fields: Any) -> dict[str, Any]:
    """Ask the service; its answer, or an AkashaError with the service's own words."""
    payload = {"op": op, "backend": configured().to_json(), **fields}
    data = (json.dumps(payload, ensure_ascii=False) + "\n").encode()
    with _connect(timeout) as sock:
        try:
            sock.sendall(data)
            reply = _read_line(sock)
        except TimeoutError as exc:
            raise AkashaError(f"the Akasha service did not answer within {timeout:g}s",
                              hint=f"journalctl --user-unit {names.service_unit()}") from exc
    if not reply:
        raise AkashaError("the Akasha service ended before it answered",
                          hint=f"journalctl --user-unit {names.service_unit()}")
    answer: dict[str, Any] = json.loads(reply)
    if not answer.get("ok"):
        raise AkashaError(answer.get("error", "the Akasha service refused the request"), hint=answer.get("hint"))
    return answer


def send(op: str, **fields: Any) -> None:
    """Hand a request to the service without waiting for its answer: the service (started by its
    socket if need be) carries it out, and says in its own journal if it could not."""
    payload = {"op": op, "backend": configured().to_json(), **fields}
    with _connect(10.0) as sock:
        sock.sendall((json.dumps(payload, ensure_ascii=False) + "\n").encode())


def _connect(timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.settimeout(timeout)
    try:
        sock.connect(names.socket_path())
        return sock
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    require_installed()
    from overmind.akasha.units import ensure_started

    ensure_started()
    try:
        sock.connect(names.socket_path())
    except OSError as exc:
        sock.close()
        raise AkashaError(f"the Akasha service cannot be reached: {exc.strerror or exc}",
                          hint=f"systemctl --user status {names.socket_unit()}") from exc
    return sock


def _read_line(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    return b"".join(chunks)
