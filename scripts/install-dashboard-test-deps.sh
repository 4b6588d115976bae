#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's Chromium with Playwright for Python (its own browser
# download cannot work offline: Playwright only gets `executable_path=/usr/bin/chromium`).
# Idempotent: installs nothing that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-dashboard-test-deps: please install chromium (as root: apt-get install chromium)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
.venv/bin/python -c 'import playwright' 2>/dev/null \
    || .venv/bin/pip install -q --disable-pip-version-check 'playwright>=1.40'
