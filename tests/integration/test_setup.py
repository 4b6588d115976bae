"""`overmind setup` and `overmind completion` on this host, with a throwaway HOME."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from overmind.host import pid1_is_systemd
from tests.helpers import Overmind

FAKE_CRONTAB = """#!/bin/sh
# crontab's interface (-l lists, - replaces from stdin) over a plain file
case "$1" in
  -l) [ -e "$CRONTAB_FILE" ] && exec cat "$CRONTAB_FILE"; echo "no crontab for $(id -un)" >&2; exit 1 ;;
  -) exec cat >"$CRONTAB_FILE" ;;
esac
exit 2
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _as_user(om: Overmind, home: Path, **env: str) -> Overmind:
    return Overmind(om.env | {"HOME": str(home), "SHELL": "/bin/bash", "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": ""}
                    | env)


def _steps(om: Overmind, *args: str) -> dict[str, dict[str, str]]:
    return {step["name"]: step for step in json.loads(om("setup", *args, "--json", check=False).stdout)}


def test_completion_scripts_complete_commands_in_a_real_bash(om: Overmind, tmp_path: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        assert "_OVERMIND_COMPLETE" in om("completion", shell).stdout
    script = tmp_path / "overmind.bash"
    script.write_text(om("completion", "bash").stdout)
    probe = f'source {script}; COMP_WORDS=(overmind rit); COMP_CWORD=1; _overmind_completion overmind; ' \
            'printf "%s\\n" "${COMPREPLY[@]}"'
    out = subprocess.run(["bash", "-c", probe], env=om.environ(), capture_output=True, text=True, timeout=30)
    assert "ritual" in out.stdout.split() and "rituals" in out.stdout.split(), out.stderr
    bad = om("completion", "tcsh", check=False)
    assert bad.returncode == 2 and "'tcsh' is not one of" in bad.stderr


def test_setup_check_reports_and_changes_nothing(om: Overmind, home: Path) -> None:
    user = _as_user(om, home)
    proc = user("setup", "--check", check=False)
    assert proc.returncode == 1
    assert "TODO   skill" in proc.stdout and "run: overmind setup" in proc.stdout
    steps = _steps(user, "--check")
    assert (steps["skill"]["state"], steps["completion"]["state"]) == ("todo", "todo")
    assert list(home.iterdir()) == []


def test_setup_installs_the_skill_and_completion_once(om: Overmind, home: Path, tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "crontab").write_text(FAKE_CRONTAB)
    (fake / "crontab").chmod(0o755)
    crontab = tmp_path / "crontab"
    crontab.write_text("0 3 * * * /usr/local/bin/backup\n")
    user = _as_user(om, home, PATH=f"{fake}:{om.env['PATH']}", CRONTAB_FILE=str(crontab))
    first = _steps(user)
    assert first["skill"]["state"] == "changed"
    assert (home / ".claude/skills/overmind/SKILL.md").read_text().startswith("---\nname: overmind")
    assert first["completion"]["state"] == "changed"
    assert "_OVERMIND_COMPLETE" in (home / ".local/share/bash-completion/completions/overmind").read_text()
    if not pid1_is_systemd():  # root here: the private host, started at boot from root's crontab
        assert first["private host"]["state"] == "ok"
        assert first["start at boot"]["state"] == "changed"
        lines = crontab.read_text().splitlines()
        assert lines[0] == "0 3 * * * /usr/local/bin/backup" and lines[1].startswith("@reboot ")
        assert lines[1].endswith(" -m overmind host up # overmind: the private systemd host")
    again = user("setup")
    assert again.returncode == 0 and {line.split()[0] for line in again.stdout.splitlines() if line[0] != " "} == {"ok"}
    assert len(crontab.read_text().splitlines()) == 2


@pytest.mark.skipif(pid1_is_systemd() or shutil.which("crontab") is not None, reason="needs a host without cron")
def test_setup_without_cron_says_what_to_install_and_still_does_the_rest(om: Overmind, home: Path) -> None:
    steps = _steps(_as_user(om, home))
    boot = steps["start at boot"]
    assert boot["state"] == "needs" and boot["hint"].startswith("apt-get install cron")
    assert steps["skill"]["state"] == "changed"


def test_setup_leaves_a_users_own_skill_alone(om: Overmind, home: Path) -> None:
    own = home / ".claude/skills/overmind/SKILL.md"
    own.parent.mkdir(parents=True)
    own.write_text("mine")
    proc = _as_user(om, home)("setup", check=False)
    assert proc.returncode == 1
    assert "NEEDS  skill" in proc.stdout and "overmind skill install --force" in proc.stdout
    assert own.read_text() == "mine"


def test_setup_for_zsh_says_which_line_to_add_and_edits_no_rc_file(om: Overmind, home: Path) -> None:
    steps = _steps(_as_user(om, home, SHELL="/usr/bin/zsh"))
    assert steps["completion"]["state"] == "skipped"
    assert steps["completion"]["hint"] == f"echo 'eval \"$(overmind completion zsh)\"' >> {home}/.zshrc"
    assert not (home / ".zshrc").exists()
    (home / ".zshrc").write_text('eval "$(overmind completion zsh)"\n')
    assert _steps(_as_user(om, home, SHELL="/usr/bin/zsh"))["completion"]["state"] == "ok"


def test_doctor_recommends_setup_while_something_is_left(om: Overmind, home: Path) -> None:
    # Exit 1 here: the throwaway HOME's unit directory is not where the user manager looks.
    proc = _as_user(om, home)("doctor", "--json", check=False)
    checks = {check["name"]: check for check in json.loads(proc.stdout)}
    assert checks["setup"]["state"] == "warn" and checks["setup"]["hint"] == "overmind setup"
    assert "skill (the orchestrator skill is not installed" in checks["setup"]["detail"]
    if not pid1_is_systemd():  # the private host puts its manager in a v1 memory cgroup of its own
        assert checks["limits"]["state"] == "ok"


@pytest.mark.skipif(pid1_is_systemd() or os.geteuid() != 0,
                    reason="the private host is root's, where systemd is not PID 1")
def test_setup_gives_root_login_shells_the_private_hosts_environment(om: Overmind, home: Path, tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "crontab").write_text(FAKE_CRONTAB)
    (fake / "crontab").chmod(0o755)
    user = _as_user(om, home, PATH=f"{fake}:{om.env['PATH']}", CRONTAB_FILE=str(tmp_path / "crontab"))
    step = _steps(user)["login shells"]
    assert step["state"] in ("changed", "ok") and "/etc/profile.d/overmind-host.sh" in step["detail"]
    assert _steps(user, "--check")["login shells"]["state"] == "ok"
    bare = {"HOME": str(home), "PATH": "/usr/bin:/bin"}  # a new login: no XDG_RUNTIME_DIR
    login = subprocess.run(["bash", "-lc", "systemctl --user is-system-running"], env=bare, capture_output=True,
                           text=True, timeout=60)
    assert "Failed to connect to bus" not in login.stderr and login.stdout.strip() in ("running", "degraded")
