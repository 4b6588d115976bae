"""The rows of the state store: what systemd forgets about missions, blueprints and rituals."""

from __future__ import annotations

from typing import Any, NamedTuple


class Exit(NamedTuple):
    at: float
    service_result: str  # systemd's $SERVICE_RESULT: success, exit-code, signal, watchdog, ...
    exit_code: str  # systemd's $EXIT_CODE: exited, killed, dumped
    exit_status: str  # a number for exited, a signal name otherwise
    oom: bool
    started_at: float | None = None  # when this run's main process started
    pid: int | None = None  # the run's main process
    invocation: str | None = None  # systemd's InvocationID of the run (None where not recorded)

    def describe(self, activity_timeout: str = "?") -> str:
        """How the run ended, as the journal says it (hooks/run.sh writes the same words)."""
        if self.service_result == "lost":
            return "lost: the host manager died"
        if self.oom:
            return "killed: memory limit reached (MemoryMax)"
        if self.service_result == "watchdog":
            return f"killed: no activity for {activity_timeout}s"
        if self.service_result == "timeout":
            return "killed: runtime limit reached"
        if self.exit_code == "exited":
            return f"exited with code {self.exit_status}"
        if self.service_result == "success":
            return f"stopped (SIG{self.exit_status})"
        return f"killed by signal {self.exit_status}"

    @property
    def code(self) -> int:
        """The exit code as a shell reports it: the status, or 128 + signal number."""
        if self.exit_code == "exited":
            return int(self.exit_status) if self.exit_status.isdigit() else 1
        import signal  # its enums cost ~1 ms to build: only for a run that a signal ended

        try:
            return 128 + int(signal.Signals["SIG" + self.exit_status])
        except KeyError:
            return 128


class Event(NamedTuple):
    """One event an agent CLI printed (a stream-json line), kept whole."""

    seq: int  # 1, 2, ... per mission, across restarts
    at: float
    type: str
    data: str  # the line exactly as the agent printed it


class Mission(NamedTuple):
    id: str
    name: str
    unit: str
    type: str  # task | session | quest
    provider: str
    command: str
    cwd: str
    parent: str | None  # a mission's id, or for a blueprint's agent its blueprint's id
    spec: dict[str, Any]
    created_at: float
    killed_at: float | None
    stop_requested_at: float | None
    last_exit: Exit | None = None
    exit_count: int = 0  # runs that have ended so far, one per restart plus the final one
    run_started_at: float | None = None  # the run going on, as its start hook recorded it

    @property
    def worktree(self) -> str | None:
        """The name of the worktree the mission works in (`run` records it), None without one."""
        name = self.spec.get("worktree")
        return name if isinstance(name, str) else None

    @property
    def persisted(self) -> bool:
        """Its unit is a file that outlives a reboot (`run --persist`, a session, `persist = true`)."""
        return bool(self.spec.get("persist"))

    @property
    def runs_at_boot(self) -> bool:
        """Persisted, and the next boot starts it again (not `--on-boot skip`)."""
        return self.persisted and self.spec.get("on_boot", "run") == "run"


class Blueprint(NamedTuple):
    """An applied blueprint: its agents are missions whose parent is this id, run in `slice`."""

    id: str
    name: str
    slice: str  # the slice its agents run in (the children slice of its id)
    file: str  # absolute path of the TOML file last applied
    cwd: str
    agents: list[str]  # agent names in the file's order
    applied_at: float | None
    created_at: float
    killed_at: float | None
    stop_requested_at: float | None

    @property
    def parent(self) -> str | None:
        return None  # a blueprint is always at the top of its tree

    @property
    def unit(self) -> str:
        """What stands for the blueprint in systemd: the slice its agents run in."""
        return self.slice


class RitualRun(NamedTuple):
    """A ritual's timer firing: a run that has ended, or a trigger skipped (no start, no exit)."""

    started_at: float | None
    exit: Exit

    @property
    def skipped(self) -> bool:
        return self.exit.service_result == SKIPPED


SKIPPED = "skipped"  # the service_result of a ritual trigger that found the previous run still going
