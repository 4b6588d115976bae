"""A fake OpenAI Responses API (`POST /v1/responses`, streamed) on 127.0.0.1 for the real codex CLI.

codex sends the whole conversation as `input` items with every request: user and developer
messages (its own context, e.g. `<environment_context>`, is not what a person typed), the
model's earlier `message` and `function_call` items and each call's `function_call_output`.
A tool call is answered with a `function_call` to codex's shell tool, `exec_command`.
Scripted as tests/fake_server.py says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.fake_server import Reply, ScriptedFake, Turn, pieces, sse

USAGE = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 5,
         "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15}


def _texts(item: dict[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(str(part.get("text", "")) for part in content or [] if isinstance(part, dict))


def _typed(text: str) -> bool:
    """A user message a person typed, not context codex adds (environment, AGENTS.md, ...)."""
    return bool(text) and not text.startswith(("<", "# AGENTS.md"))


def tool_output(output: Any) -> str:
    """The command's own output in an `exec_command` result (after codex's `Output:` header)."""
    text = output if isinstance(output, str) else json.dumps(output)
    head, found, rest = text.partition("Output:\n")
    return rest if found else head


class FakeOpenAI(ScriptedFake):
    def route(self, path: str) -> bool:
        return path.rstrip("/").endswith("/responses")

    def side(self, request: dict[str, Any]) -> bool:
        """codex's and opencode's requests for a conversation's title."""
        said = [_texts(item) for item in request.get("input") or [] if isinstance(item, dict)
                and item.get("role") == "user"]
        return "tool_choice" not in request or any(text.startswith("Generate a concise") for text in said)

    def read(self, request: dict[str, Any]) -> tuple[list[str], Turn]:
        items = [item for item in request.get("input") or [] if isinstance(item, dict)]
        said = [text for item in items if item.get("role") == "user" and _typed(text := _texts(item).strip())]
        last = items[-1] if items else {}
        if last.get("type") == "function_call_output":
            return said, Turn(said[-1] if said else "", tool_output(last.get("output")))
        return said, Turn(said[-1] if said else "")

    def events(self, request: dict[str, Any], reply: Reply) -> Iterator[bytes]:
        count = len(self.requests)
        response = {"id": f"resp_{count}", "object": "response", "status": "in_progress", "model": request.get("model")}
        yield sse({"type": "response.created", "response": response}, "response.created")
        if reply.tool is not None:
            name, arguments = reply.tool
            item = {"type": "function_call", "id": f"fc_{count}", "call_id": f"call_{count}", "name": name,
                    "arguments": json.dumps(arguments), "status": "completed"}
            yield sse({"type": "response.output_item.added", "output_index": 0, "item": item},
                      "response.output_item.added")
            yield sse({"type": "response.output_item.done", "output_index": 0, "item": item},
                      "response.output_item.done")
        else:
            message_id = f"msg_{count}"
            text = reply.text or ""
            head = {"type": "message", "id": message_id, "role": "assistant", "status": "in_progress", "content": []}
            yield sse({"type": "response.output_item.added", "output_index": 0, "item": head},
                      "response.output_item.added")
            for piece in pieces(text, reply.chunks):
                yield sse({"type": "response.output_text.delta", "item_id": message_id, "output_index": 0,
                           "content_index": 0, "delta": piece}, "response.output_text.delta")
            done = head | {"status": "completed",
                           "content": [{"type": "output_text", "text": text, "annotations": []}]}
            yield sse({"type": "response.output_item.done", "output_index": 0, "item": done},
                      "response.output_item.done")
        completed = response | {"status": "completed", "usage": USAGE}
        yield sse({"type": "response.completed", "response": completed}, "response.completed")
