#!/usr/bin/env bash
# Benchmark: temper push of the python image (recipes/python.yaml, signed) to Debian's
# docker-registry on 127.0.0.1, cold (an empty registry each run) and warm (everything there
# already), against `skopeo copy oci:LAYOUT:latest docker://...` doing the same, in the same run
# of this script. Timed with hyperfine.
# Targets (issue 5): temper cold no slower than skopeo cold; a warm push under 0.2 s.
# Prints the figures and exits 1 when a target is missed.
#
# usage: bench/push.sh [TEMPER]     (default: build/release/builder/temper, built if missing)
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh" "$@"
recipe=$(realpath recipes/python.yaml)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >registry.yml <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/storage}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
EOF
docker-registry serve registry.yml >registry.log 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break
  sleep 0.1
done

"$temper" keygen -o bench >/dev/null 2>&1
"$temper" build "$recipe" -o python --key bench.key >/dev/null 2>&1
# An empty registry for each cold run: the storage is removed (the registry keeps no cache).
empty="rm -rf $work/storage"
hyperfine --style basic --warmup 1 --runs 5 --export-json cold.json \
  --prepare "$empty" \
  -n temper-cold "$temper push python:latest 127.0.0.1:$port/python:latest" \
  -n skopeo-cold "skopeo copy -q --dest-tls-verify=false oci:python:latest docker://127.0.0.1:$port/python:latest" \
  >/dev/null
"$temper" push python:latest "127.0.0.1:$port/python:latest" >/dev/null 2>&1
hyperfine --style basic -N --warmup 2 --runs 20 --export-json warm.json \
  -n temper-warm "$temper push python:latest 127.0.0.1:$port/python:latest" \
  -n skopeo-warm "skopeo copy -q --dest-tls-verify=false oci:python:latest docker://127.0.0.1:$port/python:latest" \
  >/dev/null

python3 - <<'PY'
import json
t = {}
for f in ("cold.json", "warm.json"):
    t.update({r["command"]: r for r in json.load(open(f))["results"]})
for name in ("temper-cold", "skopeo-cold", "temper-warm", "skopeo-warm"):
    print(f"{name:12s} {t[name]['mean']*1000:8.0f} ms  ± {t[name]['stddev']*1000:.0f}")
cold = t["temper-cold"]["mean"] / t["skopeo-cold"]["mean"]
warm = t["temper-warm"]["mean"]
checks = [
    (f"temper cold / skopeo cold = {cold:.2f} (target <= 1.0)", cold <= 1.0),
    (f"temper warm push {warm*1000:.0f} ms (target < 200 ms)", warm < 0.2),
]
for text, ok in checks:
    print(("PASS " if ok else "FAIL ") + text)
raise SystemExit(0 if all(ok for _, ok in checks) else 1)
PY
