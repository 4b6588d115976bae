"""Every row `--json` prints carries every key docs/json.md documents for it (null, never missing)."""

from __future__ import annotations

import re
import time

from overmind.blueprint.progress import BlueprintView
from overmind.control.missions import Row
from overmind.mission.status import Status
from overmind.mission.view import MissionView
from overmind.store import Blueprint, Exit, Mission
from tests.helpers import DOCS, documented_keys

NOW = time.time()


def _mission(mission_id: str, parent: str | None = None, **spec: object) -> Mission:
    return Mission(id=mission_id, name=f"m-{mission_id}", unit=f"overmind-agent@m-{mission_id}.service",
                   type="task", provider="raw", command="true", cwd="/", parent=parent,
                   spec={"restart": {"policy": "never"}, **spec},
                   created_at=NOW, killed_at=None, stop_requested_at=None,
                   last_exit=Exit(NOW, "success", "exited", "0", False), exit_count=1)


def _rows() -> dict[str, dict[str, object]]:
    plain = MissionView(_mission("a"), Status("stopped", exit_code=0), {})
    environment = {"worktree": {"name": "b", "path": "/src/.overmind/worktrees/b", "base": "main"},
                   "branch": "overmind/b", "ports": {"PORT": 3100}, "services": []}
    isolated = MissionView(_mission("b", worktree="b"), Status("running"), {"ActiveState": "active"}, None, environment)
    record = Blueprint(id="c", name="pipeline", slice="overmind-c.slice", file="/src/pipeline.toml", cwd="/src",
                       agents=["build"], applied_at=NOW, created_at=NOW, killed_at=None, stop_requested_at=None)
    member = MissionView(_mission("d", parent="c", blueprint={"agent": "build", "replica": 1, "depends_on": []}),
                         Status("stopped", exit_code=0), {})
    blueprint = BlueprintView(record, Status("done", exit_code=0), [member])
    return {"mission": plain.to_json(), "mission in a worktree": isolated.to_json(), "agent": member.to_json(),
            "blueprint": blueprint.to_json(), "ps row": Row(plain, children=("x",)).to_json(),
            "ps blueprint row": Row(blueprint).to_json()}


def test_every_row_type_carries_every_documented_key() -> None:
    mission_keys = documented_keys("A mission")
    expected = {"mission": mission_keys, "mission in a worktree": mission_keys, "agent": mission_keys,
                "blueprint": mission_keys | documented_keys("A blueprint"),
                "ps row": mission_keys | {"children"}, "ps blueprint row": mission_keys | {"children"}}
    missing = {kind: sorted(expected[kind] - set(row)) for kind, row in _rows().items() if expected[kind] - set(row)}
    assert not missing, f"keys docs/json.md promises are missing: {missing}"


def test_the_documented_key_lists_are_read_from_the_docs() -> None:
    assert {"worktree", "branch", "ports", "services", "status", "exit_code"} <= documented_keys("A mission")
    assert documented_keys("A blueprint") == {"file", "applied_at", "agents"}
    assert re.search(r'`ps --json` rows add `"children"', (DOCS / "json.md").read_text())
