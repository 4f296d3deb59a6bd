#!/usr/bin/env bash
# Installs what is missing, builds temper, and runs its main job on the built-in default:
# the closure of /usr/bin/python3 on this machine, as an image would need it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh build
[ -x /usr/bin/python3 ] || { apt-get install -y -qq python3-minimal >/dev/null; }
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" >/dev/null
echo "built build/release/builder/temper; the closure of /usr/bin/python3:" >&2
build/release/builder/temper resolve --format ldd /usr/bin/python3
build/release/builder/temper resolve /usr/bin/python3
