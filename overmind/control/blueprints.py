"""Blueprint files and the pipelines they make: load, list agents, plan (diff), apply, follow.

Two applies of one blueprint never act at once: the second waits for the first (a lock in the
state directory), then plans against what the first left and finds its work done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from overmind.control.missions import view, views
from overmind.errors import OvermindError
from overmind.store import Store, shared

if TYPE_CHECKING:
    from overmind.blueprint.apply import Applied
    from overmind.blueprint.model import Agent, Blueprint
    from overmind.blueprint.plan import Plan
    from overmind.blueprint.progress import BlueprintView
    from overmind.store import Blueprint as BlueprintRecord

LOCK_TIMEOUT = 120.0


def load(path: str) -> Blueprint:
    """A blueprint file, validated: every problem is one `file:line: key: what` line."""
    from overmind.blueprint.load import load as load_file

    return load_file(path)


def agent_to_json(agent: Agent) -> dict[str, Any]:
    return {"name": agent.name, "provider": agent.spec.provider, "type": agent.spec.type,
            "model": agent.spec.agent.model, "replicas": agent.replicas, "depends_on": list(agent.depends_on),
            "schedule": agent.timing.schedule.describe() if agent.timing else None,
            "command": agent.spec.command, "line": agent.line}


def current_record(name: str, store: Store) -> BlueprintRecord | None:
    """The blueprint's record, unless it was killed (then the next apply starts afresh). A running
    mission of the same name is not a blueprint: applying under its name is refused."""
    mission = store.get(name)
    if mission is not None and mission.killed_at is None and not view(mission, store).status.finished:
        raise OvermindError(f"a mission named '{name}' is running and it is not a blueprint",
                            hint="stop it, or set name = \"...\" in the blueprint")
    record = store.blueprint(name)
    return None if record is None or record.killed_at is not None else record


def plan(blueprint: Blueprint, store: Store | None = None) -> Plan:
    """What `apply` would do (`overmind diff`)."""
    from overmind.blueprint.plan import make_plan
    from overmind.mission.view import MissionView

    store = store or shared()
    record = current_record(blueprint.name, store)
    members = [v for v in views(store.children(record.id), store) if isinstance(v, MissionView)] if record else []
    return make_plan(blueprint, record, members)


def new_missions(planned: Plan) -> int:
    """How many missions the plan creates (what `--max-new` limits)."""
    return len(planned.of("create", kind="mission"))


def apply(blueprint: Blueprint, prune: bool = True, on_wait: Callable[[], None] | None = None,
          store: Store | None = None, max_new: int | None = None) -> Applied:
    """Make the running agents match the blueprint, then return: systemd runs the graph.
    Refused, before anything starts, when it would create more than `max_new` missions (default:
    $OVERMIND_MAX_NEW, else 500). The limits its agents ask for that this host will not enforce
    come back as warnings."""
    import dataclasses

    from overmind import locks
    from overmind.blueprint.apply import execute, without_pruning
    from overmind.control import guardrails
    from overmind.control.launch import preflight

    limit = guardrails.max_new(max_new)
    warnings = preflight([agent.spec for agent in blueprint.agents])
    store = store or shared()
    with locks.exclusive(f"blueprint-{blueprint.name}", LOCK_TIMEOUT, on_wait):
        planned = plan(blueprint, store)
        guardrails.check_new(blueprint.name, new_missions(planned), limit)
        from overmind.control import persist_blueprint

        applied = execute(planned if prune else without_pruning(planned), store, persist_blueprint)
        return dataclasses.replace(applied, warnings=warnings)


def summary(applied: Applied) -> str:
    """What an apply did, in one line: `Updated pipeline 1a2b3c4d (pipe): created 1, replaced 2`."""
    record, plan = applied.record, applied.plan
    if plan.record is None:
        return f"Started pipeline {record.id} ({record.name})"
    counts = [f"{verb} {len(plan.of(action))}" for action, verb in
              (("create", "created"), ("start", "restarted"), ("replace", "replaced"), ("prune", "pruned"))
              if plan.of(action)]
    if not counts:
        return f"Pipeline {record.id} ({record.name}) unchanged"
    return f"Updated pipeline {record.id} ({record.name}): {', '.join(counts)}"


def pipeline(record: BlueprintRecord, store: Store | None = None) -> BlueprintView:
    from overmind.blueprint.progress import BlueprintView

    store = store or shared()
    found = views([store.blueprint(record.id) or record], store)[0]
    assert isinstance(found, BlueprintView)
    return found


def follow(record: BlueprintRecord, echo: Callable[[str], None], store: Store | None = None) -> BlueprintView:
    """Echo `<agent>  <state>` whenever an agent's state changes, until the pipeline has settled;
    woken by systemd's signals about the agents' units and jobs."""
    from overmind.blueprint.progress import agent_label, progress_word, settled
    from overmind.systemd.signals import wait_for

    store = store or shared()
    shown: dict[str, str] = {}

    def check() -> BlueprintView | None:
        current = pipeline(record, store)
        width = max((len(agent_label(m.mission)) for m in current.members), default=0)
        for member in current.members:
            word = progress_word(member)
            if shown.get(member.mission.id) != word:
                shown[member.mission.id] = word
                echo(f"  {agent_label(member.mission):<{width}}  {word}")
        return current if settled(current) else None

    result = wait_for([m.unit for m in store.children(record.id)], check, None)
    assert result is not None
    return result


def outcome(view: BlueprintView) -> tuple[str, bool]:
    """How a settled pipeline ended, in words (`running; build failed (exit 3)`), and whether it
    failed: a failed task fails it even while its sessions keep it running."""
    from overmind.blueprint.progress import failures

    failed = failures(view) if view.status.state != "failed" else []
    words = view.status.label + (f"; {', '.join(failed)}" if failed else "")
    return words, view.status.state == "failed" or bool(failed)


def scheduled_rituals(record: BlueprintRecord) -> list[dict[str, Any]]:
    """The blueprint's scheduled agents, installed as rituals: name and schedule."""
    from overmind.blueprint.scheduled import installed

    return [{"name": r.name, "schedule": r.schedule.describe()} for r in installed(record.name).values()]


def graph(view: BlueprintView) -> dict[str, Any]:
    """The DAG as nodes (each agent member with its state) and edges (dependency -> dependent),
    for a front end to draw."""
    from overmind.blueprint.progress import agent_label, member_info, progress_word

    nodes = [{"id": m.mission.id, "name": m.mission.name, "agent": agent_label(m.mission),
              "state": m.status.state, "label": progress_word(m)} for m in view.members]
    by_agent: dict[str, list[str]] = {}
    for m in view.members:
        by_agent.setdefault(member_info(m.mission).get("agent", m.mission.name), []).append(m.mission.id)
    edges = [{"from": source, "to": m.mission.id}
             for m in view.members for dep in member_info(m.mission).get("depends_on", [])
             for source in by_agent.get(dep, [])]
    return {"id": view.id, "name": view.name, "nodes": nodes, "edges": edges}
