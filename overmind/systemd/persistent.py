"""systemd-run's arguments as a unit file: the persistent form of a transient unit.

`overmind.mission.units` describes a mission's unit once, as `systemd-run` arguments.
`overmind.systemd.transient` turns them into the D-Bus properties of a transient unit; this turns
the very same arguments into a unit file for the user's unit directory, enabled under
`default.target`, so that the user manager starts it again at its next start (a reboot, a
`host down` / `host up`). Both forms must load as the same unit (tests compare what systemd
reports for each).

The file adds only what a file needs: overmind's marker line (it changes no file without it),
`ConditionHost=` with this machine's id (a home directory shared over NFS must not start
another host's missions) and `[Install] WantedBy=default.target`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from overmind.errors import OvermindError
from overmind.systemd.transient import _OPTIONS as RUN_OPTIONS
from overmind.systemd.unitfiles import MARKER, quote_assignment, quote_exec_arg

WANTED_BY = "default.target"
# What belongs in [Unit]; every other property of a mission's unit is a [Service] setting.
_UNIT_SECTION = {"Description", "After", "Before", "Requires", "Requisite", "Wants", "BindsTo", "PartOf", "Conflicts",
                 "StartLimitIntervalSec", "StartLimitBurst", "DefaultDependencies", "CollectMode"}
_SPECIFIERS = {"Description", "WorkingDirectory", "SyslogIdentifier", "Slice", "After", "Before", "Requires",
               "Requisite", "Wants", "BindsTo", "PartOf", "Conflicts"}  # the settings that expand %n, %h...
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def machine_id() -> str | None:
    try:
        text = Path("/etc/machine-id").read_text().strip()
    except OSError:
        return None
    return text if re.fullmatch(r"[0-9a-f]{32}", text) else None


_CHECKS = ("Condition", "Assert")  # [Unit] settings too; their paths expand specifiers


def _plain(key: str, value: str) -> str:
    """A value written as it is (no quoting in these settings): no control character may start
    another line, and in the settings that expand specifiers no % may expand (CPUQuota=150%
    means what it says)."""
    if _CONTROL_CHARS.search(value):
        raise OvermindError(f"a persisted unit's {key}= cannot hold a control character: {value!r}")
    return value.replace("%", "%%") if key in _SPECIFIERS or key.startswith(_CHECKS) else value


def unit_file_from_run_args(args: Sequence[str], host: str | None = None) -> tuple[str, str]:
    """The unit name and the text of the unit file that loads as the unit `systemd-run --user
    ARGS` creates; `host` (a machine id) is the only one whose manager will start it."""
    name = ""
    unit: list[str] = []
    service: list[str] = []
    options: dict[str, str] = {}
    environment: list[str] = []
    command = ""
    for index, arg in enumerate(args):
        if arg == "--":
            command = " ".join(quote_exec_arg(word) for word in args[index + 1:])
            break
        option, _, value = arg.partition("=")
        if option == "--unit":
            name = value
        elif option == "--description":
            unit.append(f"Description={_plain('Description', value)}")
        elif option in RUN_OPTIONS:
            options[option] = f"{RUN_OPTIONS[option]}={_plain(RUN_OPTIONS[option], value)}"
        elif option == "--setenv":
            key, _, setting = value.partition("=")
            environment.append(f"Environment={quote_assignment(key, setting)}")
        elif option == "--property":
            key, _, setting = value.partition("=")
            # Exec*= lines come already quoted for a unit file (overmind.mission.units.run_hooks).
            line = f"{key}={setting if key.startswith('Exec') else _plain(key, setting)}"
            (unit if key in _UNIT_SECTION or key.startswith(_CHECKS) else service).append(line)
        else:
            raise ValueError(f"no unit file setting for the systemd-run option {arg!r}")
    if not name or not command:
        raise ValueError("systemd-run arguments without --unit= or a command")
    if host is not None:
        unit.append(f"ConditionHost={host}")
    ordered = [options[option] for option in RUN_OPTIONS if option in options]
    lines = [MARKER, "[Unit]", *unit, "", "[Service]", *service, *ordered, *environment, f"ExecStart={command}", "",
             "[Install]", f"WantedBy={WANTED_BY}", ""]
    return name, "\n".join(lines)
