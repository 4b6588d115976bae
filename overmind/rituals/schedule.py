"""When a ritual runs: a calendar expression (OnCalendar=) or a fixed interval (OnUnitActiveSec=).

Calendar expressions are checked by systemd itself (`systemd-analyze calendar`), so what is
accepted here is exactly what the timer will accept, and the preview of the next elapses is
systemd's own arithmetic.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from overmind.errors import OvermindError
from overmind.quantities import parse_duration, span

PREVIEW = 3  # elapses shown when a ritual is added
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_ELAPSE_LINE = re.compile(r"^\s*(Next elapse|Iter\. #\d+|\(in UTC\)):\s*(.+?)\s*$")


@dataclass(frozen=True)
class Schedule:
    calendar: str | None = None  # systemd's normalized form of the expression
    every: float | None = None  # seconds between the starts of two runs

    def describe(self) -> str:
        return self.calendar if self.calendar is not None else f"every {span(self.every or 0)}"

    def to_json(self) -> dict[str, object]:
        return {"calendar": self.calendar, "every_s": self.every}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Schedule:
        every = data.get("every_s")
        calendar = data.get("calendar")
        return cls(calendar=calendar if isinstance(calendar, str) else None,
                   every=float(every) if isinstance(every, (int, float)) else None)


@dataclass(frozen=True)
class Preview:
    schedule: Schedule
    next_elapses: tuple[float, ...]  # epoch seconds


def every(text: str) -> Preview:
    seconds = parse_duration(text, "--every interval")
    if seconds < 1:
        raise OvermindError(f"--every interval {text!r} is shorter than a second")
    now = time.time()
    return Preview(Schedule(every=seconds), tuple(now + seconds * n for n in range(1, PREVIEW + 1)))


def calendar(expression: str) -> Preview:
    """Validate a calendar expression the way the timer will, with its next elapses."""
    text = expression.strip()
    if not text or _CONTROL_CHARS.search(text):
        raise OvermindError(f"invalid calendar expression {expression!r}")
    proc = _analyze(["calendar", f"--iterations={PREVIEW}", "--", text])
    if proc.returncode != 0:
        raise OvermindError(f"invalid calendar expression {expression!r}",
                            hint="see 'man systemd.time', e.g. 'Mon..Fri 09:00', 'hourly', '*-*-* 02:30'")
    normalized, elapses = parse_analyze_output(proc.stdout)
    if not normalized:
        raise OvermindError(f"systemd-analyze did not understand {expression!r}")
    if not elapses:
        raise OvermindError(f"calendar expression {expression!r} never elapses (it lies in the past)")
    return Preview(Schedule(calendar=normalized), tuple(elapses))


def next_elapse_after(expression: str, base: float) -> float | None:
    """The first elapse of a calendar expression after `base` (epoch seconds), None for never."""
    proc = _analyze(["calendar", "--iterations=1", f"--base-time=@{base:.6f}", "--", expression])
    elapses = parse_analyze_output(proc.stdout)[1] if proc.returncode == 0 else []
    return elapses[0] if elapses else None


def parse(text: str) -> Preview:
    """A schedule as one string, as blueprints write it: an interval ('1h', '30min') or a calendar
    expression ('Mon..Fri 09:00', 'daily')."""
    if re.fullmatch(r"\s*\d+(\.\d+)?\s*[a-z]+\s*", text):
        return every(text)
    return calendar(text)


def parse_analyze_output(text: str) -> tuple[str, list[float]]:
    """`systemd-analyze calendar` output -> (normalized form, elapses as epoch seconds).

    Each elapse is printed in local time, followed by an `(in UTC):` line unless local time is UTC.
    """
    normalized = ""
    elapses: list[float] = []
    for line in text.splitlines():
        key, _, value = line.strip().partition(": ")
        if key == "Normalized form":
            normalized = value.strip()
            continue
        match = _ELAPSE_LINE.match(line)
        if not match or match[2] == "never":
            continue
        if match[1] == "(in UTC)":
            elapses[-1:] = [_utc_stamp(match[2])]
        elif match[2].endswith(" UTC"):
            elapses.append(_utc_stamp(match[2]))
        else:
            elapses.append(float("nan"))  # replaced by the (in UTC) line that follows
    return normalized, [e for e in elapses if e == e]


def _utc_stamp(text: str) -> float:
    # "Tue 2026-11-24 09:00:00 UTC", possibly with microseconds
    stamp = text.removesuffix(" UTC").split(" ", 1)[1]
    pattern = "%Y-%m-%d %H:%M:%S.%f" if "." in stamp else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(stamp, pattern).replace(tzinfo=UTC).timestamp()


def _analyze(args: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=30)
    except FileNotFoundError as exc:
        raise OvermindError("systemd-analyze is not installed", hint="apt-get install systemd") from exc
