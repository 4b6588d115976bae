"""The private host's supervisor: what PID 1 is to journald and the user manager where PID 1 is
not systemd. `python -m overmind.host.supervisor UID`, started (detached) by `overmind host up`.

It is their parent and waits on them through pidfds, so a death wakes it at once (nothing is
polled): journald is started again at once with its sockets and stored streams
(overmind.host.journald), the manager within a second or two, taking back the missions the dead
one left running (overmind.host.recovery). It is a subreaper: a dead manager's orphans become
its children, and it writes down how each adopted one ends before it reaps it.

It is itself restartable. One that finds journald or a manager already running (booted before
it, or under a supervisor that was killed) takes them over: journald's descriptors are copied
out of it (pidfd_getfd) and it is started again under this one; a manager is watched as it is.
SIGTERM takes the whole host down: the manager first (every mission with it), then journald.
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import sys
import time
from pathlib import Path

from overmind.host import cgroups, pids, procs, recovery, usermanager
from overmind.host.journald import JOURNALD, Journald, prepare_first_boot

LOCK = Path(pids.STATE_DIR) / "supervisor.lock"
READY = Path(pids.STATE_DIR) / "supervisor.ready"
LOG = Path(pids.STATE_DIR) / "supervisor.log"
RESTART_DELAY = 1.0  # after five starts of journald in ten seconds, or a manager that did not come up
TIDY_EVERY = 30.0  # seconds between looks for put-back unit files whose units are gone


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", file=sys.stderr, flush=True)


class Supervisor:
    def __init__(self, uid: int) -> None:
        self.uid = uid
        self.poller = select.epoll()
        self.journald = Journald(self.poller)
        self.poller.register(self.journald.notify.fileno(), select.EPOLLIN)
        self.manager: int | None = None
        self.manager_pidfd: int | None = None
        self.endings: list[recovery.Ending] = []
        self.adopted: set[int] = set()  # orphans whose end hooks/run.sh waits to hear about
        self.restored: dict[Path, str] = {}  # unit files put back for the new manager (recovery)
        self.due: dict[str, float] = {}  # "journald" / "manager": start again at this monotonic time
        self.stopping = False
        wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.wake = wake_read
        self.poller.register(wake_read, select.EPOLLIN)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_term)
        for ignored in (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE):
            signal.signal(ignored, signal.SIG_IGN)

    def _on_term(self, *_: object) -> None:
        self.stopping = True

    # -- boot ------------------------------------------------------------------------------
    def boot(self) -> None:
        running = pids.journald_pid() or _found("systemd-journal", [str(JOURNALD)])
        if running is not None:
            log(f"taking over journald {running}")
            self.journald.take_over(running)
        else:
            prepare_first_boot()
        self.journald.open_sockets()
        self._start_journald()
        self._await_journald(10.0)
        running = pids.manager_pid() or _found("systemd", [str(usermanager.SYSTEMD), "--user"],
                                               usermanager.cgroup(self.uid))
        if running is not None and (usermanager.runtime_dir(self.uid) / "systemd" / "private").exists():
            log(f"watching the running user manager {running}")
            self._watch_manager(running)
        else:
            self._start_manager()
        READY.write_text(f"{time.time()}\n")

    def _await_journald(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.journald.ready and time.monotonic() < deadline:
            if select.select([self.journald.notify], [], [], max(0.0, deadline - time.monotonic()))[0]:
                self.journald.on_notify()

    def _start_journald(self) -> None:
        pidfd = self.journald.start()
        self.poller.register(pidfd, select.EPOLLIN)

    def _watch_manager(self, pid: int) -> None:
        self.manager, self.manager_pidfd = pid, os.pidfd_open(pid)
        self.poller.register(self.manager_pidfd, select.EPOLLIN)
        Path(pids.pidfile("manager")).write_text(str(pid))

    def _start_manager(self) -> None:
        """Start a manager; what a dead one left running is taken back or ended."""
        found = recovery.leftovers(self.uid)
        recovery.clear_scope(self.uid)
        began = time.monotonic()
        try:
            pid = usermanager.start(self.uid)
        except Exception as error:  # noqa: BLE001 (whatever it was, try again shortly)
            log(f"the user manager did not start: {error}")
            self.due["manager"] = time.monotonic() + RESTART_DELAY
            return
        self._watch_manager(pid)
        up = time.monotonic()
        adopted, ended = self._take_back(found)
        log(f"user manager {pid} up in {up - began:.2f}s; took back {adopted} mission(s) in "
            f"{time.monotonic() - up:.2f}s, ending {ended} unit(s) it could not take back")

    def _take_back(self, found: list[recovery.Unit]) -> tuple[int, int]:
        adopting: list[recovery.Unit] = []
        for unit in found:
            main = recovery.main_process(unit) if recovery.adoptable(unit) else None
            if main is None:
                why = "its main process is gone" if recovery.adoptable(unit) else "not a mission started by the hook"
                log(f"ending {unit.name} ({len(unit.pids)} processes): {why}")
                self.endings.append(recovery.begin_ending(unit, lost=unit.mission is not None))
                continue
            known_end = procs.parent(main) == os.getpid()
            recovery.mark_adopted(unit, main, known_end)
            if known_end:
                self.adopted.add(main)
            adopting.append(unit)
        if adopting:
            self._restored(recovery.restore_files(self.uid, adopting))
            said = usermanager.start_units(self.uid, [unit.name for unit in adopting])
            for unit in adopting:
                if f" {unit.name}:" in said:  # its unit file is gone: nothing can take it back
                    log(f"ending {unit.name}: could not start it again")
                    self.endings.append(recovery.begin_ending(unit, lost=True))
        return len(adopting), len(found) - len(adopting)

    def _restored(self, files: dict[Path, str]) -> None:
        self.restored.update(files)
        if self.restored and "tidy" not in self.due:
            self.due["tidy"] = time.monotonic() + TIDY_EVERY

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> None:
        while not self.stopping:
            try:
                events = self.poller.poll(self._timeout())
                for fd, _mask in events:
                    self._dispatch(fd)
                self._tick()
            except Exception:  # noqa: BLE001 (the host must outlive any one mistake here)
                import traceback

                log("unexpected error, going on:\n" + traceback.format_exc())
                time.sleep(0.1)
        self.shutdown()

    def _timeout(self) -> float:
        deadlines = [*self.due.values(), *(e.deadline for e in self.endings)]
        if self.endings:
            deadlines.append(time.monotonic() + 0.2)  # look whether their processes are gone
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else -1

    def _dispatch(self, fd: int) -> None:
        if fd == self.wake:
            while True:
                try:
                    if not os.read(self.wake, 512):
                        break
                except BlockingIOError:
                    break
            self._reap()
        elif fd == self.journald.pidfd:
            self.poller.unregister(fd)
            log(f"journald {self.journald.pid} died")
            self.journald.exited()
            if not self.stopping:
                self.due["journald"] = time.monotonic() + (RESTART_DELAY if self.journald.too_often() else 0)
        elif fd == self.manager_pidfd:
            self.poller.unregister(fd)
            os.close(fd)
            log(f"user manager {self.manager} died")
            self.manager = self.manager_pidfd = None
            if not self.stopping:
                self.due["manager"] = time.monotonic()
        elif fd == self.journald.notify.fileno():
            self.journald.on_notify()
        else:
            self.journald.on_hangup(fd)

    def _tick(self) -> None:
        now = time.monotonic()
        if self.stopping:
            return
        if self.due.get("journald", float("inf")) <= now:
            del self.due["journald"]
            self._start_journald()
        if self.due.get("manager", float("inf")) <= now:
            del self.due["manager"]
            self._start_manager()
        if self.due.get("tidy", float("inf")) <= now:
            del self.due["tidy"]
            if self.manager is not None:
                recovery.forget_files(self.uid, self.restored)
            self._restored({})
        for ending in list(self.endings):
            if recovery.ended(ending):
                self.endings.remove(ending)
                if ending.lost and ending.unit.restarts:
                    self._restored(recovery.restore_files(self.uid, [ending.unit]))
                    usermanager.systemctl(self.uid, "start", "--no-block", ending.unit.name)
            elif now >= ending.deadline:
                recovery.force(ending)

    def _reap(self) -> None:
        """Reap every child that has ended; for an adopted mission, first write down how."""
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or not info.si_pid:
                return
            if info.si_pid in self.adopted:
                self.adopted.discard(info.si_pid)
                _write_exit(info.si_pid, info.si_code, info.si_status)
            try:
                os.waitpid(info.si_pid, 0)
            except ChildProcessError:
                return

    # -- down ------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """`overmind host down`: the manager stops every unit and exits, then journald."""
        log("stopping the host")
        if self.manager is not None:
            usermanager.systemctl(self.uid, "exit", timeout=30)
            if not _gone(self.manager_pidfd, 10.0):
                os.kill(self.manager, signal.SIGKILL)
        usermanager.clear(self.uid)
        if self.journald.pid is not None:
            self.journald.stop()
            if not _gone(self.journald.pidfd, 5.0):
                os.kill(self.journald.pid, signal.SIGKILL)
        self._reap()
        self.journald.close()
        for what in ("manager", "journald", "supervisor"):
            Path(pids.pidfile(what)).unlink(missing_ok=True)
        READY.unlink(missing_ok=True)


def _found(comm: str, argv: list[str], cgroup: str | None = None) -> int | None:
    """A journald or user manager that runs though no pid file names it (started by someone else,
    or by a host whose pid files are gone): the process with that name and command line that sees
    the same files as this one (a second host in another mount namespace is not ours), and for a
    manager, in its cgroup."""
    mine = os.readlink("/proc/self/ns/mnt")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != comm or os.readlink(f"/proc/{pid}/ns/mnt") != mine:
                    continue
            with open(f"/proc/{pid}/cgroup") as f:
                where = f.read()
        except OSError:
            continue
        if cgroup is not None and f"/{cgroup}/" not in where and not where.rstrip().endswith(f"/{cgroup}"):
            continue
        if procs.command_line(pid) == argv and procs.running(pid):
            return pid
    return None


def _gone(pidfd: int | None, timeout: float) -> bool:
    return pidfd is None or bool(select.select([pidfd], [], [], timeout)[0])


def _write_exit(pid: int, code: int, status: int) -> None:
    """`exited N` or `killed SIGNAL`, as systemd's $EXIT_CODE and $EXIT_STATUS say it."""
    if code == os.CLD_EXITED:
        text = f"exited {status}"
    else:
        try:
            text = f"killed {signal.Signals(status).name.removeprefix('SIG')}"
        except ValueError:
            text = f"killed {status}"
    directory = Path(pids.EXITS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{pid}"
    temporary.write_text(text + "\n")
    temporary.replace(directory / str(pid))


def _detach_from_cgroups() -> None:
    """Into every hierarchy's root: stopping whatever unit ran `host up` must not end the host."""
    for root in cgroups.hierarchy_roots() or [cgroups.CGROUP_ROOT]:
        try:
            (root / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            continue


def main(argv: list[str]) -> int:
    uid = int(argv[0]) if argv else os.getuid()
    Path(pids.STATE_DIR).mkdir(mode=0o755, exist_ok=True)
    lock = open(LOCK, "a")  # noqa: SIM115 (held for the life of the process)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another supervisor runs
    procs.set_name(pids.SUPERVISOR_NAME)
    procs.become_subreaper()
    _detach_from_cgroups()
    READY.unlink(missing_ok=True)
    shutil.rmtree(pids.EXITS_DIR, ignore_errors=True)  # a dead supervisor's: nobody waits for them now
    Path(pids.pidfile("supervisor")).write_text(str(os.getpid()))
    supervisor = Supervisor(uid)
    try:
        supervisor.boot()
    except Exception as error:
        log(f"boot failed: {error}")
        raise
    log("host up")
    supervisor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
