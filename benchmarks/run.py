"""Run every benchmark: `python benchmarks/run.py` (or `make bench`)."""

from __future__ import annotations

import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SUITES = ["benchmarks.spawn_observe", "benchmarks.scale", "benchmarks.self_healing", "benchmarks.blueprints",
          "benchmarks.sessions", "benchmarks.akasha", "benchmarks.dashboard", "benchmarks.tui",
          "benchmarks.isolation", "benchmarks.providers", "benchmarks.feed", "benchmarks.towers",
          "benchmarks.host_faults", "benchmarks.notify", "benchmarks.hosts",
          "benchmarks.permissions", "benchmarks.persist"]


def main() -> None:
    chosen = sys.argv[1:] or SUITES
    for name in chosen:
        module = importlib.import_module(name if name.startswith("benchmarks.") else f"benchmarks.{name}")
        module.main()
        print()


if __name__ == "__main__":
    main()
