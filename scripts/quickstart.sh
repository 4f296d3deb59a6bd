#!/usr/bin/env bash
# Installs what is missing, builds temper, and runs its main job on the built-in default: the
# python image of recipes/python.yaml (python3, its standard library and the closure of every
# extension module, taken from this machine's files), written as an OCI layout to out/python.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh image
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" >/dev/null
echo "built build/release/builder/temper; building recipes/python.yaml into out/python:" >&2
build/release/builder/temper build recipes/python.yaml -o out/python
echo "out/python is an OCI image layout (tag latest); the digest above is its manifest's." >&2
