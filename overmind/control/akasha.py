"""The memory service's units, for the front ends: stop the local service, or serve the memory to
other machines. Memories themselves are read and written through overmind.akasha.client."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from overmind.akasha.serve import Served


def stop_service(uninstall: bool = False) -> list[str]:
    """Stop the local memory service (its socket starts it again unless `uninstall`); what was done."""
    from overmind.akasha.units import stop

    return stop(uninstall)


def serve(host: str, port: int, token: str | None, path: Path | None) -> Served:
    """Run a shared Chroma server as a user unit and wait until it answers."""
    from overmind.akasha.serve import serve as start

    return start(host, port, token, path)


def stop_serving() -> list[str]:
    """Stop the shared server and remove its unit; the memories stay."""
    from overmind.akasha.serve import stop_serving as stop

    return stop()
