"""Units' properties read over D-Bus come back as `systemctl show --timestamp=unix` prints them."""

from __future__ import annotations

from overmind.systemd.properties import as_shown


def test_values_read_over_d_bus_look_like_systemctl_shows_them() -> None:
    assert as_shown("ExecMainStartTimestamp", 1_796_000_000_250_000) == "@1796000000.250000"
    assert as_shown("ExecMainStartTimestamp", 0) == ""  # never started
    assert as_shown("ExecMainStartTimestampMonotonic", 123_456) == "123456"
    assert as_shown("MemoryCurrent", 2**64 - 1) == str(2**64 - 1)  # unset: views read it as none
    assert (as_shown("ActiveState", "active"), as_shown("Transient", True), as_shown("NRestarts", 3)) == (
        "active", "yes", "3")


def test_a_units_object_path_reads_back_as_its_name() -> None:
    from overmind.systemd.objects import unit_object_path, unit_of_path

    for unit in ("omtest-1a2b@build.x_y.service", "overmind\\x2dagent-1a2b3c4d.slice"):
        assert unit_of_path(unit_object_path(unit)) == unit
    assert unit_of_path("/org/freedesktop/systemd1/job/42") is None
