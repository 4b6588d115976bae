"""Streams from other hosts that outlive a network cut: `logs -f` and `events`.

Each runs the host's own command (`logs -f --json`, `events --json`) over the host's connection
and reads its lines as they come. When ssh loses the host, it connects again (backing off up to
a few seconds) and resumes where the stream was: a log follow after the journal cursor of the
last line shown (journald's own bookmark: no line lost, none twice), the change feed from each
mission's transition number (`seq`): what happened during the cut is told once, as the state it
led to, and nothing already told is told again.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

from overmind.control.remote import Unreachable, call_json, remote_command
from overmind.errors import OvermindError
from overmind.remote import ssh, wire
from overmind.remote.registry import Host
from overmind.remote.text import printable_line

BACKOFF_FIRST, BACKOFF_MAX = 0.5, 5.0
Say = Callable[[str], None]


def _lines(target: Host, argv: list[str]) -> Iterator[dict[str, Any]]:
    """The JSON lines `overmind ARGV` prints on the host, as they come; Unreachable when the
    connection fails or is lost, the command's own error when it fails."""
    remote, frame = remote_command(target, wire.Payload(argv, target.name))
    proc = subprocess.Popen(ssh.command(target, remote), stdin=subprocess.PIPE if frame else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    if frame and proc.stdin is not None:
        proc.stdin.write(frame)
        proc.stdin.close()
    try:
        for raw in proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # not one of the command's lines: nothing to show
            if isinstance(line, dict):
                yield line
        code = proc.wait()
        stderr = proc.stderr.read().decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
    if ssh.transport_failed(code, stderr):
        raise Unreachable(target.name, ssh.failure(stderr))
    if code != 0:
        lines = [printable_line(text) for text in stderr.splitlines() if text.strip()]
        message = next((text.removeprefix("overmind: ") for text in lines if text.startswith("overmind: ")),
                       f"exit code {code}")
        raise OvermindError(f"{target.name}: {message}", exit_code=code)


def _resumed(target: Host, attempt: Callable[[], Iterator[dict[str, Any]]], say: Say) -> Iterator[dict[str, Any]]:
    """`attempt()`'s lines, attempted again after each loss of the host."""
    delay = BACKOFF_FIRST
    lost = False
    while True:
        try:
            for line in attempt():
                if lost:
                    say(f"{target.name}: connected again")
                    lost, delay = False, BACKOFF_FIRST
                yield line
            return
        except Unreachable as error:
            if not lost:
                say(f"{target.name}: {printable_line(error.why)}; connecting again")
            lost = True
            ssh.close(target)
            time.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)


def follow_logs(target: Host, argv: list[str], on_gap: Say) -> Iterator[dict[str, Any]]:
    """`logs ... -f` on the host, resumed after the cursor of the last line after a cut."""
    base = [*argv, "--json"] if "--json" not in argv else list(argv)
    cursor: list[str] = []

    def attempt() -> Iterator[dict[str, Any]]:
        more = ["--after-cursor", cursor[0]] if cursor else []
        for line in _lines(target, [*base, *more]):
            if isinstance(line.get("cursor"), str):
                cursor[:] = [line["cursor"]]
            yield line

    yield from _resumed(target, attempt, on_gap)


def follow_events(target: Host, argv: list[str], only: list[str], on_gap: Say) -> Iterator[dict[str, Any]]:
    """`events --json` on the host, each change carrying `host`. After a cut: the missions whose
    state moved meanwhile are told once, as they are now (`"resumed": true`), and changes the
    stream tells again are left out (a mission's `seq` never goes back)."""
    base = [*argv, *(["--json"] if "--json" not in argv else []), "--ready"]
    told: dict[str, tuple[Any, ...]] = {}  # what was last told per mission: (seq, status, event)
    connected = [False]

    def states(tell: bool) -> Iterator[dict[str, Any]]:
        """The host's missions now; with `tell`, as changes for those that moved since last told."""
        rows = [row for row in call_json(target, ["ps", "--all"]) or []
                if isinstance(row, dict) and (not only or row.get("id") in only or row.get("name") in only)]
        now = time.time()
        for row in rows:
            key = row.get("id")
            if not isinstance(key, str):
                continue
            event = "finished" if row.get("finished_at") else "started" if key not in told else "changed"
            mark = (row.get("seq"), row.get("status"), event)
            if tell and told.get(key, (None, None, None))[1] != mark[1]:
                yield {"version": 1, "type": "mission", "event": event, "id": key, "name": row.get("name"),
                       "at": now, "seq": row.get("seq"), "previous": None, "state": row.get("status"),
                       "mission": row, "resumed": True}
                told[key] = mark
            elif not tell:
                told[key] = mark
        if tell:
            for gone in sorted(set(told) - {row.get("id") for row in rows}):
                del told[gone]
                yield {"version": 1, "type": "mission", "event": "removed", "id": gone, "name": None, "at": now,
                       "seq": None, "previous": None, "state": None, "mission": None, "resumed": True}

    def attempt() -> Iterator[dict[str, Any]]:
        for change in _lines(target, base):
            if change.get("type") == "ready":  # the host's feed is subscribed: read the states after it
                yield from states(tell=connected[0])
                connected[0] = True
                yield change  # said to _resumed (connected again), not to the caller
                continue
            yield from _new(change)

    def _new(change: dict[str, Any]) -> Iterator[dict[str, Any]]:
        key, seq = change.get("id"), change.get("seq")
        data = change.get(str(change.get("type") or "mission"))
        status = data.get("status") if isinstance(data, dict) else None
        old = told.get(key) if isinstance(key, str) else None
        if old is not None and isinstance(seq, int) and isinstance(old[0], int) and seq <= old[0]:
            return  # told already
        if old is not None and seq is None and old[1:] == (status, change.get("event")):
            return  # a feed without seq: the same news twice
        if isinstance(key, str) and change.get("type") == "mission":
            told[key] = (seq, status, change.get("event"))
        yield change

    for change in _resumed(target, attempt, on_gap):
        if change.get("type") != "ready":
            yield {**change, "host": target.name}


def text_lines(target: Host, argv: list[str], on_line: Callable[[str], None]) -> int:
    """`overmind ARGV` on the host, each line of its output given to `on_line` as it comes (a
    cut connection runs it again: for commands that are safe to repeat, like following a
    pipeline); its exit code."""
    delay = BACKOFF_FIRST
    while True:
        remote, frame = remote_command(target, wire.Payload(argv, target.name))
        proc = subprocess.Popen(ssh.command(target, remote), stdin=subprocess.PIPE if frame else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        if frame and proc.stdin is not None:
            proc.stdin.write(frame)
            proc.stdin.close()
        tail: list[str] = []
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            tail = [*tail[-4:], line]
            on_line(line)
        code = proc.wait()
        if not ssh.transport_failed(code, "\n".join(tail)):
            return code
        ssh.close(target)
        time.sleep(delay)
        delay = min(delay * 2, BACKOFF_MAX)
