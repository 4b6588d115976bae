"""A persisted mission with a worktree and a Podman service: after a reboot of the private host
(`host down` / `host up`) it runs again in the same worktree with the same ports, its service
answering before it, its setup not run again; stopping it removes the services' files too."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from overmind.host import pid1_is_systemd
from overmind.systemd import unitfiles
from tests.helpers import Overmind, must, reboot
from tests.isolation.test_missions import contract, db_service

pytestmark = [pytest.mark.systemd, pytest.mark.usefixtures("containers_cleaned")]


def _answer(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as reply:
            return reply.read().decode().strip()
    except OSError:
        return None


@pytest.mark.disruptive
@pytest.mark.skipif(pid1_is_systemd() or os.geteuid() != 0, reason="the private host is for root without systemd")
@pytest.mark.skipif(os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1",
                    reason="restarts the shared user manager; set OVERMIND_TEST_HOST_RECOVERY=1 (make test does)")
def test_a_persisted_mission_comes_back_after_a_reboot_in_its_worktree_with_its_ports_and_its_service(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service(), "setup:\n  - echo set up >> setup.log\n")
    mission = om.run("echo $PORT $DB_PORT >> ports.txt; exec sleep 600", "--name", name, "--worktree",
                     "--cwd", str(repo), "--persist")
    before = om.info(name)
    path, ports = Path(before["worktree"]["path"]), before["ports"]
    assert must(lambda: _answer(ports["DB_PORT"]), 30, "the service answering") == name
    prefix = om.env["OVERMIND_UNIT_PREFIX"]
    files = [unitfiles.unit_dir() / unit for unit in (f"{prefix}-svc@{name}.db.service",
                                                       f"{prefix}-setup@{name}.service")]
    assert all(unitfiles.is_ours(path) for path in files)
    try:
        reboot(om)
        must(lambda: om.status(mission["id"]) == "running" and om.info(name)["boots"] >= 1, 60,
             "the persisted mission running again")
        after = om.info(name)
        assert Path(after["worktree"]["path"]) == path and after["ports"] == ports
        assert must(lambda: _answer(ports["DB_PORT"]), 30, "the service answering again") == name
        assert [s["state"] for s in after["services"]] == ["active"]
        lines = must(lambda: seen if len(seen := (path / "ports.txt").read_text().splitlines()) == 2 else None, 30,
                     "the mission's second run")
        assert lines == [f"{ports['PORT']} {ports['DB_PORT']}"] * 2
        assert (path / "setup.log").read_text() == "set up\n"  # the boot did not run the setup again
    finally:
        om("stop", name, check=False)
    assert not any(path.exists() for path in files)  # no persisted mission of the worktree is left


def test_a_persisted_missions_services_are_unit_files_until_no_persisted_mission_of_the_worktree_is_left(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service())
    first = om.run("exec sleep 600", "--name", f"{name}-a", "--worktree-name", name, "--cwd", str(repo), "--persist")
    second = om.run("exec sleep 600", "--name", f"{name}-b", "--worktree-name", name, "--cwd", str(repo), "--persist")
    unit = f"{om.env['OVERMIND_UNIT_PREFIX']}-svc@{name}.db.service"
    service = unitfiles.unit_dir() / unit
    assert unitfiles.is_ours(service) and om.unit_property(unit, "FragmentPath") == str(service)
    assert must(lambda: _answer(om.info(first["id"])["ports"]["DB_PORT"]), 30, "the service answering") == name
    om("stop", first["id"])
    assert service.exists()  # the other persisted mission of the worktree still needs it at boot
    om("stop", second["id"])
    assert not service.exists()
