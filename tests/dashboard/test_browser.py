"""The dashboard in a real headless Chromium (Debian's, driven by Playwright), served by the real
`overmind dashboard` command: what a person sees and clicks. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import ARTIFACTS
from tests.helpers import Overmind, must

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Debian's Chromium, as root, on a machine that reaches nothing outside: no sandbox, no GPU, and no
# background connections (each would be refused, many at a time).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
pytestmark = [pytest.mark.systemd, pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed "
                                 "(scripts/install-dashboard-test-deps.sh installs it)")]
PAYLOAD = '<script>alert(1)</script> "><img src=x onerror=alert(2)>'


class Served:
    def __init__(self, proc: subprocess.Popen[str], token_url: str) -> None:
        self.proc = proc
        self.token_url = token_url
        self.base = token_url.split("/?")[0]


@pytest.fixture(scope="module")
def served(run_env: dict[str, str]) -> Iterator[Served]:
    """`overmind dashboard --port 0`, as a user starts it: it prints its URL with the token."""
    proc = subprocess.Popen([sys.executable, "-m", "overmind", "dashboard", "--port", "0"], env=run_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
    assert found, f"no URL printed: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
    yield Served(proc, found[1])
    proc.terminate()
    assert proc.wait(30) == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, served: Served, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A signed-in tab: it opened the URL with the token once. A screenshot is kept as it ends."""
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    tab = context.new_page()
    tab.dialogs = []  # every alert or confirm the page raised (each answered "Cancel")

    def record(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    tab.recorder = record
    tab.on("dialog", record)
    tab.goto(served.token_url)
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()


def test_the_page_loads_with_the_token_which_leaves_the_address(page: Any, served: Served) -> None:
    assert page.url == f"{served.base}/missions"
    assert page.locator("h1").inner_text() == "Missions"
    page.wait_for_selector("#live.on")  # the live stream is open


def test_a_mission_started_from_the_cli_appears_without_a_reload(page: Any, om: Overmind, name: str) -> None:
    page.wait_for_selector("#live.on")
    page.evaluate("window.sameDocument = true")
    started = om.run("sleep 300", "--name", name)
    row = page.locator(f'tr[data-id="{started["id"]}"]')
    row.wait_for(timeout=20_000)
    assert "running" in row.inner_text()
    assert page.evaluate("window.sameDocument") is True  # no reload happened
    om("stop", name)
    page.locator(f'tr[data-id="{started["id"]}"] .status', has_text="stopped").wait_for(timeout=20_000)


def test_a_live_log_line_appears(page: Any, served: Served, om: Overmind, name: str, tmp_path: Path) -> None:
    fifo = tmp_path / "lines"
    fifo.write_text("")
    started = om.run(f"echo before; tail -f {fifo}", "--name", name)
    must(lambda: "before" in om.logs(name), what="the first line")
    page.goto(f"{served.base}/missions/{started['id']}")
    page.wait_for_selector("#live.on")
    with fifo.open("a") as f:
        f.write("a line written just now\n")
    page.locator(".log .msg", has_text="a line written just now").wait_for(timeout=20_000)
    assert page.locator(".log .msg").all_inner_texts()[0] == "before"
    om("stop", name)


def test_the_stop_button_asks_then_stops_the_unit(page: Any, served: Served, om: Overmind, name: str) -> None:
    started = om.run("sleep 300", "--name", name)
    must(lambda: om.info(name)["os_pid"], what="the mission to run")
    page.goto(f"{served.base}/missions/{started['id']}")
    page.remove_listener("dialog", page.recorder)
    answers = iter([False, True])  # first "Cancel", then "OK"
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept() if next(answers) else dialog.dismiss()

    page.on("dialog", answer)
    stop = page.locator('button[data-action="stop"]').first
    stop.click()
    assert asked and asked[0].startswith(f"Stop {name}?")
    assert om.status(name) == "running"  # cancelled: nothing was sent
    with page.expect_navigation(url=f"{served.base}/missions/{started['id']}"):
        stop.click()
    must(lambda: om.status(name) == "stopped", what="the stop")
    assert om.unit_property(started["unit"], "ActiveState") in ("inactive", "failed", "")
    page.locator("#badge .status", has_text="stopped").wait_for(timeout=20_000)


def test_a_request_without_the_token_is_refused(browser: Any, served: Served) -> None:
    context = browser.new_context()
    tab = context.new_page()
    response = tab.goto(f"{served.base}/missions")
    assert response is not None and response.status == 401
    assert "needs its token" in tab.locator("body").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "refused-without-token.png"))
    context.close()


def test_the_xss_payload_shows_as_text(page: Any, served: Served, om: Overmind, name: str) -> None:
    script = f"printf '%s\\033[31m red\\033[0m\\n' '{PAYLOAD}'; sleep 300"
    started = om.run(script, "--name", name)
    must(lambda: "red" in "".join(om.logs(name)), what="the output")
    page.goto(f"{served.base}/missions/{started['id']}")
    line = page.locator(".log .msg").first
    assert line.inner_text() == PAYLOAD + "^[[31m red^[[0m"
    page.goto(f"{served.base}/missions")
    page.locator(f'tr[data-id="{started["id"]}"]').wait_for()
    assert page.locator('img[src="x"]').count() == 0 and page.locator("script:not([src])").count() == 0
    assert page.dialogs == []  # no alert ran
    om("stop", name)
