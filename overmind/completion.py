"""Shell completion scripts, and where each shell looks for them.

Click generates the scripts; they call `overmind` back with `_OVERMIND_COMPLETE=<shell>_complete`,
which click's own entry point answers, so completions always match the installed version.
"""

from __future__ import annotations

import os
from pathlib import Path

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_OVERMIND_COMPLETE"

# Where the distribution's package puts them (read by every user's shell).
SYSTEM_PATHS = {
    "bash": Path("/usr/share/bash-completion/completions/overmind"),
    "zsh": Path("/usr/share/zsh/vendor-completions/_overmind"),
    "fish": Path("/usr/share/fish/vendor_completions.d/overmind.fish"),
}


def script(shell: str) -> str:
    """The completion script for shell (bash, zsh or fish)."""
    import click
    from click.shell_completion import get_completion_class

    completion = get_completion_class(shell)
    if completion is None:
        raise ValueError(f"no completion for shell {shell!r}")
    # The script names only the program and the variable that calls it back; the command tree is
    # read when a completion is asked for, so any command object serves here.
    return completion(click.Command("overmind"), {}, "overmind", COMPLETE_VAR).source()


def user_path(shell: str) -> Path | None:
    """Where this shell loads a user's own completions without any rc-file change (zsh has no such place)."""
    home = Path.home()
    if shell == "bash":  # bash-completion >= 2.9 looks in $XDG_DATA_HOME/bash-completion/completions
        data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        return data / "bash-completion" / "completions" / "overmind"
    if shell == "fish":
        config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        return config / "fish" / "completions" / "overmind.fish"
    return None


def login_shell() -> str | None:
    """The user's shell among those we complete, from $SHELL."""
    name = os.path.basename(os.environ.get("SHELL", ""))
    return name if name in SHELLS else None
