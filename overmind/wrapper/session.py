"""The wrapper of an agent CLI (claude, codex): a task, or a long-lived session fed on a pipe.

Every line the agent prints is parsed by its provider: the event is stored whole (for
`logs --json`, `subscribe` and `result`), its human-readable lines go to the journal, its state
to systemd (STATUS=), and it is streamed to subscribers. A session's stdin is a pipe held here,
for `send`; `attach` pauses the headless agent, lends the conversation to a terminal, and
resumes it afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import uuid
from collections import deque
from typing import Any

from overmind import providers
from overmind.agent_options import AgentOptions
from overmind.names import log_identifier
from overmind.providers import AgentEvent, Result, first_line
from overmind.store import Exit, Mission, Store
from overmind.wrapper.channel import event_line
from overmind.wrapper.control import Connection, Handler
from overmind.wrapper.journald import JournalWriter
from overmind.wrapper.mission import MissionWrapper
from overmind.wrapper.permissions import PermissionRelay, relay_for
from overmind.wrapper.relay import read_lines
from overmind.wrapper.session_attach import conversation_lost, lend_to_terminal

READY_PATIENCE = 120.0  # seconds a message waits for a (re)starting agent to take messages
EXIT_GRACE = 5.0  # seconds a one-turn task's CLI has to end by itself once its result is in


class SessionEnded(Exception):
    pass


class AgentSession(MissionWrapper):
    permissions: PermissionRelay | None = None

    def __init__(self, mission: Mission, store: Store) -> None:
        self.provider = providers.get(mission.provider)
        self.options = AgentOptions.from_record(mission.spec.get("agent"))
        self.is_session = mission.type == "session"
        super().__init__(mission, store)
        self.journal = JournalWriter(log_identifier(mission.unit))
        from overmind.akasha.consulting import prepare_agent

        recorded = store.session_id(mission.id)
        self.options = prepare_agent(mission, self.options, self.journal.write, resuming=recorded is not None)
        self.session_id = recorded or self.options.session_id
        self.resume = self.session_id is not None  # the conversation exists: continue it
        self.retry_fresh = False  # after a terminal that may never have started the conversation
        self.prompt_pending = self.is_session and bool(mission.command.strip()) and recorded is None
        self.last_result: Result | None = None
        self._let_go = False  # a one-turn task's CLI was stopped once its result was in
        self.child: asyncio.subprocess.Process | None = None
        self.subscribers: set[asyncio.Queue[tuple[int, str] | None]] = set()
        self.unacknowledged: dict[str, asyncio.Future[Result]] = {}
        self.awaiting_result: list[asyncio.Future[Result]] = []
        self.handshake: str | None = None  # id of the control request whose reply means "ready"
        self.child_exited = asyncio.Event()
        self.failure: str | None = None
        self.refused = False  # the CLI answered the handshake with a refusal (self.failure says what)
        self._ready_child = False  # the current agent process has taken its first message, or can
        self.child_ready = asyncio.Event()  # ... as an event, for a message sent while it starts
        self.stderr_tail: deque[str] = deque(maxlen=3)
        self._said: str | None = None  # the status line before a permission request takes it over
        # Tool uses the agent must ask for are asked of a person (wrapper/permissions.py).
        self.permissions = relay_for(mission, store, self.provider, self.options, self.to_child, self.record_own,
                                     self.permissions_changed)
        # A task of a CLI driven over its session protocol, or one that asks (its answers go to its
        # stdin): the prompt is its first and only turn.
        self.one_turn = not self.is_session and (self.provider.tasks_are_turns or self.permissions is not None)

    def handlers(self) -> dict[str, Handler]:
        return {**super().handlers(), "send": self.op_send, "subscribe": self.op_subscribe, "attach": self.op_attach,
                "permission": self.op_permission}

    def describe(self) -> dict[str, Any]:
        return {"state": self.state, "session_id": self.session_id,
                "pid": self.child.pid if self.child and self.child.returncode is None else None}

    def set_state(self, state: str, status: str | None = None) -> None:
        """A pending permission request is what systemd shows (STATUS=) until it is answered, but
        while a terminal has the session (its person answers there)."""
        self._said = status
        asking = self.permissions.status() if self.permissions is not None and state != "attached" else None
        super().set_state(state, asking or status)

    def waiting_for_a_person(self) -> bool:
        asking = self.permissions is not None and self.permissions.status() is not None
        return super().waiting_for_a_person() or asking

    # -- the agent process -----------------------------------------------------------------
    def argv(self) -> list[str]:
        if self.session_id is None:
            self.session_id, self.resume = self.provider.new_session_id(), False
        if self.is_session:  # "": a conversation the CLI names once it has started (codex, gemini)
            return self.provider.session_argv(self.options, self.session_id or "", self.resume)
        return self.provider.task_argv(self.mission.command, self.options, self.session_id, self.resume)

    async def run_child(self) -> int:
        while True:
            code = await self._run_once()
            if self._ready_child or self.stop_signal is not None:
                break
            if conversation_lost(self):
                self.session_id = None  # the new conversation's id comes with it
            elif not self.retry_fresh:
                break
            # A terminal had the conversation but never started it: begin it afresh.
            self.retry_fresh, self.resume, self.failure = False, False, None
        if not self._ready_child and self.attached is None and self.stop_signal is None:
            reason = self.failure or (self.stderr_tail[-1] if self.stderr_tail else f"exited with code {code}")
            self.record_own({"type": "overmind", "subtype": "start_failed", "message": reason},
                             f"[overmind] {self.provider.name} could not start: {reason}")
            return code or 1  # a CLI that ended well without ever taking a message still failed
        return code

    async def _run_once(self) -> int:
        self._ready_child = self.refused = False
        self.child_ready.clear()
        self.child_exited.clear()
        argv = self.argv()
        try:
            self.child = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            self.failure = f"cannot run {argv[0]}: {exc.strerror}"
            return 127
        child = self.child
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        if self.is_session or self.one_turn:
            self.prompt_pending = self.prompt_pending or self.one_turn  # every run of a task asks its prompt
            self._start_handshake(child)
        else:
            child.stdin.close()  # a pipe, never a file: the CLI reads nothing from a file
            self._child_ready("working", "working")
        await asyncio.gather(read_lines(child.stdout, self._on_line),
                             read_lines(child.stderr, self._on_stderr))
        code = await child.wait()
        if self.permissions is not None:
            self.permissions.child_gone()
        self.child_exited.set()
        self._end_waiters(f"the {self.provider.name} process exited (code {code})")
        if self.one_turn and self.last_result is not None and (code == 0 or self._let_go):
            # The CLI's server ends well on a closed stdin (or is let go) whatever the turn did: the
            # task's own end is its result's.
            return 1 if self.last_result.is_error else 0
        if self.one_turn and code == 0:
            return 1  # it ended without a result
        return code

    def _start_handshake(self, child: asyncio.subprocess.Process) -> None:
        request = self.provider.handshake(self.options, self.session_id, self.resume)
        if request is None:
            self._on_session_ready()
            return
        self.handshake, line = request
        assert child.stdin is not None
        child.stdin.write(line)

    def _child_ready(self, state: str, status: str) -> None:
        self._ready_child = True
        self.child_ready.set()
        self.ready(state, status)

    def _on_session_ready(self) -> None:
        # a one-turn task is never idle: its prompt goes in at once
        self._child_ready(*(("working", "working") if self.one_turn else ("idle", "waiting for input")))
        if self.prompt_pending:
            self.prompt_pending = False
            self.deliver(self.mission.command, None)

    def signal_child(self, signum: int) -> None:
        if self.child is not None and self.child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.child.send_signal(signum)

    def _on_stderr(self, line: str) -> None:
        if line.strip():
            self.stderr_tail.append(line.strip())
            self.journal.write(line, priority=4)

    # -- events ----------------------------------------------------------------------------
    def _on_line(self, line: str) -> None:
        self.activity.activity()
        try:
            event = self.provider.parse(line)
        except Exception as exc:  # noqa: BLE001 - a line the provider cannot read never stops the agent
            self.journal.write(f"[overmind] skipped a line {self.provider.name} printed: {type(exc).__name__}: {exc}",
                               priority=4)
            event = None
        if event is None:
            if line.strip():
                self.journal.write(line)
            return
        if event.respond:
            self.to_child(event.respond)
        if event.reply_to is not None and event.reply_to == self.handshake:
            self.handshake = None
            if (refused := self.provider.failure(event)) is not None:
                self.failure, self.refused = refused, True  # the CLI is up but will not hold this conversation
                self._close_stdin()
            else:
                self._on_session_ready()
        if event.permission is not None and self.permissions is not None:
            self.permissions.ask(event.permission)
        if event.keep:
            self._keep(event, line)
        else:
            for text in event.lines:  # protocol chatter: nothing stored, but what it says is told
                self.journal.write(text)
        if event.acknowledges in self.unacknowledged:
            self.awaiting_result.append(self.unacknowledged.pop(event.acknowledges))
        if event.result is not None:
            self._on_result(event.result)
        elif event.status and self.attached is None:
            self.set_state("working", event.status)

    def _keep(self, event: AgentEvent, line: str) -> None:
        failure = self.provider.failure(event)
        if failure:
            self.failure = failure
        elif event.session_id and (event.session_id != self.session_id or not self.resume):
            self.session_id, self.resume, self.retry_fresh = event.session_id, True, False
            self.store.set_session_id(self.mission.id, event.session_id)
        self._record(event, event.stored(line))

    def _record(self, event: AgentEvent, line: str) -> None:
        seq = self.store.add_event(self.mission.id, time.time(), event.type, line)
        for text in event.lines:
            self.journal.write(text, OVERMIND_EVENT=seq)
        for queue in self.subscribers:
            queue.put_nowait((seq, line))

    def record_own(self, data: dict[str, Any], text: str) -> None:
        """An event of overmind's own (type "overmind") in the mission's event stream."""
        self._record(AgentEvent("overmind", data, lines=[text]), json.dumps(data))

    def _let_go_of_child(self) -> None:
        """... or is stopped, if something keeps it up (gemini waits for the MCP servers it started)."""
        if self.child is not None and self.child.returncode is None and self.stop_signal is None:
            self._let_go = True
            self.signal_child(signal.SIGTERM)

    def _close_stdin(self) -> None:
        if self.child is not None and self.child.stdin is not None and not self.child.stdin.is_closing():
            self.child.stdin.close()

    def _on_result(self, result: Result) -> None:
        self.last_result = result
        if self.one_turn:
            self._close_stdin()  # the task's turn is over: its CLI ends ...
            asyncio.get_running_loop().call_later(EXIT_GRACE, self._let_go_of_child)
        waiters, self.awaiting_result = self.awaiting_result, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(result)
        if self.permissions is not None:
            self.permissions.turn_ended()
        if self.is_session:
            if self.attached is None:
                self.set_state("idle", "waiting for input")
        elif result.is_error:
            self.set_state("working", f"failed: {first_line(result.text, 120)}")
        else:
            self.set_state("working", "done: " + result.summary().removeprefix("ok · "))

    def _end_waiters(self, why: str) -> None:
        pending = [*self.unacknowledged.values(), *self.awaiting_result]
        self.unacknowledged, self.awaiting_result = {}, []
        for waiter in pending:
            if not waiter.done():
                waiter.set_exception(SessionEnded(why))

    # -- permission requests (wrapper/permissions.py) ------------------------------------
    def to_child(self, data: bytes) -> bool:
        """Hand a line to the agent CLI's stdin; False if no process is there to take it."""
        child = self.child
        if child is None or child.returncode is not None or child.stdin is None or child.stdin.is_closing():
            return False
        child.stdin.write(data)
        return True

    def permissions_changed(self) -> None:
        self.set_state(self.state, self._said)

    async def op_permission(self, request: dict[str, Any], reader: asyncio.StreamReader, conn: Connection) -> None:
        if self.permissions is None:
            await conn.fail(f"'{self.mission.name}' does not ask a person for permissions")
            return
        await self.permissions.op_permission(request, reader, conn)

    # -- requests --------------------------------------------------------------------------
    def deliver(self, text: str, waiter: asyncio.Future[Result] | None) -> None:
        assert self.child is not None and self.child.stdin is not None
        message_id = str(uuid.uuid4())
        if waiter is not None:
            self.unacknowledged[message_id] = waiter
        self.child.stdin.write(self.provider.user_message(text, message_id))
        self.journal.write(f"[human] {text}")
        self.set_state("working", "working")

    def _refusal(self) -> tuple[str, str | None] | None:
        name = self.mission.name
        if not self.is_session:
            return f"'{name}' is a task: it takes no messages", "start a session: overmind run --type session ..."
        if self.attached is not None:
            return (f"'{name}' is attached in a terminal; the message was not sent",
                    "type it there, or send it once the terminal is detached")
        child = self.child
        if child is None or child.returncode is not None or child.stdin is None or child.stdin.is_closing():
            return f"'{name}' is not taking messages right now (it is {self.state})", "try again in a moment"
        return None

    async def op_send(self, request: dict[str, Any], reader: asyncio.StreamReader, conn: Connection) -> None:
        text = request.get("text")
        if not isinstance(text, str) or not text.strip():
            await conn.fail("empty message")
            return
        refusal = self._refusal()
        if refusal is not None:
            await conn.fail(*refusal)
            return
        if not self._ready_child:  # (re)starting, e.g. resuming after a terminal: it takes messages once ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.child_ready.wait(), READY_PATIENCE)
            if (refusal := self._refusal()) is not None or not self._ready_child:
                await conn.fail(*(refusal or (f"'{self.mission.name}' is still starting", "try again in a moment")))
                return
        waiter = asyncio.get_running_loop().create_future() if request.get("wait") else None
        try:
            self.deliver(text, waiter)
            assert self.child is not None and self.child.stdin is not None
            await self.child.stdin.drain()
        except ConnectionError:
            await conn.fail(f"'{self.mission.name}' ended before it took the message")
            return
        if waiter is None:
            await conn.reply(session_id=self.session_id)
            return
        try:
            result = await waiter
        except SessionEnded as exc:
            await conn.fail(f"'{self.mission.name}' ended before it answered: {exc}")
            return
        await conn.reply(result=result.to_json())

    async def op_subscribe(self, request: dict[str, Any], reader: asyncio.StreamReader, conn: Connection) -> None:
        after = request.get("after")
        queue: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue()
        # No await between reading what is stored and joining the live stream: nothing is lost.
        backlog = self.store.events(self.mission.id, after) if isinstance(after, int) else []
        self.subscribers.add(queue)
        try:
            for event in backlog:
                conn.writer.write(event_line(event.seq, event.data))
            while (item := await queue.get()) is not None:
                conn.writer.write(event_line(*item))
                await conn.writer.drain()
        finally:
            self.subscribers.discard(queue)

    async def op_attach(self, request: dict[str, Any], reader: asyncio.StreamReader, conn: Connection) -> None:
        await lend_to_terminal(self, reader, conn)

    def closing(self) -> None:
        for queue in self.subscribers:
            queue.put_nowait(None)
        if self.permissions is not None:
            self.permissions.close()
        self.journal.close()

    async def run(self) -> int:
        if self.permissions is not None:
            self.permissions.start()
        code = await super().run()
        self._remember(code)
        return code

    def _remember(self, code: int) -> None:
        """Hand what this run leaves (its event log, how it went) to the shared memory. Here in the
        wrapper, not in the unit's end hook: that one is plain sh, so no run's end waits on Python."""
        from overmind.akasha.feeding import feed_ended_run

        if code >= 0:
            end = Exit(time.time(), "success" if code == 0 else "exit-code", "exited", str(code), False)
        else:
            stopped = self.stop_signal is not None
            end = Exit(time.time(), "success" if stopped else "signal", "killed", signal.Signals(-code).name[3:],
                       False)
        feed_ended_run(self.store, self.store.get(self.mission.id) or self.mission, end)
