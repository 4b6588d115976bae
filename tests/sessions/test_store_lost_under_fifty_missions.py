"""The state store deleted, then corrupted, under 50 missions: each time the next command sets it
aside, rebuilds it from the journal, the units and the run log, and says so in one line; then
ps, info, logs, send --wait, wait and stop --cascade work on every mission as before."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.helpers import Overmind, must
from tests.sessions.conftest import Claude

KEPT = ("id", "name", "type", "provider", "status", "exit_code", "parent", "command", "restart_policy", "limits")


def _start_fifty(claude: Claude, name: str) -> dict[str, dict[str, Any]]:
    om = claude.om
    started = {f"s{i}": claude.run(f"{name}-s{i}", session=True) for i in range(5)}
    started["root"] = om.run("sleep 600", "--name", f"{name}-root")
    for i in range(4):
        started[f"child{i}"] = om.run("sleep 600", "--name", f"{name}-child{i}", "--parent", f"{name}-root")
    for i in range(30):
        started[f"task{i}"] = om.run("echo working; exec sleep 600", "--name", f"{name}-task{i}",
                                     *(["--restart", "on-failure", "--memory-max", "100M"] if i % 3 == 0 else []))
    for i in range(10):
        started[f"done{i}"] = om.run(f"echo finished {i}; exit {3 if i % 2 else 0}", "--name", f"{name}-done{i}")
    assert len(started) == 50
    must(lambda: all(om.status(m["id"]) not in ("restarting",) for m in started.values()), 30)
    for i in range(10):
        om("wait", started[f"done{i}"]["id"], check=False)
    return started


def _listing(om: Overmind) -> tuple[dict[str, dict[str, Any]], str]:
    proc = om("ps", "--all", "--json")
    return {row["id"]: {key: row[key] for key in KEPT} for row in json.loads(proc.stdout)}, proc.stderr


def _works_on_all(claude: Claude, name: str, started: dict[str, dict[str, Any]], before: dict[str, Any],
                  rebuilt: str) -> None:
    om = claude.om
    after, said = _listing(om)
    assert said.startswith(f"overmind: the state store {om.env['OVERMIND_STATE_DIR']}/state.db was {rebuilt}")
    assert len(said.splitlines()) == 1
    assert {i: after.get(i) for i in before} == before  # every mission, as ps showed it before
    for key in ("s0", "root", "child1", "task0", "task1", "done1"):
        info = om.info(started[key]["id"])
        assert {k: info[k] for k in KEPT} == before[started[key]["id"]]
    assert om.info(started["task0"]["id"])["limits"] == {"memory_max": 100 << 20}
    for i in range(10):
        done = started[f"done{i}"]["id"]
        assert om.logs(done)[0] == f"finished {i}"
        assert om("wait", done, check=False).returncode == (3 if i % 2 else 0)
    assert om.logs(started["task7"]["id"])[0] == "working"
    message = f"after the store was {rebuilt.split()[0]}"
    for i in range(5):
        assert claude.answer(f"{name}-s{i}", message)["text"] == f"echo: {message}"


def test_a_deleted_then_corrupted_store_is_rebuilt_and_every_command_works_on_fifty_missions(
        claude: Claude, name: str, tmp_path: Path) -> None:
    claude = Claude(Overmind(claude.om.env | {"OVERMIND_STATE_DIR": str(tmp_path / "state")}), claude.fake,
                    claude.home, claude.cwd)
    om = claude.om
    store = Path(om.env["OVERMIND_STATE_DIR"]) / "state.db"
    started = _start_fifty(claude, name)
    try:
        before, _ = _listing(om)
        assert len(before) == 50
        for path in store.parent.glob("state.db*"):
            if not path.name.endswith(".lock"):
                path.unlink()
        _works_on_all(claude, name, started, before, "missing")
        before, _ = _listing(om)  # the sessions have answered since
        store.write_bytes(os.urandom(8192))
        for side in ("-wal", "-shm"):
            store.with_name(store.name + side).unlink(missing_ok=True)
        _works_on_all(claude, name, started, before, "damaged (file is not a database)")
        assert len(list(store.parent.glob("state.db.broken-*"))) >= 1
        doctor = {check["name"]: check for check in om.json("doctor")}
        assert doctor["store"]["state"] == "ok"
        assert "50 mission(s)" in doctor["store rebuild"]["detail"]
        om("stop", "--cascade", f"{name}-root")
        must(lambda: all(om.status(started[k]["id"]) == "stopped" for k in ("root", "child0", "child3")), 20)
    finally:
        om("stop", *(m["id"] for m in started.values()), check=False)
