"""Pure helpers: tables, durations, backoff arithmetic, D-Bus paths, journal ownership."""

from __future__ import annotations

from overmind import format as fmt
from overmind.hooks.restart import extra_delay
from overmind.store import Mission
from overmind.systemd.journal import Owners
from overmind.systemd.manager import parse_show
from overmind.systemd.objects import unit_object_path


def test_table_aligns_and_fits_the_width() -> None:
    text = fmt.table(("ID", "NAME", "COMMAND"), [("1", "short", "x" * 100), ("22", "n" * 40, "y")], width=40)
    lines = text.splitlines()
    assert all(len(line) <= 40 for line in lines)
    assert lines[0].index("NAME") == lines[1].index("short")
    assert lines[1].endswith("…")


def test_human_durations_and_sizes() -> None:
    assert [fmt.duration(s) for s in (None, 5, 75, 3700, 90000)] == ["-", "5s", "1m15s", "1h01m", "1d01h"]
    assert [fmt.size(b) for b in (None, 512, 2048, 5 * 1024**3)] == ["-", "512B", "2.0K", "5.0G"]


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [0.5 + extra_delay(n, 0.5, 3) for n in range(1, 6)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_unit_object_paths_escape_like_systemd() -> None:
    assert unit_object_path("overmind-agent@a.b.service") == \
        "/org/freedesktop/systemd1/unit/overmind_2dagent_40a_2eb_2eservice"


def test_systemctl_show_blocks_parse_into_dicts() -> None:
    assert parse_show("Id=a\nX=1=2\n\nId=b\n") == [{"Id": "a", "X": "1=2"}, {"Id": "b"}]


def test_journal_lines_belong_to_the_mission_that_owned_the_unit_then() -> None:
    def mission(mid: str, created: float) -> Mission:
        return Mission(mid, "n", "u.service", "task", "raw", "c", "/", None, {}, created, None, None)

    old, new = mission("old", 100.0), mission("new", 200.0)
    owners = Owners([old], [old, new])
    assert owners.owner("u.service", 150.0) is old
    assert owners.owner("u.service", 250.0) is None
    assert owners.until == 200.0
    both = Owners([old, new], [old, new])
    assert both.owner("u.service", 250.0) is new and both.until is None
