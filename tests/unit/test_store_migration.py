"""A store made by the previous release (schema 3, blueprints kept as missions) keeps every row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from overmind.store import SCHEMA_VERSION, Store

V3_STORE = Path(__file__).parent.parent / "data" / "store-v3.db"


@pytest.fixture
def upgraded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    shutil.copy(V3_STORE, tmp_path / "state.db")
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    return Store()


def test_a_version_3_store_is_upgraded_in_place(upgraded: Store) -> None:
    assert upgraded.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_blueprints_move_to_their_own_table_with_their_file_and_agents(upgraded: Store) -> None:
    blueprint = upgraded.blueprint("pipe")
    assert blueprint is not None
    assert (blueprint.id, blueprint.file, blueprint.agents, blueprint.applied_at) == (
        "cccccccc", "/tmp/pipe.toml", ["setup", "build"], 1004.5)
    assert blueprint.slice == "overmind\\x2dagent-cccccccc.slice"
    assert upgraded.get("pipe") is None  # no longer a mission
    assert [m.name for m in upgraded.children("cccccccc")] == ["pipe.setup", "pipe.build"]


def test_missions_keep_their_runs_events_and_sessions(upgraded: Store) -> None:
    plain = upgraded.get("plain")
    assert plain is not None and plain.exit_count == 1 and plain.last_exit is not None
    assert plain.last_exit.code == 0 and plain.last_exit.started_at is None
    build = upgraded.get("pipe.build")
    assert build is not None and build.last_exit is not None and build.last_exit.code == 1
    assert upgraded.session_id("bbbbbbbb") == "11111111-2222-3333-4444-555555555555"
    assert [e.type for e in upgraded.events("bbbbbbbb")] == ["result"]
    assert [r.exit.code for r in upgraded.ritual_runs("overmind-agent-ritual-nightly.service")] == [0]


def test_opening_an_upgraded_store_again_changes_nothing(upgraded: Store, tmp_path: Path) -> None:
    before = upgraded.all(), upgraded.blueprints()
    upgraded.db.close()
    again = Store()
    assert (again.all(), again.blueprints()) == before


def test_an_older_release_opening_the_store_in_between_does_not_break_the_next_upgrade(
        upgraded: Store, tmp_path: Path) -> None:
    upgraded.db.execute("PRAGMA user_version = 3")  # what the previous release writes back
    upgraded.db.close()
    again = Store()
    assert again.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    blueprint = again.blueprint("pipe")
    assert blueprint is not None and blueprint.agents == ["setup", "build"]
