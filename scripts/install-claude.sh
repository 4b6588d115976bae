#!/usr/bin/env bash
# Installs the real Claude Code CLI into .tools/ for the tests (they run it against a fake API).
# Idempotent; CLAUDE_CODE_VERSION pins a version (default: the one the tests were written against).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.tools/node_modules/.bin/claude
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    exit 0
fi
mkdir -p .tools
npm install --silent --no-audit --no-fund --prefix .tools "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION:-2.1.330}"
"$bin" --version
