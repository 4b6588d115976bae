"""Opening the chromadb collection: the local store under the state directory, or a Chroma server.

Failures become one line each: a store that cannot be opened is reported and left exactly as it
is (never recreated over), and a server that does not answer is named with its URL after a
bounded wait.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from overmind.akasha import INSTALL_HINT, AkashaError
from overmind.akasha.config import Backend, local_path

if TYPE_CHECKING:
    from overmind.akasha.embedder import Embedder

HTTP_TIMEOUT = float(os.environ.get("OVERMIND_AKASHA_HTTP_TIMEOUT") or 10)  # seconds per request to a server
CONNECT_TIMEOUT = 3.0


def _chromadb() -> Any:
    try:
        import chromadb
    except ImportError as exc:
        raise AkashaError("chromadb is not installed", hint=INSTALL_HINT) from exc
    # chromadb logs what it tells us as exceptions anyway; keep its noise out of the journal.
    logging.getLogger("chromadb").setLevel(logging.CRITICAL)
    return chromadb


def open_collection(backend: Backend, embedder: Embedder) -> Any:
    """The memories' collection, made with the embedder's model (a local one out of date is rebuilt:
    see layout.py)."""
    return _open_remote(backend, embedder) if backend.url else _open_local(local_path(), embedder)


def _open_local(path: Path, embedder: Embedder) -> Any:
    from overmind.akasha.layout import open_current

    chromadb = _chromadb()
    database = path / "chroma.sqlite3"
    if path.exists() and not path.is_dir():
        raise _damaged(path, "it is not a directory")
    if database.exists() and not _is_sqlite(database):
        raise _damaged(path, f"{database.name} is not an SQLite database")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        client = chromadb.PersistentClient(path=str(path), settings=_settings(chromadb))
        return open_current(client, embedder, local=True, where=str(path))
    except AkashaError:
        raise
    except Exception as exc:  # chromadb raises many kinds: every one means the same to the user
        raise _damaged(path, _first_line(exc)) from exc


def _open_remote(backend: Backend, embedder: Embedder) -> Any:
    from overmind.akasha.layout import open_current

    chromadb = _chromadb()
    from urllib.parse import urlsplit

    import httpx

    assert backend.url is not None
    parts = urlsplit(backend.url)
    headers = {"X-Chroma-Token": backend.token} if backend.token else None
    timeout = httpx.Timeout(HTTP_TIMEOUT, connect=CONNECT_TIMEOUT)
    try:
        # chromadb's HTTP session waits forever (timeout=None), its constructor included: a server
        # that accepts and never answers would hang every agent's start. A bounded heartbeat first,
        # then the same bound on every request of the session.
        httpx.get(f"{backend.url}/api/v2/heartbeat", headers=headers, timeout=timeout).raise_for_status()
        client = chromadb.HttpClient(host=parts.hostname or "127.0.0.1", port=parts.port or 8000,
                                     ssl=parts.scheme == "https", headers=headers, settings=_settings(chromadb))
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            session.timeout = timeout
        return open_current(client, embedder, local=False, where=backend.url)
    except AkashaError:
        raise
    except Exception as exc:
        raise unreachable(backend, exc) from exc


def unreachable(backend: Backend, exc: BaseException) -> AkashaError:
    detail = _first_line(exc)
    if "401" in detail or "403" in detail or "nauthorized" in detail or "orbidden" in detail:
        return AkashaError(f"the Akasha server at {backend.url} refused the token",
                           hint="set OVERMIND_AKASHA_TOKEN to the token `overmind akasha serve` printed")
    return AkashaError(f"the Akasha server at {backend.url} cannot be reached: {detail}",
                       hint="is `overmind akasha serve` running there? check OVERMIND_AKASHA_URL")


def _settings(chromadb: Any) -> Any:
    return chromadb.Settings(anonymized_telemetry=False, allow_reset=False)


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _damaged(path: Path, detail: str) -> AkashaError:
    return AkashaError(f"the memory store at {path} cannot be opened: {detail}",
                       hint="it is left as it is: move it aside to start afresh, then import a backup "
                            "(overmind akasha import)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
