"""Turn a mission spec into the properties of a transient systemd unit (systemd-run arguments)."""

from __future__ import annotations

import os
import re
import sys

from overmind.names import log_identifier
from overmind.spec import RESTART_POLICIES, MissionSpec

# Passed through from the caller so a mission finds the same tools and the same overmind state
# (an agent calls `overmind` from inside its unit to spawn and wait for children).
_INHERITED_ENV = ("PATH", "LANG", "OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def quote_exec_arg(arg: str) -> str:
    """Quote one word for an Exec*= line (systemd's own quoting rules, and no % specifiers)."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def describe(name: str, command: str, width: int = 80) -> str:
    text = _CONTROL_CHARS.sub(" ", f"overmind mission {name}: {command}")
    return text if len(text) <= width else text[: width - 1] + "…"


def mission_environment(spec: MissionSpec, mission_id: str, name: str, state_dir: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in _INHERITED_ENV if key in os.environ}
    env.update(spec.env)
    env["OVERMIND_MISSION_ID"] = mission_id
    env["OVERMIND_MISSION_NAME"] = name
    env["OVERMIND_STATE_DIR"] = state_dir
    if spec.parent:
        env["OVERMIND_PARENT_ID"] = spec.parent
    return env


def limit_properties(spec: MissionSpec) -> dict[str, str]:
    limits = spec.limits
    props: dict[str, str] = {}
    if limits.memory_max is not None:
        props["MemoryMax"] = str(limits.memory_max)
        props["MemorySwapMax"] = "0"
    if limits.cpu_quota is not None:
        props["CPUQuota"] = f"{limits.cpu_quota}%"
    if limits.tasks_max is not None:
        props["TasksMax"] = str(limits.tasks_max)
    if limits.timeout is not None:
        props["RuntimeMaxSec"] = f"{limits.timeout:g}s"
    return props


def restart_properties(spec: MissionSpec) -> dict[str, str]:
    restart = spec.restart
    props = {"Restart": RESTART_POLICIES[restart.policy]}
    if restart.max_restarts is not None:
        props["StartLimitBurst"] = str(restart.max_restarts + 1)
        props["StartLimitIntervalSec"] = f"{restart.max_seconds or 10:g}s"
    if restart.backoff is not None:
        props["RestartSec"] = f"{restart.backoff:g}s"
    return props


def transient_unit_args(spec: MissionSpec, mission_id: str, name: str, unit: str, state_dir: str) -> list[str]:
    """Arguments for `systemd-run --user` that create the mission's unit."""
    props = {
        "Type": "exec",
        "MemoryAccounting": "yes",
        "CPUAccounting": "yes",
        "TasksAccounting": "yes",
        "TimeoutStopSec": f"{spec.stop_timeout:g}s",
        # Every line carries the unit's name as its identifier, even lines of a process so short
        # that journald could not read its cgroup in time to fill in _SYSTEMD_USER_UNIT.
        "SyslogIdentifier": log_identifier(unit),
        # Records how each run ended, in the store, even when no overmind process is alive.
        "ExecStopPost": "-" + " ".join(quote_exec_arg(a) for a in (sys.executable, "-m", "overmind.hooks.exit")),
        **limit_properties(spec),
        **restart_properties(spec),
    }
    args = [f"--unit={unit}", f"--description={describe(name, spec.command)}", f"--working-directory={spec.cwd}"]
    args += [f"--property={key}={value}" for key, value in props.items()]
    args += [f"--setenv={key}={value}" for key, value in mission_environment(spec, mission_id, name, state_dir).items()]
    return [*args, "--", "/bin/sh", "-c", spec.command]
