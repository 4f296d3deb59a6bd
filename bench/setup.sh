# shellcheck shell=bash
# Sourced first by every benchmark, with its arguments: `. "$(dirname "$0")/setup.sh" "$@"`.
# Installs what the benchmarks run (scripts/install-deps.sh bench), builds the release preset
# when no TEMPER is given and none is built, moves to the repository's top, and sets $temper (the
# binary, absolute) and $work (a scratch directory; the caller removes it, with a trap of its own
# since some stop servers too).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh bench
if [ $# -eq 0 ] && [ ! -x build/release/builder/temper ]; then
  cmake --preset release >/dev/null && cmake --build --preset release -j "$(nproc)" >/dev/null
fi
temper=$(realpath "${1:-build/release/builder/temper}")
work=$(mktemp -d)
export temper work
