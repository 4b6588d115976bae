"""What an agent mission is told before it starts: the memories most relevant to its prompt in
its repository's scope (and the global one), appended to its system prompt, and the Akasha MCP
server in its configuration, so it can recall and remember mid-task.

Runs inside the unit, in the wrapper, just before the agent CLI starts: `overmind run` stays as
fast as ever, and a service that is slow or down delays no start by more than CONSULT_TIMEOUT.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from overmind.akasha.feeding import memory_enabled
from overmind.akasha.model import GLOBAL
from overmind.errors import OvermindError

if TYPE_CHECKING:
    from overmind.agent_options import AgentOptions
    from overmind.store import Mission

CONSULT_TIMEOUT = 10.0
CONSULTED = 5  # memories asked for; those below ranking.RELEVANT are dropped
MCP_SERVER = "akasha"  # claude names the tools mcp__akasha__recall and mcp__akasha__remember
_MCP_ENV = ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "OVERMIND_MISSION_ID", "OVERMIND_MISSION_NAME",
            "OVERMIND_AKASHA_URL", "OVERMIND_AKASHA_TOKEN", "XDG_RUNTIME_DIR")


def prepare_agent(mission: Mission, options: AgentOptions, say: Callable[[str], None],
                  resuming: bool = False) -> AgentOptions:
    """The agent's options with memory added: consulted memories in the system prompt and the MCP
    server (claude, codex, gemini); the options unchanged with --no-memory, without Akasha, or if anything fails:
    memory never keeps an agent from starting. `resuming` a conversation, it is told what its
    start was told (kept beside its run records), without asking the memory service again."""
    try:
        return _prepare(mission, options, say, resuming)
    except Exception as exc:  # noqa: BLE001 - one line in the journal, and the agent starts as asked
        say(f"[memory] not consulted: {type(exc).__name__}: {exc}")
        return options


def _prepare(mission: Mission, options: AgentOptions, say: Callable[[str], None], resuming: bool) -> AgentOptions:
    from overmind.akasha import client

    if not _takes_memory(mission.provider) or not memory_enabled(mission) or not client.installed():
        return options
    from overmind.akasha.scope import scope_of

    scope = scope_of(mission.cwd)
    options = _with_mcp(options, scope)
    prompt = mission.command.strip()
    if not prompt:
        return options
    kept = _kept(mission)
    # A conversation going on keeps the system prompt it began with, and a boot resuming many
    # sessions does not wait for the memory service to start and embed each of their prompts.
    if resuming and kept.exists():
        block: str | None = kept.read_text(encoding="utf-8")
    else:
        block = _consult(mission, prompt, scope, say)
        if block is not None:
            _keep(kept, block, say)
    if not block:
        return options
    combined = f"{options.append_system_prompt}\n\n{block}" if options.append_system_prompt else block
    return replace(options, append_system_prompt=combined)


def _consult(mission: Mission, prompt: str, scope: str, say: Callable[[str], None]) -> str | None:
    """The prompt block of the memories relevant to the prompt ("" if none); None if the memory
    service could not answer."""
    from overmind.akasha import client
    from overmind.akasha.ranking import RELEVANT
    from overmind.akasha.views import prompt_block

    try:
        answer = client.request("recall", timeout=CONSULT_TIMEOUT, query=prompt[:4000], n=CONSULTED,
                                scopes=list(dict.fromkeys([scope, GLOBAL])))
    except OvermindError as error:  # the agent starts all the same
        say(f"[memory] not consulted: {error.message}")
        return None
    hits = [hit for hit in answer["hits"] if hit["score"] >= RELEVANT]
    if not hits:
        return ""
    _note_consulted(mission, [hit["id"] for hit in hits], say)
    say(f"[memory] consulted {len(hits)} memor{'y' if len(hits) == 1 else 'ies'}: "
        + ", ".join(hit["id"] for hit in hits))
    return prompt_block(hits)


def _keep(kept: Path, block: str, say: Callable[[str], None]) -> None:
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(block, encoding="utf-8")
    except OSError as error:  # the next start asks the service again
        say(f"[memory] consulted memories not kept: {error.strerror or error}")


def _kept(mission: Mission) -> Path:
    from overmind.paths import state_dir
    from overmind.store.runs import runs_dir

    return runs_dir(state_dir()) / f"{mission.id}.consulted"


def _note_consulted(mission: Mission, ids: list[str], say: Callable[[str], None]) -> None:
    """In the mission event log, for its page; a log that cannot be written costs the agent nothing."""
    from overmind.akasha.eventlog import EventLog

    try:
        EventLog().note_memories(mission.id, mission.name, "consulted", ids)
    except Exception as exc:  # noqa: BLE001 - one line in the journal, and the agent starts as asked
        say(f"[memory] consulted memories not logged: {type(exc).__name__}: {exc}")


def _takes_memory(provider: str) -> bool:
    """Whether the provider's CLI can be told memories and given the MCP server (claude, codex,
    gemini: see docs/providers.md)."""
    from overmind.providers import get

    return {"append_system_prompt", "mcp_config"} <= get(provider).supported_options


def _with_mcp(options: AgentOptions, scope: str) -> AgentOptions:
    env = {key: os.environ[key] for key in _MCP_ENV if os.environ.get(key)}
    env["OVERMIND_AKASHA_SCOPE"] = scope
    config = {"mcpServers": {MCP_SERVER: {"type": "stdio", "command": sys.executable,
                                          "args": ["-m", "overmind", "akasha", "mcp"], "env": env}}}
    allowed = f"mcp__{MCP_SERVER}"
    tools = f"{options.allowed_tools},{allowed}" if options.allowed_tools else allowed
    return replace(options, mcp_config=json.dumps(config), allowed_tools=tools)
