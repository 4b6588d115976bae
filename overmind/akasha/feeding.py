"""What a mission leaves behind when a run ends: its event log (files, commands, errors) and
memories of how it went: the task and its result, or how it failed, why, and its last lines.

Called by the agent's wrapper when its run ends (the unit's own end hook is plain sh). Events since
the last feeding are taken, so a run whose wrapper was killed is fed with the next run's end.
Printed lines go to the mission's journal stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from overmind.akasha.eventlog import EventLog, Touch, extract, parse_stored
from overmind.errors import OvermindError

if TYPE_CHECKING:
    from overmind.providers import Result
    from overmind.store import Exit, Mission, Store

TASK_CHARS = 400
RESULT_CHARS = 1500
LAST_LINES = 5


def memory_enabled(mission: Mission) -> bool:
    """Agent missions remember and consult unless started with --no-memory."""
    return mission.provider != "raw" and mission.spec.get("memory", True) is not False


def feed_ended_run(store: Store, mission: Mission, exit: Exit) -> None:
    """Never raises: the exit is recorded already, and memory must not turn a run's end into an error."""
    try:
        _feed(store, mission, exit)
    except Exception as exc:  # noqa: BLE001 - one line in the journal, whatever went wrong
        print(f"[memory] nothing remembered: {type(exc).__name__}: {exc}", flush=True)


def _feed(store: Store, mission: Mission, exit: Exit) -> None:
    if not memory_enabled(mission):
        return
    log = EventLog()
    start = log.read_up_to(mission.id)
    events = store.events(mission.id, after=start)
    if not events:
        return
    touches = extract(parse_stored((e.at, e.data) for e in events), mission.cwd)
    log.record(mission.id, mission.name, touches, events[-1].seq)
    entries = memories_of_run(mission, [e.data for e in events], touches, exit)
    if not entries:
        return
    from overmind.akasha import client

    if not client.installed():
        print("[memory] Akasha is not installed: nothing remembered", flush=True)
        return
    try:
        # Handed over, not waited for: the unit's stop (and `overmind wait`) is not held up by the
        # embedding, or by a service that has to start first.
        client.send("remember", memories=entries)
    except OvermindError as error:
        print(f"[memory] nothing remembered: {error.message}", flush=True)
        return
    print(f"[memory] remembering {len(entries)} memor{'y' if len(entries) == 1 else 'ies'} of this run", flush=True)


def memories_of_run(mission: Mission, lines: list[str], touches: list[Touch], exit: Exit) -> list[dict[str, object]]:
    """The memories one run leaves: its result (a summary, or a pitfall when it failed), and for a
    failure without a result, why it failed with its last lines."""
    from overmind.akasha.scope import scope_of
    from overmind.providers import get

    provider = get(mission.provider)
    result: Result | None = None
    shown: list[str] = []
    task = mission.command.strip()
    for line in lines:
        event = provider.parse(line)
        if event is None:
            continue
        shown += event.lines
        if event.result is not None:
            result = event.result
        if event.type == "user" and event.data.get("isReplay"):  # a message a session was sent
            task = _message_text(event.data) or task
    stopped = mission.stop_requested_at is not None or mission.killed_at is not None
    failed = (result is not None and result.is_error) or (not _succeeded(exit) and not stopped)
    if result is None and not failed:
        return []
    common = {"scope": scope_of(mission.cwd), "mission": mission.id, "agent": mission.name,
              "tags": ["mission", mission.provider, *(["failed"] if failed else [])]}
    parts = [f"Task: {_cut(task, TASK_CHARS)}" if task else "Task: (an interactive session)"]
    if failed:
        parts.append(f"Failed ({_how(exit, result)}).")
    if result is not None and result.text.strip():
        parts.append(f"{'Error' if result.is_error else 'Result'}: {_cut(result.text.strip(), RESULT_CHARS)}")
    changed = list(dict.fromkeys(t.subject for t in touches if t.action in ("write", "edit", "delete")))
    if changed:
        parts.append("Files changed: " + ", ".join(changed[:10]) + (" …" if len(changed) > 10 else ""))
    errors = [t for t in touches if t.action == "error"]
    if failed and errors:
        parts.append("Errors met: " + "; ".join(f"{t.subject}" + (f" ({t.detail})" if t.detail else "")
                                                for t in errors[-3:]))
    if failed and shown:
        parts.append("Last output: " + " | ".join(line.strip() for line in shown[-LAST_LINES:]))
    return [{**common, "kind": "pitfall" if failed else "summary", "text": "\n".join(parts)}]


def _succeeded(exit: Exit) -> bool:
    return exit.service_result == "success" and exit.exit_code == "exited" and exit.exit_status == "0"


def _how(exit: Exit, result: Result | None) -> str:
    if result is not None and result.is_error and _succeeded(exit):
        return "the agent reported an error"
    return exit.describe()


def _message_text(data: dict[str, object]) -> str:
    message = data.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
