"""Schedules: reading systemd-analyze's answers, and writing intervals the way systemd reads them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from overmind.errors import OvermindError
from overmind.rituals import schedule

UTC_OUTPUT = """  Original form: Mon..Fri 09:00
Normalized form: Mon..Fri *-*-* 09:00:00
    Next elapse: Tue 2026-11-24 09:00:00 UTC
       From now: 10h left
       Iter. #2: Wed 2026-11-25 09:00:00 UTC
       From now: 1 day 10h left
"""
LOCAL_OUTPUT = """Normalized form: Mon..Fri *-*-* 09:00:00
    Next elapse: Tue 2026-11-24 09:00:00 CET
       (in UTC): Tue 2026-11-24 08:00:00 UTC
       From now: 9h left
       Iter. #2: Wed 2026-11-25 09:00:00 CET
       (in UTC): Wed 2026-11-25 08:00:00 UTC
"""


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_elapses_are_read_in_utc_whatever_the_local_zone() -> None:
    assert schedule.parse_analyze_output(UTC_OUTPUT) == (
        "Mon..Fri *-*-* 09:00:00", [_utc("2026-11-24 09:00:00"), _utc("2026-11-25 09:00:00")])
    assert schedule.parse_analyze_output(LOCAL_OUTPUT)[1] == [_utc("2026-11-24 08:00:00"), _utc("2026-11-25 08:00:00")]


def test_an_expression_that_never_elapses_has_no_elapses() -> None:
    text = "  Original form: 2001-01-01\nNormalized form: 2001-01-01 00:00:00\n    Next elapse: never\n"
    assert schedule.parse_analyze_output(text) == ("2001-01-01 00:00:00", [])


def test_intervals_are_written_in_systemd_words() -> None:
    assert [schedule.span(s) for s in (0.5, 2, 90, 3600, 5400, 86400 + 60)] == [
        "500ms", "2s", "1min30s", "1h", "1h30min", "1d1min"]


def test_a_schedule_string_is_an_interval_or_a_calendar_expression() -> None:
    assert schedule.parse("90min").schedule == schedule.Schedule(every=5400)
    assert schedule.parse("hourly").schedule.calendar == "*-*-* *:00:00"


@pytest.mark.parametrize("text", ["", "daily\nExecStart=/bin/false", "nonsense"])
def test_bad_calendar_expressions_are_refused(text: str) -> None:
    with pytest.raises(OvermindError, match="invalid calendar expression"):
        schedule.calendar(text)


def test_sub_second_intervals_are_refused() -> None:
    with pytest.raises(OvermindError, match="shorter than a second"):
        schedule.every("500ms")
