#!/bin/sh
# tests/server/e2e/run.sh NPM_DIR SCRIPT.cjs ARGS...
# Installs the official `openai` npm package once into NPM_DIR (a folder of the build tree, shared
# by the e2e and load tests; serialised with flock), then runs `node SCRIPT ARGS --openai ...`.
# Without node or registry access the test fails, unless NURI_E2E_ALLOW_OFFLINE=1 (then it skips, 77).
set -eu
npm_dir=$1
script=$2
shift 2
skip_or_fail() {
  echo "server e2e: $1" >&2
  if [ "${NURI_E2E_ALLOW_OFFLINE:-0}" = 1 ]; then exit 77; fi
  exit 1
}
command -v node >/dev/null 2>&1 || skip_or_fail "node not found (install nodejs npm: scripts/setup.sh)"
if [ ! -f "$npm_dir/node_modules/openai/package.json" ]; then
  command -v npm >/dev/null 2>&1 || skip_or_fail "npm not found (install nodejs npm: scripts/setup.sh)"
  mkdir -p "$npm_dir"
  (
    flock 9
    if [ ! -f "$npm_dir/node_modules/openai/package.json" ]; then
      cd "$npm_dir" && npm install --no-audit --no-fund --loglevel=error --prefix . openai@6 >&2
    fi
  ) 9>"$npm_dir/.lock" || skip_or_fail "npm install openai failed (no access to the npm registry?)"
fi
echo "openai npm package $(node -p "require('$npm_dir/node_modules/openai/package.json').version")" >&2
exec node "$script" "$@" --openai "$npm_dir/node_modules/openai"
