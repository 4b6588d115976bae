"""journald under the supervisor, run the way systemd runs systemd-journald.service.

Its sockets (/run/systemd/journal/socket, stdout, dev-log) are made and held here and passed in
(socket activation), and the stream connections journald hands over for safekeeping (FDSTORE=1
on $NOTIFY_SOCKET: the real unit's `FileDescriptorStoreMax=`) are kept here and passed back at
every start, with journald's own state files under /run/systemd/journal/streams saying whose
they are. So when journald dies nothing it reads from is closed: a unit's stdout and the native
socket keep queueing what is written (a writer blocks once a buffer is full), and the next
journald reads it. A stored stream is let go once its writer has closed it and a running
journald holds its own copy.
"""

from __future__ import annotations

import array
import fcntl
import grp
import os
import resource
import select
import shutil
import signal
import socket
import time
from pathlib import Path

from overmind.host import pids, procs

JOURNALD = Path("/lib/systemd/systemd-journald")
DIRECTORY = Path("/run/systemd/journal")
NATIVE = DIRECTORY / "socket"
STDOUT = DIRECTORY / "stdout"
DEV_LOG = DIRECTORY / "dev-log"
STREAMS = DIRECTORY / "streams"
DROP_IN = Path("/run/systemd/journald.conf.d/overmind-private-host.conf")
NOTIFY = Path(pids.STATE_DIR) / "journald.notify"
FDSTORE_MAX = 4224  # systemd-journald.service's FileDescriptorStoreMax=
RECEIVE_BUFFER = 8 << 20  # systemd-journald.socket's ReceiveBuffer=
_SO_ACCEPTCONN = 30


def prepare_first_boot() -> None:
    """What the first journald since the machine booted needs (a restart keeps all of it)."""
    journal_dir = Path("/var/log/journal")
    journal_dir.mkdir(parents=True, exist_ok=True)
    try:
        os.chown(journal_dir, 0, grp.getgrnam("systemd-journal").gr_gid)
    except KeyError:
        pass
    journal_dir.chmod(0o2755)
    # /run is not a tmpfs here and journald will not delete a runtime journal on a disk file
    # system; a fresh, already-"flushed" state makes it write persistent per-user files.
    shutil.rmtree("/run/log/journal", ignore_errors=True)
    DIRECTORY.mkdir(parents=True, exist_ok=True)
    (DIRECTORY / "flushed").touch()
    # This journald keeps missions' output only: it must never drop lines because many missions
    # (or one chatty one) wrote a lot at once. Its rate limit counts the whole user manager.
    DROP_IN.parent.mkdir(parents=True, exist_ok=True)
    DROP_IN.write_text("[Journal]\nRateLimitIntervalSec=0\n")


def _listening(kind: int, path: Path) -> socket.socket:
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, kind | socket.SOCK_CLOEXEC)
    # Credentials are attached when a datagram is sent: they must be asked for before journald runs.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    if kind == socket.SOCK_DGRAM:
        try:
            sock.setsockopt(socket.SOL_SOCKET, 33, RECEIVE_BUFFER)  # SO_RCVBUFFORCE
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.bind(str(path))
    path.chmod(0o666)
    if kind == socket.SOCK_STREAM:
        sock.listen(socket.SOMAXCONN)
    return sock


class Journald:
    """The sockets, the stored streams and the running journald (if any)."""

    def __init__(self, poller: select.epoll) -> None:
        self.poller = poller
        self.sockets: dict[str, socket.socket] = {}  # native, stdout, dev-log
        self.stored: set[int] = set()  # our copies of the streams journald gave us
        self.watched: set[int] = set()  # stored streams watched for their writer's close
        self.pid: int | None = None
        self.pidfd: int | None = None
        self.ready = False
        self.starts: list[float] = []
        NOTIFY.unlink(missing_ok=True)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
        self.notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.notify.bind(str(NOTIFY))
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    # -- getting hold of the sockets -------------------------------------------------------
    def open_sockets(self) -> None:
        DIRECTORY.mkdir(parents=True, exist_ok=True)
        for name, kind, path in (("native", socket.SOCK_DGRAM, NATIVE), ("stdout", socket.SOCK_STREAM, STDOUT),
                                 ("dev-log", socket.SOCK_DGRAM, DEV_LOG)):
            if name not in self.sockets:
                self.sockets[name] = _listening(kind, path)

    def take_over(self, pid: int) -> None:
        """Take the sockets and streams of a journald this supervisor did not start (one booted
        before it, or by a supervisor that died), then end that journald: the next start is ours."""
        pidfd = os.pidfd_open(pid)
        try:
            for target in procs.socket_fds(pid):
                try:
                    self._classify(procs.take_fd(pidfd, target))
                except OSError:
                    continue
            os.kill(pid, signal.SIGTERM)
            if not select.select([pidfd], [], [], 5.0)[0]:
                os.kill(pid, signal.SIGKILL)
                select.select([pidfd], [], [], 5.0)
        finally:
            os.close(pidfd)

    def _classify(self, fd: int) -> None:
        sock = socket.socket(fileno=fd)
        try:
            where = sock.getsockname() if sock.family == socket.AF_UNIX else None
        except OSError:
            where = None
        listening = sock.type == socket.SOCK_STREAM and sock.getsockopt(socket.SOL_SOCKET, _SO_ACCEPTCONN)
        known = {("native", socket.SOCK_DGRAM, str(NATIVE)), ("stdout", socket.SOCK_STREAM, str(STDOUT)),
                 ("dev-log", socket.SOCK_DGRAM, str(DEV_LOG))}
        for name, kind, path in known:
            if where == path and sock.type == kind and (kind == socket.SOCK_DGRAM or listening) \
                    and name not in self.sockets:
                self.sockets[name] = sock
                return
        stat = os.fstat(fd)
        if where == str(STDOUT) and not listening and (STREAMS / f"{stat.st_dev}:{stat.st_ino}").exists():
            self.stored.add(sock.detach())  # a unit's stdout, as journald left it
            return
        sock.close()

    # -- running it ------------------------------------------------------------------------
    def start(self) -> int:
        """Start journald with every socket and stored stream; returns its pidfd."""
        self.starts = [t for t in self.starts if time.monotonic() - t < 10] + [time.monotonic()]
        fds = [self.sockets[name].fileno() for name in ("native", "stdout", "dev-log") if name in self.sockets]
        names = ["systemd-journald.socket"] * len(fds) + ["stored"] * len(self.stored)
        fds += sorted(self.stored)
        pid = os.fork()
        if pid == 0:
            _exec(fds, names)
        self.pid, self.pidfd, self.ready = pid, os.pidfd_open(pid), False
        Path(pids.pidfile("journald")).write_text(str(pid))
        return self.pidfd

    def too_often(self) -> bool:
        """Five starts within ten seconds: wait before the next one."""
        return len(self.starts) >= 5

    def exited(self) -> None:
        """Its process is gone: until the next one says READY=1, streams are kept whatever happens."""
        for fd in self.watched:
            self.poller.unregister(fd)
        self.watched.clear()
        if self.pidfd is not None:
            os.close(self.pidfd)
        self.pid = self.pidfd = None
        self.ready = False

    def stop(self) -> None:
        if self.pid is not None:
            os.kill(self.pid, signal.SIGTERM)

    # -- what it tells us ------------------------------------------------------------------
    def on_notify(self) -> None:
        while True:
            try:
                data, ancillary, _, _ = self.notify.recvmsg(
                    4096, socket.CMSG_SPACE(64 * 4) + socket.CMSG_SPACE(12), socket.MSG_CMSG_CLOEXEC)
            except BlockingIOError:
                return
            fds, sender = [], None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    received = array.array("i")
                    received.frombytes(payload[: len(payload) - len(payload) % received.itemsize])
                    fds += list(received)
                elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    sender = int.from_bytes(payload[:4], "little")
            lines = data.decode(errors="replace").splitlines()
            mine = sender is not None and sender == self.pid
            if mine and "FDSTORE=1" in lines and len(self.stored) + len(fds) <= FDSTORE_MAX:
                self.stored.update(fds)
                if self.ready:
                    for fd in fds:
                        self._watch(fd)
            else:
                for fd in fds:
                    os.close(fd)
            if mine and "READY=1" in lines and not self.ready:
                self.ready = True
                for fd in self.stored - self.watched:
                    self._watch(fd)

    def _watch(self, fd: int) -> None:
        """Interest in nothing: epoll still reports a hang-up (the writer closed, journald shut
        its own side), and only that."""
        self.poller.register(fd, 0)
        self.watched.add(fd)

    def on_hangup(self, fd: int) -> None:
        """A stored stream's writer is gone: journald reads the rest from its own copy."""
        if fd in self.watched:
            self.poller.unregister(fd)
            self.watched.discard(fd)
            self.stored.discard(fd)
            os.close(fd)

    def close(self) -> None:
        for fd in list(self.watched):
            self.poller.unregister(fd)
        for fd in self.stored:
            os.close(fd)
        self.stored.clear()
        self.watched.clear()
        for sock in self.sockets.values():
            sock.close()
        self.notify.close()
        NOTIFY.unlink(missing_ok=True)


def _exec(fds: list[int], names: list[str]) -> None:
    """In the forked child: descriptors 3.. as socket activation lays them out, then journald."""
    try:
        os.setsid()
        first_free = 3 + len(fds)
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, first_free) for fd in fds]
        for number, fd in enumerate(high, start=3):
            os.dup2(fd, number)
        os.closerange(first_free, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        if null > 2:
            os.close(null)
        for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": os.environ.get("LANG", "C.UTF-8"),
               "LISTEN_FDS": str(len(fds)), "LISTEN_PID": str(os.getpid()), "LISTEN_FDNAMES": ":".join(names),
               "NOTIFY_SOCKET": str(NOTIFY)}
        os.execve(JOURNALD, [str(JOURNALD)], env)
    finally:
        os._exit(127)
