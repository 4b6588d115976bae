"""One write transaction of the state store."""

from __future__ import annotations

import sqlite3


class Transaction:
    """BEGIN IMMEDIATE takes the write lock up front, so concurrent writers queue on busy_timeout
    instead of failing with 'database is locked' on a lock upgrade."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type:
            self.db.execute("ROLLBACK")
            return
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error:
            if self.db.in_transaction:  # a commit that failed (a full disk) leaves it open
                self.db.execute("ROLLBACK")
            raise
