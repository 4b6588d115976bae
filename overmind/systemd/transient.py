"""systemd-run's arguments as the D-Bus properties of a transient unit.

`overmind.mission.units` describes a mission's unit as `systemd-run` arguments, and `run` hands them to
systemd-run. A blueprint needs several units created in one call to the manager (so that one
start job pulls in the whole graph), which systemd-run cannot do; this turns the same arguments
into what systemd-run itself would send, so both paths share one description of a unit.
Only the properties overmind writes are known; any other is a programming error.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from overmind.quantities import size_bytes, timespan_usec

_STRINGS = {"Type", "Restart", "SyslogIdentifier", "Slice", "NotifyAccess", "KillMode", "KillSignal",
            "CollectMode", "Description", "WorkingDirectory", "StandardInput", "StandardOutput", "StandardError"}
_BOOLEANS = {"MemoryAccounting", "CPUAccounting", "TasksAccounting", "IOAccounting", "RemainAfterExit",
             "SendSIGHUP", "SendSIGKILL", "DefaultDependencies"}
_TIMES = {"TimeoutStartSec": "TimeoutStartUSec", "TimeoutStopSec": "TimeoutStopUSec",
          "RuntimeMaxSec": "RuntimeMaxUSec", "RestartSec": "RestartUSec", "WatchdogSec": "WatchdogUSec",
          "StartLimitIntervalSec": "StartLimitIntervalUSec", "RestartMaxDelaySec": "RestartMaxDelayUSec"}
_NUMBERS = {"MemoryMax": "t", "MemoryHigh": "t", "MemorySwapMax": "t", "TasksMax": "t",
            "StartLimitBurst": "u", "RestartSteps": "u"}
_UNIT_LISTS = {"After", "Before", "Requires", "Requisite", "Wants", "BindsTo", "PartOf", "Conflicts"}
_COMMANDS = {"ExecStart", "ExecStartPre", "ExecStartPost", "ExecCondition", "ExecStop", "ExecStopPost"}

Property = tuple[str, str, Any]  # D-Bus name, signature, value


def _command(text: str) -> list[tuple[str, list[str], bool]]:
    ignore_failure = text.startswith("-")
    argv = shlex.split(text.removeprefix("-"))
    return [(argv[0], argv, ignore_failure)]


def property_value(key: str, value: str) -> Property:
    """One `--property=KEY=VALUE` as systemd-run would put it on the bus."""
    if key in _STRINGS:
        return key, "s", value
    if key in _BOOLEANS:
        return key, "b", value.lower() in ("yes", "true", "1", "on")
    if key in _TIMES:
        return _TIMES[key], "t", timespan_usec(value)
    if key in _NUMBERS:
        return key, _NUMBERS[key], size_bytes(value)
    if key in _UNIT_LISTS:
        return key, "as", value.split()
    if key in _COMMANDS:
        return key, "a(sasb)", _command(value)
    if key == "CPUQuota":
        return "CPUQuotaPerSecUSec", "t", int(value.removesuffix("%")) * 10_000
    raise ValueError(f"no D-Bus mapping for the unit property {key}")


def unit_from_run_args(args: Sequence[str]) -> tuple[str, list[Property]]:
    """The unit name and properties that `systemd-run --user ARGS` would create the unit with."""
    name = ""
    props: list[Property] = []
    environment: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            argv = list(args[index + 1:])
            props.append(("ExecStart", "a(sasb)", [(argv[0], argv, False)]))
            break
        option, _, value = arg.partition("=")
        if option == "--unit":
            name = value
        elif option == "--description":
            props.append(("Description", "s", value))
        elif option == "--working-directory":
            props.append(("WorkingDirectory", "s", value))
        elif option == "--slice":
            props.append(("Slice", "s", value))
        elif option == "--service-type":
            props.append(("Type", "s", value))
        elif option == "--setenv":
            environment.append(value)
        elif option == "--property":
            key, _, setting = value.partition("=")
            props.append(property_value(key, setting))
        else:
            raise ValueError(f"no D-Bus mapping for the systemd-run option {arg!r}")
    if environment:
        props.append(("Environment", "as", environment))
    if not name:
        raise ValueError("systemd-run arguments without --unit=")
    return name, _last_wins(props)


def _last_wins(props: list[Property]) -> list[Property]:
    """A later setting of a property replaces an earlier one, as in a unit file (no duplicates on the bus)."""
    merged: dict[str, Property] = {}
    for prop in props:
        merged[prop[0]] = prop
    return list(merged.values())
