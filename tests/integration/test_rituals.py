"""Rituals: real timer and service files in the user's unit directory, run by the real user manager."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from overmind.rituals import unit_dir
from tests.helpers import Overmind, must, path_without, wait_until


@pytest.fixture
def ritual(om: Overmind, name: str) -> Iterator[str]:
    """A ritual name for this test; whatever the test leaves of it is removed."""
    yield name
    om("ritual", "rm", name, check=False)


def _units(om: Overmind, name: str) -> tuple[str, str]:
    base = f"{om.env['OVERMIND_UNIT_PREFIX']}-ritual-{name}"
    return f"{base}.timer", f"{base}.service"


def _state(om: Overmind, name: str) -> dict:
    return next(r for r in om.json("rituals") if r["name"] == name)


def _settled(om: Overmind, name: str) -> dict:
    """The ritual's state once its service is idle (no run, and no start being decided)."""
    service = _units(om, name)[1]
    must(lambda: om.unit_property(service, "ActiveState") in ("inactive", "failed"), what="the last run to end")
    return _state(om, name)


def _listing(om: Overmind) -> set[str]:
    """This test run's files in the unit directory (other runs may share it)."""
    directory = unit_dir()
    prefix = om.env["OVERMIND_UNIT_PREFIX"]
    return {str(p.relative_to(directory)) for p in directory.rglob(f"{prefix}-*")} if directory.exists() else set()


def _calendar_in(seconds: int) -> str:
    """A calendar expression that elapses once, `seconds` from now."""
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _log_lines(om: Overmind, name: str) -> list[dict]:
    return [json.loads(line) for line in om("ritual", "logs", name, "--json").stdout.splitlines()]


def test_an_every_ritual_fires_again_and_again_and_logs_each_run(om: Overmind, ritual: str) -> None:
    om("ritual", "add", ritual, "--every", "2s", 'echo "tick from $OVERMIND_RITUAL_NAME"')
    must(lambda: _state(om, ritual)["runs"] >= 2, 20, "two runs")
    assert (state := _state(om, ritual))["enabled"] and state["schedule"] == "every 2s"
    om("ritual", "disable", ritual)  # hold still for the reading
    state = _settled(om, ritual)
    assert (state["last_result"], state["skipped"], state["last_exit_code"]) == ("ok", 0, 0)
    lines = _log_lines(om, ritual)
    assert [line["message"] for line in lines if line["run"] == 1] == [
        f"tick from {ritual}", "--- exited with code 0 ---"]
    assert {1, 2} <= {line["run"] for line in lines}, json.dumps([lines, state])
    text = om("ritual", "logs", ritual, "--runs", "1").stdout.splitlines()
    assert text[0].startswith(f"=== run {state['runs']} · ")
    assert text[1].endswith(f" tick from {ritual}")


def test_ritual_logs_follow_attributes_new_runs_as_they_come(om: Overmind, ritual: str) -> None:
    om("ritual", "add", ritual, "--every", "1s", "echo tick")
    follower = subprocess.Popen([sys.executable, "-m", "overmind", "ritual", "logs", ritual, "-f", "--json"],
                                env=om.env, stdout=subprocess.PIPE)
    seen: list[dict] = []
    pending = b""
    try:
        assert follower.stdout is not None
        deadline = time.monotonic() + 20
        while not any(line["run"] == 2 and line["message"].startswith("--- exited") for line in seen):
            assert time.monotonic() < deadline, f"timed out following: {seen}"
            if select.select([follower.stdout], [], [], 0.5)[0]:
                *complete, pending = (pending + os.read(follower.stdout.fileno(), 65536)).split(b"\n")
                seen += [json.loads(line) for line in complete]
    finally:
        follower.kill()
        follower.wait()
    assert [(line["run"], line["message"]) for line in seen[:4]] == [
        (1, "tick"), (1, "--- exited with code 0 ---"), (2, "tick"), (2, "--- exited with code 0 ---")]


def test_ritual_run_starts_it_now_with_the_command_and_environment_intact(om: Overmind, ritual: str) -> None:
    hostile = """x "q" 'y' 100% $HOME \\ back\nslash"""
    om("ritual", "add", ritual, "--on-calendar", "2099-01-01", "--env", f"HOSTILE={hostile}", "--",
       "printf", "%s|%s\\n", "$HOSTILE; echo injected", "a\nb")
    om("ritual", "run", ritual)
    must(lambda: _state(om, ritual)["runs"] == 1 and not _state(om, ritual)["running"], what="the run")
    om("ritual", "add", ritual, "--replace", "--on-calendar", "2099-01-01", "--env", f"HOSTILE={hostile}",
       'printf "%s\\n" "$HOSTILE"')
    om("ritual", "run", ritual)
    must(lambda: _state(om, ritual)["runs"] == 2 and not _state(om, ritual)["running"], what="the second run")
    messages = [line["message"] for line in _log_lines(om, ritual)]
    assert messages[:2] == ["$HOSTILE; echo injected|a", "b"]
    assert messages[3:5] == ["""x "q" 'y' 100% $HOME \\ back""", "slash"]


def test_a_running_ritual_is_not_started_twice_by_hand(om: Overmind, ritual: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    om("ritual", "add", ritual, "--on-calendar", "2099-01-01", f"while [ ! -e {gate} ]; do sleep 0.05; done")
    om("ritual", "run", ritual)
    must(lambda: _state(om, ritual)["running"], what="the run to start")
    again = om("ritual", "run", ritual, check=False)
    assert (again.returncode, again.stderr.splitlines()[0]) == (1, f"overmind: ritual '{ritual}' is already running")
    gate.touch()


def test_disable_stops_further_runs_and_enable_resumes_them(om: Overmind, ritual: str) -> None:
    timer, _ = _units(om, ritual)
    om("ritual", "add", ritual, "--every", "1s", "true")
    must(lambda: _state(om, ritual)["runs"] >= 1, 10, "a first run")
    om("ritual", "disable", ritual)
    assert om.unit_property(timer, "UnitFileState") == "disabled"
    assert om.unit_property(timer, "ActiveState") == "inactive"
    state = _settled(om, ritual)
    assert (state["enabled"], state["next_run_at"]) == (False, None)
    assert wait_until(lambda: _state(om, ritual)["runs"] > state["runs"], 3.5) is None, "ran while disabled"
    om("ritual", "enable", ritual)
    must(lambda: _state(om, ritual)["runs"] > state["runs"], 10, "a run after enable")


def test_rm_deletes_exactly_its_files(om: Overmind, ritual: str) -> None:
    timer, service = _units(om, ritual)
    before = _listing(om)
    om("ritual", "add", ritual, "--on-calendar", "daily", "--persistent", "true")
    assert _listing(om) - before >= {timer, service, f"timers.target.wants/{timer}"}
    removed = json.loads(om("ritual", "rm", ritual, "--json").stdout)["removed"]
    assert sorted(Path(p).name for p in removed) == sorted([timer, service])
    assert _listing(om) - before == set()
    assert om.unit_property(timer, "LoadState") == "not-found"
    assert not (Path.home() / ".local/share/systemd/timers" / f"stamp-{timer}").exists()
    gone = om("ritual", "rm", ritual, check=False)
    assert gone.stderr.splitlines()[0] == f"overmind: no ritual named '{ritual}'"


def test_a_users_own_unit_file_of_the_same_name_is_never_touched(om: Overmind, ritual: str) -> None:
    timer, service = _units(om, ritual)
    own = unit_dir() / service
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("[Service]\nExecStart=/bin/true\n")
    try:
        before = _listing(om)
        added = om("ritual", "add", ritual, "--every", "1h", "true", check=False)
        assert added.returncode == 1
        expected = f"overmind: {own} exists and was not written by overmind; it is left as it is"
        assert added.stderr.splitlines()[0] == expected
        assert own.read_text() == "[Service]\nExecStart=/bin/true\n"
        assert _listing(om) == before
        (unit_dir() / timer).write_text("[Timer]\nOnCalendar=daily\n")
        removed = om("ritual", "rm", ritual, check=False)
        assert removed.returncode == 1 and "was not written by overmind" in removed.stderr
        assert (unit_dir() / timer).read_text() == "[Timer]\nOnCalendar=daily\n"
    finally:
        own.unlink(missing_ok=True)
        (unit_dir() / timer).unlink(missing_ok=True)


@pytest.mark.parametrize("expression", ["bogus", "2001-01-01", "daily\nExecStart=/bin/false", "Mon..Fri 25:00"])
def test_a_bad_calendar_expression_is_refused_and_writes_nothing(om: Overmind, ritual: str, expression: str) -> None:
    before = _listing(om)
    proc = om("ritual", "add", ritual, "--on-calendar", expression, "true", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("overmind: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert _listing(om) == before


def test_add_shows_the_next_three_elapses_the_timer_then_keeps(om: Overmind, ritual: str) -> None:
    added = json.loads(om("ritual", "add", ritual, "--json", "--on-calendar", "Mon..Fri 09:00", "--randomized-delay",
                          "0.5s", "true").stdout)
    elapses = [datetime.fromtimestamp(at) for at in added["next_elapses"]]
    assert len(elapses) == 3 and elapses == sorted(elapses)
    assert all(e.weekday() < 5 and (e.hour, e.minute) == (9, 0) for e in elapses)
    assert added["schedule"] == "Mon..Fri *-*-* 09:00:00"
    next_run = _state(om, ritual)["next_run_at"]
    assert added["next_elapses"][0] <= next_run <= added["next_elapses"][0] + 0.5
    human = om("ritual", "add", ritual, "--replace", "--on-calendar", "Mon..Fri 09:00", "--randomized-delay", "0.5s",
               "true").stdout.splitlines()
    assert human[0] == f"unchanged: ritual {ritual}, Mon..Fri *-*-* 09:00:00 ({_units(om, ritual)[0]})"
    assert human[1].startswith("next runs: ") and human[1].count(",") == 2


def test_a_ritual_name_is_refused_twice_without_replace(om: Overmind, ritual: str) -> None:
    om("ritual", "add", ritual, "--every", "1h", "true")
    again = om("ritual", "add", ritual, "--every", "2h", "true", check=False)
    assert again.stderr.splitlines() == [f"overmind: ritual '{ritual}' already exists",
                                        f"(overmind ritual rm {ritual}, or add it again with --replace)"]
    om("ritual", "add", ritual, "--replace", "--every", "2h", "true")
    assert _state(om, ritual)["schedule"] == "every 2h"


def test_persistent_catches_up_on_a_run_missed_while_the_machine_was_off(om: Overmind, ritual: str) -> None:
    timer, _ = _units(om, ritual)
    om("ritual", "add", ritual, "--on-calendar", "daily", "--persistent", "echo caught up")
    assert "Persistent=true" in (unit_dir() / timer).read_text().splitlines()
    om("ritual", "disable", ritual)  # the machine goes down...
    stamp = Path.home() / ".local/share/systemd/timers" / f"stamp-{timer}"
    two_days_ago = time.time() - 2 * 86400
    os.utime(stamp, (two_days_ago, two_days_ago))  # ...and stays off past midnight
    assert _state(om, ritual)["runs"] == 0
    om("ritual", "enable", ritual)  # back up: systemd sees the missed elapse in the stamp
    must(lambda: _state(om, ritual)["runs"] == 1, what="the catch-up run")
    assert "caught up" in [line["message"] for line in _log_lines(om, ritual)]


def test_overlap_skip_drops_the_run_due_while_the_previous_one_still_runs(om: Overmind, ritual: str,
                                                                           tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    om("ritual", "add", ritual, "--every", "1s", f"while [ ! -e {gate} ]; do sleep 0.05; done")
    must(lambda: _state(om, ritual)["last_result"] == "skipped: still running", 10, "the overdue run")
    gate.touch()
    must(lambda: _state(om, ritual)["skipped"] >= 1, 10, "the skip to be recorded")
    assert any(line["message"].startswith("--- skipped: the run due at ") for line in _log_lines(om, ritual))
    table = om("rituals").stdout
    assert " skipped)" in table


@pytest.mark.parametrize("overlap,runs,skipped", [("queue", 2, 0), ("skip", 1, 1)])
def test_overlap_policy_for_an_elapse_during_a_run_started_by_hand(om: Overmind, ritual: str, tmp_path: Path,
                                                                   overlap: str, runs: int, skipped: int) -> None:
    gate = tmp_path / "gate"
    om("ritual", "add", ritual, "--on-calendar", _calendar_in(4), "--overlap", overlap,
       f"echo run; while [ ! -e {gate} ]; do sleep 0.05; done")
    om("ritual", "run", ritual)
    label = "queued: still running" if overlap == "queue" else "skipped: still running"
    must(lambda: _state(om, ritual)["last_result"] == label, 10, "the elapse during the run")
    gate.touch()
    must(lambda: (s := _state(om, ritual))["runs"] == runs and s["skipped"] == skipped and not s["running"],
         10, f"{runs} runs and {skipped} skipped")


def test_rituals_table_fits_the_terminal(om: Overmind, ritual: str) -> None:
    om("ritual", "add", ritual, "--every", "1h", "echo " + "x" * 300)
    lines = Overmind(om.env | {"COLUMNS": "80"})("rituals").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "SCHEDULE", "NEXT", "LAST", "RESULT", "RUNS", "COMMAND"]
    assert all(len(line) <= 80 for line in lines)
    names_and_schedules = [line.split()[:4] for line in om("rituals").stdout.splitlines()]
    assert [line.split()[:4] for line in om("ritual", "ls").stdout.splitlines()] == names_and_schedules


@pytest.mark.parametrize("args,message", [
    (["../evil", "--every", "1h", "true"], "invalid ritual name"),
    (["ok", "true"], "a ritual needs exactly one of --on-calendar and --every"),
    (["ok", "--every", "1h", "--on-calendar", "daily", "true"], "a ritual needs exactly one"),
    (["ok", "--every", "soon", "true"], "invalid --every interval"),
    (["ok", "--every", "1h", "--persistent", "true"], "--persistent needs --on-calendar"),
    (["ok", "--every", "1h", "--provider", "claude", "review the code"], "claude is not installed"),
])
def test_bad_ritual_options_are_one_line_errors_that_write_nothing(om: Overmind, args: list[str],
                                                                   message: str) -> None:
    before = _listing(om)
    # A machine may have claude installed: the missing-CLI case gets a PATH without it.
    without_claude = Overmind(om.env | {"PATH": path_without("claude")})
    proc = without_claude("ritual", "add", *args, check=False)
    assert proc.returncode != 0
    assert proc.stderr.startswith("overmind: ") and message in proc.stderr.splitlines()[0], proc.stderr
    assert _listing(om) == before
