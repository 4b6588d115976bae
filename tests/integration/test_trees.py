"""Parent/child trees on nested slices: placement, views, cascade, budgets, self-awareness."""

from __future__ import annotations

import json

from tests.helpers import Overmind, must


def _pids_in_cgroup(om: Overmind, mission: str) -> list[int]:
    cgroup = om.info(mission)["cgroup"]
    for root in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        try:
            with open(f"{root}{cgroup}/cgroup.procs") as procs:
                return [int(p) for p in procs.read().split()]
        except OSError:
            continue
    return []


def _tree(om: Overmind, name: str) -> dict[str, dict]:
    """Start root -> (a -> (a1 -> a1x), b), all sleeping."""
    missions = {"root": om.run("sleep 300", "--name", f"{name}-root")}
    for child, parent in (("a", "root"), ("b", "root"), ("a1", "a"), ("a1x", "a1")):
        missions[child] = om.run("sleep 300", "--name", f"{name}-{child}", "--parent", f"{name}-{parent}")
    return missions


def test_children_live_in_their_parents_slice(om: Overmind, name: str) -> None:
    tree = _tree(om, name)
    prefix = om.env["OVERMIND_UNIT_PREFIX"].replace("-", "\\x2d")
    root_slice = f"{prefix}-{tree['root']['id']}.slice"
    assert om.unit_property(tree["a"]["unit"], "Slice") == root_slice
    assert om.unit_property(tree["a1"]["unit"], "Slice") == f"{prefix}-{tree['root']['id']}-{tree['a']['id']}.slice"
    assert om.unit_property(tree["root"]["unit"], "Slice") == f"{prefix}.slice"
    om("kill", "--cascade", f"{name}-root")


def test_ps_tree_draws_the_hierarchy(om: Overmind, name: str) -> None:
    _tree(om, name)
    lines = [line for line in om("ps", "--tree").stdout.splitlines() if name in line]
    assert [line[10:].split("  task")[0].rstrip() for line in lines] == [
        f"{name}-root", f"├─ {name}-a", f"│  └─ {name}-a1", f"│     └─ {name}-a1x", f"└─ {name}-b"]
    om("kill", "--cascade", f"{name}-root")


def test_ps_children_and_json_links(om: Overmind, name: str) -> None:
    tree = _tree(om, name)
    kids = om.json("ps", "--children", f"{name}-root")
    assert [k["name"] for k in kids] == [f"{name}-a", f"{name}-b"]
    assert all(k["parent"] == tree["root"]["id"] for k in kids)
    assert kids[0]["children"] == [tree["a1"]["id"]]
    om("kill", "--cascade", f"{name}-root")


def test_kill_cascade_ends_the_subtree_children_first_and_leaves_no_process(om: Overmind, name: str) -> None:
    _tree(om, name)
    pids = {key: must(lambda key=key: _pids_in_cgroup(om, f"{name}-{key}")) for key in ("a", "a1", "a1x")}
    out = om("kill", "--cascade", f"{name}-a").stdout.split("\n")
    assert [line.split()[-1] for line in out if line] == [f"({name}-a1x)", f"({name}-a1)", f"({name}-a)"]
    assert not any(om.pid_alive(pid) for group in pids.values() for pid in group)
    listed = {row["name"] for row in om.json("ps")}
    assert {f"{name}-a", f"{name}-a1", f"{name}-a1x"}.isdisjoint(listed)
    assert {f"{name}-root", f"{name}-b"} <= listed
    assert om.status(f"{name}-b") == "running"
    om("kill", "--cascade", f"{name}-root")


def test_stop_cascade_stops_every_descendant(om: Overmind, name: str) -> None:
    _tree(om, name)
    om("stop", "--cascade", f"{name}-root")
    assert {om.status(f"{name}-{k}") for k in ("root", "a", "b", "a1", "a1x")} == {"stopped"}


def test_without_cascade_a_killed_parent_leaves_its_children_running(om: Overmind, name: str) -> None:
    _tree(om, name)
    om("kill", f"{name}-a")
    assert om.status(f"{name}-a1") == "running"
    assert f"{name}-a1" in {row["name"] for row in om.json("ps")}
    om("kill", "--cascade", f"{name}-root")


def test_a_parent_crash_leaves_children_running(om: Overmind, name: str, tmp_path) -> None:
    gate = tmp_path / "gate"
    om.run(f"while [ ! -e {gate} ]; do sleep 0.05; done; exit 3", "--name", f"{name}-p")
    om.run("sleep 300", "--name", f"{name}-c", "--parent", f"{name}-p")
    gate.touch()
    assert om("wait", f"{name}-p", check=False).returncode == 3
    assert om.status(f"{name}-c") == "running"
    lines = om("ps", "--tree").stdout.splitlines()
    assert any(f"└─ {name}-c" in line for line in lines)
    om("kill", f"{name}-c")


def test_children_of_finished_or_unknown_parents_are_refused(om: Overmind, name: str) -> None:
    om.run("true", "--name", f"{name}-done")
    om("wait", f"{name}-done")
    refused = om("run", "--parent", f"{name}-done", "true", check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"overmind: parent '{name}-done' has finished (stopped)")
    unknown = om("run", "--parent", f"{name}-nobody", "true", check=False)
    assert unknown.stderr.splitlines()[0] == f"overmind: parent not found: '{name}-nobody'"
    assert not [r for r in om.json("ps") if r["parent"] and r["name"].startswith(name)]


def test_max_children_refuses_more(om: Overmind, name: str) -> None:
    om.run("sleep 300", "--name", f"{name}-root", "--max-children", "2")
    om.run("sleep 300", "--name", f"{name}-1", "--parent", f"{name}-root")
    om.run("sleep 300", "--name", f"{name}-1a", "--parent", f"{name}-1")
    proc = om("run", "--parent", f"{name}-1", "sleep 300", check=False)
    assert proc.returncode == 1
    assert f"mission '{name}-root' would have 3 missions below it, more than its limit of 2" in proc.stderr
    om("kill", "--cascade", f"{name}-root")


def test_a_mission_can_spawn_and_wait_for_its_own_children(om: Overmind, name: str) -> None:
    script = ('echo "me=$OVERMIND_MISSION_NAME"; '
              'overmind run --name "$OVERMIND_MISSION_NAME-kid" --parent "$OVERMIND_MISSION_NAME" '
              '\'echo "kid of $OVERMIND_PARENT_ID"; exit 4\' >/dev/null; '
              'overmind wait "$OVERMIND_MISSION_NAME-kid"; echo "kid ended $?"')
    parent = om.run(script, "--name", name)
    om("wait", name)
    assert om.logs(name)[:3] == [f"me={name}", "finished: crashed (exit 4), exit code 4", "kid ended 4"]
    kid = om.info(f"{name}-kid")
    assert kid["parent"] == parent["id"]
    assert om.logs(f"{name}-kid")[0] == f"kid of {parent['id']}"
    assert json.loads(om("ps", "--children", name, "--json").stdout)[0]["name"] == f"{name}-kid"
