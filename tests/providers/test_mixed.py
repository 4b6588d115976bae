"""One blueprint, three vendors: a claude planner, a codex implementer and a gemini reviewer, each
starting when the one before it has finished, all against their fake APIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import Overmind, blueprint_file
from tests.providers.conftest import GEMINI_MODEL, make_agent


def test_a_claude_planner_a_codex_implementer_and_a_gemini_reviewer_run_in_order(
        om: Overmind, fakes: dict[str, Any], name: str, tmp_path: Path) -> None:
    planner, implementer, reviewer = (make_agent(p, om, fakes, tmp_path) for p in ("claude", "codex", "gemini"))
    env = {**planner.om.env, **implementer.om.env, **reviewer.om.env}
    env["PATH"] = ":".join(dict.fromkeys(":".join(a.om.env["PATH"] for a in (planner, implementer, reviewer))
                                         .split(":")))
    both = Overmind(env)

    def agent(who: Any, prompt: str, **table: Any) -> dict[str, Any]:
        return {"provider": who.provider, "prompt": prompt, "cwd": str(who.cwd), "env": {"HOME": str(who.home)},
                **table}

    path = blueprint_file(tmp_path, name, {
        "plan": agent(planner, "plan the feature"),
        "implement": agent(implementer, "implement the plan", depends_on=["plan"]),
        "review": agent(reviewer, "review the change", depends_on=["implement"], model=GEMINI_MODEL)})
    both("apply", path)
    assert both("wait", name, timeout=300).returncode == 0
    results = {step: json.loads(both("result", f"{name}.{step}", "--json").stdout) for step in
               ("plan", "implement", "review")}
    assert {step: r["text"] for step, r in results.items()} == {
        "plan": "echo: plan the feature", "implement": "echo: implement the plan", "review": "echo: review the change"}
    assert all(r["session_id"] and not r["is_error"] for r in results.values())
    rows = [json.loads(line) for line in both("logs", name, "--json").stdout.splitlines()]
    said = [row["name"].rsplit(".", 1)[-1] for row in rows if row["message"].startswith("echo: ")]
    assert said == ["plan", "implement", "review"]
