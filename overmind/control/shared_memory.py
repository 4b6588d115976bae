"""A host's agents on the team's memory (`hosts add --share-memory`): the Chroma server this
machine uses (OVERMIND_AKASHA_URL, akasha.toml) or serves (`overmind akasha serve`).

The host is told the server's URL and token (written to akasha.toml in its state directory,
which its missions read); the token travels on stdin, never on a command line. A server that
listens on loopback only is reached through an ssh tunnel: `ssh -N -R` from here to the host,
run as a mission (restarting after a network cut), so the host's 127.0.0.1:PORT is this server.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import NamedTuple
from urllib.parse import urlsplit

from overmind.errors import OvermindError
from overmind.remote import ssh
from overmind.remote.registry import Host


class Team(NamedTuple):
    url: str
    token: str | None

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def loopback(self) -> bool:
        host = self.host_port[0]
        try:
            return host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def team() -> Team:
    """The memory server this machine uses, else the one it serves."""
    from overmind.akasha.config import configured

    backend = configured()
    if backend.url:
        return Team(backend.url, backend.token)
    served = _served()
    if served is None:
        raise OvermindError("this machine neither uses nor serves a shared memory",
                            hint="serve it here: overmind akasha serve (or set OVERMIND_AKASHA_URL)")
    return served


def _served() -> Team | None:
    """`overmind akasha serve`'s server, from its unit's command line, when it runs."""
    from overmind.akasha.names import cortex_unit
    from overmind.akasha.serve import token_path
    from overmind.systemd import manager

    props = (manager.show([cortex_unit()], ["ActiveState", "ExecStart"]) or [{}])[0]
    if props.get("ActiveState") != "active":
        return None
    command = props.get("ExecStart", "")
    listen = re.search(r"--listen=(\S+):(\d+)", command)
    host = re.search(r"--host (\S+)", command)
    port = re.search(r"--port (\d+)", command)
    address, number = (listen[1], listen[2]) if listen else (host[1] if host else "127.0.0.1", port[1] if port else "")
    if not number:
        return None
    address = "127.0.0.1" if address in ("0.0.0.0", "::") else address
    token = token_path().read_text().strip() if listen and token_path().exists() else None
    return Team(f"http://{address}:{number}", token)


def tunnel_name(host: Host) -> str:
    return f"memory-tunnel-{host.name}"


def _tunnel(host: Host, served: Team, port: int) -> None:
    """`ssh -N -R 127.0.0.1:PORT:server` to the host, as a mission that restarts when cut."""
    from overmind.control.launch import launch
    from overmind.control.lifecycle import stop, targets
    from overmind.control.missions import resolve_mission, view
    from overmind.errors import MissionNotFound
    from overmind.mission.build import build_spec

    name = tunnel_name(host)
    try:
        if not view(resolve_mission(name)).status.finished:
            stop(targets((name,), False, "stop"), cascade=False)
    except MissionNotFound:
        pass
    address, server_port = served.host_port
    argv = ["ssh", *ssh.options(host, fresh=True), "-N", "-o", "ExitOnForwardFailure=yes",
            "-R", f"127.0.0.1:{port}:{address}:{server_port}", "--", host.target.destination]
    env = tuple(f"{key}={os.environ[key]}" for key in ("SSH_AUTH_SOCK", "HOME") if key in os.environ)
    launch(build_spec(argv, name=name, env=env, restart="always", backoff="2s", backoff_max="30s",
                      cwd=os.path.expanduser("~")))


def share(host: Host, port: int | None = None) -> str:
    """Point the host's agents at the team's memory; the URL as the host reaches it."""
    from overmind.control.remote import call

    served = team()
    there = served.url
    if served.loopback:
        port = port or served.host_port[1]
        _tunnel(host, served, port)
        there = f"http://127.0.0.1:{port}"
    answer = call(host, ["hosts", "use-memory", there], stdin=(served.token or "").encode())
    if answer.code != 0:
        raise answer.error(host.name)
    return there


def unshare(host: Host) -> None:
    """The host's agents back on its own memory; the tunnel, if any, stopped."""
    from overmind.control.lifecycle import stop, targets
    from overmind.control.remote import Unreachable, call
    from overmind.errors import MissionNotFound

    try:
        stop(targets((tunnel_name(host),), False, "stop"), cascade=False)
    except MissionNotFound:
        pass
    try:
        call(host, ["hosts", "use-memory", "--off"])
    except Unreachable:
        pass


def use(url: str | None, token: str) -> str:
    """On the host: the memory its missions use from now on (akasha.toml), or its own with None."""
    from overmind.akasha.config import check_url, config_path

    path = config_path()
    if url is None:
        path.unlink(missing_ok=True)
        return "this host's agents use its own memory"
    url = check_url(url)
    lines = [f"url = {_toml(url)}", *([f"token = {_toml(token)}"] if token else [])]
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write("\n".join(lines) + "\n")
    return f"this host's agents use the memory at {url}"


def _toml(text: str) -> str:
    import json

    return json.dumps(text)  # a TOML basic string is a JSON string



