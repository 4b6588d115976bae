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
