"""Unit files and Exec= lines overmind writes: quoting, templates, and files in the user's unit
directory that carry overmind's marker, written atomically and never over anyone else's.

Every value that reaches a unit is quoted or escaped here, so a name, command, path or variable
can neither add a line to the unit nor expand a % specifier.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from overmind.errors import OvermindError

MARKER = "# Written by overmind: it changes or removes only unit files that begin with this line."
TEMPLATES = Path(__file__).resolve().parent.parent / "unit_templates"
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_C_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def unit_dir() -> Path:
    """Where the user manager looks for a user's own units: $XDG_CONFIG_HOME/systemd/user."""
    config = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config) if os.path.isabs(config) else Path.home() / ".config"
    return base / "systemd" / "user"


def _escape(text: str) -> str:
    """systemd's quoted-string escapes: backslash, double quote, control characters (a unit file
    line cannot hold a newline), and % so that no specifier expands."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return _CONTROL_CHARS.sub(lambda m: _C_ESCAPES.get(m[0], f"\\x{ord(m[0]):02x}"), text)


def quote_exec_arg(arg: str) -> str:
    """Quote one word for an Exec*= line (systemd's own quoting rules, no % specifiers, no $ expansion)."""
    return '"' + _escape(arg).replace("$", "$$") + '"'


def quote_assignment(key: str, value: str) -> str:
    """Quote KEY=VALUE for an Environment= line of a unit file ($ means nothing there)."""
    return f'"{_escape(f"{key}={value}")}"'


def python_command(module: str, *args: str) -> str:
    """An Exec*= line running one of our modules with this interpreter."""
    return " ".join(quote_exec_arg(a) for a in (sys.executable, "-m", module, *args))


def render(template: str, **values: Any) -> str:
    """A unit file from a template in `units/` (jinja2, loaded only here)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    jinja = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True,
                        autoescape=False)
    return jinja.get_template(template).render(marker=MARKER, **values)


def is_ours(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return f.readline().rstrip("\n") == MARKER
    except OSError:
        return False


def foreign(paths: list[Path]) -> list[Path]:
    """The paths among these that exist and were not written by overmind."""
    return [path for path in paths if (path.exists() or path.is_symlink()) and not is_ours(path)]


def write(files: dict[str, str], directory: Path | None = None, hint: str = "choose another name") -> list[Path]:
    """Write each file atomically (a reader never sees half a unit) into the user's unit directory
    (or `directory`); refuse to touch foreign ones."""
    import tempfile

    directory = directory or unit_dir()
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / name for name in files]
    refused = foreign(paths)
    if refused:
        raise_foreign(refused[0], hint)
    for path, content in zip(paths, files.values(), strict=True):
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as f:
                f.write(content)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return paths


def remove(paths: tuple[Path, ...] | list[Path]) -> list[Path]:
    """Delete the files of ours among these; returns what was deleted."""
    removed = []
    for path in paths:
        if is_ours(path):
            path.unlink()
            removed.append(path)
    return removed


def raise_foreign(path: Path, hint: str = "choose another name") -> None:
    raise OvermindError(f"{path} exists and was not written by overmind; it is left as it is", hint=hint)
