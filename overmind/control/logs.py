"""Missions' output from the journal: a range of lines, a live follow, and the JSON of each line.

A blueprint's logs are all its agents' lines in time order, labelled with the agent's name; with
no mission named, every mission's lines are shown, name-prefixed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, NamedTuple

from overmind.control.missions import resolve
from overmind.errors import OvermindError
from overmind.store import Blueprint, Mission, Store, shared
from overmind.systemd import journal
from overmind.systemd.journal import Entry, format_entry

# journald's cursors: `s=<hex>;i=<hex>;b=<hex>;m=<hex>;t=<hex>;x=<hex>`
CURSOR = re.compile(r"[a-z]=[0-9a-f]{1,64}(;[a-z]=[0-9a-f]{1,64}){0,15}")

RECENT = 10.0  # seconds after a run's end during which reading its lines first syncs journald

__all__ = ["Entry", "Selection", "earlier", "follow", "format_entry", "lines", "parse_since", "select", "to_json"]


class Selection(NamedTuple):
    """Whose lines to read, and how to label them."""

    missions: list[Mission]
    known: list[Mission]  # every mission: a reused name's lines belong to the mission of their time
    labels: dict[str, str]  # mission id -> the name shown before its lines
    with_names: bool  # several missions' lines are interleaved: say whose each line is

    @property
    def name_width(self) -> int:
        return max((len(self.labels[m.id]) for m in self.missions), default=0)

    def labelled(self, entry: Entry) -> Entry:
        return entry._replace(name=self.labels.get(entry.mission_id, entry.name))


def select(ref: str | None, store: Store | None = None, service: str | None = None) -> Selection:
    """One mission's lines, a blueprint's agents' lines, or (ref None) every mission's; with
    `service`, the lines of that service of the mission's worktree (or of its setup)."""
    store = store or shared()
    known = store.all()
    labels = {m.id: m.name for m in known}
    if ref is None:
        if service is not None:
            raise OvermindError("--service needs a mission", hint="overmind logs NAME --service SERVICE")
        return Selection(known, known, labels, with_names=True)
    chosen = resolve(ref, store)
    if service is not None:
        if isinstance(chosen, Blueprint):
            raise OvermindError(f"'{chosen.name}' is a blueprint", hint="name one of its agents")
        from overmind import isolation

        source = isolation.service_log_source(chosen, service, store)
        return Selection([source], [source], {source.id: source.name}, with_names=False)
    if isinstance(chosen, Blueprint):
        from overmind.blueprint.progress import agent_label

        members = store.children(chosen.id)
        labels.update({m.id: agent_label(m) for m in members})
        return Selection(members, known, labels, with_names=True)
    return Selection([chosen], known, labels, with_names=False)


def lines(selection: Selection, count: int | None = None, since: float | None = None,
          follow: bool = False, after_cursor: str | None = None) -> Iterator[Entry]:
    """The selection's lines in time order (the last `count`, those after `since`, those after the
    line at `after_cursor`: where a follow cut short resumes); with follow, then every new line
    as journald writes it (journalctl waits on inotify: no polling)."""
    if after_cursor is not None and not CURSOR.fullmatch(after_cursor):
        raise OvermindError("invalid journal cursor", hint="resume after a cursor a log line carried")
    if _ended_lately(selection):
        journal.sync()
    found = journal.entries(selection.missions, selection.known, lines=count, since=since, follow=follow,
                            after_cursor=after_cursor)
    return (selection.labelled(entry) for entry in found)


def _ended_lately(selection: Selection) -> bool:
    """A run ended in the last seconds: journald may still hold its last lines in stream buffers
    (a last line without a newline waits for its stream's end), so `wait X && logs X` asks
    journald to write them out first. Only then: the sync costs a few milliseconds."""
    now = time.time()
    return any(m.last_exit is not None and now - m.last_exit.at < RECENT for m in selection.missions)


def earlier(selection: Selection, cursor: str, count: int) -> list[Entry]:
    """The `count` lines just before the line at `cursor`, in time order (scrolling back)."""
    if not CURSOR.fullmatch(cursor):
        raise OvermindError("invalid journal cursor", hint="page back from a cursor a log line carried")
    found = journal.entries_before(selection.missions, selection.known, cursor, count)
    return [selection.labelled(entry) for entry in found]


async def follow(selection: Selection, after_cursor: str | None = None, count: int = 0,
                 since: float | None = None) -> AsyncIterator[Entry]:
    """For an event loop (the dashboard, the TUI): new lines as they come, after `after_cursor`
    (the last line a client has, e.g. an EventSource's Last-Event-ID), else since the moment
    `since` (when the client had no line yet), else after the last `count`."""
    if after_cursor is not None and not CURSOR.fullmatch(after_cursor):
        raise OvermindError("invalid journal cursor", hint="resume after a cursor a log line carried")
    async for entry in journal.follow_async(selection.missions, selection.known, after_cursor, count, since):
        yield selection.labelled(entry)


def to_json(found: Iterator[Entry], store: Store | None = None) -> Iterator[dict[str, Any]]:
    """Lines as `logs --json` prints them: the first line rendered from an agent event carries
    the event, whole."""
    store = store or shared()
    attached: set[tuple[str, int]] = set()
    for entry in found:
        data = entry.to_json()
        key = (entry.mission_id, entry.event_seq or 0)
        if entry.event_seq is not None and key not in attached:
            attached.add(key)
            stored = store.event(entry.mission_id, entry.event_seq)
            if stored is not None:
                data["event"] = json.loads(stored.data)
        yield data


def parse_since(text: str) -> float:
    """Absolute ('2026-01-31 09:00', ISO 8601) or relative ('10 min ago', '2h') times -> epoch."""
    from datetime import datetime

    from overmind.quantities import parse_duration

    relative = re.fullmatch(r"(.+?)\s*ago", text.strip())
    if relative or re.fullmatch(r"\d+(\.\d+)?\s*[a-z]+", text.strip()):
        return time.time() - parse_duration((relative[1] if relative else text).replace(" ", ""), "--since")
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise OvermindError(f"invalid --since {text!r}", hint="use e.g. '10min ago' or '2026-01-31 09:00'") from None
