"""Durations, sizes and CPU shares: one reading of each for the command line, blueprint files and
the unit properties overmind writes (which use systemd's own words: `90s`, `5min`, `512M`)."""

from __future__ import annotations

import re

from overmind.errors import OvermindError

INFINITY = 2**64 - 1  # systemd's "infinity" on the bus
_SECONDS = {"us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3, "s": 1, "sec": 1, "m": 60, "min": 60,
            "h": 3600, "hr": 3600, "d": 86400}
_BYTES = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SPAN_WORDS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")


def parse_duration(text: str, what: str, plain: str = "s") -> float:
    """'90s', '5min', '1h 30min', '250ms' or a plain number (of `plain` units) -> seconds (> 0)."""
    parts = _DURATION.findall(text.strip().lower())
    spelled = "".join(number + unit for number, unit in parts)
    if (not parts or spelled != re.sub(r"\s+", "", text.strip().lower())
            or any(unit not in ("", *_SECONDS) for _, unit in parts) or (len(parts) > 1 and parts[-1][1] == "")):
        raise OvermindError(f"invalid {what} {text!r}", hint="use a duration such as 500ms, 30s, 5min or 2h")
    seconds = sum(float(number) * _SECONDS[unit or plain] for number, unit in parts)
    if seconds <= 0:
        raise OvermindError(f"invalid {what} {text!r}", hint="use a duration such as 500ms, 30s, 5min or 2h")
    return seconds


def timespan_usec(text: str) -> int:
    """A time span as overmind writes unit properties ('10s', '250ms', 'infinity') -> microseconds."""
    if text.strip() == "infinity":
        return INFINITY
    if text.strip() in ("0", "0s"):
        return 0
    try:
        return round(parse_duration(text, "time span") * 1_000_000)
    except OvermindError:
        raise ValueError(f"invalid time span {text!r}") from None


def parse_size(text: str, what: str) -> int:
    """'512M' -> 536870912. Accepts K/M/G/T suffixes (base 1024) and an optional trailing B."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)B?", text.strip(), re.IGNORECASE)
    if not match or float(match[1]) <= 0:
        raise OvermindError(f"invalid {what} {text!r}", hint="use a size such as 512M or 2G")
    return int(float(match[1]) * _BYTES[match[2].upper()])


def size_bytes(text: str) -> int:
    """A size as overmind writes unit properties ('536870912', '512M', 'infinity') -> bytes."""
    return INFINITY if text.strip() == "infinity" else parse_size(text, "size") if text.strip() != "0" else 0


def parse_cpu_quota(text: str) -> int:
    """'50%' or '50' -> 50 (percent of one CPU; 200 means two full CPUs)."""
    match = re.fullmatch(r"(\d+)\s*%?", text.strip())
    if not match or int(match[1]) <= 0:
        raise OvermindError(f"invalid CPU quota {text!r}", hint="use a percentage such as 50% or 200%")
    return int(match[1])


def span(seconds: float) -> str:
    """3600 -> '1h', 5400 -> '1h30min', 0.5 -> '500ms': the words systemd itself accepts."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    parts = []
    rest = round(seconds, 3)
    for unit, size in _SPAN_WORDS:
        count = int(rest // size) if unit != "s" else rest
        if count:
            parts.append(f"{count:g}{unit}")
            rest -= count * size
    return "".join(parts)
