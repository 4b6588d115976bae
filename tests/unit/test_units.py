"""A spec becomes systemd-run arguments: properties, environment and the command line."""

from __future__ import annotations

import json
import sys

from overmind.mission.spec import Limits, MissionSpec, RestartPolicy
from overmind.mission.units import RUN_HOOK, describe, supervised, transient_unit_args
from overmind.systemd import unit_exec
from overmind.systemd.unitfiles import quote_exec_arg


def _args(spec: MissionSpec, version: int = 252) -> list[str]:
    return transient_unit_args(spec, "0123abcd", "build", "overmind-agent@build.service", "/state", version)


def _props(args: list[str]) -> dict[str, str]:
    return dict(a.removeprefix("--property=").split("=", 1) for a in args if a.startswith("--property="))


def test_the_command_runs_under_sh_as_one_argument(tmp_path) -> None:
    args = _args(MissionSpec(command="make test", cwd=str(tmp_path)))
    assert args[-4:] == ["--", "/bin/sh", "-c", "make test"]
    assert f"--working-directory={tmp_path}" in args


def test_a_command_systemd_would_change_on_a_reload_travels_in_the_environment(tmp_path) -> None:
    command = "echo a && echo b; rm -rf $HOME \\ 'q' %n"
    args = _args(MissionSpec(command=command, cwd=str(tmp_path)))
    assert args[args.index("--") + 1:] == supervised(unit_exec.helper("exec"))
    assert f"--setenv=OVERMIND_ARGV={json.dumps(['/bin/sh', '-c', command])}" in args


def test_environment_is_passed_verbatim_with_the_mission_identity(tmp_path) -> None:
    args = _args(MissionSpec(command="true", cwd=str(tmp_path), env={"GREETING": "hello world; $x"}))
    assert "--setenv=GREETING=hello world; $x" in args
    assert "--setenv=OVERMIND_MISSION_ID=0123abcd" in args
    assert "--setenv=OVERMIND_MISSION_NAME=build" in args


def test_limits_map_to_cgroup_properties(tmp_path) -> None:
    spec = MissionSpec(command="true", cwd=str(tmp_path),
                       limits=Limits(memory_max=1024, cpu_quota=150, tasks_max=9, timeout=90))
    props = _props(_args(spec))
    assert (props["MemoryMax"], props["CPUQuota"], props["TasksMax"], props["RuntimeMaxSec"]) == (
        "1024", "150%", "9", "90s")


def test_every_run_is_recorded_by_plain_sh_hooks_not_python(tmp_path) -> None:
    props = _props(_args(MissionSpec(command="true", cwd=str(tmp_path))))
    assert props["Restart"] == "no"
    hook = f'-/bin/sh "{RUN_HOOK}"'
    assert (props["ExecStartPre"], props["ExecStopPost"]) == (f"{hook} start", f"{hook} end")
    assert "ExecStartPost" not in props  # the run records its own pid as it execs the command
    assert "ConditionPathExists" not in props  # only a persisted mission's boot checks its .done mark


def test_the_breaker_allows_one_start_more_than_restarts(tmp_path) -> None:
    spec = MissionSpec(command="true", cwd=str(tmp_path),
                       restart=RestartPolicy("on-failure", max_restarts=2, max_seconds=30))
    props = _props(_args(spec))
    assert (props["Restart"], props["StartLimitBurst"], props["StartLimitIntervalSec"]) == ("on-failure", "3", "30s")


def test_backoff_uses_the_hook_before_systemd_254_and_native_steps_after(tmp_path) -> None:
    spec = MissionSpec(command="true", cwd=str(tmp_path),
                       restart=RestartPolicy("always", backoff=0.5, backoff_max=8))
    old = _props(_args(spec, 252))
    assert old["RestartSec"] == "0.5s"
    assert old["ExecStartPre"].endswith(" start 500 8000")  # the hook grows the delay, in ms
    new = _props(_args(spec, 255))
    assert (new["RestartMaxDelaySec"], new["RestartSteps"]) == ("8s", "4")
    assert new["ExecStartPre"].endswith(" start")


def test_activity_timeout_wraps_the_command_and_sets_the_watchdog(tmp_path) -> None:
    args = _args(MissionSpec(command="agent", cwd=str(tmp_path), activity_timeout=30))
    props = _props(args)
    assert (props["WatchdogSec"], props["NotifyAccess"]) == ("30s", "all")
    wrapped = [sys.executable, "-m", "overmind.wrapper", "--", "/bin/sh", "-c", "agent"]
    assert args[args.index("--") + 1:] == supervised(wrapped)


def test_exec_words_are_quoted_and_specifiers_escaped() -> None:
    assert quote_exec_arg('/opt/my py/bin/python "x" %h $HOME') == '"/opt/my py/bin/python \\"x\\" %%h $$HOME"'


def test_descriptions_drop_control_characters_and_stay_short() -> None:
    text = describe("n", "echo a\nrm -rf /\t" + "x" * 200)
    assert "\n" not in text and "\t" not in text
    assert len(text) == 80 and text.endswith("…")


def test_the_backoff_follows_the_managers_real_version_read_only_when_needed(tmp_path, mocker) -> None:
    from overmind.mission.units import hook_backoff, restart_properties
    from overmind.systemd import bus

    asked = mocker.patch.object(bus, "manager_version", return_value=255)
    plain = MissionSpec(command="true", cwd=str(tmp_path), restart=RestartPolicy(policy="on-failure"))
    assert "RestartSteps" not in restart_properties(plain) and not asked.called
    backing_off = MissionSpec(command="true", cwd=str(tmp_path),
                              restart=RestartPolicy(policy="on-failure", backoff=0.5, backoff_max=8))
    native = restart_properties(backing_off)
    assert (native["RestartSteps"], native["RestartMaxDelaySec"]) == ("4", "8s") and asked.called
    asked.return_value = 252
    assert hook_backoff(backing_off, restart_properties(backing_off)) == ["500", "8000"]
