"""The notification service as a user unit: `overmind-notify.service` (`<prefix>-notify.service`
for another OVERMIND_UNIT_PREFIX), written to the user's unit directory and enabled, so that it
starts with the user manager (after a reboot too) and systemd restarts it if it dies.

`notify add` installs and starts it (and restarts it when its unit file changed: a new Python, a
new state directory); removing the last channel stops, disables and removes it.
"""

from __future__ import annotations

import os
from pathlib import Path

from overmind import names

# What the service needs from its caller's environment to find the same state, host and programs.
_PASSED_ENV = ("PATH", "LANG", "XDG_CONFIG_HOME", "OVERMIND_DEBUG")


def unit_name() -> str:
    prefix = names.unit_prefix()
    return f"{'overmind' if prefix == names.DEFAULT_UNIT_PREFIX else prefix}-notify.service"


def path() -> Path:
    from overmind.systemd.unitfiles import unit_dir

    return unit_dir() / unit_name()


def render() -> str:
    from overmind.control.notify_channels import directory
    from overmind.store import state_dir
    from overmind.systemd.unitfiles import python_command, quote_assignment
    from overmind.systemd.unitfiles import render as render_template

    env = {"OVERMIND_STATE_DIR": str(state_dir().resolve()), "OVERMIND_UNIT_PREFIX": names.unit_prefix(),
           **{key: os.environ[key] for key in _PASSED_ENV if os.environ.get(key)}}
    return render_template("notify.service.j2", exec_start=python_command("overmind.notify"),
                           identifier=unit_name().removesuffix(".service"), outbox=directory() / "outbox.db",
                           environment=[quote_assignment(key, value) for key, value in env.items()])


def ensure_running() -> bool:
    """Install, enable and start the service; restart it if its unit file changed. True if it
    was (re)started."""
    from overmind.errors import OvermindError
    from overmind.systemd import manager
    from overmind.systemd.unitfiles import write

    unit, content = unit_name(), render()
    stale = not path().exists() or path().read_text() != content
    if stale:
        write({unit: content}, hint="it is not overmind's notification service: move it away")
        manager.systemctl("daemon-reload")
        manager.systemctl("enable", unit, check=False)
    active = manager.systemctl("is-active", unit, check=False).stdout.strip() == "active"
    if active and not stale:
        return False
    started = manager.systemctl("restart" if active else "start", unit, check=False)
    if started.returncode != 0:
        detail = (started.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise OvermindError(f"the notification service did not start: {detail}",
                            hint=f"see: journalctl --user -u {unit}")
    return True


def state() -> str:
    """`active`, `inactive`, `failed`... (`inactive` when it is not installed)."""
    from overmind.systemd import manager

    return manager.systemctl("is-active", unit_name(), check=False).stdout.strip() or "inactive"


def remove() -> list[Path]:
    """Stop and disable the service and delete its unit file (only a file overmind wrote)."""
    from overmind.systemd import manager, unitfiles

    manager.systemctl("disable", "--now", unit_name(), check=False)
    removed = unitfiles.remove([path()])
    if removed:
        manager.systemctl("daemon-reload")
    manager.systemctl("reset-failed", unit_name(), check=False)
    return removed
