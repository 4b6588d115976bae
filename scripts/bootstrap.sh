#!/usr/bin/env bash
# Installs what overmind needs on Debian/Ubuntu: systemd (binaries only; PID 1 may be anything),
# the user D-Bus, Python's venv, then overmind itself into .venv, and for the tests the real agent
# CLIs (claude, codex, gemini, opencode) into .tools (project-local; nothing global).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v systemd-run >/dev/null || need+=(systemd)
[ -e /usr/lib/systemd/user/dbus.socket ] || need+=(dbus-user-session)
command -v git >/dev/null || need+=(git)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v npm >/dev/null || need+=(nodejs npm)  # the real agent CLIs, for the tests
command -v tmux >/dev/null || need+=(tmux)  # attach is tested in a real terminal
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bootstrap: please install: ${need[*]} (as root: apt-get install ${need[*]})" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

python3 -m venv .venv
# compat mode: a plain path entry, not an import hook that costs ~20 ms at every start
.venv/bin/pip install -q --disable-pip-version-check -e '.[test,dashboard,tui]' --config-settings editable_mode=compat
./scripts/install-claude.sh
./scripts/install-codex.sh  # the other agent CLIs the tests drive for real, each against its fake API
./scripts/install-gemini.sh
./scripts/install-opencode.sh
./scripts/install-podman.sh  # container services, and the real-host test rig
./scripts/install-ssh.sh  # a loopback sshd for the tests of other hosts (never left listening)
./scripts/install-packaging.sh  # make deb, the rig's debootstrap, vagrant validate
./scripts/install-akasha.sh  # the shared memory: chromadb, the MCP SDK and an offline embedding model
./scripts/install-dashboard-test-deps.sh
