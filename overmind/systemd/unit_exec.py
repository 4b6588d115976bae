"""Small programs transient units run, started by path as `python -I -S unit_exec.py VERB ...`
(stdlib only: no site, no overmind import, ~10 ms). `launched()` builds such a command line.

Why they exist: systemd 252 writes a transient unit's command lines to its unit file with `$`,
`;` and `\\` escaped in a way it does not read back, and re-reads that file on every
`daemon-reload`, which any process may run at any time. A unit started (or restarted) after one
would then run a changed command. So a unit's command lines carry only plain words; whatever
comes from `.overmind.yml` (shell lines, a container's command) travels in its environment,
which survives a reload intact.

    exec [VARIABLE]             run the JSON argv in $OVERMIND_ARGV (or $VARIABLE) in place of this process
    quiet CMD...                run CMD with its standard output dropped (podman rm prints names)
    unless-clean CMD...         run CMD quietly unless $SERVICE_RESULT is "success" (ExecStopPost=)
    volumes PODMAN LABEL... -- VOLUME...   create the named Podman volumes that do not exist yet
"""

from __future__ import annotations

import json
import os
import sys

# Only what `exec` needs is imported up front: it runs before every such mission's command.
# What a transient unit's command line may hold and still read the same after a daemon-reload:
PLAIN = r"[A-Za-z0-9_./:@=+, -]*"
ARGV_VARIABLE = "OVERMIND_ARGV"


def _quiet(argv: list[str]) -> int:
    import subprocess

    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False).returncode


def _volumes(args: list[str]) -> int:
    podman, rest = args[0], args[1:]
    split = rest.index("--")
    labels, volumes = rest[:split], rest[split + 1:]
    for volume in volumes:
        if _quiet([podman, "volume", "exists", volume]) != 0:
            code = _quiet([podman, "volume", "create", *(f"--label={label}" for label in labels), volume])
            if code != 0:
                return code
    return 0


def helper(*words: str) -> list[str]:
    """This program's command line: `helper("quiet", "podman", "rm", ...)`."""
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), *words]


def launched(argv: list[str], env: dict[str, str], variable: str = ARGV_VARIABLE) -> tuple[list[str], dict[str, str]]:
    """`argv` as a unit's command line that survives a daemon-reload: as it is when it is plain
    words, else run by `exec` from the environment variable `variable`."""
    import re

    if all(re.fullmatch(PLAIN, word) for word in argv):
        return argv, env
    return helper("exec", *([variable] if variable != ARGV_VARIABLE else [])), {**env, variable: json.dumps(argv)}


def main(argv: list[str]) -> int:
    verb, args = argv[0], argv[1:]
    if verb == "exec":
        command = json.loads(os.environ.pop(args[0] if args else ARGV_VARIABLE))
        os.execvp(command[0], command)
    if verb == "quiet":
        return _quiet(args)
    if verb == "unless-clean":
        return 0 if os.environ.get("SERVICE_RESULT") == "success" else _quiet(args)
    if verb == "volumes":
        return _volumes(args)
    print(f"unit_exec: unknown verb {verb!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
