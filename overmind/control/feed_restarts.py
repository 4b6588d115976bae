"""The change feed's reading of systemd 252's `failed` before an automatic restart.

The manager decides a restart as it records a run's end and says both in one turn (service.c
sets `failed`, then `auto-restart`), but a feed gets them in batches: an end that the same run's
restart follows is no end, and an end that is the last word so far about a mission that systemd
may restart is decided by what the manager says next, or by reading the unit.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from overmind.control.feed_missions import MissionBook
    from overmind.systemd.signals import Announcement, UnitSignals

# A unit read still `failed` that systemd restarts is given this long to say more before its end is told.
RESTART_WAIT_S = 2.0


async def settle_restarts(announced: dict[str, list[Announcement]], book: MissionBook, signals: UnitSignals,
                          every: bool, counters: dict[str, int]) -> None:
    """Leave out of `announced` (by unit, this batch) each end that an automatic restart follows.
    Where an end is the last word so far, its unit read now decides (what was said after it comes
    in the next batch, in order: the reading only decides); a unit read still `failed` has
    RESTART_WAIT_S to say more. With `every` (a feed of every mission), a mission the book does not
    know yet (a feed behind a busy manager reads its record after this) may be one that systemd
    restarts: its unit is read too."""
    doubtful = []
    for unit, said in announced.items():
        said[:] = [a for n, a in enumerate(said) if not (_gone(a) and _restart_follows(said, n))]
        if said and _gone(said[-1]) and (book.restarts(unit, said[-1].props.get("Result", ""))
                                         or (every and not book.knows(unit))):
            doubtful.append(unit)
    # A feed behind the manager may hold what came next already: that decides, where it says more.
    doubtful = [unit for unit in doubtful if not _decided_by_later(announced[unit], signals.waiting(unit))]
    if not doubtful:
        return
    counters["unit_reads"] += len(doubtful)
    read = await signals.read_states(doubtful, ("LoadState", "ActiveState", "InvocationID", "Result"))
    undecided = []
    for unit in doubtful:
        said = announced[unit]
        # What the manager said while it was read came first (its signals precede its reply): a
        # unit that restarted, ran again and was collected by then reads as nothing, but said so.
        if _decided_by_later(said, signals.waiting(unit)) or unit not in read:
            continue
        now = read[unit][1]
        if now.get("ActiveState") not in ("inactive", "failed") or now.get("InvocationID") != _invocation(said):
            _drop_end(said)  # it went on to restart: no end
        elif book.restarts(unit, now.get("Result", "")) and not book.marked(unit):
            # (stopped or killed, or unknown yet: the reading says it ended)
            undecided.append(unit)
    deadline = time.monotonic() + RESTART_WAIT_S
    while undecided and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        for unit in [u for u in undecided if signals.waiting(u)]:
            undecided.remove(unit)  # it said more (left for the next batch): restarted, or not
            if any(not _gone(a) for a in signals.waiting(unit)):
                _drop_end(announced[unit])


def _invocation(said: list[Announcement]) -> str | None:
    return said[-1].props.get("InvocationID")


def _drop_end(said: list[Announcement]) -> None:
    """Leave out the end that the last announcements tell: systemd restarted that run."""
    ended = _invocation(said)
    while said and _gone(said[-1]) and said[-1].props.get("InvocationID") == ended:
        said.pop()


def _decided_by_later(said: list[Announcement], later: list[Announcement]) -> bool:
    """Whether the announcements that came after a batch's end decide it (and leave it out if the
    run's automatic restart follows): a start or another run said since. (A unit read once its
    next run is over and collected would say nothing.)"""
    ended = _invocation(said)
    if not any(not _gone(a) or a.props.get("InvocationID") != ended for a in later):
        return False
    if _restart_follows([*said, *later], len(said) - 1):
        _drop_end(said)
    return True


def _gone(announcement: Announcement) -> bool:
    return announcement.props.get("ActiveState") in ("inactive", "failed")


def _restart_follows(said: list[Announcement], n: int) -> bool:
    """Whether the n-th announcement (an end) is followed by its run's automatic restart."""
    invocation = said[n].props.get("InvocationID")
    for later in said[n + 1:]:
        if later.props.get("InvocationID") != invocation:
            return False
        if not _gone(later):
            return later.props.get("SubState") == "auto-restart"
    return False
