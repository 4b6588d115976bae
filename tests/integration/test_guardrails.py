"""Guard rails at scale: an apply that would create too many missions is refused before anything
starts, `diff` says the count first, and a tree's --max-children follows the same rule."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import Overmind, blueprint_file

WORKER = {"command": "exec sleep 300", "type": "session"}


def _started_nothing(om: Overmind, name: str) -> bool:
    return not [row for row in om.json("ps", "--all") if row["name"].startswith(name)]


def test_an_apply_of_a_hundred_thousand_replicas_is_refused_in_one_line(om: Overmind, name: str,
                                                                         tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {"worker": {**WORKER, "replicas": 100_000}})
    refused = om("apply", path, check=False)
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"overmind: applying '{name}' would create 100000 new missions, more than its limit of 500",
        "(allow it with --max-new 100000 (or OVERMIND_MAX_NEW=100000))"]
    assert _started_nothing(om, name)


def test_diff_says_how_many_new_missions_first(om: Overmind, name: str, tmp_path: Path) -> None:
    many = om("diff", blueprint_file(tmp_path, name, {"worker": {**WORKER, "replicas": 100_000}}), check=False)
    assert many.returncode == 1
    assert many.stdout.splitlines()[0] == (f"apply would be refused: applying '{name}' would create 100000 new "
                                           "missions, more than its limit of 500 (allow it with --max-new 100000 "
                                           "(or OVERMIND_MAX_NEW=100000))")
    few = blueprint_file(tmp_path, name, {"worker": {**WORKER, "replicas": 3}})
    assert om("diff", few, check=False).stdout.splitlines()[0] == "3 new missions (limit 500)"
    shown = json.loads(om("diff", few, "--max-new", "2", "--json", check=False).stdout)
    assert (shown["new_missions"], shown["max_new"]) == (3, 2)
    assert _started_nothing(om, name)


def test_max_new_and_its_variable_set_the_limit(om: Overmind, name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {"worker": {**WORKER, "replicas": 3}})
    flagged = om("apply", path, "--max-new", "2", check=False)
    assert flagged.returncode == 1 and "would create 3 new missions, more than its limit of 2" in flagged.stderr
    variable = Overmind({**om.env, "OVERMIND_MAX_NEW": "2"})
    assert "more than its limit of 2" in variable("apply", path, check=False).stderr
    assert "invalid OVERMIND_MAX_NEW 'lots'" in Overmind({**om.env, "OVERMIND_MAX_NEW": "lots"})(
        "apply", path, check=False).stderr
    assert _started_nothing(om, name)
    om("apply", path, "--max-new", "3")
    assert len([r for r in om.json("ps") if r["name"].startswith(f"{name}.worker")]) == 3
    om("kill", name)


def test_max_children_counts_the_children_not_yet_collected(om: Overmind, name: str) -> None:
    om.run("sleep 300", "--name", f"{name}-root", "--max-children", "1")
    om.run("true", "--name", f"{name}-1", "--parent", f"{name}-root")
    om("wait", f"{name}-1")
    refused = om("run", "--parent", f"{name}-root", "true", check=False)
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"overmind: mission '{name}-root' would have 2 missions below it, more than its limit of 1",
        "(raise --max-children on a new tree, or collect its finished children: overmind gc)"]
    om("gc")  # the finished child is forgotten: its place is free
    om.run("true", "--name", f"{name}-2", "--parent", f"{name}-root")
    om("kill", "--cascade", f"{name}-root")
