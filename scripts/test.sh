#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need, then builds and tests a gcc
# and a clang build, an ASan + UBSan build, a ThreadSanitizer build and the libFuzzer targets
# (clang, sanitized), each with CTest (unit, integration and fuzz labels). Stops at the first
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh test

# House rules that a compiler does not check (STYLE.md sections 4 and 8).
banned='\b(sprintf|vsprintf|strcpy|strcat|strncat|gets|strtok|alloca)[[:space:]]*\(|\bsystem[[:space:]]*\('
if grep -rnE "$banned" --include='*.c' --include='*.h' builder tests fuzz; then
  echo "banned functions above (use snprintf, bounded copies, no shell)" >&2
  exit 1
fi
clang-format --dry-run -Werror builder/*/*.c builder/*/*.h tests/unit/*.c tests/unit/*.h fuzz/*.c
shellcheck scripts/*.sh scripts/completion/temper.bash bench/*.sh tests/integration/*.sh fuzz/*.sh .ci/run

for preset in ci-gcc ci-clang dev tsan fuzz; do
  echo "=== $preset" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$(nproc)" >/dev/null
  ctest --preset "$preset"
done
