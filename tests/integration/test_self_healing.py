"""Restart policies, the crash-loop breaker, backoff, stall detection and wait, on real systemd."""

from __future__ import annotations

import json
import os
import re
import signal
from datetime import datetime

from tests.helpers import Overmind, must


def _runs(om: Overmind, ref: str, marker: str = "run") -> int:
    return sum(1 for line in om.logs(ref) if line == marker)


def test_on_failure_does_not_restart_a_clean_exit(om: Overmind, name: str) -> None:
    om.run("echo run", "--name", name, "--restart", "on-failure")
    assert om("wait", name).stdout == "finished: stopped, exit code 0\n"
    assert om.info(name)["restarts"] == 0


def test_on_failure_restarts_a_failure_until_the_breaker_trips(om: Overmind, name: str) -> None:
    om.run("echo run; exit 3", "--name", name, "--restart", "on-failure", "--max-restarts", "2",
           "--max-seconds", "60")
    proc = om("wait", name, check=False)
    assert proc.returncode == 3
    assert proc.stdout == "finished: crashed (gave up after 2 restarts: exit 3), exit code 3\n"
    info = om.info(name)
    assert (info["status"], info["restarts"]) == ("crashed", 2)
    assert _runs(om, name) == 3


def test_always_restarts_even_a_clean_exit_until_the_restart_limit_says_it_gave_up(om: Overmind, name: str) -> None:
    om.run("echo run", "--name", name, "--restart", "always", "--max-restarts", "2")
    assert om("wait", name).stdout == "finished: crashed (gave up after 2 restarts: exit 0), exit code 0\n"
    assert _runs(om, name) == 3
    info = om.info(name)
    assert (info["status"], info["reason"], info["restarts"]) == ("crashed", "gave up after 2 restarts: exit 0", 2)
    assert "crashed (gave up after 2 restarts: exit 0)" in om("ps", "--all").stdout


def test_slow_failures_keep_restarting_beyond_the_burst(om: Overmind, name: str) -> None:
    # One failure every 1.2 s or more: never two within the 1 s window.
    om.run("echo run; sleep 1.2; exit 1", "--name", name, "--restart", "on-failure", "--max-restarts", "1",
           "--max-seconds", "1")
    must(lambda: om.info(name)["restarts"] >= 3, timeout=30, what="more restarts than the burst")
    assert om.status(name) in ("running", "restarting")
    om("stop", name)


def test_external_sigkill_without_policy_is_a_crash(om: Overmind, name: str) -> None:
    om.run("sleep 300", "--name", name)
    pid = must(lambda: om.info(name)["os_pid"])
    os.kill(pid, signal.SIGKILL)
    info = json.loads(om("wait", name, "--json", check=False).stdout)
    assert (info["status"], info["reason"], info["restarts"], info["exit_code"]) == ("crashed", "SIGKILL", 0, 137)


def test_external_sigkill_with_on_failure_comes_back_with_a_new_pid(om: Overmind, name: str) -> None:
    om.run("sleep 300", "--name", name, "--restart", "on-failure")
    pid = must(lambda: om.info(name)["os_pid"])
    os.kill(pid, signal.SIGKILL)
    info = must(lambda: (i := om.info(name))["restarts"] == 1 and i["os_pid"] and i["os_pid"] != pid and i,
                what="a restarted process")
    assert info["status"] == "running"
    assert any(line.startswith("--- restart #1 at ") for line in om.logs(name))
    om("stop", name)


def test_backoff_doubles_each_restart_up_to_the_cap(om: Overmind, name: str) -> None:
    om.run("echo run; exit 1", "--name", name, "--restart", "on-failure", "--backoff", "1s",
           "--backoff-max", "2.5s", "--max-restarts", "4", "--max-seconds", "600")
    om("wait", name, "--timeout", "60000", check=False)
    lines = [json.loads(line) for line in om("logs", name, "--json").stdout.splitlines()]
    starts = [datetime.fromisoformat(entry["time"]).timestamp() for entry in lines if entry["message"] == "run"]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(gaps) == 4
    # Delays 1, 2, 2.5 (capped), 2.5, each plus the hooks' own time (a few tenths of a second on a busy
    # machine). systemd never restarts sooner than asked, so each gap's lower bound shows the growth
    # (a fixed 1 s delay could not reach 2 s) and its upper bound the cap (uncapped would be 4 s, 8 s).
    for gap, delay in zip(gaps, (1.0, 2.0, 2.5, 2.5), strict=True):
        assert delay <= gap < delay + 1.0, gaps


def test_ps_shows_restarting_during_backoff_and_stop_cancels_it(om: Overmind, name: str) -> None:
    om.run("exit 1", "--name", name, "--restart", "always", "--backoff", "1", "--backoff-max", "60s")
    must(lambda: (info := om.info(name))["restarts"] >= 2 and info["status"] == "restarting", timeout=20,
         what="a pending restart")
    om("stop", name)
    assert om.status(name) == "stopped"
    restarts = om.info(name)["restarts"]
    assert json.loads(om("wait", name, "--json", check=False).stdout)["status"] == "stopped"
    assert om.info(name)["restarts"] == restarts


def test_restart_markers_are_in_the_journal(om: Overmind, name: str) -> None:
    unit = om.run("exit 1", "--name", name, "--restart", "on-failure", "--max-restarts", "2")["unit"]
    om("wait", name, check=False)
    text = om.systemctl("show", "-p", "Id", unit).stdout  # the unit is still loaded (failed)
    assert unit in text
    journal = os.popen(f"journalctl --no-pager -o cat -t {unit.removesuffix('.service')}").read()
    assert re.findall(r"--- restart #(\d) at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC ---", journal) == ["1", "2"]


def test_a_silent_mission_is_killed_and_restarted(om: Overmind, name: str) -> None:
    om.run("echo start; sleep 60", "--name", name, "--activity-timeout", "1", "--restart", "on-failure",
           "--max-restarts", "1")
    info = json.loads(om("wait", name, "--json", "--timeout", "20000", check=False).stdout)
    assert info["status"] == "crashed"
    assert info["reason"].endswith("no activity")
    assert om.logs(name).count("--- killed: no activity for 1s ---") == 2
    assert om.logs(name).count("start") == 2


def test_a_chatty_mission_is_not_killed_by_the_watchdog(om: Overmind, name: str) -> None:
    # Silent for 0.5 s at a time: never the 3 s the watchdog allows.
    om.run("for i in 1 2 3 4 5 6 7 8 9 10; do echo tick $i; sleep 0.5; done", "--name", name,
           "--activity-timeout", "3")
    assert om("wait", name).stdout == "finished: stopped, exit code 0\n"


def test_the_wrapper_relays_output_byte_exact(om: Overmind, name: str) -> None:
    long_line = "x" * 5000
    om.run(f"printf 'a\\tb\\n{long_line}\\nno newline at the end'", "--name", name, "--activity-timeout", "5")
    om("wait", name)
    lines = om.logs(name)
    assert lines[:3] == ["a\tb", long_line, "no newline at the end"]


def test_wait_propagates_the_exit_code(om: Overmind, name: str) -> None:
    om.run("sleep 0.3; exit 42", "--name", name)
    proc = om("wait", name, check=False)
    assert (proc.returncode, proc.stdout) == (42, "finished: crashed (exit 42), exit code 42\n")


def test_wait_on_a_finished_mission_returns_at_once(om: Overmind, name: str) -> None:
    om.run("exit 7", "--name", name)
    om("wait", name, check=False)
    assert om("wait", name, check=False).returncode == 7


def test_wait_timeout_leaves_the_mission_running(om: Overmind, name: str) -> None:
    om.run("sleep 300", "--name", name)
    proc = om("wait", name, "--timeout", "300", check=False)
    assert proc.returncode == 124
    assert proc.stderr.startswith(f"overmind: timeout: {name} still running after 0.3s")
    assert om.status(name) == "running"
    om("stop", name)


def test_run_wait_exits_with_the_mission_code(om: Overmind, name: str) -> None:
    proc = om("run", "--name", name, "--wait", "echo hi; exit 5", check=False)
    assert proc.returncode == 5
    assert proc.stdout.splitlines()[-1] == "finished: crashed (exit 5), exit code 5"


def test_status_summarises_the_host(om: Overmind, name: str) -> None:
    om.run("sleep 30", "--name", name)
    status = om.json("status")
    assert status["systemd_version"].isdigit()
    assert status["user_manager_reachable"] is True
    assert status["journald_reachable"] is True
    assert status["missions"]["running"] >= 1
    om("stop", name)
