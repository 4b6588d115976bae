"""opencode as a task provider (`opencode run --format json`), the real CLI against the fake
Responses API: its tool calls in the logs, its result with the tokens and cost it reports."""

from __future__ import annotations

import json

import pytest

from tests.providers.conftest import Agent


@pytest.mark.parametrize("agent", ["opencode"], indirect=True)
def test_an_opencode_task_runs_a_tool_and_reports_tokens_and_cost(agent: Agent, name: str) -> None:
    agent.shell_tool("list it", "echo tool-output-42")
    agent.run(name, "please list it")
    assert agent.om("wait", name, timeout=180).returncode == 0
    lines = agent.om.logs(name)
    assert "[tool] bash: echo tool-output-42" in lines and "[tool output] tool-output-42" in lines
    result = json.loads(agent.om("result", name, "--json").stdout)
    assert (result["text"], result["is_error"]) == ("tool said: tool-output-42", False)
    assert result["cost_usd"] > 0 and (result["input_tokens"], result["output_tokens"]) == (20, 10)
    assert result["session_id"] == agent.om.info(name)["session_id"]
