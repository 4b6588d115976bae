"""The dashboard's pure pieces: the token file, the Host check, output made visible, the SVG."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")

from overmind.dashboard import token  # noqa: E402
from overmind.dashboard.guards import host_allowed  # noqa: E402
from overmind.dashboard.render import visible  # noqa: E402
from overmind.dashboard.svg import bars, columns, dag  # noqa: E402


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    return tmp_path


def test_the_token_is_made_once_private_and_kept(state: Path) -> None:
    first = token.ensure()
    assert len(first) >= 43 and token.ensure() == first
    assert stat.S_IMODE(os.stat(token.path()).st_mode) == 0o600
    os.chmod(token.path(), 0o644)  # loosened by hand: tightened again, token kept
    assert token.ensure() == first and stat.S_IMODE(os.stat(token.path()).st_mode) == 0o600
    assert token.rotate() != first and token.read() != first


def test_a_short_or_empty_token_file_gets_a_real_token(state: Path) -> None:
    token.path().write_text("short\n")
    assert len(token.ensure()) >= 43


def test_cookie_and_csrf_values_are_bound_to_the_token() -> None:
    cookie, csrf = token.derived("a" * 43, "cookie"), token.derived("a" * 43, "csrf")
    assert cookie != csrf and "a" * 43 not in cookie
    assert token.derived("b" * 43, "cookie") != cookie
    assert token.matches(cookie, cookie) and not token.matches(None, cookie) and not token.matches("x", cookie)


def test_only_ip_addresses_localhost_and_allowed_names_pass_the_host_check() -> None:
    for header in ("127.0.0.1:8420", "localhost:8420", "[::1]:8420", "10.0.0.5", "localhost"):
        assert host_allowed(header, ())
    for header in ("evil.example:8420", "127.0.0.1.evil.example", "", "localhost.evil", "[::1"):
        assert not host_allowed(header, ())
    assert host_allowed("dash.example.org:443", ("dash.example.org",))


def test_control_characters_are_shown_not_obeyed() -> None:
    assert visible("\x1b[31mred\x1b[0m") == "^[[31mred^[[0m"
    assert visible("bell\x07 del\x7f") == "bell^G del^?"
    assert visible("tab\tand\nnewline") == "tab\tand\nnewline"


def test_the_dag_escapes_names_and_places_dependencies_left() -> None:
    graph = {"id": "b1", "name": "<pipe>", "nodes": [
        {"id": "a1", "name": "p.build", "agent": "build", "state": "stopped", "label": "done"},
        {"id": "a2", "name": "p.test", "agent": '"><script>x</script>', "state": "running", "label": "running"},
    ], "edges": [{"from": "a1", "to": "a2"}]}
    drawn = str(dag(graph))
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn and "&lt;pipe&gt;" in drawn
    build_x = int(drawn.split('data-id="a1"')[1].split('x="')[1].split('"')[0])
    test_x = int(drawn.split('data-id="a2"')[1].split('x="')[1].split('"')[0])
    assert build_x < test_x and 'class="edge"' in drawn and "state-running" in drawn


def test_a_dependency_cycle_in_stored_data_still_draws() -> None:
    graph = {"id": "b", "name": "b", "nodes": [
        {"id": "x", "name": "x", "agent": "x", "state": "waiting", "label": "waiting"},
        {"id": "y", "name": "y", "agent": "y", "state": "waiting", "label": "waiting"},
    ], "edges": [{"from": "x", "to": "y"}, {"from": "y", "to": "x"}]}
    assert str(dag(graph)).count("<rect") == 2


def test_charts_scale_to_the_largest_value_and_escape_labels() -> None:
    drawn = str(bars([("<big>", 2.0, "/missions/a"), ("small", 0.5, None)], lambda v: f"${v:.2f}"))
    widths = [int(part.split('"')[0]) for part in drawn.split('width="')[2:]]
    assert widths[0] == 4 * widths[1] and "&lt;big&gt;" in drawn and "$2.00" in drawn
    assert "<svg" in str(columns([("2026-01-01", 0.0), ("2026-01-02", 1.0)], str))
    assert "nothing spent" in str(bars([], str))
