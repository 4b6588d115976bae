"""Making the host ready for the current user (`overmind setup`), step by step and idempotently.

Every step looks before it changes anything and changes only what is missing. What needs rights
we lack is reported with the exact command to run, and nothing is left half done. Run without
changes (`change=False`), the same steps tell `doctor` (or any front end) what setup would do.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# ok: already so; changed: made so now; todo: setup would do it; needs: missing, and setup cannot
# do it here (the hint says what to run); skipped: does not apply here.
STATES = ("ok", "changed", "todo", "needs", "skipped")
LINGER_DIR = Path("/var/lib/systemd/linger")
MANAGER_TIMEOUT = 20.0
CRON_MARK = "# overmind: the private systemd host"


@dataclass(frozen=True)
class Step:
    name: str
    state: str
    detail: str
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run(change: bool) -> list[Step]:
    """Every step, in order; with change=False nothing on the machine is touched."""
    from overmind.host import pid1_is_systemd

    if not _systemd_installed():
        host = [Step("systemd", "needs", "systemd's tools are not installed: missions cannot run here",
                     "sudo apt-get install systemd dbus-user-session")]
    elif pid1_is_systemd():
        linger = linger_step(change)
        host = [linger, user_manager_step(change and linger.state == "changed")]
    else:
        host = [private_host_step(change), boot_step(change), login_shell_step(change)]
    return [*host, skill_step(change), completion_step(change)]


def pending(steps: list[Step]) -> list[Step]:
    return [step for step in steps if step.state in ("todo", "needs")]


def _user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def _systemd_installed() -> bool:
    return shutil.which("systemctl") is not None and shutil.which("systemd-run") is not None


def _tool(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str] | None:
    """A system tool's result, or None where it is not installed."""
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit code {proc.returncode}"


def linger_enabled(user: str) -> bool:
    return (LINGER_DIR / user).exists()


def linger_step(change: bool) -> Step:
    """A user manager that starts at boot and outlives logins: what rituals and long missions need."""
    user = _user()
    if linger_enabled(user):
        return Step("linger", "ok", f"enabled for {user}: your user manager starts at boot and outlives your sessions")
    command = f"loginctl enable-linger {user}"
    if not change:
        return Step("linger", "todo", f"off for {user}: missions and rituals stop when your last session ends",
                    "overmind setup")
    proc = _tool(["loginctl", "enable-linger", user])
    if proc is not None and proc.returncode == 0 and linger_enabled(user):
        return Step("linger", "changed", f"enabled for {user}: your user manager now starts at boot")
    why = "loginctl is missing" if proc is None else _last_line(proc)
    return Step("linger", "needs", f"could not enable lingering for {user} ({why})",
                command if os.geteuid() == 0 else f"sudo {command}")


def user_manager_step(just_lingered: bool) -> Step:
    """The user's own systemd (user@UID.service) must answer: every mission is one of its units."""
    from overmind.host import manager_socket_present
    from overmind.waiting import wait_until

    # Enabling linger starts the manager in the background: give it the time a boot gets.
    if manager_socket_present() or (just_lingered and wait_until(manager_socket_present, MANAGER_TIMEOUT)):
        from overmind.systemd import manager

        return Step("user manager", "ok", f"your systemd user manager answers (systemd {manager.version()})")
    user = _user()
    return Step("user manager", "needs", f"no systemd user manager runs for {user}",
                f"enable lingering (sudo loginctl enable-linger {user}) or log in through a session "
                f"(ssh, a console login, or: sudo machinectl shell {user}@)")


def private_host_step(change: bool) -> Step:
    """Where systemd is not PID 1, missions run in the private host overmind boots (as root)."""
    from overmind.host import manager_socket_present, pids

    if manager_socket_present() and not pids.stale():
        return Step("private host", "ok", "systemd is not PID 1 here; overmind's private systemd host runs")
    if os.geteuid() != 0:
        return Step("private host", "needs", "systemd is not PID 1 here and the private host (root's) is not running",
                    "run overmind as root (sudo -i), then: overmind setup")
    if not change:
        return Step("private host", "todo", "systemd is not PID 1 here; the private systemd host is not running",
                    "overmind setup")
    from overmind.host import private

    private.up()
    return Step("private host", "changed", "started overmind's private systemd host (journald + a user manager)")


def _boot_command() -> str:
    return f"{shlex.quote(sys.executable)} -m overmind host up"


def boot_step(change: bool) -> Step:
    """Nothing starts the private host at boot; a root crontab @reboot line does, where cron exists."""
    line = f"@reboot {_boot_command()} {CRON_MARK}"
    if os.geteuid() != 0:
        return Step("start at boot", "needs", "the private systemd host is root's; only root can start it at boot",
                    "sudo -i, then: overmind setup")
    listed = _tool(["crontab", "-l"])
    if listed is None:
        return Step("start at boot", "needs", "nothing starts the private systemd host at boot, and cron is missing",
                    f"apt-get install cron, then overmind setup (or have your init run: {_boot_command()})")
    # `crontab -l` fails when root has no crontab yet: that is an empty one.
    lines = listed.stdout.splitlines() if listed.returncode == 0 else []
    if line in lines:
        return Step("start at boot", "ok", "root's crontab starts the private systemd host at boot")
    if not change:
        return Step("start at boot", "todo", "nothing starts the private systemd host at boot", "overmind setup")
    kept = [existing for existing in lines if not existing.endswith(CRON_MARK)]  # ours, from another install
    written = _tool(["crontab", "-"], stdin="\n".join([*kept, line]) + "\n")
    if written is None or written.returncode != 0:
        why = "crontab is missing" if written is None else _last_line(written)
        return Step("start at boot", "needs", f"could not write root's crontab ({why})",
                    f"add this line with 'crontab -e': {line}")
    return Step("start at boot", "changed", "added an @reboot line to root's crontab that starts the private host")


PROFILE_SCRIPT = Path("/etc/profile.d/overmind-host.sh")
_PROFILE = """# overmind: the private systemd host's user manager, for systemctl --user in login shells
# (written by `overmind setup`; `eval "$(overmind host env)"` does the same in any shell)
if [ -z "${XDG_RUNTIME_DIR:-}" ] && [ -d "/run/user/$(id -u)/systemd" ]; then
    XDG_RUNTIME_DIR="/run/user/$(id -u)"
    export XDG_RUNTIME_DIR
fi
"""


def login_shell_step(change: bool) -> Step:
    """Root's shells have no XDG_RUNTIME_DIR where systemd is not PID 1, so `systemctl --user`
    cannot find the private host: a profile script gives login shells the one variable."""
    if os.geteuid() != 0:
        return Step("login shells", "skipped", "the private systemd host is root's", "sudo -i, then: overmind setup")
    try:
        current = PROFILE_SCRIPT.read_text()
    except OSError:
        current = None
    if current == _PROFILE:
        return Step("login shells", "ok", f"{PROFILE_SCRIPT} gives login shells XDG_RUNTIME_DIR for systemctl --user")
    if not change:
        return Step("login shells", "todo", "systemctl --user in a login shell cannot find the private host",
                    "overmind setup (or in any shell: eval \"$(overmind host env)\")")
    try:
        PROFILE_SCRIPT.parent.mkdir(parents=True, exist_ok=True)
        PROFILE_SCRIPT.write_text(_PROFILE)
    except OSError as error:
        return Step("login shells", "needs", f"could not write {PROFILE_SCRIPT} ({error.strerror})",
                    "in each shell: eval \"$(overmind host env)\"")
    return Step("login shells", "changed", f"wrote {PROFILE_SCRIPT}: login shells find the private host"
                                           " (this one: eval \"$(overmind host env)\")")


def skill_step(change: bool) -> Step:
    """The orchestrator skill, where Claude Code finds it for this user."""
    from overmind import skillfile

    target = skillfile.target()
    state = skillfile.state(target)
    if state == "current":
        return Step("skill", "ok", f"the orchestrator skill is installed: {target}")
    if state == "different":
        return Step("skill", "needs", f"{target} differs from overmind's skill (yours is left as it is)",
                    "overmind skill install --force (keeps yours as SKILL.md.bak)")
    if not change:
        return Step("skill", "todo", f"the orchestrator skill is not installed at {target}", "overmind setup")
    skillfile.install(target)
    return Step("skill", "changed", f"installed the orchestrator skill: {target}")


def completion_step(change: bool) -> Step:
    """Tab completion for the user's login shell, unless the package already installed it."""
    from overmind import completion

    shell = completion.login_shell()
    if shell is None:
        login = os.environ.get("SHELL") or "unset"
        return Step("completion", "skipped", f"no completion for the login shell ({login})",
                    "overmind completion bash|zsh|fish")
    if completion.SYSTEM_PATHS[shell].exists():
        return Step("completion", "ok", f"{shell} completion is installed system-wide")
    target = completion.user_path(shell)
    if target is None:  # zsh: only an rc file line loads it, and setup does not edit rc files
        zshrc = Path(os.environ.get("ZDOTDIR") or Path.home()) / ".zshrc"
        if zshrc.exists() and "overmind completion zsh" in zshrc.read_text(errors="replace"):
            return Step("completion", "ok", f"zsh completion is loaded by {zshrc}")
        return Step("completion", "skipped", "zsh completion is loaded from your .zshrc, which setup leaves alone",
                    f"echo 'eval \"$(overmind completion zsh)\"' >> {zshrc}")
    text = completion.script(shell) + "\n"
    if target.exists() and target.read_text(errors="replace") == text:
        return Step("completion", "ok", f"{shell} completion is installed: {target}")
    if not change:
        return Step("completion", "todo", f"{shell} completion is not installed", "overmind setup")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return Step("completion", "changed", f"installed {shell} completion (new shells load it): {target}")
