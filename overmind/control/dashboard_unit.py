"""The web dashboard as a socket-activated user service: where it listens, and its two unit files.

`overmind dashboard install` writes `overmind-dashboard.socket` (listening on the chosen
address) and `overmind-dashboard.service` (started by the socket's first connection; it exits
after a while without visitors), and enables the socket. The address is kept beside the state
store, and a dashboard served in the foreground records where it listens while it runs, so
`overmind dashboard url` prints the URL of the dashboard that answers (or says that none does).
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

from overmind import names
from overmind.errors import OvermindError
from overmind.store import state_dir

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8420
IDLE_EXIT = "10min"


class Address(NamedTuple):
    """Where the dashboard listens, and the host names (besides IP addresses and localhost) its
    Host header check accepts."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allowed_hosts: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else "[::1]" if self.host == "::" else self.host
        if ":" in shown and not shown.startswith("["):
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}/"

    @property
    def listen(self) -> str:
        """systemd's ListenStream= for this address."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.host).is_loopback

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "allowed_hosts": list(self.allowed_hosts), "url": self.url}


def address(host: str, port: int, allowed_hosts: tuple[str, ...] | list[str] = ()) -> Address:
    """A checked address: an IP address (localhost means 127.0.0.1) and a port (0: any free one)."""
    host = DEFAULT_HOST if host == "localhost" else host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise OvermindError(f"invalid --host {host!r}: give an IP address to listen on",
                            hint="e.g. --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)"
                            ) from None
    if not 0 <= port <= 65535:
        raise OvermindError(f"invalid --port {port}: use 1-65535 (or 0 for any free port)")
    for name in allowed_hosts:
        if not name or not all(c.isalnum() or c in ".-" for c in name):
            raise OvermindError(f"invalid --allow-host {name!r}: give a host name such as dash.example.org")
    return Address(host, port, tuple(allowed_hosts))


def _settings_path() -> Path:
    return state_dir() / "dashboard.json"


def saved() -> Address:
    """The address `dashboard install` chose, or the default."""
    try:
        data = json.loads(_settings_path().read_text())
        return address(str(data["host"]), int(data["port"]), [str(h) for h in data.get("allowed_hosts", [])])
    except (OSError, ValueError, KeyError, TypeError, OvermindError):
        return Address()


def save(chosen: Address) -> None:
    path = _settings_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(chosen.to_json()))
    os.replace(temporary, path)


def _running_path() -> Path:
    return state_dir() / "dashboard.running.json"


def record_running(url: str) -> None:
    """A foreground dashboard listens at `url` (its real port, also for --port 0) until it ends."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = _running_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"pid": os.getpid(), "host": parts.hostname, "port": parts.port}))
    os.replace(temporary, path)


def forget_running() -> None:
    """This process's dashboard has ended (another one's record is left alone)."""
    if (_read_running() or {}).get("pid") == os.getpid():
        _running_path().unlink(missing_ok=True)


def _read_running() -> dict[str, Any] | None:
    try:
        data = json.loads(_running_path().read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _is_dashboard(pid: int) -> bool:
    """The process lives and is an overmind dashboard (a recycled pid is someone else)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().split(b"\0")
    except OSError:
        return False
    return b"overmind" in b" ".join(words) and b"dashboard" in words


def running() -> Address | None:
    """Where the dashboard that answers listens: a foreground one while it runs, else the
    installed socket; None when there is neither."""
    data = _read_running()
    if data is not None and isinstance(data.get("pid"), int) and _is_dashboard(data["pid"]):
        try:
            return address(str(data["host"]), int(data["port"]), saved().allowed_hosts)
        except (OvermindError, TypeError, ValueError):
            pass
    return saved() if installed() else None


def installed() -> bool:
    from overmind.systemd import unitfiles

    return _settings_path().exists() and unitfiles.is_ours(unitfiles.unit_dir() / names.dashboard_unit("socket"))


class Installed(NamedTuple):
    address: Address
    socket: Path
    service: Path

    def to_json(self) -> dict[str, Any]:
        return {**self.address.to_json(), "socket": str(self.socket), "service": str(self.service)}


def render(chosen: Address) -> dict[str, str]:
    """{unit file name: content} of the socket and the service."""
    from overmind.systemd.unitfiles import quote_assignment, quote_exec_arg
    from overmind.systemd.unitfiles import render as render_template

    socket, service = names.dashboard_unit("socket"), names.dashboard_unit("service")
    env = {"OVERMIND_STATE_DIR": str(state_dir().resolve()), "OVERMIND_UNIT_PREFIX": names.unit_prefix(),
           **{key: os.environ[key] for key in ("PATH", "LANG", "XDG_CONFIG_HOME") if key in os.environ}}
    argv = [sys.executable, "-m", "overmind", "dashboard", "--socket-activated", f"--idle-exit={IDLE_EXIT}",
            *(f"--allow-host={name}" for name in chosen.allowed_hosts)]
    common = {"socket": socket, "service": service}
    return {
        socket: render_template("dashboard.socket.j2", **common, address=chosen.listen),
        service: render_template("dashboard.service.j2", **common, idle=IDLE_EXIT,
                                 environment=[quote_assignment(k, v) for k, v in env.items()],
                                 exec_start=" ".join(quote_exec_arg(arg) for arg in argv)),
    }


def install(chosen: Address) -> Installed:
    """Write and enable the socket (replacing an earlier install's), stopping a running dashboard
    so the next connection starts one on the new address."""
    from overmind.systemd import manager
    from overmind.systemd.unitfiles import write

    if chosen.port == 0:
        raise OvermindError("the installed dashboard needs a fixed --port", hint=f"e.g. --port {DEFAULT_PORT}")
    socket, service = names.dashboard_unit("socket"), names.dashboard_unit("service")
    paths = write(render(chosen), hint="it is not the dashboard's: move it away, or use another OVERMIND_UNIT_PREFIX")
    save(chosen)
    manager.systemctl("stop", service, socket, check=False)
    manager.systemctl("daemon-reload")
    manager.systemctl("enable", socket)
    started = manager.systemctl("start", socket, check=False)
    if started.returncode != 0:
        detail = (started.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise OvermindError(f"the dashboard's socket could not listen on {chosen.listen}: {detail}",
                            hint="is another program using that port? choose another with --port")
    return Installed(chosen, paths[0], paths[1])


def remove() -> list[Path]:
    """Stop and disable the dashboard's units and delete their files (only files overmind wrote)."""
    from overmind.systemd import manager, unitfiles

    socket, service = names.dashboard_unit("socket"), names.dashboard_unit("service")
    paths = [unitfiles.unit_dir() / socket, unitfiles.unit_dir() / service]
    if not any(unitfiles.is_ours(path) for path in paths):
        raise OvermindError("the dashboard is not installed", hint="overmind dashboard install")
    manager.systemctl("disable", "--now", socket, check=False)
    manager.systemctl("stop", service, check=False)
    removed = unitfiles.remove(paths)
    _settings_path().unlink(missing_ok=True)
    manager.systemctl("daemon-reload")
    return removed
