"""The memory's control layer (what the CLI, the dashboard and the TUI call), through the real
socket-activated service; and the watch that tells when the memories may have changed."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from overmind.akasha.eventlog import EventLog
from overmind.control import memory
from overmind.control.memory_watch import MemoryWatch
from overmind.errors import NotFound
from tests.helpers import Overmind


@pytest.fixture
def in_process(akasha_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(key, akasha_env[key])
    monkeypatch.delenv("OVERMIND_AKASHA_URL", raising=False)


def test_the_control_calls_answer_as_the_cli_does(in_process: None, ak: Overmind, scope: str) -> None:
    taught = memory.remember("Staging deploys need the VPN; production ones run from CI only.", kind="decision",
                             tags=["deploy"], scope=scope, agent="dashboard")
    stored = taught["memory"]
    assert taught["created"] and stored["agent"] == "dashboard" and stored["scope"] == scope
    listed = memory.newest(scopes=[scope])
    assert listed.total == 1 and listed.memories == json.loads(ak("akasha", "ls", "--scope", scope, "--json").stdout)
    hits = memory.search("how do I ship to staging?", scopes=[scope])
    assert [hit["id"] for hit in hits] == [stored["id"]] and hits[0]["score"] > 0.3
    assert memory.show(stored["id"]) == json.loads(ak("akasha", "show", stored["id"], "--json").stdout)
    assert memory.stats()["memories"] >= 1
    assert memory.forget([stored["id"], "0000000000"]) == (
        memory.Forgotten([stored["id"]], ["0000000000"]))
    with pytest.raises(NotFound, match="no memory"):
        memory.show(stored["id"])


def test_a_missions_consulted_and_fed_memories_come_from_the_mission_event_log(in_process: None, scope: str) -> None:
    known = memory.remember("The cache warmer must run after the migration, never before it.", scope=scope)["memory"]
    gone = memory.remember("The old billing job was retired in March.", scope=scope)["memory"]
    EventLog().note_memories("m-1234", "fixer", "consulted", [known["id"], gone["id"]])
    # What a mission feeds (at its end, or through its MCP tools) carries its id: the service notes it.
    fed = memory.remember("Run the billing tests with --tz=UTC.", scope=scope, agent="fixer", mission="m-1234")
    memory.forget([gone["id"]])
    found = memory.of_mission("m-1234")
    assert found.problem is None
    assert [m["id"] for m in found.consulted] == [known["id"], gone["id"]]
    assert found.consulted[1] == {"id": gone["id"], "forgotten": True}
    assert [m["id"] for m in found.fed] == [fed["memory"]["id"]] and found.fed[0]["text"].startswith("Run the")
    assert memory.of_mission("never-ran") == memory.MissionMemories([], [], None)


def test_the_watch_tells_a_remembered_memory_and_not_a_read(in_process: None, scope: str) -> None:
    memory.stats()  # the service started (opening the store at its start may write it)

    async def scenario() -> None:
        watch = MemoryWatch()
        await watch.start()
        told = watch.subscribe()
        try:
            first = asyncio.ensure_future(anext(told))
            await asyncio.to_thread(memory.newest, scopes=[scope])
            await asyncio.to_thread(memory.search, "anything at all", scopes=[scope])
            await asyncio.sleep(1.5)
            assert not first.done()  # reading wrote nothing
            started = time.monotonic()
            await asyncio.to_thread(memory.remember, "Backups are verified every Sunday by restoring one.",
                                    scope=scope)
            await asyncio.wait_for(first, 10)
            assert time.monotonic() - started < 2.0
        finally:
            await watch.close()

    asyncio.run(scenario())


def test_without_akasha_installed_the_calls_say_so_with_the_install_command(
        in_process: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from overmind.akasha import client

    monkeypatch.setattr(client, "installed", lambda: False)  # chromadb and the model not importable
    said = memory.unavailable()
    assert said is not None and "not installed" in said and "install-akasha.sh" in said
    assert "\n" not in said
