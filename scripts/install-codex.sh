#!/usr/bin/env bash
# Installs the real OpenAI Codex CLI into .tools/codex/ for the tests (they run it against a fake
# Responses API). Its Linux binary is an npm optional dependency: nothing else is downloaded.
# Idempotent and quick once installed; CODEX_VERSION pins a version (default: the tested one).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${CODEX_VERSION:-0.169.0}"
bin=.tools/codex/node_modules/.bin/codex
installed=.tools/codex/node_modules/@openai/codex/package.json  # read, not run: the CLI takes seconds to start
if [ -x "$bin" ] && grep -q "\"version\": \"$version\"" "$installed" 2>/dev/null; then
    exit 0
fi
mkdir -p .tools/codex
npm install --silent --no-audit --no-fund --prefix .tools/codex "@openai/codex@$version"
"$bin" --version
