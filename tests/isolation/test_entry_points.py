"""The rest of overmind calls isolation only through its package's functions; loading every one
of its modules must leave those functions in place (a module of the same name would hide one)."""

from __future__ import annotations

import importlib
import pkgutil

import overmind.isolation as isolation

ENTRY_POINTS = ("applies", "scheduled_worktree", "prepare", "start_failed", "companions", "worktree_exists",
                "service_log_source", "workplace", "describe")


def test_every_entry_point_stays_a_function_once_all_modules_are_loaded() -> None:
    for module in pkgutil.iter_modules(isolation.__path__):
        importlib.import_module(f"overmind.isolation.{module.name}")
    assert all(callable(getattr(isolation, name)) and not hasattr(getattr(isolation, name), "__path__")
               and getattr(getattr(isolation, name), "__module__", "") == "overmind.isolation"
               for name in ENTRY_POINTS)
