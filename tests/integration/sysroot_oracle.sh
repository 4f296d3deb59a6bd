#!/usr/bin/env bash
# The loader oracle inside another root: debootstraps a Debian 12 root (minbase, plus python3,
# openssl and curl for a realistic closure) and compares `temper resolve --root ROOT` with the
# root's own loader run under chroot, for every dynamically linked executable of the root's
# /usr/bin and /usr/sbin and every library of its multiarch directory.
#
# It needs root, debootstrap and Debian's archive, so it is not part of CI (scripts/test.sh runs
# without the network); run it by hand after changing the resolver.
#
# usage: tests/integration/sysroot_oracle.sh TEMPER [ROOT]   (default ROOT: /var/tmp/temper-bookworm)
set -euo pipefail
cd "$(dirname "$0")/../.."
temper=$(realpath "${1:?usage: $0 TEMPER [ROOT]}")
root=${2:-/var/tmp/temper-bookworm}
# the archive this machine's apt sources name (never a host written here)
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [ -z "$mirror" ]; then
  echo "sysroot_oracle.sh: no URIs in /etc/apt/sources.list.d/*.sources to debootstrap from" >&2
  exit 1
fi

if [ ! -x "$root/lib64/ld-linux-x86-64.so.2" ]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  rm -rf "$root"
  debootstrap --variant=minbase --include=python3,openssl,curl bookworm "$root" \
    "$mirror" >/dev/null
fi
exec python3 tests/integration/resolve_oracle.py "$temper" --root "$root"
