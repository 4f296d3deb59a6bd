#!/usr/bin/env bash
# Installs what temper needs from Debian 12's archive: `build` for building it, `image` for that
# and the files the shipped recipes take from this machine, `test` for the whole test suite,
# `bench` for the benchmarks. Packages already installed are not
# fetched again.
set -euo pipefail

# scdoc: the man pages (docs/man/*.scd).
build=(cmake make gcc pkg-config libelf-dev libjansson-dev libyaml-dev libarchive-dev libzstd-dev
  libdeflate-dev zlib1g-dev libssl-dev libcurl4-openssl-dev scdoc)
# What the shipped recipes take from the machine's own root (--root defaults to /), and
# bubblewrap, which runs their tests.
image=(python3 ca-certificates tzdata gpgv bubblewrap)
# qemu-user-static: the i386 loader is the resolver's oracle for /usr/lib32, and some kernels
# (built without IA32 emulation) can only run it under qemu-user. gpg, dpkg-dev (for
# dpkg-scanpackages) and lz4: the archive packages.py makes and the image it runs.
# curl: trivy comes from the npm registry (scripts/install-trivy.sh) for the SBOM tests.
# man-db: the man pages are rendered with man -l.
test=("${build[@]}" "${image[@]}" clang libclang-rt-14-dev clang-format shellcheck check strace
  libc6-dev libc6-i386 qemu-user-static skopeo umoci oci-image-tool bubblewrap runc podman zstd
  openssl docker-registry apache2-utils gpg dpkg-dev lz4 curl man-db)

bench=("${build[@]}" "${image[@]}" hyperfine pax-utils time pigz zstd docker-registry skopeo curl)

case "${1:-build}" in
build) want=("${build[@]}") ;;
image) want=("${build[@]}" "${image[@]}") ;;
test) want=("${test[@]}") ;;
bench) want=("${bench[@]}") ;;
*) echo "usage: $0 [build|image|test|bench]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# test_pkg_debs fetches real packages with `apt-get download`, which needs the package lists that
# a fresh machine may not have yet.
if [ "${1:-build}" = test ] && ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  apt-get update -qq
fi
# trivy reads the images the SBOM tests build; it is not in Debian 12.
if [ "${1:-build}" = test ]; then
  bash "$(dirname "$0")/install-trivy.sh"
fi
