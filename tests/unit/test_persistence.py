"""The persistent form of a mission's unit (a unit file from systemd-run's arguments), and which
missions an earlier manager's end left `lost at reboot`."""

from __future__ import annotations

import time

import pytest

from overmind.control import persist
from overmind.errors import OvermindError
from overmind.mission.status import Status
from overmind.store import Exit, Mission
from overmind.systemd.persistent import unit_file_from_run_args
from overmind.systemd.unitfiles import MARKER

ARGS = ["--slice=a\\x2db.slice", "--unit=om@build.service", "--description=overmind mission build: echo 100%",
        "--working-directory=/src/100%", "--property=Type=exec", "--property=StartLimitBurst=3",
        "--property=CPUQuota=150%", "--property=BindsTo=om-svc@build.db.service",
        "--property=ExecStartPre=-/bin/sh \"/x/run.sh\" start", "--setenv=A=$HOME \"quoted\" 50%",
        "--", "/bin/sh", "-c", "echo $HOME %n"]


def _sections(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            found[current] = []
        elif line and current:
            found[current].append(line)
    return found


def test_a_unit_file_holds_what_systemd_run_would_set_each_in_its_section() -> None:
    name, text = unit_file_from_run_args(ARGS, host="0" * 32)
    assert name == "om@build.service" and text.splitlines()[0] == MARKER
    sections = _sections(text)
    assert sections["Unit"] == ["Description=overmind mission build: echo 100%%", "StartLimitBurst=3",
                                "BindsTo=om-svc@build.db.service", f"ConditionHost={'0' * 32}"]
    assert sections["Service"] == [
        "Type=exec", "CPUQuota=150%", 'ExecStartPre=-/bin/sh "/x/run.sh" start', "Slice=a\\x2db.slice",
        "WorkingDirectory=/src/100%%", 'Environment="A=$HOME \\"quoted\\" 50%%"',
        'ExecStart="/bin/sh" "-c" "echo $$HOME %%n"']
    assert sections["Install"] == ["WantedBy=default.target"]


def test_a_value_that_would_add_a_line_to_the_unit_file_is_refused() -> None:
    with pytest.raises(OvermindError, match="control character"):
        unit_file_from_run_args(["--unit=om@x.service", "--working-directory=/tmp/a\n[Service]", "--", "true"])


def _mission(persisted: bool = False, exit: Exit | None = None, **fields: object) -> Mission:
    base: dict[str, object] = dict(
        id="0123abcd", name="m", unit="u.service", type="task", provider="raw", command="true", cwd="/", parent=None,
        spec={"persist": persisted}, created_at=time.time() - 600, killed_at=None, stop_requested_at=None,
        last_exit=exit, exit_count=1 if exit else 0, run_started_at=None if exit else time.time() - 590)
    base.update(fields)
    return Mission(**base)  # type: ignore[arg-type]


GONE = Status("unknown", "unit gone without an exit record")
TERMINATED = Exit(time.time() - 300, "success", "killed", "TERM", False, started_at=time.time() - 590)


@pytest.fixture
def manager_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user manager that started 100 s ago: every run above began under an earlier one."""
    monkeypatch.setattr(persist.bus, "manager_started_at", lambda: time.time() - 100)
    monkeypatch.setattr(persist, "_manager_start", (0.0, None))


def test_a_run_an_earlier_manager_ended_is_lost_at_reboot(manager_started: None) -> None:
    assert persist.after_reboot(_mission(), GONE).label == "lost at reboot"
    stopped = Status("stopped", exit_code=143)
    assert persist.after_reboot(_mission(exit=TERMINATED), stopped) == persist.LOST


def test_what_ended_by_itself_or_by_request_or_comes_back_is_not_lost(manager_started: None) -> None:
    exited = Exit(time.time() - 300, "exit-code", "exited", "3", False, started_at=time.time() - 590)
    crashed = Status("crashed", "exit 3", 3)
    assert persist.after_reboot(_mission(exit=exited), crashed) == crashed
    assert persist.after_reboot(_mission(persisted=True), GONE) == GONE
    assert persist.after_reboot(_mission(stop_requested_at=time.time() - 400), GONE) == GONE
    assert persist.after_reboot(_mission(run_started_at=time.time() - 10), GONE) == GONE  # under this manager


def test_a_persisted_mission_the_boot_skips_is_interrupted_by_reboot(manager_started: None) -> None:
    skipped = _mission(spec={"persist": True, "on_boot": "skip"})
    assert persist.after_reboot(skipped, GONE) == persist.INTERRUPTED
    assert persist.INTERRUPTED.label == "interrupted by reboot" and persist.INTERRUPTED.finished
    later = _mission(spec={"persist": True, "on_boot": "skip"}, run_started_at=time.time() - 10)
    assert persist.after_reboot(later, GONE) == GONE  # it ran under this manager: not the boot's doing


def test_on_boot_skip_is_for_a_persisted_mission_only() -> None:
    from overmind.errors import OvermindError
    from overmind.mission.spec import MissionSpec

    assert MissionSpec("true", persist=True, on_boot="skip").to_record()["on_boot"] == "skip"
    for bad in ({"on_boot": "skip"}, {"persist": True, "on_boot": "later"}):
        with pytest.raises(OvermindError):
            MissionSpec("true", **bad)  # type: ignore[arg-type]


def test_a_session_is_persisted_unless_asked_not_to_and_a_task_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from overmind.mission.build import build_spec

    monkeypatch.delenv("OVERMIND_PERSIST_SESSIONS", raising=False)
    assert build_spec(["cat"], type="session").persist is True
    assert build_spec(["cat"], type="session", persist=False).persist is False
    assert build_spec(["true"]).persist is False and build_spec(["true"], type="quest").persist is False
    assert build_spec(["true"], persist=True).persist is True
    monkeypatch.setenv("OVERMIND_PERSIST_SESSIONS", "0")
    assert build_spec(["cat"], type="session").persist is False
