#!/usr/bin/env bash
# shellcheck disable=SC2016 # '$ORIGIN' and friends are meant literally
# Integration test: `temper resolve` on fixtures built with gcc at test time.
#
# usage: bash tests/integration/resolve_fixtures.sh /path/to/temper
#
# Each case builds its fixtures in a fresh temporary directory (removed on
# exit) and checks temper's output against the rules of glibc 2.36's ld.so.
# Wherever a fixture is loadable on the host, the host's own loader is the
# oracle too: the set of files it maps in trace mode (LD_TRACE_LOADED_OBJECTS,
# what ldd uses) must equal, by canonical path, the set temper's ldd format
# names. The fixtures and the oracle assume an x86_64 Debian-style host
# (glibc 2.36, /lib64/ld-linux-x86-64.so.2, multiarch /usr/lib/x86_64-linux-gnu).
#
# Prints `ok - NAME` or `not ok - NAME: WHY` per case (details follow as
# `#` lines), then `N passed, M failed`; exits 1 if any case failed. Nothing
# is skipped: a missing tool (gcc, python3, strace, chroot, ldconfig) fails the cases
# needing it. Run as root (chroot and ldconfig -r need it), as CI runs it.
set -u
export LC_ALL=C

TEMPER=${1:-}
case $TEMPER in /* | "") ;; *) TEMPER=$PWD/$TEMPER ;; esac # the cases run in other directories
LOADER=/lib64/ld-linux-x86-64.so.2
MULTIARCH=x86_64-linux-gnu
HOST_LIBC=/lib/$MULTIARCH/libc.so.6

T=$(mktemp -d "${TMPDIR:-/tmp}/temper-resolve.XXXXXX") || { echo "cannot create a temporary directory" >&2; exit 1; }
T=$(cd "$T" && pwd -P) # canonical: $ORIGIN of an input is the directory of its canonical path
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/src"

passed=0
failed=0

# ---------------------------------------------------------------------------
# Reporting. A case fails when it called `fail` at least once.

fail() { printf '%s\n' "$*" >>"$T/.why"; }
# detail FILE [LABEL]: appends a file's content to the case's diagnostics.
detail() {
    { [ -n "${2:-}" ] && printf '%s:\n' "$2"; head -c 3000 "$1" 2>/dev/null | sed 's/^/  /'; } >>"$T/.detail"
}
note() { printf '# note: %s\n' "$*"; }

run_case() {
    local name=$1 fn=$2 rc
    rm -f "$T/.why" "$T/.detail"
    (cd "$T" && "$fn")
    rc=$?
    if [ "$rc" -ne 0 ] && [ ! -s "$T/.why" ]; then
        fail "case function exited with $rc"
    fi
    if [ -s "$T/.why" ]; then
        echo "not ok - $name: $(head -n 5 "$T/.why" | paste -sd ';' - | sed 's/;/; /g')"
        [ -s "$T/.detail" ] && sed 's/^/#   /' "$T/.detail"
        failed=$((failed + 1))
    else
        echo "ok - $name"
        passed=$((passed + 1))
    fi
}

# ---------------------------------------------------------------------------
# Running temper.

# rt ARGS...: `temper resolve ARGS` under a 10 s timeout; stdout in $T/out, stderr
# in $T/err, exit code in $RC. A hang, a signal or a sanitizer report fails the case.
rt() {
    timeout 10 "$TEMPER" resolve "$@" >"$T/out" 2>"$T/err"
    RC=$?
    if [ "$RC" -eq 124 ]; then
        fail "temper resolve $* hung (killed after 10 s)"
    elif [ "$RC" -ge 125 ]; then
        fail "temper resolve $* crashed (exit $RC)"
        detail "$T/err" stderr
    fi
    if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|Segmentation|core dumped' "$T/err"; then
        fail "temper resolve $*: crash or sanitizer report on stderr"
        detail "$T/err" stderr
    fi
}

# expect_rc N WHAT
expect_rc() {
    if [ "$RC" -ne "$1" ]; then
        fail "$2: exit $RC, expected $1"
        detail "$T/out" stdout
        detail "$T/err" stderr
        return 1
    fi
}

# expect_out_line LINE WHAT: stdout has exactly this line.
expect_out_line() {
    if ! grep -qxF -- "$1" "$T/out"; then
        fail "$2: no line '$1' in the output"
        detail "$T/out" stdout
        return 1
    fi
}

# expect_err STRING WHAT: stderr contains STRING.
expect_err() {
    if ! grep -qF -- "$1" "$T/err"; then
        fail "$2: stderr does not contain \"$1\""
        detail "$T/err" stderr
        return 1
    fi
}

# expect_error_form WHAT [PREFIX]: stderr is a `temper: ` (or `PREFIX: `) message.
expect_error_form() {
    if ! head -n 1 "$T/err" | grep -q "^${2:-temper}: "; then
        fail "$1: stderr does not start with '${2:-temper}: '"
        detail "$T/err" stderr
        return 1
    fi
}

# ldd_path NAME: the path temper's ldd output gives for NAME (empty when absent).
ldd_path() {
    awk -v n="$1" 'BEGIN { FS = " => " } $1 == "\t" n { print $2; exit }' "$T/out"
}

# expect_ldd_file NAME FILE WHAT: NAME resolves to FILE (compared by canonical path).
expect_ldd_file() {
    local got
    got=$(ldd_path "$1")
    if [ -z "$got" ]; then
        fail "$3: $1 not in the ldd output"
        detail "$T/out" stdout
        detail "$T/err" stderr
        return 1
    fi
    if [ "$(realpath -m -- "$got")" != "$(realpath -m -- "$2")" ]; then
        fail "$3: $1 => $got, expected $2"
        detail "$T/out" stdout
        return 1
    fi
}

# ldd_names: the names of temper's ldd output, in order, without the interpreter line.
ldd_names() {
    awk 'BEGIN { FS = " => " } /^\t/ && / => / { sub(/^\t/, "", $1); print $1 }' "$T/out"
}

# oracle FILE [TEMPER-ARGS...]: the host loader, in trace mode, must map the same set of
# files (by canonical path) as temper names; libraries neither finds compare by name.
# ($LOADER --list exits 127 on a missing library in glibc 2.36 instead of tracing it;
# LD_TRACE_LOADED_OBJECTS=1 is what ldd itself uses.)
oracle() {
    local file=$1
    shift
    # (env after timeout: the variable must reach the loader only, not timeout's own startup)
    if ! timeout 10 env LD_TRACE_LOADED_OBJECTS=1 ${ORACLE_TUNABLES:+GLIBC_TUNABLES="$ORACLE_TUNABLES"} \
        "$LOADER" "$file" >"$T/oracle.out" 2>"$T/oracle.err"; then
        fail "oracle: the host loader failed on $file"
        detail "$T/oracle.err" "loader stderr"
        return 1
    fi
    rt --format ldd --allow-missing "$@" "$file"
    if [ "$RC" -ne 0 ]; then
        fail "oracle: temper resolve --format ldd --allow-missing $file: exit $RC"
        detail "$T/err" stderr
        return 1
    fi
    normalize_ldd "$T/oracle.out" >"$T/oracle.set"
    normalize_ldd "$T/out" >"$T/temper.set"
    if ! diff "$T/oracle.set" "$T/temper.set" >"$T/oracle.diff"; then
        fail "oracle: temper and the host loader disagree on $file (< loader, > temper)"
        detail "$T/oracle.diff" diff
        detail "$T/oracle.out" "loader"
        detail "$T/out" "temper"
        return 1
    fi
}

# normalize_ldd FILE: ldd-style lines as a sorted set of canonical paths / "missing NAME".
normalize_ldd() {
    local line name path
    while IFS= read -r line; do
        line=${line#$'\t'}
        line=${line% (0x*)}
        case $line in
        linux-vdso.so.* | linux-gate.so.* | "" | *:) continue ;;
        *" => not found") echo "missing ${line% => not found}" ;;
        *" => "*)
            path=${line#* => }
            realpath -m -- "$path"
            ;;
        statically\ linked) echo "static" ;;
        /*) realpath -m -- "$line" ;;
        *) echo "unparsed $line" ;;
        esac
    done <"$1" | sort -u
}

# oracle_order FILE: the loader maps the non-interpreter objects in the order temper prints them.
oracle_order() {
    awk 'BEGIN { FS = " => " } /^\t/ && / => / { sub(/^\t/, "", $1); print $1 }' "$T/oracle.out" >"$T/oracle.order"
    ldd_names >"$T/temper.order"
    if ! diff "$T/oracle.order" "$T/temper.order" >"$T/order.diff"; then
        fail "oracle: load order differs from the host loader's (< loader, > temper)"
        detail "$T/order.diff" diff
        return 1
    fi
}

# chroot_oracle ROOT FILE: the loader inside ROOT as oracle, after ldconfig built ROOT's cache
# from ROOT's ld.so.conf (ld.so reads only the cache): the ldd lines of temper --root ROOT must
# equal the loader's, path as opened and all. (--list, not LD_TRACE_LOADED_OBJECTS: the variable
# would trace the host's chroot command instead; so FILE must have no missing library.)
chroot_oracle() {
    local root=$1 file=$2
    if ! ldconfig -X -r "$root" 2>"$T/ldconfig.err"; then
        fail "chroot oracle: ldconfig -r $root failed"
        detail "$T/ldconfig.err" ldconfig
        return 1
    fi
    if ! timeout 10 chroot "$root" /lib64/ld-linux-x86-64.so.2 --list "$file" \
        >"$T/oracle.out" 2>"$T/oracle.err"; then
        fail "chroot oracle: the loader inside $root failed on $file"
        detail "$T/oracle.err" "loader stderr"
        return 1
    fi
    rt --root "$root" --format ldd --allow-missing "$file"
    sed -e 's/ (0x[0-9a-f]*)$//' -e '/linux-vdso/d' "$T/oracle.out" | sort >"$T/oracle.set"
    sort "$T/out" >"$T/temper.set"
    if ! diff "$T/oracle.set" "$T/temper.set" >"$T/oracle.diff"; then
        fail "chroot oracle: temper --root and the loader inside the root disagree on $file (< loader, > temper)"
        detail "$T/oracle.diff" diff
        return 1
    fi
}

# materialize LIST FROM TO: copies every path of a `--format list` output from the root FROM
# into the empty root TO: files with their modes, symlinks as symlinks, parents as plain
# directories, exactly what an image of that list would hold.
materialize() {
    local line path target
    while IFS= read -r line; do
        case $line in
        *" -> "*)
            path=${line%% -> *}
            target=${line#* -> }
            mkdir -p "$3$(dirname "$path")" && ln -s "$target" "$3$path" || return 1
            ;;
        *) mkdir -p "$3$(dirname "$line")" && cp -p "$2$line" "$3$line" || return 1 ;;
        esac
    done <"$1"
}

# ---------------------------------------------------------------------------
# Building fixtures.

printf 'int temper_fixture_fn(void) { return 42; }\n' >"$T/src/lib.c"
printf 'int main(void) { return 0; }\n' >"$T/src/main.c"

# mklib OUT SONAME [LINKER ARGS...]: a tiny shared library; every -l given is recorded
# as DT_NEEDED (no --as-needed).
mklib() {
    local out=$1 soname=$2
    shift 2
    mkdir -p "$(dirname "$out")"
    if ! gcc -shared -fPIC -o "$out" -Wl,-soname,"$soname" "$T/src/lib.c" -Wl,--no-as-needed "$@" >>"$T/gcc.log" 2>&1; then
        fail "fixture: gcc could not build $out"
        detail "$T/gcc.log" gcc
        return 1
    fi
}

# mkexe OUT [GCC/LINKER ARGS...]: a tiny dynamic executable.
mkexe() {
    local out=$1
    shift
    mkdir -p "$(dirname "$out")"
    if ! gcc -o "$out" "$T/src/main.c" -Wl,--no-as-needed "$@" >>"$T/gcc.log" 2>&1; then
        fail "fixture: gcc could not build $out"
        detail "$T/gcc.log" gcc
        return 1
    fi
}

# dyn_has FILE TAG VALUE: readelf -d shows TAG (RPATH, RUNPATH, NEEDED...) with VALUE.
dyn_has() {
    if ! readelf -dW "$1" 2>/dev/null | grep -qF "($2)" ||
        ! readelf -dW "$1" 2>/dev/null | grep -F "($2)" | grep -qF "[$3]"; then
        fail "fixture: $1 has no $2 [$3]"
        readelf -dW "$1" >"$T/readelf.out" 2>&1
        detail "$T/readelf.out" readelf
        return 1
    fi
}
dyn_lacks() {
    if readelf -dW "$1" 2>/dev/null | grep -qF "($2)"; then
        fail "fixture: $1 unexpectedly has $2"
        return 1
    fi
}

# poke FILE OFFSET VALUE SIZE: writes VALUE little-endian over SIZE bytes at OFFSET.
poke() {
    local file=$1 off=$2 val=$3 size=$4 i bytes=""
    for ((i = 0; i < size; i++)); do
        bytes+=$(printf '\\x%02x' $(((val >> (8 * i)) & 255)))
    done
    printf '%b' "$bytes" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

# elfpatch.py: edits of an ELF64 little-endian file that need its headers read.
cat >"$T/elfpatch.py" <<'EOF'
import struct, sys

def phdrs(b):
    phoff, = struct.unpack_from("<Q", b, 32)
    phentsize, phnum = struct.unpack_from("<HH", b, 54)
    for i in range(phnum):
        off = phoff + i * phentsize
        yield off, struct.unpack_from("<IIQQQQQQ", b, off)

def dynamic(b):
    for off, (p_type, _, p_offset, _, _, p_filesz, _, _) in phdrs(b):
        if p_type == 2:
            for e in range(p_offset, p_offset + p_filesz, 16):
                yield e, struct.unpack_from("<qQ", b, e)
    return

cmd, path = sys.argv[1], sys.argv[2]
b = bytearray(open(path, "rb").read())
if cmd == "phdr":  # phdr FILE TYPE FIELD VALUE: set p_offset or p_filesz of the first phdr of TYPE
    ptype, field, value = int(sys.argv[3]), sys.argv[4], int(sys.argv[5], 0)
    where = {"offset": 8, "filesz": 32}[field]
    for off, ph in phdrs(b):
        if ph[0] == ptype:
            struct.pack_into("<Q", b, off + where, value)
            break
    else:
        sys.exit("no program header of type %d" % ptype)
elif cmd == "dyntag":  # dyntag FILE OLD NEW: retag the first dynamic entry tagged OLD
    old, new = int(sys.argv[3]), int(sys.argv[4])
    for off, (tag, _) in dynamic(b):
        if tag == old:
            struct.pack_into("<q", b, off, new)
            break
    else:
        sys.exit("no dynamic entry tagged %d" % old)
elif cmd == "dynval":  # dynval FILE TAG VALUE: set the value of the first dynamic entry tagged TAG
    tag, value = int(sys.argv[3]), int(sys.argv[4], 0)
    for off, (t, _) in dynamic(b):
        if t == tag:
            struct.pack_into("<Q", b, off + 8, value)
            break
    else:
        sys.exit("no dynamic entry tagged %d" % tag)
else:
    sys.exit("unknown command " + cmd)
open(path, "wb").write(b)
EOF

elfpatch() {
    if ! python3 "$T/elfpatch.py" "$@" >>"$T/gcc.log" 2>&1; then
        fail "fixture: elfpatch $* failed"
        detail "$T/gcc.log" log
        return 1
    fi
}

# mkroot ROOT: a minimal merged-/usr Debian root, with the host's libc and loader:
#   /bin -> usr/bin, /lib -> usr/lib, /lib64 -> usr/lib64,
#   /usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
mkroot() {
    local root=$1
    mkdir -p "$root/usr/bin" "$root/usr/lib/$MULTIARCH" "$root/usr/lib64" "$root/etc" || return 1
    ln -s usr/bin "$root/bin"
    ln -s usr/lib "$root/lib"
    ln -s usr/lib64 "$root/lib64"
    if ! cp -L "$HOST_LIBC" "$root/usr/lib/$MULTIARCH/libc.so.6" ||
        ! cp -L "$LOADER" "$root/usr/lib/$MULTIARCH/ld-linux-x86-64.so.2"; then
        fail "fixture: cannot copy the host libc and loader into $root"
        return 1
    fi
    ln -s "/lib/$MULTIARCH/ld-linux-x86-64.so.2" "$root/usr/lib64/ld-linux-x86-64.so.2"
}

# ---------------------------------------------------------------------------
# Cases.

# 1. DT_RUNPATH with $ORIGIN and ${ORIGIN}; $ORIGIN of an input is its canonical directory.
case_runpath_origin() {
    local d=$T/c1
    mklib "$d/lib/liborig.so.1" liborig.so.1 || return
    mkexe "$d/bin/app" -L"$d/lib" -l:liborig.so.1 -Wl,-rpath,'$ORIGIN/../lib' -Wl,--enable-new-dtags || return
    mkexe "$d/bin/app2" -L"$d/lib" -l:liborig.so.1 -Wl,-rpath,'${ORIGIN}/../lib' -Wl,--enable-new-dtags || return
    dyn_has "$d/bin/app" RUNPATH '$ORIGIN/../lib' || return
    dyn_has "$d/bin/app2" RUNPATH '${ORIGIN}/../lib' || return
    dyn_lacks "$d/bin/app" RPATH || return

    rt --format ldd "$d/bin/app"
    expect_rc 0 '$ORIGIN' && expect_ldd_file liborig.so.1 "$d/lib/liborig.so.1" '$ORIGIN'
    expect_out_line $'\t'"$LOADER" '$ORIGIN: interpreter line'
    rt --format ldd "$d/bin/app2"
    expect_rc 0 '${ORIGIN}' && expect_ldd_file liborig.so.1 "$d/lib/liborig.so.1" '${ORIGIN}'
    oracle "$d/bin/app"
    oracle "$d/bin/app2"

    # Through a symlink in another directory, $ORIGIN is still the canonical bin/ (as
    # /proc/self/exe says): $ORIGIN/../lib of the link's own directory does not exist.
    mkdir -p "$d/links/x"
    ln -s ../../bin/app "$d/links/x/app"
    rt --format ldd "$d/links/x/app"
    expect_rc 0 '$ORIGIN via a symlinked input' &&
        expect_ldd_file liborig.so.1 "$d/lib/liborig.so.1" '$ORIGIN via a symlinked input'
}

# 2. DT_RPATH versus DT_RUNPATH.
case_rpath_vs_runpath() {
    local d=$T/c2 A=$T/c2/A B=$T/c2/B M=$T/c2/M
    mklib "$A/libleaf.so.1" libleaf.so.1 || return
    mklib "$B/libleaf.so.1" libleaf.so.1 || return
    # libmid_rp has DT_RUNPATH=B; libmid_norp has neither; both need libleaf.
    mklib "$M/libmid_rp.so.1" libmid_rp.so.1 -L"$B" -l:libleaf.so.1 -Wl,-rpath,"$B" -Wl,--enable-new-dtags || return
    mklib "$M/libmid_norp.so.1" libmid_norp.so.1 -L"$B" -l:libleaf.so.1 || return
    dyn_has "$M/libmid_rp.so.1" RUNPATH "$B" || return
    dyn_lacks "$M/libmid_norp.so.1" RPATH || return
    dyn_lacks "$M/libmid_norp.so.1" RUNPATH || return

    # a) DT_RPATH=A:B on the executable: A first.
    mkexe "$d/rpath_a" -L"$A" -l:libleaf.so.1 -Wl,-rpath,"$A:$B" -Wl,--disable-new-dtags || return
    dyn_has "$d/rpath_a" RPATH "$A:$B" || return
    rt --format ldd "$d/rpath_a"
    expect_rc 0 'DT_RPATH' && expect_ldd_file libleaf.so.1 "$A/libleaf.so.1" 'DT_RPATH A:B'
    oracle "$d/rpath_a"

    # b) exe DT_RPATH=A:M -> libmid_rp (DT_RUNPATH=B) -> libleaf: the requester has a
    #    RUNPATH, so the RPATH chain is ignored and libleaf comes from B.
    mkexe "$d/classic" -L"$M" -l:libmid_rp.so.1 -Wl,-rpath-link,"$B" -Wl,-rpath,"$A:$M" -Wl,--disable-new-dtags || return
    dyn_has "$d/classic" RPATH "$A:$M" || return
    rt --format ldd "$d/classic"
    expect_rc 0 'RUNPATH of the requester' &&
        expect_ldd_file libmid_rp.so.1 "$M/libmid_rp.so.1" 'RUNPATH of the requester' &&
        expect_ldd_file libleaf.so.1 "$B/libleaf.so.1" 'RUNPATH of the requester wins over the RPATH of its loader'
    oracle "$d/classic"

    # c) the same with libmid_norp: libleaf from the executable's (inherited) RPATH A.
    mkexe "$d/inherit" -L"$M" -l:libmid_norp.so.1 -Wl,-rpath-link,"$B" -Wl,-rpath,"$A:$M" -Wl,--disable-new-dtags || return
    rt --format ldd "$d/inherit"
    expect_rc 0 'inherited RPATH' &&
        expect_ldd_file libleaf.so.1 "$A/libleaf.so.1" 'RPATH of the loader is inherited'
    oracle "$d/inherit"

    # d) an object with both DT_RPATH (=A) and DT_RUNPATH (=B): its RPATH is ignored. GNU ld
    #    writes only one of the two, so a DT_SONAME entry holding "A" is retagged DT_RPATH.
    mkexe "$d/both" -L"$A" -l:libleaf.so.1 -Wl,-soname,"$A" -Wl,-rpath,"$B" -Wl,--enable-new-dtags || return
    elfpatch dyntag "$d/both" 14 15 || return
    dyn_has "$d/both" RPATH "$A" || return
    dyn_has "$d/both" RUNPATH "$B" || return
    rt --format ldd "$d/both"
    expect_rc 0 'both RPATH and RUNPATH' &&
        expect_ldd_file libleaf.so.1 "$B/libleaf.so.1" 'DT_RPATH of an object with DT_RUNPATH is ignored'
    oracle "$d/both"

    # e) ... and not inherited either: exe RPATH=A (ignored) + RUNPATH=M -> libmid_norp ->
    #    libleaf, found neither in the (ignored) A nor in the default directories.
    mkexe "$d/both_inherit" -L"$M" -l:libmid_norp.so.1 -Wl,-rpath-link,"$B" -Wl,-soname,"$A" -Wl,-rpath,"$M" -Wl,--enable-new-dtags || return
    elfpatch dyntag "$d/both_inherit" 14 15 || return
    dyn_has "$d/both_inherit" RPATH "$A" || return
    rt --format ldd --allow-missing "$d/both_inherit"
    expect_rc 0 'ignored RPATH is not inherited' &&
        expect_out_line $'\tlibleaf.so.1 => not found' 'ignored RPATH of a RUNPATH object is not inherited'
    oracle "$d/both_inherit"
}

# 3. exe -> liba -> libb -> libcc, all found, breadth first.
case_chain_bfs() {
    local d=$T/c3 L=$T/c3/lib
    mklib "$L/libcc.so.1" libcc.so.1 || return
    mklib "$L/libb.so.1" libb.so.1 -L"$L" -l:libcc.so.1 -Wl,-rpath,'$ORIGIN' -Wl,--enable-new-dtags || return
    mklib "$L/liba.so.1" liba.so.1 -L"$L" -l:libb.so.1 -Wl,-rpath,'$ORIGIN' -Wl,--enable-new-dtags || return
    mklib "$L/libzf.so.1" libzf.so.1 || return
    # exe needs liba and libzf: breadth first is liba, libzf, libc, libb, libcc (depth
    # first would put libb and libcc before libzf).
    mkexe "$d/app" -L"$L" -l:liba.so.1 -l:libzf.so.1 -Wl,-rpath-link,"$L" -Wl,-rpath,'$ORIGIN/lib' -Wl,--enable-new-dtags || return
    rt --format ldd "$d/app"
    expect_rc 0 'chain' || return
    expect_ldd_file liba.so.1 "$L/liba.so.1" 'chain: liba'
    expect_ldd_file libb.so.1 "$L/libb.so.1" 'chain: libb'
    expect_ldd_file libcc.so.1 "$L/libcc.so.1" 'chain: libcc'
    expect_ldd_file libzf.so.1 "$L/libzf.so.1" 'chain: libzf'
    local order
    order=$(ldd_names | grep -E '^lib(a|b|cc|zf)\.so\.1$' | paste -sd ' ' -)
    if [ "$order" != "liba.so.1 libzf.so.1 libb.so.1 libcc.so.1" ]; then
        fail "chain: load order '$order', expected breadth first 'liba.so.1 libzf.so.1 libb.so.1 libcc.so.1'"
        detail "$T/out" stdout
    fi
    if [ "$(ldd_names | sort | uniq -d)" != "" ]; then
        fail "chain: a library is listed twice"
        detail "$T/out" stdout
    fi
    oracle "$d/app" && oracle_order "$d/app"

    # Two inputs: a `FILE:` header before each.
    rt --format ldd "$d/app" "$L/libb.so.1"
    expect_rc 0 'two inputs' &&
        expect_out_line "$d/app:" 'two inputs: header' &&
        expect_out_line "$L/libb.so.1:" 'two inputs: header'
}

# 4. A missing library: exit 1 with a message naming it, its requester and the search;
#    with --allow-missing, `=> not found`.
case_missing() {
    local d=$T/c4 L=$T/c4/lib
    mklib "$L/libgone.so.1" libgone.so.1 || return
    mklib "$L/libhasgone.so.1" libhasgone.so.1 -L"$L" -l:libgone.so.1 -Wl,-rpath,'$ORIGIN' -Wl,--enable-new-dtags || return
    mkexe "$d/app" -L"$L" -l:libgone.so.1 -Wl,-rpath,'$ORIGIN/lib' -Wl,--enable-new-dtags || return
    mkexe "$d/app2" -L"$L" -l:libhasgone.so.1 -Wl,-rpath-link,"$L" -Wl,-rpath,'$ORIGIN/lib' -Wl,--enable-new-dtags || return
    rm "$L/libgone.so.1"

    rt --format ldd "$d/app"
    expect_rc 1 'missing library without --allow-missing'
    expect_error_form 'missing library'
    expect_err "libgone.so.1" 'missing library: soname'
    expect_err "$d/app" 'missing library: the object that needs it'
    expect_err "searched" 'missing library: the search'
    expect_err "$L" 'missing library: the RUNPATH directory searched'
    rt --format list "$d/app"
    expect_rc 1 'missing library, list format'

    rt --format ldd --allow-missing "$d/app"
    expect_rc 0 '--allow-missing' &&
        expect_out_line $'\tlibgone.so.1 => not found' '--allow-missing'
    oracle "$d/app"

    # Missing one level down: the message names the library that needs it.
    rt --format ldd "$d/app2"
    expect_rc 1 'missing indirect library'
    expect_err "libgone.so.1" 'missing indirect library: soname'
    expect_err "$L/libhasgone.so.1" 'missing indirect library: the library that needs it'
    rt --format json --allow-missing "$d/app2"
    expect_rc 0 'missing indirect library, json'
    if ! python3 - "$T/out" "$L/libhasgone.so.1" <<'EOF' >"$T/py.out" 2>&1; then
import json, os, sys
doc = json.load(open(sys.argv[1]))
miss = doc["inputs"][0]["missing"]
assert [m["name"] for m in miss] == ["libgone.so.1"], miss
assert os.path.realpath(miss[0]["needed_by"]) == sys.argv[2], miss
EOF
        fail "missing indirect library: json 'missing' is not [{libgone.so.1, needed_by libhasgone}]"
        detail "$T/py.out" python
        detail "$T/out" stdout
    fi
    oracle "$d/app2"
}

# 5. Candidates of another machine or class earlier in the search path are skipped.
case_wrong_machine() {
    local d=$T/c5
    mklib "$d/good/libwm.so.1" libwm.so.1 || return
    mkdir -p "$d/arm64" "$d/elf32" "$d/class_patched"
    # e_machine (offset 18) = EM_AARCH64 (183): a valid ELF64 file for another machine.
    cp "$d/good/libwm.so.1" "$d/arm64/libwm.so.1"
    poke "$d/arm64/libwm.so.1" 18 183 2
    # A genuine ELFCLASS32 i386 library: gcc -m32 needs no 32-bit libc with -nostdlib. Where
    # even that cannot be built, the EI_CLASS-patched copy below is the class test.
    local path32="$d/elf32:"
    if ! gcc -m32 -shared -fPIC -nostdlib -o "$d/elf32/libwm.so.1" -Wl,-soname,libwm.so.1 "$T/src/lib.c" >>"$T/gcc.log" 2>&1; then
        note "gcc -m32 -nostdlib -shared does not work here: no genuine ELFCLASS32 candidate, only the EI_CLASS-patched one"
        path32=""
    fi
    mkexe "$d/app" -L"$d/good" -l:libwm.so.1 -Wl,-rpath,"$d/arm64:$path32$d/good" -Wl,--enable-new-dtags || return

    rt --format ldd "$d/app"
    expect_rc 0 'wrong machine and class skipped' &&
        expect_ldd_file libwm.so.1 "$d/good/libwm.so.1" 'an EM_AARCH64 and an ELFCLASS32 candidate are skipped'
    oracle "$d/app"
    rt --format list "$d/app"
    if grep -qE "$d/(arm64|elf32)" "$T/out"; then
        fail "list format names a skipped candidate"
        detail "$T/out" stdout
    fi

    # A 64-bit library whose EI_CLASS byte says ELFCLASS32: ld.so looks at the class in
    # e_ident before anything else and skips the file as "another class" (it is not read
    # further, so its being malformed as ELF32 does not matter).
    cp "$d/good/libwm.so.1" "$d/class_patched/libwm.so.1"
    poke "$d/class_patched/libwm.so.1" 4 1 1
    mkexe "$d/app_patched" -L"$d/good" -l:libwm.so.1 -Wl,-rpath,"$d/class_patched:$d/good" -Wl,--enable-new-dtags || return
    rt --format ldd "$d/app_patched"
    expect_rc 0 'EI_CLASS-patched candidate skipped' &&
        expect_ldd_file libwm.so.1 "$d/good/libwm.so.1" 'EI_CLASS-patched candidate skipped'
    oracle "$d/app_patched"
}

# strace_check LOG ROOT: no path outside ROOT was looked up or opened once temper had
# opened ROOT (before: temper's own libraries); none ever named a fixture's host-only file.
strace_check() {
    python3 - "$1" "$2" "$3" <<'EOF' >"$T/strace.verdict" 2>&1
import re, sys
log, root, hostonly = sys.argv[1], sys.argv[2], sys.argv[3]
call = re.compile(r'^(?:\[pid +\d+\] |\d+ +)?(\w+)\((.*)\) += (-?\d+)(?:<([^>]*)>)?')
fdarg = re.compile(r'^(AT_FDCWD|\d+)<([^>]*)>, "((?:[^"\\]|\\.)*)"')
strarg = re.compile(r'^"((?:[^"\\]|\\.)*)"')
def under(p, d):
    return p == d or p.startswith(d.rstrip('/') + '/')
allowed_host = ('/proc', '/sys', '/dev', '/usr/lib/locale', '/usr/share/locale', '/usr/lib/x86_64-linux-gnu/gconv')
inside = False
bad = []
for line in open(log):
    m = call.match(line)
    if not m:
        continue
    name, args, ret, retpath = m.groups()
    paths = []
    f = fdarg.match(args)
    s = strarg.match(args)
    if f:
        base, rel = f.group(2), f.group(3)
        paths.append(rel if rel.startswith('/') else (base.rstrip('/') + '/' + rel if rel else base))
    elif s:
        paths.append(s.group(1))
    if retpath:
        paths.append(retpath)
    for p in paths:
        if under(p, hostonly) or p == '/etc/passwd' or 'libescape' in p and not under(p, root):
            bad.append(line.strip())
        elif inside and not under(p, root) and not any(under(p, a) for a in allowed_host):
            bad.append(line.strip())
    if retpath and retpath == root and name.startswith('open'):
        inside = True
if not inside:
    print("never saw temper open the root " + root)
    sys.exit(1)
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
EOF
}

# 6. A sysroot whose symlinks point outside it: everything resolves inside the root.
case_sysroot_escape() {
    local d=$T/c6 R=$T/c6/root H=$T/c6/hostonly
    mkroot "$R" || return
    # Host-only files, outside the root: valid libraries whose sonames say "host". Files
    # reached by file symlinks are in $H/files, by directory symlinks in $H/dir and $H/reldir.
    mklib "$H/files/libescape.so.1" libhost-escape.so.1 || return
    mklib "$H/files/librel.so.1" libhost-rel.so.1 || return
    mklib "$H/dir/libviadir.so.1" libhost-viadir.so.1 || return
    mklib "$H/reldir/libviarel.so.1" libhost-viarel.so.1 || return
    mkexe "$H/files/hostexe" || return
    # The fixture's own copies of them, to link against.
    mklib "$d/build/libescape.so.1" libescape.so.1 || return
    mklib "$d/build/libpasswd.so.1" libpasswd.so.1 || return
    mklib "$d/build/librel.so.1" librel.so.1 || return
    mklib "$d/build/libviadir.so.1" libviadir.so.1 || return
    mklib "$d/build/libviarel.so.1" libviarel.so.1 || return
    mkexe "$R/usr/bin/app" -L"$d/build" -l:libescape.so.1 -l:libpasswd.so.1 -l:librel.so.1 \
        -l:libviadir.so.1 -l:libviarel.so.1 -Wl,-rpath,/opt/esc:/opt/relesc -Wl,--enable-new-dtags || return
    # `up`: more `..` than $ML is deep, so that on the host these would reach /.
    local ML=$R/usr/lib/$MULTIARCH up=.. i
    for ((i = 0; i < $(tr -cd / <<<"$ML" | wc -c) + 2; i++)); do up+=/..; done
    ln -s "$H/files/libescape.so.1" "$ML/libescape.so.1" # absolute, exists on the host
    ln -s /etc/passwd "$ML/libpasswd.so.1"                # absolute, a host text file
    ln -s "$up$H/files/librel.so.1" "$ML/librel.so.1"     # relative, climbs past the root
    mkdir -p "$R/opt"
    ln -s "$H/dir" "$R/opt/esc"                           # directory symlinks, in DT_RUNPATH
    ln -s "$up$H/reldir" "$R/opt/relesc"
    ln -s "$H/files/hostexe" "$R/usr/bin/esc"             # an input that escapes

    # None of those targets exists inside the root: all five libraries are missing.
    rt --root "$R" --format ldd "/usr/bin/app"
    expect_rc 1 'escaping symlinks, without --allow-missing'
    expect_error_form 'escaping symlinks'
    if grep -qE 'not an ELF|passwd.*ELF' "$T/err"; then
        fail "escaping symlinks: temper read the host's /etc/passwd"
        detail "$T/err" stderr
    fi
    rt --root "$R" --format ldd --allow-missing "/usr/bin/app"
    if expect_rc 0 'escaping symlinks, --allow-missing'; then
        local n
        for n in libescape libpasswd librel libviadir libviarel; do
            expect_out_line $'\t'"$n.so.1 => not found" "escaping symlink ($n) must not leave the root"
        done
        expect_out_line $'\t/lib64/ld-linux-x86-64.so.2' 'sysroot: interpreter'
    fi
    rt --root "$R" --format json --allow-missing "/usr/bin/app"
    if grep -q 'libhost-' "$T/out"; then
        fail "escaping symlinks: json shows a host library (soname libhost-*)"
        detail "$T/out" stdout
    fi
    rt --root "$R" --format list --allow-missing "/usr/bin/app"
    if grep -q "^$T/c6/root" "$T/out"; then
        fail "list format shows host paths of the root instead of paths inside it"
        detail "$T/out" stdout
    fi
    expect_out_line "/usr/lib/$MULTIARCH/libc.so.6" 'sysroot: in-root libc'

    # strace: with the root open, no lookup or open leaves it.
    if ! command -v strace >/dev/null; then
        fail "strace is not installed: cannot check that nothing outside the root is opened"
    else
        timeout 20 strace -f -qq -y -o "$T/strace.log" \
            -e trace=open,openat,openat2,creat,stat,lstat,newfstatat,statx,fstatat64,readlink,readlinkat,access,faccessat,faccessat2,execve,chdir \
            "$TEMPER" resolve --root "$R" --format list --allow-missing /usr/bin/app >/dev/null 2>"$T/strace.err"
        if [ ! -s "$T/strace.log" ]; then
            fail "strace produced no trace"
            detail "$T/strace.err" strace
        elif ! strace_check "$T/strace.log" "$R" "$H"; then
            fail "strace: temper looked outside the root"
            detail "$T/strace.verdict" "offending calls"
        fi
    fi

    # The input itself escapes: not found inside the root; a `..` past the root stops there.
    rt --root "$R" --format ldd /usr/bin/esc
    expect_rc 1 'escaping input symlink' && expect_error_form 'escaping input symlink'
    rt --root "$R" --format ldd "/../../../../../../../..$H/files/hostexe"
    expect_rc 1 'input with .. past the root' && expect_error_form 'input with .. past the root'

    # Plant the targets inside the root: now they resolve, to the in-root files.
    mkdir -p "$R$H/files" "$R$H/dir" "$R$H/reldir"
    cp "$d/build/libescape.so.1" "$d/build/librel.so.1" "$R$H/files/"
    cp "$d/build/libviadir.so.1" "$R$H/dir/"
    cp "$d/build/libviarel.so.1" "$R$H/reldir/"
    cp "$d/build/libpasswd.so.1" "$R/etc/passwd"
    rt --root "$R" --format json "/usr/bin/app"
    if expect_rc 0 'symlink targets planted inside the root'; then
        if ! python3 - "$T/out" "$H" <<'EOF' >"$T/py.out" 2>&1; then
import json, sys
doc = json.load(open(sys.argv[1]))
H = sys.argv[2]
objs = {o["name"]: o for o in doc["inputs"][0]["objects"]}
want = {
    "libescape.so.1": (H + "/files/libescape.so.1", "libescape.so.1"),
    "libpasswd.so.1": ("/etc/passwd", "libpasswd.so.1"),
    "librel.so.1": (H + "/files/librel.so.1", "librel.so.1"),
    "libviadir.so.1": (H + "/dir/libviadir.so.1", "libviadir.so.1"),
    "libviarel.so.1": (H + "/reldir/libviarel.so.1", "libviarel.so.1"),
}
for name, (canon, soname) in want.items():
    o = objs.get(name)
    assert o is not None, "%s not loaded" % name
    assert (o["canonical"], o["soname"]) == (canon, soname), (name, o["canonical"], o["soname"])
EOF
            fail "planted in-root targets: wrong files (a host file, or not the in-root one)"
            detail "$T/py.out" python
        fi
    fi
    rt --root "$R" --format list "/usr/bin/app"
    expect_rc 0 'planted, list format' || return
    expect_out_line "/usr/lib/$MULTIARCH/libescape.so.1 -> $H/files/libescape.so.1" 'planted: absolute file symlink listed'
    expect_out_line "/usr/lib/$MULTIARCH/librel.so.1 -> $up$H/files/librel.so.1" 'planted: relative file symlink listed'
    expect_out_line "/opt/esc -> $H/dir" 'planted: absolute directory symlink listed'
    expect_out_line "/opt/relesc -> $up$H/reldir" 'planted: relative directory symlink listed'
    expect_out_line "/etc/passwd" 'planted: in-root /etc/passwd listed'
    expect_out_line "$H/files/libescape.so.1" 'planted: in-root target listed'
}

# 7. Symlink loops: a clean error or "not found", never a hang or a crash.
case_symlink_loop() {
    local d=$T/c7
    mklib "$d/build/libloop.so.1" libloop.so.1 || return
    mkdir -p "$d/loop" "$d/good"
    ln -s libloop2.so.1 "$d/loop/libloop.so.1"
    ln -s libloop.so.1 "$d/loop/libloop2.so.1"
    mkexe "$d/app" -L"$d/build" -l:libloop.so.1 -Wl,-rpath,"$d/loop" -Wl,--enable-new-dtags || return

    rt --format ldd "$d/app"
    if [ "$RC" -eq 0 ]; then
        fail "symlink loop: exit 0 without --allow-missing"
        detail "$T/out" stdout
    fi
    expect_error_form 'symlink loop'
    expect_err "libloop.so.1" 'symlink loop: names the library'
    rt --format ldd --allow-missing "$d/app"
    if [ "$RC" -eq 0 ]; then
        expect_out_line $'\tlibloop.so.1 => not found' 'symlink loop, --allow-missing'
        oracle "$d/app"
    else
        expect_error_form 'symlink loop, --allow-missing'
        expect_err "libloop.so.1" 'symlink loop, --allow-missing: names the library'
    fi

    # The loop in the first RUNPATH directory, a good copy in the second: ld.so's
    # open_path gives up on the whole list at an error other than ENOENT/EACCES (here
    # ELOOP), then goes on with the default directories. The host loader decides.
    cp "$d/build/libloop.so.1" "$d/good/"
    mkexe "$d/app2" -L"$d/build" -l:libloop.so.1 -Wl,-rpath,"$d/loop:$d/good" -Wl,--enable-new-dtags || return
    oracle "$d/app2"

    # A looping input: a clear error naming it.
    ln -s in2 "$d/in1"
    ln -s in1 "$d/in2"
    rt --format ldd "$d/in1"
    expect_rc 1 'looping input' && expect_error_form 'looping input' && expect_err "'$d/in1'" 'looping input: names it'
}

# 8. A DT_NEEDED cycle: liba <-> libb.
case_needed_cycle() {
    local d=$T/c8 L=$T/c8/lib
    mklib "$L/libcyb.so.1" libcyb.so.1 || return
    mklib "$L/libcya.so.1" libcya.so.1 -L"$L" -l:libcyb.so.1 -Wl,-rpath,'$ORIGIN' -Wl,--enable-new-dtags || return
    mklib "$L/libcyb.so.1" libcyb.so.1 -L"$L" -l:libcya.so.1 -Wl,-rpath,'$ORIGIN' -Wl,--enable-new-dtags || return
    dyn_has "$L/libcyb.so.1" NEEDED libcya.so.1 || return
    dyn_has "$L/libcya.so.1" NEEDED libcyb.so.1 || return
    mkexe "$d/app" -L"$L" -l:libcya.so.1 -Wl,-rpath-link,"$L" -Wl,-rpath,'$ORIGIN/lib' -Wl,--enable-new-dtags || return
    rt --format ldd "$d/app"
    expect_rc 0 'DT_NEEDED cycle' || return
    expect_ldd_file libcya.so.1 "$L/libcya.so.1" 'cycle: libcya'
    expect_ldd_file libcyb.so.1 "$L/libcyb.so.1" 'cycle: libcyb'
    if [ "$(ldd_names | sort | uniq -d)" != "" ]; then
        fail "cycle: a library is listed twice"
        detail "$T/out" stdout
    fi
    oracle "$d/app" && oracle_order "$d/app"
    rt --format list "$d/app"
    expect_rc 0 'cycle, list format'
    if [ "$(grep -c 'libcy[ab]\.so\.1$' "$T/out")" -ne 2 ]; then
        fail "cycle, list format: libcya and libcyb not listed once each"
        detail "$T/out" stdout
    fi
}

# expect_elf_error FILE WHAT: resolving FILE fails cleanly, naming it.
expect_elf_error() {
    rt --format ldd "$1"
    expect_rc 1 "$2" || return
    expect_error_form "$2"
    expect_err "'$1'" "$2: names the file in quotes"
}

# 9. Truncated and corrupted ELF files, as inputs and as needed libraries.
case_corrupt() {
    local d=$T/c9 size
    mkdir -p "$d"
    mkexe "$d/good" || return
    mklib "$d/build/libcorrupt.so.1" libcorrupt.so.1 || return
    size=$(stat -c %s "$d/good")
    head -c 20 "$d/good" >"$d/trunc20"
    head -c 100 "$d/good" >"$d/trunc100"
    head -c $((size / 2)) "$d/good" >"$d/half"
    printf 'hello, not an ELF file\n' >"$d/text"
    : >"$d/empty"
    printf '\177ELF' >"$d/magic_only"
    cp "$d/good" "$d/phoff_past_end" && poke "$d/phoff_past_end" 32 $((size + 4096)) 8
    cp "$d/good" "$d/phoff_huge" && poke "$d/phoff_huge" 32 $((0x7fffffffffffff00)) 8
    cp "$d/good" "$d/phnum_huge" && poke "$d/phnum_huge" 56 65534 2
    # 0xffff is PN_XNUM (the count is in section 0's sh_info, here 0): the kernel and ld.so
    # refuse an image with it, so it is no "statically linked" file either.
    cp "$d/good" "$d/phnum_xnum" && poke "$d/phnum_xnum" 56 65535 2
    cp "$d/good" "$d/phentsize_bad" && poke "$d/phentsize_bad" 54 1 2
    cp "$d/good" "$d/interp_past_end" && elfpatch phdr "$d/interp_past_end" 3 offset $((size + 100)) || return
    cp "$d/good" "$d/interp_huge_size" && elfpatch phdr "$d/interp_huge_size" 3 filesz $((0x7fffffffffff)) || return
    cp "$d/good" "$d/dynamic_past_end" && elfpatch phdr "$d/dynamic_past_end" 2 offset $((size + 100)) || return
    cp "$d/good" "$d/strtab_wild" && elfpatch dynval "$d/strtab_wild" 5 0x7fffffff0000 || return
    cp "$d/good" "$d/needed_wild" && elfpatch dynval "$d/needed_wild" 1 0x7fffffff || return
    mkdir -p "$d/adir"
    local f
    for f in trunc20 trunc100 half text empty magic_only phoff_past_end phoff_huge phnum_huge phnum_xnum \
        phentsize_bad interp_past_end interp_huge_size dynamic_past_end strtab_wild needed_wild adir; do
        expect_elf_error "$d/$f" "corrupt input $f"
    done
    # A DT_STRSZ far larger than the file: ld.so does not check it, so either answer is
    # acceptable, as long as it is not a crash (rt checks that).
    cp "$d/good" "$d/strsz_huge" && elfpatch dynval "$d/strsz_huge" 10 0x7fffffffffff || return
    rt --format ldd "$d/strsz_huge"
    rt --format ldd "$d/does-not-exist"
    expect_rc 1 'nonexistent input' && expect_err "'$d/does-not-exist'" 'nonexistent input: names it'

    # As a needed library found in the search path: an error naming the library file
    # (ld.so too fails: "file too short", "invalid ELF header"), --allow-missing or not.
    local kind
    for kind in trunc100 text empty; do
        mkdir -p "$d/lib_$kind"
        case $kind in
        trunc100) head -c 100 "$d/build/libcorrupt.so.1" >"$d/lib_$kind/libcorrupt.so.1" ;;
        text) printf 'not a library\n' >"$d/lib_$kind/libcorrupt.so.1" ;;
        empty) : >"$d/lib_$kind/libcorrupt.so.1" ;;
        esac
        mkexe "$d/app_$kind" -L"$d/build" -l:libcorrupt.so.1 -Wl,-rpath,"$d/lib_$kind" -Wl,--enable-new-dtags || return
        rt --format ldd "$d/app_$kind"
        expect_rc 1 "corrupt needed library ($kind)" &&
            expect_error_form "corrupt needed library ($kind)" &&
            expect_err "$d/lib_$kind/libcorrupt.so.1" "corrupt needed library ($kind): names the library file"
        rt --format ldd --allow-missing "$d/app_$kind"
        expect_rc 1 "corrupt needed library ($kind) with --allow-missing"
    done
}

# 10. A static executable, and a static PIE.
case_static() {
    local d=$T/c10
    mkdir -p "$d"
    if ! gcc -static -o "$d/static" "$T/src/main.c" >>"$T/gcc.log" 2>&1; then
        fail "fixture: gcc -static does not work (libc.a missing?)"
        detail "$T/gcc.log" gcc
        return
    fi
    rt --format ldd "$d/static"
    expect_rc 0 'static' && expect_out_line $'\tstatically linked' 'static: ldd format'
    if [ "$(wc -l <"$T/out")" -ne 1 ]; then
        fail "static: ldd output has more than the one line"
        detail "$T/out" stdout
    fi
    rt --format list "$d/static"
    expect_rc 0 'static list'
    if [ "$(cat "$T/out")" != "$d/static" ]; then
        fail "static: list format is not just the file itself"
        detail "$T/out" stdout
    fi
    rt --format json "$d/static"
    if expect_rc 0 'static json'; then
        python3 - "$T/out" <<'EOF' >"$T/py.out" 2>&1 || { fail "static: json"; detail "$T/py.out" python; }
import json, sys
i = json.load(open(sys.argv[1]))["inputs"][0]
assert i["interpreter"] is None, i["interpreter"]
assert len(i["objects"]) == 1 and i["objects"][0]["needed"] == [], i["objects"]
EOF
    fi
    if gcc -static-pie -o "$d/static-pie" "$T/src/main.c" >>"$T/gcc.log" 2>&1; then
        rt --format ldd "$d/static-pie"
        expect_rc 0 'static-pie' && expect_out_line $'\tstatically linked' 'static-pie: ldd format'
    else
        fail "fixture: gcc -static-pie does not work"
        detail "$T/gcc.log" gcc
    fi
}

# 11. The list format shows every symlink on the way, directory symlinks included.
case_list_symlinks() {
    local R=$T/c11/root ML
    mkroot "$R" || return
    ML=$R/usr/lib/$MULTIARCH
    mklib "$ML/libfoo.so.1.2.3" libfoo.so.1 || return
    ln -s libfoo.so.1.2.3 "$ML/libfoo.so.1"
    mkexe "$R/usr/bin/app" -L"$ML" -l:libfoo.so.1 || return
    rt --root "$R" --format list /bin/app
    expect_rc 0 'list with symlinks' || return
    cat >"$T/expected" <<EOF
/bin -> usr/bin
/lib -> usr/lib
/lib64 -> usr/lib64
/usr/bin/app
/usr/lib/$MULTIARCH/ld-linux-x86-64.so.2
/usr/lib/$MULTIARCH/libc.so.6
/usr/lib/$MULTIARCH/libfoo.so.1 -> libfoo.so.1.2.3
/usr/lib/$MULTIARCH/libfoo.so.1.2.3
/usr/lib64/ld-linux-x86-64.so.2 -> /lib/$MULTIARCH/ld-linux-x86-64.so.2
EOF
    if ! diff "$T/expected" "$T/out" >"$T/list.diff"; then
        fail "list format: not the expected files and symlinks (< expected, > temper)"
        detail "$T/list.diff" diff
    fi
    if ! sort -c "$T/out" 2>/dev/null; then
        fail "list format: not sorted bytewise"
    fi
    rt --root "$R" --format ldd /bin/app
    expect_rc 0 'ldd in a root' &&
        expect_out_line $'\tlibfoo.so.1 => /lib/'"$MULTIARCH/libfoo.so.1" 'ldd in a root: path as opened' &&
        expect_out_line $'\t/lib64/ld-linux-x86-64.so.2' 'ldd in a root: interpreter'
}

# 12. /etc/ld.so.conf with an include glob, inside a root.
case_ldso_conf() {
    local R=$T/c12/root
    mkroot "$R" || return
    mkdir -p "$R/etc/ld.so.conf.d"
    printf '# fixture\ninclude /etc/ld.so.conf.d/*.conf\ninclude /etc/nonexistent.d/*.conf\ninclude /etc/missing.conf\n' >"$R/etc/ld.so.conf"
    printf '/opt/custom/lib\n' >"$R/etc/ld.so.conf.d/10-custom.conf"
    printf '/opt/second/lib/   # trailing slash and a comment\n' >"$R/etc/ld.so.conf.d/20-second.conf"
    printf '/opt/decoy/lib\n' >"$R/etc/ld.so.conf.d/decoy.conf.disabled"
    mklib "$R/opt/custom/lib/libcustom.so.1" libcustom.so.1 || return
    mklib "$R/opt/second/lib/libcustom.so.1" libcustom.so.1 || return # later in the conf order
    mklib "$R/opt/second/lib/libsecond.so.1" libsecond.so.1 || return
    mklib "$R/opt/decoy/lib/libdecoy.so.1" libdecoy.so.1 || return
    mkexe "$R/usr/bin/app" -L"$R/opt/custom/lib" -l:libcustom.so.1 -L"$R/opt/second/lib" -l:libsecond.so.1 \
        -L"$R/opt/decoy/lib" -l:libdecoy.so.1 || return
    rt --root "$R" --format ldd --allow-missing /usr/bin/app
    expect_rc 0 'ld.so.conf include' || return
    expect_out_line $'\tlibcustom.so.1 => /opt/custom/lib/libcustom.so.1' 'ld.so.conf: include glob, first file first'
    expect_out_line $'\tlibsecond.so.1 => /opt/second/lib/libsecond.so.1' 'ld.so.conf: second included file'
    expect_out_line $'\tlibdecoy.so.1 => not found' 'ld.so.conf: a file the glob does not match is not read'
    rm "$R/opt/decoy/lib/libdecoy.so.1"
    mkexe "$R/usr/bin/app2" -L"$R/opt/custom/lib" -l:libcustom.so.1 || return
    mkexe "$R/usr/bin/app3" -L"$R/opt/custom/lib" -l:libcustom.so.1 -L"$R/opt/second/lib" -l:libsecond.so.1 || return
    rt --root "$R" --format ldd /usr/bin/app2
    expect_rc 0 'ld.so.conf, without --allow-missing' &&
        expect_out_line $'\tlibcustom.so.1 => /opt/custom/lib/libcustom.so.1' 'ld.so.conf, without --allow-missing'
    chroot_oracle "$R" /usr/bin/app3
}

# 13. The json format: valid JSON with the expected graph.
case_json() {
    local d=$T/c13 L=$T/c13/lib
    mklib "$L/libjb.so.1.0" libjb.so.1 || return
    ln -s libjb.so.1.0 "$L/libjb.so.1"
    mklib "$L/libja.so.1" libja.so.1 -L"$L" -l:libjb.so.1 -Wl,-rpath,'$ORIGIN' -Wl,--enable-new-dtags || return
    mkexe "$d/app" -L"$L" -l:libja.so.1 -Wl,-rpath-link,"$L" -Wl,-rpath,'$ORIGIN/lib' -Wl,--enable-new-dtags || return
    rt --format json "$d/app"
    expect_rc 0 'json' || return
    if ! python3 -c 'import json,sys; json.load(sys.stdin)' <"$T/out" 2>"$T/py.out"; then
        fail "json: does not parse"
        detail "$T/py.out" python
        return
    fi
    if ! python3 - "$T/out" "$d" "$LOADER" <<'EOF' >"$T/py.out" 2>&1; then
import json, os, sys
doc = json.load(open(sys.argv[1]))
d, loader = sys.argv[2], sys.argv[3]
assert len(doc["inputs"]) == 1
i = doc["inputs"][0]
assert i["path"] == d + "/app", i["path"]
assert i["interpreter"] == loader, i["interpreter"]
assert i["missing"] == [], i["missing"]
keys = {"path", "canonical", "name", "soname", "class", "machine", "needed"}
for o in i["objects"]:
    assert keys <= set(o), (o.get("path"), keys - set(o))
objs = {o["name"]: o for o in i["objects"]}
app = i["objects"][0]
assert app["canonical"] == d + "/app", app
def edge(o, name):
    es = [e for e in o["needed"] if e["name"] == name]
    assert len(es) == 1, (o["path"], o["needed"])
    return es[0]["path"]
assert os.path.realpath(edge(app, "libja.so.1")) == d + "/lib/libja.so.1", app["needed"]
ja = objs["libja.so.1"]
assert ja["soname"] == "libja.so.1" and ja["class"] == "ELF64" and ja["machine"] == "x86_64", ja
assert os.path.realpath(edge(ja, "libjb.so.1")) == d + "/lib/libjb.so.1.0", ja["needed"]
jb = objs["libjb.so.1"]
assert jb["canonical"] == d + "/lib/libjb.so.1.0", jb
assert jb["soname"] == "libjb.so.1", jb
paths = {p["path"]: p["target"] for p in doc["paths"]}
assert paths.get(d + "/lib/libjb.so.1", 0) == "libjb.so.1.0", "symlink missing from paths"
assert d + "/lib/libjb.so.1.0" in paths and paths[d + "/lib/libjb.so.1.0"] is None
EOF
        fail "json: the graph is not as expected"
        detail "$T/py.out" python
        detail "$T/out" stdout
    fi
    # The bytes: the form jansson writes with JSON_INDENT(2), sorted keys and ASCII only (what
    # temper wrote before it wrote the document as a stream): Python's json.dumps with the same
    # options, its \u escapes in uppercase hex and DEL unescaped. With a name of quotes,
    # backslashes, controls, DEL, characters beyond ASCII and beyond the BMP, a bidi control.
    cp "$d/app" "$d/q\"b\\c"$'\x01\x1f\x7f\t'"é-😀-"$'\xe2\x80\xae'
    rt --format json "$d/app" "$d/q\"b\\c"$'\x01\x1f\x7f\t'"é-😀-"$'\xe2\x80\xae'
    expect_rc 0 'json of a hostile name' || return
    if ! python3 - "$T/out" <<'EOF' >"$T/py.out" 2>&1; then
import json, re, sys
out = open(sys.argv[1], encoding="ascii").read()
want = json.dumps(json.loads(out), indent=2, sort_keys=True, ensure_ascii=True) + "\n"
# uppercase hex, and DEL as it is (jansson escapes only below 0x20 and beyond ASCII)
want = re.sub(r"(?<!\\)((?:\\\\)*)\\u([0-9a-f]{4})",
              lambda m: m.group(1) + ("\x7f" if m.group(2) == "007f" else
                                      "\\u" + m.group(2).upper()), want)
assert out == want, next(f"byte {i}: {out[i-40:i+40]!r} != {want[i-40:i+40]!r}"
                         for i in range(len(out)) if out[i:i + 1] != want[i:i + 1])
EOF
        fail "json: not the bytes of jansson's form"
        detail "$T/py.out" python
    fi
}

# 14. $LIB and $PLATFORM, checked against the host loader.
case_lib_platform() {
    local d=$T/c14
    mklib "$d/lib/$MULTIARCH/libdl_lib.so.1" libdl_lib.so.1 || return
    mklib "$d/x86_64/libdl_plat.so.1" libdl_plat.so.1 || return
    mkexe "$d/app" -L"$d/lib/$MULTIARCH" -l:libdl_lib.so.1 -L"$d/x86_64" -l:libdl_plat.so.1 \
        -Wl,-rpath,'$ORIGIN/$LIB:$ORIGIN/${PLATFORM}' -Wl,--enable-new-dtags || return
    dyn_has "$d/app" RUNPATH '$ORIGIN/$LIB:$ORIGIN/${PLATFORM}' || return
    # $PLATFORM is AT_PLATFORM (x86_64), which temper expands it to, unless glibc 2.36 takes
    # another from the CPU: haswell on an Intel CPU with AVX2, BMI1/2, LZCNT, MOVBE and FMA,
    # xeon_phi with AVX512ER and PF. The loader then searches $ORIGIN/haswell instead, and
    # which CPU runs an image is not known when it is built. So the oracle is the host
    # loader on the CPU temper models: with those features masked (glibc.cpu.hwcaps), which
    # LD_DEBUG shows to give x86_64.
    local tunables=""
    if ! env LD_TRACE_LOADED_OBJECTS=1 LD_DEBUG=libs "$LOADER" "$d/app" 2>&1 | grep -qF "$d/lib/$MULTIARCH:$d/x86_64"; then
        tunables=glibc.cpu.hwcaps=-AVX2,-AVX512CD
        note "this CPU makes the host loader expand \$PLATFORM to another name than x86_64: the oracle masks what glibc takes it from ($tunables)"
        if ! env LD_TRACE_LOADED_OBJECTS=1 LD_DEBUG=libs GLIBC_TUNABLES=$tunables "$LOADER" "$d/app" 2>&1 |
            grep -qF "$d/lib/$MULTIARCH:$d/x86_64"; then
            fail "the host loader expands \$LIB and \$PLATFORM to neither lib/$MULTIARCH:x86_64 nor, with $tunables, to them"
            return 1
        fi
    fi
    rt --format ldd "$d/app"
    expect_rc 0 '$LIB/$PLATFORM' || return
    expect_ldd_file libdl_lib.so.1 "$d/lib/$MULTIARCH/libdl_lib.so.1" '$LIB'
    expect_ldd_file libdl_plat.so.1 "$d/x86_64/libdl_plat.so.1" '$PLATFORM'
    ORACLE_TUNABLES=$tunables oracle "$d/app"
}

# 15. Usage errors: exit 2.
case_usage() {
    mkexe "$T/c15/app" || return
    # Usage errors are accepted as `temper resolve: ...` (the subcommand's usage error).
    rt
    expect_rc 2 'no FILE' && expect_error_form 'no FILE' 'temper resolve'
    rt relative/path
    expect_rc 2 'relative FILE' && expect_error_form 'relative FILE' 'temper resolve' &&
        expect_err "'relative/path'" 'relative FILE: names it'
    rt --format nope "$T/c15/app"
    expect_rc 2 'unknown format' && expect_error_form 'unknown format' 'temper resolve' &&
        expect_err "'nope'" 'unknown format: names it'
    rt --bogus "$T/c15/app"
    expect_rc 2 'unknown option'
    rt --root "$T/c15/nonexistent-root" /bin/true
    expect_rc 1 'nonexistent root' && expect_err "'$T/c15/nonexistent-root'" 'nonexistent root: names it'
}

# ---------------------------------------------------------------------------

preflight() {
    local problem=""
    if [ -z "$TEMPER" ] || [ ! -x "$TEMPER" ]; then
        problem="temper binary '$TEMPER' is not executable (usage: $0 /path/to/temper)"
    elif ! command -v gcc >/dev/null; then
        problem="gcc is not installed: no fixtures can be built"
    elif ! command -v python3 >/dev/null; then
        problem="python3 is not installed: fixtures cannot be patched nor json checked"
    elif ! command -v readelf >/dev/null; then
        problem="readelf is not installed"
    elif [ "$(uname -m)" != x86_64 ] || [ ! -x "$LOADER" ] || [ ! -f "$HOST_LIBC" ]; then
        problem="these fixtures need an x86_64 Debian-style host ($LOADER, $HOST_LIBC)"
    fi
    [ -z "$problem" ] && return 0
    printf '%s\n' "$problem" >"$T/.problem"
    return 1
}

# ---------------------------------------------------------------------------
# 16. Names a root chooses that an output format cannot carry as they are: the text formats
# show them escaped (a newline as \n, a backslash as \\, a byte that is not UTF-8 as \xff), so
# nothing forges a line; a name holding the list's ' -> ' is refused there (exit 1, nothing
# half-printed), and one that is not UTF-8 by JSON; another format still works.
case_hostile_names() {
    local d=$T/c16
    mkexe "$d/app" || return
    cp "$d/app" "$d/bad"$'\xff'"name" || return
    cp "$d/app" "$d/new"$'\n'"line" || return
    cp "$d/app" "$d/back"'\n'"slash" || return
    cp "$d/app" "$d/ar -> row" || return

    rt --format json "$d/bad"$'\xff'"name"
    expect_rc 1 'non-UTF-8 name in JSON' && expect_err 'not valid UTF-8' 'non-UTF-8 name in JSON' &&
        expect_err "'$d/bad\\xffname'" 'non-UTF-8 name in JSON, escaped in the message'
    [ -s "$T/out" ] && fail 'non-UTF-8 name in JSON: something was printed'
    rt --format list "$d/bad"$'\xff'"name"
    expect_rc 0 'non-UTF-8 name in the list' &&
        expect_out_line "$d/bad\\xffname" 'non-UTF-8 name in the list, escaped'

    rt --format list "$d/new"$'\n'"line"
    expect_rc 0 'newline in the list' && expect_out_line "$d/new\\nline" 'newline in the list, escaped'
    grep -qx 'line' "$T/out" && fail 'newline in the list: a line of its own'
    rt --format list "$d/back"'\n'"slash"
    expect_rc 0 'backslash in the list' &&
        expect_out_line "$d/back\\\\nslash" 'backslash in the list, doubled: not a newline'
    rt --format ldd "$d/new"$'\n'"line" "$d/app"
    expect_rc 0 'newline in the ldd format' &&
        expect_out_line "$d/new\\nline:" 'newline in the ldd format, escaped'
    rt --format json "$d/new"$'\n'"line"
    if expect_rc 0 'newline in JSON' &&
        ! python3 -c 'import json,sys; d=json.load(sys.stdin); assert "\n" in d["inputs"][0]["path"]' <"$T/out"; then
        fail 'newline in JSON: the name is not in the JSON output'
    fi
    rt --format list "$d/ar -> row"
    expect_rc 1 "' -> ' in the list" && expect_err "holds ' -> '" "' -> ' in the list"
    [ -s "$T/out" ] && fail "' -> ' in the list: something was printed"
    rt --format ldd "$d/ar -> row"
    expect_rc 0 "' -> ' in the ldd format"
}

# ---------------------------------------------------------------------------
# 17. The list is a closure that runs: an image holding exactly the paths of `--format list`
# for a few of the host's programs starts them (chroot), and the same image without the
# /lib64 symlink does not: every symlink on the way is needed, and the list has them.
case_closure_runs() {
    local prog R=$T/c17
    for prog in /usr/bin/ls /usr/bin/sort /usr/bin/grep /usr/bin/tar; do
        rm -rf "$R"
        mkdir -p "$R"
        rt --format list "$prog"
        expect_rc 0 "list of $prog" || continue
        if ! materialize "$T/out" "" "$R"; then
            fail "closure_runs: cannot copy the list of $prog into an empty root"
            continue
        fi
        if ! echo b a | timeout 10 chroot "$R" "$prog" --version >"$T/run.out" 2>&1; then
            fail "closure_runs: $prog does not start in a root of exactly its list"
            detail "$T/out" list
            detail "$T/run.out" output
        fi
    done
    rm "$R/lib64"
    if timeout 10 chroot "$R" /usr/bin/tar --version >"$T/run.out" 2>&1; then
        fail "closure_runs: tar started without /lib64, so this case could not see a missing symlink"
    fi
}

# ---------------------------------------------------------------------------
# 18. What the loader makes of a damaged candidate first in the search path, case by case: it
# skips another class or machine even when the rest of the header is damaged, and refuses a
# short file, another byte order, or bad identification fields. temper must skip and refuse
# the same ones, with the loader's words.
case_candidate_header() {
    local d=$T/c18 kind want got
    mklib "$d/b/libhdr.so.1" libhdr.so.1 || return
    mkexe "$d/app" -L"$d/b" -l:libhdr.so.1 -Wl,-rpath,"$d/a:$d/b" -Wl,--enable-new-dtags || return
    mkdir -p "$d/a"
    for kind in msb aarch64-msb aarch64-pad aarch64-osabi osabi pad ident-version e-version \
        class0 class3 short32 short-class3 aarch64-rel; do
        python3 - "$d/b/libhdr.so.1" "$d/a/libhdr.so.1" "$kind" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
k = sys.argv[3]
aarch64 = lambda: b.__setitem__(slice(18, 20), struct.pack("<H", 183))
if k.startswith("aarch64"):
    aarch64()
if k.endswith("msb"): b[5] = 2
if k.endswith("pad"): b[12] = 1
if k.endswith("osabi"): b[7] = 5
if k == "ident-version": b[6] = 2
if k == "e-version": b[20:24] = struct.pack("<I", 2)
if k == "class0": b[4] = 0
if k == "class3": b[4] = 3
if k == "short32": b = b[:56]; b[4] = 1
if k == "short-class3": b = b[:40]; b[4] = 3
if k == "aarch64-rel": b[16:18] = struct.pack("<H", 1)
open(sys.argv[2], "wb").write(b)
PY
        if timeout 10 "$LOADER" --list "$d/app" >"$T/oracle.out" 2>"$T/oracle.err"; then
            want=$(awk '/libhdr/ { print $3 }' "$T/oracle.out")
            rt --format ldd "$d/app"
            got=$(ldd_path libhdr.so.1)
            if [ "$RC" -ne 0 ] || [ "$got" != "$want" ]; then
                fail "$kind: the loader takes $want, temper gives exit $RC and '$got'"
            fi
        else
            want=$(sed -n 's/.*: \([^:]*\)$/\1/p' "$T/oracle.err" | head -n 1)
            rt --format ldd "$d/app"
            if [ "$RC" -ne 1 ] || [ -z "$want" ] || ! grep -qF -- "$want" "$T/err"; then
                fail "$kind: the loader refuses it ('$want'), temper gives exit $RC: $(head -c 300 "$T/err")"
            fi
        fi
    done
}

# Symbol versions (resolve --versions, and every build): a program linked against a library
# that defines FOO_2 meets an older one that defines only FOO_1. The loader, run on it, is the
# oracle: temper fails with the loader's own line, and passes where the loader runs the program
# (the matching library). A library without DT_VERDEF gets the loader's warning as an error:
# ld.so lets it pass the check, then aborts at the first versioned binding.
case_symbol_versions() {
    local d=$T/ver line
    mkdir -p "$d/old" "$d/new" "$d/plain"
    printf 'int foo(void) { return 1; }\n#ifdef V2\nint bar(void) { return 2; }\n#endif\n' >"$d/foo.c"
    printf 'FOO_1 { global: foo; local: *; };\n' >"$d/v1.map"
    printf 'FOO_1 { global: foo; local: *; };\nFOO_2 { global: bar; } FOO_1;\n' >"$d/v2.map"
    printf 'int foo(void); int bar(void); int main(void) { return foo() + bar() - 3; }\n' >"$d/prog.c"
    if ! { gcc -shared -fPIC -Wl,-soname,libfoo.so.1 -Wl,--version-script="$d/v1.map" "$d/foo.c" -o "$d/old/libfoo.so.1" &&
        gcc -DV2 -shared -fPIC -Wl,-soname,libfoo.so.1 -Wl,--version-script="$d/v2.map" "$d/foo.c" -o "$d/new/libfoo.so.1" &&
        gcc -DV2 -shared -fPIC -Wl,-soname,libfoo.so.1 "$d/foo.c" -o "$d/plain/libfoo.so.1" &&
        gcc "$d/prog.c" -o "$d/old-prog" -L"$d/new" -l:libfoo.so.1 -Wl,-rpath,'$ORIGIN/old' &&
        gcc "$d/prog.c" -o "$d/new-prog" -L"$d/new" -l:libfoo.so.1 -Wl,-rpath,'$ORIGIN/new' &&
        gcc "$d/prog.c" -o "$d/plain-prog" -L"$d/new" -l:libfoo.so.1 -Wl,-rpath,'$ORIGIN/plain'; } >>"$T/gcc.log" 2>&1; then
        fail "fixture: gcc could not build the versioned libraries"
        detail "$T/gcc.log" gcc
        return
    fi
    # The loader's words, from the loader itself (the fixture is the test's own program).
    line=$("$d/old-prog" 2>&1 >/dev/null)
    case $line in
    "$d/old-prog: $d/old/libfoo.so.1: version \`FOO_2' not found (required by $d/old-prog)") ;;
    *) fail "fixture: the loader does not refuse old-prog as expected: '$line'" ;;
    esac
    rt --versions "$d/old-prog"
    expect_rc 1 'a version the library does not define' &&
        expect_err "${line#"$d/old-prog: "}" "temper says what the loader says"
    rt "$d/old-prog"
    expect_rc 0 'without --versions, resolve checks no version'
    if ! "$d/new-prog"; then
        fail "fixture: the loader does not start new-prog"
    fi
    rt --versions "$d/new-prog"
    expect_rc 0 'the matching library: the loader starts it, temper passes it'
    # A library without DT_VERDEF: ld.so warns, then aborts at the first versioned binding.
    if "$d/plain-prog" 2>/dev/null; then
        fail "fixture: the loader runs plain-prog"
    fi
    rt --versions "$d/plain-prog"
    expect_rc 1 'a library without version information' &&
        expect_err "$d/plain/libfoo.so.1: no version information available (required by $d/plain-prog)" \
            "temper says what the loader warns"
    # A build refuses it too, and writes no layout.
    printf 'name: mixed\ncontents:\n  binaries: [%s]\n' "$d/old-prog" >"$d/mixed.yaml"
    timeout 60 "$TEMPER" build "$d/mixed.yaml" -o "$d/out" >"$T/out" 2>"$T/err"
    RC=$?
    expect_rc 1 'build of a mixed root' && expect_err "${line#"$d/old-prog: "}" 'build: the loader'"'"'s words'
    [ ! -e "$d/out" ] || fail "the refused build left a layout"
}

# No false alarm: every dynamic executable of /usr/bin passes --versions, and ldd -r (the
# loader's own check, with every symbol bound) finds no version missing in any of them.
case_versions_over_usr_bin() {
    local f bins=()
    for f in /usr/bin/*; do
        [ -f "$f" ] && [ ! -L "$f" ] && [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] &&
            readelf -lW "$f" 2>/dev/null | grep -q INTERP && bins+=("$f")
    done
    [ "${#bins[@]}" -gt 100 ] || fail "only ${#bins[@]} dynamic executables in /usr/bin"
    timeout 120 "$TEMPER" resolve --versions --format ldd "${bins[@]}" >"$T/out" 2>"$T/err"
    RC=$?
    expect_rc 0 "resolve --versions over ${#bins[@]} executables of /usr/bin"
    for f in "${bins[@]}"; do
        LD_TRACE_LOADED_OBJECTS=1 LD_WARN=yes LD_BIND_NOW=yes "$LOADER" "$f" 2>&1
    done | grep -F "version \`" >"$T/ldd-r" || true
    if [ -s "$T/ldd-r" ]; then
        fail "ldd -r finds versions missing that temper does not"
        detail "$T/ldd-r" "ldd -r"
    fi
    note "symbol versions: ${#bins[@]} executables of /usr/bin, no version missing (temper and ldd -r)"
}

CASES=(
    "runpath_origin case_runpath_origin"
    "rpath_vs_runpath case_rpath_vs_runpath"
    "chain_bfs case_chain_bfs"
    "missing_library case_missing"
    "wrong_machine_and_class case_wrong_machine"
    "sysroot_escape case_sysroot_escape"
    "symlink_loop case_symlink_loop"
    "needed_cycle case_needed_cycle"
    "corrupt_elf case_corrupt"
    "static case_static"
    "list_symlinks case_list_symlinks"
    "ldso_conf_include case_ldso_conf"
    "json case_json"
    "lib_platform case_lib_platform"
    "usage_errors case_usage"
    "hostile_names case_hostile_names"
    "closure_runs case_closure_runs"
    "candidate_header case_candidate_header"
    "symbol_versions case_symbol_versions"
    "versions_over_usr_bin case_versions_over_usr_bin"
)

if preflight; then
    for c in "${CASES[@]}"; do
        run_case "${c% *}" "${c#* }"
    done
else
    for c in "${CASES[@]}"; do
        echo "not ok - ${c% *}: $(cat "$T/.problem")"
        failed=$((failed + 1))
    done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
