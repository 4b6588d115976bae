"""The ssh command lines to a host, over one multiplexed connection per host.

Every call is OpenSSH's own `ssh`, so the person's ssh config, keys, agent and known hosts apply
as they do in their shell. The first call to a host opens a master connection that stays up
(ControlPersist) in a private control directory; every later call rides on it, costing one round
trip instead of a TCP and key exchange. `BatchMode=yes`: nothing ever waits for a password or a
host-key question (`hosts check` says what to run instead); `ConnectTimeout=` and server alive
checks bound how long an unreachable host or a cut connection can hold a caller.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

from overmind.errors import OvermindError
from overmind.remote.registry import Host

CONNECT_TIMEOUT = 5  # seconds for TCP and the key exchange
ALIVE_INTERVAL, ALIVE_COUNT = 2, 3  # a silent connection is given up after about 6 s
PERSIST = "10m"  # an idle master connection stays this long
TRANSPORT_FAILED = 255  # ssh's own exit code when it could not connect or lost the connection


def control_dir() -> Path:
    """A directory only this user can enter, one per state directory (test runs stay apart),
    short enough for the socket names ssh makes in it (a Unix socket path is at most 107 bytes)."""
    import zlib

    from overmind.paths import state_dir

    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/overmind-ssh-{os.getuid()}"
    tag = f"{zlib.crc32(str(state_dir()).encode()):08x}"
    directory = Path(base) / "overmind-ssh" / tag if os.environ.get("XDG_RUNTIME_DIR") else Path(base) / tag
    for path in (directory.parent, directory):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass
        info = path.lstat()
        # Someone else's directory (or a link to it) would let them hijack the connections.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise OvermindError(f"{path} is not a private directory of yours",
                                hint="remove it, or set XDG_RUNTIME_DIR (it holds ssh's control sockets)")
    return directory


def options(host: Host, fresh: bool = False) -> list[str]:
    """ssh's options for `host`, everything before the destination; `fresh`: a connection of its
    own, not the shared one (to check that a new connection still gets in)."""
    target = host.target
    argv = []
    config = os.environ.get("OVERMIND_SSH_CONFIG")
    if config:
        argv += ["-F", config]
    shared = ["-o", "ControlMaster=auto", "-o", f"ControlPath={control_dir()}/%C", "-o", f"ControlPersist={PERSIST}"]
    argv += ["-o", "ControlPath=none"] if fresh else shared
    argv += ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}",
             "-o", f"ServerAliveInterval={ALIVE_INTERVAL}", "-o", f"ServerAliveCountMax={ALIVE_COUNT}",
             "-o", "LogLevel=ERROR"]
    if host.identity:
        argv += ["-i", os.path.expanduser(host.identity), "-o", "IdentitiesOnly=yes"]
    if target.port:
        argv += ["-p", str(target.port)]
    if target.user:
        argv += ["-l", target.user]
    return argv


def command(host: Host, remote: str, tty: bool = False, fresh: bool = False) -> list[str]:
    """`ssh ... HOST REMOTE`: `remote` is what the remote shell runs (built by the caller from
    fixed words and inert tokens only)."""
    return ["ssh", *options(host, fresh), "-t" if tty else "-T", "--", host.target.destination, remote]


def run(host: Host, remote: str, timeout: float | None, input_bytes: bytes | None = None,
        fresh: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run `remote` on the host and collect its output; a call that outlives `timeout` is
    killed and reported as ssh's own failure (the connection is then suspect: closed)."""
    proc = subprocess.Popen(command(host, remote, fresh=fresh), stdin=subprocess.PIPE if input_bytes is not None
                            else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(input_bytes, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        close(host)
        return subprocess.CompletedProcess(proc.args, TRANSPORT_FAILED, b"",
                                           f"ssh: no answer within {timeout or 0:g} s".encode())
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def close(host: Host) -> None:
    """End the host's master connection (a cut one would hold every call until it times out)."""
    subprocess.run(["ssh", *options(host), "-O", "exit", "--", host.target.destination], capture_output=True,
                   stdin=subprocess.DEVNULL, timeout=10, check=False)


# What ssh says when it fails, and the few words a listing shows for it.
_FAILURES: Sequence[tuple[str, str]] = (
    (r"no answer within", "no answer"),
    (r"[Cc]onnection timed out|[Oo]peration timed out|[Tt]imeout, server .* not responding|timed out",
     "connect timed out"),
    (r"[Cc]onnection refused", "connection refused"),
    (r"[Cc]ould not resolve hostname|[Nn]ame or service not known", "unknown host name"),
    (r"REMOTE HOST IDENTIFICATION HAS CHANGED", "host key changed"),
    (r"[Hh]ost key verification failed|[Nn]o .*host key is known", "host key unknown"),
    (r"[Pp]ermission denied", "permission denied"),
    (r"[Nn]o route to host|[Nn]etwork is unreachable", "no route to host"),
    (r"[Cc]onnection (closed|reset)|[Bb]roken pipe|[Cc]lient_loop|mux_client|[Cc]ontrol socket", "connection lost"),
)


def classify(stderr: str) -> str | None:
    """ssh's own failure in a few words (`connect timed out`, `permission denied`), or None when
    the text is not one of ssh's complaints."""
    for pattern, words in _FAILURES:
        if re.search(pattern, stderr):
            return words
    return None


def failure(stderr: str) -> str:
    """The failure in a few words: ssh's, else the last line said."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return classify(stderr) or (lines[-1][:120] if lines else "connection lost")


def transport_failed(code: int, stderr: str) -> bool:
    """ssh's exit code 255 with ssh's own words (or none): not the remote command's exit code."""
    return code == TRANSPORT_FAILED and (not stderr.strip() or classify(stderr) is not None)
