"""A fake Gemini API (`POST /v1beta/models/<model>:streamGenerateContent?alt=sse`) on 127.0.0.1 for the
real gemini CLI.

gemini sends the whole conversation as `contents` with every request: user turns (its own
session context first), the model's turns with their `functionCall` parts and user turns that
carry each call's `functionResponse`. A tool call is a `functionCall` of the CLI's shell tool,
`run_shell_command`. Scripted as tests/fake_server.py says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.fake_server import Reply, ScriptedFake, Turn, pieces

USAGE = {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}


def _text(content: dict[str, Any]) -> str:
    """What a person typed in a turn: its text parts, without the context gemini adds to the first
    one (`<session_context>...`)."""
    return "".join(text for part in content.get("parts") or [] if isinstance(part, dict) and not part.get("thought")
                   and not (text := str(part.get("text", ""))).startswith("<")).strip()


def _tool_output(response: dict[str, Any]) -> str:
    """The command's own output in a `run_shell_command` result (gemini wraps it: `Output: ...`,
    then the process group)."""
    output = response.get("output", response.get("error", response))
    text = output if isinstance(output, str) else json.dumps(output)
    found = re.search(r"Output: (.*?)(?:\nProcess Group|\n</untrusted_context>|$)", text, re.S)
    return found.group(1) if found else text


class FakeGemini(ScriptedFake):
    def route(self, path: str) -> bool:
        return ":streamGenerateContent" in path or ":generateContent" in path

    def side(self, request: dict[str, Any]) -> bool:
        """gemini's own requests: a summary of the session (no tools), a check who speaks next, ..."""
        return not request.get("tools")

    def read(self, request: dict[str, Any]) -> tuple[list[str], Turn]:
        contents = [c for c in request.get("contents") or [] if isinstance(c, dict)]
        said = [text for c in contents if c.get("role") == "user" and (text := _text(c))]
        last = contents[-1] if contents else {}
        responses = [part["functionResponse"] for part in last.get("parts") or []
                     if isinstance(part, dict) and isinstance(part.get("functionResponse"), dict)]
        if responses:
            return said, Turn(said[-1] if said else "", _tool_output(responses[0].get("response") or {}))
        return said, Turn(said[-1] if said else "")

    def events(self, request: dict[str, Any], reply: Reply) -> Iterator[bytes]:
        if reply.tool is not None:
            name, args = reply.tool
            parts = [[{"functionCall": {"name": name, "args": args}}]]
        else:
            parts = [[{"text": piece}] for piece in pieces(reply.text or "", reply.chunks)]
        for index, part in enumerate(parts):
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": part}, "index": 0}
            chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": "fake"}
            if index == len(parts) - 1:
                candidate["finishReason"] = "STOP"
                chunk["usageMetadata"] = USAGE
            yield f"data: {json.dumps(chunk)}\r\n\r\n".encode()
