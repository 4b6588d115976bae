"""Persisted blueprints (`persist = true`): the agents' unit files, one boot unit per blueprint, and
the graph's state across a reboot of the private host."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from overmind.control import persist
from overmind.host import pid1_is_systemd
from tests.helpers import Overmind, blueprint_file, must, reboot
from tests.integration.test_blueprints import agents, session, task


@pytest.fixture(autouse=True)
def _stop_blueprints_afterwards(om: Overmind, name: str) -> Any:
    yield
    for row in om.json("ps", "--all"):
        if row["type"] == "blueprint" and row["name"].startswith(name):
            om("stop", row["id"], check=False)
    om("gc", check=False)


def _persisted(path: str) -> str:
    Path(path).write_text("persist = true\n" + Path(path).read_text())
    return path


def _boot_unit(om: Overmind, name: str) -> str:
    return f"{om.env['OVERMIND_UNIT_PREFIX']}-boot@{name}.service"


def _count(om: Overmind, ref: str, line: str) -> int:
    return om.logs(ref).count(line)


def test_a_persisted_blueprint_writes_its_agents_files_and_one_boot_unit_that_wants_them(
        om: Overmind, name: str, tmp_path: Path) -> None:
    path = _persisted(blueprint_file(tmp_path, name, {
        "build": task("echo built"), "serve": session("exec sleep 300", "build"),
        "later": task("echo later", "serve", on_boot="skip")}))
    om("apply", path)
    members = agents(om, name)
    units = {agent: om.info(row["id"])["unit"] for agent, row in members.items()}
    assert all(om.info(row["id"])["persist"] for row in members.values())
    assert om.info(name)["persist"] is True
    for unit in units.values():
        assert persist.unit_path(unit).exists()
        assert not persist.wants_link(unit).is_symlink()  # the boot unit starts them, not default.target
    boot = _boot_unit(om, name)
    text = persist.unit_path(boot).read_text()
    wanted = next(line for line in text.splitlines() if line.startswith("Wants=")).removeprefix("Wants=").split()
    assert sorted(wanted) == sorted([units["build"], units["serve"]])  # `later` is skipped at boot
    assert "After=" not in text  # it does not wait for them: the manager is ready before the tasks end
    assert persist.wants_link(boot).resolve() == persist.unit_path(boot).resolve()
    assert f"Requires={units['build']}" in persist.unit_path(units["serve"]).read_text()
    doctor = om("doctor", check=False).stdout
    assert "persisted missions" in doctor and "link missing" not in doctor

    om("stop", name)
    assert not any(persist.unit_path(unit).exists() for unit in [*units.values(), boot])
    assert not persist.wants_link(boot).is_symlink()


def test_a_persisted_agent_must_not_depend_on_one_that_is_not(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {"build": task("true"), "ship": task("true", "build", persist=True)})
    proc = om("apply", path, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "\"ship\" persists but \"build\" does not" in proc.stderr
    skipped = blueprint_file(tmp_path, f"{name}-b", {"build": task("true", on_boot="skip")})
    proc = om("apply", skipped, check=False)
    assert proc.returncode != 0 and "is for a persisted agent (set persist = true)" in proc.stderr
    scheduled = blueprint_file(tmp_path, f"{name}-c", {"nightly": task("true", schedule="daily", persist=True)})
    proc = om("apply", scheduled, check=False)
    assert proc.returncode != 0 and "its timer comes back at boot already" in proc.stderr


def test_reapplying_a_persisted_blueprint_rewrites_the_replaced_agents_file_and_removes_the_pruned_ones(
        om: Overmind, name: str, tmp_path: Path) -> None:
    path = _persisted(blueprint_file(tmp_path, name, {"a": session("exec sleep 300"), "b": session("exec sleep 301")}))
    om("apply", path)
    before = {agent: om.info(row["id"]) for agent, row in agents(om, name).items()}
    _persisted(blueprint_file(tmp_path, name, {"a": session("exec sleep 302")}))
    om("apply", path)
    after = {agent: om.info(row["id"]) for agent, row in agents(om, name).items()}
    assert list(after) == ["a"] and after["a"]["id"] != before["a"]["id"]
    assert after["a"]["id"] in persist.unit_path(after["a"]["unit"]).read_text()
    assert not persist.unit_path(before["b"]["unit"]).exists()
    boot = persist.unit_path(_boot_unit(om, name)).read_text()
    assert f"Wants={after['a']['unit']}\n" in boot


@pytest.mark.disruptive
@pytest.mark.skipif(pid1_is_systemd() or os.geteuid() != 0, reason="the private host is for root without systemd")
@pytest.mark.skipif(os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1",
                    reason="restarts the shared user manager; set OVERMIND_TEST_HOST_RECOVERY=1 (make test does)")
def test_a_persisted_blueprint_comes_back_as_a_graph_finished_steps_stay_finished_pending_ones_wait(
        om: Overmind, name: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    path = _persisted(blueprint_file(tmp_path, name, {
        "first": task("echo first"),
        "slow": task(f"echo slow run; until [ -e {go} ]; do sleep 0.2; done", "first"),
        "after": task("echo after", "slow"),
        "bad": task("echo bad; exit 3"),
        "blocked": task("echo blocked", "bad"),
        "server": session("echo server up; exec sleep 600"),
    }))
    om("apply", path)
    ref = {agent: row["id"] for agent, row in agents(om, name).items()}
    must(lambda: _count(om, ref["slow"], "slow run") == 1 and om.info(ref["server"])["os_pid"]
         and om.status(ref["bad"]) == "crashed", timeout=30, what="the graph half way")
    server_pid = om.info(ref["server"])["os_pid"]
    for boot in (1, 2):
        reboot(om)
        must(lambda runs=1 + boot: _count(om, ref["slow"], "slow run") == runs, timeout=30,
             what="the running task again")
        must(lambda before=server_pid: om.info(ref["server"])["os_pid"] not in (None, before), timeout=30,
             what="the session again")
        server_pid = om.info(ref["server"])["os_pid"]
        assert _count(om, ref["first"], "first") == 1  # finished: it stays finished
        assert _count(om, ref["bad"], "bad") == 1 and om.status(ref["bad"]) == "crashed"
        assert _count(om, ref["blocked"], "blocked") == 0  # what depends on a failed step still does not run
        assert om.status(ref["blocked"]) == "skipped"
        assert _count(om, ref["after"], "after") == 0  # pending: it waits for `slow`, as before
        assert om.info(ref["slow"])["boots"] >= boot
    go.touch()
    must(lambda: _count(om, ref["after"], "after") == 1, timeout=30, what="the pending step after the slow one")
    assert _count(om, ref["blocked"], "blocked") == 0
    assert om.status(ref["server"]) == "running"
