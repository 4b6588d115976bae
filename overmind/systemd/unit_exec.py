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

With $OVERMIND_OWN_CGROUP set (a container's unit), `exec` first moves its process into a cgroup
of that name in every cgroup-v1 hierarchy where it still shares the user manager's own cgroup,
and `unless-clean` removes those cgroups again. A user manager on a hybrid host does not manage
every v1 hierarchy (cpuacct mounted apart from cpu, here), and `podman run --cgroups=split`
moves *all* processes of its cgroup into a `runtime` child: the manager itself, one level deeper
at every container start, until the path is too long for any podman to run.
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


def launched(argv: list[str], env: dict[str, str], variable: str = ARGV_VARIABLE,
             always: bool = False) -> tuple[list[str], dict[str, str]]:
    """`argv` as a unit's command line that survives a daemon-reload: as it is when it is plain
    words (and not `always`), else run by `exec` from the environment variable `variable`."""
    import re

    if not always and all(re.fullmatch(PLAIN, word) for word in argv):
        return argv, env
    return helper("exec", *([variable] if variable != ARGV_VARIABLE else [])), {**env, variable: json.dumps(argv)}


OWN_CGROUP = "OVERMIND_OWN_CGROUP"
_V1_ROOT = "/sys/fs/cgroup"


def _v1_cgroups(pid: str) -> dict[str, str]:
    """controllers -> cgroup path of `pid`, for its cgroup-v1 hierarchies."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers and not controllers.startswith("name="):
            found[controllers] = path
    return found


def _shared_with_manager() -> list[str]:
    """The v1 cgroup folders this process shares with its user manager ($MANAGERPID)."""
    manager = os.environ.get("MANAGERPID", "")
    theirs = _v1_cgroups(manager) if manager.isdigit() else {}
    return [f"{_V1_ROOT}/{controllers}{path.rstrip('/')}" for controllers, path in _v1_cgroups("self").items()
            if theirs.get(controllers) == path and os.path.isdir(f"{_V1_ROOT}/{controllers}")]


def _own_cgroups(name: str) -> None:
    for folder in _shared_with_manager():
        try:
            os.makedirs(f"{folder}/{name}", exist_ok=True)
            with open(f"{folder}/{name}/cgroup.procs", "w") as f:
                f.write(str(os.getpid()))
        except OSError:
            continue  # not ours to change (no root): podman decides


def _release_cgroups(name: str) -> None:
    """Remove what `_own_cgroups` made (and the cgroups podman made below it), deepest first."""
    for folder in _shared_with_manager():
        top = f"{folder}/{name}"
        for path, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
            try:
                os.rmdir(path)
            except OSError:
                pass


def main(argv: list[str]) -> int:
    verb, args = argv[0], argv[1:]
    own = os.environ.get(OWN_CGROUP)
    if verb == "exec":
        command = json.loads(os.environ.pop(args[0] if args else ARGV_VARIABLE))
        if own:
            _own_cgroups(own)
        os.execvp(command[0], command)
    if verb == "quiet":
        return _quiet(args)
    if verb == "unless-clean":
        code = 0 if os.environ.get("SERVICE_RESULT") == "success" else _quiet(args)
        if own:
            _release_cgroups(own)
        return code
    if verb == "volumes":
        return _volumes(args)
    print(f"unit_exec: unknown verb {verb!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
