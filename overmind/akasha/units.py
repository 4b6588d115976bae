"""The service's unit files (socket + service, rendered from unit_templates/), installed and
started on first use: nothing to set up by hand, and a unit file that changed (a new Python, a
new state directory) is rewritten and its service restarted.

They go to the user manager's runtime unit directory ($XDG_RUNTIME_DIR/systemd/user): found
whatever $HOME a caller has (a mission may run with another), gone at reboot, and installed
again by the first call after it."""

from __future__ import annotations

import os
from pathlib import Path

from overmind.akasha import names
from overmind.errors import OvermindError
from overmind.systemd.manager import runtime_dir, systemctl

# What the service needs from its caller's environment to find the same state and settings.
_PASSED_ENV = ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "OVERMIND_AKASHA_IDLE", "OVERMIND_AKASHA_MODEL_DIR",
               "OVERMIND_AKASHA_HTTP_TIMEOUT")


def render() -> dict[str, str]:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from overmind.store import state_dir
    from overmind.systemd.unitfiles import MARKER, TEMPLATES, python_command, quote_assignment

    env = {key: os.environ[key] for key in _PASSED_ENV if os.environ.get(key)}
    env["OVERMIND_STATE_DIR"] = str(state_dir().resolve())
    jinja = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True,
                        autoescape=False)
    common = {"marker": MARKER, "socket_unit": names.socket_unit(), "service": names.service_unit()}
    socket = jinja.get_template("akasha.socket.j2").render(**common, socket=_unit_value(names.socket_path()))
    service = jinja.get_template("akasha.service.j2").render(
        **common, exec_start=python_command("overmind.akasha.service"), identifier=names.unit_base(),
        environment=[quote_assignment(key, value) for key, value in env.items()])
    return {names.socket_unit(): socket, names.service_unit(): service}


def _unit_value(path: str) -> str:
    if any(ch.isspace() or ord(ch) < 32 for ch in path):
        raise OvermindError(f"the Akasha socket path {path!r} cannot be written into a unit file",
                            hint="use an XDG_RUNTIME_DIR without spaces or control characters")
    return path.replace("%", "%%")


def unit_directory() -> Path:
    return Path(runtime_dir()) / "systemd" / "user"


def unit_paths() -> list[Path]:
    return [unit_directory() / names.socket_unit(), unit_directory() / names.service_unit()]


def ensure_started() -> None:
    """Install the unit files if they are missing or stale, and start the socket."""
    from overmind.systemd.unitfiles import write

    files = render()
    paths = unit_paths()
    stale = [path for path in paths if not path.exists() or path.read_text() != files[path.name]]
    if stale:
        write(files, unit_directory())
        systemctl("daemon-reload")
        # A service still running from the old files would serve the old state directory.
        systemctl("stop", names.service_unit(), check=False)
    systemctl("start", names.socket_unit())


def stop(uninstall: bool = False) -> list[str]:
    """Stop the service (the socket stays, and starts it again on demand); with uninstall, stop
    the socket too and remove both unit files. Memories are never touched. Returns what changed."""
    changed = []
    active = systemctl("is-active", names.service_unit(), check=False).stdout.strip() == "active"
    systemctl("stop", names.service_unit(), check=False)
    if active:
        changed.append(f"stopped {names.service_unit()}")
    if uninstall:
        from overmind.systemd.unitfiles import remove

        systemctl("stop", names.socket_unit(), check=False)
        removed = remove(unit_paths())
        if removed:
            systemctl("daemon-reload")
            changed += [f"removed {path}" for path in removed]
        if os.path.exists(names.socket_path()):
            os.unlink(names.socket_path())
    return changed
