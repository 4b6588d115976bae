"""The memory pages and their API, through aiohttp's test client and the real memory service."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from tests.dashboard.conftest import Events
from tests.helpers import Overmind

pytestmark = [pytest.mark.asyncio(loop_scope="package"), pytest.mark.systemd]
Client = TestClient[Any, Any]


@pytest.fixture
def scope(request: pytest.FixtureRequest) -> str:
    return f"test/{request.node.name[:30]}-{secrets.token_hex(3)}"


def remember(om: Overmind, text: str, scope: str, *options: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(om("akasha", "remember", text, "--scope", scope, *options, "--json",
                                          timeout=180).stdout)["memory"]
    return found


async def text_of(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, text[:500]
    return text


async def test_the_page_lists_the_newest_and_searches_by_meaning_as_the_cli_does(client: Client, om: Overmind,
                                                                                 scope: str) -> None:
    pitfall = remember(om, "The nightly export crashes on CSV rows with a lone \"<script>\" quote.", scope,
                       "--kind", "pitfall")
    howto = remember(om, "Rotate the API keys with make rotate-keys; it restarts the workers.", scope,
                     "--kind", "howto")
    html = await text_of(client, f"/memory?scope={quote(scope)}")
    rows = html.split('id="memories"')[1].split("</tbody>")[0]
    assert rows.index(howto["id"]) < rows.index(pitfall["id"])  # the newest first
    assert "&lt;script&gt;" in rows and "<script>" not in rows
    stats = html.split('id="memory-stats">')[1].split("</p>")[0]  # count, store, model, the service
    assert "memories (remembered" in stats and "store: local store at " in stats
    assert "· model " in stats and "service pid " in stats

    found = await text_of(client, f"/memory/rows?q={quote('how do I change the credentials')}&scope={quote(scope)}")
    assert "<html" not in found and found.index(howto["id"]) < found.index(pitfall["id"]) and "ranked" in found
    only = await text_of(client, f"/memory/rows?kind=pitfall&scope={quote(scope)}")
    assert pitfall["id"] in only and howto["id"] not in only

    asked = f"/api/v1/memory?q={quote('export breaks on quotes')}&n=2&scope={quote(scope)}"
    api = await (await client.get(asked)).json()
    cli = json.loads(om("akasha", "recall", "export breaks on quotes", "-n", "2", "--scope", scope, "--json").stdout)
    assert [hit["id"] for hit in api] == [hit["id"] for hit in cli] == [pitfall["id"], howto["id"]]
    newest = await (await client.get(f"/api/v1/memory?scope={quote(scope)}")).json()
    assert newest == json.loads(om("akasha", "ls", "--scope", scope, "--json").stdout)
    bad = await client.get("/api/v1/memory?kind=rumour")
    assert bad.status == 400 and "unknown kind" in (await bad.json())["error"]


async def test_remember_and_forget_from_the_pages(client: Client, om: Overmind, scope: str, csrf: str) -> None:
    form = {"csrf": csrf, "text": "The <b>staging</b> database is reset every Monday at 06:00.", "kind": "fact",
            "scope": scope, "tags": "staging, db"}
    response = await client.post("/memory/remember", data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    memory_id = response.headers["Location"].split("/memory/")[1].split("?")[0]
    page = await text_of(client, response.headers["Location"])
    assert "The &lt;b&gt;staging&lt;/b&gt; database" in page and "remembered:" in page and "dashboard" in page
    assert json.loads(om("akasha", "show", memory_id, "--json").stdout)["tags"] == ["staging", "db"]
    empty = await client.post("/memory/remember", data=form | {"text": "  "})
    assert empty.status == 400 and "empty memory" in await empty.text()

    button = page.split(f'action="/memory/{memory_id}/forget"')[1].split("</form>")[0]
    assert f'name="csrf" value="{csrf}"' in button
    forgot = await client.post(f"/memory/{memory_id}/forget", data={"csrf": csrf}, allow_redirects=False)
    assert forgot.status == 303 and f"forgot {memory_id}" in await text_of(client, forgot.headers["Location"])
    assert (await client.get(f"/memory/{memory_id}")).status == 404
    again = await client.post(f"/api/v1/memory/{memory_id}/forget", headers={"X-CSRF-Token": csrf})
    assert again.status == 404


async def test_an_open_page_is_told_when_a_memory_is_stored(client: Client, om: Overmind, scope: str) -> None:
    remember(om, "Warm the service first: the first request after a deploy is slow.", scope)
    async with client.get("/memory/stream") as response:
        events = Events(response)
        assert (await events.next())["event"] == "hello"
        remember(om, "The feature flags live in flags.yaml, reloaded on SIGHUP.", scope)
        await events.until(lambda frame: frame["event"] == "memory", timeout=20)


async def test_a_missions_page_shows_what_it_consulted_and_fed(client: Client, om: Overmind, name: str,
                                                               scope: str) -> None:
    from overmind.akasha.eventlog import EventLog

    started = om.run("sleep 300", "--name", name)
    consulted = remember(om, "Retries of the payment webhook must be idempotent: key them by event id.", scope)
    EventLog().note_memories(started["id"], name, "consulted", [consulted["id"]])
    fed = remember(om, "The webhook tests need the <fake> Stripe server on port 12111.", scope)
    om.env["OVERMIND_MISSION_ID"] = started["id"]  # as the agent's own tools send it
    taught = remember(om, "Payment webhooks arrive out of order; sort them by created.", scope)
    del om.env["OVERMIND_MISSION_ID"]
    html = await text_of(client, f"/missions/{name}/memories")
    consulted_part, fed_part = html.split("consulted at its start")[1].split("fed")
    assert consulted["id"] in consulted_part and taught["id"] in fed_part and fed["id"] not in html
    assert "idempotent" in consulted_part
    rows = await text_of(client, f"/memory/rows?scope={quote(scope)}")  # the source: the mission, linked
    taught_row, fed_row = (rows.split(f'data-id="{m["id"]}"')[1].split("</tr>")[0] for m in (taught, fed))
    assert f'href="/missions/{started["id"]}"' in taught_row and "/missions/" not in fed_row
    api = await (await client.get(f"/api/v1/missions/{name}/memories")).json()
    assert [m["id"] for m in api["consulted"]] == [consulted["id"]] and [m["id"] for m in api["fed"]] == [taught["id"]]
    om("stop", name)


async def test_without_akasha_the_page_says_so_in_one_line_with_the_install_command(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from overmind.akasha import client as akasha_client

    monkeypatch.setattr(akasha_client, "installed", lambda: False)  # chromadb and the model not importable
    html = await text_of(client, "/memory")
    problem = html.split('id="memory-problem">')[1].split("</p>")[0]
    assert "Akasha is not installed" in problem and "scripts/install-akasha.sh" in problem
    assert 'id="memories"' not in html and 'action="/memory/remember"' not in html
    assert "Worktrees" in await text_of(client, "/worktrees")  # nothing else breaks


async def test_a_memory_server_that_cannot_be_reached_is_one_line_and_nothing_else_breaks(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERMIND_AKASHA_URL", "http://127.0.0.1:9")  # a shared server that is down
    html = await text_of(client, "/memory")
    problem = html.split('id="memory-problem">')[1].split("</p>")[0]
    assert "cannot be reached" in problem and "\n" not in problem.strip()
    assert 'id="memories"' not in html and "Traceback" not in html
    found = await client.get("/api/v1/memory?q=anything")
    assert found.status >= 400 and "cannot be reached" in (await found.json())["error"]
    assert "Worktrees" in await text_of(client, "/worktrees")
