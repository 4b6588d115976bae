"""A session on the dashboard: the message box sends, the reply streams into the timeline."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

pytest.importorskip("aiohttp")

from tests.dashboard.conftest import Events  # noqa: E402
from tests.sessions.conftest import Claude  # noqa: E402


@pytest.mark.usefixtures("in_process")
def test_a_message_from_the_page_is_answered_in_the_live_timeline(claude: Claude, name: str) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from overmind.dashboard import token
    from overmind.dashboard.app import create_app

    started = claude.run(name, session=True)
    claude.answer(name, "warm up")  # one turn done before the page opens

    async def visit() -> tuple[str, list[dict[str, Any]], Any]:
        async with TestClient(TestServer(create_app())) as client:
            await client.get(f"/missions?token={token.ensure()}")
            html = await (await client.get(f"/missions/{started['id']}")).text()
            seq = re.search(r'data-seq="(\d+)"', html)
            assert seq is not None and 'id="message"' in html and "echo: warm up" in html
            async with client.get(f"/missions/{started['id']}/timeline/stream?after={seq[1]}") as stream:
                events = Events(stream)
                sent = await client.post(f"/missions/{started['id']}/send", data={"text": "from the page"},
                                         headers={"X-CSRF-Token": token.derived(token.ensure(), "csrf")})
                assert sent.status == 200 and (await sent.json())["sent"] is True
                steps = [await events.until(lambda f: "echo: from the page" in f["data"]["html"], timeout=60)]
                steps.append(await events.until(lambda f: "k-result" in f["data"]["html"], timeout=60))
            timeline = await (await client.get(f"/api/v1/missions/{started['id']}/timeline")).json()
            return html, steps, timeline

    html, steps, timeline = asyncio.run(visit())
    assert steps[0]["event"] == "step" and int(steps[0]["id"]) > 0
    assert "turn cost" in steps[1]["data"]["html"]
    parts = [(p["kind"], p["text"]) for step in timeline for p in step["parts"]]
    assert ("you", "from the page") in parts and ("text", "echo: from the page") in parts
    claude.om("stop", name)
