#!/usr/bin/env python3
"""What glibc opens with dlopen, derived by temper build, on programs built here with gcc in a
root made of this machine's own glibc files. For each, the test first shows the failure without
the addition (the image's tree with the file taken out, run under bubblewrap), then that the
build adds it, says so, and the recipe's test passes in the image:

- libgcc_s.so.1 for a program that calls pthread_cancel: without it glibc aborts ("libgcc_s.so.1
  must be installed for pthread_cancel to work"); a root without it fails the build, naming the
  program and the package.
- libnss_compat.so.2 for a recipe whose /etc/nsswitch.conf says `passwd: compat`: without it
  getpwuid finds no user; a root without it fails the build at the recipe's line; a service
  name that is not a module name, and a NUL byte, are refused.
- gconv modules for a program that calls iconv_open: without contents.gconv a warning names it;
  with `gconv: [iso-8859-1, EUC-JP, UTF-8]` the image holds the two modules, EUC-JP's libJIS.so,
  gconv-modules and its cache (UTF-8 is built in), and conversions work; without the module
  iconv_open fails; an unknown set is refused at its line; `gconv: []` says none are needed.
- `temper build --format json` lists the same additions under glibc_opens, each with the words
  of the summary, and the digest the layout's index names.

usage: dlopen.py TEMPER
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from checks import check, summary, unpack_layout  # tests/integration/checks.py

TEMPER = os.path.abspath(sys.argv[1])
LIB = "usr/lib/x86_64-linux-gnu"

CANCEL = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *wait_forever(void *arg) { (void)arg; for (;;) pause(); return NULL; }
int main(void) {
    pthread_t t;
    void *res;
    pthread_create(&t, NULL, wait_forever, NULL);
    pthread_cancel(t);
    pthread_join(t, &res);
    puts(res == PTHREAD_CANCELED ? "cancelled" : "not cancelled");
    return 0;
}
"""

PWENT = r"""
#include <pwd.h>
#include <stdio.h>
int main(void) {
    struct passwd *pw = getpwuid(65532);
    puts(pw != NULL ? pw->pw_name : "no user 65532");
    return pw != NULL ? 0 : 1;
}
"""

CONV = r"""
#include <iconv.h>
#include <stdio.h>
#include <string.h>
static int conv(const char *from, const char *in) {
    char out[64] = "", *op = out, *ip = (char *)in;
    size_t il = strlen(in), ol = sizeof(out) - 1;
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1) { printf("iconv_open %s: failed\n", from); return 1; }
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) { printf("iconv %s: failed\n", from); return 1; }
    printf("%s: %s\n", from, out);
    return iconv_close(cd);
}
int main(void) {
    return conv("ISO-8859-1", "\xe9t\xe9") | conv("EUC-JP", "\xc6\xfc\xcb\xdc");
}
"""


def temper(*args):
    return subprocess.run([TEMPER, *args], capture_output=True, text=True)


def host_lib(name):
    return os.path.realpath(os.path.join("/", LIB, name))


def make_root(work, name, programs, libs=(), gconv=()):
    """A root of this machine's loader and libc, the named libraries and gconv files, and the
    programs compiled from their sources."""
    root = os.path.join(work, name)
    os.makedirs(os.path.join(root, LIB, "gconv", "gconv-modules.d"))
    os.makedirs(os.path.join(root, "usr/bin"))
    os.symlink("usr/lib", os.path.join(root, "lib"))
    os.makedirs(os.path.join(root, "lib64"), exist_ok=True)
    os.symlink(f"/{LIB}/ld-linux-x86-64.so.2", os.path.join(root, "lib64/ld-linux-x86-64.so.2"))
    for lib in ("ld-linux-x86-64.so.2", "libc.so.6", *libs):
        shutil.copy(host_lib(lib), os.path.join(root, LIB, lib))
    for f in gconv:
        shutil.copy(os.path.join("/", LIB, "gconv", f), os.path.join(root, LIB, "gconv", f))
    for prog, src in programs.items():
        c = os.path.join(work, f"{prog}.c")
        open(c, "w").write(src)
        subprocess.run(["gcc", "-O1", c, "-o", os.path.join(root, "usr/bin", prog)], check=True)
    return root


def recipe(work, name, body):
    path = os.path.join(work, f"{name}.yaml")
    open(path, "w").write(f"name: {name}\n{body}")
    return path


def run_in(tree, *command):
    """A command with the tree as its root, as the recipe tests run (user 65532)."""
    for d in ("proc", "dev"):
        os.makedirs(os.path.join(tree, d), exist_ok=True)
    return subprocess.run(["bwrap", "--unshare-all", "--ro-bind", tree, "/", "--proc", "/proc",
                           "--dev", "/dev", "--uid", "65532", "--gid", "65532", "--clearenv",
                           *command], capture_output=True, text=True)


def without(work, layout, name, path):
    """The image's tree with one file taken out."""
    tree = unpack_layout(layout, os.path.join(work, f"{name}-tree"))
    os.unlink(os.path.join(tree, path))
    return tree


def test_unwinder(work):
    body = ("contents:\n  binaries: [/usr/bin/cancel]\n"
            "tests:\n  - command: [/usr/bin/cancel]\n    stdout: '^cancelled$'\n")
    bare = make_root(work, "cancel-bare", {"cancel": CANCEL})
    r = temper("build", recipe(work, "cancel", body), "--root", bare, "-o",
               os.path.join(work, "cancel-bare-out"))
    check(r.returncode != 0 and "glibc opens libgcc_s.so.1 to unwind threads" in r.stderr
          and "'/usr/bin/cancel' imports" in r.stderr and "libgcc-s1" in r.stderr
          and not os.path.exists(os.path.join(work, "cancel-bare-out")),
          f"a root without libgcc_s.so.1 fails the build: {r.stderr.strip()[-300:]}")
    root = make_root(work, "cancel-root", {"cancel": CANCEL}, libs=["libgcc_s.so.1"])
    out = os.path.join(work, "cancel-out")
    r = temper("build", recipe(work, "cancel", body), "--root", root, "-o", out)
    check(r.returncode == 0 and "tests: 1 passed" in r.stderr and
          "libgcc_s.so.1, to unwind threads" in r.stderr,
          f"with it, the build adds libgcc_s.so.1, says why, and the program runs: "
          f"{r.stderr.strip()[-300:]}")
    if r.returncode != 0:
        return
    tree = without(work, out, "cancel", f"{LIB}/libgcc_s.so.1")
    bad = run_in(tree, "/usr/bin/cancel")
    check(bad.returncode != 0 and
          "libgcc_s.so.1 must be installed for pthread_cancel to work" in bad.stderr,
          f"the image without it aborts: {bad.returncode} {bad.stderr.strip()}")


def test_nss(work):
    conf = "passwd: compat\\ngroup: compat\\nhosts: files [NOTFOUND=return] dns # comment\\n"
    body = ("contents:\n  binaries: [/usr/bin/pwent]\n"
            "paths:\n  - {path: /etc/nsswitch.conf, type: file, content: \"" + conf + "\"}\n"
            "tests:\n  - command: [/usr/bin/pwent]\n    stdout: '^nonroot$'\n")
    bare = make_root(work, "pwent-bare", {"pwent": PWENT})
    r = temper("build", recipe(work, "pwent", body), "--root", bare, "-o",
               os.path.join(work, "pwent-bare-out"))
    check(r.returncode != 0 and "pwent.yaml:5:" in r.stderr and
          "glibc opens libnss_compat.so.2 for service 'compat' of /etc/nsswitch.conf, line 1"
          in r.stderr, f"a root without the module fails at the recipe's line: "
          f"{r.stderr.strip()[-300:]}")
    root = make_root(work, "pwent-root", {"pwent": PWENT}, libs=["libnss_compat.so.2"])
    out = os.path.join(work, "pwent-out")
    r = temper("build", recipe(work, "pwent", body), "--root", root, "-o", out)
    check(r.returncode == 0 and "tests: 1 passed" in r.stderr and
          "libnss_compat.so.2, for service 'compat' of /etc/nsswitch.conf, line 1" in r.stderr and "libnss_files" not in r.stderr and "libnss_dns" not in r.stderr,
          f"with it, the build adds libnss_compat.so.2 (files and dns are in libc) and getpwuid "
          f"answers: {r.stderr.strip()[-300:]}")
    if r.returncode == 0:
        tree = without(work, out, "pwent", f"{LIB}/libnss_compat.so.2")
        bad = run_in(tree, "/usr/bin/pwent")
        check(bad.returncode != 0 and bad.stdout.strip() == "no user 65532",
              f"the image without it finds no user: {bad.stdout.strip()}")
    odd = body.replace("passwd: compat", "passwd: ../x")
    r = temper("build", recipe(work, "odd", odd), "--root", root, "-o", os.path.join(work, "odd"))
    check(r.returncode != 0 and "service '../x' is not a module name" in r.stderr,
          f"a service that is not a module name is refused: {r.stderr.strip()[-200:]}")
    nul = body.replace("passwd: compat", "passwd: compat\\0ldap")
    r = temper("build", recipe(work, "nul", nul), "--root", root, "-o", os.path.join(work, "nul"))
    check(r.returncode != 0 and "nul.yaml:5:12: /etc/nsswitch.conf holds a NUL byte" in r.stderr,
          f"a NUL byte in it is refused: {r.stderr.strip()[-200:]}")


def test_gconv(work):
    files = ["gconv-modules", "gconv-modules.cache", "ISO8859-1.so", "EUC-JP.so", "libJIS.so",
             "gconv-modules.d/gconv-modules-extra.conf"]
    root = make_root(work, "conv-root", {"conv": CONV}, gconv=files)
    test = ("tests:\n  - command: [/usr/bin/conv]\n"
            "    stdout: '^ISO-8859-1: \u00e9t\u00e9$'\n")
    plain = "contents:\n  binaries: [/usr/bin/conv]\n"
    r = temper("build", recipe(work, "conv0", plain), "--root", root, "-o",
               os.path.join(work, "conv0"), "--skip-tests")
    check(r.returncode == 0 and "'/usr/bin/conv' imports iconv_open" in r.stderr and
          "contents.gconv" in r.stderr, f"without contents.gconv, a warning names the program: "
          f"{r.stderr.strip()[-300:]}")
    r = temper("build", recipe(work, "conv1", plain + "  gconv: []\n"), "--root", root, "-o",
               os.path.join(work, "conv1"), "--skip-tests")
    check(r.returncode == 0 and "iconv_open" not in r.stderr, "`gconv: []` says none are needed")
    out = os.path.join(work, "conv-out")
    named = plain + "  gconv: [iso-8859-1, EUC-JP, UTF-8]\n" + test
    r = temper("build", recipe(work, "conv", named), "--root", root, "-o", out, "--format",
               "json")
    check(r.returncode == 0 and "tests: 1 passed" in r.stderr and
          r.stderr.count("gconv/ISO8859-1.so, the gconv module of iso-8859-1") == 1,
          f"with contents.gconv, the modules come and the conversion works: "
          f"{r.stderr.strip()[-300:]}")
    if r.returncode != 0:
        return
    doc = json.loads(r.stdout)
    opened = {os.path.basename(o["path"]): o["why"] for o in doc["glibc_opens"]}
    index = json.load(open(os.path.join(out, "index.json")))
    check(opened == {"ISO8859-1.so": "the gconv module of iso-8859-1 (contents.gconv)",
                     "EUC-JP.so": "the gconv module of EUC-JP (contents.gconv)"} and
          all(f"glibc opens at run time: {o['path']}, {o['why']}" in r.stderr
              for o in doc["glibc_opens"]) and
          doc["digest"] == index["manifests"][0]["digest"] and doc["layout"] == out,
          f"--format json lists them as the summary does, with the digest: {doc['glibc_opens']}")
    tree = unpack_layout(out, os.path.join(work, "conv-tree"))
    held = sorted(os.listdir(os.path.join(tree, LIB, "gconv")))
    check(held == ["EUC-JP.so", "ISO8859-1.so", "gconv-modules", "gconv-modules.cache",
                   "gconv-modules.d", "libJIS.so"], f"the image holds what they need: {held}")
    good = run_in(tree, "/usr/bin/conv")
    check(good.returncode == 0 and "EUC-JP: \u65e5\u672c" in good.stdout,
          f"EUC-JP converts, through libJIS.so: {good.stdout.strip()}")
    os.unlink(os.path.join(tree, LIB, "gconv/ISO8859-1.so"))
    bad = run_in(tree, "/usr/bin/conv")
    check(bad.returncode != 0 and "iconv_open ISO-8859-1: failed" in bad.stdout,
          f"without the module, iconv_open fails: {bad.stdout.strip()}")
    r = temper("build", recipe(work, "nope", plain + "  gconv: [UTF-8, NOPE-1]\n"), "--root",
               root, "-o", os.path.join(work, "nope"))
    check(r.returncode != 0 and "nope.yaml:4:18" in r.stderr and "'NOPE-1'" in r.stderr,
          f"an unknown character set is refused at its place: {r.stderr.strip()[-200:]}")


def main():
    with tempfile.TemporaryDirectory() as work:
        test_unwinder(work)
        test_nss(work)
        test_gconv(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
