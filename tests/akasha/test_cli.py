"""`overmind akasha` from the command line, through the real socket-activated memory service."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from overmind.akasha.model import MAX_TEXT
from tests.helpers import Overmind, must


def remember(ak: Overmind, text: str, scope: str, *options: str) -> dict[str, object]:
    return json.loads(ak("akasha", "remember", text, "--scope", scope, *options, "--json").stdout)


def recall(ak: Overmind, query: str, scope: str, *options: str) -> list[dict[str, object]]:
    return json.loads(ak("akasha", "recall", query, "--scope", scope, *options, "--json").stdout)


def socket_path(ak: Overmind) -> str:
    prefix = ak.env["OVERMIND_UNIT_PREFIX"]
    return os.path.join(ak.env["XDG_RUNTIME_DIR"], "overmind", f"{prefix}-akasha.sock")


def test_remember_recall_show_and_forget_through_the_socket_activated_service(ak: Overmind, scope: str) -> None:
    taught = remember(ak, "Run the integration tests with pytest -m systemd; they need the private host up.", scope,
                      "--kind", "howto", "--tag", "tests")
    memory = taught["memory"]
    assert taught["created"] and memory["kind"] == "howto" and memory["agent"] == "cli"  # type: ignore[index]
    again = remember(ak, "Run the integration tests with pytest -m systemd, they need the private host up!", scope)
    assert not again["created"] and again["memory"]["count"] == 2  # type: ignore[index]

    hits = recall(ak, "how do I start the systemd test suite?", scope)
    assert [hit["id"] for hit in hits] == [memory["id"]]  # type: ignore[index]
    assert hits[0]["score"] > 0.35 and hits[0]["scope"] == scope  # type: ignore[operator]
    table = ak("akasha", "recall", "how do I start the systemd test suite?", "--scope", scope).stdout
    assert table.splitlines()[0].split() == ["SCORE", "ID", "KIND", "SEEN", "SOURCE", "WHEN", "TEXT"]
    assert memory["id"] in table and "2×" in table  # type: ignore[index]

    shown = ak("akasha", "show", memory["id"]).stdout  # type: ignore[index]
    assert "remembered: 2 times" in shown and "pytest -m systemd" in shown
    assert [m["id"] for m in json.loads(ak("akasha", "ls", "--scope", scope, "--json").stdout)] == [memory["id"]]  # type: ignore[index]

    # systemd owns the socket (0600); the service behind it was started by it, on demand.
    mode = os.stat(socket_path(ak)).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    unit = f"{ak.env['OVERMIND_UNIT_PREFIX']}-akasha.service"
    assert ak.unit_property(unit, "TriggeredBy") == f"{ak.env['OVERMIND_UNIT_PREFIX']}-akasha.socket"

    assert ak("akasha", "forget", memory["id"]).stdout.strip() == f"forgot {memory['id']}"  # type: ignore[index]
    assert recall(ak, "how do I start the systemd test suite?", scope) == []
    gone = ak("akasha", "forget", memory["id"], check=False)  # type: ignore[index]
    assert gone.returncode == 1 and gone.stderr.startswith(f"overmind: no memory '{memory['id']}'")  # type: ignore[index]


def test_secrets_are_redacted_before_they_are_stored(ak: Overmind, scope: str) -> None:
    taught = ak("akasha", "remember", "deploy with DEPLOY_TOKEN=ghp_R2d2C3poL0ngT0kenValue1234567890ab set",
                "--scope", scope)
    assert "(1 likely secret redacted)" in taught.stdout
    stored = json.loads(ak("akasha", "ls", "--scope", scope, "--json").stdout)[0]["text"]
    assert stored == "deploy with DEPLOY_TOKEN=[REDACTED] set"


def test_bad_input_gets_one_line_and_stores_nothing(ak: Overmind, scope: str, tmp_path: Path) -> None:
    def refused(*args: str, stdin: str | None = None) -> str:
        import subprocess
        import sys

        proc = subprocess.run([sys.executable, "-m", "overmind", "akasha", *args], env=ak.env, input=stdin,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
        return proc.stderr.strip().splitlines()[-1 if proc.returncode == 2 else 0]  # click's usage errors end

    assert refused("remember", "   ", "--scope", scope) == "overmind: empty memory"
    assert refused("remember", "-", "--scope", scope, stdin="nul\0inside") == "overmind: the text contains a NUL byte"
    big = refused("remember", "-", "--scope", scope, stdin="x" * (10 * 1024 * 1024))
    assert big.startswith("overmind: the memory is 10.0 MB") and f"limit is {MAX_TEXT // 1024} KB" in big
    assert "Invalid value for '--kind'" in refused("remember", "text", "--kind", "rumour")
    assert refused("recall", "") == "overmind: empty memory"
    assert refused("show", "../etc") == "overmind: invalid memory id '../etc'"
    assert json.loads(ak("akasha", "ls", "--scope", scope, "--json").stdout) == []


def test_export_then_import_reports_bad_lines_and_changes_nothing_twice(ak: Overmind, scope: str,
                                                                        tmp_path: Path) -> None:
    for text in ("The parser rejects tabs in keys.", "Releases are cut from the main branch on Fridays."):
        remember(ak, text, scope)
    backup = tmp_path / "backup.jsonl"
    ak("akasha", "export", str(backup))
    exported = [json.loads(line) for line in backup.read_text().splitlines()]
    ours = [m for m in exported if m["scope"] == scope]
    assert len(ours) == 2
    refused = ak("akasha", "export", str(backup), check=False)
    assert refused.returncode == 1 and "exists; it is left as it is" in refused.stderr

    moved = [dict(m, id=m["id"] + "x", scope=scope + "-moved") for m in ours]
    lines = [json.dumps(moved[0]), "{not json", json.dumps({**moved[1], "kind": "rumour"}), json.dumps(moved[1])]
    source = tmp_path / "import.jsonl"
    source.write_text("\n".join(lines) + "\n")
    first = ak("akasha", "import", str(source), check=False)
    assert first.returncode == 1
    assert "overmind: line 2: not JSON" in first.stderr and "overmind: line 3: unknown kind 'rumour'" in first.stderr
    assert first.stdout.startswith("imported 2 new, 0 already there")
    after_first = json.loads(ak("akasha", "ls", "--scope", scope + "-moved", "--json").stdout)
    second = ak("akasha", "import", str(source), check=False)
    assert second.stdout.startswith("imported 0 new, 2 already there")
    assert json.loads(ak("akasha", "ls", "--scope", scope + "-moved", "--json").stdout) == after_first


def test_stats_report_the_store_and_the_service(ak: Overmind, scope: str) -> None:
    remember(ak, "Stats count this pitfall.", scope, "--kind", "pitfall")
    stats = json.loads(ak("akasha", "stats", "--json").stdout)
    assert stats["memories"] >= 1 and stats["kinds"]["pitfall"] >= 1 and stats["scopes"][scope] == 1
    assert stats["service"]["rss"] > 50 * 1024 * 1024 and stats["service"]["model"] == "all-MiniLM-L6-v2-int8"
    assert "local store at" in stats["backend"]
    assert "service: pid" in ak("akasha", "stats").stdout


def test_the_idle_service_exits_and_the_next_call_starts_it_with_nothing_lost(machine: Callable[..., Overmind]) -> None:
    ak = machine(OVERMIND_AKASHA_IDLE="2s")
    remember(ak, "Idle services come back on demand.", "global")
    unit = f"{ak.env['OVERMIND_UNIT_PREFIX']}-akasha.service"
    must(lambda: ak.unit_property(unit, "ActiveState") == "inactive", timeout=30, what="the idle service to exit")
    assert [h["text"] for h in recall(ak, "do services restart on demand", "global")] == \
        ["Idle services come back on demand."]
    assert ak("akasha", "stop").stdout.strip() == f"stopped {unit}"
    assert recall(ak, "do services restart on demand", "global")[0]["count"] == 1


def test_a_corrupted_store_is_named_and_never_replaced(machine: Callable[..., Overmind]) -> None:
    ak = machine()
    database = Path(ak.env["OVERMIND_STATE_DIR"]) / "akasha" / "chroma" / "chroma.sqlite3"
    database.parent.mkdir(parents=True)
    database.write_text("garbage")
    proc = ak("akasha", "recall", "anything", check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == (f"overmind: the memory store at {database.parent} cannot be opened: "
                                           "chroma.sqlite3 is not an SQLite database")
    assert database.read_text() == "garbage"


def test_an_unreachable_server_is_named_after_a_bounded_wait(machine: Callable[..., Overmind]) -> None:
    import socket
    import time

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        ak = machine(OVERMIND_AKASHA_HTTP_TIMEOUT="2")
        ak.env["OVERMIND_AKASHA_URL"] = url
        started = time.monotonic()
        proc = ak("akasha", "recall", "anything", check=False)
        assert time.monotonic() - started < 20
    assert proc.returncode == 1 and proc.stderr.startswith(f"overmind: the Akasha server at {url} cannot be reached")
    closed = ak("akasha", "ls", check=False)  # now nothing listens there at all
    assert closed.stderr.startswith(f"overmind: the Akasha server at {url} cannot be reached")
