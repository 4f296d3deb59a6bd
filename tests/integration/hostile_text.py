#!/usr/bin/env python3
"""Names from hostile inputs reach a person escaped, never raw (issue 17).

Names and values that hold terminal escapes (an OSC title, ESC[2J), a newline followed by a line
that looks like temper's own, bidi controls, C1 controls, U+2028 and bytes that are not UTF-8
come from:
- a root (symlink names and targets, a fifo's name, an ELF file's name): temper build's warnings
  and hardening summary;
- an ELF file (DT_NEEDED names, the RPATH): temper resolve's error and its list and ldd formats;
- a layer (tar entry names, symlink targets) and its history comment: temper inspect and temper
  diff, text and JSON, and the error naming an entry;
- a layout (an index.json annotation key, tags): temper inspect and temper verify errors.
Every byte temper writes must be one a terminal only shows: no C0 control but the newline (and
the tab that starts a line of the ldd format), no DEL, no C1, no bidi control, no U+2028/U+2029,
and valid UTF-8. Each hostile name must be shown as `shown` spells it (the escape of
builder/base/escape.h), so two names never look alike; JSON keeps the exact text.

usage: hostile_text.py TEMPER
"""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

import crafted as cr  # layouts crafted by hand (tests/integration/crafted.py)
from checks import check, shown, summary  # tests/integration/checks.py

TEMPER = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None

OSC = b"\x1b]0;pwned\x07"
CLEAR = b"\x1b[2J"
FORGED = b"temper: t1:latest (amd64): hardening checks passed; signed OK"
BIDI = "\u202egnp.exe\u2066".encode()
C1 = "\u009b31m".encode()  # CSI as a C1 control, in UTF-8
SEPARATOR = "\u2028".encode()
NOT_UTF8 = b"\xff\xfe\xc3"
BACKSLASH_N = b"\\n"  # a backslash and an n: must not look like a newline
BIDI_CONTROLS = {0x061C, 0x200E, 0x200F, 0x2028, 0x2029} | set(range(0x202A, 0x202F)) | \
    set(range(0x2066, 0x206A))


def run(args, **kw):
    return subprocess.run(args, capture_output=True, **kw)


def temper(*args):
    return run([TEMPER, *args], timeout=120)


def unsafe(data):
    """What in `data` a terminal could act on (a description), or None when there is nothing."""
    for line in data.split(b"\n"):
        if line.startswith(b"\t"):  # the ldd format's own indent
            line = line[1:]
        for b in line:
            if b < 0x20 or b == 0x7f:
                return f"byte {b:#04x} in line {line[:120]!r}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8 at byte {e.start}: {data[max(0, e.start - 40):e.start + 8]!r}"
    for c in text:
        if 0x80 <= ord(c) <= 0x9f or ord(c) in BIDI_CONTROLS:
            return f"U+{ord(c):04X}"
    return None


def clean(r, what, rc):
    """Checks the exit code and that both outputs are safe and forge no line of temper's."""
    check(r.returncode == rc, f"{what}: exit {rc}: {r.returncode} {r.stderr[-300:]!r}")
    for name, data in (("stdout", r.stdout), ("stderr", r.stderr)):
        bad = unsafe(data)
        check(bad is None, f"{what}: {name} holds nothing a terminal acts on: {bad}")
    lines = (r.stdout + b"\n" + r.stderr).split(b"\n")
    check(not any(line.startswith(FORGED) for line in lines), f"{what}: no forged line")


def shows(r, names, what, stream="stderr"):
    data = (r.stderr if stream == "stderr" else r.stdout).decode("utf-8", "replace")
    for n in names:
        check(shown(n) in data, f"{what}: shows {n!r} as {shown(n)}")


# ---- a root: temper build --------------------------------------------------------------------


def test_build(work):
    root = os.path.join(work, "root")
    data = os.path.join(root, "data").encode()
    os.makedirs(data)
    link = b"lnk" + OSC
    target = b"/nowhere\n" + FORGED
    link2 = b"plain"
    target2 = b"/x" + CLEAR + BIDI + NOT_UTF8 + BACKSLASH_N
    fifo = b"fifo" + C1 + SEPARATOR
    prog = b"prog" + BACKSLASH_N + BIDI
    os.symlink(target, os.path.join(data, link))
    os.symlink(target2, os.path.join(data, link2))
    os.mkfifo(os.path.join(data, fifo))
    shutil.copy("/sbin/ldconfig", os.path.join(data, prog))  # a static ELF file
    recipe = os.path.join(work, "t1.yaml")
    with open(recipe, "w") as f:
        f.write("name: t1\narchitecture: amd64\ncontents:\n  trees: [{path: /data}]\n")
    # --verbose: the summary lists every ELF file, the hostile one among them
    r = temper("build", recipe, "-o", os.path.join(work, "t1-out"), "--root", root, "--verbose")
    clean(r, "build over a hostile root", 0)
    shows(r, [b"/data/" + link, target, b"/data/" + link2, target2, b"/data/" + fifo,
              b"/data/" + prog], "build's warnings and summary")


# ---- an ELF file: temper resolve -------------------------------------------------------------

LIBDIR = b"/lib64"  # a default directory of x86_64 when libc is not in a multiarch one
FOUND = b"libq\n" + CLEAR + BIDI + b".so"  # DT_NEEDED, a file of that name in the root
MISSING = b"libm" + OSC + b"\n" + FORGED  # DT_NEEDED, found nowhere
RPATH = b"/opt/" + C1 + BACKSLASH_N + NOT_UTF8


def elf_root(work):
    src = os.path.join(work, "src")
    root = os.path.join(work, "eroot").encode()
    os.makedirs(src)
    os.makedirs(root + b"/usr/bin")
    os.makedirs(root + LIBDIR)
    shutil.copy("/lib64/ld-linux-x86-64.so.2", root + b"/lib64/ld-linux-x86-64.so.2")
    with open(os.path.join(src, "lib.c"), "w") as f:
        f.write("int q(void) { return 1; }\n")
    with open(os.path.join(src, "main.c"), "w") as f:
        f.write("void _start(void) { for (;;) ; }\n")
    libs = []
    for soname in (FOUND, MISSING):
        out = os.path.join(src, f"lib{len(libs)}.so").encode()
        run(["gcc", "-shared", "-fPIC", "-nostdlib", "-o", out, b"-Wl,-soname," + soname,
             os.path.join(src, "lib.c")], check=True)
        libs.append(out)
    shutil.copy(libs[0], root + LIBDIR + b"/" + FOUND)
    run([b"gcc", b"-nostdlib", b"-o", root + b"/usr/bin/app", os.path.join(src, "main.c").encode(),
         b"-Wl,--no-as-needed", *libs, b"-Wl,--disable-new-dtags,-rpath," + RPATH], check=True)
    return root


def test_resolve(work):
    root = elf_root(work)
    r = temper("resolve", "--root", root, "/usr/bin/app")
    clean(r, "resolve: a DT_NEEDED found nowhere", 1)
    shows(r, [MISSING], "resolve's error")
    for fmt, rc in (("ldd", 0), ("list", 0)):
        r = temper("resolve", "--root", root, "--allow-missing", "--format", fmt, "/usr/bin/app")
        clean(r, f"resolve --format {fmt}", rc)
        names = [FOUND, MISSING] if fmt == "ldd" else [LIBDIR + b"/" + FOUND]
        shows(r, names, f"resolve --format {fmt}", "stdout")
        check(len(r.stdout.splitlines()) == (3 if fmt == "ldd" else 3),
              f"resolve --format {fmt}: one line per name: {r.stdout!r}")
    r = temper("resolve", "--root", root, "--allow-missing", "--format", "json", "/usr/bin/app")
    # JSON cannot hold the RPATH, which is not UTF-8: refused, the name escaped in the message.
    clean(r, "resolve --format json of a name that is not UTF-8", 1)
    shows(r, [RPATH], "resolve --format json's error")
    r = temper("resolve", "--format", (CLEAR + b"\n" + FORGED).decode(), "/x")
    clean(r, "resolve: a usage error echoing an argument", 2)


def test_resolve_json_exact(work):
    root = os.path.join(work, "eroot").encode()
    # The same root with a UTF-8 RPATH: JSON gives every name exactly.
    app = root + b"/usr/bin/app"
    src = os.path.join(work, "src")
    rpath = b"/opt/" + C1 + BACKSLASH_N
    run([b"gcc", b"-nostdlib", b"-o", app, os.path.join(src, "main.c").encode(),
         b"-Wl,--no-as-needed", os.path.join(src, "lib0.so").encode(),
         os.path.join(src, "lib1.so").encode(), b"-Wl,--disable-new-dtags,-rpath," + rpath],
        check=True)
    r = temper("resolve", "--root", root, "--allow-missing", "--format", "json", "/usr/bin/app")
    clean(r, "resolve --format json", 0)
    try:
        doc = json.loads(r.stdout)
        app_obj = doc["inputs"][0]["objects"][0]
        needed = [n["name"] for n in app_obj["needed"]]
        missing = [m["name"] for m in doc["inputs"][0]["missing"]]
    except (ValueError, KeyError, IndexError) as e:
        check(False, f"resolve --format json reads back: {e}")
        return
    check(needed == [FOUND.decode(), MISSING.decode()] and missing == [MISSING.decode()] and
          app_obj["rpath"] == rpath.decode(), f"JSON keeps every name exactly: {needed} {missing}")


# ---- a layer: temper inspect and temper diff -------------------------------------------------

ENTRY = b"etc/" + OSC + b"\n" + FORGED
LINK_TARGET = CLEAR + BIDI + NOT_UTF8 + BACKSLASH_N
OTHER = b"etc/" + C1 + SEPARATOR + BACKSLASH_N
COMMENT = CLEAR + BIDI + b"\n" + FORGED  # a layer's history comment, which inspect shows


def tar_of(members):
    """members: (name bytes, type, link bytes); GNU format, names as they are."""
    import io
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as t:
        for name, typ, link in members:
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            info.type, info.mode, info.mtime = typ, 0o644, 0
            info.linkname = link.decode("utf-8", "surrogateescape")
            if typ == tarfile.REGTYPE:
                info.size = 1
                t.addfile(info, io.BytesIO(b"x"))
            else:
                t.addfile(info)
    return bio.getvalue()


def test_layer(work):
    a = cr.layout(os.path.join(work, "la"), [tar_of([(b"etc/a", tarfile.REGTYPE, b"")])])
    b = cr.layout(os.path.join(work, "lb"), [tar_of([
        (b"etc/a", tarfile.REGTYPE, b""), (ENTRY, tarfile.REGTYPE, b""),
        (b"etc/l", tarfile.SYMTYPE, LINK_TARGET), (OTHER, tarfile.REGTYPE, b"")])],
        config_extra={"history": [{"comment": COMMENT.decode()}]})
    r = temper("inspect", b)
    clean(r, "inspect of hostile entries", 0)
    shows(r, [b"/" + ENTRY, LINK_TARGET, b"/" + OTHER, COMMENT], "inspect", "stdout")
    r = temper("inspect", "--format", "json", b)
    clean(r, "inspect --format json", 0)
    paths = [f["path"] for layer in json.loads(r.stdout)["layers"] for f in layer["files"]]
    check("/" + ENTRY.decode() in paths and "/" + OTHER.decode() in paths,
          f"inspect's JSON keeps UTF-8 names exactly: {paths}")
    comments = [layer["comment"] for layer in json.loads(r.stdout)["layers"]]
    check(comments == [COMMENT.decode()], f"and the layer's comment: {comments}")
    r = temper("diff", a, b)
    clean(r, "diff of hostile entries", 1)
    shows(r, [b"/" + ENTRY, LINK_TARGET, b"/" + OTHER], "diff", "stdout")
    lines = r.stdout.splitlines()
    check(lines[-1:] == [b"%d differences" % (len(lines) - 2)],
          f"diff: a line per difference: {r.stdout!r}")
    r = temper("diff", "--format", "json", a, b)
    clean(r, "diff --format json", 1)
    paths = [d.get("path") for d in json.loads(r.stdout)["differences"]]
    check("/" + ENTRY.decode() in paths, f"diff's JSON keeps the name exactly: {paths}")
    # An error naming an entry: a symlink target over the path cap.
    c = cr.layout(os.path.join(work, "lc"), [tar_of([(ENTRY, tarfile.SYMTYPE, b"t" * 5000)])])
    r = temper("inspect", c)
    clean(r, "inspect: an error naming a hostile entry", 1)
    shows(r, [b"/" + ENTRY], "inspect's error")


# ---- a layout: index.json annotations and tags -----------------------------------------------

KEY = "k" + OSC.decode() + "\n" + FORGED.decode() + "\u202e"
TAG = "v1" + CLEAR.decode() + "\u2066\n" + FORGED.decode()


def with_index(work, name, annotations):
    path = cr.layout(os.path.join(work, name), [tar_of([(b"etc/a", tarfile.REGTYPE, b"")])])
    index_path = os.path.join(path, "index.json")
    with open(index_path) as f:
        index = json.load(f)
    index["manifests"][0]["annotations"] = annotations
    with open(index_path, "w") as f:
        json.dump(index, f)
    return path


def test_layout(work):
    bad = with_index(work, "ia", {"org.opencontainers.image.ref.name": "v1", KEY: 5})
    r = run([TEMPER, "keygen", "-o", os.path.join(work, "k")])
    check(r.returncode == 0, f"keygen: {r.stderr!r}")
    for args in (["inspect", bad], ["verify", "--key", os.path.join(work, "k.pub"), bad]):
        r = temper(*args)
        clean(r, f"{args[0]}: an annotation key that is not a string", 1)
        shows(r, [KEY.encode()], f"{args[0]}'s error")
    tagged = with_index(work, "ib", {"org.opencontainers.image.ref.name": TAG})
    r = temper("inspect", tagged)
    clean(r, "inspect: a hostile tag", 0)
    shows(r, [TAG.encode()], "inspect's tags", "stdout")
    r = temper("inspect", tagged + ":nope")
    clean(r, "inspect: a missing tag, the layout's listed", 1)
    shows(r, [TAG.encode()], "the error's list of tags")


def main():
    if TEMPER is None:
        print(__doc__)
        return 2
    work = tempfile.mkdtemp(prefix="temper-hostile-text.")
    try:
        test_build(work)
        test_resolve(work)
        test_resolve_json_exact(work)
        test_layer(work)
        test_layout(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
