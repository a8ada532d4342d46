#!/usr/bin/env bash
# Installs every build and test dependency of nuri on Debian 12 (apt-get only), then configures
# and builds the release preset. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake ninja-build pkg-config git  # toolchain
  nlohmann-json3-dev    # JSON: config.json, tokenizer.json, chat messages, server API
  libcpp-httplib-dev    # HTTP server for `nuri serve` (header-only, threads, SSE)
  libssl-dev            # HTTPS for `nuri pull` (cpp-httplib is built with OpenSSL support)
  librsvg2-bin          # tests: rsvg-convert renders the SVG chart of `nuri compare`
  libcli11-dev          # command-line parsing for every subcommand
  libpcre2-dev          # pre-tokenizer regexes: Unicode classes (\p{L}, \p{N}) and lookaheads, JIT
  libhwy-dev            # Highway: portable SIMD with runtime dispatch (AVX2, AVX-512, NEON)
  libgtest-dev libgmock-dev  # unit, golden and e2e tests
  libbenchmark-dev      # micro-benchmarks in bench/
  libseccomp-dev        # sandbox: seccomp filters for generated code
  clang libclang-rt-14-dev   # libFuzzer and sanitizer runtimes
  python3 python3-numpy python3-jinja2   # tooling only: reference checks, data generation
  python3-jsonschema    # tests: independent validator of structured output (grammar fuzz, server e2e)
  zlib1g-dev            # nuri compare --eval humaneval reads HumanEval.jsonl.gz
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The server's e2e test drives nuri with the official openai npm client. Machines that already
# have Node.js (e.g. from NodeSource, which bundles npm) keep it; Debian's npm would conflict.
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# NURI_WERROR=1 (set by .ci/run): warnings in nuri's own code fail the build.
cmake --preset release -DNURI_WERROR="$([ "${NURI_WERROR:-0}" = 1 ] && echo ON || echo OFF)" >/dev/null
cmake --build --preset release -j"$(nproc)"
echo "setup: built build/release/apps/nuri/nuri"
