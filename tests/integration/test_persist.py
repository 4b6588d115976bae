"""Persistent missions (`run --persist`): one unit model, two ways to load it. The unit file the
manager loads at boot is the transient unit `run` creates, as systemd reports both."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from overmind.control import persist
from overmind.host import pid1_is_systemd
from overmind.mission.units import transient_unit_args
from overmind.systemd import bus, manager
from overmind.systemd.transient import unit_from_run_args
from tests.helpers import Overmind, must, reboot
from tests.integration.test_unit_over_dbus import SPECS, _properties, _state, _systemctl

# What only a unit file has: where it is, that it is enabled (and by what), the host it belongs to.
_FILE_ONLY = ("FragmentPath", "UnitFileState", "UnitFilePreset", "Transient", "WantedBy", "ConditionResult",
              "NeedDaemonReload")


@pytest.fixture
def prefix(run_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("XDG_RUNTIME_DIR", run_env["XDG_RUNTIME_DIR"])
    return f"{run_env['OVERMIND_UNIT_PREFIX']}-file{secrets.token_hex(2)}"


@pytest.mark.parametrize("case", SPECS)
def test_a_persisted_unit_file_loads_as_the_transient_unit_of_the_same_spec(prefix: str, case: str,
                                                                           tmp_path: Path) -> None:
    spec, extra = SPECS[case]
    spec = replace(spec, persist=True)
    extra = {key: value.replace("{p}", prefix) for key, value in extra.items()}
    services = [f"{prefix}-svc-a.service", f"{prefix}-svc-b.service", f"{prefix}-setup.service"]
    for unit in services if extra else []:
        subprocess.run(["systemd-run", "--user", "--quiet", f"--unit={unit}", "sleep", "30"], env=manager.user_env(),
                       check=True)
    slice_name = prefix.replace("-", "\\x2d") + ".slice"
    made = {}
    for way in ("bus", "file"):
        unit = f"{prefix}-{way}.service"
        mission_id = unit.removesuffix(".service").rpartition("-")[2] * 4  # as _properties reads it back
        args = [f"--slice={slice_name}", *transient_unit_args(spec, mission_id, f"{prefix}-{way}", unit, str(tmp_path),
                                                              extra_properties=extra)]
        if way == "bus":
            bus.start_transient_unit(unit_from_run_args(args))
        else:
            persist.start(args)
        made[way] = unit
    try:
        must(lambda: _state(made["bus"]) == _state(made["file"]) in ("running", "failed", "dead"),
             what="both units settled alike")
        transient, from_file = _properties(made["bus"]), _properties(made["file"])
        assert transient["Transient"] == "yes" and from_file["Transient"] == "no"
        assert from_file["UnitFileState"] == "enabled"
        # Once any reload has the manager read default.target's wants again, the target orders itself
        # after what it wants: Before=default.target, which only an enabled file can have.
        from_file["Before"] = " ".join(unit for unit in from_file["Before"].split() if unit != "default.target")
        assert {k: v for k, v in from_file.items() if k not in _FILE_ONLY} == \
            {k: v for k, v in transient.items() if k not in _FILE_ONLY}
    finally:
        _systemctl("stop", *made.values(), *services, slice_name)
        _systemctl("reset-failed", *made.values(), *services)
        persist.delete(made["file"])
        bus.reload()


@pytest.mark.disruptive
@pytest.mark.skipif(pid1_is_systemd() or os.geteuid() != 0, reason="the private host is for root without systemd")
@pytest.mark.skipif(os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1",
                    reason="restarts the shared user manager; set OVERMIND_TEST_HOST_RECOVERY=1 (make test does)")
def test_a_persisted_mission_comes_back_at_every_boot_and_one_that_was_not_is_lost_at_reboot(om: Overmind,
                                                                                          name: str) -> None:
    kept = om.run("echo run of $OVERMIND_MISSION_NAME; exec sleep 600", "--name", f"{name}-kept", "--persist")
    child = om.run("exec sleep 600", "--name", f"{name}-child", "--parent", kept["id"], "--persist")
    lost = om.run("exec sleep 600", "--name", f"{name}-lost")
    stopped = om.run("exec sleep 600", "--name", f"{name}-stopped", "--persist")
    done = om.run("echo finished by itself", "--name", f"{name}-done", "--persist")
    skipped = om.run("exec sleep 600", "--name", f"{name}-skip", "--persist", "--on-boot", "skip")
    assert om.info(kept["id"])["persist"] is True and om.info(lost["id"])["persist"] is False
    must(lambda: all(om.info(m["id"])["os_pid"] for m in (kept, child, lost, stopped, skipped)), what="all running")
    nest = om.unit_property(child["unit"], "Slice")  # the slice of kept's children
    assert kept["id"] in nest
    om("stop", stopped["id"])
    must(lambda: om.status(done["id"]) == "stopped", what="the task to finish")
    try:
        pids = [om.info(kept["id"])["os_pid"]]
        for boot in (1, 2, 3):
            reboot(om)
            must(lambda: om.status(kept["id"]) == "running" and om.info(kept["id"])["os_pid"] not in pids,
                 timeout=30, what="the persisted mission running again")
            pids.append(om.info(kept["id"])["os_pid"])
            must(lambda: om.status(child["id"]) == "running", timeout=30, what="the child running again")
            assert om.info(child["id"])["parent"] == kept["id"] and om.unit_property(child["unit"], "Slice") == nest
            # Any overmind command run while the host is down boots it again (another test run's
            # may, on a shared machine): that is a boot too, so count at least one per reboot.
            assert om.info(kept["id"])["boots"] >= boot
            assert om.info(lost["id"])["status"] == "lost" and om.info(lost["id"])["reason"] == "at reboot"
            assert om.info(stopped["id"])["status"] == "stopped"  # a person stopped it: it stays stopped
            assert om.unit_property(stopped["unit"], "LoadState") == "not-found"
            assert om.info(done["id"])["status"] == "stopped"  # it had finished: no boot runs it again
            assert om.logs(done["id"]).count("finished by itself") == 1
            assert (om.info(skipped["id"])["status"], om.info(skipped["id"])["reason"]) == ("interrupted", "by reboot")
        assert f"{name}-lost " in (listing := om.wide("ps")) and "lost at reboot" in listing
        assert "interrupted by reboot" in listing
        boots = om.info(kept["id"])["boots"]
        assert om.logs(kept["id"]).count(f"run of {name}-kept") == 1 + boots
        assert f"--- restarted by boot #{boots} ---" in om.logs(kept["id"])
        om("restart", lost["id"], skipped["id"])  # a person brings back what was lost or left
        must(lambda: om.status(lost["id"]) == "running" and om.status(skipped["id"]) == "running",
             what="the lost and the interrupted mission running again")
    finally:
        om("stop", kept["id"], child["id"], lost["id"], skipped["id"], check=False)
        om("gc", check=False)
    assert not persist.unit_path(kept["unit"]).exists() and not persist.wants_link(kept["unit"]).is_symlink()


def test_stop_and_gc_remove_a_persisted_missions_unit_file_and_nothing_else(om: Overmind, name: str) -> None:
    stopped = om.run("exec sleep 600", "--name", f"{name}-a", "--persist")
    ended = om.run("true", "--name", f"{name}-b", "--persist")
    files = [persist.unit_path(m["unit"]) for m in (stopped, ended)]
    assert all(path.exists() for path in files)
    assert persist.wants_link(stopped["unit"]).resolve() == files[0].resolve()
    assert om.unit_property(stopped["unit"], "UnitFileState") == "enabled"
    om("stop", stopped["id"])
    assert not files[0].exists() and not persist.wants_link(stopped["unit"]).is_symlink()
    assert files[1].exists()  # a persisted task that ended by itself keeps its file until gc
    must(lambda: om.status(ended["id"]) == "stopped", what="the task to end")
    om("gc")
    assert not files[1].exists() and not persist.wants_link(ended["unit"]).is_symlink()


def test_ps_counts_the_boots_of_a_persisted_mission_and_shows_a_dash_for_one_a_reboot_loses(om: Overmind,
                                                                                           name: str) -> None:
    persisted = om.run("exec sleep 600", "--name", f"{name}-p", "--persist")
    transient = om.run("exec sleep 600", "--name", f"{name}-t")
    try:
        header, *lines = om.wide("ps").splitlines()
        boots = header.split().index("BOOTS")
        cells = {line.split()[1]: line.split()[boots] for line in lines}
        assert (cells[f"{name}-p"], cells[f"{name}-t"]) == ("0", "-")
    finally:
        om("stop", persisted["id"], transient["id"])


def test_a_mission_persisted_to_be_skipped_at_boot_has_its_file_but_is_not_enabled(om: Overmind, name: str) -> None:
    mission = om.run("exec sleep 600", "--name", name, "--persist", "--on-boot", "skip")
    try:
        assert persist.unit_path(mission["unit"]).exists() and not persist.wants_link(mission["unit"]).is_symlink()
        assert om.unit_property(mission["unit"], "UnitFileState") == "disabled"
        info = om.info(mission["id"])
        assert (info["persist"], info["on_boot"], info["status"]) == (True, "skip", "running")
        assert "not started at boot (--on-boot skip)" in om("info", mission["id"]).stdout
        checks = {c["name"]: c for c in om.json("doctor")}
        assert "missing" not in checks["persisted missions"]["detail"]
    finally:
        om("stop", mission["id"])
    assert not persist.unit_path(mission["unit"]).exists()
    refused = om("run", "--on-boot", "skip", "true", check=False)
    assert refused.returncode != 0 and "--on-boot skip is for a persisted mission" in refused.stderr


def test_doctor_says_how_many_missions_are_persisted(om: Overmind, name: str) -> None:
    mission = om.run("exec sleep 600", "--name", name, "--persist")
    try:
        checks = {c["name"]: c for c in om.json("doctor")}
        assert checks["persisted missions"]["detail"].startswith("1 persisted")
    finally:
        om("stop", mission["id"])


def test_repair_puts_back_what_went_missing_and_writes_under_a_running_mission_only_when_asked(
        om: Overmind, name: str) -> None:
    running = om.run("exec sleep 600", "--name", f"{name}-run", "--persist")
    ended = om.run("true", "--name", f"{name}-ended", "--persist")
    must(lambda: om.status(ended["id"]) == "stopped", what="the task to end")
    files = {m["id"]: persist.unit_path(m["unit"]) for m in (running, ended)}
    written = {ident: path.read_text() for ident, path in files.items()}
    orphan = persist.unit_path(f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}-orphan.service")
    try:
        files[ended["id"]].unlink()  # gone
        persist.wants_link(running["unit"]).unlink()  # no longer enabled
        files[running["id"]].write_text(written[running["id"]] + "# edited by hand\n")
        orphan.write_text(written[ended["id"]])  # ours, of no mission
        doctor = {c["name"]: c for c in om.json("doctor")}["persisted missions"]
        assert doctor["state"] == "warn" and doctor["hint"].endswith("overmind repair")
        for said in ("unit file missing", "default.target link missing", "edited since overmind wrote it",
                     f"{name}-orphan.service"):
            assert said in doctor["detail"]
        repaired = om("repair", "--json", check=False)
        step = next(s for s in json.loads(repaired.stdout) if s["name"] == "persisted missions")
        assert (repaired.returncode, step["state"]) == (1, "needs")
        assert f"{name}-run: its unit file was edited and it runs" in step["detail"]
        assert files[ended["id"]].read_text() == written[ended["id"]]  # written again from the copy
        assert files[running["id"]].read_text().endswith("# edited by hand\n")  # not under a running mission
        assert persist.wants_link(running["unit"]).resolve() == files[running["id"]].resolve()
        assert not orphan.exists()
        om("repair", "--rebuild")  # asked: written back under the running mission
        assert files[running["id"]].read_text() == written[running["id"]]
        step = next(s for s in om.json("repair") if s["name"] == "persisted missions")
        assert step["state"] == "ok"
    finally:
        orphan.unlink(missing_ok=True)
        om("stop", running["id"], ended["id"], check=False)
