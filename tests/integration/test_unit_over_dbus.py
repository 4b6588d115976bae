"""`run` creates its unit over D-Bus, not with systemd-run: the unit must be the very one
systemd-run makes from the same arguments (the same unit file, the same properties), and a
blocking start must wait for what the unit is ordered after, as systemd-run does."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from overmind.mission.spec import Limits, MissionSpec, RestartPolicy
from overmind.mission.units import transient_unit_args
from overmind.systemd import bus, manager
from overmind.systemd.transient import Property, unit_from_run_args
from tests.helpers import must

# What differs between two runs of one unit whatever made them: times, processes, cgroup numbers.
_VOLATILE = re.compile(r"Timestamp|PID$|InvocationID|ControlGroupId|^Memory(Current|Available)$|^CPUUsageNSec$|"
                       r"^TasksCurrent$|^IOReadBytes|^IOWriteBytes|^NRestarts$|^StatusText$|^Job$")
_DEPENDENCIES = ("Requires", "Requisite", "Wants", "BindsTo", "PartOf", "Conflicts", "Before", "After",
                 "RequiredBy", "WantedBy", "BoundBy", "ConsistsOf", "References", "ReferencedBy")
_PROCESS_FIELDS = re.compile(r"\b(start_time|stop_time|pid|code|status)=[^;}]*")  # of an Exec*= run


@pytest.fixture
def prefix(run_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("XDG_RUNTIME_DIR", run_env["XDG_RUNTIME_DIR"])
    return f"{run_env['OVERMIND_UNIT_PREFIX']}-bus{secrets.token_hex(2)}"


def _systemctl(*args: str) -> str:
    return subprocess.run(["systemctl", "--user", "--no-pager", *args], env=manager.user_env(), capture_output=True,
                          text=True).stdout


def _state(unit: str) -> str:
    return _systemctl("show", "-p", "SubState", "--value", unit).strip()


def _unit_file(unit: str) -> str:
    text = (Path(manager.runtime_dir()) / "systemd" / "transient" / unit).read_text()
    return text.replace(unit.removesuffix(".service"), "UNIT").replace(_mission_id(unit), "ID")


def _mission_id(unit: str) -> str:
    return unit.removesuffix(".service").rpartition("-")[2] * 4


def _properties(unit: str) -> dict[str, str]:
    shown = dict(line.split("=", 1) for line in _systemctl("show", unit).splitlines() if "=" in line)
    name = unit.removesuffix(".service")
    properties = {key: _PROCESS_FIELDS.sub("", value).replace(name, "UNIT").replace(_mission_id(unit), "ID")
                  for key, value in shown.items() if not _VOLATILE.search(key)}
    for key in _DEPENDENCIES:  # sets, listed in no particular order
        properties[key] = " ".join(sorted(properties.get(key, "").split()))
    return properties


def _both_ways(prefix: str, spec: MissionSpec, extra: dict[str, str], slice_name: str, state: Path) -> tuple[str, str]:
    made = []
    for way in ("run", "bus"):
        unit = f"{prefix}-{way}.service"
        args = [f"--slice={slice_name}", *transient_unit_args(spec, _mission_id(unit), f"{prefix}-{way}", unit,
                                                              str(state), extra_properties=extra)]
        if way == "run":
            subprocess.run(["systemd-run", "--user", "--quiet", "--no-block", *args], env=manager.user_env(),
                           check=True)
        else:
            bus.start_transient_unit(unit_from_run_args(args))
        made.append(unit)
    return made[0], made[1]


SPECS = {
    "plain": (MissionSpec(command="sleep 30", cwd="/tmp"), {}),
    "limits, restarts, watchdog and an odd command": (
        MissionSpec(command="echo '$HOME' \"%n\" \\; ; sleep 30", cwd="/tmp", env={"A": "b c", "Q": "'\"$x"},
                    limits=Limits(memory_max=2**30, cpu_quota=150, tasks_max=90, timeout=90),
                    restart=RestartPolicy("on-failure", max_restarts=2, max_seconds=30, backoff=0.5),
                    activity_timeout=30, stop_timeout=3), {}),
    "always restarting, never giving up": (
        MissionSpec(command="sleep 30", cwd="/tmp", restart=RestartPolicy("always", backoff=1, backoff_max=8)), {}),
    "a session under its wrapper, with a watchdog": (
        MissionSpec(command="bash -i", cwd="/tmp", type="session", activity_timeout=60), {}),
    "bound to services, after its setup": (
        MissionSpec(command="sleep 30", cwd="/tmp"),
        {"BindsTo": "{p}-svc-a.service {p}-svc-b.service", "Requires": "{p}-setup.service",
         "After": "{p}-svc-a.service {p}-svc-b.service {p}-setup.service", "Slice": "{p}-x.slice"}),
}


@pytest.mark.parametrize("case", SPECS)
def test_a_unit_made_over_dbus_is_the_unit_systemd_run_makes(prefix: str, case: str, tmp_path: Path) -> None:
    spec, extra = SPECS[case]
    extra = {key: value.replace("{p}", prefix) for key, value in extra.items()}
    services = [f"{prefix}-svc-a.service", f"{prefix}-svc-b.service", f"{prefix}-setup.service"]
    for unit in services if extra else []:  # what the mission's unit binds to, running
        subprocess.run(["systemd-run", "--user", "--quiet", f"--unit={unit}", "sleep", "30"], env=manager.user_env(),
                       check=True)
    slice_name = prefix.replace("-", "\\x2d") + ".slice"
    by_run, by_bus = _both_ways(prefix, spec, extra, slice_name, tmp_path)
    try:
        # A session's wrapper finds no such mission in the store and ends: both units fail alike.
        must(lambda: _state(by_run) == _state(by_bus) and _state(by_run) in ("running", "failed", "dead"),
             what="both units settled alike")
        assert _unit_file(by_bus) == _unit_file(by_run)
        assert _properties(by_bus) == _properties(by_run)
    finally:
        _systemctl("stop", by_run, by_bus, *services, slice_name)
        _systemctl("reset-failed", by_run, by_bus, *services)


def _after_setup(prefix: str, *setup_command: str) -> tuple[str, tuple[str, list[Property]]]:
    """A oneshot setup unit running `setup_command` (started), and a unit that requires it and
    starts after it (to be created)."""
    setup = f"{prefix}-setup.service"
    unit = (f"{prefix}-main.service", [("After", "as", [setup]), ("Requires", "as", [setup]),
                                       ("ExecStart", "a(sasb)", [("/bin/sleep", ["/bin/sleep", "30"], False)])])
    subprocess.run(["systemd-run", "--user", "--quiet", "--no-block", f"--unit={setup}", "--service-type=oneshot",
                    *setup_command], env=manager.user_env(), check=True)
    return setup, unit


def test_a_blocking_start_returns_once_what_the_unit_is_ordered_after_has_started(prefix: str) -> None:
    setup, unit = _after_setup(prefix, "sleep", "1")
    try:
        started = time.monotonic()
        bus.start_transient_unit(unit, block=True)
        assert time.monotonic() - started >= 0.8
        assert _systemctl("show", "-p", "ActiveState", "--value", unit[0]).strip() == "active"
    finally:
        _systemctl("stop", unit[0], setup)


def test_a_blocking_start_fails_when_what_it_requires_fails(prefix: str) -> None:
    setup, unit = _after_setup(prefix, "sh", "-c", "sleep 0.3; exit 3")
    try:
        with pytest.raises(bus.JobFailed, match="a unit it depends on failed") as failed:
            bus.start_transient_unit(unit, block=True)
        assert failed.value.result == "dependency"
    finally:
        _systemctl("stop", unit[0], setup)
        _systemctl("reset-failed", unit[0], setup)


def test_a_unit_name_in_use_is_refused_as_existing(prefix: str) -> None:
    unit = (f"{prefix}-twice.service", [("ExecStart", "a(sasb)", [("/bin/sleep", ["/bin/sleep", "30"], False)])])
    bus.start_transient_unit(unit)
    try:
        with pytest.raises(bus.Refused) as refused:
            bus.start_transient_unit(unit)
        assert refused.value.exists
    finally:
        _systemctl("stop", unit[0])


def test_the_users_bus_serves_when_the_managers_private_socket_does_not(prefix: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from overmind.systemd import wire

    real = wire.Connection.__init__

    def bus_only(self: wire.Connection, path: str, hello: bool, timeout: float) -> None:
        if not hello:
            raise FileNotFoundError(path)
        real(self, path, hello, timeout)

    monkeypatch.setattr(wire.Connection, "__init__", bus_only)
    setup, unit = _after_setup(prefix, "sleep", "0.5")
    try:
        bus.start_transient_unit(unit, block=True)
        assert _systemctl("show", "-p", "ActiveState", "--value", setup).strip() == "inactive"  # ran, finished
        assert _systemctl("show", "-p", "ActiveState", "--value", unit[0]).strip() == "active"
    finally:
        _systemctl("stop", unit[0], setup)


def test_the_managers_version_comes_over_dbus(prefix: str) -> None:
    """What decides systemd's own restart backoff (254+) against the run hook's."""
    assert bus.manager_version() == manager.version_number() > 0  # one systemd here: client and manager agree
