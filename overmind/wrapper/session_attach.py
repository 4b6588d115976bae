"""A session's conversation lent to a person's terminal (`overmind attach`) and taken back.

The headless CLI finishes its turn and exits; the terminal runs the CLI's own interface on the
same conversation; when the person leaves it, the session resumes it in the background. If the
CLI then cannot load that conversation (the terminal quit before saving it), the session goes on
in a new one and says so.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from overmind.wrapper.control import Connection

if TYPE_CHECKING:
    from overmind.wrapper.session import AgentSession


async def lend_to_terminal(session: AgentSession, reader: asyncio.StreamReader, conn: Connection) -> None:
    name = session.mission.name
    if not session.is_session:
        await conn.fail(f"'{name}' is a task; only sessions can be attached")
        return
    if session.attached is not None:
        await conn.fail(f"'{name}' is already attached in another terminal")
        return
    child = session.child
    if child is None or not session.child_ready.is_set() or child.returncode is not None:
        await conn.fail(f"'{name}' is {session.state}; it can be attached once it is running", hint="try again")
        return
    assert child.stdin is not None and session.session_id is not None
    session.begin_attach()
    try:
        if session.state == "working":
            await conn.reply(waiting="the current turn")
        session.set_state("attached", "attaching: finishing the current turn")
        child.stdin.close()  # the CLI finishes its turn, then exits
        await session.child_exited.wait()
        if session.stop_signal is not None:
            return
        session.set_state("attached", "attached")
        session.record_own({"type": "overmind", "subtype": "attached", "session_id": session.session_id},
                           "[overmind] attached in a terminal")
        argv = session.provider.attach_argv(session.options, session.session_id, session.resume)
        session.provider.before_resume(session.session_id)  # the terminal resumes it next
        await conn.reply(argv=argv, session_id=session.session_id, cwd=session.mission.cwd, env=dict(os.environ))
        await reader.read()  # the terminal is done when the client hangs up
    finally:
        # The terminal may have started the conversation; if it did not, begin it afresh.
        session.retry_fresh = not session.resume
        session.resume = True
        if session.stop_signal is None:
            session.record_own({"type": "overmind", "subtype": "detached", "session_id": session.session_id},
                               "[overmind] detached; resuming in the background")
            session.set_state("starting", "resuming")
        session.end_attach()


def conversation_lost(session: AgentSession) -> bool:
    """The CLI runs but refused to load the conversation overmind recorded (one a terminal quit
    without saving, say): said loudly, and the session goes on in a new one rather than ending.
    A conversation a person named (--session-id) is never swapped for another."""
    if not (session.resume and session.refused and session.session_id != session.options.session_id):
        return False
    session.record_own({"type": "overmind", "subtype": "conversation_lost", "session_id": session.session_id,
                        "message": session.failure},
                       f"[overmind] {session.provider.name} could not resume conversation {session.session_id}"
                       f" ({session.failure}): a new conversation begins, without the earlier turns")
    return True
