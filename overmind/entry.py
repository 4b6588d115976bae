"""The `overmind` command's entry point: a command for another host goes there before click and
the command modules are imported, and `remote-exec` (the far side of one) reaches the command it
carries without a detour. Everything else is the command line as always (`overmind.cli`).

Only the plain forms are recognised here, by their words alone: `overmind --on HOST CMD ...` and
`overmind CMD [SUB] --on HOST ...` for a command that sends itself whole (`run`, `ps`, `info`,
...). Anything else (`--on` later on the line, `HOST:NAME`, OVERMIND_HOST, streams that resume
after a cut) takes the full path in `overmind.cli`, which reaches the same result, only later.
"""

from __future__ import annotations

import os
import sys

# The agent CLIs' shorthands (`overmind claude run ...`): overmind.providers.PROVIDERS but `raw`, named
# here so that this path imports nothing (a test keeps the two lists the same).
AGENTS = ("claude", "codex", "gemini", "opencode")
# Commands that `--on HOST` right after their words sends whole (no stream, no terminal, no file).
FORWARDED = {("run",), ("ps",), ("info",), ("stop",), ("kill",), ("restart",), ("wait",), ("send",),
             ("subscribe",), ("result",), *((agent, "run") for agent in AGENTS), ("quest", "run"), ("quest", "ls"),
             ("rituals",), *(("ritual", verb) for verb in ("add", "ls", "run", "enable", "disable", "rm", "logs")),
             *(("worktree", verb) for verb in ("ls", "add", "diff", "merge", "rm"))}
# Commands `overmind --on HOST` leaves to the full path: about this machine, or more than a forward.
NOT_FORWARDED = {"hosts", "remote-exec", "dashboard", "tui", "completion", "attach", "events", "apply", "logs"}


def _value(argv: list[str], index: int) -> str | None:
    """The HOST of `--on HOST` or `--on=HOST` at argv[index]."""
    word = argv[index] if index < len(argv) else ""
    if word.startswith("--on="):
        return word[len("--on="):] or None
    return argv[index + 1] if word == "--on" and index + 1 < len(argv) else None


def target(argv: list[str]) -> str | None:
    """The other host this command line goes to on the fast path, or None."""
    if not argv or "-h" in argv or "--help" in argv:
        return None
    host = _value(argv, 0)
    if host is not None:
        rest = argv[2:] if argv[0] == "--on" else argv[1:]
        chosen = host if rest and not rest[0].startswith("-") and rest[0] not in NOT_FORWARDED else None
    else:
        words = 2 if len(argv) > 1 and (argv[0], argv[1]) in FORWARDED else 1
        command = tuple(argv[:words])
        chosen = _value(argv, words) if command in FORWARDED else None
        if chosen is not None and command == ("ps",) and any(w == "--hosts" or w.startswith("--hosts=") for w in argv):
            chosen = None
    if chosen is None or chosen == "local" or chosen == os.environ.get("OVERMIND_AS_HOST"):
        return None
    return chosen


def _forward(host: str, argv: list[str]) -> int:
    from overmind.control.remote import forward
    from overmind.control.remote import host as registered
    from overmind.errors import OvermindError

    try:
        return forward(registered(host), argv)
    except OvermindError as error:
        print(f"overmind: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"({error.hint})", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


def main() -> None:
    argv = sys.argv[1:]
    if len(argv) == 2 and argv[0] == "remote-exec":
        from overmind.cli.hosts import remote_exec_main

        remote_exec_main(argv[1])
    host = target(argv)
    if host is not None:
        sys.exit(_forward(host, argv))
    from overmind.cli import main as cli_main

    cli_main()
