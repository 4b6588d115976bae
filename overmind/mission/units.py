"""Turn a mission spec into the properties of a transient systemd unit (systemd-run arguments)."""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from overmind.mission.kinds import RESTART_POLICIES, runs_under_wrapper
from overmind.mission.spec import MissionSpec
from overmind.names import log_identifier
from overmind.systemd.unit_exec import launched
from overmind.systemd.unitfiles import quote_exec_arg

# Passed through from the caller so a mission finds the same tools and the same overmind state
# (an agent calls `overmind` from inside its unit to spawn and wait for children).
INHERITED_ENV = ("PATH", "LANG", "OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
DEFAULT_RESTART_WINDOW = 60.0  # seconds, for --max-restarts without --max-seconds
DEFAULT_BACKOFF_MAX = 60.0  # seconds
NATIVE_BACKOFF_SINCE = 254  # RestartSteps= and RestartMaxDelaySec=
RUN_HOOK = Path(__file__).resolve().parent.parent / "hooks" / "run.sh"


def describe(name: str, command: str, width: int = 80, kind: str = "mission") -> str:
    text = _CONTROL_CHARS.sub(" ", f"overmind {kind} {name}: {command}")
    return text if len(text) <= width else text[: width - 1] + "…"


def run_environment(spec: MissionSpec, state_dir: str) -> dict[str, str]:
    """What every run of the spec sees: the caller's basics, the spec's variables, overmind's state."""
    env = {key: os.environ[key] for key in INHERITED_ENV if key in os.environ}
    # The agent can call the same overmind (spawn children, wait on them) from inside its unit.
    tools = os.path.dirname(sys.executable)
    path = env.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["PATH"] = path if tools in path.split(":") else f"{tools}:{path}"
    if spec.provider != "raw":
        # The agent CLI's own settings (API keys, endpoints) follow the user into the mission.
        from overmind.providers import get

        prefixes = get(spec.provider).inherited_env_prefixes
        env.update({key: value for key, value in os.environ.items() if key.startswith(prefixes)})
    env.update(spec.env)
    env["OVERMIND_STATE_DIR"] = state_dir
    if spec.activity_timeout is not None:
        env["OVERMIND_ACTIVITY_TIMEOUT"] = f"{spec.activity_timeout:g}"
    env["OVERMIND_STOP_TIMEOUT"] = f"{spec.stop_timeout:g}"  # the run hook's words for a stop killed late
    return env


SPEC_VARIABLE = "OVERMIND_SPEC"
_SPEC_MAX = 100_000  # one environment string may not exceed 128 KiB (MAX_ARG_STRLEN)


def mission_environment(spec: MissionSpec, mission_id: str, name: str, state_dir: str,
                        record: Mapping[str, Any] | None = None) -> dict[str, str]:
    env = run_environment(spec, state_dir)
    env["OVERMIND_MISSION_ID"] = mission_id
    env["OVERMIND_MISSION_NAME"] = name
    if spec.parent:
        env["OVERMIND_PARENT_ID"] = spec.parent
    env[SPEC_VARIABLE] = spec_for_rebuild(dict(record) if record is not None else spec.to_record())
    if spec.persist:  # its run hooks count the boots that start it again, and mark a finished task
        env["OVERMIND_PERSIST"] = spec.restart.policy
    return env


def spec_for_rebuild(record: dict[str, Any]) -> str:
    """The mission's recorded spec, for a state store rebuilt from what systemd knows
    (overmind.store.rebuild); a prompt too long for one environment string is left out."""
    import json

    text = json.dumps(record, separators=(",", ":"))
    if len(text) > _SPEC_MAX:
        text = json.dumps(record | {"command": None}, separators=(",", ":"))
    return text


def supervised(argv: list[str]) -> list[str]:
    """A unit's command, started through the run hook: a new host manager's run of the unit can
    then take over the process a dead one left running, instead of starting it again."""
    return ["/bin/sh", str(RUN_HOOK), "run", "--", *argv]


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




def run_hooks(spec: MissionSpec, backoff_args: list[str], marks: str) -> dict[str, str]:
    """The run record hooks (overmind/hooks/run.sh, plain sh): each run's start, main process and
    end, appended to the state directory's run log even when no overmind process is alive; each
    restart marked in the journal, and on old managers the backoff grown. `marks`: the mission's
    marks in the state directory (<state>/runs/<id>)."""
    script = quote_exec_arg(str(RUN_HOOK))
    # A persisted mission that has finished (ran to its end, no restart to follow) is not started
    # again by the next boot: the run hook marked it `.done`, and the manager checks that itself
    # (no process is started for it at every boot, as an ExecCondition= would).
    finished = {"ConditionPathExists": f"!{marks}.done"} if spec.persist else {}
    return {**finished, "ExecStartPre": f"-/bin/sh {script} start{''.join(' ' + a for a in backoff_args)}",
            "ExecStopPost": f"-/bin/sh {script} end"}


def restart_properties(spec: MissionSpec, systemd_version: int | None = None) -> dict[str, str]:
    """Restart=, the start limit, and the backoff: systemd's own from 254 on (the manager's version
    is read only when a backoff is asked for), else the run hook's."""
    restart = spec.restart
    props = {"Restart": RESTART_POLICIES[restart.policy]}
    if restart.policy == "never":
        return props
    if restart.max_restarts is not None:
        # systemd counts starts, the first one included.
        props["StartLimitBurst"] = str(restart.max_restarts + 1)
        props["StartLimitIntervalSec"] = f"{restart.max_seconds or DEFAULT_RESTART_WINDOW:g}s"
    elif restart.backoff is not None:
        # The growing delay is the throttle; systemd's default limit (5 starts in 10 s) would end
        # the mission during its first, short delays.
        props["StartLimitIntervalSec"] = "0"
    if restart.backoff is not None:
        ceiling = max(restart.backoff_max or DEFAULT_BACKOFF_MAX, restart.backoff)
        props["RestartSec"] = f"{restart.backoff:g}s"
        if systemd_version is None:
            from overmind.systemd.bus import manager_version

            systemd_version = manager_version()
        if systemd_version >= NATIVE_BACKOFF_SINCE:  # native exponential backoff
            props["RestartMaxDelaySec"] = f"{ceiling:g}s"
            props["RestartSteps"] = str(max(1, math.ceil(math.log2(ceiling / restart.backoff))))
        else:  # the run hook sleeps the growing part of the delay before each restart
            props["TimeoutStartSec"] = f"{ceiling + 60:g}s"
    return props


def hook_backoff(spec: MissionSpec, props: Mapping[str, str]) -> list[str]:
    """The backoff the run hook grows itself (milliseconds), where systemd does not (before 254)."""
    restart = spec.restart
    if restart.policy == "never" or restart.backoff is None or "RestartSteps" in props:
        return []
    ceiling = max(restart.backoff_max or DEFAULT_BACKOFF_MAX, restart.backoff)
    return [str(round(restart.backoff * 1000)), str(round(ceiling * 1000))]


def watchdog_properties(spec: MissionSpec) -> dict[str, str]:
    if spec.activity_timeout is None:
        return {}
    return {"WatchdogSec": f"{spec.activity_timeout:g}s", "NotifyAccess": "all"}


def exec_argv(spec: MissionSpec) -> list[str]:
    # The agent wrapper reads the mission's spec from the store: nothing of it goes on the command line.
    if runs_under_wrapper(spec.provider, spec.type):
        return [sys.executable, "-m", "overmind.wrapper", "--mission"]
    shell = ["/bin/sh", "-c", spec.command]
    if spec.activity_timeout is None:
        return shell
    # The wrapper relays output byte for byte and pings the watchdog whenever there is some.
    return [sys.executable, "-m", "overmind.wrapper", "--", *shell]


def transient_unit_args(spec: MissionSpec, mission_id: str, name: str, unit: str, state_dir: str,
                        systemd_version: int | None = None, extra_properties: Mapping[str, str] | None = None,
                        record: Mapping[str, Any] | None = None) -> list[str]:
    """Arguments for `systemd-run --user` that create the mission's unit; `extra_properties`
    (a blueprint's Slice=, After=, Requires=, ...) come last and win. `record` is the spec as
    the store keeps it (default: this spec's)."""
    restart = restart_properties(spec, systemd_version)
    props = {
        # The session wrapper says READY=1 once the agent takes messages (and again, not being the
        # main process, to a new manager that took it back: NotifyAccess=all).
        "Type": "notify" if runs_under_wrapper(spec.provider, spec.type) else "exec",
        **({"NotifyAccess": "all"} if runs_under_wrapper(spec.provider, spec.type) else {}),
        "MemoryAccounting": "yes",
        "CPUAccounting": "yes",
        "TasksAccounting": "yes",
        "TimeoutStopSec": f"{spec.stop_timeout:g}s",
        # Every line carries the unit's name as its identifier, even lines of a process so short
        # that journald could not read its cgroup in time to fill in _SYSTEMD_USER_UNIT.
        "SyslogIdentifier": log_identifier(unit),
        **run_hooks(spec, hook_backoff(spec, restart), f"{state_dir}/runs/{mission_id}"),
        **limit_properties(spec),
        **restart,
        **watchdog_properties(spec),
        **(extra_properties or {}),
    }
    what = spec.command if spec.provider == "raw" else f"{spec.provider} {spec.type}: {spec.command}".rstrip(": ")
    args = [f"--unit={unit}", f"--description={describe(name, what)}", f"--working-directory={spec.cwd}"]
    # systemd 252 writes `$ ; \` of a transient unit's command line to its unit file in a form it
    # reads back changed, on every daemon-reload: a command with them runs from the environment.
    argv, env = launched(exec_argv(spec), mission_environment(spec, mission_id, name, state_dir, record))
    args += [f"--property={key}={value}" for key, value in props.items()]
    args += [f"--setenv={key}={value}" for key, value in env.items()]
    return [*args, "--", *supervised(argv)]
