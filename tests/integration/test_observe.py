"""ps, info and logs: what a mission is doing, from systemd and the journal."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import Overmind, must
from tests.integration.test_run import finished


def test_ps_lists_missions_with_live_accounting(om: Overmind, name: str) -> None:
    om.run("sleep 30", "--name", name)
    row = must(lambda: next((r for r in om.json("ps") if r["name"] == name and r["memory_bytes"]), None))
    assert row["status"] == "running"
    assert row["type"] == "task"
    assert row["restarts"] == 0
    assert row["memory_bytes"] > 0
    assert row["cpu_s"] is not None
    assert row["command"] == "sleep 30"
    table = om("ps").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "TYPE", "STATUS", "RESTARTS", "UPTIME", "MEM", "CPU", "COMMAND"]
    assert any(line.split()[1:4] == [name, "task", "running"] for line in table[1:])
    om("stop", name)


def test_ps_fits_the_terminal(om: Overmind, name: str, tmp_path: Path) -> None:
    # Its own missions only: other tests' (an ACTIVITY or WORKTREE column) need more than 80 columns.
    alone = Overmind(om.env | {"OVERMIND_STATE_DIR": str(tmp_path),
                               "OVERMIND_UNIT_PREFIX": f"{om.env['OVERMIND_UNIT_PREFIX']}-ps"})
    alone.run("echo " + "x" * 300, "--name", name)
    env = alone.env | {"COLUMNS": "80"}
    lines = Overmind(env)("ps").stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert any(line.endswith("…") for line in lines)


def test_ps_and_info_agree_with_systemctl(om: Overmind, name: str) -> None:
    unit = om.run("sleep 30", "--name", name)["unit"]
    info = must(lambda: (found := om.info(name))["os_pid"] and found, what="its main process")  # run does not wait
    assert info["os_pid"] == int(om.unit_property(unit, "MainPID"))
    assert info["cgroup"] == om.unit_property(unit, "ControlGroup")
    assert info["unit"] == unit
    assert info["started_at"] is not None
    om("stop", name)
    assert om.status(name) == "stopped"
    assert om.unit_property(unit, "ActiveState") in ("inactive", "")


def test_info_accepts_id_or_name_and_rejects_unknown(om: Overmind, name: str) -> None:
    mission = om.run("true", "--name", name)
    assert om.info(mission["id"])["name"] == name
    proc = om("info", "no-such-mission", check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["overmind: no mission named 'no-such-mission'", "(see 'overmind ps --all')"]


def test_logs_keep_stdout_and_stderr_while_running_and_after_exit(om: Overmind, name: str, tmp_path) -> None:
    gate = tmp_path / "gate"
    om.run(f"echo out; echo err >&2; while [ ! -e {gate} ]; do sleep 0.05; done; echo end", "--name", name)
    must(lambda: om.logs(name)[:2] == ["out", "err"], what="logs while running")
    assert om.status(name) == "running"
    gate.touch()
    finished(om, name)
    assert om.logs(name)[:3] == ["out", "err", "end"]
    assert om.logs(name, "-n", "1") == ["--- exited with code 0 ---"]


def test_logs_without_a_mission_interleave_all_with_names(om: Overmind, name: str) -> None:
    om.run("echo from-a", "--name", f"{name}-a")
    om.run("echo from-b", "--name", f"{name}-b")
    finished(om, f"{name}-b")
    finished(om, f"{name}-a")
    text = re.sub(" +", " ", om("logs").stdout)
    assert f"{name}-a | from-a" in text
    assert f"{name}-b | from-b" in text


def test_logs_follow_streams_new_lines(om: Overmind, name: str, tmp_path) -> None:
    gate = tmp_path / "gate"
    om.run(f"echo first; while [ ! -e {gate} ]; do sleep 0.05; done; echo second; sleep 30", "--name", name)
    must(lambda: om.logs(name) == ["first"])
    follower = subprocess.Popen([sys.executable, "-m", "overmind", "logs", "-f", name], env=om.env,
                                stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().endswith(" first\n")
        gate.touch()
        assert follower.stdout.readline().endswith(" second\n")
    finally:
        follower.kill()
        follower.wait()
    om("kill", name)


def test_logs_since_filters_by_time(om: Overmind, name: str) -> None:
    om.run("echo hello", "--name", name)
    finished(om, name)
    assert om.logs(name, "--since", "1h ago")[0] == "hello"
    assert om.logs(name, "--since", "2999-01-01 00:00") == []
    bad = om("logs", name, "--since", "whenever", check=False)
    assert bad.returncode == 1 and "invalid --since" in bad.stderr


def test_debug_shows_every_systemd_call_with_its_duration(om: Overmind, name: str) -> None:
    om.run("sleep 30", "--name", name)
    traced = om("--debug", "info", name)
    calls = [line for line in traced.stderr.splitlines() if line.startswith("overmind: debug: ")]
    assert any("systemctl --user" in line and " show " in line and line.endswith(" ms)") for line in calls)
    assert "overmind: debug" not in om("info", name).stderr
    om("stop", name)
