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
# The unit tests under ASan + UBSan (hostile GGUF headers and hyper-parameters included, the CLI
# built with the sanitizers too). NURI_SKIP_ASAN=1 skips this pass.
if [ "${NURI_SKIP_ASAN:-0}" != 1 ] && [ $# -eq 0 ]; then
  cmake --preset asan >/dev/null
  # Build what the unit tests need (their executables and the nuri CLI), not the whole tree.
  targets=()
  all_targets="$(ninja -C build/asan -t targets all 2>/dev/null | sed 's/:.*//')"
  for t in $(ctest --preset asan -N -L unit | sed -n 's/.*Test *#[0-9]*: \(.*\)/\1/p'); do
    grep -qx "$t" <<<"$all_targets" && targets+=("$t")
  done
  cmake --build --preset asan -j"$(nproc)" --target nuri "${targets[@]}"
  ctest --preset asan -L unit -j2
fi
