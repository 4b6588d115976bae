"""Files shipped beside the package: skills/ (and unit templates), in a checkout or installed."""

from __future__ import annotations

import sys
from pathlib import Path

from overmind.errors import OvermindError


def shipped_file(relative: str) -> Path:
    """A file from the project's top-level folders: next to the package in a checkout or an
    editable install, under <prefix>/share/overmind in a regular one."""
    candidates = [Path(__file__).resolve().parent.parent / relative, Path(sys.prefix) / "share" / "overmind" / relative]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise OvermindError(f"overmind's own file {relative} is missing", hint="reinstall overmind")
