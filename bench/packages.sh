#!/usr/bin/env bash
# Benchmark: the python image from Debian's packages (recipes/debian/python.yaml), through this
# machine's apt sources, in the same run as its peer:
#   cold temper:  temper lock (afresh) + temper build with an empty cache (downloads included)
#   cold peer:    apt-get download of the same packages + dpkg-deb -x of each into a root + the
#                 CA bundle made as update-ca-certificates makes it + temper build --root of
#                 recipes/python.yaml on that root
#   warm temper:  temper build with everything cached
#   root build:   temper build --root of the same files (the peer's root, already unpacked)
# Timed with hyperfine. Targets: cold temper at most the cold peer; warm temper within 1.2 times
# the root build. Prints the figures and exits 1 when a target is missed.
#
# usage: bench/packages.sh [TEMPER]     (default: build/release/builder/temper, built if missing)
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh" "$@"
recipes=$(realpath recipes)
trap 'rm -rf "$work"' EXIT
cd "$work"

apt-get update -qq # apt-get download takes the versions its lists know
# The packages: what a fresh lock of the recipe pins for this machine's architecture.
"$temper" lock "$recipes/debian/python.yaml" -o lock.json >/dev/null 2>&1
arch=$(dpkg --print-architecture)
python3 - "$arch" >pkgs <<'PY'
import json, sys
for p in json.load(open("lock.json"))["architectures"][sys.argv[1]]:
    print(f"{p['name']}={p['version']}")
PY
n=$(wc -l <pkgs)

cat >peer.sh <<EOF
set -e
rm -rf debs root && mkdir debs root
cd debs && apt-get download -q \$(cat ../pkgs) >/dev/null 2>&1 && cd ..
for d in debs/*.deb; do dpkg-deb -x "\$d" root; done
mkdir -p root/etc/ssl/certs
find root/usr/share/ca-certificates -name '*.crt' | LC_ALL=C sort |
  while read -r c; do sed '\$a\\' "\$c"; done >root/etc/ssl/certs/ca-certificates.crt
"$temper" build "$recipes/python.yaml" --root root -o peer-out >/dev/null 2>&1
EOF
bash peer.sh # once, for the root the root build reads

hyperfine --style basic --warmup 1 --runs 5 --export-json times.json \
  -n temper-cold --prepare "rm -rf cache out lock2.json" \
  "$temper lock $recipes/debian/python.yaml -o lock2.json && $temper build $recipes/debian/python.yaml --lock lock2.json --cache cache -o out" \
  -n peer-cold --prepare "rm -rf peer-out" "bash peer.sh" \
  -n temper-warm --prepare "rm -rf out" \
  "$temper build $recipes/debian/python.yaml --lock lock.json --cache warm -o out" \
  -n root-build --prepare "rm -rf root-out" \
  "$temper build $recipes/python.yaml --root root -o root-out" >/dev/null

python3 - "$n" <<'PY'
import json, sys
t = {r["command"]: r for r in json.load(open("times.json"))["results"]}
print(f"recipes/debian/python.yaml: {sys.argv[1]} packages")
for name in ("temper-cold", "peer-cold", "temper-warm", "root-build"):
    print(f"{name:12s} {t[name]['mean']*1000:8.0f} ms  ± {t[name]['stddev']*1000:.0f}")
cold = t["temper-cold"]["mean"] / t["peer-cold"]["mean"]
warm = t["temper-warm"]["mean"] / t["root-build"]["mean"]
checks = [
    (f"cold: temper lock + build / apt-get download + dpkg-deb -x + build = {cold:.2f} "
     f"(target <= 1.0)", cold <= 1.0),
    (f"warm: build from the cache / build from the same root = {warm:.2f} (target <= 1.2)",
     warm <= 1.2),
]
for text, ok in checks:
    print(("PASS " if ok else "FAIL ") + text)
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
