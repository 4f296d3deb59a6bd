# bash completion for temper: commands, each command's options (read from its --help, so they
# follow the installed temper), recipe files, layouts (directories holding an index.json) and
# the tags of a layout after LAYOUT: or oci:LAYOUT:.

# The tags a layout's index.json names (org.opencontainers.image.ref.name), one per line.
_temper_tags() {
  local index="$1/index.json"
  [ -f "$index" ] || return 0
  grep -o '"org.opencontainers.image.ref.name"[[:space:]]*:[[:space:]]*"[^"]*"' "$index" |
    sed 's/.*"\([^"]*\)"$/\1/'
}

# Layouts under the current word's directory, and LAYOUT:TAG once a colon follows a layout.
_temper_images() {
  local cur="$1" prefix="" dir tag
  if [[ "$cur" == oci:* ]]; then
    prefix="oci:"
    cur="${cur#oci:}"
  fi
  if [[ "$cur" == *:* ]]; then
    dir="${cur%%:*}"
    tag="${cur#*:}"
    local t
    while IFS= read -r t; do
      [[ "$t" == "$tag"* ]] && COMPREPLY+=("$prefix$dir:$t")
    done < <(_temper_tags "$dir")
    return 0
  fi
  local d
  while IFS= read -r d; do
    [ -d "$d" ] || continue
    if [ -f "$d/index.json" ]; then
      COMPREPLY+=("$prefix$d")
    else
      COMPREPLY+=("$prefix$d/")
    fi
  done < <(compgen -d -- "$cur")
  compopt -o nospace 2>/dev/null
}

# Files with one of the given suffixes, and directories to go into (no extglob needed).
_temper_files() {
  local cur="$1" suffix
  shift
  for suffix in "$@"; do
    mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -X "!*.$suffix" -- "$cur")
  done
  mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -S / -- "$cur")
  compopt -o nospace 2>/dev/null
}

# The options `temper CMD --help` describes.
_temper_options() {
  "${COMP_WORDS[0]}" "$1" --help 2>/dev/null |
    grep -oE '^  (-[a-zA-Z], )?--?[a-z][a-z-]*' | grep -oE -- '--?[a-z][a-z-]*'
}

_temper() {
  local cur prev cmd i
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD - 1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ "${COMP_WORDS[i]}" != -* ]]; then
      cmd="${COMP_WORDS[i]}"
      break
    fi
  done
  if [ -z "$cmd" ]; then
    local cmds
    cmds=$("${COMP_WORDS[0]}" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p')
    mapfile -t COMPREPLY < <(compgen -W "$cmds help --version --help" -- "$cur")
    return 0
  fi
  if [ "$cmd" = help ]; then
    mapfile -t COMPREPLY < <(compgen -W "$("${COMP_WORDS[0]}" --help 2>/dev/null |
      sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p')" -- "$cur")
    return 0
  fi
  case "$prev" in
  --key | --root | --cache | --lock | --archive | --sbom | --ca-file | -o | --output)
    if [ "$cmd" = build ] && [[ "$prev" == -o || "$prev" == --output ]]; then
      _temper_images "$cur"
    elif [[ "$prev" == --key ]]; then
      _temper_files "$cur" key pub pem
    else
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    return 0
    ;;
  --expect)
    _temper_images "$cur"
    return 0
    ;;
  --compression) mapfile -t COMPREPLY < <(compgen -W "gzip zstd" -- "$cur") && return 0 ;;
  --format)
    local formats="text json"
    [ "$cmd" = resolve ] && formats="list ldd json"
    mapfile -t COMPREPLY < <(compgen -W "$formats" -- "$cur")
    return 0
    ;;
  --type) mapfile -t COMPREPLY < <(compgen -W "ecdsa-p256 ed25519" -- "$cur") && return 0 ;;
  --arch)
    local archs="amd64 arm64 386 arm ppc64le s390x riscv64"
    [ "$cmd" = build ] && archs="$archs all"
    mapfile -t COMPREPLY < <(compgen -W "$archs" -- "$cur")
    return 0
    ;;
  --tag | --level | --epoch | --jobs | --identity | --username | --timeout | \
    --stall-timeout | --from | --user | --attestation)
    return 0
    ;;
  esac
  if [[ "$cur" == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_temper_options "$cmd")" -- "$cur")
    return 0
  fi
  case "$cmd" in
  build | lock) _temper_files "$cur" yaml yml ;;
  resolve) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
  sign | verify | sbom | push | diff | inspect | gc | run) _temper_images "$cur" ;;
  esac
  return 0
}

complete -F _temper temper
