#!/usr/bin/env bash
# Installs the real opencode CLI into .tools/opencode/ for the tests (they run it against the fake
# Responses API). Its Linux binary is an npm optional dependency. Idempotent and quick once
# installed; OPENCODE_VERSION pins a version (default: the tested one).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${OPENCODE_VERSION:-1.18.33}"
bin=.tools/opencode/node_modules/.bin/opencode
installed=.tools/opencode/node_modules/opencode-ai/package.json  # read, not run: the CLI takes seconds to start
if [ -x "$bin" ] && grep -q "\"version\": \"$version\"" "$installed" 2>/dev/null; then
    exit 0
fi
mkdir -p .tools/opencode
npm install --silent --no-audit --no-fund --prefix .tools/opencode "opencode-ai@$version"
"$bin" --version
