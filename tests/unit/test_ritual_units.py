"""A ritual's unit files: what the templates make of a spec, and what overmind reads back."""

from __future__ import annotations

from pathlib import Path

import pytest

from overmind.errors import OvermindError
from overmind.hooks.ritual import missed_elapse
from overmind.mission.spec import Limits, MissionSpec, RestartPolicy
from overmind.rituals import unitfiles
from overmind.rituals.model import RitualSpec
from overmind.rituals.schedule import Schedule
from overmind.store import Exit, RitualRun


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("OVERMIND_UNIT_PREFIX", "omunit")


def _spec(tmp_path: Path, **changes) -> RitualSpec:
    mission = MissionSpec(command=changes.pop("command", "echo hi"), cwd=str(tmp_path), env=changes.pop("env", {}),
                          limits=Limits(memory_max=1024, timeout=60))
    return RitualSpec(name="nightly", mission=mission, schedule=changes.pop("schedule", Schedule(every=3600)),
                      **changes)


def _lines(text: str) -> list[str]:
    return text.splitlines()


def test_both_files_begin_with_the_marker_and_the_timer_names_its_service(tmp_path: Path) -> None:
    files = unitfiles.render(_spec(tmp_path), 1.0, "/state")
    timer, service = files["omunit-ritual-nightly.timer"], files["omunit-ritual-nightly.service"]
    assert _lines(timer)[0] == _lines(service)[0] == unitfiles.MARKER
    assert "Unit=omunit-ritual-nightly.service" in _lines(timer)
    assert {"OnActiveSec=1h", "OnUnitActiveSec=1h", "AccuracySec=1s", "WantedBy=timers.target"} <= set(_lines(timer))
    assert "OnCalendar" not in timer and "[Install]" not in _lines(service)
    assert {"MemoryMax=1024", "RuntimeMaxSec=60s", "SyslogIdentifier=omunit-ritual-nightly",
            f"WorkingDirectory={tmp_path}"} <= set(_lines(service))


def test_calendar_rituals_carry_persistence_and_delay(tmp_path: Path) -> None:
    timer = unitfiles.render(_spec(tmp_path, schedule=Schedule(calendar="*-*-* 02:30:00"), persistent=True,
                                   randomized_delay=300), 1.0, "/state")["omunit-ritual-nightly.timer"]
    assert {"OnCalendar=*-*-* 02:30:00", "Persistent=true", "RandomizedDelaySec=5min"} <= set(_lines(timer))
    assert "OnUnitActiveSec" not in timer


def test_hostile_commands_and_values_stay_on_their_line_and_expand_nothing(tmp_path: Path) -> None:
    files = unitfiles.render(_spec(tmp_path, command='echo "%h" $HOME\n[Service]\nExecStart=/bin/evil',
                                   env={"V": 'a"b\\c%n\n[Install]'}), 1.0, "/state")
    service = _lines(files["omunit-ritual-nightly.service"])
    assert not any(line.startswith(("ExecStart=/bin/evil", "[Install]")) for line in service)
    assert 'Environment="V=a\\"b\\\\c%%n\\n[Install]"' in service
    start = next(line for line in service if line.startswith("ExecStart="))
    assert start == 'ExecStart="/bin/sh" "-c" "echo \\"%%h\\" $$HOME\\n[Service]\\nExecStart=/bin/evil"'


def test_a_trailing_backslash_cannot_continue_a_line(tmp_path: Path) -> None:
    service = _lines(unitfiles.render(_spec(tmp_path, command="echo \\"), 1.0, "/s")["omunit-ritual-nightly.service"])
    assert "Description=overmind ritual nightly: echo" in service
    odd = tmp_path / "dir\\"
    odd.mkdir()
    with pytest.raises(OvermindError, match="cannot be written into a unit file"):
        unitfiles.render(RitualSpec("n", MissionSpec(command="true", cwd=str(odd)), Schedule(every=60)), 1.0, "/s")


def test_the_overlap_policy_decides_the_gate(tmp_path: Path) -> None:
    skip = unitfiles.render(_spec(tmp_path), 1.0, "/s")["omunit-ritual-nightly.service"]
    queue = unitfiles.render(_spec(tmp_path, overlap="queue"), 1.0, "/s")["omunit-ritual-nightly.service"]
    assert "ExecCondition=" in skip and '"gate" "omunit-ritual-nightly.service" "--every=3600"' in skip
    assert "ExecCondition=" not in queue and '"--overlap=queue"' in queue


def test_what_is_written_reads_back(tmp_path: Path) -> None:
    spec = _spec(tmp_path, schedule=Schedule(calendar="daily"), persistent=True, origin="blueprint:team")
    paths = unitfiles.write(unitfiles.render(spec, 42.0, "/state"))
    ritual = unitfiles.read(paths[0])
    assert ritual is not None
    assert (ritual.name, ritual.schedule, ritual.persistent, ritual.origin, ritual.created_at, ritual.command) == (
        "nightly", Schedule(calendar="daily"), True, "blueprint:team", 42.0, "echo hi")
    assert [p.name for p in ritual.files] == ["omunit-ritual-nightly.timer", "omunit-ritual-nightly.service"]
    assert unitfiles.installed("omunit-ritual-*.timer") == [ritual]


def test_foreign_files_are_neither_overwritten_nor_removed(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    files = unitfiles.render(spec, 1.0, "/state")
    own = Path(tmp_path / "config/systemd/user/omunit-ritual-nightly.service")
    own.parent.mkdir(parents=True)
    own.write_text("[Service]\nExecStart=/bin/true\n")
    with pytest.raises(OvermindError, match="was not written by overmind"):
        unitfiles.write(files)
    assert unitfiles.remove([own]) == []
    assert own.read_text() == "[Service]\nExecStart=/bin/true\n"
    assert not own.with_suffix(".timer").exists()
    assert unitfiles.read(own) is None


@pytest.mark.parametrize("changes,message", [
    ({"overlap": "later"}, "unknown overlap policy"),
    ({"persistent": True}, "--persistent needs --on-calendar"),
    ({"schedule": Schedule()}, "exactly one schedule"),
    ({"randomized_delay": -1}, "must be positive"),
])
def test_inconsistent_ritual_specs_are_refused(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(OvermindError, match=message):
        _spec(tmp_path, **changes)


def test_rituals_do_not_restart(tmp_path: Path) -> None:
    mission = MissionSpec(command="true", cwd=str(tmp_path), restart=RestartPolicy(policy="on-failure"))
    with pytest.raises(OvermindError, match="rituals do not restart"):
        RitualSpec(name="n", mission=mission, schedule=Schedule(every=60))


def _run(start: float, end: float) -> RitualRun:
    return RitualRun(start, Exit(end, "success", "exited", "0", False))


def _skip(at: float) -> RitualRun:
    return RitualRun(None, Exit(at, "skipped", "", "", False))


def test_a_start_is_late_only_for_an_elapse_that_passed_during_the_previous_run() -> None:
    calendar = {"TimersCalendar": "{ OnCalendar=*-*-* *:*:00/5 ; next_elapse=@1000 }"}
    assert missed_elapse(calendar, [_run(990, 1003)], None) == 1000
    assert missed_elapse(calendar, [_run(990, 998)], None) is None
    assert missed_elapse({}, [_run(0, 10)], every=5) == 5
    assert missed_elapse({}, [_run(0, 4)], every=5) is None
    # after a skip, an --every timer counts from the skipped start: that next start is on time
    assert missed_elapse({}, [_run(0, 10), _skip(10.1)], every=5) is None
    assert missed_elapse(calendar, [], None) is None
