"""Tiny container images for the tests, built locally (there is no registry): a static busybox
tree given to `podman import`, cached under a name that changes with the recipe."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile

APPLETS = ("sh", "httpd", "sleep", "echo", "cat", "mkdir", "date", "ls", "nc", "env", "true", "false", "cp")
REPOSITORY = "localhost/overmind-test-busybox"
STAND_IN_LABEL = "io.overmind.test-stand-in"


def _busybox() -> str:
    found = shutil.which("busybox")
    if found is None:
        raise RuntimeError("busybox is missing: run scripts/install-podman.sh")
    return found


def _tree(busybox: str) -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for folder in ("bin", "tmp", "www"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
    return data.getvalue()


def image(command: list[str], label: str | None = None) -> str:
    """A busybox image whose default command is `command`; built once per recipe."""
    busybox = _busybox()
    with open(busybox, "rb") as f:
        recipe = hashlib.sha256(f.read() + json.dumps([APPLETS, command, label]).encode()).hexdigest()[:12]
    name = f"{REPOSITORY}:{recipe}"
    if subprocess.run(["podman", "image", "exists", name], check=False).returncode != 0:
        changes = [f"--change=CMD {json.dumps(command)}"] + ([f"--change=LABEL {label}=1"] if label else [])
        subprocess.run(["podman", "import", "--quiet", *changes, "-", name], input=_tree(busybox), check=True,
                       capture_output=True)
    return name


def stand_in(name: str, port: int) -> str | None:
    """Tag an httpd busybox image as `localhost/<name>` (e.g. postgres:16) for a file that names
    a real image; None if a real image of that name is already there (it is never shadowed)."""
    shown = subprocess.run(["podman", "image", "inspect", "--format", "{{json .Labels}}", name],
                           capture_output=True, text=True, check=False)
    if shown.returncode == 0 and STAND_IN_LABEL not in (shown.stdout or ""):
        return None
    source = image(["httpd", "-f", "-p", str(port), "-h", "/www"], label=STAND_IN_LABEL)
    subprocess.run(["podman", "tag", source, f"localhost/{name}"], check=True, capture_output=True)
    return f"localhost/{name}"


def untag(tagged: str) -> None:
    subprocess.run(["podman", "untag", tagged, tagged], check=False, capture_output=True)
