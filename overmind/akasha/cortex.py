"""`python -m overmind.akasha.cortex`: a Chroma server that takes a token.

Chroma's own server (1.x) checks no credentials, so this runs `chroma run` on a free loopback
port and listens where it was asked, passing on only the requests that carry the token
(`X-Chroma-Token: T` or `Authorization: Bearer T`, what chromadb's HttpClient sends). If the
Chroma server ends, so does this, and systemd restarts both.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, web

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade", "host", "content-length", "x-chroma-token", "authorization"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def presented(request: web.Request) -> str:
    token = request.headers.get("X-Chroma-Token", "")
    if not token and request.headers.get("Authorization", "").startswith("Bearer "):
        token = request.headers["Authorization"].removeprefix("Bearer ")
    return token


def make_app(upstream: str, token: str) -> web.Application:
    async def forward(request: web.Request) -> web.StreamResponse:
        if not hmac.compare_digest(presented(request).encode(), token.encode()):
            return web.json_response({"error": "Unauthorized", "message": "a valid token is required"}, status=401)
        session: ClientSession = request.app["session"]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with session.request(request.method, upstream + request.rel_url.path_qs, headers=headers,
                                   data=await request.read()) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=answer.status, body=body, headers=kept)

    async def session_context(app: web.Application) -> AsyncIterator[None]:
        app["session"] = ClientSession(timeout=ClientTimeout(total=120))
        yield
        await app["session"].close()

    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.cleanup_ctx.append(session_context)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


async def run(listen: str, path: Path, token: str) -> int:
    host, _, port = listen.rpartition(":")
    inner = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    child = await asyncio.create_subprocess_exec(str(chroma), "run", "--path", str(path), "--host", "127.0.0.1",
                                                 "--port", str(inner))
    runner = web.AppRunner(make_app(f"http://127.0.0.1:{inner}", token), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host.strip("[]"), int(port)).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    ended = asyncio.ensure_future(child.wait())
    await asyncio.wait([ended, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    await runner.cleanup()
    if child.returncode is None:
        child.terminate()
        await child.wait()
        return 0
    print(f"the chroma server ended (code {child.returncode})", file=sys.stderr)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m overmind.akasha.cortex")
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--path", required=True, type=Path)
    parser.add_argument("--token-file", required=True, type=Path)
    args = parser.parse_args()
    token = args.token_file.read_text().strip()
    return asyncio.run(run(args.listen, args.path, token))


if __name__ == "__main__":
    sys.exit(main())
