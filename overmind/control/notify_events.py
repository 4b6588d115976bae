"""What a notice says: its event, its title and its words, from the JSON the change feed carries.

Pure: each function takes what happened (a mission's JSON and its transition, a blueprint's, a
ritual's, a permission request) and returns the notice. `overmind.control.notify_watch` decides
when one is due.
"""

from __future__ import annotations

from typing import Any

from overmind.control.attention import tripped
from overmind.control.notify_outbox import Notice


def took(seconds: float) -> str:
    """`40 s`, `3m05s`: how long a crash loop went on."""
    from overmind import format as fmt

    return f"{max(1, round(seconds))} s" if seconds < 90 else fmt.duration(seconds)


def _mission_data(data: dict[str, Any], seq: int | None, state: str | None, **extra: Any) -> dict[str, Any]:
    return {"type": "mission", "mission": data, "seq": seq, "state": state, **extra}


def ended(data: dict[str, Any], state: str, seq: int, at: float, fold: Notice | None,
          previous: str | None = "restarting") -> Notice:
    """A mission's end that needs a person: it crashed, its breaker tripped, or it failed to run.
    `fold`: the crash loop that came before (systemd restarted it, until it stopped doing so);
    after `restarting`, the end is systemd refusing that restart (the last crash is counted)."""
    ident, name = data["id"], data["name"]
    reason = data.get("reason") or ""
    key = f"mission:{ident}:{seq}"
    if fold is not None:
        crashes = int(fold.data.get("crashes", 1)) + (previous != "restarting")
        first_at = float(fold.data.get("first_at", at))
        message = f"crashed {crashes} times in {took(at - first_at)}, breaker tripped" + (f" ({reason})" if reason
                                                                                          else "")
        extra = {"crashes": crashes, "first_at": first_at}
        return Notice(fold.key, "breaker", ident, name, f"{name}: breaker tripped", message, at,
                      _mission_data(data, seq, state, **extra), fold.id)
    if tripped(reason):
        return Notice(key, "breaker", ident, name, f"{name}: breaker tripped", f"breaker tripped: {reason}", at,
                      _mission_data(data, seq, state))
    if state == "crashed":
        return Notice(key, "crashed", ident, name, f"{name} crashed", reason or "crashed", at,
                      _mission_data(data, seq, state))
    return Notice(key, "failed", ident, name, f"{name} failed", reason or "it could not run", at,
                  _mission_data(data, seq, state))


def finished(data: dict[str, Any], seq: int, at: float) -> Notice:
    from overmind.mission.status import words

    said = words("finished", data.get("reason"), data.get("exit_code"))
    return Notice(f"mission:{data['id']}:{seq}", "finished", data["id"], data["name"], f"{data['name']} finished",
                  said, at, _mission_data(data, seq, "finished"))


def crash_loop(data: dict[str, Any], seq: int, at: float, reason: str, fold: Notice | None) -> Notice:
    """A crash that systemd restarts: the first of a loop, or one more. Held until the loop ends
    (one notice for all of them), so its words say what it will be if no breaker trips."""
    ident, name = data["id"], data["name"]
    if fold is None:
        crashes, first_at, key = 1, at, f"fold:{ident}:{seq}"
    else:
        crashes, first_at, key = int(fold.data.get("crashes", 1)) + 1, float(fold.data.get("first_at", at)), fold.key
    why = f" ({reason})" if reason else ""
    message = (f"crashed{why}; systemd restarted it" if crashes == 1 else
               f"crashed {crashes} times in {took(at - first_at)}{why}; systemd restarted it each time")
    return Notice(key, "crashed", ident, name, f"{name} crashed", message, at,
                  _mission_data(data, seq, "restarting", crashes=crashes, first_at=first_at),
                  fold.id if fold is not None else None)


def stopped_after(fold: Notice, data: dict[str, Any], state: str) -> Notice:
    """A crash loop that a person ended (stop, kill) before any breaker tripped."""
    return fold._replace(message=f"{fold.message}; then it was {'killed' if state == 'killed' else 'stopped'}",
                         data={**fold.data, "mission": data, "state": state})


def waiting(data: dict[str, Any], seq: int | None, turn: int, at: float) -> Notice:
    name = data["name"]
    return Notice(f"waiting:{data['id']}:{seq}:{turn}", "waiting", data["id"], name, f"{name} waits for your message",
                  f"send it one: overmind send {name} 'MESSAGE'", at, _mission_data(data, seq, "running", turn=turn))


def permission(mission_id: str, name: str, request: dict[str, Any], at: float) -> Notice:
    label = request.get("label") or request.get("tool") or "a tool"
    number = request.get("request")
    return Notice(f"permission:{mission_id}:{number}", "permission", mission_id, name, f"{name} asks permission",
                  f"{label}: overmind approve {name} {number} (or deny)", at,
                  {"type": "permission", "permission": request, "mission_id": mission_id})


def blueprint_failed(data: dict[str, Any], at: float) -> Notice:
    name = data["name"]
    return Notice(f"blueprint:{data['id']}:{data.get('applied_at')}", "blueprint-failed", data["id"], name,
                  f"blueprint {name} failed", data.get("reason") or "an agent failed", at,
                  {"type": "blueprint", "blueprint": data})


def ritual_failed(data: dict[str, Any], at: float) -> Notice:
    name = data["name"]
    return Notice(f"ritual:{name}:{data.get('runs')}:{data.get('last_run_at')}", "ritual-failed", f"ritual:{name}",
                  name, f"ritual {name} failed", str(data.get("last_result")), at, {"type": "ritual", "ritual": data})


def ritual_failing(data: dict[str, Any]) -> bool:
    """A ritual whose last run ended badly (not running, not skipped, not ok)."""
    result = str(data.get("last_result") or "-")
    return not data.get("running") and result not in ("ok", "-", "running") and not result.startswith(
        ("skipped", "queued"))


def test(channel: str, at: float) -> Notice:
    return Notice(f"test:{channel}:{at}", "test", "test", channel, "overmind: test notification",
                  f"notifications to '{channel}' work", at, {"type": "test", "test": {"channel": channel}})
