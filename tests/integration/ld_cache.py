#!/usr/bin/env python3
"""/etc/ld.so.cache as temper writes it, against the bytes `ldconfig -r` writes for the same
tree (this machine's ldconfig, the oracle):

- base.yaml and python.yaml: the cache of the unpacked image is byte for byte ldconfig's;
  static.yaml (no libc) has none.
- a fixture made here with gcc: /etc/ld.so.conf including ld.so.conf.d/*.conf (a directory of
  its own), glibc-hwcaps/x86-64-v2 and x86-64-v3 subdirectories whose libraries are marked
  with the x86 ISA level they need (which ldconfig writes into their entries: levels 1 and 2
  are found there), a marked library in an ordinary directory, a library without a soname,
  a `.so` development link, a linker script named like a library, a dangling link and an
  executable among the libraries: the same bytes again.
- `ld-so-cache: false` leaves it out; a recipe that takes the root's /etc/ld.so.cache is told
  that temper writes it.
- find_library in the python image (its recipe test) is checked by sandbox.py.

usage: ld_cache.py TEMPER RECIPES_DIR
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

from checks import check, summary, unpack_layout  # tests/integration/checks.py

TEMPER, RECIPES = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
CACHE = "etc/ld.so.cache"


def temper(*args):
    return subprocess.run([TEMPER, *args], capture_output=True, text=True)


def same_as_ldconfig(what, tree):
    """Whether ldconfig -r, run on the tree with temper's cache taken out, writes its bytes."""
    ours = open(os.path.join(tree, CACHE), "rb").read()
    os.unlink(os.path.join(tree, CACHE))
    r = subprocess.run(["ldconfig", "-r", tree, "-X"], capture_output=True, text=True)
    theirs = open(os.path.join(tree, CACHE), "rb").read() if r.returncode == 0 else b""
    listing = subprocess.run(["ldconfig", "-r", tree, "-p"], capture_output=True, text=True)
    return check(ours == theirs and len(ours) > 0,
                 f"{what}: /etc/ld.so.cache is ldconfig's, byte for byte ({len(ours)} bytes, "
                 f"{listing.stdout.splitlines()[0] if listing.stdout else r.stderr.strip()})")


def isa_levels(path):
    """The x86 ISA levels of a cache's glibc-hwcaps entries (bits 32 to 41 of their hwcap)."""
    data = open(path, "rb").read()
    n = struct.unpack_from("<I", data, 20)[0]
    hwcaps = [struct.unpack_from("<Q", data, 48 + 24 * i + 16)[0] for i in range(n)]
    return sorted((h >> 32) & 0x3ff for h in hwcaps if h & (1 << 62))


LAST_STDERR = [""]


def build(work, name, recipe, *args):
    out = os.path.join(work, f"{name}-layout")
    r = temper("build", recipe, "-o", out, "--skip-tests", *args)
    LAST_STDERR[0] = r.stderr
    check(r.returncode == 0, f"{name}: builds: {r.stderr.strip()[-300:]}")
    return out if r.returncode == 0 else None


def test_recipes(work):
    for name in ("static", "base", "python"):
        layout = build(work, name, os.path.join(RECIPES, f"{name}.yaml"))
        if layout is None:
            continue
        tree = unpack_layout(layout, os.path.join(work, name))
        if name == "static":
            check(not os.path.exists(os.path.join(tree, CACHE)),
                  "static: no libc, no /etc/ld.so.cache")
        else:
            same_as_ldconfig(name, tree)


def gcc(*args):
    subprocess.run(["gcc", *args], check=True, capture_output=True)


def fixture(work):
    """A root of libraries in every shape ldconfig has a rule for."""
    root = os.path.join(work, "fixture-root")
    lib = os.path.join(root, "usr/lib/x86_64-linux-gnu")
    src = os.path.join(work, "f.c")
    open(src, "w").write("int f(void) { return 1; }\n")
    for d in ("glibc-hwcaps/x86-64-v2", "glibc-hwcaps/x86-64-v3"):
        os.makedirs(os.path.join(lib, d))
    for d in ("opt/lib", "etc/ld.so.conf.d", "usr/bin"):
        os.makedirs(os.path.join(root, d))
    so = ["-shared", "-fPIC", src]
    gcc(*so, "-Wl,-soname,libf.so.1", "-o", os.path.join(lib, "libf.so.1.0"))
    os.symlink("libf.so.1.0", os.path.join(lib, "libf.so.1"))
    os.symlink("libf.so.1", os.path.join(lib, "libf.so"))  # the development link
    # -z x86-64-vN writes the GNU property note that says which ISA level the library needs
    gcc(*so, "-Wl,-soname,libf.so.1", "-Wl,-z,x86-64-v2",
        "-o", os.path.join(lib, "glibc-hwcaps/x86-64-v2/libf.so.1"))
    gcc(*so, "-march=x86-64-v3", "-Wl,-soname,libf.so.1", "-Wl,-z,x86-64-v3",
        "-o", os.path.join(lib, "glibc-hwcaps/x86-64-v3/libf.so.1"))
    gcc(*so, "-Wl,-soname,libg.so.2", "-o", os.path.join(root, "opt/lib/libg.so.2"))
    gcc(*so, "-Wl,-soname,libg.so.2", "-o", os.path.join(root, "opt/lib/libg.so.2.10"))
    gcc(*so, "-Wl,-soname,libg.so.2", "-o", os.path.join(root, "opt/lib/libg.so.2.9"))
    gcc(*so, "-o", os.path.join(root, "opt/lib/libnosoname.so"))
    open(os.path.join(root, "opt/lib/libscript.so"), "w").write("GROUP ( libg.so.2 )\n")
    os.symlink("libgone.so.7", os.path.join(root, "opt/lib/libdangling.so.7"))
    gcc(src, "-o", os.path.join(root, "opt/lib/libexec.so.1"), "-nostartfiles", "-e", "f")
    open(os.path.join(root, "etc/ld.so.conf"), "w").write(
        "# comment\ninclude /etc/ld.so.conf.d/*.conf\n/usr/lib/x86_64-linux-gnu/\n"
        "include   ld.so.conf.d/rel*.conf\n")  # relative to /etc
    open(os.path.join(root, "etc/ld.so.conf.d/opt.conf"), "w").write("/opt/lib  # opt\n")
    os.makedirs(os.path.join(root, "srv/lib"))
    gcc(*so, "-Wl,-soname,libh.so.3", "-Wl,-z,x86-64-v3", "-o",
        os.path.join(root, "srv/lib/libh.so.3"))
    open(os.path.join(root, "etc/ld.so.conf.d/rel.conf"), "w").write("\t/srv/lib\n")
    main = os.path.join(work, "main.c")
    open(main, "w").write("int f(void);\nint main(void) { return f() - 1; }\n")
    gcc(main, os.path.join(root, "opt/lib/libg.so.2"), "-o", os.path.join(root, "usr/bin/useg"))
    for f in ("libc.so.6", "ld-linux-x86-64.so.2"):
        shutil.copy(f"/lib/x86_64-linux-gnu/{f}", lib)
    os.makedirs(os.path.join(root, "lib64"))
    os.symlink("../usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
               os.path.join(root, "lib64/ld-linux-x86-64.so.2"))
    return root


def test_fixture(work):
    root = fixture(work)
    recipe = os.path.join(work, "fixture.yaml")
    # useg needs libg.so.2, which only ld.so.conf's /opt/lib finds: the loader finds it through
    # the cache, so the build warns only when the image's cache does not list it
    body = ("name: fixture\ncontents:\n  binaries: [/lib64/ld-linux-x86-64.so.2, /usr/bin/useg]\n"
            "  files: [/etc/ld.so.conf, /etc/ld.so.conf.d/opt.conf, /etc/ld.so.conf.d/rel.conf]\n"
            "  trees: [{path: /usr/lib/x86_64-linux-gnu}, {path: /opt/lib}, {path: /srv/lib}]\n"
            "paths: [{path: /lib, type: symlink, target: usr/lib}]\n")
    open(recipe, "w").write(body)
    layout = build(work, "fixture", recipe, "--root", root)
    check(layout is not None and "found through /etc/ld.so.conf" not in LAST_STDERR[0],
          "no warning for a library only ld.so.conf finds when the image's cache lists it")
    if layout:
        tree = unpack_layout(layout, os.path.join(work, "fixture"))
        same_as_ldconfig("fixture (ld.so.conf.d, glibc-hwcaps, ISA levels, links, scripts)", tree)
        levels = isa_levels(os.path.join(tree, CACHE))
        check(levels == [1, 2], f"the ISA levels of the glibc-hwcaps entries: {levels}")
    open(recipe, "w").write(body + "ld-so-cache: false\n")
    layout = build(work, "no-cache", recipe, "--root", root)
    check("'/opt/lib/libg.so.2' was found through /etc/ld.so.conf, which ld.so reads only from "
          "/etc/ld.so.cache, and the image has none" in LAST_STDERR[0],
          "without the cache, the build warns that the loader will not find libg.so.2")
    if layout:
        tree = unpack_layout(layout, os.path.join(work, "no-cache"))
        check(not os.path.exists(os.path.join(tree, CACHE)), "ld-so-cache: false leaves it out")
    subprocess.run(["ldconfig", "-r", root, "-X"], check=True)
    open(recipe, "w").write(body.replace("rel.conf]", "rel.conf, /etc/ld.so.cache]"))
    r = temper("build", recipe, "--root", root, "-o", os.path.join(work, "taken"))
    check(r.returncode == 1 and "temper writes '/etc/ld.so.cache' itself" in r.stderr,
          f"the root's own cache is refused, saying why: {r.stderr.strip()[-200:]}")


def main():
    work = tempfile.mkdtemp(prefix="temper-ldcache-")
    try:
        test_recipes(work)
        test_fixture(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
