"""The memory page in a real headless Chromium, served by the real `overmind dashboard`: what a
finished agent mission fed appears without a reload, a paraphrase typed in the box finds it, and
forget removes it. The agent is the real claude CLI against the fake Messages API."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.test_browser import CHROMIUM, Served, browser, page, served  # noqa: F401 (fixtures)
from tests.sessions.conftest import Claude, claude, claude_bin, fake_api  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.systemd, pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")]


def test_a_memory_fed_by_a_finished_mission_appears_is_found_by_meaning_and_forgotten(
        page: Any, served: Served, claude: Claude, name: str) -> None:  # noqa: F811
    ticket = secrets.token_hex(3)
    task = f"Make the invoice PDF renderer stop truncating long customer addresses (ticket {ticket})"
    page.goto(f"{served.base}/memory")
    page.wait_for_selector("#live.on")
    page.evaluate("window.sameDocument = true")
    started = claude.run(name, task)
    assert claude.om("wait", name, timeout=180).returncode == 0
    row = page.locator("#memories tr", has_text=ticket)
    row.wait_for(timeout=30_000)  # without a reload
    assert page.evaluate("window.sameDocument") is True
    assert row.locator("a", has_text=name).get_attribute("href") == f"/missions/{started['id']}"
    assert "summary" in row.inner_text().lower()

    page.locator("#q").fill("why are addresses cut off in the generated invoices")  # as you type: no submit
    page.locator("#memory-count", has_text="ranked by the memory service").wait_for()
    first = page.locator("#memories tr").first
    assert ticket in first.inner_text()
    assert "q=why+are+addresses" in page.url

    first.locator("td.text a").click()
    page.wait_for_selector("#memory-text")
    assert task in page.locator("#memory-text").inner_text()
    memory_id = page.locator("body").get_attribute("data-id")
    page.remove_listener("dialog", page.recorder)
    page.on("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.locator('button[data-action="forget"]').click()
    page.locator("#notice", has_text=f"forgot {memory_id}").wait_for()
    listed = json.loads(claude.om("akasha", "ls", "--all", "--scope", "all", "--json").stdout)
    assert memory_id not in {memory["id"] for memory in listed}
