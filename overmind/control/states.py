"""A mission's life as a state machine, stepped by what systemd announces about its unit.

    created → starting → running → [restarting → running]* → stopping → finished | crashed | failed | killed

Every announcement of the unit (ActiveState, SubState, InvocationID, Result, in the order the
manager sent them) is one step. A state belongs to one run of the mission (its n-th start: a new
InvocationID is a new run) and to a phase of that run, and the pair numbers it:

    seq = 4 × (run − 1) + phase      phase: created 0, starting/restarting 1, running 2,
                                            stopping 3, an end 4

A step that would not raise seq is no news: a unit's `deactivating` (ExecStopPost=) after its
end, a late announcement of an earlier run, the same state twice. `restarting` is the first phase
of the next run (systemd's auto-restart delay, then that run's ExecStartPre=), so a mission is
`running` again only once systemd really started another run. A feed that starts late takes each
mission's state from its unit and its run records (`initial`) and numbers it as a feed that
watched all along did: two observers, or one restarted, tell a transition under the same seq.

Pure logic: what the unit said and what the store recorded come in, transitions come out.
"""

from __future__ import annotations

from typing import NamedTuple

ENDS = ("finished", "crashed", "failed", "killed")
STATES = ("created", "starting", "running", "restarting", "stopping", *ENDS)
PHASES = {"created": 0, "starting": 1, "restarting": 1, "running": 2, "stopping": 3, **dict.fromkeys(ENDS, 4)}
_GONE = ("inactive", "failed")


class Unit(NamedTuple):
    """One announcement of a mission's unit (or one reading of it)."""

    active: str  # ActiveState
    sub: str  # SubState
    invocation: str  # InvocationID: a new one for every start ("" where unknown)
    result: str = "success"  # Result
    at: float = 0.0  # when it was announced (epoch seconds)
    job: str = ""  # the job waiting on it (`start`...), as the manager lists it

    @classmethod
    def of(cls, props: dict[str, str], at: float) -> Unit:
        """From properties as systemctl shows them (JobType: as the manager lists units)."""
        return cls(props.get("ActiveState", ""), props.get("SubState", ""), props.get("InvocationID", ""),
                   props.get("Result") or "success", at, props.get("JobType", ""))


class Marks(NamedTuple):
    """What the store says that systemd does not: that someone asked the mission to end, and when."""

    killed_at: float | None = None
    stop_requested_at: float | None = None


class Transition(NamedTuple):
    state: str
    previous: str | None  # None for the first state told of a mission
    seq: int


def seq_of(run: int, state: str) -> int:
    return 4 * (run - 1) + PHASES[state]


def _marked(marks: Marks, at: float) -> bool:
    return any(mark is not None and mark <= at for mark in marks)


def end_of(unit: Unit, marks: Marks, ran: bool = True) -> str:
    """How a run ended. A mark counts if it was made before the end was announced: a kill after
    a crash does not make the crash a kill. `ran`: whether its main process ever started."""
    if marks.killed_at is not None and marks.killed_at <= unit.at:
        return "killed"
    if unit.result == "start-limit-hit":
        return "failed"  # systemd refused to start it again
    stopped = marks.stop_requested_at is not None and marks.stop_requested_at <= unit.at
    if unit.result == "success" or (stopped and unit.result != "oom-kill"):
        return "finished"
    return "crashed" if ran else "failed"


def end_of_status(status: str) -> str:
    """The end of a mission as its status says it, where no unit announced one (a blueprint's agent
    skipped, a mission killed before its unit started, one whose manager died)."""
    return {"stopped": "finished", "done": "finished", "crashed": "crashed", "killed": "killed"}.get(status, "failed")



class Machine:
    """One mission's state. `step` takes its unit's announcements in the order they came."""

    def __init__(self, state: str = "created", run: int = 1) -> None:
        self.state, self.run = state, run
        self.runs: dict[str, int] = {}  # invocation -> the run it is
        self.unknown: int | None = run  # a run whose invocation is not known yet
        self.begun = state != "created"  # whether the current run has shown a phase

    @property
    def seq(self) -> int:
        return seq_of(self.run, self.state)

    @property
    def ended(self) -> bool:
        return self.state in ENDS

    def knows(self, invocation: str) -> bool:
        return not invocation or invocation in self.runs

    def step(self, unit: Unit, marks: Marks, runs: Runs | None = None) -> Transition | None:
        """The transition this announcement makes, if it makes one; `runs`: what the run log
        recorded (it numbers a new invocation's run as every observer does)."""
        target = self._target(unit, marks, runs or Runs())
        if target is None or seq_of(*target) <= self.seq:
            return None
        return self._move(*target)

    def end_without_unit(self, status: str) -> Transition | None:
        """The mission ended and no unit will say so (see end_of_status)."""
        return None if self.ended else self._move(self.run, end_of_status(status))

    def _move(self, run: int, state: str) -> Transition:
        previous = self.state
        self.run, self.state, self.begun = run, state, True
        if state in ENDS and self.unknown == run:
            self.unknown = None  # an end is final: a start after it is another run
        return Transition(state, previous, self.seq)

    def _target(self, unit: Unit, marks: Marks, runs: Runs) -> tuple[int, str] | None:
        """(run, state) that the announcement shows, if it shows one."""
        run = self._run_of(unit, runs)
        if run is None:
            return None
        if unit.sub == "auto-restart":
            if run != self.run:
                return None  # old news
            self.unknown = run + 1  # systemd will start the unit again: the next run
            return run + 1, "restarting"
        if unit.active == "activating":
            return run, "starting" if run == 1 else "restarting"
        if unit.active in ("active", "reloading"):
            return run, "running"
        if unit.active == "deactivating":
            return run, "stopping"
        if unit.active in _GONE:
            if not self.begun:  # only a mark makes an end of a mission that never began: stopped or killed first
                return (run, end_of(unit, marks, ran=False)) if _marked(marks, unit.at) else None
            return run, end_of(unit, marks)
        return None

    def _run_of(self, unit: Unit, runs: Runs) -> int | None:
        """Which run the announcement is about."""
        invocation = unit.invocation
        if not invocation:
            return self.run
        known = self.runs.get(invocation)
        if known is not None:
            if known == self.run - 1 and self.unknown == self.run and unit.active in _GONE:
                # The ended run's unit while the next run waits: the restart was refused (the start
                # limit) or called off (a stop during the restart's delay): the waiting run's end.
                return self.run
            return known
        if unit.active in _GONE:
            # An invocation first heard as `inactive`: the first word of a start (each start says
            # so before it begins), or a unit gone before this mission took its name: no news,
            # unless the mission never began and was stopped or killed (see _target).
            return None if self.begun else self.run
        # A start: the run log numbers it (its start, or its end if it is over already); a run we
        # counted waits for it (a new mission, a restart); else it follows the runs seen.
        if self.unknown is not None and not self.ended:
            run = max(runs.number(invocation), self.unknown)
        else:
            run = max(runs.number(invocation), self.run + 1)
        self.runs[invocation] = run
        self.unknown = None
        return run


class Runs(NamedTuple):
    """A mission's runs as its run log recorded them."""

    ended: tuple[tuple[str, float], ...] = ()  # (invocation, when it ended) of each run that ended, in order
    going: tuple[tuple[str, float], ...] = ()  # (invocation, when it started) of runs not ended, in order

    def number(self, invocation: str) -> int:
        """The run an invocation is (1, 2, ...): its place in the log, or the next run."""
        for number, (ended, _) in enumerate((*self.ended, *self.going), 1):
            if ended == invocation:
                return number
        return len(self.ended) + len(self.going) + 1

    def ended_by(self, at: float) -> int:
        return sum(1 for _, ended in self.ended if ended <= at)

    def since(self, at: float) -> bool:
        """Whether a run started or ended after `at`."""
        return any(when > at for _, when in (*self.ended, *self.going))


def restart_refused(policy: str, last_result: str | None, marks: Marks) -> bool:
    """Whether a mission that ended had asked systemd to restart it (and systemd refused: the
    start limit), as its restart policy and its last run's result say."""
    if last_result is None or marks != Marks():
        return False
    return policy == "always" or (policy == "on-failure" and last_result != "success")


def initial(unit: Unit | None, at: float, runs: Runs, status: str, finished: bool, refused: bool) -> Machine:
    """The state of a mission found when a feed starts, numbered as a feed that watched it all
    along numbered it. `unit`: its unit as the manager listed it (with the invocation, where it
    was read), None if none was loaded; `at`: a time before the listing; `runs`: the run log, read
    after the listing (what it says of runs that ended later is not counted); `status`,
    `finished`: its view;
    `refused`: whether its last restart was refused (see restart_refused)."""
    if unit is None or unit.active in _GONE or not unit.active:
        # The runs that ended before the listing; one that ended since is still to be told.
        ended = runs.number(unit.invocation) if unit is not None and unit.invocation else runs.ended_by(at)
        # A start waits, or came since the listing (its announcements follow), or none yet: the
        # next run, not begun. (The view is read after the listing: it may tell of such a start.)
        if (unit is not None and unit.job == "start") or runs.since(at) or not finished:
            return Machine("created", 1) if not ended else _ended(status, finished, ended)
        # A refused restart was the next run's end (see Machine._run_of).
        machine = _ended("refused", True, max(ended, 1) + 1) if refused else _ended(status, finished, max(ended, 1))
        if unit is not None and unit.invocation:
            machine.runs[unit.invocation] = max(ended, 1)  # the unit's last run: its late words are no news
        return machine
    if unit.sub == "auto-restart":
        machine = Machine("restarting", runs.number(unit.invocation) + 1)
        machine.runs[unit.invocation] = machine.run - 1
        return machine
    run = runs.number(unit.invocation)
    state = {"activating": "starting" if run == 1 else "restarting", "deactivating": "stopping"}.get(
        unit.active, "running")
    machine = Machine(state, run)
    machine.runs[unit.invocation] = run
    machine.unknown = None
    return machine


def _ended(status: str, finished: bool, run: int) -> Machine:
    """A mission whose last run ended: a start after it is another run."""
    machine = Machine(end_of_status(status) if finished else "finished", run)
    machine.unknown = None
    return machine
