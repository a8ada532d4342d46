#!/usr/bin/env bash
# Runs nuri's default test suite (everything but the `slow` label) on a fresh machine:
# installs dependencies and builds first if needed. Extra arguments go to ctest (e.g. -L golden).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -d ../shared ]; then
  echo "test: ../shared is missing; tests that need it will be skipped" >&2
fi
ctest --preset release -LE slow -j2 "$@"
