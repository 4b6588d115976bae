"""A permission request of the real claude CLI denied from the dashboard, in a real headless
Chromium: it appears live with the tool and its whole input, needs you first, and the denial's
message is what the agent reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.test_browser import CHROMIUM, browser, page, served  # noqa: F401 (fixtures)
from tests.helpers import must
from tests.sessions.conftest import Claude
from tests.sessions.test_claude_permissions import pending, touching


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_a_request_denied_from_the_dashboard_is_not_run_and_the_agent_reads_the_message(
        claude: Claude, name: str, tmp_path: Path, page: Any, served: Any) -> None:  # noqa: F811
    target = tmp_path / "deployed"
    command = touching(claude, "deploy now", target)
    started = claude.run(name, "deploy now", "--on-permission", "ask", "--no-memory")
    page.goto(f"{served.base}/missions")
    page.wait_for_selector("#live.on")
    request = page.locator(f'li.permission[data-id="{started["id"]}"]')
    request.wait_for(timeout=60_000)  # it appears live, without a reload
    assert "Bash" in request.locator(".tool").inner_text()
    assert json.loads(request.locator("pre.input").inner_text())["command"] == command  # the whole input
    page.locator(f'tr.needs-you[data-id="{started["id"]}"]').wait_for(timeout=30_000)  # its own change

    def needing_first() -> bool:  # what needs you comes first (other tests' crashed missions need you too)
        rows = page.locator("tbody#rows tr")
        shown = [(rows.nth(i).get_attribute("data-id"), "needs-you" in (rows.nth(i).get_attribute("class") or ""))
                 for i in range(rows.count())]
        calm = next((i for i, (_, needing) in enumerate(shown) if not needing), len(shown))
        return started["id"] in [ident for ident, _ in shown[:calm]]

    must(needing_first, 30, "the request's mission among the first rows")

    forged = page.request.post(f"{served.base}/missions/{started['id']}/permissions/1/approve", form={"always": "1"})
    assert forged.status == 403 and "CSRF" in forged.text()  # the cookie alone allows nothing
    assert [r["state"] for r in claude.om.json("permissions", name)] == ["pending"]

    page.remove_listener("dialog", page.recorder)
    answers = iter([False, True])  # "Cancel" first: nothing is sent; then "OK"
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept() if next(answers) else dialog.dismiss()

    page.on("dialog", answer)
    request.locator('input[name="message"]').fill("use the staging server instead")
    deny = request.locator('button[data-action="deny"]')
    deny.click()
    assert asked == [f"Deny {name} the use of {pending(claude, name)[0]['label']}?"]
    with page.expect_navigation(url=f"{served.base}/missions"):
        deny.click()
    claude.om("wait", name)
    assert not target.exists()
    assert claude.om("result", name).stdout == "tool said: use the staging server instead\n"
    [answered] = claude.om.json("permissions", name, "--all")
    assert (answered["state"], answered["answered_by"]) == ("denied", "dashboard")
    page.goto(f"{served.base}/missions/{started['id']}")
    timeline = page.locator("#timeline").inner_text()
    assert "use the staging server instead" in timeline and "denied by dashboard" in timeline
