"""Every way of starting a mission creates its unit in one StartTransientUnit call to the user
manager, never by forking systemd-run: `run`, `quest run`, a child started with --parent from
inside its parent's unit, and a blueprint's apply (all its agents in one call). `--debug` lists
every call overmind makes to systemd (tests/unit/test_one_start_path.py checks the code has no other
way; tests/providers/test_agent_launch.py starts each agent CLI's sessions and tasks)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers import Overmind, blueprint_file, created_over_dbus, debugging, must


def test_run_and_quest_run_create_the_unit_in_one_dbus_call(om: Overmind, name: str) -> None:
    for words in (("run",), ("quest", "run")):
        mission = f"{name}-{words[0]}"
        proc = debugging(om)(*words, "--name", mission, "--json", "true")
        started = json.loads(proc.stdout)
        assert started["state"] == "starting"
        assert created_over_dbus(proc.stderr, started["unit"]), proc.stderr
        assert om.info(mission)["type"] == ("quest" if words[0] == "quest" else "task")
        om("wait", mission)


def test_a_child_started_from_inside_its_parent_is_launched_the_same_way(om: Overmind, name: str) -> None:
    """A parent mission (an orchestrator) runs `overmind run --parent`: the child is placed in its
    tree, and its unit comes over D-Bus too (the debug lines are in the parent's journal)."""
    parent, child = f"{name}-p", f"{name}-c"
    om.run(f"OVERMIND_DEBUG=1 overmind run --parent {parent} --name {child} 'exec sleep 300' && exec sleep 300",
           "--name", parent)
    info = must(lambda: om("info", child, "--json", check=False).returncode == 0 and om.info(child), 30,
                what="the child")
    assert info["parent"] == om.info(parent)["id"]
    assert re.search(r"\.slice$", om.unit_property(info["unit"], "Slice"))
    assert om.unit_property(info["unit"], "Slice") != om.unit_property(om.info(parent)["unit"], "Slice")
    lines = must(lambda: (found := om.logs(parent)) and any("StartTransientUnit" in line for line in found)
                 and found, 30, what="the parent's debug lines")
    assert created_over_dbus(lines, info["unit"]), lines
    om("kill", "--cascade", parent)


def test_a_blueprints_agents_are_created_in_one_dbus_call(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {"first": {"command": "true"},
                                           "second": {"command": "true", "depends_on": ["first"]}})
    proc = debugging(om)("apply", path, "--wait")
    calls = [line for line in proc.stderr.splitlines() if "dbus StartTransientUnit" in line]
    assert len(calls) == 1 and "(+2 units)" in calls[0], proc.stderr
    assert "systemd-run" not in proc.stderr
    for agent in ("first", "second"):
        assert om.info(f"{name}.{agent}")["status"] == "stopped"
    om("kill", name, check=False)
