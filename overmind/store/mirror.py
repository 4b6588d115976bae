"""Every change to the store's records, copied into the journal as it is made: what a store that
was lost or damaged is rebuilt from (overmind.store.rebuild), with the run log and the units.

One datagram to journald's native socket per change (no process, no wait: `run` stays fast),
at debug priority under the identifier `overmind-store`, with the state directory it belongs to
in OVERMIND_STORE. If journald is not there the copy is skipped: the store itself has the record.
Agent events are not copied (they are many, and the agent's own session keeps them).
"""

from __future__ import annotations

import json
from typing import Any

from overmind.journal_native import send

IDENTIFIER = "overmind-store"


def note(store_dir: str, op: str, key: str, data: dict[str, Any] | None = None) -> None:
    """Record `op` (add, remove, mark, ...) on `key` (a mission id, a worktree name) in the journal.
    Without journald the copy is skipped: this change cannot be rebuilt, the store still has it."""
    send({"MESSAGE": f"{op} {key}", "PRIORITY": "7", "SYSLOG_IDENTIFIER": IDENTIFIER,
          "OVERMIND_STORE": store_dir, "OVERMIND_OP": op, "OVERMIND_KEY": key,
          "OVERMIND_DATA": json.dumps(data or {}, separators=(",", ":"))})
