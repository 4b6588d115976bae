"""systemd-run's arguments as the D-Bus properties of a transient unit.

`overmind.mission.units` describes a mission's unit as `systemd-run` arguments; this turns them
into what systemd-run itself would send, in its order, so that the manager makes the same unit
(the same unit file) without forking systemd-run: `run` creates one unit per call, a blueprint
several in one call (so that one start job pulls in the whole graph), which systemd-run cannot.
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

# systemd-run's own options that set a property, in the order it sends them.
_OPTIONS = {"--slice": "Slice", "--service-type": "Type", "--working-directory": "WorkingDirectory"}

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
    if key.startswith(("Condition", "Assert")):  # one condition: "!" negates it, "|" makes it a trigger
        trigger, negate = value.startswith("|"), value.lstrip("|").startswith("!")
        return ("Asserts" if key.startswith("Assert") else "Conditions"), "a(sbbs)", [
            (key, trigger, negate, value.lstrip("|").lstrip("!"))]
    if key == "CPUQuota":
        return "CPUQuotaPerSecUSec", "t", int(value.removesuffix("%")) * 10_000
    raise ValueError(f"no D-Bus mapping for the unit property {key}")


def unit_from_run_args(args: Sequence[str]) -> tuple[str, list[Property]]:
    """The unit name and properties that `systemd-run --user ARGS` would create the unit with, in
    the order it sends them (so the manager writes the same unit file): the description, the
    properties, the slice, the service type, the working directory, the environment, the command."""
    name = ""
    description: list[Property] = []
    props: list[Property] = []
    options: dict[str, Property] = {}
    environment: list[str] = []
    command: list[Property] = []
    for index, arg in enumerate(args):
        if arg == "--":
            argv = list(args[index + 1:])
            command = [("ExecStart", "a(sasb)", [(argv[0], argv, False)])]
            break
        option, _, value = arg.partition("=")
        if option == "--unit":
            name = value
        elif option == "--description":
            description = [("Description", "s", value)]
        elif option in _OPTIONS:
            options[option] = (_OPTIONS[option], "s", value)
        elif option == "--setenv":
            environment.append(value)
        elif option == "--property":
            key, _, setting = value.partition("=")
            props.append(property_value(key, setting))
        else:
            raise ValueError(f"no D-Bus mapping for the systemd-run option {arg!r}")
    if not name:
        raise ValueError("systemd-run arguments without --unit=")
    ordered = [options[option] for option in _OPTIONS if option in options]
    # A property given twice goes twice, as systemd-run sends it: the manager applies both in turn.
    return name, [*description, *props, *ordered, *([("Environment", "as", environment)] if environment else []),
                  *command]
