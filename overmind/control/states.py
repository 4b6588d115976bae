"""A mission's life as a state machine, stepped by what systemd announces about its unit.

    created → starting → running → [restarting → running]* → stopping → finished | crashed | failed | killed

Every announcement of the unit (ActiveState, SubState, InvocationID, Result, in the order the
manager sent them) is one step. A state belongs to one run of the mission (its n-th start: a new
InvocationID is a new run, numbered by the run log) and to a phase of that run, and the pair
numbers it:

    seq = 6 × (run − 1) + phase     phase: 0 created, 1 starting (or restarting into this run),
                                    2 running, 3 stopping, 4 restarting (systemd will start the
                                    next run), 5 an end

A step that would not raise seq is no news: a unit's `deactivating` (ExecStopPost=) after its
end, a late announcement of an earlier run, the same state twice. A mission is `running` again
only once systemd really started another run; a restart that systemd refuses (the start limit)
or that a stop calls off ends the run that asked for it. A feed that starts late takes each
mission's state from its unit and its run log (`initial`) and numbers it as a feed that watched
all along did: two observers, or one restarted, tell a transition under the same seq.

Pure logic: what the unit said and what the store recorded come in, transitions come out.
"""

from __future__ import annotations

from typing import NamedTuple

ENDS = ("finished", "crashed", "failed", "killed")
STATES = ("created", "starting", "running", "restarting", "stopping", *ENDS)
PHASES = 6
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

    @property
    def gone(self) -> bool:
        return self.active in _GONE


class Marks(NamedTuple):
    """What the store says that systemd does not: that someone asked the mission to end, and when."""

    killed_at: float | None = None
    stop_requested_at: float | None = None


class Transition(NamedTuple):
    state: str
    previous: str | None  # None for the first state told of a mission
    seq: int


class Runs(NamedTuple):
    """A mission's runs as its run log recorded them."""

    ended: tuple[tuple[str, float], ...] = ()  # (invocation, when it ended) of each run that ended, in order
    going: tuple[tuple[str, float], ...] = ()  # (invocation, when it started) of runs not ended, in order

    def number(self, invocation: str) -> int:
        """The run an invocation is (1, 2, ...): its place in the log, or the next run."""
        recorded = self.recorded(invocation)
        return recorded if recorded is not None else len(self.ended) + len(self.going) + 1

    def recorded(self, invocation: str) -> int | None:
        """The run an invocation is, if the log recorded it."""
        for number, (recorded, _) in enumerate((*self.ended, *self.going), 1):
            if recorded == invocation:
                return number
        return None

    def ended_by(self, at: float) -> int:
        return sum(1 for _, ended in self.ended if ended <= at)

    def since(self, at: float) -> bool:
        """Whether a run started or ended after `at`."""
        return any(when > at for _, when in (*self.ended, *self.going))


def seq_of(run: int, phase: int) -> int:
    return PHASES * (run - 1) + phase


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

    def __init__(self, state: str = "created", run: int = 1, phase: int = 0) -> None:
        self.state, self.run, self.phase = state, run, phase
        self.runs: dict[str, int] = {}  # invocation -> the run it is
        self.unknown: int | None = run  # a run whose invocation is not known yet

    @property
    def seq(self) -> int:
        return seq_of(self.run, self.phase)

    @property
    def ended(self) -> bool:
        return self.state in ENDS

    @property
    def begun(self) -> bool:
        return self.state != "created"

    def knows(self, invocation: str) -> bool:
        return not invocation or invocation in self.runs

    def step(self, unit: Unit, marks: Marks, runs: Runs | None = None) -> Transition | None:
        """The transition this announcement makes, if it makes one; `runs`: what the run log
        recorded (it numbers a new invocation's run as every observer does)."""
        target = self._target(unit, marks, runs or Runs())
        if target is None or seq_of(*target[:2]) <= self.seq:
            return None
        return self._move(*target)

    def end_without_unit(self, status: str) -> Transition | None:
        """The mission ended and no unit will say so (see end_of_status)."""
        return None if self.ended else self._move(self.run, 5, end_of_status(status))

    def _move(self, run: int, phase: int, state: str) -> Transition | None:
        previous = self.state
        self.run, self.phase, self.state = run, phase, state
        if state in ENDS and self.unknown is not None and self.unknown <= run + 1:
            self.unknown = None  # an end is final: a start after it is another run
        # Restarting into the next run is still restarting: no news (its seq moved on all the same).
        return None if state == previous else Transition(state, previous, self.seq)

    def _target(self, unit: Unit, marks: Marks, runs: Runs) -> tuple[int, int, str] | None:
        """(run, phase, state) that the announcement shows, if it shows one."""
        run = self._run_of(unit, runs)
        if run is None:
            return None
        if unit.sub == "auto-restart":
            if run != self.run:
                return None  # old news
            self.unknown = run + 1  # systemd will start the unit again: the next run
            return run, 4, "restarting"
        if unit.active == "activating":
            return run, 1, "starting" if run == 1 else "restarting"
        if unit.active in ("active", "reloading"):
            return run, 2, "running"
        if unit.active == "deactivating":
            return run, 3, "stopping"
        if unit.gone:
            if not self.begun:  # only a mark makes an end of a mission that never began: stopped or killed first
                return (run, 5, end_of(unit, marks, ran=False)) if _marked(marks, unit.at) else None
            return run, 5, end_of(unit, marks)
        return None

    def _run_of(self, unit: Unit, runs: Runs) -> int | None:
        """Which run the announcement is about."""
        invocation = unit.invocation
        if not invocation:
            return self.run
        known = self.runs.get(invocation)
        if known is not None:
            return known
        if unit.gone:
            if self.unknown == self.run and self.begun and not self.ended:
                # The end of a run found going, its invocation unread: the log numbers it where it
                # recorded it (a run found stopping may have recorded its end after the listing).
                run = max(runs.recorded(invocation) or self.run, self.run)
                self.runs[invocation] = run
                self.unknown = None
                return run
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


def initial(unit: Unit | None, at: float, runs: Runs, status: str, finished: bool) -> Machine:
    """The state of a mission found when a feed starts, numbered as a feed that watched it all
    along numbered it. `unit`: its unit as the manager listed it (with the invocation, where it
    was read), None if none was loaded; `at`: a time before the listing; `runs`: the run log, read
    after the listing (what it says of runs that ended later is not counted); `status`,
    `finished`: its view."""
    if unit is None or unit.gone or not unit.active:
        # The runs that ended before the listing; one that ended since is still to be told.
        ended = runs.number(unit.invocation) if unit is not None and unit.invocation else runs.ended_by(at)
        # A start waits, or came since the listing (its announcements follow), or none yet (a
        # view that says `unknown` of a mission that never ran may be one whose unit is slow to
        # come): the next run, not begun. (The view is read after the listing: it may tell of a start.)
        pending = (unit is not None and unit.job == "start") or runs.since(at)
        if pending or not finished or (not ended and status == "unknown"):
            return Machine("created") if not ended else _ended(status, finished, ended)
        machine = _ended(status, True, max(ended, 1))
        if unit is not None and unit.invocation:
            machine.runs[unit.invocation] = machine.run  # the unit's last run: its late words are no news
        return machine
    # The run its invocation is (unread: the one after those ended before the listing, or the one
    # that ended if systemd is about to restart it).
    ended = runs.ended_by(at)
    if unit.sub == "auto-restart":
        machine = Machine("restarting", runs.number(unit.invocation) if unit.invocation else max(ended, 1), 4)
        machine.unknown = machine.run + 1
    else:
        # (while stopping, the run's end may be recorded already: ExecStopPost= wrote it. Recorded
        # after the listing, the run is taken for the one before; its end, which follows with its
        # invocation, numbers it from the log. Not the last run the log says ended: the log is read
        # after the listing, and later runs may have come and gone by then.)
        recorded = unit.active == "deactivating" and not runs.going and ended
        run = runs.number(unit.invocation) if unit.invocation else ended if recorded else ended + 1
        state, phase = {"activating": ("starting" if run == 1 else "restarting", 1),
                        "deactivating": ("stopping", 3)}.get(unit.active, ("running", 2))
        machine = Machine(state, run, phase)
        machine.unknown = None if unit.invocation else run
    if unit.invocation:
        machine.runs[unit.invocation] = machine.run
    return machine


def _ended(status: str, finished: bool, run: int) -> Machine:
    """A mission whose last run ended: a start after it is another run."""
    machine = Machine(end_of_status(status) if finished else "finished", run, 5)
    machine.unknown = None
    return machine
