#!/usr/bin/env bash
# Benchmark: three agent images over one python base (recipes/python.yaml plus openssl, plus
# curl, plus sqlite3), built one after the other into one layout, as one layer each against
# layered by their includes (layering: {strategy: includes}). Layered, the second and third
# builds take the static, base and python layers from the layout (their tars are made and
# hashed, never compressed again) and compress only their own small layer; one layer each, every
# build compresses the whole python runtime again. Timed with hyperfine in the same run (a fresh
# layout each run, --skip-tests in both), gzip and zstd; prints the blob bytes each layout holds
# too (what a registry stores). The first layered build costs more than a one-layer one (each
# recipe file is planned, and four streams are compressed instead of one); the later ones make
# and hash the base's tars and read its blobs back (which must decompress to them) on two
# threads instead of compressing them. Targets (issue 15): the three layered builds take no
# longer than the three one-layer builds, and the layout holds at most half the bytes. Exits 1
# when a target is missed.
#
# usage: bench/layers.sh [TEMPER]     (default: build/release/builder/temper, built if missing)
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh" "$@"
recipes=$(realpath recipes)
trap 'rm -rf "$work"' EXIT

for strategy in single includes; do
  for tool in openssl curl sqlite3; do
    printf 'name: agent-%s\ninclude: [%s/python.yaml]\nlayering: {strategy: %s}\ncontents: {binaries: [/usr/bin/%s]}\n' \
      "$tool" "$recipes" "$strategy" "$tool" >"$work/$strategy-$tool.yaml"
  done
done
three() { # strategy compression
  local cmd=""
  for tool in openssl curl sqlite3; do
    cmd+="$temper build $work/$1-$tool.yaml -o $work/out-$1-$2 --tag $tool --compression $2 --skip-tests >/dev/null 2>&1 && "
  done
  echo "${cmd}true"
}
hyperfine --style basic --warmup 1 --runs 5 --export-json "$work/times.json" \
  --prepare "rm -rf $work/out-single-gzip $work/out-includes-gzip $work/out-single-zstd $work/out-includes-zstd" \
  -n single-gzip "$(three single gzip)" -n includes-gzip "$(three includes gzip)" \
  -n single-zstd "$(three single zstd)" -n includes-zstd "$(three includes zstd)" >/dev/null
for name in single-gzip includes-gzip single-zstd includes-zstd; do
  rm -rf "$work/out-$name"
  bash -c "$(three "${name%-*}" "${name#*-}")"
  du -sb "$work/out-$name/blobs" | cut -f1 >"$work/bytes-$name"
done

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
times = {r["command"]: r for r in json.load(open(f"{work}/times.json"))["results"]}
size = lambda n: int(open(f"{work}/bytes-{n}").read())
checks = []
print("three images over python.yaml (openssl, curl, sqlite3), built into one layout")
for c in ("gzip", "zstd"):
    one, lay = times[f"single-{c}"], times[f"includes-{c}"]
    print(f"{c}: one layer each {one['mean']*1000:7.0f} ms ± {one['stddev']*1000:.0f}, "
          f"{size(f'single-{c}')/1e6:6.1f} MB; layered {lay['mean']*1000:7.0f} ms "
          f"± {lay['stddev']*1000:.0f}, {size(f'includes-{c}')/1e6:6.1f} MB")
    t, b = lay["mean"] / one["mean"], size(f"includes-{c}") / size(f"single-{c}")
    checks += [(f"{c}: layered / one layer time = {t:.2f} (target <= 1)", t <= 1),
               (f"{c}: layered / one layer bytes = {b:.2f} (target <= 0.5)", b <= 0.5)]
for text, ok in checks:
    print(("PASS " if ok else "FAIL ") + text)
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
