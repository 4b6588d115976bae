#!/usr/bin/env bash
# Installs the real Gemini CLI into .tools/gemini/ for the tests (they run it against a fake
# Gemini API). Idempotent and quick once installed; GEMINI_CLI_VERSION pins a version (default:
# the tested one).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${GEMINI_CLI_VERSION:-0.61.0}"
bin=.tools/gemini/node_modules/.bin/gemini
installed=.tools/gemini/node_modules/@google/gemini-cli/package.json  # read, not run: the CLI takes seconds to start
if [ -x "$bin" ] && grep -q "\"version\": \"$version\"" "$installed" 2>/dev/null; then
    exit 0
fi
mkdir -p .tools/gemini
npm install --silent --no-audit --no-fund --prefix .tools/gemini "@google/gemini-cli@$version"
"$bin" --version
