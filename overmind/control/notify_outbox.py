"""The notification service's queue on disk: what was seen, what waits, what was delivered.

One SQLite file beside the channels (`<state dir>/notify/outbox.db`), so a restart of the service
neither sends a notice twice nor forgets one it had not sent yet:

- `seen`: every key ever claimed (a mission's transition is `mission:<id>:<seq>`, as the change
  feed numbers it alike in every feed): a key is claimed once, so each transition makes at
  most one notice.
- `notices`: each notice, `held` until its time (a crash loop folding, a session that has to stay
  waiting a moment), then `released` with one delivery per channel that wants it.
- `deliveries`: one per notice and channel, `pending` (retried at `next_at`), `sent` or `failed`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, subject TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, event TEXT NOT NULL, subject TEXT NOT NULL,
    name TEXT NOT NULL, title TEXT NOT NULL, message TEXT NOT NULL, at REAL NOT NULL, data TEXT NOT NULL,
    state TEXT NOT NULL, due REAL NOT NULL);
CREATE INDEX IF NOT EXISTS notices_held ON notices (state, due);
CREATE TABLE IF NOT EXISTS deliveries (
    notice INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE, channel TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, first_at REAL NOT NULL, next_at REAL NOT NULL,
    done_at REAL, detail TEXT, PRIMARY KEY (notice, channel));
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (state, next_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
KEEP_S = 30 * 86400  # delivered notices are kept this long (`notify ls` counts them)


class Notice(NamedTuple):
    """One thing to tell people: what happened to what, in words, with its JSON."""

    key: str  # claimed in `seen`; one notice per key
    event: str  # one of notify_channels.EVENTS, or `test`
    subject: str  # the mission's or blueprint's id, `ritual:<name>`
    name: str  # what channels' --missions globs match
    title: str
    message: str
    at: float  # when it happened
    data: dict[str, Any]  # {"type": mission|blueprint|ritual|permission, <type>: its JSON, ...}
    id: int | None = None  # its row, once queued


class Delivery(NamedTuple):
    notice: Notice
    channel: str
    attempts: int
    first_at: float


class ChannelStats(NamedTuple):
    sent: int = 0
    failed: int = 0
    pending: int = 0
    last_sent_at: float | None = None
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


class Outbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        path.chmod(0o600)  # notices carry what agents did
        self.db.execute("PRAGMA busy_timeout = 30000")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """What the block writes is kept whole or not at all: a key claimed is never kept without
        the notice it was claimed for, whenever the service is killed."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- keys ------------------------------------------------------------------------------------
    def claim(self, key: str, subject: str, at: float | None = None) -> bool:
        """True the first time a key is claimed, ever (across restarts); False after."""
        cursor = self.db.execute("INSERT OR IGNORE INTO seen (key, subject, at) VALUES (?, ?, ?)",
                                 (key, subject, at or time.time()))
        return cursor.rowcount == 1

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def put(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?",
                        (key, value, value))

    # -- notices -----------------------------------------------------------------------------------
    def hold(self, notice: Notice, due: float) -> Notice:
        """Queue a notice to be released at `due` (now or later), unless changed or dropped first."""
        cursor = self.db.execute(
            "INSERT INTO notices (key, event, subject, name, title, message, at, data, state, due)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'held', ?)",
            (notice.key, notice.event, notice.subject, notice.name, notice.title, notice.message, notice.at,
             json.dumps(notice.data), due))
        return notice._replace(id=cursor.lastrowid)

    def update(self, notice: Notice, due: float) -> None:
        assert notice.id is not None
        self.db.execute("UPDATE notices SET event = ?, title = ?, message = ?, data = ?, due = ? WHERE id = ?",
                        (notice.event, notice.title, notice.message, json.dumps(notice.data), due, notice.id))

    def drop(self, notice: Notice) -> None:
        self.db.execute("DELETE FROM notices WHERE id = ? AND state = 'held'", (notice.id,))

    def held(self, subject: str | None = None, key_prefix: str = "") -> list[Notice]:
        """Held notices (of one subject, with keys that start so), oldest first."""
        where, params = "state = 'held' AND key LIKE ? ESCAPE '\\'", [_like(key_prefix)]
        if subject is not None:
            where, params = where + " AND subject = ?", [*params, subject]
        return self._notices(where, params)

    def due(self, now: float) -> list[Notice]:
        return self._notices("state = 'held' AND due <= ?", [now])

    def release(self, notice: Notice, channels: Iterable[str], now: float) -> None:
        """The notice goes out: one pending delivery to each of these channels."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE notices SET state = 'released', due = ? WHERE id = ?", (now, notice.id))
            self.db.executemany(
                "INSERT OR IGNORE INTO deliveries (notice, channel, state, first_at, next_at)"
                " VALUES (?, ?, 'pending', ?, ?)", [(notice.id, name, now, now) for name in channels])

    def _notices(self, where: str, params: list[Any]) -> list[Notice]:
        rows = self.db.execute("SELECT key, event, subject, name, title, message, at, data, id FROM notices"
                               f" WHERE {where} ORDER BY id", params)
        return [_notice(row) for row in rows]

    # -- deliveries --------------------------------------------------------------------------------
    def pending(self, now: float) -> list[Delivery]:
        rows = self.db.execute(
            "SELECT n.key, n.event, n.subject, n.name, n.title, n.message, n.at, n.data, n.id,"
            " d.channel, d.attempts, d.first_at FROM deliveries d JOIN notices n ON n.id = d.notice"
            " WHERE d.state = 'pending' AND d.next_at <= ? ORDER BY n.id", (now,))
        return [Delivery(_notice(r), r[9], r[10], r[11]) for r in rows]

    def delivered(self, delivery: Delivery, detail: str) -> None:
        self._finish(delivery, "sent", detail)

    def given_up(self, delivery: Delivery, detail: str) -> None:
        self._finish(delivery, "failed", detail)

    def retry(self, delivery: Delivery, detail: str, at: float) -> None:
        self.db.execute("UPDATE deliveries SET attempts = attempts + 1, next_at = ?, detail = ?"
                        " WHERE notice = ? AND channel = ?", (at, detail, delivery.notice.id, delivery.channel))

    def _finish(self, delivery: Delivery, state: str, detail: str) -> None:
        self.db.execute("UPDATE deliveries SET state = ?, attempts = attempts + 1, done_at = ?, detail = ?"
                        " WHERE notice = ? AND channel = ?",
                        (state, time.time(), detail, delivery.notice.id, delivery.channel))

    def next_wake(self) -> float | None:
        """When something is next due: a held notice or a retry."""
        row = self.db.execute("SELECT MIN(t) FROM (SELECT MIN(due) AS t FROM notices WHERE state = 'held'"
                              " UNION ALL SELECT MIN(next_at) FROM deliveries WHERE state = 'pending')").fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def stats(self) -> dict[str, ChannelStats]:
        """Per channel: deliveries sent, given up and pending, the last one sent, the last failure."""
        found: dict[str, ChannelStats] = {}
        rows = self.db.execute(
            "SELECT channel, SUM(state = 'sent'), SUM(state = 'failed'), SUM(state = 'pending'),"
            " MAX(CASE WHEN state = 'sent' THEN done_at END) FROM deliveries GROUP BY channel")
        for channel, sent, failed, pending, last_sent in rows:
            error = self.db.execute(
                "SELECT detail FROM deliveries WHERE channel = ? AND state != 'sent' AND detail IS NOT NULL"
                " ORDER BY COALESCE(done_at, next_at) DESC LIMIT 1", (channel,)).fetchone()
            found[channel] = ChannelStats(int(sent or 0), int(failed or 0), int(pending or 0), last_sent,
                                          error[0] if error else None)
        return found

    def forget(self, channel: str) -> None:
        """A removed channel's deliveries (what it was sent; what it would have been sent)."""
        self.db.execute("DELETE FROM deliveries WHERE channel = ?", (channel,))

    def prune(self, subjects: set[str], now: float) -> None:
        """Forget keys of things that no longer exist, and notices delivered long ago."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            known = {row[0] for row in self.db.execute("SELECT DISTINCT subject FROM seen")}
            gone = [(s,) for s in known - subjects if not s.startswith("ritual:")]
            self.db.executemany("DELETE FROM seen WHERE subject = ?", gone)
            self.db.execute("DELETE FROM seen WHERE subject LIKE 'ritual:%' AND at < ?", (now - KEEP_S,))
            self.db.execute("DELETE FROM notices WHERE state = 'released' AND due < ? AND NOT EXISTS"
                            " (SELECT 1 FROM deliveries WHERE notice = notices.id AND state = 'pending')",
                            (now - KEEP_S,))


def _notice(row: tuple[Any, ...]) -> Notice:
    """A notice from its row: key, event, subject, name, title, message, at, data (JSON), id."""
    return Notice(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]), row[8])


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def open_outbox() -> Outbox:
    from overmind.control.notify_channels import directory

    return Outbox(directory() / "outbox.db")
