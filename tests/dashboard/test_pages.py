"""Every page and JSON route, through aiohttp's test client, against real missions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.dashboard.conftest import Events, eventually
from tests.helpers import Overmind, blueprint_file, must

pytestmark = [pytest.mark.asyncio(loop_scope="package"), pytest.mark.systemd]
Client = TestClient[Any, Any]


async def page(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, text[:500]
    return text


async def json_of(client: Client, path: str) -> Any:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_mission_started_from_the_cli_is_listed_with_its_live_state(client: Client, om: Overmind,
                                                                              name: str) -> None:
    started = om.run("sleep 300", "--name", name, "--memory-max", "64M")
    html = await eventually(lambda: _with(client, "/missions", f'data-id="{started["id"]}"'), what="the row")
    row = html.split(f'data-id="{started["id"]}"')[1].split("</tr>")[0]
    assert "s-running" in row and name in row and "sleep 300" in row
    assert "<meter" in row  # memory against MemoryMax
    table = await page(client, "/missions/table")
    assert started["id"] in table and "<html" not in table
    om("stop", name)


async def _with(client: Client, path: str, needle: str) -> str | None:
    text = await page(client, path)
    return text if needle in text else None


async def test_what_needs_you_comes_first(client: Client, om: Overmind, name: str) -> None:
    om.run("sleep 300", "--name", f"{name}-calm")
    crashed = om.run("exit 4", "--name", f"{name}-crash")
    must(lambda: om.status(crashed["id"]) == "crashed", what="the crash")

    async def crash_first() -> str | None:
        html = await page(client, "/missions")
        rows = html.split('<tbody id="rows">')[1]
        if crashed["id"] not in rows or f"{name}-calm" not in rows:
            return None
        return html if rows.index(crashed["id"]) < rows.index(f"{name}-calm") else None

    html = await eventually(crash_first, what="the crashed mission listed first")
    row = html.split(f'data-id="{crashed["id"]}"')[1].split("</tr>")[0]
    assert "needs you" in row and "exit 4" in row
    om("stop", f"{name}-calm")


async def test_the_mission_page_shows_info_logs_and_actions(client: Client, om: Overmind, name: str) -> None:
    started = om.run("echo first-line; echo second-line; sleep 300", "--name", name)
    must(lambda: "second-line" in om.logs(name), what="the output in the journal")
    html = await page(client, f"/missions/{name}")
    for field in ("status", "unit", "cgroup", "restarts", "limits", started["id"], "sleep 300"):
        assert field in html
    assert "first-line" in html and "second-line" in html
    for action in ("stop", "kill", "restart"):
        assert f'action="/missions/{started["id"]}/{action}"' in html
    searched = await page(client, f"/missions/{started['id']}?q=SECOND")
    log = searched.split('id="log"')[1].split("</section>")[0]
    assert "1 line contain" in searched and "second-line" in log and "first-line" not in log
    facts = await page(client, f"/missions/{started['id']}/facts")
    assert "s-running" in facts and "<html" not in facts
    om("stop", name)


async def test_a_session_page_tells_how_to_attach(client: Client, om: Overmind, name: str) -> None:
    om.run("cat", "--name", name, "--type", "session")
    html = await page(client, f"/missions/{name}")
    assert f"overmind attach {name}" in html
    om("stop", name)


async def test_an_unknown_mission_is_a_404_page_and_json(client: Client) -> None:
    html = await page(client, "/missions/no-such-mission", status=404)
    assert "no mission named" in html and "Traceback" not in html
    response = await client.get("/api/v1/missions/no-such-mission")
    assert response.status == 404
    assert (await response.json())["error"] == "no mission named 'no-such-mission'"
    assert "no such page" in await page(client, "/nowhere", status=404)


async def test_the_api_answers_with_the_cli_json_shapes(client: Client, om: Overmind, name: str) -> None:
    started = om.run("echo api-line; sleep 300", "--name", name)
    must(lambda: "api-line" in om.logs(name), what="the line")
    ours, theirs = await json_of(client, f"/api/v1/missions/{name}"), om.info(name)
    assert set(ours) == set(theirs) and ours["id"] == started["id"] and ours["status"] == theirs["status"]
    listed = await json_of(client, "/api/v1/missions?all=1")
    assert set(listed[0]) == set(om.json("ps", "--all")[0])
    assert started["id"] in {row["id"] for row in listed}
    lines = await json_of(client, f"/api/v1/missions/{name}/logs?lines=5")
    assert [line["message"] for line in lines][-1] == "api-line"
    assert set(lines[-1]) == {"time", "id", "name", "message", "cursor"}  # as `logs --json` has them
    assert set(await json_of(client, "/api/v1/status")) >= {"mode", "systemd_version", "missions"}
    assert {c["name"] for c in await json_of(client, "/api/v1/doctor")} >= {"user manager", "journald"}
    assert set(await json_of(client, "/api/v1/costs")) >= {"today_usd", "by_day", "by_mission", "by_tree"}
    assert isinstance(await json_of(client, "/api/v1/rituals"), list)
    assert isinstance(await json_of(client, "/api/v1/quests"), list)
    assert await json_of(client, f"/api/v1/missions/{name}/events") == []
    om("stop", name)


async def test_the_stop_button_stops_the_unit(client: Client, om: Overmind, name: str, csrf: str) -> None:
    started = om.run("sleep 300", "--name", name)
    must(lambda: om.info(name)["os_pid"], what="the mission to run")  # as a person sees it, before stopping
    html = await page(client, f"/missions/{started['id']}")
    form = html.split(f'action="/missions/{started["id"]}/stop"')[1].split("</form>")[0]
    assert f'name="csrf" value="{csrf}"' in form  # what the button posts
    response = await client.post(f"/missions/{started['id']}/stop", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == f"/missions/{started['id']}"
    must(lambda: om.status(name) == "stopped", what="the stop recorded")
    assert om.unit_property(started["unit"], "ActiveState") in ("inactive", "failed", "")


async def test_kill_and_restart_from_the_api(client: Client, om: Overmind, name: str, csrf: str) -> None:
    started = om.run("sleep 300", "--name", name)
    headers = {"X-CSRF-Token": csrf}
    killed = await client.post(f"/api/v1/missions/{name}/kill", headers=headers)
    assert killed.status == 200 and await killed.json() == [{"id": started["id"], "name": name}]
    assert om.status(started["id"]) == "killed"
    restarted = await client.post(f"/api/v1/missions/{started['id']}/restart", headers=headers)
    assert (await restarted.json())[0]["id"] == started["id"]
    must(lambda: om.status(started["id"]) == "running", what="the new run")
    om("stop", started["id"])


async def test_the_run_form_starts_a_mission_and_refuses_bad_input_in_one_line(
        client: Client, om: Overmind, name: str, csrf: str, tmp_path: Path) -> None:
    form = {"csrf": csrf, "command": "echo from-the-form; sleep 300", "name": name, "cwd": str(tmp_path),
            "memory_max": "100M", "env": "GREETING=hi\n"}
    response = await client.post("/missions", data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    info = om.info(name)
    assert response.headers["Location"] == f"/missions/{info['id']}"
    assert info["limits"]["memory_max"] == 100 * 1024 * 1024 and info["cwd"] == str(tmp_path)
    bad = await client.post("/missions", data=form | {"name": f"{name}-2", "memory_max": "lots"})
    text = await bad.text()
    assert bad.status == 400 and "memory limit" in text and "Traceback" not in text
    relative = await client.post("/missions", data=form | {"name": f"{name}-3", "cwd": "work"})
    assert relative.status == 400 and "absolute path" in await relative.text()
    om("stop", name)


async def test_the_change_stream_tells_a_start_and_the_finish(client: Client, om: Overmind, name: str) -> None:
    async with client.get("/events") as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = Events(response)
        assert (await events.next())["event"] == "hello"
        started = await asyncio.to_thread(om.run, "sleep 1", "--name", name)
        first = await events.until(lambda f: f["event"] == "change" and f["data"]["id"] == started["id"])
        assert first["data"]["event"] == "started" and first["data"]["type"] == "mission"
        assert f'data-id="{started["id"]}"' in first["data"]["html"]
        done = await events.until(lambda f: f["event"] == "change" and f["data"]["id"] == started["id"]
                                  and f["data"]["event"] == "finished")
        assert done["data"]["mission"]["status"] == "stopped"


async def test_the_log_stream_resumes_after_the_last_event_id(client: Client, om: Overmind, name: str,
                                                             tmp_path: Path) -> None:
    fifo = tmp_path / "lines"
    fifo.write_text("")
    started = om.run(f"tail -f {fifo}", "--name", name)
    must(lambda: om.status(name) == "running" and om.info(name)["os_pid"], what="tail to run")

    async def say(text: str) -> None:
        with fifo.open("a") as f:
            f.write(text + "\n")

    async with client.get(f"/missions/{started['id']}/logs/stream?since=0") as response:
        events = Events(response)
        await say("one")
        first = await events.until(lambda f: f["event"] == "line" and f["data"]["message"] == "one")
        cursor = first["id"]
        assert cursor and cursor.startswith("s=")
    await say("two")
    await say("three")
    async with client.get(f"/missions/{started['id']}/logs/stream", headers={"Last-Event-ID": cursor}) as response:
        events = Events(response)
        resumed = [(await events.next())["data"]["message"] for _ in range(2)]
    assert resumed == ["two", "three"]
    bad = await client.get(f"/missions/{started['id']}/logs/stream", headers={"Last-Event-ID": "x; rm -rf /"})
    assert bad.status == 400
    om("stop", name)


async def test_the_blueprint_page_draws_the_dag_with_each_agent_state(client: Client, om: Overmind,
                                                                      tmp_path: Path) -> None:
    file = blueprint_file(tmp_path, f"dag-{tmp_path.name[-6:]}", {
        "build": {"command": "true"},
        "test": {"command": "sleep 300", "depends_on": ["build"]},
    })
    applied = json.loads(om("apply", file, "--json").stdout)
    must(lambda: om.info(applied["id"])["agents"][1]["status"] == "running", what="test to run")
    html = await page(client, f"/blueprints/{applied['id']}")
    svg = html.split('<div id="graph"')[1].split("</svg>")[0]
    assert "<svg" in svg and ">build<" in svg and ">test<" in svg and 'class="edge"' in svg
    assert "state-stopped" in svg and "state-running" in svg
    assert "keep" in html  # the diff: applying again would keep both agents
    drawing = await page(client, f"/blueprints/{applied['id']}/graph")
    assert drawing.startswith("<svg")
    listed = await page(client, "/blueprints")
    assert applied["id"] in listed
    assert (await json_of(client, f"/api/v1/blueprints/{applied['id']}/graph"))["edges"]
    assert "changes" in await json_of(client, f"/api/v1/blueprints/{applied['id']}/diff")
    assert (await client.get(f"/missions/{applied['id']}", allow_redirects=False)).status == 303
    om("stop", applied["id"])


async def test_rituals_are_listed_and_run_now_runs_one(client: Client, om: Overmind, name: str, csrf: str) -> None:
    om("ritual", "add", name, "--every", "1h", "echo ritual-ran")
    html = await page(client, "/rituals")
    assert f'data-name="{name}"' in html and "every 1h" in html
    response = await client.post(f"/rituals/{name}/run", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303
    must(lambda: next(r for r in om.json("rituals") if r["name"] == name)["runs"] >= 1, what="the run")
    disabled = await client.post(f"/api/v1/rituals/{name}/disable", headers={"X-CSRF-Token": csrf})
    assert disabled.status == 200
    assert not next(r for r in om.json("rituals") if r["name"] == name)["enabled"]
    missing = await client.post("/rituals/no-such-ritual/run", data={"csrf": csrf})
    assert missing.status == 404
    om("ritual", "rm", name)


async def test_costs_and_host_pages_render(client: Client) -> None:
    costs = await page(client, "/costs")
    assert "per day" in costs and "<svg" in costs
    host = await page(client, "/host")
    assert "doctor" in host and "journald" in host and "user manager" in host
