#!/usr/bin/env bash
# Installs what is missing, builds temper, and runs its main job on the built-in default: the
# python image of recipes/debian/python.yaml (python3, its standard library and the closure of
# every extension module), from Debian 12's packages: it locks them afresh through this machine's
# apt sources (recipes/debian/python.lock.json), fetches them into temper's cache, builds the
# image from them (never from this machine's files) as an OCI layout in out/python, signed with a
# key generated into keys/ on the first run; then verifies the signature and every byte it covers.
# As root it also installs temper (cmake --install: /usr/local/bin/temper, with its helper
# /usr/local/libexec/temper/temper-image), so that the README's later examples find `temper`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh image
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" >/dev/null
temper=build/release/builder/temper
[ -e keys/quickstart.key ] || "$temper" keygen -o keys/quickstart
echo "built $temper; locking recipes/debian/python.yaml through apt's sources:" >&2
"$temper" lock --update recipes/debian/python.yaml
echo "building it from those packages into out/python, signed:" >&2
"$temper" build recipes/debian/python.yaml -o out/python --key keys/quickstart.key
"$temper" verify --key keys/quickstart.pub out/python
echo "out/python is an OCI image layout (tag latest), signed with keys/quickstart.key." >&2
if [ "$(id -u)" = 0 ]; then
  cmake --install build/release --prefix /usr/local >/dev/null
  echo "temper is installed as /usr/local/bin/temper (its helper in /usr/local/libexec/temper)." >&2
else
  echo "temper is $temper; 'sudo cmake --install build/release' puts it on PATH" \
    "(/usr/local/bin, its helper temper-image in /usr/local/libexec/temper)." >&2
fi
