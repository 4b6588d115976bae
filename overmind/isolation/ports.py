"""Handing out host ports: a port is leased only if no other worktree holds it and nothing on
the machine listens on it. Leases last as long as their worktree (see store_worktrees)."""

from __future__ import annotations

import errno
import socket

from overmind.errors import OvermindError
from overmind.store.worktrees import WorktreeStore

_NO_FAMILY = (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT)


def is_free(port: int) -> bool:
    """Nothing listens on the port, on any IPv4 or IPv6 address (a bind would conflict)."""
    for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            probe = socket.socket(family, socket.SOCK_STREAM)
        except OSError as error:
            if error.errno in _NO_FAMILY:
                continue
            raise
        with probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno in _NO_FAMILY:
                    continue
                return False
    return True


class PortsExhausted(OvermindError):
    pass


def lease(records: WorktreeStore, worktree: str, variables: list[str], port_range: tuple[int, int],
          in_use_by_itself: bool) -> dict[str, int]:
    """Ports for `variables` (DB_PORT, PORT, ...): the worktree's own leases where they still
    fit, fresh ones otherwise. `in_use_by_itself`: the worktree's services or missions run, so
    its leased ports may well be listened on (by them)."""
    low, high = port_range

    def plan(mine: dict[str, int], others: set[int]) -> dict[str, int]:
        taken = set(others)
        wanted: dict[str, int] = {}
        for variable in variables:
            port = mine.get(variable)
            if port is not None and low <= port <= high and port not in taken and (in_use_by_itself or is_free(port)):
                wanted[variable] = port
                taken.add(port)
        candidates = iter(range(low, high + 1))
        for variable in variables:
            if variable in wanted:
                continue
            port = next((p for p in candidates if p not in taken and is_free(p)), None)
            if port is None:
                raise PortsExhausted(f"no free port left in {low}-{high} for {variable}",
                                     hint="widen isolation.port_range in .overmind.yml, or remove worktrees "
                                          "you are done with (overmind worktree ls)")
            wanted[variable] = port
            taken.add(port)
        return wanted

    return records.lease(worktree, plan)
