"""Mission names and ids: generation, validation, and the unit name they map to."""

from __future__ import annotations

import os
import re

from overmind.errors import OvermindError

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
ID_PATTERN = re.compile(r"[0-9a-f]{8}")
DEFAULT_UNIT_PREFIX = "overmind-agent"

_ADJECTIVES = (
    "amber", "brave", "calm", "clever", "cosmic", "crisp", "daring", "eager", "fuzzy", "gentle",
    "golden", "happy", "hidden", "icy", "jolly", "keen", "lucky", "mellow", "misty", "nimble",
    "noble", "quiet", "rapid", "rusty", "shiny", "silent", "sleepy", "snowy", "solar", "swift",
    "tidy", "vivid", "wise", "witty", "young", "zesty",
)
_NOUNS = (
    "badger", "beacon", "comet", "cedar", "dolphin", "falcon", "fern", "forge", "glacier", "harbor",
    "heron", "island", "lantern", "lynx", "maple", "meadow", "nebula", "otter", "owl", "panda",
    "pebble", "pine", "quasar", "raven", "river", "rocket", "sparrow", "summit", "tiger", "walrus",
    "willow", "wolf", "yak", "zephyr",
)


def new_id() -> str:
    return os.urandom(4).hex()


def _pick(words: tuple[str, ...]) -> str:
    # os.urandom rather than `secrets`/`random`: they import hashlib, a cost on every `run`.
    return words[int.from_bytes(os.urandom(4), "big") % len(words)]


def random_name() -> str:
    return f"{_pick(_ADJECTIVES)}-{_pick(_NOUNS)}"


def validate_name(name: str, kind: str = "mission") -> str:
    """Return the name if it is safe in a unit name, else raise a one-line error."""
    if not NAME_PATTERN.fullmatch(name):
        raise OvermindError(
            f"invalid {kind} name {name!r}",
            hint="use 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit",
        )
    if ID_PATTERN.fullmatch(name):
        raise OvermindError(f"invalid {kind} name {name!r}: it looks like a mission id")
    return name


def validate_worktree_name(name: str) -> str:
    """A worktree's name is one path segment that is also a valid branch name (`overmind/<name>`)."""
    if not NAME_PATTERN.fullmatch(name) or ".." in name or name.endswith((".", ".lock")):
        raise OvermindError(f"invalid worktree name {name!r}",
                            hint="use 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit")
    return name


def unit_prefix() -> str:
    """The unit-name prefix; tests set OVERMIND_UNIT_PREFIX to stay apart from real missions."""
    prefix = os.environ.get("OVERMIND_UNIT_PREFIX", DEFAULT_UNIT_PREFIX)
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,40}", prefix):
        raise OvermindError(f"invalid OVERMIND_UNIT_PREFIX {prefix!r}")
    return prefix


def unit_name(name: str) -> str:
    return f"{unit_prefix()}@{name}.service"


def unit_pattern() -> str:
    return f"{unit_prefix()}@*.service"


def dashboard_unit(kind: str) -> str:
    """The dashboard's unit file name (kind 'socket' or 'service'): overmind-dashboard.socket for
    the default prefix, <prefix>-dashboard.socket for another."""
    prefix = unit_prefix()
    return f"{'overmind' if prefix == DEFAULT_UNIT_PREFIX else prefix}-dashboard.{kind}"


def ritual_unit(name: str, kind: str) -> str:
    """A ritual's unit file name: kind is 'timer' or 'service'."""
    return f"{unit_prefix()}-ritual-{name}.{kind}"


def name_from_unit(unit: str) -> str:
    return unit.partition("@")[2].removesuffix(".service")


def log_identifier(unit: str) -> str:
    """The SYSLOG_IDENTIFIER a mission's lines carry in the journal."""
    return unit.removesuffix(".service")


def blueprint_start_unit(blueprint: str, apply_id: str) -> str:
    """The short-lived unit whose start job pulls in one apply's agents (not a mission)."""
    return f"{unit_prefix()}-apply@{blueprint}.{apply_id}.service"
