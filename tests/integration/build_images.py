#!/usr/bin/env python3
"""temper build, end to end, checked by the tools that consume OCI images.

- The shipped recipes build from this machine's root; skopeo, umoci and
  oci-image-tool read the gzip layouts, skopeo the zstd ones.
- The python image runs `import _ssl, _hashlib, json, sqlite3` under
  bubblewrap and under runc (after `umoci unpack`); with libssl deleted from
  the unpacked tree the same run fails with the loader's error.
- Reproducibility: the image rebuilt from its own unpacked tree, and from
  copies of that tree whose files differ in mtime, creation order and umask,
  from another working directory and output path, with --jobs 1 and 2 and
  another TZ and locale, has the same digest.
- Layer and config: what the layer holds is read back (owners, modes,
  times, no names), and the config says what the recipe said.
- Hardening: a shell, a setuid file, hardening.require; the opt-outs.
- Bad recipes: each error names file:line:column, and the layout that was
  there is left byte for byte as it was, with no temporary files; a build
  killed at any moment leaves no temporary file and the earlier tag intact.
- --archive: skopeo reads it as an OCI and as a Docker archive, and podman
  loads and runs it.
- Installed (cmake --install into a prefix): temper runs from anywhere, with its man pages and
  bash completion; recipes/temper.yaml, temper's own image, builds from it, its tests build the
  static image inside it, and podman runs it on a mounted recipe directory.

usage: build_images.py TEMPER RECIPES_DIR   (as root: umoci, runc and bwrap need it)
"""
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

from checks import check, failures, summary, unpack_layout  # tests/integration/checks.py

TEMPER, RECIPES = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PROBE = "import _ssl, _hashlib, json, sqlite3; print(42)"


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(args, **kw)


def build(recipe, out, *extra, root=None, env=None, cwd=None, umask=None):
    args = [TEMPER, "build", recipe, "-o", out, *extra]
    if root:
        args += ["--root", root]
    return run(args, env=env, cwd=cwd, preexec_fn=(lambda: os.umask(umask)) if umask else None)


def digest_of(result):
    lines = result.stdout.strip().splitlines()
    return lines[-1] if result.returncode == 0 and lines else None


def snapshot(tree):
    """Every path under tree with its type, mode, owner, and content hash or link target."""
    out = {}
    for top, dirs, files in os.walk(tree):
        for name in dirs + files:
            p = os.path.join(top, name)
            st = os.lstat(p)
            h = os.readlink(p) if os.path.islink(p) else None
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
            out[os.path.relpath(p, tree)] = (st.st_mode, st.st_uid, st.st_gid, h)
    return out


def blob(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
        return f.read()


def image(layout, tag="latest"):
    """(manifest, config) of a tag, each checked against its digest."""
    index = json.load(open(os.path.join(layout, "index.json")))
    [desc] = [m for m in index["manifests"]
              if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    raw = blob(layout, desc["digest"])
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == desc["digest"]
    manifest = json.loads(raw)
    config = json.loads(blob(layout, manifest["config"]["digest"]))
    return manifest, config


def unpack(layout, tag, bundle):
    r = run(["umoci", "unpack", "--image", f"{layout}:{tag}", bundle])
    check(r.returncode == 0, f"umoci unpack {os.path.basename(layout)}:{tag}" +
          ("" if r.returncode == 0 else ": " + r.stderr.strip()))
    return os.path.join(bundle, "rootfs")


def bwrap(rootfs, *cmd):
    """Runs cmd with rootfs as / (each top-level entry bound over a tmpfs, since the image
    has no /proc or /dev to mount on) as the image's user."""
    args = ["bwrap", "--tmpfs", "/"]
    for name in sorted(os.listdir(rootfs)):
        p = os.path.join(rootfs, name)
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), "/" + name]
        else:
            args += ["--ro-bind", p, "/" + name]
    args += ["--proc", "/proc", "--dev", "/dev", "--unshare-all", "--uid", "65532",
             "--gid", "65532", "--chdir", "/", "--clearenv", "--setenv", "PATH", "/usr/bin"]
    return run(args + list(cmd))


def runc(bundle, *cmd):
    cfg_path = os.path.join(bundle, "config.json")
    cfg = json.load(open(cfg_path))
    cfg["process"]["args"] = list(cmd)
    cfg["process"]["terminal"] = False
    json.dump(cfg, open(cfg_path, "w"))
    name = "temper-test-%d" % os.getpid()
    try:
        return run(["runc", "run", "--bundle", bundle, name], timeout=120)
    finally:
        run(["runc", "delete", "--force", name])


def test_tools(work, layouts):
    for name, layout in layouts.items():
        r = run(["skopeo", "inspect", f"oci:{layout}:latest"])
        check(r.returncode == 0, f"skopeo inspect {name}" + ("" if r.returncode == 0 else
                                                             ": " + r.stderr.strip()))
        if not name.endswith("zstd"):
            r = run(["oci-image-tool", "validate", "--type", "image", "--ref", "name=latest",
                     layout])
            check(r.returncode == 0, f"oci-image-tool validate {name}" +
                  ("" if r.returncode == 0 else ": " + (r.stdout + r.stderr).strip()))
            unpack(layout, "latest", os.path.join(work, "bundle-" + name))


def test_runs(work, layout):
    bundle = os.path.join(work, "bundle-run")
    rootfs = unpack(layout, "latest", bundle)
    r = bwrap(rootfs, "/usr/bin/python3", "-I", "-c", PROBE)
    check(r.returncode == 0 and r.stdout.strip() == "42",
          "python image runs the probe under bwrap: " + (r.stdout + r.stderr).strip()[-300:])
    r = bwrap(rootfs, "/usr/bin/python3", "-I", "-c",
              "import os, pwd; print(os.getuid(), pwd.getpwuid(os.getuid()).pw_name)")
    check(r.stdout.strip() == "65532 nonroot", "the user resolves through /etc/passwd: " +
          (r.stdout + r.stderr).strip()[-200:])
    r = runc(bundle, "/usr/bin/python3", "-c", PROBE)
    check(r.returncode == 0 and r.stdout.strip() == "42",
          "python image runs the probe under runc: " + (r.stdout + r.stderr).strip()[-300:])
    for lib in ("usr/lib/x86_64-linux-gnu/libssl.so.3",):
        os.unlink(os.path.join(rootfs, lib))
    r = bwrap(rootfs, "/usr/bin/python3", "-I", "-c", PROBE)
    check(r.returncode != 0 and "libssl.so.3" in r.stderr,
          "without libssl the probe fails with the loader's error: " + r.stderr.strip()[-200:])


def copy_tree(src, dst, reverse, rng):
    """Copies src to dst creating entries in sorted or reverse order, with random mtimes."""
    entries = []
    for top, dirs, files in os.walk(src):
        for name in dirs + files:
            entries.append(os.path.relpath(os.path.join(top, name), src))
    entries.sort(reverse=reverse)
    os.makedirs(dst)
    for rel in sorted(entries, key=lambda e: e.count("/")) if reverse else entries:
        s, d = os.path.join(src, rel), os.path.join(dst, rel)
        if os.path.islink(s):
            os.symlink(os.readlink(s), d)
        elif os.path.isdir(s):
            os.makedirs(d, exist_ok=True)
        else:
            shutil.copyfile(s, d)
            os.chmod(d, os.stat(s).st_mode & 0o7777)
    for rel in entries:
        d = os.path.join(dst, rel)
        t = rng.randrange(0, 2**31)
        os.utime(d, (t, t), follow_symlinks=False)


def test_reproducible(work, layout, digest):
    rootfs = unpack(layout, "latest", os.path.join(work, "bundle-repro"))
    recipe = os.path.join(RECIPES, "python.yaml")
    rng = random.Random(7)
    a, b = os.path.join(work, "root-a"), os.path.join(work, "root-b")
    copy_tree(rootfs, a, False, rng)
    old_umask = os.umask(0o077)
    try:
        copy_tree(rootfs, b, True, rng)
    finally:
        os.umask(old_umask)
    env = dict(os.environ, TZ="Asia/Kathmandu", LANG="de_DE.UTF-8", LC_ALL="C.UTF-8")
    os.makedirs(os.path.join(work, "elsewhere"))
    digests = {
        "from its own unpacked tree": digest_of(build(recipe, os.path.join(work, "r0"),
                                                      root=rootfs)),
        "from a copy, --jobs 1": digest_of(build(recipe, os.path.join(work, "r1"), "--jobs", "1",
                                                 root=a)),
        "from a copy made in reverse order with other mtimes, umask 077, --jobs 2, TZ and "
        "locale set, another working directory": digest_of(build(
            recipe, os.path.join(work, "deep", "r2"), "--jobs", "2", root=b, env=env,
            cwd=os.path.join(work, "elsewhere"), umask=0o077)),
    }
    for what, d in digests.items():
        check(d == digest, f"same digest {what}: {d}")


def layer_members(layout, tag="latest"):
    manifest, _ = image(layout, tag)
    data = blob(layout, manifest["layers"][0]["digest"])
    raw = gzip.decompress(data)
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        return manifest, raw, t.getmembers()


def test_layer_and_config(work, layout, epoch):
    manifest, config = image(layout)
    _, raw, members = layer_members(layout)
    check(config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(raw).hexdigest()],
          "diff_id is the sha256 of the uncompressed layer")
    names = [m.name.rstrip("/") for m in members]
    check(names == sorted(names, key=lambda n: n.encode()), "entries sorted by path bytes")
    check(all(m.mtime == epoch for m in members), "every mtime is the epoch")
    check(all(m.uname == "" and m.gname == "" for m in members), "no user or group names")
    check(all(not (m.mode & 0o002) or m.name.rstrip("/") == "tmp" for m in members
              if not m.issym()), "nothing world-writable but /tmp")
    by_name = {m.name.rstrip("/"): m for m in members}
    check(by_name["tmp"].mode == 0o1777, "/tmp is 1777")
    check((by_name["home/nonroot"].uid, by_name["home/nonroot"].gid) == (65532, 65532),
          "/home/nonroot belongs to the user")
    check(by_name["lib64"].issym() and by_name["lib64"].linkname == "usr/lib64",
          "the /lib64 symlink is kept")
    for absent in ("bin/sh", "usr/bin/dash", "usr/bin/apt", "usr/bin/dpkg"):
        check(absent not in by_name, f"no {absent}")
    cfg = config["config"]
    check(cfg.get("User") == "65532:65532", "config User is the run-as user, numeric")
    check(cfg.get("Entrypoint") == ["/usr/bin/python3"], "config Entrypoint")
    check(config["architecture"] == "amd64" and config["os"] == "linux", "architecture and os")
    check(config["created"] == "2023-11-14T22:13:20Z", "created is the epoch")
    check(manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip",
          "gzip layer media type")


ZIP_PROBE = ("import io, zipfile; z = zipfile.ZipFile(io.BytesIO(), 'w'); "
             "z.write('/usr/lib/python3.11/os.py'); print('zipped')")


def test_default_epoch(work):
    """Without --epoch, SOURCE_DATE_EPOCH or a recipe's epoch, every time is 2000-01-01, which zip
    can store: the image's own python zips a file of the image. An epoch before 1980 is taken,
    with a warning, and then zip fails (so the check above can fail)."""
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    for name, extra, want in (("default", [], 946684800), ("epoch0", ["--epoch", "0"], 0)):
        layout = os.path.join(work, "epoch-" + name)
        r = build(os.path.join(RECIPES, "python.yaml"), layout, *extra, env=env)
        if not check(r.returncode == 0, f"build python ({name}): {r.stderr.strip()[-300:]}"):
            return
        warned = "before 1980-01-01, which zip cannot store" in r.stderr
        check(warned == (want == 0), f"{name}: warned about zip only for an epoch before 1980: "
              f"{warned}")
        _, config = image(layout)
        _, _, members = layer_members(layout)
        check(all(m.mtime == want for m in members) and
              config["created"] == ("2000-01-01T00:00:00Z" if want else "1970-01-01T00:00:00Z"),
              f"{name}: every mtime is {want} and created says so: {config['created']}")
        rootfs = unpack(layout, "latest", os.path.join(work, "bundle-epoch-" + name))
        r = bwrap(rootfs, "/usr/bin/python3", "-I", "-c", ZIP_PROBE)
        if want:
            check(r.returncode == 0 and r.stdout.strip() == "zipped",
                  "zipfile takes a file of the default-epoch image: " +
                  (r.stdout + r.stderr).strip()[-300:])
        else:
            check(r.returncode != 0 and "ZIP does not support timestamps before 1980" in r.stderr,
                  "with --epoch 0 zipfile fails as the warning said: " + r.stderr.strip()[-200:])


def test_hardening(work):
    root = os.path.join(work, "hroot")
    os.makedirs(os.path.join(root, "usr", "bin"))
    os.symlink("usr/bin", os.path.join(root, "bin"))
    for name, mode in (("su-tool", 0o4755), ("shared", 0o666), ("sh", 0o755)):
        with open(os.path.join(root, "usr", "bin", name), "w") as f:
            f.write("#!not really\n")
        os.chmod(os.path.join(root, "usr", "bin", name), mode)
    recipe = os.path.join(work, "h.yaml")

    def write(extra):
        with open(recipe, "w") as f:
            f.write("name: h\narchitecture: amd64\ncontents:\n  files: [/usr/bin/su-tool, "
                    "/usr/bin/shared" + extra)

    write("]\n")
    out = os.path.join(work, "h-out")
    r = build(recipe, out, root=root)
    check(r.returncode == 0, "a recipe of plain files builds: " + r.stderr.strip()[-300:])
    if r.returncode == 0:
        _, _, members = layer_members(out)
        by = {m.name.rstrip("/"): m for m in members}
        check(by["usr/bin/su-tool"].mode == 0o755, "setuid bit cleared")
        check(by["usr/bin/shared"].mode == 0o644, "group and other write bits cleared")
        check("setuid/setgid bits cleared: 1" in r.stderr, "the summary counts it")
    write(", /bin/sh]\n")
    r = build(recipe, os.path.join(work, "h-out2"), root=root)
    check(r.returncode == 1 and "shell" in r.stderr and "/usr/bin/sh" in r.stderr,
          "a shell fails the build: " + r.stderr.strip()[-200:])
    check(not os.path.exists(os.path.join(work, "h-out2")), "and writes nothing")
    write(", /bin/sh]\nhardening: {allow-shell: true, allow-setuid: true}\n")
    r = build(recipe, os.path.join(work, "h-out3"), root=root)
    check(r.returncode == 0 and "/usr/bin/sh" in r.stderr and "allow-setuid" in r.stderr,
          "allow-shell and allow-setuid are reported: " + r.stderr.strip()[-300:])
    if r.returncode == 0:
        _, _, members = layer_members(os.path.join(work, "h-out3"))
        by = {m.name.rstrip("/"): m for m in members}
        check(by["usr/bin/su-tool"].mode == 0o4755, "allow-setuid keeps the bit")
        check(by["bin"].issym() and by["bin"].linkname == "usr/bin", "the /bin symlink is kept")
    with open(recipe, "w") as f:
        f.write(f"name: req\ninclude: [{RECIPES}/python.yaml]\nhardening: {{require: [relro]}}\n")
    r = build(recipe, os.path.join(work, "req-out"))
    check(r.returncode == 1 and "relro" in r.stderr and "/usr/bin/python3.11" in r.stderr,
          "hardening.require names the offenders: " + r.stderr.strip()[-200:])


def test_ld_so_cache_warning(work):
    """A library that only ld.so.conf finds (the image has no ld.so.cache) is reported."""
    root = os.path.join(work, "cache-root")
    src = os.path.join(work, "cache-src")
    os.makedirs(os.path.join(root, "opt", "lib"))
    os.makedirs(os.path.join(root, "etc"))
    os.makedirs(os.path.join(root, "usr", "bin"))
    os.makedirs(src)
    with open(os.path.join(src, "w.c"), "w") as f:
        f.write("int w(void) { return 7; }\n")
    with open(os.path.join(src, "p.c"), "w") as f:
        f.write("int w(void);\nint main(void) { return w(); }\n")
    lib = os.path.join(root, "opt", "lib", "libwarn.so.1")
    r = run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libwarn.so.1", "-o", lib,
             os.path.join(src, "w.c")])
    check(r.returncode == 0, "gcc builds libwarn: " + r.stderr)
    r = run(["gcc", "-o", os.path.join(root, "usr", "bin", "prog"), os.path.join(src, "p.c"),
             lib])
    check(r.returncode == 0, "gcc builds prog: " + r.stderr)
    # The libc closure, copied from this machine with its symlinks.
    listed = run([TEMPER, "resolve", "/usr/bin/true"]).stdout.splitlines()
    for line in listed:
        path, _, target = line.partition(" -> ")
        dst = root + path
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if target:
            os.symlink(target, dst)
        else:
            shutil.copy2(path, dst)
    with open(os.path.join(root, "etc", "ld.so.conf"), "w") as f:
        f.write("/opt/lib\n")
    recipe = os.path.join(work, "cache.yaml")
    with open(recipe, "w") as f:
        f.write("name: cache\ncontents:\n  binaries: [/usr/bin/prog]\n")
    r = build(recipe, os.path.join(work, "cache-out"), root=root)
    check(r.returncode == 0 and "warning: '/opt/lib/libwarn.so.1' was found through "
          "/etc/ld.so.conf" in r.stderr, "a library only ld.so.conf finds is reported: " +
          r.stderr.strip()[-300:])


BAD = {
    "unknown key": ("name: x\ncontents:\n  binarys: [/usr/bin/python3]\n", "x.yaml:3:3"),
    "wrong type": ("name: x\ncontents:\n  binaries: /usr/bin/python3\n", "x.yaml:3:13"),
    "relative path": ("name: x\ncontents:\n  files: [etc/passwd]\n", "x.yaml:3:11"),
    "dot-dot path": ("name: x\ncontents:\n  files: [/etc/../etc/passwd]\n", "x.yaml:3:11"),
    "missing from the root": ("name: x\ncontents:\n  files: [/etc/no-such-file]\n",
                              "x.yaml:3:11"),
    "duplicate uid": ("name: x\naccounts:\n  users:\n    - {username: a, uid: 7, gid: 7}\n"
                      "    - {username: b, uid: 7, gid: 7}\n  run-as: a\n", "x.yaml:5"),
    "include cycle": ("name: x\ninclude: [x.yaml]\n", "x.yaml:2:11"),
}


def test_bad_recipes(work, layout):
    before = snapshot(layout)
    for what, (text, where) in BAD.items():
        path = os.path.join(work, "x.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = build("x.yaml", layout, cwd=work)
        check(r.returncode != 0 and where in r.stderr and r.stdout == "",
              f"bad recipe ({what}) fails at {where}: {r.stderr.strip()}")
    check(snapshot(layout) == before, "the layout is left as it was, with no temporary files")


def package_bundle(share):
    """What update-ca-certificates writes from a ca-certificates package's files alone: every
    regular .crt under `share`, in bytewise order of its path, each ending in a newline."""
    paths = sorted((os.path.relpath(os.path.join(d, f), share) for d, _, fs in os.walk(share)
                    for f in fs if f.endswith(".crt") and
                    not os.path.islink(os.path.join(d, f))), key=os.fsencode)
    out = b""
    for p in paths:
        data = open(os.path.join(share, p), "rb").read()
        out += data if data.endswith(b"\n") else data + b"\n"
    return out


def test_ca_bundle(work, static_layout):
    """The CA bundle is made from the root's ca-certificates package, so a certificate added on
    the build machine (/usr/local/share/ca-certificates) is trusted only when the recipe names
    it in contents.ca-certificates."""
    bundle = "etc/ssl/certs/ca-certificates.crt"
    want = package_bundle("/usr/share/ca-certificates")
    got = open(os.path.join(unpack_layout(static_layout, os.path.join(work, "ca-static")),
                            bundle), "rb").read()
    host = open("/" + bundle, "rb").read()
    check(got == want and want.count(b"BEGIN CERT") > 100,
          f"static.yaml's bundle is the package's certificates in order ({len(got)} bytes, "
          f"{got.count(b'BEGIN CERT')} certificates; this machine's own has "
          f"{host.count(b'BEGIN CERT')})")
    # A root whose bundle also holds a private CA, as update-ca-certificates leaves it.
    root = os.path.join(work, "ca-root")
    shutil.copytree("/usr/share/ca-certificates", root + "/usr/share/ca-certificates",
                    symlinks=True)
    os.makedirs(root + "/usr/local/share/ca-certificates")
    private = root + "/usr/local/share/ca-certificates/private.crt"
    r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", os.path.join(work, "ca.key"), "-out", private, "-subj",
             "/CN=temper test private CA", "-days", "2"])
    check(r.returncode == 0, f"openssl makes a private CA: {r.stderr.strip()[-200:]}")
    os.makedirs(root + "/etc/ssl/certs")
    with open(root + "/" + bundle, "wb") as f:
        f.write(want + open(private, "rb").read())
    recipe = os.path.join(work, "ca.yaml")
    base = "name: ca\narchitecture: amd64\ncontents:\n  files: [/" + bundle + "]\n"
    open(recipe, "w").write(base)

    def built_bundle(name):
        r = build(recipe, os.path.join(work, name), root=root)
        if r.returncode != 0:
            return r, None
        tree = unpack_layout(os.path.join(work, name), os.path.join(work, name + "-tree"))
        return r, open(os.path.join(tree, bundle), "rb").read()

    r, got = built_bundle("ca-out")
    check(got == want and "1 of the root's own bundle left out" in r.stderr,
          f"a private CA of the root's bundle is left out, and the summary says so: "
          f"{r.stderr.strip()[-300:]}")
    open(recipe, "w").write(base + "  ca-certificates: [/usr/local/share/ca-certificates/"
                            "private.crt]\n")
    r, got = built_bundle("ca-out2")
    check(got == want + open(private, "rb").read() and
          "0 of the root's own bundle left out" in r.stderr,
          f"named in contents.ca-certificates, it is appended: {r.stderr.strip()[-300:]}")
    open(recipe, "w").write(base + "  ca-certificates: [/usr/share/ca-certificates/"
                            "mozilla]\n")
    r = build(recipe, os.path.join(work, "ca-out3"), root=root)
    check(r.returncode != 0 and "ca.yaml:5:21" in r.stderr and "is not a file of PEM" in r.stderr,
          f"a name that is no certificate file is refused at its place: {r.stderr.strip()}")


def test_verbosity(work):
    """The summary names no ELF file by default; --verbose lists each with its flags; --quiet
    prints no summary; the image is the same."""
    recipe, out = os.path.join(RECIPES, "python.yaml"), os.path.join(work, "verbosity")
    plain, verbose, quiet = (build(recipe, out, "--skip-tests", *flag)
                             for flag in ([], ["--verbose"], ["--quiet"]))
    listed = lambda r: [l for l in r.stderr.splitlines() if l.endswith("/usr/bin/python3.11")]
    check(plain.returncode == 0 and not listed(plain) and "(--verbose lists each file)" in
          plain.stderr, f"by default one line counts the flags: {plain.stderr.strip()[-300:]}")
    check(verbose.returncode == 0 and listed(verbose) and
          listed(verbose)[0].split()[:3] == ["no", "no", "yes"],
          f"--verbose lists each ELF file with its flags: {listed(verbose)}")
    check(quiet.returncode == 0 and "temper: python:latest" not in quiet.stderr and
          "PIE" not in quiet.stderr, f"--quiet prints no summary: {quiet.stderr.strip()}")
    check(digest_of(plain) == digest_of(verbose) == digest_of(quiet),
          "the image is the same whatever is printed")


def test_installed(work):
    """cmake --install into a prefix: the installed temper finds its helper there and builds,
    signs and verifies the static image from a directory without the source tree; temper copied
    alone says what it misses."""
    build_dir = os.path.dirname(os.path.dirname(TEMPER))
    prefix = os.path.join(work, "installed-prefix")
    r = run(["cmake", "--install", build_dir, "--prefix", prefix])
    installed = os.path.join(prefix, "bin", "temper")
    check(r.returncode == 0 and os.access(installed, os.X_OK) and
          os.access(os.path.join(prefix, "libexec/temper/temper-image"), os.X_OK),
          f"cmake --install puts temper in bin and temper-image in libexec/temper: "
          f"{r.stderr.strip()[-200:]}")
    pages = [os.path.join(prefix, "share/man", p) for p in (
        "man1/temper.1", "man1/temper-build.1", "man1/temper-push.1", "man5/temper-recipe.5")]
    r = run(["man", "-w", "temper-build"], env={**os.environ,
                                                "MANPATH": os.path.join(prefix, "share/man")})
    check(all(os.path.exists(p) for p in pages) and r.returncode == 0 and
          r.stdout.strip() == pages[1],
          f"and the man pages in share/man, where man finds them: {r.stdout.strip()} "
          f"{r.stderr.strip()[-200:]}")
    check(os.path.exists(os.path.join(prefix, "share/bash-completion/completions/temper")),
          "and the bash completion where bash-completion looks for it")
    elsewhere = os.path.join(work, "installed-cwd")
    os.makedirs(elsewhere)
    shutil.copy(os.path.join(RECIPES, "static.yaml"), elsewhere)
    for args in (["keygen", "-o", "k"], ["build", "static.yaml", "-o", "img", "--key", "k.key"],
                 ["verify", "--key", "k.pub", "img"]):
        r = run([installed, *args], cwd=elsewhere)
        check(r.returncode == 0, f"the installed temper runs {args[0]} in a directory of its own: "
              f"{r.stderr.strip()[-200:]}")
    test_own_image(work, prefix)
    alone = os.path.join(work, "installed-alone")
    os.makedirs(alone)
    shutil.copy(installed, alone)
    r = run([os.path.join(alone, "temper"), "build", "static.yaml"], cwd=elsewhere)
    check(r.returncode != 0 and "runs in temper-image, which is not installed beside" in r.stderr,
          f"temper copied alone says it needs temper-image: {r.stderr.strip()}")


def test_own_image(work, prefix):
    """recipes/temper.yaml, temper's own image, from the installed temper seen at /usr/local (a
    bind mount in a mount namespace of its own: the machine's /usr/local is not touched): its
    tests run temper --version and build the static image inside it; podman runs it with a
    recipe directory mounted, as README shows."""
    layout, archive = os.path.join(work, "own-image"), os.path.join(work, "own-image.tar")
    r = run(["unshare", "-m", "sh", "-c", 'mount --bind "$1" /usr/local && shift && exec "$@"',
             "sh", prefix, "/usr/local/bin/temper", "build", os.path.join(RECIPES, "temper.yaml"),
             "-o", layout, "--archive", archive])
    check(r.returncode == 0 and "tests: 2 passed" in r.stderr,
          f"recipes/temper.yaml builds, and temper builds the static image inside it: "
          f"{r.stderr.strip()[-400:]}")
    if r.returncode != 0:
        return
    podman = podman_in(work)
    r = run(podman + ["load", "-i", archive])
    check(r.returncode == 0 and "localhost/temper:latest" in r.stdout,
          "podman loads temper's image: " + (r.stdout + r.stderr).strip()[-300:])
    recipes = os.path.join(work, "own-image-recipes")
    os.makedirs(recipes)
    shutil.copy(os.path.join(RECIPES, "static.yaml"), recipes)
    r = run(podman + ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                      "--ulimit", "nproc=4096:4096", "-v", f"{recipes}:/recipes:ro",
                      "localhost/temper:latest", "build", "/recipes/static.yaml", "-o",
                      "/tmp/static", "--quiet"], timeout=300)
    check(r.returncode == 0 and re.fullmatch(r"sha256:[0-9a-f]{64}\n", r.stdout) is not None,
          "podman runs it on a mounted recipe directory: " + (r.stdout + r.stderr).strip()[-300:])


def test_help():
    """git's convention: `temper help CMD` is `temper CMD --help`, for every command."""
    listed = run([TEMPER, "--help"]).stdout
    names = [line.split()[0] for line in listed.split("commands:")[1].splitlines()
             if line.startswith("  ")]
    same = [n for n in names
            if run([TEMPER, "help", n]).stdout == run([TEMPER, n, "--help"]).stdout != ""]
    check(len(names) >= 11 and same == names,
          f"temper help CMD prints CMD --help for each of {len(names)} commands: {same}")
    r = run([TEMPER, "--version"])
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 2 and lines[0].startswith("temper ") and
          all(f" {lib} " in lines[1] for lib in ("libarchive", "libdeflate", "libzstd", "jansson")),
          f"--version names the libraries that decide an image's bytes: {r.stdout.strip()}")
    r = run([TEMPER, "help", "bulid"])
    check(r.returncode == 2 and "'bulid' is not a temper command" in r.stderr,
          f"temper help of no command says so: {r.stderr.strip()}")


def test_tags_and_archive(work, layout):
    r = build(os.path.join(RECIPES, "static.yaml"), layout, "--tag", "static", "--archive",
              os.path.join(work, "python.tar"))
    check(r.returncode == 0, "a second tag into the same layout: " + r.stderr.strip()[-200:])
    index = json.load(open(os.path.join(layout, "index.json")))
    tags = sorted(m["annotations"]["org.opencontainers.image.ref.name"]
                  for m in index["manifests"])
    check(tags == ["latest", "static"], f"both tags are in index.json: {tags}")
    archive = os.path.join(work, "python.tar")
    r = run(["skopeo", "inspect", "oci-archive:" + archive + ":static:static"])
    check(r.returncode == 0, "skopeo reads the archive: " + r.stderr.strip()[-200:])
    r = run(["skopeo", "inspect", "docker-archive:" + archive + ":static:static"])
    check(r.returncode == 0, "and reads it as a docker archive (manifest.json): " +
          r.stderr.strip()[-200:])
    with tarfile.open(archive) as t:
        names = t.getnames()
    check(names[:2] == ["blobs", "blobs/sha256"] and "index.json" in names and
          "manifest.json" in names and "oci-layout" in names and len(names) == 8,
          f"the archive holds that image alone: {names}")


def test_concurrent_builds(work):
    """Six builds into one layout at once: writers take turns (flock), no tag is lost."""
    layout = os.path.join(work, "concurrent")
    procs = [subprocess.Popen([TEMPER, "build", os.path.join(RECIPES, "static.yaml"), "-o",
                               layout, "--tag", f"c{i}", "--epoch", str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(1, 7)]
    codes = [p.wait() for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    check(codes == [0] * 6, f"six concurrent builds into one layout succeed: {codes}")
    index = json.load(open(os.path.join(layout, "index.json")))
    tags = sorted(m["annotations"]["org.opencontainers.image.ref.name"]
                  for m in index["manifests"])
    check(tags == [f"c{i}" for i in range(1, 7)], f"every one's tag is in index.json: {tags}")


def podman_in(work):
    """podman with a store of the test's own."""
    store = os.path.join(work, "podman")
    return ["podman", "--root", store + "/root", "--runroot", store + "/run",
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--runtime", "runc"]


def test_podman_load(work, layout):
    """podman loads the archive of the python image and runs it."""
    archive = os.path.join(work, "podman.tar")
    r = build(os.path.join(RECIPES, "python.yaml"), layout, "--archive", archive)
    check(r.returncode == 0, "python image with --archive: " + r.stderr.strip()[-200:])
    podman = podman_in(work)
    r = run(podman + ["load", "-i", archive])
    check(r.returncode == 0 and "localhost/python:latest" in r.stdout,
          "podman load takes the archive: " + (r.stdout + r.stderr).strip()[-300:])
    r = run(podman + ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                      "--ulimit", "nproc=4096:4096", "localhost/python:latest", "-c", PROBE],
            timeout=300)
    check(r.returncode == 0 and r.stdout.strip() == "42",
          "and podman runs it: " + (r.stdout + r.stderr).strip()[-300:])


def test_interrupted(work, layout):
    """A build killed at any point leaves the layout readable, its earlier tag in place and
    no temporary file."""
    recipe = os.path.join(RECIPES, "python.yaml")
    os.makedirs(os.path.join(work, "killed"))
    for delay in (0.02, 0.05, 0.1, 0.2, 0.3, 0.5):
        p = subprocess.Popen([TEMPER, "build", recipe, "-o", layout, "--tag", "killed",
                              "--compression", "zstd", "--archive",
                              os.path.join(work, "killed", "k.tar")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.kill()
        p.wait()
        index = json.load(open(os.path.join(layout, "index.json")))
        tags = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
        stray = [n for d in (layout, os.path.join(work, "killed"))
                 for top, _, files in os.walk(d) for n in files if ".tmp" in n]
        check("latest" in tags and not stray,
              f"killed after {delay}s: tags {tags}, temporary files {stray}")
        image(layout, "latest")


def main():
    if os.geteuid() != 0:
        sys.exit("build_images.py needs root (umoci unpack, runc, bwrap)")
    work = tempfile.mkdtemp(prefix="temper-build-")
    try:
        epoch = 1700000000
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
        os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
        layouts, digests = {}, {}
        for name, extra in (("static", []), ("base", []), ("python", []),
                            ("python-zstd", ["--compression", "zstd"])):
            recipe = os.path.join(RECIPES, name.split("-")[0] + ".yaml")
            layouts[name] = os.path.join(work, name)
            r = build(recipe, layouts[name], *extra, env=env)
            digests[name] = digest_of(r)
            check(r.returncode == 0 and digests[name].startswith("sha256:"),
                  f"build {name}: {r.stderr.strip()[-400:]}")
        if failures:
            return 1
        check(digests["python"] != digests["python-zstd"], "zstd gives another digest")
        test_tools(work, layouts)
        test_layer_and_config(work, layouts["python"], epoch)
        test_runs(work, layouts["python"])
        test_default_epoch(work)
        test_reproducible(work, layouts["python"], digests["python"])
        test_hardening(work)
        test_ld_so_cache_warning(work)
        test_bad_recipes(work, layouts["python"])
        test_help()
        test_installed(work)
        test_verbosity(work)
        test_ca_bundle(work, layouts["static"])
        test_tags_and_archive(work, layouts["python"])
        test_concurrent_builds(work)
        test_interrupted(work, layouts["python"])
        test_podman_load(work, os.path.join(work, "podman-layout"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
