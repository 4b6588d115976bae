"""systemd's D-Bus object paths for units, both ways."""

from __future__ import annotations

MANAGER_PATH = "/org/freedesktop/systemd1"
_UNIT_PATH = f"{MANAGER_PATH}/unit/"


def unit_object_path(unit: str) -> str:
    """systemd's object path for a unit: bytes outside [A-Za-z0-9] become _xx."""
    label = "".join(c if c.isascii() and c.isalnum() else "".join(f"_{b:02x}" for b in c.encode()) for c in unit)
    return f"{_UNIT_PATH}{label}"


def unit_of_path(path: str) -> str | None:
    """The unit an object path names (the reverse of `unit_object_path`), None for other paths."""
    if not path.startswith(_UNIT_PATH):
        return None
    label = path[len(_UNIT_PATH):]
    out = bytearray()
    index = 0
    while index < len(label):
        if label[index] == "_" and _is_hex(label[index + 1:index + 3]):
            out.append(int(label[index + 1:index + 3], 16))
            index += 3
        else:
            out += label[index].encode()
            index += 1
    return out.decode(errors="replace")


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdef" for c in text)
