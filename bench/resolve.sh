#!/usr/bin/env bash
# Benchmark: temper resolve over every dynamically linked executable in /usr/bin and /usr/sbin,
# in one run, against the system loader's trace mode run on each file one by one (what ldd-style
# tools do) and against `scanelf --needed` (reads the same headers, resolves nothing: the floor).
# Timed with hyperfine in the same run of this script; peak memory with /usr/bin/time -v. Also
# the commands that do almost nothing: `temper --version` and `temper resolve` of one file.
# Targets: --format list at least 50 times faster than the loader loop and at most 0.75 times
# scanelf, peak memory under 64 MiB; --format json (the whole graph, about 6 MB for these files)
# at most 1.5 times --format list of the same files; each command that does almost nothing at
# most 3 ms. Prints the figures and exits 1 when a target is missed.
#
# usage: bench/resolve.sh [TEMPER]     (default: build/release/builder/temper, built if missing)
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh" "$@"
loader=/lib64/ld-linux-x86-64.so.2
trap 'rm -rf "$work"' EXIT

python3 - >"$work/files" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
import resolve_oracle
print("\n".join(resolve_oracle.candidates(["/usr/bin", "/usr/sbin"])))
PY
n=$(wc -l <"$work/files")
files=$(tr '\n' ' ' <"$work/files")
printf '%s\n' '#!/bin/sh' "while read -r f; do $loader --list \"\$f\" >/dev/null 2>&1; done <'$work/files'" >"$work/loop.sh"

hyperfine --style basic -N --warmup 3 --runs 30 --export-json "$work/fast.json" \
  -n temper "$temper resolve --format ldd $files" \
  -n scanelf "scanelf --needed $files" \
  -n temper-list "$temper resolve --format list $files" \
  -n temper-json "$temper resolve --format json $files" >/dev/null
hyperfine --style basic -N --warmup 1 --runs 5 --export-json "$work/loop.json" \
  -n loader-loop "sh $work/loop.sh" >/dev/null
hyperfine --style basic -N --warmup 10 --runs 100 --export-json "$work/noop.json" \
  -n version "$temper --version" \
  -n resolve-one "$temper resolve $(head -n1 "$work/files")" >/dev/null
# shellcheck disable=SC2086 # one argument per file
rss_kb=$(/usr/bin/time -f '%M' "$temper" resolve --format ldd $files 2>&1 >/dev/null | tail -n1)

python3 - "$work/fast.json" "$work/loop.json" "$n" "$rss_kb" "$work/noop.json" <<'PY'
import json, sys
fast = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
loop = json.load(open(sys.argv[2]))["results"][0]
n, rss_mib = int(sys.argv[3]), int(sys.argv[4]) / 1024
noop = {r["command"]: r["mean"] * 1000 for r in json.load(open(sys.argv[5]))["results"]}
t, s, l = fast["temper"]["mean"], fast["scanelf"]["mean"], loop["mean"]
tl, tj = fast["temper-list"]["mean"], fast["temper-json"]["mean"]
print(f"{n} dynamically linked executables in /usr/bin and /usr/sbin")
print(f"temper resolve (one run)     {t*1000:8.1f} ms  ± {fast['temper']['stddev']*1000:.1f}")
print(f"scanelf --needed (one run)   {s*1000:8.1f} ms  ± {fast['scanelf']['stddev']*1000:.1f}")
print(f"ld.so --list, one by one     {l*1000:8.1f} ms  ± {loop['stddev']*1000:.1f}")
print(f"temper resolve --format list {tl*1000:8.1f} ms")
print(f"temper resolve --format json {tj*1000:8.1f} ms")
print(f"temper peak memory           {rss_mib:8.1f} MiB")
print(f"temper --version             {noop['version']:8.1f} ms")
print(f"temper resolve of one file   {noop['resolve-one']:8.1f} ms")
checks = [
    (f"loader loop / temper --format list = {l/tl:.1f} (target >= 50)", l / tl >= 50),
    (f"temper --format list / scanelf = {tl/s:.2f} (target <= 0.75)", tl / s <= 0.75),
    (f"peak memory {rss_mib:.1f} MiB (target < 64)", rss_mib < 64),
    (f"--format json / --format list = {tj/tl:.2f} (target <= 1.5)", tj / tl <= 1.5),
    (f"temper --version {noop['version']:.1f} ms (target <= 3)", noop["version"] <= 3),
    (f"temper resolve of one file {noop['resolve-one']:.1f} ms (target <= 3)",
     noop["resolve-one"] <= 3),
]
for text, ok in checks:
    print(("PASS " if ok else "FAIL ") + text)
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
