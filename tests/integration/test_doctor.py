"""`overmind doctor`: what missions and rituals rely on, checked on the real host."""

from __future__ import annotations

import json
from pathlib import Path

from overmind.host import pid1_is_systemd
from tests.helpers import Overmind


def test_doctor_checks_the_host_and_explains_linger(om: Overmind) -> None:
    checks = {c["name"]: c for c in om.json("doctor")}
    supervised = [] if pid1_is_systemd() else ["host supervisor"]
    assert [n for n in checks if n != "store rebuild"] == [
        "user manager", "journald", *supervised, "store", "linger", "unit directory", "rituals", "limits", "setup"]
    assert checks["user manager"]["state"] == "ok" and checks["user manager"]["detail"].startswith("answers a call")
    assert checks["journald"]["state"] == "ok" and checks["journald"]["detail"].startswith("wrote a line and read")
    assert checks["store"]["state"] == "ok"
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


def test_doctor_finds_a_store_damaged_inside_and_repair_rebuilds_it(om: Overmind, tmp_path: Path) -> None:
    own = Overmind(om.env | {"OVERMIND_STATE_DIR": str(tmp_path / "state")})
    own.run("echo kept", "--name", "kept")
    own("wait", "kept")
    store = tmp_path / "state" / "state.db"
    own("ps")  # the last connection closes: the database file has everything
    size = store.stat().st_size
    with open(store, "r+b") as f:  # garbage over the pages after the schema: opening still works
        f.seek(size // 2)
        f.write(b"\xff" * (size // 2))
    doctor = own("doctor", "--json", check=False)
    check = next(c for c in json.loads(doctor.stdout) if c["name"] == "store")
    assert (doctor.returncode, check["state"]) == (1, "fail")
    assert check["hint"].startswith("overmind repair")
    repaired = own("repair")
    assert repaired.stdout.split()[:3] == ["done", "store", "rebuilt"]
    assert own.logs("kept")[0] == "kept" and own.status("kept") == "stopped"
    assert own("repair").stdout.split()[:2] == ["ok", "store"]
    assert list((tmp_path / "state").glob("state.db.broken-*"))
