"""Agent spending from the results agents reported: running totals per process, per day, per tree."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from overmind.control import costs
from overmind.store import Mission, Store


def result(store: Store, mission_id: str, at: float, total: float) -> None:
    store.add_event(mission_id, at, "result", json.dumps({"type": "result", "total_cost_usd": total}))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    return Store()


def agent(store: Store, mid: str, parent: str | None = None, provider: str = "claude") -> None:
    store.add(Mission(mid, f"m-{mid}", "u", "session", provider, "p", "/", parent, {}, time.time(), None, None))


def test_a_cli_that_reports_each_turn_s_cost_is_summed_and_one_that_reports_none_costs_nothing(store: Store) -> None:
    agent(store, "bbbbbbbb", provider="opencode")
    for cost in (0.02, 0.01):  # opencode: the turn's own cost, pieced together from its steps
        finish = {"type": "step_finish", "sessionID": "ses_1", "part": {"reason": "stop", "cost": cost}}
        store.add_event("bbbbbbbb", time.time(), "result", json.dumps(finish))
    agent(store, "cccccccc", provider="codex")  # codex: tokens, no money
    store.add_event("cccccccc", time.time(), "result", json.dumps({"method": "turn/completed", "params": {
        "threadId": "t", "turn": {"status": "completed", "items": []}}, "overmind": {"tokens": [10, 5]}}))
    assert costs.by_mission(store) == {"bbbbbbbb": pytest.approx(0.03)}


def test_running_totals_add_up_across_a_restart_and_per_day(store: Store) -> None:
    agent(store, "aaaaaaaa")
    yesterday = time.time() - 86400
    result(store, "aaaaaaaa", yesterday, 0.10)
    result(store, "aaaaaaaa", yesterday + 1, 0.25)   # +0.15 in the same process
    result(store, "aaaaaaaa", time.time(), 0.05)     # a new process: its own total
    result(store, "aaaaaaaa", time.time(), 0.07)
    days = costs.by_day(store)
    assert days[datetime.fromtimestamp(yesterday).strftime("%Y-%m-%d")] == pytest.approx(0.25)
    assert costs.today(store) == pytest.approx(0.07)
    assert costs.by_mission(store) == {"aaaaaaaa": pytest.approx(0.32)}


def test_a_tree_costs_what_everything_below_it_spent(store: Store) -> None:
    agent(store, "aaaaaaaa")
    agent(store, "bbbbbbbb", parent="aaaaaaaa")
    agent(store, "cccccccc", parent="bbbbbbbb")
    agent(store, "dddddddd", provider="raw")
    for mid, total in (("aaaaaaaa", 1.0), ("bbbbbbbb", 0.5), ("cccccccc", 0.25)):
        result(store, mid, time.time(), total)
    trees = costs.by_tree(store)
    assert (trees["aaaaaaaa"], trees["bbbbbbbb"], trees["cccccccc"], trees["dddddddd"]) == (1.75, 0.75, 0.25, 0.0)
    assert [s.to_json()["usd"] for s in costs.spending(store)] == [1.0, 0.5, 0.25]
