"""A stand-in for a newer codex app-server (installed as `codex` on a test's PATH): it answers the
handshake and each turn as codex does, with events overmind does not know among them and a line
that is not JSON, to show that the wrapper skips them and carries on."""

from __future__ import annotations

import json
import sys


def say(**message: object) -> None:
    print(json.dumps(message), flush=True)


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        method, params = request.get("method"), request.get("params") or {}
        if method == "thread/start":
            say(id=request["id"], result={"thread": {"id": "newer-thread"}, "model": "m"})
        elif method == "turn/start":
            say(id=request["id"], result={"turn": {"id": "t", "status": "inProgress"}})
            say(method="thread/hologram/updated", params={"threadId": "newer-thread"})
            print("not json at all", flush=True)
            say(method="item/completed", params={"item": "not an object"})
            text = f"echo: {params['input'][0]['text']}"
            say(method="item/completed", params={"item": {"type": "agentMessage", "text": text}})
            say(method="turn/completed", params={"threadId": "newer-thread", "turn": {
                "status": "completed", "items": [{"type": "agentMessage", "text": text}], "durationMs": 1}})
        elif "id" in request:
            say(id=request["id"], result={})


if __name__ == "__main__":
    main()
