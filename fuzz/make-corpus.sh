#!/bin/sh
# shellcheck disable=SC2086,SC2016 # $small is a list of words; '$ORIGIN' is meant literally
# Regenerates the fuzz seed corpora: fuzz/corpus/elf (tiny ELF images), fuzz/corpus/ldconf
# (ld.so.conf texts), fuzz/corpus/recipe (YAML recipes), fuzz/corpus/oci_index (index.json
# files), fuzz/corpus/oci_manifest (image manifests and configs), fuzz/corpus/sign_payload
# (simple-signing payloads), fuzz/corpus/www_authenticate (registry challenges) and
# fuzz/corpus/docker_config (docker config.json files), fuzz/corpus/layer_entries (layer tar
# streams), fuzz/corpus/layer_digests (a byte choosing media type and read size, then a layer
# blob), fuzz/corpus/deb822 (Packages stanzas, Release heads, apt .sources files) and
# fuzz/corpus/reference (image references and signed identities). Seeds are committed, so every
# file stays under 20 KB. fuzz/corpus/deb (.deb packages) has its own section below.
#
# Needs gcc, python3, and for the cross-built seeds clang with ld.lld (skipped when missing).
# Usage: fuzz/make-corpus.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
elf_dir=$here/corpus/elf
conf_dir=$here/corpus/ldconf
recipe_dir=$here/corpus/recipe
oci_dir=$here/corpus/oci_index
sign_dir=$here/corpus/sign_payload
envelope_dir=$here/corpus/sign_envelope
manifest_dir=$here/corpus/oci_manifest
auth_dir=$here/corpus/www_authenticate
dcfg_dir=$here/corpus/docker_config
layer_dir=$here/corpus/layer_entries
digests_dir=$here/corpus/layer_digests
deb822_dir=$here/corpus/deb822
ref_dir=$here/corpus/reference
pkg_dir=$here/corpus/pkg_lock
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$elf_dir" "$conf_dir" "$recipe_dir" "$oci_dir" "$sign_dir" "$manifest_dir" "$auth_dir" \
    "$dcfg_dir" "$layer_dir" "$digests_dir" "$deb822_dir" "$ref_dir" "$pkg_dir" "$envelope_dir"
mkdir -p "$elf_dir" "$conf_dir" "$recipe_dir" "$oci_dir" "$sign_dir" "$manifest_dir" "$auth_dir" \
    "$dcfg_dir" "$layer_dir" "$digests_dir" "$deb822_dir" "$ref_dir" "$pkg_dir" "$envelope_dir"

# --- ELF seeds built by a toolchain -------------------------------------------------------------

cat >"$work/lib.c" <<'EOF'
int seed_value(int x) { return x * 3 + 1; }
EOF
cat >"$work/start.c" <<'EOF'
void _start(void) { __asm__ volatile("mov $60, %%eax; xor %%edi, %%edi; syscall" ::: "memory"); }
EOF
cat >"$work/start32.c" <<'EOF'
void _start(void) { for (;;) { } }
EOF

# One PT_LOAD for text and data, no padding between segments: a few KB per file.
small="-Os -s -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code -Wl,--hash-style=gnu"

# x86_64 shared library: SONAME, DT_RPATH with $ORIGIN, DT_NEEDED libc, no RELRO.
gcc $small -shared -fPIC -nostdlib -Wl,-z,norelro -Wl,-soname,libseed.so.1 \
    -Wl,--disable-new-dtags -Wl,-rpath,'$ORIGIN/../lib' -Wl,--no-as-needed \
    -o "$work/libseed.so" "$work/lib.c" -lc
cp "$work/libseed.so" "$elf_dir/x86_64-lib-rpath.so"

# x86_64 PIE: PT_INTERP, two DT_NEEDED, DT_RUNPATH with every token spelling, full RELRO.
gcc $small -fPIE -pie -nostartfiles -Wl,-z,relro -Wl,-z,now -Wl,--enable-new-dtags \
    -Wl,-rpath,'$ORIGIN:${ORIGIN}/lib:$LIB/$PLATFORM:${LIB}' -Wl,--no-as-needed \
    -o "$elf_dir/x86_64-pie-runpath" "$work/start.c" -L"$work" -lseed -lc

# x86_64 static, non-PIE ET_EXEC, executable stack: no PT_DYNAMIC at all.
gcc $small -static -nostdlib -fno-pie -no-pie -Wl,-z,execstack \
    -o "$elf_dir/x86_64-static" "$work/start.c"

# Other machines, cross-built with clang and lld, each needing a stub library of its own.
if command -v clang >/dev/null 2>&1 && command -v ld.lld >/dev/null 2>&1; then
    for t in i386-linux-gnu powerpc-linux-gnu powerpc64-linux-gnu aarch64-linux-gnu; do
        cross="clang --target=$t -fuse-ld=lld -Os -nostdlib -Wl,-s -Wl,-z,max-page-size=4096"
        if ! $cross -shared -fPIC -Wl,-soname,libstub.so.1 -o "$work/stub-$t.so" \
            "$work/lib.c" 2>/dev/null; then
            echo "make-corpus: skipping $t (clang or lld cannot target it)" >&2
            continue
        fi
        # Shared library: DT_RUNPATH, DF_1_NODEFLIB.
        $cross -shared -fPIC -Wl,-soname,libseed.so.1 -Wl,--enable-new-dtags \
            -Wl,-rpath,'$ORIGIN/../lib' -Wl,-z,nodefaultlib \
            -o "$elf_dir/$t-lib-runpath.so" "$work/lib.c" "$work/stub-$t.so"
    done
    # i386 executable: PT_INTERP, DT_RPATH, DT_BIND_NOW.
    clang --target=i386-linux-gnu -fuse-ld=lld -Os -nostdlib -Wl,-s -Wl,-z,max-page-size=4096 \
        -fno-pie -no-pie -Wl,--dynamic-linker=/lib/ld-linux.so.2 -Wl,--disable-new-dtags \
        -Wl,-rpath,'/opt/seed/lib:$ORIGIN' -Wl,-z,now \
        -o "$elf_dir/i386-exec-rpath" "$work/start32.c" "$work/stub-i386-linux-gnu.so" ||
        echo "make-corpus: skipping the i386 executable" >&2
else
    echo "make-corpus: clang or ld.lld missing, no cross-built seeds" >&2
fi

# --- ELF seeds written by hand --------------------------------------------------------------------
# Exact control over the pieces elf_object_parse reads: byte order, class, where DT_STRTAB lives.

python3 - "$elf_dir" "$elf_dir/x86_64-pie-runpath" <<'EOF'
import os
import struct
import sys

out_dir, real_pie = sys.argv[1], sys.argv[2]

PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_PHDR = 1, 2, 3, 6
PT_GNU_STACK, PT_GNU_RELRO = 0x6474E551, 0x6474E552
PF_X, PF_W, PF_R = 1, 2, 4
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH = 0, 1, 5, 10, 14, 15
DT_BIND_NOW, DT_RUNPATH, DT_FLAGS, DT_FLAGS_1 = 24, 29, 30, 0x6FFFFFFB
DF_BIND_NOW, DF_1_NOW, DF_1_NODEFLIB, DF_1_PIE = 0x8, 0x1, 0x800, 0x08000000
ET_EXEC, ET_DYN, ET_REL = 2, 3, 1
EM = {"i386": 3, "mips": 8, "ppc": 20, "ppc64": 21, "s390": 22, "arm": 40, "x86_64": 62,
      "aarch64": 183, "riscv": 243}


def build(bits=64, big=False, machine="x86_64", etype=ET_DYN, interp=None, needed=(),
          soname=None, rpath=None, runpath=None, dyn_extra=(), stack=True, stack_x=False,
          relro=False, split_strtab=False, strsz=None):
    """A minimal loadable image: ehdr, phdrs, interp, dynstr, dynamic, all in one PT_LOAD
    (or dynstr in a second PT_LOAD at another address, when split_strtab)."""
    e = ">" if big else "<"
    w = "Q" if bits == 64 else "I"
    sw = "q" if bits == 64 else "i"
    base = 0x400000 if etype == ET_EXEC else 0
    ehsize, phentsize = (64, 56) if bits == 64 else (52, 32)
    dynsize = 16 if bits == 64 else 8

    strtab = b"\0"
    def s(text):
        nonlocal strtab
        off = len(strtab)
        strtab += text.encode() + b"\0"
        return off
    dyn = [(DT_NEEDED, s(n)) for n in needed]
    if soname is not None:
        dyn.append((DT_SONAME, s(soname)))
    if rpath is not None:
        dyn.append((DT_RPATH, s(rpath)))
    if runpath is not None:
        dyn.append((DT_RUNPATH, s(runpath)))
    dyn += list(dyn_extra)

    nph = 3 + (interp is not None) + stack + relro + split_strtab  # PHDR, LOAD, DYNAMIC
    off = ehsize + nph * phentsize
    interp_off = off
    interp_b = interp.encode() + b"\0" if interp is not None else b""
    off += len(interp_b)
    str_off = off
    off += len(strtab)
    off = (off + 7) & ~7
    dyn_off = off
    str_addr = base + str_off + (0x10000000 if split_strtab else 0)
    dyn = [(DT_STRTAB, str_addr), (DT_STRSZ, strsz if strsz is not None else len(strtab))] + dyn
    dyn.append((DT_NULL, 0))
    end = dyn_off + len(dyn) * dynsize

    def ph(ptype, flags, poff, size, addr=None, align=8):
        vaddr = base + poff if addr is None else addr
        if bits == 64:
            return struct.pack(e + "IIQQQQQQ", ptype, flags, poff, vaddr, vaddr, size, size, align)
        return struct.pack(e + "IIIIIIII", ptype, poff, vaddr, vaddr, size, size, flags, align)

    phdrs = [ph(PT_PHDR, PF_R, ehsize, nph * phentsize)]
    if interp is not None:
        phdrs.append(ph(PT_INTERP, PF_R, interp_off, len(interp_b), align=1))
    if split_strtab:
        # The first PT_LOAD stops before the strings; the second maps them elsewhere.
        phdrs.append(ph(PT_LOAD, PF_R | PF_X, 0, str_off, base, 0x1000))
        phdrs.append(ph(PT_LOAD, PF_R, str_off, end - str_off, str_addr, 0x1000))
    else:
        phdrs.append(ph(PT_LOAD, PF_R | PF_W | PF_X, 0, end, base, 0x1000))
    phdrs.append(ph(PT_DYNAMIC, PF_R | PF_W, dyn_off, len(dyn) * dynsize))
    if stack:
        phdrs.append(ph(PT_GNU_STACK, PF_R | PF_W | (PF_X if stack_x else 0), 0, 0, 0, 16))
    if relro:
        phdrs.append(ph(PT_GNU_RELRO, PF_R, dyn_off, len(dyn) * dynsize, align=1))
    assert len(phdrs) == nph

    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 2 if big else 1, 1, 0]) + bytes(8)
    ehdr = ident + struct.pack(e + "HHI" + w + w + w + "IHHHHHH", etype, EM[machine], 1,
                               base + end if etype == ET_EXEC else 0, ehsize, 0, 0, ehsize,
                               phentsize, nph, 64 if bits == 64 else 40, 0, 0)
    img = ehdr + b"".join(phdrs) + interp_b + strtab
    img += bytes(dyn_off - len(img))
    img += b"".join(struct.pack(e + sw + w, t, v) for t, v in dyn)
    assert len(img) == end
    return img


def write(name, data):
    assert len(data) < 20 * 1024, name
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)


# Big-endian ELF64 (s390x, which lld cannot link): two DT_NEEDED, SONAME, DT_RUNPATH, NODEFLIB.
write("s390x-be-lib-runpath.so",
      build(big=True, machine="s390", needed=["libc.so.6", "libm.so.6"], soname="libseed.so.1",
            runpath="$ORIGIN/../lib64:/opt/seed", relro=True,
            dyn_extra=[(DT_FLAGS_1, DF_1_NODEFLIB | DF_1_NOW)]))
# Big-endian ELF64 PIE with PT_INTERP, DT_RPATH and ${ORIGIN}; DT_STRTAB in its own PT_LOAD.
write("ppc64-be-pie-rpath",
      build(big=True, machine="ppc64", interp="/lib64/ld64.so.1", needed=["libc.so.6"],
            rpath="${ORIGIN}/../${LIB}", split_strtab=True, relro=True,
            dyn_extra=[(DT_FLAGS, DF_BIND_NOW), (DT_FLAGS_1, DF_1_PIE)]))
# Big-endian ELF32 executable, executable stack, DT_BIND_NOW.
write("ppc-be-exec",
      build(bits=32, big=True, machine="ppc", etype=ET_EXEC, interp="/lib/ld.so.1",
            needed=["libc.so.6"], stack_x=True, dyn_extra=[(DT_BIND_NOW, 0)]))
# Little-endian ELF32 with both DT_RPATH and DT_RUNPATH (DT_RPATH must be ignored), no PT_GNU_STACK.
write("arm-lib-rpath-runpath.so",
      build(bits=32, machine="arm", needed=["libc.so.6", "ld-linux-armhf.so.3"],
            rpath="/ignored", runpath="$ORIGIN:$PLATFORM", stack=False))
# DT_STRSZ far beyond the file: strings are read one at a time, bounded by the segment.
write("x86_64-big-strsz.so",
      build(needed=["libc.so.6"], soname="libbig.so", strsz=1 << 20))
# ELF64 RISC-V executable with no dynamic strings at all (PT_DYNAMIC holding only DT_NULL).
write("riscv-exec-empty-dynamic",
      build(machine="riscv", etype=ET_EXEC, interp="/lib/ld-linux-riscv64-lp64d.so.1"))
# A PT_INTERP longer than ELF_STRING_MAX. (The count caps -- ELF_NEEDED_MAX, ELF_PHNUM_MAX,
# ELF_DYN_MAX -- take 16 KB and more to reach; a seed that size makes libFuzzer try inputs that
# long and runs 4x slower, so those are left to the unit tests.)
write("x86_64-long-interp", build(etype=ET_EXEC, interp="/" + "i" * 4200))
# Rejected: a relocatable object, and a header with an unknown class.
write("x86_64-rel.o", build(etype=ET_REL))
bad = bytearray(build(machine="mips"))
bad[4] = 7
write("bad-class", bytes(bad))

# Truncated real files: inside the program headers, and inside the dynamic segment.
with open(real_pie, "rb") as f:
    pie = f.read()
write("x86_64-pie-truncated-phdrs", pie[:64 + 56 * 2 + 20])
write("x86_64-pie-truncated-half", pie[: len(pie) // 2])
write("truncated-ident", pie[:10])
EOF

# --- ld.so.conf seeds -----------------------------------------------------------------------------

printf 'include /etc/ld.so.conf.d/*.conf\n\n' >"$conf_dir/debian-ld.so.conf"
printf '# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' \
    >"$conf_dir/x86_64-linux-gnu.conf"
printf 'include ld.so.conf.d/*.conf\n' >"$conf_dir/fedora-relative-include.conf"
# Comments, blanks, trailing slashes, duplicates, relative entries, "/", no final newline.
printf '  # comment only\n\t/usr/local/lib//   # trailing comment\n/usr/local/lib\nrelative/lib\n/\n\n/opt/a#b\n/opt/last' \
    >"$conf_dir/mixed.conf"
# hwcap lines and libc5-era dir=TYPE annotations.
printf 'hwcap 1 nosegneg\nhwcap\t0 sse2\n/usr/X11R6/lib=libc5\n/usr/i486-linuxaout/lib = libc4\n/lib/=\n' \
    >"$conf_dir/hwcap-type.conf"
# DOS line ends, tabs, and lines that only look like keywords.
printf 'include\t/etc/ld.so.conf.d/a*.conf\r\n/usr/lib/crlf\r\nincludes /not/an/include\r\nhwcaps /not/hwcap\r\ninclude\r\n\t \r\n' \
    >"$conf_dir/crlf.conf"
# A NUL byte: an error, not a truncated line.
printf '/lib\n/usr/\000lib\n' >"$conf_dir/nul.conf"

# A line of TEMPER_PATH_MAX bytes. (LDCONF_MAX_DIRS takes 4097 lines, 16 KB: with ld_dirs_add's
# quadratic duplicate check a seed that size drops the rate from ~15000 to ~30 runs a second, so
# that cap is left to the unit tests.)
{
    printf '/usr/lib\n/'
    head -c 4096 /dev/zero | tr '\0' x
    printf '\n/never/read\n'
} >"$conf_dir/long-line.conf"

# --- recipe seeds ---------------------------------------------------------------------------------
# fuzz_recipe parses each as DIR/fuzz.yaml, where DIR holds inc.yaml, sub/deep.yaml and cycle.yaml.

cat >"$recipe_dir/example.yaml" <<'EOF'
name: python                  # default tag: latest
include: [inc.yaml]
contents:
  binaries: [/usr/bin/python3]
  files: [/etc/ssl/certs/ca-certificates.crt]
  trees:
    - path: /usr/lib/python3.11
      exclude: ["**/__pycache__", "test/**", "**/*.pyc", "lib2to3"]
  libraries: [libnss_dns.so.2]
accounts:
  groups: [{groupname: nonroot, gid: 65532}]
  users: [{username: nonroot, uid: 65532, gid: 65532, home: /home/nonroot}]
  run-as: nonroot
paths:
  - {path: /workspace, type: directory, uid: 65532, gid: 65532, permissions: 0o755}
  - {path: /etc/agent.conf, type: file, content: "mode=strict\n", permissions: 0644}
  - {path: /usr/bin/python, type: symlink, target: python3}
entrypoint: {command: /usr/bin/python3}
cmd: [-I]
work-dir: /home/nonroot
environment: {PATH: /usr/bin:/bin, SSL_CERT_FILE: /etc/ssl/certs/ca-certificates.crt}
annotations: {org.opencontainers.image.source: https://example.invalid/agents}
hardening: {allow-setuid: false, allow-shell: false, require: [pie, relro, nx]}
compression: zstd
level: 19
epoch: 1700000000
architecture: amd64
tag: v1
EOF
printf 'name: static\n' >"$recipe_dir/minimal.yaml"
# Block style, block scalars, comments, directives and document markers.
cat >"$recipe_dir/block.yaml" <<'EOF'
%YAML 1.1
---
name: agent
include:
  - sub/deep.yaml
  - cycle.yaml
paths:
  - path: /etc/motd
    type: file
    content: |
      welcome
      to the image
  - path: /etc/folded
    type: file
    content: >-
      one
      line
entrypoint:
  command:
    - /usr/bin/env
    - "-i"
    - ''
environment:
  DEBUG: 1
  EMPTY: ""
...
EOF
# Errors: an alias, a second document, YAML 1.1 booleans, integers, paths, a duplicate key, tags.
printf 'name: a\nb: &x [1]\nc: *x\n' >"$recipe_dir/alias.yaml"
printf 'name: a\n---\nname: b\n' >"$recipe_dir/two-docs.yaml"
printf 'name: a\nhardening: {allow-shell: yes, allow-setuid: "true"}\n' >"$recipe_dir/bool.yaml"
printf 'name: a\naccounts: {users: [{username: a, uid: 4294967295, gid: "1"}]}\nepoch: -1\n' \
    >"$recipe_dir/ints.yaml"
printf 'name: a\npaths: [{path: /a, type: file, permissions: 755}, {path: /a//b/../c/, type: symlink}]\n' \
    >"$recipe_dir/paths.yaml"
printf 'name: a\nname: b\nlevel: !!int 3\nx: !!binary aGk=\n' >"$recipe_dir/dup-tags.yaml"
# Deep nesting, an unclosed flow, invalid UTF-8 and an escaped NUL.
printf 'name: a\ncmd: [[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]\n' >"$recipe_dir/nested.yaml"
printf 'name: a\ncontents: {binaries: [/x}\n' >"$recipe_dir/unclosed.yaml"
printf 'name: a\ntag: v\377\nwork-dir: "/a\\0b"\n' >"$recipe_dir/bytes.yaml"
# Includes: missing, absolute to a directory, the top file's own name, empty, wrong type.
printf 'name: a\ninclude: [missing.yaml, /, fuzz.yaml, "", {a: b}]\n' >"$recipe_dir/includes.yaml"
# For recipe_glob_match: a pattern line, then a path.
printf '**/a*b*c*/**/*.pyc\nx/y/aXbYc/z/q.pyc' >"$recipe_dir/glob.txt"

# --- index.json seeds ------------------------------------------------------------------------------

d1=sha256:$(printf one | sha256sum | cut -c1-64)
d2=sha256:$(printf two | sha256sum | cut -c1-64)
m=application/vnd.oci.image.manifest.v1+json
i=application/vnd.oci.image.index.v1+json
ref=org.opencontainers.image.ref.name
printf '{"manifests":[],"mediaType":"%s","schemaVersion":2}' "$i" >"$oci_dir/empty.json"
# What temper writes: two tags, with platforms, one with a variant.
printf '{"manifests":[{"annotations":{"%s":"a"},"digest":"%s","mediaType":"%s","platform":{"architecture":"amd64","os":"linux"},"size":512},{"annotations":{"%s":"b"},"digest":"%s","mediaType":"%s","platform":{"architecture":"arm64","os":"linux","variant":"v8"},"size":498}],"mediaType":"%s","schemaVersion":2}' \
    "$ref" "$d1" "$m" "$ref" "$d2" "$m" "$i" >"$oci_dir/temper-two-tags.json"
# As other tools write it: indented, no mediaType, index annotations, an untagged entry, a nested
# index, the same tag twice, a sha512 digest, unicode escapes in a tag.
printf '{\n  "schemaVersion": 2,\n  "annotations": {"created-by": "umoci"},\n  "manifests": [\n    {"mediaType": "%s", "digest": "%s", "size": 1},\n    {"mediaType": "%s", "digest": "%s", "size": 2, "annotations": {"%s": "latest"}},\n    {"mediaType": "%s", "digest": "sha512:%s%s", "size": 3, "annotations": {"%s": "latest"}},\n    {"mediaType": "%s", "digest": "%s", "size": 4, "urls": [], "annotations": {"%s": "caf\\u00e9"}}\n  ]\n}\n' \
    "$m" "$d1" "$i" "$d2" "$ref" "$m" "${d1#sha256:}" "${d2#sha256:}" "$ref" "$m" "$d1" "$ref" \
    >"$oci_dir/other-tools.json"
# Rejected: types the reader relies on, duplicate keys, a NUL escape, an integer beyond int64.
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":-1}]}' "$m" "$d1" \
    >"$oci_dir/negative-size.json"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":1,"annotations":{"%s":7}}]}' \
    "$m" "$d1" "$ref" >"$oci_dir/annotation-not-string.json"
printf '{"schemaVersion":2,"schemaVersion":2,"manifests":[]}' >"$oci_dir/duplicate-key.json"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s\\u0000","size":1}]}' "$m" \
    "$d1" >"$oci_dir/nul-escape.json"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":99999999999999999999}]}' \
    "$m" "$d1" >"$oci_dir/huge-size.json"
printf '{"schemaVersion":1,"manifests":[]}' >"$oci_dir/schema-1.json"
# Issue 17: many keys in one object (80,000 took 64 s when each was compared with every later
# one); the same with two that Go folds together at the very end.
keys=$(seq -f '"org.example.k%04g":""' 0 599 | paste -sd, -)
printf '{"schemaVersion":2,"manifests":[],"annotations":{%s}}' "$keys" >"$oci_dir/many-keys.json"
printf '{"schemaVersion":2,"manifests":[],"annotations":{%s,"org.example.kelvin":"","org.example.\\u212aelvin":""}}' \
    "$keys" >"$oci_dir/many-keys-folded-last.json"

# --- simple-signing payload seeds -------------------------------------------------------------------

sd=sha256:$(printf temper | sha256sum | cut -c1-64)
cid='"identity":{"docker-reference":"registry.example/team/python"}'
cimg='"image":{"docker-manifest-digest":"'$sd'"}'
ctype='"type":"cosign container image signature"'
crit='"critical":{'$cid','$cimg','$ctype'}'
# What cosign writes, byte for byte, and the same with annotations in `optional`.
printf '{%s,"optional":null}' "$crit" >"$sign_dir/cosign.json"
printf '{%s,"optional":{"creator":"cosign","timestamp":1700000000,"env":"prod","n":[1.5,{"x":null}]}}' \
    "$crit" >"$sign_dir/annotations.json"
# Other key orders and whitespace; escapes that decode to what Go escapes (<, >, &, U+2028).
printf ' {\n  "optional" : {} ,\n  "critical" : {%s, %s,\t%s}\r\n}\n' "$ctype" "$cimg" "$cid" \
    >"$sign_dir/reordered.json"
printf '{"critical":{"identity":{"docker-reference":"r\\u003ca\\u003e\\u0026b\\u2028\\"\\\\/\\u00e9"},%s,%s},"optional":null}' \
    "$cimg" "$ctype" >"$sign_dir/escapes.json"
# Rejected: an extra key at each level, `optional` missing or of the wrong type, miscased keys,
# another type, a digest that is not a sha256 string, duplicates, a NUL escape, a timestamp
# that is not an integer, not JSON.
printf '{%s,"optional":null,"extra":1}' "$crit" >"$sign_dir/extra-top.json"
printf '{%s}' "$crit" >"$sign_dir/missing-optional.json"
printf '{%s,"optional":"x"}' "$crit" >"$sign_dir/optional-string.json"
printf '{"critical":{%s,%s,%s,"extra":{}},"optional":null}' "$cid" "$cimg" "$ctype" \
    >"$sign_dir/extra-critical.json"
printf '{"Critical":{%s,%s,%s},"optional":null}' "$cid" "$cimg" "$ctype" >"$sign_dir/miscased.json"
printf '{"critical":{"identity":{"docker-Reference":"r"},%s,%s},"optional":null}' "$cimg" "$ctype" \
    >"$sign_dir/miscased-inner.json"
printf '{"critical":{%s,%s,"type":"atomic container signature"},"optional":null}' "$cid" "$cimg" \
    >"$sign_dir/wrong-type.json"
printf '{"critical":{%s,"image":{"docker-manifest-digest":7},%s},"optional":null}' "$cid" "$ctype" \
    >"$sign_dir/digest-number.json"
printf '{"critical":{%s,"image":{"docker-manifest-digest":"sha512:%s"},%s},"optional":null}' \
    "$cid" "${sd#sha256:}" "$ctype" >"$sign_dir/digest-sha512.json"
printf '{%s,%s,"optional":null}' "$crit" "$crit" >"$sign_dir/duplicate.json"
printf '{"critical":{"identity":{"docker-reference":"a\\u0000b"},%s,%s},"optional":null}' \
    "$cimg" "$ctype" >"$sign_dir/nul-escape.json"
printf '{%s,"optional":{"timestamp":1.5,"creator":2}}' "$crit" >"$sign_dir/optional-types.json"
printf 'critical: {}\n' >"$sign_dir/not-json.txt"

# Attestations: statements (which the target also signs) and envelopes.
hex=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
subject='"subject":[{"name":"registry.example/python","digest":{"sha256":"'$hex'"}}]'
printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document",%s,"predicate":{"spdxVersion":"SPDX-2.3","packages":[]}}' \
    "$subject" >"$envelope_dir/statement.json"
printf '{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://spdx.dev/Document","subject":[{"digest":{"sha512":"00"}},{"digest":{"sha256":"%s"}}],"predicate":[]}' \
    "$hex" >"$envelope_dir/statement-v1.json"
printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v1",%s,"predicate":{}}' \
    "$subject" >"$envelope_dir/other-type.json"
printf '{"_type":"x","_type":"https://in-toto.io/Statement/v1"}' >"$envelope_dir/duplicate.json"
printf '{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AAAA"}]}' \
    >"$envelope_dir/envelope.json"
printf '{"payloadType":"application/vnd.in-toto+json","payload":"e30","signatures":[]}' \
    >"$envelope_dir/envelope-bad.json"

# --- image manifest and config seeds -------------------------------------------------------------
# fuzz_oci_manifest gives every input to both readers, so one directory holds both kinds.

cfg=application/vnd.oci.image.config.v1+json
gz=application/vnd.oci.image.layer.v1.tar+gzip
zs=application/vnd.oci.image.layer.v1.tar+zstd
dm=application/vnd.docker.distribution.manifest.v2+json
dc=application/vnd.docker.container.image.v1+json
dl=application/vnd.docker.image.rootfs.diff.tar.gzip
d3=sha256:$(printf three | sha256sum | cut -c1-64)
# What temper writes: canonical, an annotation, a gzip and a zstd layer.
printf '{"annotations":{"org.opencontainers.image.source":"https://example.invalid/x"},"config":{"digest":"%s","mediaType":"%s","size":587},"layers":[{"digest":"%s","mediaType":"%s","size":557100},{"digest":"%s","mediaType":"%s","size":126}],"mediaType":"%s","schemaVersion":2}' \
    "$d1" "$cfg" "$d2" "$gz" "$d3" "$zs" "$m" >"$manifest_dir/temper-manifest.json"
# Docker's schema 2, indented as docker and the distribution registry write it.
printf '{\n   "schemaVersion": 2,\n   "mediaType": "%s",\n   "config": {\n      "mediaType": "%s",\n      "size": 1457,\n      "digest": "%s"\n   },\n   "layers": [\n      {\n         "mediaType": "%s",\n         "size": 2814446,\n         "digest": "%s"\n      }\n   ]\n}' \
    "$dm" "$dc" "$d1" "$dl" "$d2" >"$manifest_dir/docker-v2.json"
# No mediaType, no layers, members temper does not know (an OCI 1.1 artifactType and subject).
printf '{"schemaVersion":2,"artifactType":"application/x","config":{"mediaType":"%s","digest":"%s","size":2},"layers":[],"subject":{"mediaType":"%s","digest":"%s","size":1}}' \
    "$cfg" "$d1" "$m" "$d2" >"$manifest_dir/bare-no-layers.json"
# Configs: what temper writes, and Docker's with empty-layer history and more diff_ids.
printf '{"architecture":"amd64","config":{"Entrypoint":["/usr/bin/python3"],"User":"65532"},"created":"2023-11-14T22:13:20Z","history":[{"created":"2023-11-14T22:13:20Z","created_by":"temper build python.yaml"}],"os":"linux","rootfs":{"diff_ids":["%s"],"type":"layers"}}' \
    "$d1" >"$manifest_dir/temper-config.json"
printf '{"architecture":"arm64","variant":"v8","os":"linux","config":{"Env":["PATH=/bin"]},"history":[{"created_by":"/bin/sh -c #(nop) CMD [\\"sh\\"]","empty_layer":true},{}],"rootfs":{"type":"layers","diff_ids":["%s","%s","%s"]}}' \
    "$d1" "$d2" "$d3" >"$manifest_dir/docker-config.json"
# Rejected: digests other than sha256, sizes, duplicate keys, types that are not an image's.
printf '{"schemaVersion":2,"config":{"mediaType":"%s","digest":"%s","size":2},"layers":[{"mediaType":"%s","digest":"sha512:%s%s","size":3}]}' \
    "$cfg" "$d1" "$gz" "${d1#sha256:}" "${d2#sha256:}" >"$manifest_dir/sha512-layer.json"
printf '{"schemaVersion":2,"config":{"mediaType":"%s","digest":"%s","size":2},"layers":[{"mediaType":"%s","digest":"%s","size":-1},{"mediaType":"%s","digest":"%s","size":1e3}]}' \
    "$cfg" "$d1" "$gz" "$d2" "$gz" "$d3" >"$manifest_dir/bad-sizes.json"
printf '{"schemaVersion":2,"config":{"mediaType":"%s","digest":"%s","size":2},"layers":[],"layers":[]}' \
    "$cfg" "$d1" >"$manifest_dir/duplicate-key.json"
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[]}' "$i" >"$manifest_dir/index-not-manifest.json"
printf '{"schemaVersion":2,"config":{"mediaType":"application/vnd.dev.cosign.artifact.sig.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"%s","size":250,"annotations":{"dev.cosignproject.cosign/signature":"MEUCIQ=="}}]}' \
    "$d1" "$d2" >"$manifest_dir/cosign-signature.json"
printf '{"rootfs":{"type":"layers","diff_ids":["%s","sha256:../../etc/passwd","%s\\u0000"]}}' \
    "$d1" "$d2" >"$manifest_dir/config-bad-diff-ids.json"
printf '{"rootfs":{"type":"tar","diff_ids":[]}}' >"$manifest_dir/config-rootfs-type.json"
# Image indexes: temper's (two platforms), Docker's manifest list with a variant; refused: a
# nested index, an image without a platform, a platform with a '/' in its architecture.
printf '{"manifests":[{"digest":"%s","mediaType":"%s","platform":{"architecture":"amd64","os":"linux"},"size":575},{"digest":"%s","mediaType":"%s","platform":{"architecture":"arm64","os":"linux"},"size":575}],"mediaType":"%s","schemaVersion":2}' \
    "$d1" "$m" "$d2" "$m" "$i" >"$manifest_dir/temper-index.json"
printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"%s","digest":"%s","size":528,"platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}' \
    "$dm" "$d1" >"$manifest_dir/docker-list.json"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":3,"platform":{"architecture":"amd64","os":"linux"}}]}' \
    "$i" "$d1" >"$manifest_dir/index-nested.json"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":3}]}' \
    "$m" "$d1" >"$manifest_dir/index-no-platform.json"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":3,"platform":{"architecture":"../amd64","os":"linux"}}]}' \
    "$m" "$d1" >"$manifest_dir/index-bad-platform.json"
# Issue 17: many annotation keys, and a miscased member name after them.
printf '{"schemaVersion":2,"config":{"mediaType":"%s","digest":"%s","size":2},"layers":[],"annotations":{%s},"Annotations":{}}' \
    "$cfg" "$d1" "$keys" >"$manifest_dir/many-annotations.json"

# --- WWW-Authenticate challenges ----------------------------------------------------------------
# What the distribution registry, Docker Hub, ghcr.io and an htpasswd registry send; quoting and
# escapes; two challenges in one value; and refusals (no realm, unterminated, another scheme).
printf 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull"' \
    >"$auth_dir/docker-hub"
printf 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:team/python:pull,push"' \
    >"$auth_dir/ghcr-pull-push"
printf 'Bearer realm="http://127.0.0.1:5001/token?x=1",service="svc",scope="repository:a:pull",error="invalid_token"' \
    >"$auth_dir/error-param"
printf 'Basic realm="Registry Realm"' >"$auth_dir/basic"
printf 'basic' >"$auth_dir/basic-bare"
printf 'Bearer realm="https://a/\\"q\\\\", scope=token68==' >"$auth_dir/escapes"
printf 'Bearer realm="https://a/t", Basic realm="x"' >"$auth_dir/two-challenges"
printf 'Bearer  realm = https://a/t ,, service=s' >"$auth_dir/spaces-commas"
printf 'Bearer service="s",scope="x"' >"$auth_dir/no-realm"
printf 'Bearer realm="https://a/t' >"$auth_dir/unterminated"
printf 'Digest realm="x", nonce="y"' >"$auth_dir/digest"

# --- docker config.json ---------------------------------------------------------------------------
# auths keyed by host, by URL and by Docker Hub's old name; a credential helper only; refusals.
alice=$(printf 'alice:s3cret' | base64)
printf '{"auths":{"127.0.0.1:5000":{"auth":"%s"}}}' "$alice" >"$dcfg_dir/host"
printf '{"auths":{"https://index.docker.io/v1/":{"auth":"%s","email":"a@example.invalid"}},"HttpHeaders":{"User-Agent":"x"}}' \
    "$alice" >"$dcfg_dir/docker-hub"
printf '{"auths":{"http://registry.example/v2/":{"auth":"%s"},"other":{}},"credsStore":"pass"}' \
    "$alice" >"$dcfg_dir/url-key"
printf '{"credHelpers":{"registry.example":"ecr-login"}}' >"$dcfg_dir/cred-helper"
printf '{"auths":{"127.0.0.1:5000":{"auth":"bm9jb2xvbg=="}}}' >"$dcfg_dir/no-colon"
printf '{"auths":{"127.0.0.1:5000":{"auth":"%%%%%%%%"}},"auths":{}}' >"$dcfg_dir/bad-base64-duplicate"

# --- layer seeds (tar streams for fuzz_layer_entries) ----------------------------------------------
# What temper writes (pax restricted: ustar with directories, files, symlinks), pax with xattrs and
# long names, GNU long names, a hard link, devices and a fifo; gzip (two members, as temper's
# chunks) and zstd; and broken ones: cut mid-file, a size beyond the data.
python3 - "$layer_dir" <<'PY'
import gzip, io, os, sys, tarfile
out = sys.argv[1]
def tar(fmt, entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return b.getvalue()
def entry(name, kind=tarfile.REGTYPE, data=None, mode=0o644, link="", pax=None, uid=0):
    i = tarfile.TarInfo(name)
    i.type, i.mode, i.linkname, i.uid, i.mtime = kind, mode, link, uid, 1700000000
    if pax:
        i.pax_headers = pax
    if data is not None:
        i.size = len(data)
    return i, data
basic = [entry("etc/", tarfile.DIRTYPE, mode=0o755), entry("etc/passwd", data=b"root:x:0:0::/:/x\n"),
         entry("usr/bin/py", tarfile.SYMTYPE, link="python3.11", mode=0o777),
         entry("./usr/bin/x", data=b"\x7fELF\x02\x01\x01", mode=0o4755, uid=65532)]
open(os.path.join(out, "ustar.tar"), "wb").write(tar(tarfile.USTAR_FORMAT, basic))
pax = tar(tarfile.PAX_FORMAT, basic + [
    entry("a/" + "l" * 150 + "/caf\u00e9", data=b"x", pax={"SCHILY.xattr.user.k": "v", "comment": "c"}),
    entry("hard", tarfile.LNKTYPE, link="etc/passwd"), entry("dev/null", tarfile.CHRTYPE),
    entry("fifo", tarfile.FIFOTYPE), entry("../../escape\nline", data=b"")])
open(os.path.join(out, "pax.tar"), "wb").write(pax)
open(os.path.join(out, "gnu.tar"), "wb").write(tar(tarfile.GNU_FORMAT, basic + [
    entry("g/" + "n" * 120, data=b"gnu")]))
half = len(pax) // 2
open(os.path.join(out, "two-members.tar.gz"), "wb").write(
    gzip.compress(pax[:half], mtime=0) + gzip.compress(pax[half:], mtime=0))
open(os.path.join(out, "cut.tar"), "wb").write(pax[:half + 100])
h = bytearray(tar(tarfile.USTAR_FORMAT, [entry("big", data=b"y" * 600)]))
h[124:136] = b"77777777777\0"
h[148:156] = b"        "
h[148:156] = b"%06o\0 " % sum(h[:512])
open(os.path.join(out, "absurd-size.tar"), "wb").write(bytes(h))
# Issue 17, small: deep paths under whiteouts (the view once looked up every parent of every
# path), a whiteout listed many times, an opaque one, hard links to deep paths; a first entry
# that is a hard link to nothing (bsearch on an empty view); entries of many empty xattrs (each
# held ~90 bytes where its key counted 16).
deep = "a/" * 400
whiteouts = tar(tarfile.PAX_FORMAT, [entry(deep + "%d" % i, data=b"") for i in range(24)] +
                [entry("l%d" % i, tarfile.LNKTYPE, link=deep + "%d" % i) for i in range(8)] +
                [entry(".wh.zzz", data=b"") for _ in range(16)] +
                [entry(deep + ".wh.3", data=b""), entry("a/a/.wh..wh..opq", data=b"")])
open(os.path.join(out, "deep-whiteouts.tar.gz"), "wb").write(gzip.compress(whiteouts, mtime=0))
# dpkg's status.d, as distroless and temper write it: stanzas, md5sums, a whiteout of one, a
# stanza with no valid Package, two packages listing one path.
sd = "var/lib/dpkg/status.d/"
md5 = b"0123456789abcdef0123456789abcdef  "
open(os.path.join(out, "status-d.tar"), "wb").write(tar(tarfile.PAX_FORMAT, [
    entry("usr/lib/libc.so.6", data=b"\x7fELF"),
    entry(sd + "libc6", data=b"Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\n"
                            b"Description: x\n y\n"),
    entry(sd + "libc6.md5sums", data=md5 + b"usr/lib/libc.so.6\n" + md5 + b"usr/lib/shared\n"),
    entry(sd + "other", data=b"Package: other\nVersion: 1\n"),
    entry(sd + "other.md5sums", data=md5 + b"usr/lib/shared\nnot a line\n"),
    entry(sd + "bad", data=b"Package: Not_A Name\n\nPackage: second\n"),
    entry(sd + ".wh.gone", data=b""), entry(sd + ".wh..wh..opq", data=b"")]))
open(os.path.join(out, "link-to-nothing.tar"), "wb").write(tar(tarfile.USTAR_FORMAT, [
    entry("bin/ok", tarfile.LNKTYPE, link="bin/missing", mode=0o4755),
    entry("bin/missing2", tarfile.LNKTYPE, link="bin/ok")]))
xattrs = {"SCHILY.xattr.%03x" % i: "" for i in range(1000)}
open(os.path.join(out, "empty-xattrs.tar.gz"), "wb").write(gzip.compress(tar(
    tarfile.PAX_FORMAT, [entry("f%d" % i, data=b"", pax=xattrs) for i in range(3)]), mtime=0))
open(os.path.join(out, "gzip-magic-only"), "wb").write(b"\x1f\x8b")
PY
# layer_digests: the first byte is the media type (bits 0-1: tar, tar+gzip, tar+zstd, Docker
# tar.gzip) and the size of the pieces the blob is read in (bits 2-5, plus 1). Issue 17: a
# compressed blob declared a tar, read one byte at a time (the magic was looked for in the
# first read only), each magic alone or cut short; and the others as they are.
piece() { # piece FILE MEDIA SIZE SOURCE...
    piece_out=$digests_dir/$1
    printf '%b' "\\0$(printf '%03o' $(($2 + ($3 - 1) * 4)))" >"$piece_out"
    shift 3
    cat "$@" >>"$piece_out"
}
printf '\037\213' >"$work/gz-magic"
printf '\050\265\057\375' >"$work/zstd-magic"
printf 'BZh91AY&SY' >"$work/bzip2-start"
printf '\3757zXZ\000\000' >"$work/xz-start"
piece tar-whole 0 16 "$layer_dir/ustar.tar"
piece tar-1 0 1 "$layer_dir/pax.tar"
piece gzip-declared-tar-1 0 1 "$layer_dir/two-members.tar.gz"
piece gzip-declared-tar-2 0 2 "$layer_dir/two-members.tar.gz"
piece gzip-magic-only-declared-tar 0 1 "$work/gz-magic"
piece zstd-magic-declared-tar 0 1 "$work/zstd-magic" "$layer_dir/ustar.tar"
piece bzip2-declared-tar 0 1 "$work/bzip2-start" "$layer_dir/ustar.tar"
piece xz-declared-tar 0 3 "$work/xz-start" "$layer_dir/ustar.tar"
piece gzip-1 1 1 "$layer_dir/two-members.tar.gz"
piece gzip-docker-5 3 5 "$layer_dir/two-members.tar.gz"
piece gzip-trailing-3 1 3 "$layer_dir/two-members.tar.gz" "$work/gz-magic" "$work/zstd-magic"
piece gzip-cut 1 7 "$layer_dir/cut.tar"
if command -v zstd >/dev/null 2>&1; then
    zstd -q -3 -c "$layer_dir/pax.tar" >"$layer_dir/pax.tar.zst"
    piece zstd-1 2 1 "$layer_dir/pax.tar.zst"
    piece zstd-declared-tar-1 0 1 "$layer_dir/pax.tar.zst"
fi

# --- deb822 seeds (control text for fuzz_deb822) -------------------------------------------------
# Real stanzas of bookworm's main amd64 Packages (epochs, :any, alternatives, Provides with
# versions, Tag continuation lines), the head of its Release, a Debian image's apt .sources file
# (the archive's hosts renamed in both); then what each rule of the parser and of the relationship
# grammar turns on.
cat >"$deb822_dir/packages" <<'EOF'
Package: acme-tiny
Version: 1:5.0.1-1
Installed-Size: 41
Maintainer: Debian Let's Encrypt Team <team+letsencrypt@tracker.debian.org>
Architecture: all
Depends: openssl (>= 1.0.1k), python3-pkg-resources, python3:any
Description: letsencrypt tiny Python client
Homepage: https://github.com/diafygi/acme-tiny
Description-md5: 5085d7a0169e6f77012dffd350070b68
Section: utils
Priority: optional
Filename: pool/main/a/acme-tiny/acme-tiny_5.0.1-1_all.deb
Size: 14148
MD5sum: 49d34b88614facc0edfa199ce7136a25
SHA256: 74ac07af76a1c693b831cec937de38474728667d6fdceb3ce5ec36d2fe453cf8

Package: bash
Source: bash (5.2.15-2)
Version: 5.2.15-2+b13
Essential: yes
Installed-Size: 7164
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Replaces: bash-completion (<< 20060301-0), bash-doc (<= 2.05-1)
Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)
Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)
Recommends: bash-completion (>= 20060301-0)
Suggests: bash-doc
Conflicts: bash-completion (<< 20060301-0)
Description: GNU Bourne Again SHell
Multi-Arch: foreign
Homepage: http://tiswww.case.edu/php/chet/bash/bashtop.html
Description-md5: 3522aa7b4374048d6450e348a5bb45d9
Tag: admin::TODO, devel::TODO, devel::interpreter, implemented-in::c,
 interface::shell, interface::text-mode, role::program,
 scope::application, suite::gnu, uitoolkit::ncurses
Section: shells
Priority: required
Filename: pool/main/b/bash/bash_5.2.15-2+b13_amd64.deb
Size: 1490652
MD5sum: f973a067908f9c7579d30deddd8301ed
SHA256: 82130bb6a560cd2a7234d8018baf73f188f5dd56413d5aa0accc987b2197a6a1

Package: python3
Source: python3-defaults (3.11.2-1)
Version: 3.11.2-1+b1
Installed-Size: 81
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Replaces: python3-minimal (<< 3.1.2-2)
Provides: python3-profiler, python3-supported-max (= 3.11), python3-supported-min (= 3.11)
Depends: python3.11 (>= 3.11.2-1~), libpython3-stdlib (= 3.11.2-1+b1)
Pre-Depends: python3-minimal (= 3.11.2-1+b1)
Suggests: python3-doc (>= 3.11.2-1+b1), python3-tk (>= 3.11.2-1~), python3-venv (>= 3.11.2-1+b1)
Description: interactive high-level object-oriented language (default python3 version)
Multi-Arch: allowed
Homepage: https://www.python.org/
Description-md5: 7e57783fdb3703b27f408a029b7b786f
Tag: devel::interpreter, devel::lang:python, devel::library,
 implemented-in::c, implemented-in::python, role::devel-lib,
 role::program, role::shared-lib
Section: python
Priority: optional
Filename: pool/main/p/python3-defaults/python3_3.11.2-1+b1_amd64.deb
Size: 26300
MD5sum: 48ebc2dc2cb4fa44aaa2780f8141bbe1
SHA256: 33f6dafbd1a6902d9063172ec7dbd4b2225e12009e0d7ec5c933a72c2f5f3b74
EOF
cat >"$deb822_dir/packages-libc6" <<'EOF'
Package: libc6
Source: glibc
Version: 2.36-9+deb12u14
Installed-Size: 13001
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Replaces: libc6-amd64
Depends: libgcc-s1
Recommends: libidn2-0 (>= 2.0.5~)
Suggests: glibc-doc, debconf | debconf-2.0, libc-l10n, locales, libnss-nis, libnss-nisplus
Breaks: aide (<< 0.17.3-4+b3), busybox (<< 1.30.1-6), chrony (<< 4.2-3~), fakechroot (<< 2.19-3.5), firefox (<< 91~), firefox-esr (<< 91~), gnumach-image-1.8-486 (<< 2:1.8+git20210923~), hurd (<< 1:0.9.git20220301-2), ioquake3 (<< 1.36+u20200211.f2c61c1~dfsg-2~), locales (<< 2.36), nscd (<< 2.36), openssh-server (<< 1:8.1p1-5), valgrind (<< 1:3.19.0-1~), wcc (<< 0.0.2+dfsg-3)
Description: GNU C Library: Shared libraries
Multi-Arch: same
Homepage: https://www.gnu.org/software/libc/libc.html
Section: libs
Priority: optional
Filename: pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb
Size: 2759320
SHA256: ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf
EOF
cat >"$deb822_dir/release-head" <<'EOF'
Origin: Debian
Label: Debian
Suite: oldstable
Version: 12.15
Codename: bookworm
Date: Sat, 11 Jul 2026 10:16:37 UTC
Acquire-By-Hash: yes
No-Support-for-Architecture-all: Packages
Architectures: all amd64 arm64 armel armhf i386 mips64el mipsel ppc64el s390x
Components: main contrib non-free-firmware non-free
Description: Debian 12.15 Released 11 July 2026
MD5Sum:
 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all
 d0a0325a97c42fd5f66a8c3e29bcea64    98581 contrib/Contents-all.gz
SHA256:
 3957f28db16e3f28c7b34ae84f1c929c567de6970f3f1b95dac9b498dd80fe63   738242 contrib/Contents-all
EOF
cat >"$deb822_dir/debian.sources" <<'EOF'
Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.example/archive/debian-security/20250520T000000Z
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# Taken: CRLF line ends, no final newline, blank-only lines and tab continuations, comments
# between fields, relationships over continuation lines with every operator (the obsolete < and >
# too), arch qualifiers, no blank at all, empty values, an epoch at INT_MAX.
printf 'Package: crlf\r\nDepends: aa (>= 1.0),\r\n bb | cc:any\r\n\r\nPackage: second\r\nVersion: 1:2-3\r' \
    >"$deb822_dir/crlf"
printf '\n \t\nPackage: blanks  \t\nDepends:\n\taa (<< 1), bb (<= 2),\n  cc (= 3) | dd (>= 4) | ee (>> 5)\n \n\t\n#c\nPackage: b\nProvides: ff (= 1.0-1~bpo12+1)' \
    >"$deb822_dir/blanks-no-final-newline"
printf 'Package: old\nDepends: aa (< 1.0), bb (> 2:1), cc(=1),dd:native(>=2147483647:1)|ee:amd64\nBreaks:\nPre-Depends:   \n' \
    >"$deb822_dir/obsolete-operators"
printf '# comment\nPackage: c\n# between fields\nVersion: 1.0~rc1+dfsg-1\n#\n\n#only comments\n' \
    >"$deb822_dir/comments"
# '\r' is a blank: " \r\t" ends a stanza (fuzz_deb822 found it taken as a continuation line).
printf 'Package: cr\nDepends: aa (>> 5)\n \r\t\n#c\nPackage: b\nA:\r4 \r' >"$deb822_dir/cr-blanks"
# Refused: NUL, a line neither field nor continuation (clearsigned armour), a continuation first
# or after a comment, bad names, a repeat in another case, relationships the grammar refuses.
printf 'Package: a\nVersion: 1\0\n' >"$deb822_dir/nul"
printf -- '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\n' \
    >"$deb822_dir/clearsigned"
printf ' continued: first\nPackage: a\n' >"$deb822_dir/continuation-first"
printf 'Package: a\n# c\n continued\n' >"$deb822_dir/continuation-after-comment"
printf 'Package: a\nBad Name: x\n\n: empty\n\nN\303\244me: x\n' >"$deb822_dir/bad-names"
printf 'Package: a\nDepends: bb\nDEPENDS: cc\n' >"$deb822_dir/repeat"
printf 'Package: a\nDepends: bb [amd64], cc <!nocheck>\nPre-Depends: dd (1.0), ee (!= 1)\nProvides: ff (= 1.0-), Gg\nBreaks: hh,, ii |\n' \
    >"$deb822_dir/bad-relationships"

# --- reference: an image reference, a newline, a signed identity ------------------------------
ref() { # ref FILE IMAGE IDENTITY
    printf '%s\n%s' "$2" "$3" >"$ref_dir/$1"
}
hex=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ref hub python python
ref registry-port 127.0.0.1:5000/acc/tools:t 127.0.0.1:5000/acc/tools
ref tag-and-digest "busybox:latest@sha256:$hex" "busybox:latest@sha256:$hex"
ref legacy-hub index.docker.io/library/python docker.io/python:3.11
ref ipv6 '[::1]:5000/x:t' '[::1]:5000/x'
ref localhost-port localhost:5000 localhost/a/b
ref separators registry.io/foo/project--id.module--name.ver---sion--name \
    example.com/some_separator__underscore/myimage
ref uppercase UPPERCASE/foo:latest "Foo.com/bar@sha512:$hex$hex"
ref image-id "$hex" a__b/c.d-e
# --- .deb seeds (fuzz_deb) -------------------------------------------------------------------------
# Small packages as dpkg-deb writes them (GNU tar inside an ar archive), with what pkg_deb.c reads:
# merged-/usr paths, a hard link, symlinks, a setuid file, a device, a certificate directory; data.tar
# as gzip, xz, zstd and none; and broken ones: a cut archive, data.tar before control.tar.
deb_dir=$here/corpus/deb
rm -rf "$deb_dir"
mkdir -p "$deb_dir"
python3 - "$deb_dir" <<'PY'
import gzip, io, lzma, os, sys, tarfile
out = sys.argv[1]
def tar(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, kind, mode, data in entries:
            i = tarfile.TarInfo(name)
            i.mode, i.mtime, i.uname, i.gname = mode, 1700000000, "root", "root"
            if kind == "d":
                i.type = tarfile.DIRTYPE
            elif kind == "l":
                i.type, i.linkname = tarfile.SYMTYPE, data
            elif kind == "h":
                i.type, i.linkname = tarfile.LNKTYPE, data
            elif kind == "c":
                i.type, i.devmajor, i.devminor = tarfile.CHRTYPE, 1, 3
            else:
                i.size = len(data)
            t.addfile(i, io.BytesIO(data) if kind == "f" else None)
    return b.getvalue()
def ar(members):
    b = bytearray(b"!<arch>\n")
    for name, data in members:
        b += b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name.encode(), 1700000000, 0, 0, b"100644", len(data))
        b += data + (b"\n" if len(data) % 2 else b"")
    return bytes(b)
# The package is unpacked as "fuzz": its control file must say so (pkg_deb.c checks it).
control = gzip.compress(tar([("./", "d", 0o755, None),
                             ("./control", "f", 0o644,
                              b"Package: fuzz\nVersion: 1.0\nArchitecture: amd64\nMulti-Arch: same\n"),
                             ("./md5sums", "f", 0o644, b"d41d8cd98f00b204e9800998ecf8427e  usr/bin/su\n")]),
                        mtime=0)
data = tar([("./", "d", 0o755, None), ("./bin/", "d", 0o755, None), ("./bin/bunzip2", "f", 0o755, b"bz"),
            ("./bin/bzcat", "h", 0o755, "./bin/bunzip2"), ("./bin/bzcmp", "l", 0o777, "bzdiff"),
            ("./lib64/ld.so", "l", 0o777, "/lib/x86_64-linux-gnu/ld.so"),
            ("./usr/bin/su", "f", 0o4755, b"su"), ("./dev/null", "c", 0o666, None),
            ("./usr/share/ca-certificates/mozilla/a.crt", "f", 0o644, b"-----BEGIN CERTIFICATE-----"),
            ("./usr/share/doc/x", "l", 0o777, "y")])
def deb(name, data_name, payload, members=None):
    m = members or [("debian-binary", b"2.0\n"), ("control.tar.gz", control), (data_name, payload)]
    open(os.path.join(out, name), "wb").write(ar(m))
deb("gz.deb", "data.tar.gz", gzip.compress(data, mtime=0))
deb("xz.deb", "data.tar.xz", lzma.compress(data, preset=0))
deb("none.deb", "data.tar", data)
deb("order.deb", "", b"", [("debian-binary", b"2.0\n"), ("data.tar", data), ("control.tar.gz", control)])
whole = open(os.path.join(out, "xz.deb"), "rb").read()
open(os.path.join(out, "cut.deb"), "wb").write(whole[:len(whole) - 100])
PY
if command -v zstd >/dev/null 2>&1; then
    python3 - "$deb_dir" "$(command -v zstd)" <<'PY'
import os, subprocess, sys
out, zstd = sys.argv[1], sys.argv[2]
whole = open(os.path.join(out, "none.deb"), "rb").read()
# The last member of none.deb is data.tar: recompress it as data.tar.zst.
start = whole.index(b"data.tar        ")
size = int(whole[start + 48:start + 58])
tar = whole[start + 60:start + 60 + size]
z = subprocess.run([zstd, "-q", "-3", "-c"], input=tar, capture_output=True, check=True).stdout
head = b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (b"data.tar.zst", 1700000000, 0, 0, b"100644", len(z))
open(os.path.join(out, "zst.deb"), "wb").write(whole[:start] + head + z + (b"\n" if len(z) % 2 else b""))
PY
fi
big=$(find "$deb_dir" -type f -size +20k)
if [ -n "$big" ]; then
    echo "make-corpus: seeds over 20 KB: $big" >&2
    exit 1
fi
chmod 644 "$deb_dir"/*

# --- pkg_lock: a byte choosing the reader (0 lock, 1 Release, 2 Packages), then its input -------
printf '\000' | cat - "$here/../recipes/debian/static.lock.json" >"$pkg_dir/lock-static"
printf '\000{"lockfile_version": 1, "inputs": {}, "inputs_digest": "sha256:%s",
 "repositories": [], "architectures": {}}' "$hex" >"$pkg_dir/lock-empty"
printf '\001' | cat - "$deb822_dir/release-head" >"$pkg_dir/release-head"
printf '\002' | cat - "$deb822_dir/packages" >"$pkg_dir/packages"
printf '\002Package: aa\nVersion: 1\nArchitecture: all\nFilename: p/aa.deb\nSize: 1\nSHA256: %s
Depends: bb (>= 2) | cc, dd\n\nPackage: cc\nVersion: 1:2\nArchitecture: all\nFilename: p/cc.deb
Size: 2\nSHA256: %s\nProvides: dd (= 3)\n' "$hex" "$hex" >"$pkg_dir/packages-providers"

# --- Size check -----------------------------------------------------------------------------------
# (OCI_MANIFEST_MAX_LAYERS takes 1025 layers, about 180 KB: left to the unit tests.)
big=$(find "$elf_dir" "$conf_dir" "$recipe_dir" "$oci_dir" "$sign_dir" "$manifest_dir" \
    "$auth_dir" "$dcfg_dir" "$layer_dir" "$digests_dir" "$deb822_dir" "$ref_dir" "$pkg_dir" -type f -size +20k)
if [ -n "$big" ]; then
    echo "make-corpus: seeds over 20 KB: $big" >&2
    exit 1
fi
chmod 644 "$elf_dir"/* "$conf_dir"/* "$recipe_dir"/* "$oci_dir"/* "$sign_dir"/* "$manifest_dir"/* \
    "$auth_dir"/* "$dcfg_dir"/* "$layer_dir"/* "$digests_dir"/* "$deb822_dir"/* "$ref_dir"/* \
    "$pkg_dir"/*
du -sb "$elf_dir" "$conf_dir" "$recipe_dir" "$oci_dir" "$sign_dir" "$manifest_dir" "$auth_dir" \
    "$dcfg_dir" "$layer_dir" "$digests_dir" "$deb822_dir" "$ref_dir" "$pkg_dir"
