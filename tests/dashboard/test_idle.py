"""An idle dashboard: with no page open it holds no change feed, so missions that come and go
cost it nothing, and the next page to open catches up on them."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from overmind.dashboard.live import HUB, LINGER_S
from overmind.dashboard.towers import TOWERS
from tests.dashboard.conftest import eventually
from tests.helpers import Overmind

pytestmark = [pytest.mark.asyncio(loop_scope="package"), pytest.mark.systemd]


async def test_a_dashboard_with_no_page_open_reads_nothing_while_missions_come_and_go_and_catches_up(
        client: TestClient[Any, Any], server: TestServer, om: Overmind, name: str) -> None:
    hub = server.app[HUB]
    hub.linger_s = 0.2
    await server.app[TOWERS].worktrees.close()  # a worktrees page opened before holds the feed a minute
    try:
        assert (await client.get("/missions")).status == 200  # a page used the feed; then none is open

        async def resting() -> bool:
            return hub.feed is None and not hub.clients

        await eventually(resting, what="the feed closed once no page was open")
        before = hub.counters.copy()
        names = [om.run("sleep 0.2", "--name", f"{name}-{n}")["name"] for n in range(12)]
        om("wait", *names)
        # the missions came and went: the dashboard read no unit, built no view
        assert hub.feed is None and hub.counters == before
        html = await (await client.get("/missions?all=1")).text()
        for mission in names:
            row = html.split(f">{mission}<")[1].split("</tr>")[0]
            assert "stopped" in row, row
    finally:
        hub.linger_s = LINGER_S
