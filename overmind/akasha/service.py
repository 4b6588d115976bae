"""`python -m overmind.akasha.service`: the memory service, started by its socket unit.

It holds the embedding model and the chromadb clients (the local store, and any Chroma server a
caller names) warm, answers one JSON request per connection, and exits after an idle period;
systemd keeps the socket open meanwhile and starts it again on the next connection. Requests run
one at a time on a worker thread, so a remember's near-duplicate check never races another.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from overmind.akasha import AkashaError
from overmind.akasha.config import Backend
from overmind.akasha.requests import Handlers
from overmind.errors import OvermindError

if TYPE_CHECKING:
    from overmind.akasha.store import MemoryStore

DEFAULT_IDLE = 600.0  # seconds without a request before the service exits
_LIMIT = 256 * 1024 * 1024  # the longest request line: an import batch
_SD_LISTEN_FDS_START = 3


def idle_timeout() -> float:
    from overmind.quantities import parse_duration

    text = os.environ.get("OVERMIND_AKASHA_IDLE")
    return parse_duration(text, "OVERMIND_AKASHA_IDLE") if text else DEFAULT_IDLE


class Service:
    def __init__(self, idle: float) -> None:
        self.idle = idle
        self.started = time.time()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="akasha")
        self.stores: dict[Backend, MemoryStore] = {}
        self._embedder: Any = None
        self.handlers = Handlers(self)
        self.active = 0
        self.done = asyncio.Event()
        self._idle_timer: asyncio.TimerHandle | None = None

    # -- what the handlers use -------------------------------------------------------------
    def embedder(self) -> Any:
        if self._embedder is None:
            from overmind.akasha.embedder import Embedder

            self._embedder = Embedder()
        return self._embedder

    def model_name(self) -> str:
        """The model's name, without loading it for that (a model of one's own is named once loaded)."""
        if self._embedder is not None:
            return str(self._embedder.name)
        from overmind.akasha.embedder import MODEL_NAME

        return MODEL_NAME

    def store(self, backend: Backend) -> MemoryStore:
        if backend not in self.stores:
            from overmind.akasha.chroma import open_collection
            from overmind.akasha.store import MemoryStore

            embedder = self.embedder()
            self.stores[backend] = MemoryStore(open_collection(backend, embedder), embedder)
        return self.stores[backend]

    def forget_store(self, backend: Backend) -> None:
        """A server that failed a request is reconnected next time (it may have restarted)."""
        self.stores.pop(backend, None)

    def rss(self) -> int | None:
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return None

    # -- serving -----------------------------------------------------------------------
    async def serve(self, sock: socket.socket) -> None:
        server = await asyncio.start_unix_server(self._on_connection, sock=sock, limit=_LIMIT)
        self._arm_idle_timer()
        async with server:
            await self.done.wait()
        self.worker.shutdown(wait=True)

    def _arm_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = asyncio.get_running_loop().call_later(self.idle, self._on_idle)

    def _on_idle(self) -> None:
        if self.active:
            self._arm_idle_timer()
            return
        print(f"idle for {self.idle:g}s: exiting (the socket starts the service again on demand)", flush=True)
        self.done.set()

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        try:
            line = await reader.readline()
            if line.strip():
                answer = await asyncio.get_running_loop().run_in_executor(self.worker, self.answer, line)
                if not answer.get("ok"):
                    print(f"request failed: {answer.get('error')}", file=sys.stderr, flush=True)
                writer.write((json.dumps(answer, ensure_ascii=False, default=str) + "\n").encode())
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # the caller went away, or sent more than any request may hold
        finally:
            self.active -= 1
            self._arm_idle_timer()
            writer.close()

    def answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            return {"ok": False, "error": "malformed request"}
        try:
            return {"ok": True, **self.handlers.handle(request)}
        except AkashaError as error:
            return {"ok": False, "error": error.message, **({"hint": error.hint} if error.hint else {})}
        except Exception as exc:  # a bug: say so in one line, keep the traceback in the journal
            traceback.print_exc()
            return {"ok": False, "error": f"the Akasha service failed: {type(exc).__name__}: {exc}",
                    "hint": "see journalctl --user-unit " + _unit()}


def _unit() -> str:
    from overmind.akasha.names import service_unit

    return service_unit()


def listening_socket() -> socket.socket:
    """The socket systemd passed (LISTEN_FDS), or, run by hand, one bound here."""
    if os.environ.get("LISTEN_PID") == str(os.getpid()) and int(os.environ.get("LISTEN_FDS", "0")) >= 1:
        for key in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            os.environ.pop(key, None)  # not for any child process
        return socket.socket(fileno=_SD_LISTEN_FDS_START)
    from overmind.akasha.names import socket_path

    path = socket_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(64)
    return sock


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        idle = idle_timeout()
    except OvermindError as error:
        print(f"overmind akasha: {error.message}", file=sys.stderr)
        idle = DEFAULT_IDLE
    service = Service(idle)
    asyncio.run(service.serve(listening_socket()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
