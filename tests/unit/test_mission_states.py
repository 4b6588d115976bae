"""The mission state machine against the announcements systemd makes (as seen on the bus)."""

from __future__ import annotations

from overmind.control.states import ENDS, Machine, Marks, Runs, Transition, Unit, initial, seq_of

NONE = Marks()
Step = tuple[str, str, str] | tuple[str, str, str, str]


def told(machine: Machine, steps: list[Step], marks: Marks = NONE, runs: Runs | None = None) -> list[Transition]:
    """Feed (ActiveState, SubState, InvocationID[, Result]) announcements; the transitions made."""
    made = []
    for n, step in enumerate(steps):
        active, sub, invocation = step[:3]
        result = step[3] if len(step) > 3 else "success"
        transition = machine.step(Unit(active, sub, invocation, result, at=100.0 + n), marks, runs)
        if transition is not None:
            made.append(transition)
    return made


def states(transitions: list[Transition]) -> list[str]:
    return [t.state for t in transitions]


# What systemd 252 announced for `sh -c 'sleep 0.5; exit 3'` (on the bus): run 1, its crash, and
# (from newer managers, or once the feed has left out 252's `failed` before an automatic restart)
# an on-failure restart whose second run exits 0.
FIRST: list[Step] = [("inactive", "dead", "a1"), ("activating", "start-pre", "a1"), ("activating", "start", "a1"),
                     ("activating", "start-post", "a1"), ("active", "running", "a1"), ("active", "running", "a1")]
CRASH: list[Step] = [("deactivating", "stop-post", "a1", "exit-code"), ("failed", "failed", "a1", "exit-code")]
RESTART: list[Step] = [("deactivating", "stop-post", "a1", "exit-code"),
                       ("activating", "auto-restart", "a1", "exit-code"), ("inactive", "dead", "b2"),
                       ("activating", "start-pre", "b2"), ("active", "running", "b2"),
                       ("deactivating", "stop-post", "b2"), ("inactive", "dead", "b2")]


def test_a_crash_is_one_start_one_run_and_one_end_numbered_in_order() -> None:
    made = told(Machine(), FIRST + CRASH)
    assert states(made) == ["starting", "running", "stopping", "crashed"]
    assert [t.seq for t in made] == [1, 2, 3, 5]
    assert [t.previous for t in made] == ["created", "starting", "running", "stopping"]


def test_a_deactivating_phase_after_the_end_is_no_new_start() -> None:
    machine = Machine()
    told(machine, FIRST + CRASH)
    assert told(machine, [("deactivating", "stop-post", "a1"), ("failed", "failed", "a1", "exit-code")]) == []
    assert machine.state == "crashed"


def test_exec_start_pre_is_no_end() -> None:
    machine = Machine()
    made = told(machine, [("inactive", "dead", "a1"), ("activating", "start-pre", "a1"), ("activating", "start", "a1")])
    assert states(made) == ["starting"] and not machine.ended


def test_a_new_unit_saying_inactive_before_its_start_is_no_end() -> None:
    assert told(Machine(), [("inactive", "dead", "a1")]) == []


def test_a_unit_left_by_an_earlier_mission_of_the_same_name_is_no_news() -> None:
    machine = Machine()
    assert told(machine, [("failed", "failed", "old", "exit-code"), ("inactive", "dead", "old")]) == []
    assert states(told(machine, FIRST + CRASH)) == ["starting", "running", "stopping", "crashed"]


def test_an_automatic_restart_is_restarting_then_running_only_once_a_new_run_started() -> None:
    made = told(Machine(), FIRST + RESTART)
    assert states(made) == ["starting", "running", "stopping", "restarting", "running", "stopping", "finished"]
    assert [t.seq for t in made] == [1, 2, 3, 4, seq_of(2, 2), seq_of(2, 3), seq_of(2, 5)]
    # the ended run's invocation cannot make it run again
    restarted = Machine()
    told(restarted, FIRST + RESTART[:2])
    assert told(restarted, [("active", "running", "a1")]) == []
    assert restarted.state == "restarting"


def test_systemd_252s_failed_before_an_automatic_restart_read_alone_is_an_end_then_a_new_run() -> None:
    # (the feed leaves that `failed` out: it reads the unit, which is restarting by then)
    failed: list[Step] = [("failed", "failed", "a1", "exit-code"), ("failed", "failed", "a1", "exit-code"),
                          ("activating", "auto-restart", "a1", "exit-code"), ("inactive", "dead", "b2"),
                          ("activating", "start-pre", "b2"), ("activating", "start", "b2"),
                          ("deactivating", "stop-post", "b2", "exit-code"), ("failed", "failed", "b2", "exit-code")]
    made = told(Machine(), FIRST + CRASH[:1] + failed)
    assert states(made) == ["starting", "running", "stopping", "crashed", "restarting", "stopping", "crashed"]
    assert [t.seq for t in made] == sorted({t.seq for t in made})


def test_a_restart_refused_at_the_start_limit_ends_the_run_that_asked_for_it() -> None:
    machine = Machine()
    made = told(machine, [*FIRST, *RESTART[:2], ("inactive", "dead", "a1", "exit-code"),
                          ("failed", "failed", "a1", "start-limit-hit"), ("failed", "failed", "a1", "start-limit-hit")])
    assert states(made)[-2:] == ["restarting", "crashed"] and made[-1].seq == seq_of(1, 5)


def test_a_stop_during_the_restart_delay_ends_the_run() -> None:
    made = told(Machine(), [*FIRST, *RESTART[:2], ("inactive", "dead", "a1")], Marks(stop_requested_at=50.0))
    assert states(made)[-2:] == ["restarting", "finished"]


def test_marks_made_before_the_end_say_how_it_ended() -> None:
    stopping: list[Step] = [("deactivating", "stop-sigterm", "a1"), ("failed", "failed", "a1", "signal")]
    kill = told(Machine(), FIRST + stopping, Marks(killed_at=50.0))
    stop = told(Machine(), FIRST + stopping, Marks(stop_requested_at=50.0))
    late = told(Machine(), FIRST + CRASH, Marks(killed_at=1e12))  # killed after it had crashed
    assert (kill[-1].state, stop[-1].state, late[-1].state) == ("killed", "finished", "crashed")


def test_a_mission_stopped_before_its_unit_started_ends_without_running() -> None:
    made = told(Machine(), [("inactive", "dead", "a1")], Marks(stop_requested_at=50.0))
    assert states(made) == ["finished"] and made[0].seq == seq_of(1, 5)


def test_a_finished_mission_started_again_is_a_new_run() -> None:
    machine = Machine()
    told(machine, FIRST + CRASH)
    made = told(machine, [("inactive", "dead", "c3"), ("activating", "start-pre", "c3"), ("active", "running", "c3")])
    assert states(made) == ["restarting", "running"] and made[0].previous == "crashed"
    assert made[0].seq == seq_of(2, 1)


def test_a_manual_restart_of_a_running_mission_goes_through_systemds_states() -> None:
    machine = Machine()
    told(machine, FIRST)
    made = told(machine, [("deactivating", "stop-sigterm", "a1"), ("inactive", "dead", "a1"),
                          ("activating", "start-pre", "d4"), ("active", "running", "d4")])
    assert states(made) == ["stopping", "finished", "restarting", "running"]


def test_an_end_without_a_unit_is_told_once() -> None:
    machine = Machine()
    first = machine.end_without_unit("killed")
    assert first is not None and first.state == "killed" and machine.end_without_unit("killed") is None


def test_a_feed_that_starts_late_numbers_states_as_one_that_watched_all_along() -> None:
    watched = {(t.state, t.seq) for t in told(Machine(), FIRST + RESTART)}
    log = Runs(ended=(("a1", 10.0),), going=(("b2", 15.0),))
    # found running its second run
    late = initial(Unit("active", "running", "b2", at=20.0), 20.0, log, "running", False)
    assert (late.state, late.seq) in watched
    # found in the restart's delay, then seeing the rest
    delayed = initial(Unit("activating", "auto-restart", "a1", "exit-code"), 10.5, Runs(ended=(("a1", 10.0),)),
                      "restarting", False)
    assert (delayed.state, delayed.seq) in watched
    assert {(t.state, t.seq) for t in told(delayed, RESTART[2:])} <= watched
    # found stopping, its end already recorded by ExecStopPost=
    ended_log = Runs(ended=(("a1", 10.0), ("b2", 30.0)))
    stopping = initial(Unit("deactivating", "stop-post", "b2"), 30.5, ended_log, "stopping", False)
    assert (stopping.state, stopping.seq) in watched
    # found ended, its unit loaded or collected
    ended = initial(Unit("inactive", "dead", ""), 31.0, ended_log, "stopped", True)
    gone = initial(None, 40.0, ended_log, "stopped", True)
    assert (ended.state, ended.seq) == (gone.state, gone.seq) == ("finished", seq_of(2, 5))
    # then started once more: a new run for both
    again: list[Step] = [("inactive", "dead", "e5"), ("activating", "start-pre", "e5")]
    assert [t.seq for t in told(ended, again)] == [t.seq for t in told(gone, again)] == [seq_of(3, 1)]


def test_a_late_feed_counts_only_the_runs_that_ended_before_it_listed_the_unit() -> None:
    # Listed `inactive` (a new mission whose start waits) at 5.0; by the time the log is read its
    # first run has ended (at 6.0): that run's announcements, which follow, are still to be told.
    log = Runs(ended=(("a1", 6.0),))
    found = initial(Unit("inactive", "dead", "", job="start"), 5.0, log, "crashed", True)
    assert (found.state, found.seq) == ("created", 0)
    assert states(told(found, FIRST + CRASH, runs=log)) == ["starting", "running", "stopping", "crashed"]


def test_a_late_feed_takes_a_mission_whose_unit_came_after_its_listing_as_not_begun() -> None:
    # No unit at the listing (5.0); by the time the store is read its run has started (6.0), so its
    # view may already say anything: the run's announcements, which follow, tell it.
    log = Runs(going=(("a1", 6.0),))
    found = initial(None, 5.0, log, "unknown", True)
    assert (found.state, found.seq) == ("created", 0)
    assert states(told(found, FIRST + CRASH, runs=log)) == ["starting", "running", "stopping", "crashed"]


def test_a_late_feed_numbers_a_refused_restart_and_the_next_run_as_the_watching_one() -> None:
    watched = Machine()
    told(watched, [*FIRST, *RESTART[:2], ("failed", "failed", "a1", "exit-code")])
    log = Runs(ended=(("a1", 10.0),))
    found = initial(Unit("failed", "failed", "a1", "exit-code"), 11.0, log, "crashed", True)
    assert found.seq == watched.seq
    again: list[Step] = [("activating", "start-pre", "c3")]
    assert [t.seq for t in told(found, again, runs=log)] == [t.seq for t in told(watched, again, runs=log)]


def test_every_end_is_final_for_its_run() -> None:
    for end in ENDS:
        machine = Machine(end, 3, 5)
        machine.runs["x"] = 3
        assert told(machine, [("active", "running", "x"), ("deactivating", "stop-post", "x")]) == []


def test_a_late_feed_takes_a_mission_that_never_ran_and_says_unknown_as_one_whose_unit_may_still_come() -> None:
    found = initial(None, 5.0, Runs(), "unknown", True)
    assert (found.state, found.seq) == ("created", 0)
    killed = initial(None, 5.0, Runs(), "killed", True)
    assert (killed.state, killed.seq) == ("killed", seq_of(1, 5))


def test_a_late_feed_that_could_not_read_a_units_invocation_still_tells_its_end() -> None:
    # Listed `deactivating`; gone before it could be read: its end comes with an invocation unheard of.
    found = initial(Unit("deactivating", "stop-post", ""), 5.0, Runs(), "stopping", False)
    assert [(t.state, t.seq) for t in told(found, [("inactive", "dead", "a1")])] == [("finished", seq_of(1, 5))]


def test_a_late_feed_numbers_a_stopping_run_by_the_log_when_its_end_was_recorded_after_the_listing() -> None:
    # Listed `deactivating` in its second run at 5.0, collected before it could be read; ExecStopPost=
    # recorded that run's end at 6.0, after the listing. A watching feed tells (finished, run 2).
    watched = {(t.state, t.seq) for t in told(Machine(), FIRST + RESTART)}
    log = Runs(ended=(("a1", 3.0), ("b2", 6.0)))
    found = initial(Unit("deactivating", "stop-post", ""), 5.0, log, "stopping", False)
    assert (found.state, found.seq) in watched
    end = told(found, [("inactive", "dead", "b2")], runs=log)
    assert [(t.state, t.seq) for t in end] == [("finished", seq_of(2, 5))]


def test_a_late_feed_that_reads_the_log_after_later_runs_numbers_a_stopping_run_as_the_watching_one() -> None:
    # Listed `deactivating` in its first run at 5.0 (its end recorded at 3.0), its invocation
    # unread; by the time the log is read (a busy machine) it restarted and its second run ended.
    watched = told(Machine(), FIRST + RESTART)
    log = Runs(ended=(("a1", 3.0), ("b2", 8.0)))
    found = initial(Unit("deactivating", "stop-post", ""), 5.0, log, "stopping", False)
    assert (found.state, found.seq) == ("stopping", seq_of(1, 3))
    late = told(found, RESTART[1:], runs=log)
    assert [(t.state, t.seq) for t in late] == [(t.state, t.seq) for t in watched if t.seq > seq_of(1, 3)]


def test_an_end_first_heard_with_its_invocation_is_numbered_by_the_run_log() -> None:
    # A machine that took its run as the first (no invocation read) learns from the log that the
    # end it hears is the second run's.
    machine = Machine("stopping", 1, 3)
    log = Runs(ended=(("a1", 3.0), ("b2", 6.0)))
    end = told(machine, [("inactive", "dead", "b2")], runs=log)
    assert [(t.state, t.seq, t.previous) for t in end] == [("finished", seq_of(2, 5), "stopping")]
