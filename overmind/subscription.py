"""`subscribe`: a mission's events, live, across the restarts of its wrapper, then its end.

Each connection asks the wrapper for the events after the last one seen, so a restart (the
wrapper goes away and a new one comes up) loses nothing and repeats nothing. Missions without a
wrapper (plain commands) have no events: only their end is reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from overmind.channel import reach

if TYPE_CHECKING:
    from overmind.missions import Missions, MissionView
    from overmind.store import Mission


def exit_event(view: MissionView) -> bytes:
    status = view.status
    data = {"type": "exit", "status": status.state, "exit_code": status.exit_code, "reason": status.reason or None}
    return (json.dumps(data) + "\n").encode()


def follow(missions: Missions, mission: Mission, after: int | None) -> Iterator[bytes]:
    """Event lines exactly as the agent printed them, then the exit event."""
    seen = missions.store.last_seq(mission.id) if after is None else after
    listens = mission.provider != "raw" or mission.type == "session"
    while True:
        if listens:
            channel, ended = reach(missions, mission, None)
        else:  # no wrapper, no events: only the end
            finished = missions.wait([mission], None)
            channel, ended = None, finished[0] if finished else None
        if channel is not None:
            with channel:
                channel.write({"op": "subscribe", "after": seen})
                for line in channel.lines():
                    seq, _, event = line.partition(b"\t")
                    seen = int(seq)
                    yield event
            continue  # the wrapper ended: the mission restarts, or it is over
        for stored in missions.store.events(mission.id, seen):  # what was recorded while we were away
            seen = stored.seq
            yield stored.data.encode() + b"\n"
        assert ended is not None
        yield exit_event(ended)
        return
