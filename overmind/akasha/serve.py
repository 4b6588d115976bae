"""`overmind akasha serve`: a real Chroma server as a user unit, the memory a team shares.

On loopback it is `chroma run` itself. Bound beyond loopback (or with --token) it takes a token:
Chroma's own server checks none, so the unit runs `overmind.akasha.cortex`, which keeps `chroma
run` on a private loopback port and lets through only requests that carry the token.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from overmind.akasha import INSTALL_HINT, AkashaError, names
from overmind.store import state_dir
from overmind.systemd.manager import systemctl

READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Served:
    url: str
    token: str | None
    path: Path
    unit: str


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_host(host: str) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise AkashaError(f"invalid --host {host!r}", hint="give an IP address: 127.0.0.1, 0.0.0.0, ...") from None
    return host


def chroma_binary() -> Path:
    binary = Path(sys.executable).parent / "chroma"
    if not binary.exists():
        raise AkashaError("the chroma server is not installed", hint=INSTALL_HINT)
    return binary


def token_path() -> Path:
    return state_dir() / "akasha" / "cortex.token"


def _token(given: str | None, needed: bool) -> str | None:
    """The given token, the one kept from an earlier serve, or a new one when the bind needs one."""
    path = token_path()
    if given is not None:
        if len(given) < 16 or any(ch.isspace() for ch in given):
            raise AkashaError("the token must be at least 16 characters, without spaces")
        token: str | None = given
    elif not needed:
        return None
    elif path.exists():
        token = path.read_text().strip()
    else:
        token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    old = os.umask(0o177)
    try:
        path.write_text(f"{token}\n")
    finally:
        os.umask(old)
    return token


def serve(host: str, port: int, token: str | None, path: Path | None) -> Served:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from overmind.systemd.unitfiles import MARKER, TEMPLATES, python_command, quote_exec_arg, write

    host = _check_host(host)
    data = (path or state_dir() / "akasha" / "cortex").expanduser().resolve()
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = _token(token, needed=not is_loopback(host))
    listen = f"{host}:{port}"
    if secret is None:
        argv = [str(chroma_binary()), "run", "--path", str(data), "--host", host, "--port", str(port)]
        exec_start = " ".join(quote_exec_arg(arg) for arg in argv)
    else:
        chroma_binary()
        exec_start = python_command("overmind.akasha.cortex", f"--listen={listen}", f"--path={data}",
                                    f"--token-file={token_path()}")
    jinja = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True,
                        autoescape=False)
    unit = names.cortex_unit()
    content = jinja.get_template("akasha-cortex.service.j2").render(
        marker=MARKER, listen=listen, exec_start=exec_start, identifier=unit.removesuffix(".service"))
    write({unit: content})
    systemctl("daemon-reload")
    systemctl("enable", unit, check=False)
    systemctl("restart", unit)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    _wait_ready(url, secret, unit)
    return Served(url, secret, data, unit)


def _wait_ready(url: str, token: str | None, unit: str) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + READY_TIMEOUT
    request = urllib.request.Request(f"{url}/api/v2/heartbeat", headers={"X-Chroma-Token": token} if token else {})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2):
                return
        except (OSError, urllib.error.URLError):
            pass
        state = systemctl("is-active", unit, check=False).stdout.strip()
        if state == "failed" or time.monotonic() > deadline:
            raise AkashaError(f"the Akasha server did not come up on {url} ({state})",
                              hint=f"journalctl --user-unit {unit}")
        time.sleep(0.1)


def stop_serving() -> list[str]:
    from overmind.systemd.unitfiles import remove, unit_dir

    unit = names.cortex_unit()
    systemctl("disable", "--now", unit, check=False)
    removed = remove([unit_dir() / unit])
    if removed:
        systemctl("daemon-reload")
    return [f"stopped {unit}"] if removed else []
