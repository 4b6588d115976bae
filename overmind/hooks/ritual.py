"""ExecCondition= (`gate`) and ExecStopPost= (`end`) hooks of a ritual's service.

A systemd timer never starts a second run beside a running one, but it does not drop the elapse
either. When the timer started the run, it waits for the run to end and then fires at once for
an elapse it passed meanwhile (several count as one): left alone, every ritual would queue. When
the run was started by hand (`ritual run`), an elapse during it "triggers" the already-running
service, and nothing more comes of it: left alone, that one would be skipped silently.

So for overlap=skip the gate refuses the late start (exit 1: systemd skips the run without
calling it a failure), and the end hook records a trigger swallowed by a run started by hand;
for overlap=queue the end hook starts the run that trigger asked for. Both write a line into the
ritual's journal and a row into the store, which `overmind rituals` reads.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from overmind.store import RitualRun

RUN, SKIP = 0, 1
_NEXT_ELAPSE = re.compile(r"next_elapse=@(\d+)")


def timer_of(service: str) -> str:
    return service.removesuffix(".service") + ".timer"


def clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


def missed_elapse(timer_props: dict[str, str], history: list[RitualRun], every: float | None) -> float | None:
    """The elapse a start by the timer stands for, if it passed before the previous run ended.

    An --every timer counts from the last activation, a skipped one included; a calendar timer
    shows the elapse it fired for.
    """
    runs = [event for event in history if not event.skipped]
    if not runs:
        return None
    last_run = runs[-1]
    if every is not None:
        base = history[-1].exit.at if history[-1].skipped else last_run.started_at
        due = base + every if base is not None else None
    else:
        match = _NEXT_ELAPSE.search(timer_props.get("TimersCalendar", ""))
        due = float(match[1]) if match else None
    return due if due is not None and due <= last_run.exit.at else None


def gate(service: str, every: float | None) -> int:
    from overmind.store import Store
    from overmind.systemd import manager

    timer = timer_of(service)
    props = manager.show([timer], ["SubState", "TimersCalendar"])
    if not props or props[0].get("SubState") != "running":
        return RUN  # not started by the timer
    store = Store()
    due = missed_elapse(props[0], store.ritual_runs(service), every)
    if due is None:
        return RUN
    print(f"--- skipped: the run due at {clock(due)} found the previous run still going (overlap: skip) ---",
          flush=True)
    store.record_ritual_skip(service, time.time())
    return SKIP


def end(service: str, overlap: str) -> None:
    if os.environ.get("SERVICE_RESULT") == "exec-condition":
        return  # the gate skipped this start and said so
    from overmind.hooks.exit import finish_run
    from overmind.store import Store
    from overmind.systemd import manager

    exit = finish_run()
    timer = timer_of(service)
    props = {p.get("Id"): p for p in manager.show([service, timer], ["Id", "ActiveState",
                                                                     "ExecMainStartTimestampMonotonic"])}
    started = manager.epoch_of_monotonic(props.get(service, {}).get("ExecMainStartTimestampMonotonic", ""))
    store = Store()
    store.record_ritual_run(service, started, exit)
    last_trigger = manager.timers([timer]).get(timer, {}).get("last", 0) / 1e6
    if started is None or not started < last_trigger <= exit.at:
        return
    # The timer fired while this run, started by hand, was going.
    if overlap == "skip":
        print(f"--- skipped: the run due at {clock(last_trigger)} found this run still going (overlap: skip) ---",
              flush=True)
        store.record_ritual_skip(service, last_trigger)
    elif props.get(timer, {}).get("ActiveState") == "active":
        print(f"--- the run due at {clock(last_trigger)} starts now (overlap: queue) ---", flush=True)
        manager.systemctl("start", "--no-block", service, check=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="overmind.hooks.ritual")
    parser.add_argument("hook", choices=("gate", "end"))
    parser.add_argument("service")
    parser.add_argument("--every", type=float)
    parser.add_argument("--overlap", choices=("skip", "queue"), default="skip")
    args = parser.parse_args(argv)
    if args.hook == "end":
        end(args.service, args.overlap)
        return
    try:
        verdict = gate(args.service, args.every)
    except Exception as error:  # a broken gate must not silence a ritual: run rather than skip
        print(f"--- overmind: could not check for an overlapping run ({error}); running ---", flush=True)
        verdict = RUN
    sys.exit(verdict)


if __name__ == "__main__":
    main()
