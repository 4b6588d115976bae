"""`overmind doctor`: what missions and rituals rely on, checked on the real host."""

from __future__ import annotations

from overmind.host import pid1_is_systemd
from tests.helpers import Overmind


def test_doctor_checks_the_host_and_explains_linger(om: Overmind) -> None:
    checks = {c["name"]: c for c in om.json("doctor")}
    assert list(checks) == ["user manager", "journald", "linger", "unit directory", "rituals", "persisted missions",
                            "limits", "setup"]
    assert checks["user manager"]["state"] == "ok"
    assert checks["journald"]["state"] == "ok"
    assert checks["unit directory"]["state"] == "ok"
    linger = checks["linger"]
    if pid1_is_systemd():
        assert linger["state"] in ("ok", "warn")
    else:
        assert linger["state"] == "warn"
        assert "private systemd host" in linger["detail"] and "overmind setup" in linger["hint"]
    text = Overmind(om.env | {"COLUMNS": "80"})("doctor").stdout
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "linger" in text and ("fix: " in text) == any(c["state"] != "ok" and c["hint"] for c in checks.values())
