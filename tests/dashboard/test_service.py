"""`overmind dashboard install`: a user socket that starts the dashboard on the first request."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import Overmind, die_with_parent, must

pytestmark = pytest.mark.systemd


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_installed_socket_starts_the_dashboard_on_the_first_request(om: Overmind) -> None:
    port = free_port()
    prefix = om.env["OVERMIND_UNIT_PREFIX"]
    socket_unit, service_unit = f"{prefix}-dashboard.socket", f"{prefix}-dashboard.service"
    try:
        installed = json.loads(om("dashboard", "install", "--port", str(port), "--json").stdout)
        assert installed["url"] == f"http://127.0.0.1:{port}/"
        assert om.systemctl("is-active", socket_unit).stdout.strip() == "active"
        assert om.systemctl("is-active", service_unit).stdout.strip() != "active"  # nothing runs yet
        status, body = fetch(f"http://127.0.0.1:{port}/missions")
        assert status == 401 and "needs its token" in body
        assert om.systemctl("is-active", service_unit).stdout.strip() == "active"
        assert om.systemctl("status", service_unit).returncode == 0
        token = installed["token_url"].split("token=")[1]
        status, body = fetch(f"http://127.0.0.1:{port}/api/v1/counts", token)
        assert status == 200 and isinstance(json.loads(body), dict)
        assert om("dashboard", "url").stdout.strip() == installed["token_url"]
        with foreground(om, free_port()) as running:  # a foreground one is the one running, while it runs
            assert str(running.args[-1]) in om("dashboard", "url").stdout
        assert om("dashboard", "url").stdout.strip() == installed["token_url"]
        again = json.loads(om("dashboard", "install", "--port", str(port), "--json").stdout)  # idempotent
        assert again["token_url"] == installed["token_url"]
        must(lambda: fetch(f"http://127.0.0.1:{port}/api/v1/counts", token)[0] == 200, what="the new socket")
    finally:
        removed = om("dashboard", "uninstall", check=False)
    assert removed.returncode == 0 and socket_unit in removed.stdout
    assert om("dashboard", "url", check=False).stderr.startswith("overmind: no dashboard is running")
    assert om.systemctl("is-active", socket_unit).stdout.strip() != "active"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/missions", timeout=5)


def test_the_foreground_dashboard_refuses_bad_addresses_in_one_line(om: Overmind) -> None:
    bad = om("dashboard", "--host", "example.org", check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("overmind: invalid --host 'example.org'")
    assert "Traceback" not in bad.stderr
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        busy = om("dashboard", "--port", str(taken.getsockname()[1]), check=False)
    finally:
        taken.close()
    assert busy.returncode == 1 and "cannot listen on" in busy.stderr
    assert om("dashboard", "uninstall", check=False).stderr.startswith("overmind: the dashboard is not installed")


@contextmanager
def foreground(om: Overmind, port: int) -> Iterator[subprocess.Popen[str]]:
    """`overmind dashboard --port PORT` running until the block ends."""
    proc = subprocess.Popen([sys.executable, "-m", "overmind", "dashboard", "--port", str(port)], env=om.environ(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=die_with_parent)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(f"overmind dashboard: http://127.0.0.1:{port}/?token=")
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_url_names_the_running_dashboards_port_or_says_none_runs(om: Overmind) -> None:
    none = om("dashboard", "url", check=False)
    assert (none.returncode, none.stdout) == (1, "")
    assert none.stderr.startswith("overmind: no dashboard is running"), none.stderr
    port = free_port()
    with foreground(om, port):
        assert om("dashboard", "url").stdout.startswith(f"http://127.0.0.1:{port}/?token=")
        assert json.loads(om("dashboard", "url", "--json").stdout)["port"] == port
    assert om("dashboard", "url", check=False).stderr.startswith("overmind: no dashboard is running")


def test_the_url_can_get_a_new_token(om: Overmind) -> None:
    kept = Path(om.env["OVERMIND_STATE_DIR"], "dashboard.token").read_text()  # the other tests' sessions
    try:
        with foreground(om, free_port()):
            first = om("dashboard", "url").stdout.strip()
            rotated = json.loads(om("dashboard", "url", "--new-token", "--json").stdout)
            assert rotated["token_url"] != first and rotated["token_url"].startswith("http://127.0.0.1:")
            assert om("dashboard", "url").stdout.strip() == rotated["token_url"]
    finally:
        Path(om.env["OVERMIND_STATE_DIR"], "dashboard.token").write_text(kept)


def test_a_dashboard_with_an_idle_exit_ends_itself_without_visitors(om: Overmind) -> None:
    started = time.monotonic()
    done = om("dashboard", "--port", "0", "--idle-exit", "1s", timeout=30)
    assert done.returncode == 0 and "overmind dashboard: http://127.0.0.1:" in done.stdout
    assert time.monotonic() - started < 20
