#!/bin/sh
# The public API as a third party sees it: install nuri to a temporary prefix, build examples/
# against the installed headers and libnuri.a only, and check the example's greedy output on
# stories260K against llama.cpp's golden (../shared/golden). Also: every installed header compiles
# on its own, and a missing model is a clean error. Args: BUILD_DIR SOURCE_DIR SHARED_DIR
set -eu
build=$1 src=$2 shared=$3
model="$shared/models/stories260K-F32.gguf"
golden="$shared/golden/stories260K-F32.llama-simple-greedy32.txt"
if [ ! -f "$model" ]; then echo "skip: $model not found"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
cmake -S "$src/examples" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$tmp/cfg.log"
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
if grep -q -- "-I$src/src" "$tmp/build/compile_commands.json" 2>/dev/null; then
  echo "the example was compiled with the source tree on its include path"; exit 1
fi
for h in "$tmp"/prefix/include/nuri/*.h; do
  echo "#include \"nuri/$(basename "$h")\"" >"$tmp/one.cc"
  c++ -std=c++20 -fsyntax-only -I"$tmp/prefix/include" "$tmp/one.cc" || { echo "nuri/$(basename "$h") is not self-contained"; exit 1; }
done
got=$("$tmp/build/nuri_generate" "$model" "Once upon a time" 32 2>"$tmp/err")
want=$(sed 's/^<s> //' "$golden")
if [ "$got" != "$want" ]; then
  printf 'example output differs from the golden\n got: %s\nwant: %s\n' "$got" "$want"; exit 1
fi
if "$tmp/build/nuri_generate" "$tmp/missing.gguf" hi 2>"$tmp/err"; then echo "a missing model succeeded"; exit 1; fi
grep -q "missing.gguf" "$tmp/err" || { echo "error does not name the file:"; cat "$tmp/err"; exit 1; }
echo "installed API: example output equals the golden"
