"""A memory: text with a kind, a scope, a source and tags; checked before anything stores it."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from overmind.akasha import AkashaError

KINDS = ("fact", "decision", "pitfall", "howto", "summary")
GLOBAL = "global"  # the scope of what holds for every repository
MAX_TEXT = 16 * 1024  # characters: a memory is a note, not a file (the model reads 256 tokens anyway)
MAX_TAGS = 16
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,63}")


@dataclass
class Memory:
    id: str
    text: str
    kind: str = "fact"
    scope: str = GLOBAL
    tags: list[str] = field(default_factory=list)
    mission: str | None = None  # the mission id it came from
    agent: str | None = None  # who wrote it: a mission's name, "cli", "mcp", ...
    created_at: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.time)
    count: int = 1  # how many times it (or a near-duplicate of it) was remembered

    def __post_init__(self) -> None:
        # Times are kept to the millisecond: chromadb's metadata does not give a double's 17th digit
        # back, so a memory read again would differ from the one just stored.
        for name in ("created_at", "last_seen"):
            value = getattr(self, name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                setattr(self, name, round(value, 3))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Memory:
        """A memory from an exported record, checked like any new one; raises AkashaError."""
        if not isinstance(data, dict):
            raise AkashaError("not a JSON object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise AkashaError(f"unknown field {sorted(unknown)[0]!r}")
        for name in ("id", "text"):
            if not isinstance(data.get(name), str):
                raise AkashaError(f"missing or invalid {name!r}")
        memory = cls(**data)
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", memory.id):
            raise AkashaError(f"invalid id {memory.id!r}")
        memory.text = check_text(memory.text)
        memory.kind = check_kind(memory.kind)
        memory.tags = check_tags(memory.tags)
        if not isinstance(memory.scope, str) or not memory.scope.strip() or "\0" in memory.scope:
            raise AkashaError("invalid 'scope'")
        for name in ("mission", "agent"):
            value = getattr(memory, name)
            if value is not None and (not isinstance(value, str) or "\0" in value):
                raise AkashaError(f"invalid {name!r}")
        for name in ("created_at", "last_seen"):
            if not isinstance(getattr(memory, name), int | float) or isinstance(getattr(memory, name), bool):
                raise AkashaError(f"invalid {name!r}")
        if not isinstance(memory.count, int) or isinstance(memory.count, bool) or memory.count < 1:
            raise AkashaError("invalid 'count'")
        return memory


def check_text(text: Any) -> str:
    """The text as stored: stripped, not empty, no NUL, at most MAX_TEXT characters."""
    if not isinstance(text, str):
        raise AkashaError("a memory's text must be a string")
    if "\0" in text:
        raise AkashaError("the text contains a NUL byte")
    stripped: str = text.strip()
    if not stripped:
        raise AkashaError("empty memory", hint="overmind akasha remember 'TEXT'")
    if len(stripped) > MAX_TEXT:
        raise AkashaError(f"the memory is {_size(len(stripped.encode()))}; the limit is {MAX_TEXT // 1024} KB of text",
                          hint="remember a summary of it, not the whole thing")
    return stripped


def check_kind(kind: Any) -> str:
    if kind not in KINDS:
        raise AkashaError(f"unknown kind {kind!r}", hint=f"use one of: {', '.join(KINDS)}")
    return str(kind)  # a member of KINDS


def check_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list | tuple) or not all(isinstance(tag, str) for tag in tags):
        raise AkashaError("tags must be a list of words")
    unique = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
    for tag in unique:
        if not _TAG.fullmatch(tag):
            raise AkashaError(f"invalid tag {tag!r}", hint="use letters, digits and _ . : / + - (at most 64)")
    if len(unique) > MAX_TAGS:
        raise AkashaError(f"too many tags ({len(unique)}); at most {MAX_TAGS}")
    return unique


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB" if count >= 1024 * 1024 else f"{count / 1024:.1f} KB"
