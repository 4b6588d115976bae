"""Where notifications go: the channels `overmind notify add` names, kept in one file.

A channel is a webhook (a URL and a body format), the desktop (a D-Bus session bus) or a command.
Each says which events it wants and, optionally, which missions (a glob on their names). A
webhook's URL usually carries a token, so the file is written 0600 and `notify ls` masks it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from overmind.errors import NotFound, OvermindError

EVENTS = ("crashed", "breaker", "failed", "waiting", "permission", "finished", "blueprint-failed", "ritual-failed")
DEFAULT_EVENTS = tuple(event for event in EVENTS if event != "finished")  # what needs a person
KINDS = ("webhook", "desktop", "command")
FORMATS = ("json", "slack", "ntfy")
DEFAULT_RETRY_FOR = 3600.0  # seconds a failing delivery is retried before it is given up


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str  # webhook | desktop | command
    target: str  # the webhook's URL, the session bus's address, the command line
    format: str | None = None  # a webhook's body: json | slack | ntfy
    events: tuple[str, ...] = DEFAULT_EVENTS
    missions: str | None = None  # a glob on mission (blueprint, ritual) names; None: all
    retry_for: float = DEFAULT_RETRY_FOR
    created_at: float = 0.0

    def wants(self, event: str, name: str) -> bool:
        """Whether a notice of this event about this name goes here (`test` always does)."""
        from fnmatch import fnmatchcase

        if event == "test":
            return True
        if event not in self.events:
            return False
        return self.missions is None or fnmatchcase(name, self.missions)

    @property
    def shown_target(self) -> str:
        """The target as `notify ls` shows it: a webhook's URL without its secret parts."""
        return mask(self.target) if self.kind == "webhook" else self.target

    def to_json(self) -> dict[str, Any]:
        """`notify ls --json` (docs/json.md): never the webhook's whole URL."""
        return {"name": self.name, "kind": self.kind, "target": self.shown_target, "format": self.format,
                "events": list(self.events), "missions": self.missions, "retry_for_s": self.retry_for,
                "created_at": self.created_at}

    def stored(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "target": self.target, "format": self.format,
                "events": list(self.events), "missions": self.missions, "retry_for_s": self.retry_for,
                "created_at": self.created_at}

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Channel:
        return cls(str(data["name"]), str(data["kind"]), str(data["target"]), data.get("format"),
                   tuple(data.get("events") or DEFAULT_EVENTS), data.get("missions"),
                   float(data.get("retry_for_s") or DEFAULT_RETRY_FOR), float(data.get("created_at") or 0.0))


def mask(url: str) -> str:
    """`https://hooks.slack.com/***`: the scheme and host tell channels apart; the user, password,
    path and query, where tokens live, are not shown."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is no number: not shown either
        port = ""
    secret = parts.path.strip("/") or parts.query or parts.username
    return f"{parts.scheme}://{host}{port}/{'***' if secret else ''}"


# -- what a person gives ------------------------------------------------------------------
def events_of(given: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """`--on crashed,breaker --on waiting` (or `all`) -> the events, in their canonical order."""
    words = [word.strip() for item in given for word in item.split(",") if word.strip()]
    if not words:
        return DEFAULT_EVENTS
    if "all" in words:
        return EVENTS
    unknown = [word for word in words if word not in EVENTS]
    if unknown:
        raise OvermindError(f"unknown event {unknown[0]!r} for --on", hint=f"choose from: {', '.join(EVENTS)}, all")
    return tuple(event for event in EVENTS if event in words)


def webhook_url(url: str) -> str:
    """The URL, checked; errors never repeat its secret parts (they end up in terminals' scrollback)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        said = f" {mask(url)}" if parts.scheme and parts.hostname else ": it needs http:// or https:// and a host"
        raise OvermindError(f"invalid --webhook URL{said}",
                            hint="give an http:// or https:// URL, e.g. https://ntfy.sh/my-topic")
    try:
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        raise OvermindError(f"invalid port in --webhook URL {mask(url)}") from None
    if any(ch.isspace() or ord(ch) < 32 for ch in url.strip()):
        raise OvermindError("invalid --webhook URL: it contains spaces or control characters")
    return url.strip()


def channel(name: str, *, webhook: str | None = None, desktop: str | None = None, command: str | None = None,
            format: str | None = None, on: tuple[str, ...] | list[str] = (), missions: str | None = None,
            retry_for: float | None = None) -> Channel:
    """A checked channel from what `notify add` was given (`desktop`: the session bus address)."""
    from overmind.names import validate_name

    validate_name(name, "notification channel")
    given = [kind for kind, value in (("webhook", webhook), ("desktop", desktop), ("command", command))
             if value is not None]
    if len(given) != 1:
        raise OvermindError("give one of --webhook URL, --desktop or --command 'CMD'" if not given
                            else f"give only one of --webhook, --desktop, --command (got {' and '.join(given)})")
    kind = given[0]
    if format is not None and kind != "webhook":
        raise OvermindError("--format is for --webhook only")
    if command is not None and not command.strip():
        raise OvermindError("--command is empty", hint="e.g. --command 'notify-send \"$OVERMIND_NOTIFY_TITLE\"'")
    if missions is not None and not missions.strip():
        raise OvermindError("--missions is empty", hint="give a glob on mission names, e.g. --missions 'deploy-*'")
    target = webhook_url(webhook) if webhook is not None else (desktop or command or "")
    return Channel(name, kind, target, (format or "json") if kind == "webhook" else None, events_of(on),
                   missions, retry_for or DEFAULT_RETRY_FOR, time.time())


# -- the file -------------------------------------------------------------------------------
def directory() -> Path:
    from overmind.store import state_dir

    return state_dir() / "notify"


def _path() -> Path:
    return directory() / "channels.json"


def load() -> list[Channel]:
    """Every channel, oldest first ([] before the first `notify add`)."""
    try:
        data = json.loads(_path().read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        raise OvermindError(f"the notification channels in {_path()} cannot be read: {error}") from None
    return [Channel.from_stored(item) for item in data.get("channels", [])]


def changed_at() -> float:
    """When the file was last written (0 if there is none): the service reads it again after."""
    try:
        return _path().stat().st_mtime
    except OSError:
        return 0.0


def save(channels: list[Channel]) -> None:
    """Write the file atomically, readable by its owner only (webhook URLs are secrets)."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = folder / f".channels.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"version": 1, "channels": [c.stored() for c in channels]}, f, indent=1)
    os.replace(temporary, _path())


def find(name: str, channels: list[Channel] | None = None) -> Channel:
    for found in channels if channels is not None else load():
        if found.name == name:
            return found
    raise NotFound(f"no notification channel named '{name}'", hint="see 'overmind notify ls'")
