#!/usr/bin/env bash
# Benchmark: temper build of recipes/python.yaml (cold: a fresh layout each run), gzip and zstd,
# against, in the same run of this script:
#   the floors: bench/floor.c over temper's own tar, mapped from the page cache, doing only what
#   a layer needs: compressing it on two threads with temper's libraries and parameters, and
#   the two hashes (diff_id and blob digest); its blobs must have the digests of temper's layers;
#   `zstd -3 -T2` of the same tar (the same bytes too, and no hash), for reference;
#   the pipelines over the same files:
#     tar --sort=name | tee >(sha256) | pigz -p2 -6 | tee >(sha256) > blob
#     tar --sort=name | tee >(sha256) | zstd -3 -T2  | tee >(sha256) > blob
# Timed with hyperfine, peak memory with /usr/bin/time -v, sizes against `gzip -6` and `zstd -3`
# of temper's own tar.
# Then a large synthetic image generated here (over 1 GiB of files: large files of the host's
# shared libraries behind a text header, one of random bytes, and the python standard library
# copied many times for many small files), built once with each compression, to show that peak
# memory stays constant and time per MB linear whatever the size.
# The builds compared with the pipelines skip the recipe's tests (--skip-tests), which the
# pipelines do not do; a second comparison times the build with its tests against without.
# Targets: gzip build at most 1.05 times its floor and 0.40 times the pigz pipeline, zstd build
# at most 1.10 times its floor and 0.6 times the zstd pipeline, compressed sizes within 2% of gzip -6 and zstd -3 (zstd: -B1MiB
# --zstd=ovlog=8, the job size and overlap temper fixes), peak memory at most 32 MiB for both
# images and both compressions (--jobs 2). Prints the figures and exits 1 when a target is
# missed.
#
# usage: bench/build.sh [TEMPER]     (default: build/release/builder/temper, built if missing)
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh" "$@"
recipe=$(realpath recipes/python.yaml)
trap 'rm -rf "$work"' EXIT
top=$PWD
cd "$work"

# The files of the image, as a list for tar, from temper's own layer.
"$temper" build "$recipe" -o ref --epoch 0 2>/dev/null >/dev/null
python3 - ref >files <<'PY'
import gzip, io, json, sys, tarfile
layout = sys.argv[1]
index = json.load(open(f"{layout}/index.json"))
blob = lambda d: open(f"{layout}/blobs/sha256/{d.split(':')[1]}", "rb").read()
manifest = json.loads(blob(index["manifests"][0]["digest"]))
raw = gzip.decompress(blob(manifest["layers"][0]["digest"]))
open("temper.tar", "wb").write(raw)
with tarfile.open(fileobj=io.BytesIO(raw)) as t:
    names = [m.name for m in t.getmembers()]
# Only what the root holds: temper writes /etc/passwd and friends itself.
print("\n".join(n for n in names if n not in ("etc/passwd", "etc/group", "etc/nsswitch.conf")))
PY
n=$(wc -l <files)
cc -O2 -pthread "$top/bench/floor.c" -o floor -ldeflate -lzstd -lcrypto
mb=$(python3 -c "import os; print(f'{os.path.getsize(\"temper.tar\")/1e6:.1f}')")

floor() { # compressor...
  printf 'tar -C / --sort=name --no-recursion -cf - -T %s/files | tee >(openssl sha256 >%s/d1) | %s | tee >(openssl sha256 >%s/d2) >%s/blob' \
    "$work" "$work" "$*" "$work" "$work"
}
hyperfine --style basic --warmup 1 --runs 5 --export-json times.json \
  --prepare "rm -rf $work/out" \
  -n temper-gzip "$temper build $recipe -o $work/out --jobs 2 --skip-tests" \
  -n pigz-pipeline "bash -c '$(floor pigz -p2 -6 -n)'" \
  -n temper-zstd "$temper build $recipe -o $work/out --jobs 2 --compression zstd --skip-tests" \
  -n zstd-pipeline "bash -c '$(floor zstd -q -3 -T2)'" \
  -n floor-gzip "$work/floor gzip $work/temper.tar $work/floor.gz" \
  -n floor-zstd "$work/floor zstd $work/temper.tar $work/floor.zst" \
  -n zstd-alone "zstd -q -f -3 -T2 -B1MiB --zstd=ovlog=8 $work/temper.tar -o $work/alone.zst" \
  >/dev/null
# The recipe's tests (unpacking the layer and running each test's command in the sandbox),
# against the same build without them: what proving the image runs costs.
hyperfine --style basic --warmup 1 --runs 5 --export-json tests.json \
  --prepare "rm -rf $work/out" \
  -n with-tests "$temper build $recipe -o $work/out --jobs 2" \
  -n skip-tests "$temper build $recipe -o $work/out --jobs 2 --skip-tests" >/dev/null

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}'; }
rm -rf out && rss_gzip=$(rss "$temper" build "$recipe" -o out --jobs 2 --skip-tests)
rm -rf out && rss_zstd=$(rss "$temper" build "$recipe" -o out --jobs 2 --compression zstd --skip-tests)
rm -rf out
"$temper" build "$recipe" -o gz --jobs 2 --epoch 0 2>/dev/null >/dev/null
"$temper" build "$recipe" -o zs --jobs 2 --epoch 0 --compression zstd 2>/dev/null >/dev/null
./floor gzip temper.tar floor.gz >floor-gzip.out
./floor zstd temper.tar floor.zst >floor-zstd.out
gzip -6 -n -c temper.tar >ref.gz
zstd -q -3 -B1048576 --zstd=ovlog=8 -c temper.tar >ref.zst

# The large image: its own root holding /data only (no ELF file: the large files begin with a
# line of text), and a recipe that takes the tree.
mkdir -p bigroot/data/large bigroot/data/small
mapfile -t libs < <(find /usr/lib/x86_64-linux-gnu -maxdepth 1 -name '*.so*' -type f | sort)
for i in 0 1 2; do
  { echo "large file $i: the host's shared libraries, concatenated"
    if [ "$i" = 1 ]; then printf '%s\n' "${libs[@]}" | tac | xargs cat; else cat "${libs[@]}"; fi
  } 2>/dev/null | head -c $((320 << 20)) >"bigroot/data/large/lib$i.bin" || true
done
head -c $((64 << 20)) /dev/urandom >bigroot/data/large/random.bin
for i in $(seq -w 0 11); do
  cp -r /usr/lib/python3.11 "bigroot/data/small/copy$i"
done
printf '%s\n' 'name: big' 'architecture: amd64' 'contents:' '  trees:' '    - path: /data' \
  '      exclude: ["**/lib-dynload", "**/config-3.11-*", "**/__pycache__", "**/*.so"]' >big.yaml
big_run() { # compression: prints peak RSS (KiB) and wall time
  rm -rf big-out
  /usr/bin/time -f '%M %e' -o big.time "$temper" build big.yaml --root bigroot -o big-out \
    --jobs 2 --compression "$1" >/dev/null 2>big.err || { cat big.err >&2; exit 1; }
  cat big.time
}
read -r big_rss_gzip big_time_gzip < <(big_run gzip)
read -r big_rss_zstd big_time_zstd < <(big_run zstd)
big_mb=$(sed -n 's/.* files, \([0-9.]*\) MB, .*/\1/p' big.err) # what temper took, in 10^6 bytes
rm -rf bigroot big-out

python3 - "$n" "$mb" "$rss_gzip" "$rss_zstd" "$big_mb" "$big_rss_gzip" "$big_time_gzip" \
  "$big_rss_zstd" "$big_time_zstd" <<'PY'
import json, os, sys
n, mb, rss_gzip, rss_zstd = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1024, int(sys.argv[4]) / 1024
big_mb = float(sys.argv[5])
big = {"gzip": (int(sys.argv[6]) / 1024, float(sys.argv[7])),
       "zstd": (int(sys.argv[8]) / 1024, float(sys.argv[9]))}
t = {r["command"]: r for r in json.load(open("times.json"))["results"]}
def layer(layout):
    index = json.load(open(f"{layout}/index.json"))
    m = json.load(open(f"{layout}/blobs/sha256/{index['manifests'][0]['digest'].split(':')[1]}"))
    return m["layers"][0]
gz, zs = layer("gz")["size"], layer("zs")["size"]
# The floors wrote temper's layers, byte for byte: the same work, nothing else.
same = {c: f"digest {layer(l)['digest']}" in open(f"floor-{c}.out").read().splitlines()
        for c, l in (("gzip", "gz"), ("zstd", "zs"))}
ref_gz, ref_zs = os.path.getsize("ref.gz"), os.path.getsize("ref.zst")
print(f"recipes/python.yaml: {n} entries, {mb} MB of tar")
for name in ("temper-gzip", "floor-gzip", "pigz-pipeline", "temper-zstd", "floor-zstd",
             "zstd-alone", "zstd-pipeline"):
    print(f"{name:16s} {t[name]['mean']*1000:8.0f} ms  ± {t[name]['stddev']*1000:.0f}")
tt = {r["command"]: r["mean"] for r in json.load(open("tests.json"))["results"]}
print(f"gzip build with the recipe's tests {tt['with-tests']*1000:.0f} ms, without "
      f"(--skip-tests) {tt['skip-tests']*1000:.0f} ms: the tests add "
      f"{(tt['with-tests'] - tt['skip-tests'])*1000:.0f} ms")
print(f"gzip layer {gz/1e6:.2f} MB (gzip -6: {ref_gz/1e6:.2f} MB); "
      f"zstd layer {zs/1e6:.2f} MB (zstd -3: {ref_zs/1e6:.2f} MB)")
rss = {"gzip": rss_gzip, "zstd": rss_zstd}
for c in ("gzip", "zstd"):
    print(f"{c}: python image {t[f'temper-{c}']['mean'] * 1000 / float(mb):.1f} ms/MB, "
          f"peak {rss[c]:.1f} MiB; large image ({big_mb} MB of files) "
          f"{big[c][1] * 1000 / big_mb:.1f} ms/MB, peak {big[c][0]:.1f} MiB")
rg = t["temper-gzip"]["mean"] / t["pigz-pipeline"]["mean"]
rz = t["temper-zstd"]["mean"] / t["zstd-pipeline"]["mean"]
fg = t["temper-gzip"]["mean"] / t["floor-gzip"]["mean"]
fz = t["temper-zstd"]["mean"] / t["floor-zstd"]["mean"]
print(f"temper zstd / zstd -T2 alone (no hash) = "
      f"{t['temper-zstd']['mean'] / t['zstd-alone']['mean']:.3f}")
peak = max(rss_gzip, rss_zstd, big["gzip"][0], big["zstd"][0])
checks = [
    (f"the floors wrote temper's layers, the same digests: gzip {same['gzip']}, "
     f"zstd {same['zstd']}", all(same.values())),
    (f"temper gzip / floor = {fg:.3f} (target <= 1.05)", fg <= 1.05),
    (f"temper zstd / floor = {fz:.3f} (target <= 1.10)", fz <= 1.10),
    (f"temper gzip / pigz pipeline = {rg:.3f} (target <= 0.40)", rg <= 0.40),
    (f"temper zstd / zstd pipeline = {rz:.3f} (target <= 0.6)", rz <= 0.6),
    (f"gzip size / gzip -6 = {gz/ref_gz:.3f} (target <= 1.02)", gz / ref_gz <= 1.02),
    (f"zstd size / zstd -3 -B1MiB --zstd=ovlog=8 = {zs/ref_zs:.3f} (target <= 1.02)",
     zs / ref_zs <= 1.02),
    (f"large image: {big_mb} MB of files (target >= 1 GiB, 1073.7 MB)", big_mb >= 1073.7),
    (f"peak memory {peak:.1f} MiB, both images, both compressions (target <= 32)",
     peak <= 32),
]
for text, ok in checks:
    print(("PASS " if ok else "FAIL ") + text)
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
