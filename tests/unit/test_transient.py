"""systemd-run arguments become the D-Bus properties systemd-run itself would send."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from overmind.blueprint.agent_units import retrying_argv
from overmind.mission.spec import Limits, MissionSpec, RestartPolicy
from overmind.mission.units import RUN_HOOK, supervised, transient_unit_args
from overmind.quantities import INFINITY, timespan_usec
from overmind.systemd import unit_exec
from overmind.systemd.transient import unit_from_run_args


def _bus_unit(spec: MissionSpec, **extra: str) -> tuple[str, dict[str, tuple[str, object]]]:
    args = transient_unit_args(spec, "0123abcd", "b.x", "overmind-agent@b.x.service", "/state",
                               extra_properties=extra)
    name, props = unit_from_run_args(args)
    return name, {key: (signature, value) for key, signature, value in props}


def test_a_mission_unit_keeps_every_setting_with_its_bus_type(tmp_path) -> None:
    spec = MissionSpec(command="echo '$HOME' \"%n\"", cwd=str(tmp_path), env={"A": "b c"},
                       limits=Limits(memory_max=2048, cpu_quota=150, tasks_max=9, timeout=90),
                       restart=RestartPolicy("on-failure", max_restarts=2, backoff=0.5), activity_timeout=30)
    name, props = _bus_unit(spec)
    assert name == "overmind-agent@b.x.service"
    assert props["WorkingDirectory"] == ("s", str(tmp_path))
    assert props["MemoryMax"] == ("t", 2048) and props["TasksMax"] == ("t", 9)
    assert props["CPUQuotaPerSecUSec"] == ("t", 1_500_000)
    assert props["RuntimeMaxUSec"] == ("t", 90_000_000)
    assert props["RestartUSec"] == ("t", 500_000) and props["StartLimitBurst"] == ("u", 3)
    assert props["WatchdogUSec"] == ("t", 30_000_000) and props["MemoryAccounting"] == ("b", True)
    stop_post = props["ExecStopPost"]
    hook = str(RUN_HOOK)
    assert stop_post == ("a(sasb)", [("/bin/sh", ["/bin/sh", hook, "end"], True)])
    assert "A=b c" in props["Environment"][1] and "OVERMIND_MISSION_ID=0123abcd" in props["Environment"][1]
    path, argv, ignore = props["ExecStart"][1][0]
    assert argv == supervised(unit_exec.helper("exec")) and not ignore  # `$` and `%`: the command is in the environment
    launched = json.loads(next(e for e in props["Environment"][1] if e.startswith("OVERMIND_ARGV=")).split("=", 1)[1])
    assert launched == [sys.executable, "-m", "overmind.wrapper", "--", "/bin/sh", "-c", "echo '$HOME' \"%n\""]


def test_extra_properties_override_and_split_unit_lists(tmp_path) -> None:
    _, props = _bus_unit(MissionSpec(command="true", cwd=str(tmp_path)), Type="oneshot",
                         After="a.service b.service", Requires="a.service", Slice="x-1.slice",
                         TimeoutStartSec="infinity")
    assert props["Type"] == ("s", "oneshot")
    assert props["After"] == ("as", ["a.service", "b.service"])
    assert props["Requires"] == ("as", ["a.service"])
    assert props["Slice"] == ("s", "x-1.slice")
    assert props["TimeoutStartUSec"] == ("t", INFINITY)


def test_unknown_properties_are_refused() -> None:
    with pytest.raises(ValueError, match="no D-Bus mapping"):
        unit_from_run_args(["--unit=x.service", "--property=Frobnicate=yes", "--", "/bin/true"])


@pytest.mark.parametrize(("text", "usec"), [("10s", 10_000_000), ("1.5s", 1_500_000), ("250ms", 250_000),
                                            ("5min 30s", 330_000_000), ("2", 2_000_000)])
def test_time_spans(text: str, usec: int) -> None:
    assert timespan_usec(text) == usec


def test_a_retried_task_runs_until_it_succeeds_within_its_retries(tmp_path) -> None:
    counter = tmp_path / "n"
    env = {"PATH": os.environ["PATH"], "OVERMIND_MISSION_ID": "m1", "OVERMIND_STATE_DIR": str(tmp_path)}
    flaky = ["/bin/sh", "-c", f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}; [ $n -ge 2 ]"]
    done = subprocess.run(retrying_argv(flaky, 3, 0.01, 0.02), capture_output=True, text=True, env=env)
    assert done.returncode == 0 and counter.read_text().strip() == "3"
    assert [line.split(" at ")[0] for line in done.stdout.splitlines()] == [
        "--- exited with code 1 ---", "--- restart #1", "--- exited with code 1 ---", "--- restart #2"]
    # each attempt is a run of the mission to the run records: its end, then the next start
    records = [line.split()[0] for line in (tmp_path / "runs" / "log").read_text().splitlines()]
    assert records == ["exit", "start", "exit", "start"]
    counter.unlink()
    given_up = subprocess.run(retrying_argv(flaky, 1, 0.01, 0.01), capture_output=True, text=True, env=env)
    assert given_up.returncode == 1 and counter.read_text().strip() == "2"


def test_retries_keep_every_word_of_the_command_as_it_was() -> None:
    argv = ["printf", "%s|", "a b", "$HOME", "'q'"]
    assert subprocess.run(retrying_argv(argv, 1, 0.01, 0.01), capture_output=True, text=True).stdout == "a b|$HOME|'q'|"
