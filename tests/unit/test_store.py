"""The state store under concurrent writers, as many shells running `overmind run` at once."""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

from overmind.store import Exit, Mission, Store


def _add(args: tuple[str, int]) -> None:
    directory, index = args
    import os

    os.environ["OVERMIND_STATE_DIR"] = directory
    store = Store()
    for n in range(20):
        mid = f"{index:04x}{n:04x}"
        store.add(Mission(mid, f"m{index}-{n}", "u", "task", "raw", "c", "/", None, {}, time.time(), None, None))
        store.record_exit(mid, Exit(time.time(), "success", "exited", "0", False))


def test_concurrent_writers_never_see_database_is_locked(tmp_path, monkeypatch) -> None:
    with ProcessPoolExecutor(max_workers=8) as pool:
        list(pool.map(_add, [(str(tmp_path), i) for i in range(8)]))
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    missions = Store().all()
    assert len(missions) == 160
    assert all(m.exit_count == 1 and m.last_exit and m.last_exit.code == 0 for m in missions)


def test_lookup_by_id_or_newest_name(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    store = Store()
    for mid, created in (("aaaaaaaa", 1.0), ("bbbbbbbb", 2.0)):
        store.add(Mission(mid, "same", "u", "task", "raw", "c", "/", None, {}, created, None, None))
    assert store.get("same").id == "bbbbbbbb"
    assert store.get("aaaaaaaa").id == "aaaaaaaa"
    assert store.get("other") is None
