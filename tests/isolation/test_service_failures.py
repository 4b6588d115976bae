"""A service that cannot get ready fails `run` at once, saying which, why and its last lines, and
a service that gets ready at once is not stopped before its mission starts: real units, real
Podman (images built locally), the real CLI."""

from __future__ import annotations

import json
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import Overmind, must
from tests.isolation.images import image
from tests.isolation.test_missions import contract, db_service

pytestmark = [pytest.mark.systemd, pytest.mark.usefixtures("containers_cleaned")]

# Seconds from the service's main process ending to its readiness check giving up: a pidfd wakes it
# at once (0.2 s here when idle, mostly the check's own start), but this 2-core host runs other
# suites beside this one, at loads of 15 and more, where any process takes seconds to start.
PROMPTLY = 3.0
PATIENT = "    ready:\n      timeout: 10min\n"  # a run waiting for the timeout would not return within the test's


def _failed_run(om: Overmind, name: str, repo: Path) -> str:
    """stderr of a `run` that must fail (long before any readiness timeout)."""
    proc = om("run", "--name", name, "--worktree", "--cwd", str(repo), "sleep 300", check=False, timeout=120)
    assert proc.returncode == 1, proc.stderr
    return proc.stderr


def _line_at(om: Overmind, text: str, *match: str) -> float:
    """When a line with `text` among those `match` selects came to the journal."""
    found = subprocess.run(["journalctl", "--no-pager", "-o", "json", *match], env=om.env, capture_output=True,
                           text=True).stdout.splitlines()
    stamps = [int(entry["__REALTIME_TIMESTAMP"]) / 1e6 for entry in map(json.loads, found)
              if text in str(entry.get("MESSAGE", ""))]
    assert stamps, f"{text!r} is not in the journal's {match}"
    return stamps[-1]


def _noticed_within(om: Overmind, unit: str, service: str) -> float:
    """Seconds from systemd's reaping of the service's main process to its readiness check giving up."""
    exited = _line_at(om, "Main process exited", f"USER_UNIT={unit}")
    return _line_at(om, f"{service} exited before it was ready", f"SYSLOG_IDENTIFIER={unit.removesuffix('.service')}") \
        - exited


def test_a_command_service_that_exits_before_it_is_ready_fails_the_run_at_once_with_why_and_its_last_lines(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    crashing = json.dumps("echo \"httpd: can't change directory\"; exit 2")
    contract(repo, port_range, f"  web:\n    command: {crashing}\n{PATIENT}")
    stderr = _failed_run(om, name, repo)
    assert f"service 'web' of worktree '{name}' did not become ready (its process exited with code 2 before it " \
           f"was ready), so mission '{name}' did not start" in stderr
    assert "httpd: can't change directory" in stderr and f"overmind worktree rm {name}" in stderr
    prefix = om.env["OVERMIND_UNIT_PREFIX"]
    unit = f"{prefix}-svc@{name}.web.service"
    assert _noticed_within(om, unit, "web") < PROMPTLY
    assert (repo / ".overmind" / "worktrees" / name).is_dir()  # the worktree stays
    assert name not in [m["name"] for m in om.json("ps")]
    units = f"{prefix}-*@{name}*"
    must(lambda: not om.systemctl("list-units", "--all", "--plain", "--no-legend", units).stdout.strip(),
         30, "its units to go")


def test_a_container_that_exits_before_it_is_ready_fails_the_run_at_once(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service(["sh", "-c", "echo the database is corrupt; exit 3"], PATIENT))
    stderr = _failed_run(om, name, repo)
    assert f"service 'db' of worktree '{name}' did not become ready (its process exited" in stderr
    assert "the database is corrupt" in stderr
    unit = f"{om.env['OVERMIND_UNIT_PREFIX']}-svc@{name}.db.service"
    assert _noticed_within(om, unit, "db") < PROMPTLY
    assert (repo / ".overmind" / "worktrees" / name).is_dir()


def test_a_container_whose_image_is_gone_since_the_last_run_fails_the_run_at_once_saying_to_pull_it(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    gone = f"localhost/overmind-test-gone-{secrets.token_hex(3)}:1"
    subprocess.run(["podman", "tag", image(["httpd", "-f", "-p", "8080", "-h", "/www"]), gone], check=True)
    try:
        contract(repo, port_range, f"  db:\n    docker: {gone}\n    port: 8080\n{PATIENT}")
        om.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))  # the image is remembered as there
        om("stop", name)
    finally:
        subprocess.run(["podman", "untag", gone, gone], check=True, capture_output=True)
    stderr = _failed_run(om, name, repo)
    assert f"service 'db' of worktree '{name}' did not become ready (its image '{gone}' is not on this machine)" \
        in stderr
    assert f"podman pull {gone} (or build it)" in stderr
    # The image is forgotten: the next run says so before it starts anything.
    stderr = _failed_run(om, name, repo)
    assert f"services.db.docker: image '{gone}' is not on this machine" in stderr


def test_services_ready_at_once_are_not_stopped_as_unneeded_before_their_mission_starts(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, "  web:\n    command: exec sleep 300\n    ready: false\n"
                               "  worker:\n    command: exec sleep 300\n    ready: false\n")
    names = [f"{name}-{i}" for i in range(6)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda mission: om.run("sleep 300", "--name", mission, "--worktree", "--cwd", str(repo)), names))
    for mission in names:
        assert [(s["name"], s["state"]) for s in om.info(mission)["services"]] == [
            ("web", "active"), ("worker", "active")]
    prefix = om.env["OVERMIND_UNIT_PREFIX"]
    must(lambda: not om.systemctl("list-units", "--all", "--plain", "--no-legend", f"{prefix}-hold@*").stdout.strip(),
         30, "the holds to go")
    om("stop", *names)


def test_a_killed_mission_leaves_no_failed_service_unit_behind_and_its_worktree_can_go(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service())
    om.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
    om("kill", name)
    unit = f"{om.env['OVERMIND_UNIT_PREFIX']}-svc@{name}.db.service"
    assert om.unit_property(unit, "ActiveState") == "inactive"
    assert om("worktree", "rm", name).stdout == f"removed worktree {name}\n"


def test_a_service_that_failed_holds_no_worktree_and_its_unit_goes_with_it(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, "  web:\n    command: sleep 1; exit 1\n    ready: false\n    restart: \"no\"\n")
    om.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
    unit = f"{om.env['OVERMIND_UNIT_PREFIX']}-svc@{name}.web.service"
    must(lambda: om.unit_property(unit, "ActiveState") == "failed", 20, "the service to fail")
    must(lambda: om.info(name)["finished_at"], 20, "the mission bound to it to end")
    assert om("worktree", "rm", name).stdout == f"removed worktree {name}\n"
    assert om.unit_property(unit, "LoadState") == "not-found"
