"""restart: a running mission restarts like any restart; a finished one runs again, same id and name."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Overmind, blueprint_file, must


def test_restarting_a_running_mission_gives_a_new_process_and_counts_a_restart(om: Overmind, name: str) -> None:
    om.run("sleep 300", "--name", name)
    first = must(lambda: om.info(name)["os_pid"])
    assert om("restart", name).stdout == f"restarted {om.info(name)['id']} ({name})\n"
    info = must(lambda: (found := om.info(name))["os_pid"] not in (None, first) and found)
    assert (info["status"], info["restarts"]) == ("running", 1)
    assert not om.pid_alive(first)
    om("stop", name)


def test_a_finished_or_killed_mission_runs_again_under_its_id(om: Overmind, name: str) -> None:
    mission = om.run("echo ran; exit 3", "--name", name)
    must(lambda: om.info(name)["status"] == "crashed", what="the first run's end")
    om("restart", name)
    must(lambda: om.logs(name).count("ran") == 2, what="a second run")
    info = must(lambda: (found := om.info(name))["status"] == "crashed" and found)
    assert info["id"] == mission["id"] and info["restarts"] == 1
    om.run("sleep 300", "--name", f"{name}-k")
    om("kill", f"{name}-k")
    om("restart", f"{name}-k")
    assert must(lambda: om.info(f"{name}-k")["status"] == "running")
    assert f"{name}-k" in [m["name"] for m in om.json("ps")]
    om("stop", f"{name}-k")


def test_restart_refuses_what_it_cannot_restart(om: Overmind, name: str, tmp_path: Path) -> None:
    refused = om("restart", "no-such-mission", check=False)
    assert (refused.returncode, refused.stderr.splitlines()[0]) == (1, "overmind: no mission named 'no-such-mission'")
    path = blueprint_file(tmp_path, name, {"one": {"command": "true"}})
    om("apply", path)
    refused = om("restart", name, check=False)
    assert refused.returncode == 1 and refused.stderr.startswith(f"overmind: '{name}' is a blueprint")
    assert "overmind apply" in refused.stderr
