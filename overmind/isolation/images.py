"""Container images must be on the machine before a mission starts: a pull inside a service's
start would race its timeout (and there may be no registry to pull from at all).

`podman image exists` costs ~30 ms a call, on the path of every run with containers, so an
image found is remembered for a while (a state file); one removed since then makes its service
fail to start, with podman's own message among the lines `run` shows.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

from overmind.isolation.cache import write_json
from overmind.isolation.model import Contract, ContractError, Service
from overmind.store import state_dir

REMEMBERED = 600.0  # seconds an image found stays found without asking podman again


def missing_image(contract: Contract, services: list[Service], podman: str) -> ContractError | None:
    """The first docker service whose image Podman does not have, as a `file:line` error."""
    seen = _seen()
    now = time.time()
    images = sorted({s.image for s in services if s.image and now - seen.get(s.image, 0) > REMEMBERED})
    checks = {image: subprocess.Popen([podman, "image", "exists", "--", image], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for image in images}
    missing = {image for image, proc in checks.items() if proc.wait() != 0}
    found = {image: now for image in images if image not in missing}
    if found:
        _remember({**seen, **found})
    for service in services:
        if service.image in missing:
            return ContractError(f"{contract.path}:{service.line}: services.{service.name}.docker: image "
                                 f"{service.image!r} is not on this machine",
                                 hint=f"podman pull {service.image} (or build it), then run again")
    return None


def forget_if_missing(image: str) -> bool:
    """Whether Podman lacks the image now (a service's start failed); if so it is forgotten, so the
    next run says so before starting anything."""
    podman = shutil.which("podman")
    if podman is None or subprocess.run([podman, "image", "exists", "--", image], stdin=subprocess.DEVNULL,
                                        capture_output=True, check=False).returncode == 0:
        return False
    seen = _seen()
    if seen.pop(image, None) is not None:
        _remember(seen)
    return True


def _file() -> str:
    return str(state_dir() / "images.json")


def _seen() -> dict[str, float]:
    try:
        with open(_file(), encoding="utf-8") as f:
            data = json.load(f)
        return {k: float(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError, TypeError):
        return {}


def _remember(seen: dict[str, float]) -> None:
    write_json(_file(), seen)
