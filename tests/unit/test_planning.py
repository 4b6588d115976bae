"""The pure planning code behind blueprints and trees: no systemd, only records and views."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from overmind.blueprint.load import load
from overmind.blueprint.model import Blueprint
from overmind.blueprint.plan import changed_fields, make_plan
from overmind.blueprint.progress import BlueprintView, agent_label, refine_members, settled, summarize
from overmind.mission.status import Status
from overmind.mission.tree import Tree, children_slice
from overmind.mission.view import MissionView
from overmind.store import Blueprint as BlueprintRecord
from overmind.store import Exit, Mission

LINEAR = """
    [agents.setup]
    command = "true"
    [agents.build]
    command = "make"
    depends_on = ["setup"]
    [agents.deploy]
    command = "deploy"
    depends_on = ["build"]
"""


@pytest.fixture(autouse=True)
def no_rituals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blueprints without scheduled agents read no ritual files."""
    monkeypatch.setattr("overmind.blueprint.scheduled.installed", lambda name: {})


def blueprint(tmp_path: Path, text: str = LINEAR) -> Blueprint:
    path = tmp_path / "pipe.toml"
    path.write_text(textwrap.dedent(text))
    return load(str(path))


RUNNING = Status("running")


def member(bp: Blueprint, agent: str, replica: int = 1, status: Status = RUNNING,
           exit: Exit | None = None, unit: dict[str, str] | None = None, **changes: Any) -> MissionView:
    spec = {**bp.agent(agent).spec.to_record(), "name": None, "parent": None,
            "blueprint": {"agent": agent, "replica": replica, "depends_on": list(bp.agent(agent).depends_on)}}
    spec.update(changes)
    name = f"pipe.{agent}" if replica == 1 else f"pipe.{agent}.{replica}"
    mission = Mission(f"{agent[:4]:0<4}{replica:04d}", name, f"x@{name}.service", "task", "raw", spec["command"],
                      "/", "bbbbbbbb", spec, time.time(), None, None, exit, 1 if exit else 0)
    return MissionView(mission, status, unit if unit is not None else {"LoadState": "loaded"})


DONE = Exit(time.time(), "success", "exited", "0", False)
FAILED = Exit(time.time(), "exit-code", "exited", "1", False)
RECORD = BlueprintRecord("bbbbbbbb", "pipe", "s.slice", "/pipe.toml", "/", ["setup", "build", "deploy"], 1.0, 1.0,
                         None, None)


def test_a_first_plan_creates_every_agent(tmp_path: Path) -> None:
    plan = make_plan(blueprint(tmp_path), None, [])
    assert [(c.action, c.name) for c in plan.changes] == [
        ("create", "pipe.setup"), ("create", "pipe.build"), ("create", "pipe.deploy")]
    assert plan.changes_anything


def test_an_unchanged_running_pipeline_is_kept_as_it_is(tmp_path: Path) -> None:
    bp = blueprint(tmp_path)
    members = [member(bp, "setup", status=Status("stopped", exit_code=0), exit=DONE), member(bp, "build"),
               member(bp, "deploy", status=Status("waiting"))]
    plan = make_plan(bp, RECORD, members)
    assert [(c.action, c.reason) for c in plan.changes] == [("keep", "done"), ("keep", "running"),
                                                             ("keep", "waiting")]
    assert not plan.changes_anything


def test_a_changed_agent_is_replaced_and_an_agent_waiting_on_it_starts_again(tmp_path: Path) -> None:
    bp = blueprint(tmp_path)
    members = [member(bp, "setup", status=Status("stopped", exit_code=0), exit=DONE),
               member(bp, "build", command="make all"), member(bp, "deploy", status=Status("waiting"))]
    actions = {c.agent: (c.action, c.reason) for c in make_plan(bp, RECORD, members).changes}
    assert actions == {"setup": ("keep", "done"), "build": ("replace", "command changed"),
                       "deploy": ("start", "was waiting on an agent that starts again")}
    assert changed_fields(bp.agent("build"), members[1].mission) == ["command"]


def test_a_failed_agent_runs_again_and_one_gone_from_the_file_is_pruned(tmp_path: Path) -> None:
    old = blueprint(tmp_path, LINEAR)
    members = [member(old, "setup", status=Status("crashed", "exit 1", 1), exit=FAILED), member(old, "build")]
    bp = blueprint(tmp_path, """
        [agents.setup]
        command = "true"
    """)
    plan = make_plan(bp, RECORD, members)
    assert [(c.action, c.agent, c.reason) for c in plan.changes] == [
        ("start", "setup", "was crashed (exit 1)"), ("prune", "build", "no longer in the file")]


def test_fewer_replicas_prune_the_highest_ones(tmp_path: Path) -> None:
    bp = blueprint(tmp_path, """
        [agents.worker]
        command = "work"
        replicas = 1
    """)
    members = [member(bp, "worker", replica) for replica in (1, 2, 3)]
    plan = make_plan(bp, RECORD, members)
    assert [(c.action, c.name) for c in plan.changes] == [
        ("keep", "pipe.worker"), ("prune", "pipe.worker.2"), ("prune", "pipe.worker.3")]
    assert [agent_label(m.mission) for m in members] == ["worker", "worker.2", "worker.3"]


def test_agents_behind_a_failed_one_are_skipped_and_the_pipeline_fails(tmp_path: Path) -> None:
    bp = blueprint(tmp_path)
    gone: dict[str, str] = {}
    members = [member(bp, "setup", status=Status("crashed", "exit 1", 1), exit=FAILED),
               member(bp, "deploy", status=Status("unknown"), unit=gone),
               member(bp, "build", status=Status("unknown"), unit=gone)]
    refined = refine_members(members, ["setup", "build", "deploy"])
    assert [(agent_label(v.mission), v.status.label) for v in refined] == [
        ("setup", "crashed (exit 1)"), ("build", "skipped (dependency failed)"),
        ("deploy", "skipped (dependency failed)")]
    status = summarize(RECORD, refined)
    assert (status.state, status.reason, status.exit_code) == ("failed", "setup failed", 1)
    assert settled(BlueprintView(RECORD, status, refined))


def test_a_pipeline_runs_while_any_agent_runs_and_is_done_when_all_are(tmp_path: Path) -> None:
    bp = blueprint(tmp_path)
    done = [member(bp, a, status=Status("stopped", exit_code=0), exit=DONE) for a in ("setup", "build")]
    running = refine_members([*done, member(bp, "deploy")], RECORD.agents)
    assert summarize(RECORD, running).state == "running"
    assert not settled(BlueprintView(RECORD, Status("running"), running))
    finished = [*done, member(bp, "deploy", status=Status("stopped", exit_code=0), exit=DONE)]
    assert summarize(RECORD, refine_members(finished, RECORD.agents)) == Status("done", exit_code=0)


def _node(mid: str, parent: str | None, created: float) -> Mission:
    return Mission(mid, f"n-{mid}", "u", "task", "raw", "c", "/", parent, {}, created, None, None)


def test_a_tree_walks_children_under_their_parents_in_creation_order() -> None:
    nodes = [_node("root", None, 1), _node("b", "root", 3), _node("a", "root", 2), _node("a1", "a", 4),
             _node("orphan", "gone", 5)]
    tree = Tree(nodes)
    assert [(lead, n.id) for lead, n in tree.walk()] == [
        ("", "root"), ("├─ ", "a"), ("│  └─ ", "a1"), ("└─ ", "b"), ("", "orphan")]
    assert [n.id for n in tree.descendants(nodes[0])] == ["a1", "a", "b"]
    assert tree.ancestry(nodes[3]) == ["root", "a", "a1"]


def test_a_childs_slice_nests_inside_its_parents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERMIND_UNIT_PREFIX", "om-x")
    assert children_slice(["11111111", "22222222"]) == "om\\x2dx-11111111-22222222.slice"
