"""The service's unit names and socket path, derived from the unit-name prefix so that two
overmind installations (or two test runs) on one user manager keep their own memory service."""

from __future__ import annotations

import os

from overmind import names
from overmind.systemd.manager import runtime_dir


def unit_base() -> str:
    """'overmind-akasha' for the default prefix, '<prefix>-akasha' for any other."""
    prefix = names.unit_prefix()
    return "overmind-akasha" if prefix == names.DEFAULT_UNIT_PREFIX else f"{prefix}-akasha"


def socket_unit() -> str:
    return f"{unit_base()}.socket"


def service_unit() -> str:
    return f"{unit_base()}.service"


def cortex_unit() -> str:
    """The shared Chroma server `overmind akasha serve` runs."""
    return f"{unit_base()}-cortex.service"


def socket_path() -> str:
    return os.path.join(runtime_dir(), "overmind", f"{unit_base()}.sock")
