"""Which host a command acts on: `--on HOST` (or OVERMIND_HOST) and `HOST:NAME` references,
resolved in this one place for every front end.

A mission is `NAME` on its host and `HOST:NAME` everywhere else (mission names never contain a
colon). `local` is this machine; so is the name a calling overmind knows this machine by, when a
command arrives through `overmind remote-exec` (OVERMIND_AS_HOST): `--on build1 logs build1:x`
forwarded to build1 means build1 itself there. Pure string work: a command that stays local
imports nothing of the remote machinery.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from overmind.errors import OvermindError

LOCAL = "local"
AS_HOST = "OVERMIND_AS_HOST"  # set by remote-exec: the name the caller gave this machine


def is_here(host: str | None) -> bool:
    return host is None or host == LOCAL or host == os.environ.get(AS_HOST)


def split(ref: str) -> tuple[str | None, str]:
    """`build1:fix-login` -> ("build1", "fix-login"); `fix-login` -> (None, "fix-login")."""
    host, colon, name = ref.partition(":")
    if not colon:
        return None, ref
    if not host or not name:
        raise OvermindError(f"invalid reference {ref!r}", hint="use NAME, ID or HOST:NAME")
    return host, name


def placed(on: str | None, refs: Sequence[str]) -> dict[str | None, list[str]]:
    """References grouped by the host they live on (None: this machine), each without its
    `HOST:`. A reference without a host is on `on`'s host; a host named twice differently is a
    mistake said at once."""
    default = None if is_here(on) else on
    groups: dict[str | None, list[str]] = {}
    for ref in refs:
        host, name = split(ref)
        if host is not None and on is not None and not is_here(on) and not _same(host, on):
            raise OvermindError(f"'{ref}' is on {host}, but --on says {on}", hint="name the host once")
        where = default if host is None else (None if is_here(host) else host)
        groups.setdefault(where, []).append(name)
    return groups


def _same(host: str, on: str) -> bool:
    return host == on or (is_here(host) and is_here(on))


def host_for(on: str | None, refs: Sequence[str] = ()) -> str | None:
    """The one host a command acts on (None: here), for commands that act on one host at a time."""
    groups = placed(on, refs) if refs else {None if is_here(on) else on: []}
    if len(groups) > 1:
        raise OvermindError("these missions are on different hosts", hint="name missions of one host at a time")
    return next(iter(groups))


def local_name(ref: str) -> str:
    """A reference this machine resolves: `local:x` and `<own name>:x` are `x`."""
    host, name = split(ref)
    if host is not None and not is_here(host):
        raise OvermindError(f"'{ref}' is on another host", hint=f"overmind --on {host} ... or use it from there")
    return name
