"""The dashboard and the TUI over several hosts (loopback sshd hosts): the dashboard's hosts page
with `hosts ls`'s facts, every host's missions with a host column and filter, the API's
`?hosts=`, and stop on another host's mission (the real dashboard process); the TUI's `:hosts`
view (Textual's pilot). What a host sends is shown, never obeyed."""

from __future__ import annotations

import asyncio
import io
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import Overmind, must
from tests.hosts.conftest import spawn, unique
from tests.hosts.sshd import Sshd

pytestmark = pytest.mark.systemd


class Dashboard:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def get(self, path: str) -> tuple[str, dict[str, str]]:
        return self._ask(urllib.request.Request(self.url + path))

    def post(self, path: str) -> Any:
        body, _ = self._ask(urllib.request.Request(self.url + path, data=b"{}", method="POST",
                                                   headers={"Content-Type": "application/json"}))
        return json.loads(body)

    def _ask(self, request: urllib.request.Request) -> tuple[str, dict[str, str]]:
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json" if "/api/" in request.full_url else "text/html")
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read().decode(), dict(response.headers)


@pytest.fixture
def dashboard(hom: Overmind) -> Iterator[Dashboard]:
    served = spawn(hom.env, "dashboard", "--port", "0")
    try:
        assert served.stdout is not None
        line = served.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/?\S*\?token=(\S+)", line)
        assert found, line + (served.stderr.read() if served.stderr and served.poll() is not None else "")
        yield Dashboard(found[1], found[2])
    finally:
        served.terminate()
        served.communicate(timeout=20)


def test_the_dashboard_shows_every_hosts_missions_and_stops_one_on_another_host(
        hom: Overmind, loopback: dict[str, Sshd], dashboard: Dashboard) -> None:
    names = {host: unique(f"dash-{host}") for host in ("local", "h1", "h2")}
    hostile = "echo '<script>alert(1)</script>\x1b[31m'; sleep 300"
    hom.run("sleep 300", "--name", names["local"])
    for host in ("h1", "h2"):
        hom("run", "--on", host, "--name", names[host], hostile)
    hom("hosts", "add", "gone", "ssh://root@127.0.0.1:1")
    try:
        body, headers = dashboard.get("/api/v1/missions?hosts=all")
        assert {(host, name) for host, name in names.items()} <= {(r["host"], r["name"]) for r in json.loads(body)}
        assert headers["X-Overmind-Unreachable"] == "gone: unreachable (ssh: connection refused)"
        body, _ = dashboard.get("/api/v1/missions?hosts=h2")
        assert {r["host"] for r in json.loads(body)} == {"h2"}
        listed = {h["name"]: h for h in json.loads(dashboard.get("/api/v1/hosts")[0])}
        assert list(listed) == ["local", "gone", "h1", "h2"]
        assert listed["h1"]["reachable"] and listed["h1"]["overmind_version"] and not listed["gone"]["reachable"]

        page, _ = dashboard.get("/hosts")
        for host, name in names.items():
            assert f'data-host="{host}" data-name="{name}"' in page
        assert "gone: unreachable (ssh: connection refused)" in page
        assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;^[[31m" in page
        assert "\x1b" not in page
        one, _ = dashboard.get("/hosts?host=h1")
        assert f'data-name="{names["h1"]}"' in one and f'data-name="{names["h2"]}"' not in one

        assert json.loads(dashboard.get(f"/api/v1/missions/h1:{names['h1']}")[0])["host"] == "h1"
        dashboard.post(f"/api/v1/missions/h1:{names['h1']}/stop")
        assert hom.json("info", f"h1:{names['h1']}")["status"] == "stopped"
        assert hom.json("info", f"h2:{names['h2']}")["status"] == "running"
        with pytest.raises(urllib.error.HTTPError) as refused:
            dashboard.get("/api/v1/missions/gone:x")
        assert refused.value.code >= 400 and "gone: unreachable" in refused.value.read().decode()
    finally:
        hom("hosts", "rm", "gone")
        hom("stop", *(f"{host}:{name}" for host, name in names.items()), check=False)
    must(lambda: hom.json("info", f"h2:{names['h2']}")["status"] == "stopped", 30, "h2's mission stopped")


def test_the_tuis_hosts_view_lists_every_hosts_missions_filters_them_and_stops_one_on_another_host(
        hom: Overmind, loopback: dict[str, Sshd], monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console
    from textual.widgets import DataTable, Static

    from overmind.tui.screens.hosts import Hosts
    from overmind.tui.widgets import Confirm
    from tests.tui.conftest import command_input, nexus, until

    for key in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR", "OVERMIND_SSH_CONFIG"):
        monkeypatch.setenv(key, hom.env[key])
    names = {host: unique(f"tui-{host}") for host in ("h1", "h2")}
    for host, name in names.items():
        hom("run", "--on", host, "--name", name, "echo '\x1b[2Jwiped'; sleep 300")

    def machines(app: object) -> str:
        """The hosts' facts as drawn (wide enough that no cell is cut)."""
        screen = app.screen  # type: ignore[attr-defined]
        if not isinstance(screen, Hosts):
            return ""
        console = Console(width=300, file=io.StringIO(), record=True)
        console.print(screen.query_one("#machines", Static).content)
        return console.export_text()

    def rows(app: object) -> dict[str, list[str]]:
        screen = app.screen  # type: ignore[attr-defined]
        if not isinstance(screen, Hosts):
            return {}
        table = screen.query_one(DataTable)
        return {str(key.value): [str(cell) for cell in table.get_row(key)] for key in table.rows}

    async def scenario() -> None:
        async with nexus(size=(160, 40)) as (app, pilot):
            await pilot.press("8")
            await until(pilot, lambda: {f"h1:{names['h1']}", f"h2:{names['h2']}"} <= set(rows(app)), 60,
                        "both hosts' missions")
            text = machines(app)
            assert text.splitlines()[0].split()[:3] == ["HOST", "ADDRESS", "STATE"]
            assert any(line.split()[:1] == ["h1"] and "reachable" in line for line in text.splitlines())
            shown = rows(app)[f"h2:{names['h2']}"]
            assert shown[:4] == ["h2", names["h2"], "task", "running"]
            assert "\x1b" not in shown[5] and "^[[2Jwiped" in shown[5]
            await pilot.press("slash")
            command_input(app).value = "^h2$"
            await pilot.press("enter")
            assert f"h2:{names['h2']}" in rows(app) and all(key.startswith("h2:") for key in rows(app))
            app.screen.query_one(DataTable).move_cursor(row=list(rows(app)).index(f"h2:{names['h2']}"))
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, Confirm), what="the question")
            await pilot.press("y")
            await until(pilot, lambda: rows(app).get(f"h2:{names['h2']}", [""] * 4)[3] == "stopped", 60,
                        "h2's mission stopped")

    try:
        asyncio.run(asyncio.wait_for(scenario(), 150))
    finally:
        hom("stop", *(f"{host}:{name}" for host, name in names.items()), check=False)
    assert hom.json("info", f"h2:{names['h2']}")["status"] == "stopped"
