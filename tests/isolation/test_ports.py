"""The port registry: distinct ports under concurrency, nothing that listens, leases that last."""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from overmind.isolation.ports import PortsExhausted, is_free, lease
from overmind.store import Store
from overmind.store.worktrees import WorktreeRecord, WorktreeStore


def free_range(size: int) -> tuple[int, int]:
    """A range of ports nothing listens on now, away from the defaults other runs use."""
    start = 20000 + (os.getpid() % 500) * 60
    while not all(is_free(p) for p in range(start, start + size)):
        start += size
    return start, start + size - 1


def worktree(store: Store, name: str) -> str:
    WorktreeStore(store).add(WorktreeRecord(name, "/r", f"/r/{name}", f"overmind/{name}", "main", "c", time.time()))
    return name


def _lease_in_process(args: tuple[str, int, int, int]) -> dict[str, int]:
    directory, index, low, high = args
    os.environ["OVERMIND_STATE_DIR"] = directory
    store = Store()
    return lease(WorktreeStore(store), worktree(store, f"m{index}"), ["PORT"], (low, high), False)


def test_fifty_missions_leasing_at_once_get_fifty_distinct_ports(tmp_path) -> None:
    low, high = free_range(60)
    with ProcessPoolExecutor(max_workers=8) as pool:
        leases = list(pool.map(_lease_in_process, [(str(tmp_path), i, low, high) for i in range(50)]))
    ports = [entry["PORT"] for entry in leases]
    assert len(set(ports)) == 50
    assert all(low <= port <= high for port in ports)


def test_a_port_something_listens_on_is_skipped() -> None:
    store = Store()
    low, high = free_range(5)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", low))
        listener.listen()
        assert not is_free(low)
        assert lease(WorktreeStore(store), worktree(store, "a"), ["PORT"], (low, high), False) == {"PORT": low + 1}


def test_a_worktree_keeps_its_ports_and_gets_new_ones_for_new_names() -> None:
    store = Store()
    records = WorktreeStore(store)
    low, high = free_range(10)
    first = lease(records, worktree(store, "a"), ["WEB_PORT", "DB_PORT"], (low, high), False)
    other = lease(records, worktree(store, "b"), ["PORT"], (low, high), False)
    again = lease(records, "a", ["WEB_PORT", "DB_PORT", "CACHE_PORT"], (low, high), False)
    assert {k: again[k] for k in first} == first
    assert len({*again.values(), *other.values()}) == 4
    assert lease(records, "a", ["WEB_PORT"], (low, high), False) == {"WEB_PORT": first["WEB_PORT"]}
    assert records.leases("a") == {"WEB_PORT": first["WEB_PORT"]}


def test_a_lease_whose_port_was_taken_meanwhile_moves_unless_its_own_services_hold_it() -> None:
    store = Store()
    records = WorktreeStore(store)
    low, high = free_range(5)
    first = lease(records, worktree(store, "a"), ["PORT"], (low, high), False)["PORT"]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", first))
        squatter.listen()
        assert lease(records, "a", ["PORT"], (low, high), in_use_by_itself=True) == {"PORT": first}
        assert lease(records, "a", ["PORT"], (low, high), in_use_by_itself=False) != {"PORT": first}


def test_an_exhausted_range_is_a_clear_error_and_leases_nothing() -> None:
    store = Store()
    records = WorktreeStore(store)
    low, _ = free_range(2)
    lease(records, worktree(store, "a"), ["A_PORT", "B_PORT"], (low, low + 1), False)
    with pytest.raises(PortsExhausted, match=f"no free port left in {low}-{low + 1} for PORT"):
        lease(records, worktree(store, "b"), ["PORT"], (low, low + 1), False)
    assert records.leases("b") == {}


def test_removing_a_worktree_releases_its_ports() -> None:
    store = Store()
    records = WorktreeStore(store)
    low, high = free_range(3)
    lease(records, worktree(store, "a"), ["PORT"], (low, high), False)
    records.remove("a")
    assert records.all_leases() == {}
