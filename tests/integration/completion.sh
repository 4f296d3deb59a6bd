#!/usr/bin/env bash
# Bash completion (scripts/completion/temper.bash), driven as bash drives it: COMP_WORDS and
# COMP_CWORD set, _temper called, COMPREPLY read. Commands, each command's options (from the
# --help of the temper completed), recipe files, layouts, the tags of a layout, keys and
# --format's values.
#
# usage: completion.sh TEMPER SOURCE_DIR
set -euo pipefail
temper=$(realpath "$1")
source_dir=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# shellcheck source=/dev/null
source "$source_dir/scripts/completion/temper.bash"

failures=0
# complete WORD...: what completing the last word offers, sorted, space-separated
complete_words() {
  COMP_WORDS=("$temper" "$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _temper
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() { # WHAT EXPECTED WORD...
  local what="$1" want="$2" got
  shift 2
  got=$(complete_words "$@")
  if [ "$got" = "$want" ]; then
    echo "ok   $what: $got"
  else
    echo "FAIL $what: wanted '$want', got '$got'"
    failures=$((failures + 1))
  fi
}

mkdir -p out/img/blobs keys recipes
printf 'name: a\n' >recipes/a.yaml
printf 'name: b\n' >recipes/b.yml
: >recipes/notes.txt
: >keys/k.key
: >keys/k.pub
cat >out/img/index.json <<'JSON'
{"schemaVersion":2,"manifests":[
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:00","size":1,
  "annotations":{"org.opencontainers.image.ref.name":"latest"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:01","size":1,
  "annotations":{"org.opencontainers.image.ref.name":"v1"}}]}
JSON

expect "commands" "build" bu
expect "help COMMAND" "sign" help si
expect "recipe files for build" "recipes/a.yaml recipes/b.yml" build recipes/
expect "layouts" "out/img" push out/im
expect "a layout's tags" "out/img:latest out/img:v1" push out/img:
expect "oci:LAYOUT:TAG" "oci:out/img:v1" inspect oci:out/img:v
expect "keys" "keys/k.key keys/k.pub" sign --key keys/
expect "resolve's formats" "json ldd list" resolve --format ""
expect "diff's formats" "json text" diff --format ""
expect "architectures, all for build" "all amd64 arm arm64" build --arch a
expect "an index's architectures" "amd64 arm arm64" run --arch a
expect "sbom's architectures" "amd64 arm arm64" sbom --arch a
expect "build's options" "--verbose" build --verb
expect "gc's options" "--dry-run" gc -
expect "keygen's options" "--type -o" keygen -
expect "push's options" "--allow-other-identity" push --al
expect "a registry option" "--password-stdin" verify --pass
expect "no option of another command" "" gc --verb
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
