"""Shared mode: two overmind installations ("machines", each with its own state directory and
memory service) sharing one real Chroma server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.akasha.conftest import free_port
from tests.helpers import Overmind


def test_what_one_machine_remembers_the_other_recalls(machine: Callable[..., Overmind]) -> None:
    server, alice, bob = machine(), machine(), machine()
    served = json.loads(server("akasha", "serve", "--port", str(free_port()), "--json").stdout)
    assert served["token"] is None and served["url"].startswith("http://127.0.0.1:")
    unit = served["unit"]
    assert server.unit_property(unit, "ActiveState") == "active"
    assert "chroma" in server.unit_property(unit, "ExecStart")
    for person in (alice, bob):
        person.env["OVERMIND_AKASHA_URL"] = served["url"]

    alice("akasha", "remember", "The staging database is reset every night at 02:00 UTC.", "--scope", "global",
          "--kind", "pitfall")
    hits = json.loads(bob("akasha", "recall", "when does staging lose its data?", "--scope", "global",
                          "--json").stdout)
    assert [hit["text"] for hit in hits] == ["The staging database is reset every night at 02:00 UTC."]
    assert hits[0]["agent"] == "cli" and hits[0]["kind"] == "pitfall"
    assert json.loads(bob("akasha", "stats", "--json").stdout)["backend"] == served["url"]

    # Neither machine's own local store got it: it lives on the server.
    del alice.env["OVERMIND_AKASHA_URL"]
    assert json.loads(alice("akasha", "ls", "--scope", "all", "--json").stdout) == []
    assert server("akasha", "serve", "--stop").stdout.strip() == f"stopped {unit}"


def test_a_server_with_a_token_refuses_requests_without_it(machine: Callable[..., Overmind]) -> None:
    server, client = machine(), machine()
    token = "team-token-0123456789abcdef"
    served = json.loads(server("akasha", "serve", "--port", str(free_port()), "--token", token, "--json").stdout)
    assert served["token"] == token and "overmind.akasha.cortex" in server.unit_property(served["unit"], "ExecStart")
    client.env |= {"OVERMIND_AKASHA_URL": served["url"], "OVERMIND_AKASHA_TOKEN": "wrong-token-0123456789"}
    refused = client("akasha", "recall", "anything", check=False)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == f"overmind: the Akasha server at {served['url']} refused the token"
    client.env["OVERMIND_AKASHA_TOKEN"] = token
    client("akasha", "remember", "Tokens keep the shared memory private.", "--scope", "global")
    assert json.loads(client("akasha", "recall", "is the shared memory private", "--scope", "global",
                             "--json").stdout)[0]["text"] == "Tokens keep the shared memory private."
