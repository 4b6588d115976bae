"""Container images must be on the machine before a mission starts: a pull inside a service's
start would race its timeout (and here there is no registry to pull from at all)."""

from __future__ import annotations

import subprocess

from overmind.isolation.model import Contract, ContractError, Service


def missing_image(contract: Contract, services: list[Service], podman: str) -> ContractError | None:
    """The first docker service whose image Podman does not have, as a `file:line` error."""
    images = sorted({s.image for s in services if s.image})
    checks = {image: subprocess.Popen([podman, "image", "exists", "--", image], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for image in images}
    missing = {image for image, proc in checks.items() if proc.wait() != 0}
    for service in services:
        if service.image in missing:
            return ContractError(f"{contract.path}:{service.line}: services.{service.name}.docker: image "
                                 f"{service.image!r} is not on this machine",
                                 hint=f"podman pull {service.image} (or build it), then run again")
    return None
