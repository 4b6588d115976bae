"""`overmind akasha mcp` driven by a real MCP client session (the official SDK) over stdio."""

from __future__ import annotations

import sys
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client

from tests.helpers import Overmind


async def _session(env: dict[str, str], calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[Any]]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "overmind", "akasha", "mcp"], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = [tool.name for tool in (await session.list_tools()).tools]
        results = [await session.call_tool(name, arguments) for name, arguments in calls]
        return tools, results


def test_an_agent_recalls_and_remembers_over_mcp(ak: Overmind, scope: str) -> None:
    env = ak.env | {"OVERMIND_AKASHA_SCOPE": scope, "OVERMIND_MISSION_NAME": "mcp-agent",
                    "OVERMIND_MISSION_ID": "0badc0de"}
    ak("akasha", "remember", "The release script needs GPG_TTY set, or signing hangs.", "--scope", scope,
       "--kind", "pitfall")
    calls = [("recall", {"query": "why does signing a release freeze?"}),
             ("remember", {"text": "Tag releases with a leading v, e.g. v1.2.0.", "kind": "decision",
                           "tags": ["release"]}),
             ("remember", {"text": "Tag releases with a leading v, like v1.2.0.", "kind": "decision"}),
             ("recall", {"query": "anything", "kind": "rumour"}),
             ("remember", {"text": "   "})]
    tools, results = anyio.run(_session, env, calls)
    assert sorted(tools) == ["recall", "remember"]
    recalled, taught, again, bad_kind, empty = results
    assert not recalled.is_error
    assert "The release script needs GPG_TTY set, or signing hangs." in recalled.content[0].text
    assert recalled.content[0].text.startswith("1. [pitfall, score ")
    assert not taught.is_error and taught.content[0].text.startswith("Remembered as ")
    assert again.content[0].text.endswith("now seen 2 times.")
    assert bad_kind.is_error and "unknown kind 'rumour'" in bad_kind.content[0].text
    assert empty.is_error and "empty memory" in empty.content[0].text

    import json

    stored = {m["text"]: m for m in json.loads(ak("akasha", "ls", "--scope", scope, "--json").stdout)}
    decision = stored["Tag releases with a leading v, e.g. v1.2.0."]
    assert decision["agent"] == "mcp-agent" and decision["mission"] == "0badc0de" and decision["tags"] == ["release"]
