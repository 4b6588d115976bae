"""The token, the cookie, CSRF, the Host header, body limits and escaping: what an intruder meets."""

from __future__ import annotations

import os
import stat
from typing import Any

import pytest
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestClient, TestServer

from tests.dashboard.conftest import eventually
from tests.helpers import Overmind, must

pytestmark = [pytest.mark.asyncio(loop_scope="package"), pytest.mark.systemd]
Client = TestClient[Any, Any]
PAYLOAD = '<script>alert(1)</script> "><img src=x onerror=alert(2)> \x1b[31mred\x1b[0m'


async def test_a_request_without_the_token_is_refused(anonymous: ClientSession) -> None:
    for path in ("/missions", "/missions/anything", "/events", "/host", "/"):
        response = await anonymous.get(path, allow_redirects=False)
        assert response.status == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    page = await (await anonymous.get("/missions")).text()
    assert "needs its token" in page and "overmind dashboard url" in page
    api = await anonymous.get("/api/v1/missions")
    assert api.status == 401 and (await api.json())["error"] == "this dashboard needs its token"
    wrong = await anonymous.get("/missions?token=not-the-token", allow_redirects=False)
    assert wrong.status == 401
    forged = await anonymous.get("/missions", headers={"Cookie": "overmind_dashboard=0123abcd"})
    assert forged.status == 401
    assert (await anonymous.get("/static/dashboard.js")).status == 200  # nothing secret in it


async def test_the_first_visit_with_the_token_sets_a_strict_cookie_and_drops_the_token(
        server: TestServer, token: str) -> None:
    async with ClientSession(base_url=str(server.make_url("/")), cookie_jar=CookieJar(unsafe=True)) as browser:
        response = await browser.get(f"/missions?tree=1&token={token}", allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/missions?tree=1"
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert token not in cookie  # the cookie is derived from the token, never the token itself
        assert (await browser.get("/missions?tree=1")).status == 200


async def test_a_bearer_token_works_for_scripts(anonymous: ClientSession, token: str) -> None:
    response = await anonymous.get("/api/v1/counts", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200 and isinstance(await response.json(), dict)
    refused = await anonymous.get("/api/v1/counts", headers={"Authorization": "Bearer wrong"})
    assert refused.status == 401


async def test_every_post_needs_the_csrf_token(client: Client, anonymous: ClientSession, token: str,
                                              csrf: str, om: Overmind, name: str) -> None:
    started = om.run("sleep 300", "--name", name)
    must(lambda: om.info(name)["os_pid"], what="the mission to run")
    path = f"/missions/{started['id']}/stop"
    missing = await client.post(path, data={})
    assert missing.status == 403 and "CSRF" in await missing.text()
    wrong = await client.post(path, data={"csrf": "0" * 64})
    assert wrong.status == 403
    elsewhere = await client.post(path, data={"csrf": csrf}, headers={"Origin": "http://evil.example"})
    assert elsewhere.status == 403 and "another site" in await elsewhere.text()
    assert om.status(name) == "running"
    # A script with the bearer token cannot be a forged browser request: no CSRF token needed.
    scripted = await anonymous.post(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
    assert scripted.status == 200
    must(lambda: om.status(name) == "stopped", what="the stop recorded")


async def test_nothing_changes_on_get(client: Client, om: Overmind, name: str) -> None:
    started = om.run("sleep 300", "--name", name)
    for action in ("stop", "kill", "restart"):
        response = await client.get(f"/missions/{started['id']}/{action}")
        assert response.status in (404, 405)
    assert (await client.get("/gc")).status in (404, 405)
    assert om.status(name) == "running"
    om("stop", name)


async def test_the_host_header_is_checked_against_dns_rebinding(client: Client) -> None:
    for host in ("evil.example", "127.0.0.1.nip.io", "localhost.evil.example"):
        response = await client.get("/missions", headers={"Host": f"{host}:8420"})
        assert response.status == 403, host
        assert "host name is not allowed" in await response.text()
    for host in ("localhost:8420", "127.0.0.1:1", "[::1]:8420", "dash.example.org"):
        assert (await client.get("/api/v1/counts", headers={"Host": host})).status == 200, host


async def test_request_bodies_are_size_limited(client: Client, csrf: str) -> None:
    response = await client.post("/missions", data={"csrf": csrf, "command": "x" * (400 * 1024)})
    assert response.status == 413


async def test_responses_forbid_inline_script_framing_and_caching(client: Client) -> None:
    response = await client.get("/missions")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in (await response.text()).split("</head>")[1]  # no inline script at all


async def test_names_commands_and_output_are_escaped_everywhere(client: Client, om: Overmind, name: str) -> None:
    script = f"printf '%s\\n' {_shell_quote(PAYLOAD)}; sleep 300"
    started = om.run(script, "--name", name)
    must(lambda: "red" in "".join(om.logs(name)), what="the payload in the journal")
    mission_page = await (await client.get(f"/missions/{started['id']}")).text()
    listing = await eventually(lambda: _page_with(client, "/missions", started["id"]), what="the row")
    for html in (mission_page, listing):
        assert "<script>alert" not in html and "<img src=x" not in html and "\x1b" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mission_page
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in mission_page
    assert "^[[31mred^[[0m" in mission_page  # the escape sequence shown, not obeyed
    om("stop", name)


async def _page_with(client: Client, path: str, needle: str) -> str | None:
    text = await (await client.get(path)).text()
    return text if needle in text else None


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


async def test_the_token_file_is_private_and_long(token: str) -> None:
    from overmind.dashboard import token as secret

    info = os.stat(secret.path())
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert len(token) >= 43  # 32 random bytes, base64url


async def test_a_new_token_ends_every_session(server: TestServer, token: str) -> None:
    from overmind.dashboard import token as secret

    async with ClientSession(base_url=str(server.make_url("/")), cookie_jar=CookieJar(unsafe=True)) as browser:
        await browser.get(f"/missions?token={token}")
        assert (await browser.get("/missions")).status == 200
        original = secret.path().read_text()
        try:
            secret.rotate()
            assert (await browser.get("/missions")).status == 401
        finally:
            secret.path().write_text(original)
        assert (await browser.get("/missions")).status == 200
