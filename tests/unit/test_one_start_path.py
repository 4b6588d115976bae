"""One way to start a mission: every start reaches systemd through the same few functions.

`run`, `quest run`, `<agent> run`, `orchestrate` (and so a child started with --parent from inside
its parent's unit, and a scheduled agent's run, which call `overmind run`), the dashboard's and the
TUI's forms all call `control.launch.launch`; `restart` recreates a unit with its `create_unit`.
A blueprint's apply creates its agents in one call from the same unit description after the same
preflight. No mission's unit is made any other way (the integration tests in
tests/integration/test_start_path.py watch them go over D-Bus)."""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

from overmind.mission.build import as_agent_run, build_spec

PACKAGE = Path(__file__).resolve().parents[2] / "overmind"


def _sources() -> dict[str, ast.Module]:
    return {str(path.relative_to(PACKAGE)): ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}


SOURCES = _sources()


def _named(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.alias):
        return node.asname or node.name
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return node.name
    return None


def where(name: str) -> set[str]:
    """The modules that define, import, call or pass on `name`."""
    return {module for module, tree in SOURCES.items() if any(_named(node) == name for node in ast.walk(tree))}


def callers(name: str, module: str) -> set[str]:
    """The functions of `module` that use `name`."""
    found = set()
    for node in ast.walk(SOURCES[module]):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name != name:
            if any(_named(inner) == name for inner in ast.walk(node)):
                found.add(node.name)
    return found


def test_a_missions_unit_is_created_over_dbus_only_by_launch_and_a_blueprints_apply() -> None:
    assert where("start_transient_unit") == {"systemd/bus.py", "control/launch.py", "blueprint/apply.py"}
    assert callers("start_transient_unit", "control/launch.py") == {"create_unit"}
    # The unit description: the same for a run and a blueprint's agent.
    assert where("transient_unit_args") == {"mission/units.py", "control/launch.py", "blueprint/agent_units.py"}
    assert where("unit_from_run_args") == {"systemd/transient.py", "control/launch.py", "blueprint/agent_units.py",
                                           "blueprint/apply.py"}


def test_nothing_forks_systemd_run_for_a_mission() -> None:
    """systemd-run is forked only for a worktree's services (overmind.isolation.start)."""
    forks = {module for module, tree in SOURCES.items()
             if any(isinstance(node, ast.Constant) and node.value == "systemd-run" for node in ast.walk(tree))}
    assert forks == {"systemd/manager.py", "control/setup.py"}  # setup only looks for it on PATH
    assert where("systemd_run_all") == {"systemd/manager.py", "isolation/start.py"}


def test_every_front_end_starts_a_mission_through_launch() -> None:
    assert where("create_unit") == {"control/launch.py", "control/lifecycle.py"}
    assert callers("create_unit", "control/lifecycle.py") == {"restart"}
    launch_users = {module for module in where("launch") if module.split("/")[0] in ("cli", "dashboard", "tui")}
    assert launch_users == {"cli/missions.py", "dashboard/missions.py", "tui/screens/new.py"}
    # The CLI: `run` and `quest run` report what launch did; `<agent> run` and `orchestrate` are `run`.
    assert callers("launch", "cli/missions.py") == {"launch_and_report"}
    assert where("launch_and_report") == {"cli/missions.py", "cli/quests.py"}
    assert callers("launch_and_report", "cli/missions.py") == {"run"}
    assert {"cli/agents.py", "cli/orchestrate.py"} <= where("run")
    # A blueprint's apply goes through the same preflight (the manager booted, the limits it cannot
    # enforce said).
    assert callers("preflight", "control/blueprints.py") == {"apply"}
    # Not even the control layer's other modules start units some other way.
    assert {module for module in where("create_unit") | where("start_transient_unit")
            if module.startswith(("cli/", "dashboard/", "tui/", "akasha/", "rituals/"))} == set()


def test_a_scheduled_agents_run_is_overmind_run() -> None:
    """A ritual (or a blueprint's scheduled agent) runs its agent as `overmind run --wait`: a mission
    started by launch, like any other."""
    spec = build_spec(["review the diff"], provider="claude", model="sonnet", cwd="/tmp", check_installed=False)
    words = shlex.split(as_agent_run(spec).command)
    assert words[1:4] == ["-m", "overmind", "run"]
    assert ["--provider", "claude", "--wait"] == words[4:7]
    assert words[-2:] == ["--", "review the diff"]
