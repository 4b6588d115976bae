"""Rules the front ends share, from the control layer: what needs a person, rows from views held
earlier, an agent's timeline, and the dashboard service's address and unit files."""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import pytest

from overmind.control import attention, dashboard_unit
from overmind.control.missions import arrange
from overmind.control.timeline import _Reader, _tagged
from overmind.errors import OvermindError
from overmind.mission.status import Status
from overmind.mission.view import MissionView
from overmind.store import Mission


def _view(mid: str, status: Status, type: str = "task", activity: str = "", parent: str | None = None,
          created: float = 0.0) -> MissionView:
    mission = Mission(mid, f"m-{mid}", f"u@{mid}.service", type, "raw", "true", "/", parent, {},
                      created or time.time(), None, None)
    return MissionView(mission, status, {"StatusText": activity} if activity else {})


def test_a_waiting_session_a_crash_and_a_tripped_breaker_need_you() -> None:
    assert attention.needs_you(_view("a", Status("running"), "session", "waiting for input")) == \
        "waiting for your message"
    assert attention.needs_you(_view("b", Status("running"), "session", "working: Bash(pytest)")) is None
    assert attention.needs_you(_view("c", Status("crashed", "exit 3", 3))) == "crashed: exit 3"
    tripped = attention.needs_you(_view("d", Status("crashed", "gave up after 3 restarts: exit 1", 1)))
    assert tripped == "breaker tripped: gave up after 3 restarts: exit 1"
    assert attention.needs_you(_view("e", Status("stopped", exit_code=0))) is None
    assert attention.needs_you(_view("f", Status("running"))) is None


def test_what_needs_you_goes_first_and_the_rest_keeps_its_order() -> None:
    views = [_view("a", Status("running"), created=1), _view("b", Status("crashed", "exit 1", 1), created=2),
             _view("c", Status("running"), created=3)]
    rows = attention.first(arrange(views))
    assert [row.view.id for row in rows] == ["b", "a", "c"]


def test_rows_from_held_views_order_like_ps_and_draw_the_tree() -> None:
    views = [_view("p", Status("running"), created=1), _view("k", Status("running"), parent="p", created=2),
             _view("s", Status("stopped", exit_code=0), created=3), _view("x", Status("killed", exit_code=137),
                                                                          created=4)]
    flat = arrange(views)
    assert [row.view.id for row in flat] == ["p", "k", "s"]  # running first, killed left out
    assert [row.view.id for row in arrange(views, include_killed=True)][-1] == "x"
    tree = arrange(views, tree=True)
    assert [(row.lead, row.view.id) for row in tree] == [("", "p"), ("└─ ", "k"), ("", "s")]
    assert tree[0].children == ("k",)


def test_timeline_lines_are_told_apart_by_their_tags() -> None:
    assert _tagged("[tool] Bash: pytest -q") == ("tool", "Bash: pytest -q")
    assert _tagged("[tool output] 3 passed") == ("tool output", "3 passed")
    assert _tagged("[not a tag] text") == ("text", "[not a tag] text")
    assert _tagged("plain words") == ("text", "plain words")


def _line(data: dict[str, object]) -> str:
    return json.dumps(data)


def test_a_timeline_shows_messages_tools_and_each_turns_cost() -> None:
    reader = _Reader("claude")
    said = reader.step(1, 0.0, _line({"type": "user", "isReplay": True, "uuid": "u1",
                                      "message": {"role": "user", "content": "run the tests"}}))
    assert said is not None and said.parts == [("you", "run the tests")]
    tool = reader.step(2, 0.0, _line({"type": "assistant", "message": {"content": [
        {"type": "text", "text": "Running them."},
        {"type": "tool_use", "name": "Bash", "input": {"command": "pytest -q"}}]}}))
    assert tool is not None and tool.parts == [("text", "Running them."), ("tool", "Bash: pytest -q")]
    first = reader.step(3, 0.0, _line({"type": "result", "subtype": "success", "result": "ok",
                                       "total_cost_usd": 0.25, "duration_ms": 1200, "num_turns": 1}))
    second = reader.step(4, 0.0, _line({"type": "result", "subtype": "success", "result": "ok",
                                        "total_cost_usd": 0.40}))
    restarted = reader.step(5, 0.0, _line({"type": "result", "subtype": "success", "result": "ok",
                                           "total_cost_usd": 0.05}))
    assert first is not None and first.turn_cost_usd == pytest.approx(0.25)
    assert first.parts[0][0] == "result"
    assert second is not None and second.turn_cost_usd == pytest.approx(0.15)
    assert restarted is not None and restarted.turn_cost_usd == pytest.approx(0.05)  # a new process
    assert reader.step(6, 0.0, _line({"type": "control_response", "response": {}})) is None
    assert reader.step(7, 0.0, "not json") is None


def test_the_dashboard_address_is_checked_and_shown() -> None:
    assert dashboard_unit.address("localhost", 8420).url == "http://127.0.0.1:8420/"
    assert dashboard_unit.address("::1", 9000).listen == "[::1]:9000"
    assert dashboard_unit.address("0.0.0.0", 8420).url == "http://127.0.0.1:8420/"
    assert not dashboard_unit.address("0.0.0.0", 8420).loopback
    for host, port in (("example.org", 8420), ("127.0.0.1", 70000), ("1.2.3.4; rm", 1)):
        with pytest.raises(OvermindError):
            dashboard_unit.address(host, port)
    with pytest.raises(OvermindError):
        dashboard_unit.address("127.0.0.1", 8420, ["evil\nExecStart=/bin/sh"])


def test_the_dashboard_units_listen_on_the_address_and_run_this_overmind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path / "state dir %i"))
    monkeypatch.delenv("OVERMIND_UNIT_PREFIX", raising=False)
    files = dashboard_unit.render(dashboard_unit.address("127.0.0.1", 8421, ["dash.example.org"]))
    socket, service = files["overmind-dashboard.socket"], files["overmind-dashboard.service"]
    assert "ListenStream=127.0.0.1:8421" in socket and "Service=overmind-dashboard.service" in socket
    assert "--socket-activated" in service and "--allow-host=dash.example.org" in service
    assert "state dir %%i" in service  # no % specifier reaches systemd
    assert "Requires=overmind-dashboard.socket" in service


def test_a_saved_address_comes_back_and_a_broken_one_falls_back(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    assert dashboard_unit.saved() == dashboard_unit.Address()
    dashboard_unit.save(dashboard_unit.address("0.0.0.0", 9999, ["a.example"]))
    assert dashboard_unit.saved() == dashboard_unit.Address("0.0.0.0", 9999, ("a.example",))
    (tmp_path / "dashboard.json").write_text("{not json")
    assert dashboard_unit.saved() == dashboard_unit.Address()



# -- starting missions ------------------------------------------------------------------------
PACKAGE = Path(__file__).resolve().parents[2] / "overmind"
FRONT_ENDS = ("cli", "dashboard", "tui")
# Where a person starts a mission: the run family of commands, the dashboard's form, the TUI's `n`.
START_FORMS = ("cli/missions.py", "dashboard/missions.py", "tui/screens/new.py")
_PUBLIC_LAUNCH = {"launch", "Launched", "SESSION_START_TIMEOUT"}
# The steps below launch: placing, recording and creating a unit, waiting for a session.
_UNDER_LAUNCH = ("start", "create_unit", "wait_started", "preflight")


def _front_end_sources() -> dict[str, ast.Module]:
    return {str(path.relative_to(PACKAGE)): ast.parse(path.read_text())
            for front in FRONT_ENDS for path in sorted((PACKAGE / front).rglob("*.py"))}


def test_front_ends_start_missions_only_through_the_control_layers_launch() -> None:
    sources = _front_end_sources()
    for where, tree in sources.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "overmind.control.launch":
                names = {alias.name for alias in node.names}
                assert names <= _PUBLIC_LAUNCH, f"{where} imports {names - _PUBLIC_LAUNCH} of the start path"
            if isinstance(node, ast.ImportFrom) and node.module == "overmind.control":
                assert "launch" not in {alias.name for alias in node.names}, f"{where}: call launch.launch by name"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in ("lifecycle", "launch"):
                assert node.attr not in _UNDER_LAUNCH, f"{where}:{node.lineno} reaches under launch (.{node.attr})"
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("overmind.control"):
                names = {alias.name for alias in node.names} & set(_UNDER_LAUNCH)
                assert not names, f"{where}:{node.lineno} reaches under launch ({names})"
    for form in START_FORMS:
        calls = [node for node in ast.walk(sources[form])  # called, or handed to a thread
                 if isinstance(node, ast.Name) and node.id == "launch" and isinstance(node.ctx, ast.Load)]
        imported = [node for node in ast.walk(sources[form]) if isinstance(node, ast.ImportFrom)
                    and node.module == "overmind.control.launch"]
        assert calls and imported, f"{form} does not start missions through overmind.control.launch.launch"


def test_a_feed_closed_before_its_start_got_far_closes_quietly() -> None:
    """A TUI quit at once closes its feed while the feed still connects to the manager."""
    import asyncio

    from overmind.control.feed import Feed

    asyncio.run(Feed().close())
