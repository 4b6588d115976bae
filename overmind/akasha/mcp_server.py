"""`overmind akasha mcp`: the memory as an MCP server (stdio), so an agent can recall and teach
mid-task. Built on the official MCP Python SDK; every call is one request to the memory service.

claude agent missions get it in their --mcp-config (consulting.py), with the mission's id, name
and repository scope in its environment, so what an agent remembers carries where it came from.
"""

from __future__ import annotations

import os
from typing import Any

from overmind.akasha import INSTALL_HINT, AkashaError
from overmind.akasha.model import GLOBAL, KINDS

INSTRUCTIONS = (
    "Akasha is the memory overmind's agents share: facts, decisions, pitfalls and how-tos that earlier missions "
    "learned in this repository (and globally). Recall before you dig into something an earlier agent may have "
    "met; remember what the next agent should know (a fix that worked, a trap, a decision and its reason), "
    "in one or two self-contained sentences."
)


def _scope() -> str:
    explicit = os.environ.get("OVERMIND_AKASHA_SCOPE")
    if explicit:
        return explicit
    from overmind.akasha.scope import scope_of

    return scope_of(os.getcwd())


def build() -> Any:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from overmind.akasha.client import request
    from overmind.akasha.ranking import RELEVANT
    from overmind.akasha.views import as_text

    server = MCPServer("overmind-akasha", instructions=INSTRUCTIONS, log_level="WARNING")
    scope = _scope()

    def ask(op: str, **fields: Any) -> dict[str, Any]:
        try:
            return request(op, timeout=30, **fields)
        except AkashaError as error:
            raise ToolError(error.message + (f" ({error.hint})" if error.hint else "")) from error

    @server.tool(structured_output=False)
    def recall(query: str, n: int = 5, kind: str | None = None) -> str:
        """Search the shared memory by meaning and keywords; the best matches first, with their kind, score,
        source and age. kind: fact, decision, pitfall, howto or summary (optional)."""
        if kind is not None and kind not in KINDS:
            raise ToolError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
        hits = ask("recall", query=query, n=max(1, min(n, 20)), kind=kind,
                   scopes=list(dict.fromkeys([scope, GLOBAL])))["hits"]
        return as_text([hit for hit in hits if hit["score"] >= RELEVANT])

    @server.tool(structured_output=False)
    def remember(text: str, kind: str = "fact", tags: list[str] | None = None, everywhere: bool = False) -> str:
        """Teach the shared memory one thing the next agent should know (a fact, decision, pitfall or howto),
        in one or two self-contained sentences. everywhere: true if it holds beyond this repository."""
        if kind not in KINDS:
            raise ToolError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
        entry = {"text": text, "kind": kind, "tags": tags or [], "scope": GLOBAL if everywhere else scope,
                 "mission": os.environ.get("OVERMIND_MISSION_ID"),
                 "agent": os.environ.get("OVERMIND_MISSION_NAME") or "mcp"}
        result = ask("remember", memories=[entry])["results"][0]
        memory = result["memory"]
        if result["created"]:
            return f"Remembered as {memory['id']} ({memory['kind']}, scope {memory['scope']})."
        return f"Already known as {memory['id']}; now seen {memory['count']} times."

    return server


def serve() -> None:
    from overmind.akasha.client import require_installed

    require_installed()
    try:
        import mcp.server.mcpserver  # noqa: F401 - fail here, in one line, rather than mid-handshake
    except ImportError as exc:
        raise AkashaError("the MCP SDK is not installed", hint=INSTALL_HINT) from exc
    build().run("stdio")
