#!/usr/bin/env python3
"""temper lock and temper build from Debian packages, against an archive of the test's own.

The archive: a handful of small real .debs (lz4 and its closure: liblz4-1, libc6, libgcc-s1,
gcc-12-base), fetched with `apt-get download` through this machine's apt sources into a
temporary directory, and a few the test makes itself (a data package at two versions, one
shipping an entry that leaves the root, one depending on a package nobody offers), indexed
with dpkg-scanpackages, a Release file hashed here, signed with a key the test makes (gpg
--clearsign), and served on 127.0.0.1. Its contents never move, so the digests do not.

- lock -> build -> the image runs (bwrap): lz4 compresses and decompresses inside it.
- The same lock built with an empty cache, --offline with a full one, from another working
  directory with --jobs 1: one digest. --offline with an empty cache names what is missing.
- Refused with a clear error, and nothing written (the lock or the layout untouched): an
  InRelease signed by a key outside the keyring or by one of it that expired, an expired
  InRelease, a Packages index that
  does not match InRelease, a .deb that does not match the lock (in the archive, and in the
  cache), a version the archive no longer serves, a data.tar entry escaping the root, a
  dependency that no repository offers, a stale lock, an InRelease of another suite, one older
  than the lock's (a replay), a cache others may write to or whose root is a symlink.
- A component whose index is empty locks.
- A .deb download broken off halfway is fetched again; one always broken off is given up on.
- temper lock keeps a locked version the archive still offers; --update moves to the newest
  and prints the change.

usage: packages.py TEMPER   (as root: bwrap and umoci)
"""
import email.utils
import functools
import hashlib
import http.server
import io
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

from checks import check, summary  # tests/integration/checks.py

TEMPER = os.path.realpath(sys.argv[1]) if len(sys.argv) > 1 else sys.exit(__doc__)
REAL = ["lz4", "liblz4-1", "libc6", "libgcc-s1", "gcc-12-base"]


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(args, **kw)


def temper(*args, cwd=None):
    return run([TEMPER, *args], cwd=cwd)


# --- .deb files made by the test -------------------------------------------------------------

def ar(members):
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in members:
        head = b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name.encode(), 0, 0, 0, b"100644", len(data))
        out.write(head + data + (b"\n" if len(data) % 2 else b""))
    return out.getvalue()


def tar_xz(entries):
    """entries: (name, bytes | ("symlink", target) | ("dir",))"""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, what in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if isinstance(what, bytes):
                info.size, info.mode = len(what), 0o644
                t.addfile(info, io.BytesIO(what))
            elif what[0] == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, what[1]
                t.addfile(info)
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
    return lzma.compress(raw.getvalue())


def make_deb(path, name, version, entries, depends=None):
    control = (f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
               f"Maintainer: temper tests <tests@temper.invalid>\n"
               f"Description: a package of temper's tests\n")
    if depends:
        control += f"Depends: {depends}\n"
    deb = ar([("debian-binary", b"2.0\n"),
              ("control.tar.xz", tar_xz([("./control", control.encode())])),
              ("data.tar.xz", tar_xz(entries))])
    with open(path, "wb") as f:
        f.write(deb)


# --- the archive -----------------------------------------------------------------------------

def write_anew(path, data):
    """Writes a file as a new inode: the archives of the test share their files as hard links."""
    if os.path.exists(path):
        os.unlink(path)
    with open(path, "wb") as f:
        f.write(data)


class Archive:
    """An archive directory (pool/ and dists/local/), its indexes and signed InRelease."""

    def __init__(self, top, name, gnupg):
        self.dir = os.path.join(top, name)
        self.pool = os.path.join(self.dir, "pool", "main")
        self.gnupg = gnupg
        os.makedirs(self.pool, exist_ok=True)

    def add(self, deb):
        shutil.copy(deb, self.pool)

    def index(self, key="good", valid_until=None, tamper_index=False, suite="local", age=60):
        binary = os.path.join(self.dir, "dists", "local", "main", "binary-amd64")
        os.makedirs(binary, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "dists", "local", "empty", "binary-amd64"),
                    exist_ok=True)
        r = run(["dpkg-scanpackages", "-m", "pool"], cwd=self.dir)
        assert r.returncode == 0, r.stderr
        packages = r.stdout.encode()
        # a component with no package at all: its index is empty, compressed or not
        files = {"main/binary-amd64/Packages": packages,
                 "main/binary-amd64/Packages.xz": lzma.compress(packages),
                 "empty/binary-amd64/Packages": b"",
                 "empty/binary-amd64/Packages.xz": lzma.compress(b"")}
        for rel, data in files.items():
            write_anew(os.path.join(self.dir, "dists", "local", rel), data)
        release = ("Origin: temper-tests\nLabel: temper-tests\n"
                   f"Suite: {suite}\nCodename: {suite}\n"
                   f"Date: {email.utils.formatdate(time.time() - age, usegmt=True)}\n")
        if valid_until is not None:
            release += f"Valid-Until: {email.utils.formatdate(valid_until, usegmt=True)}\n"
        release += "Architectures: amd64\nComponents: main\nSHA256:\n"
        for rel, data in files.items():
            release += f" {hashlib.sha256(data).hexdigest()} {len(data)} {rel}\n"
        write_anew(os.path.join(self.dir, "dists", "local", "Release"), release.encode())
        inrelease = os.path.join(self.dir, "dists", "local", "InRelease")
        if os.path.exists(inrelease):
            os.unlink(inrelease)
        signers = [a for k in key.split(",") for a in ("--local-user", k)]
        # the key that expired on 2020-01-01 signs as of the day before, when it was valid: at
        # the very second it expires (as this once did) a slow gpg starts after it has expired
        faked = ["--faked-system-time", "20191231T120000"] if key == "expired" else []
        r = run(["gpg", "--batch", "--yes", *faked, *signers, "--clearsign", "--output",
                 inrelease, os.path.join(self.dir, "dists", "local", "Release")],
                env={"GNUPGHOME": self.gnupg, "PATH": os.environ["PATH"]})
        assert r.returncode == 0, r.stderr
        if tamper_index:
            # served after InRelease was signed: another index than the one it names
            write_anew(os.path.join(binary, "Packages.xz"), lzma.compress(packages + b"\n"))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class BreakingHandler(QuietHandler):
    """Breaks off each .deb halfway: the first time only (then serves it whole, taking no
    Range, as a plain server does), or every time, answering a Range request with 416."""
    always = False
    broken = set()

    def do_GET(self):
        try:
            self.serve()
        except (BrokenPipeError, ConnectionResetError):
            pass  # temper hung up on a Range it does not get

    def serve(self):
        if "/pool/" not in self.path or (not self.always and self.path in self.broken):
            return super().do_GET()
        if "Range" in self.headers:
            self.send_error(416)
            return
        self.broken.add(self.path)
        data = open(self.translate_path(self.path), "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        self.wfile.flush()
        self.close_connection = True


class AlwaysBreakingHandler(BreakingHandler):
    always = True


class Server:
    """Serves a directory on 127.0.0.1 until stopped."""

    def __init__(self, directory, handler=QuietHandler):
        handler = functools.partial(handler, directory=directory)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def gpg_keys(work):
    home = os.path.join(work, "gnupg")
    os.makedirs(home, mode=0o700)
    env = {"GNUPGHOME": home, "PATH": os.environ["PATH"]}
    for uid, faked in (("good", []), ("other", []),
                       ("expired", ["--faked-system-time", "20191231T000000"])):
        r = run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", *faked,
                 "--quick-gen-key", f"{uid} <{uid}@temper.invalid>", "ed25519", "sign", "1d"],
                env=env)
        assert r.returncode == 0, r.stderr
    keyring = os.path.join(work, "keyring.gpg")
    with open(keyring, "wb") as f:
        f.write(run(["gpg", "--export", "good", "expired"], env=env, text=False).stdout)
    return home, keyring


def download(work):
    d = os.path.join(work, "real")
    os.makedirs(d)
    r = run(["apt-get", "download", *REAL], cwd=d)
    if r.returncode != 0:
        sys.exit("packages.py needs the .debs of " + " ".join(REAL) + " through this machine's "
                 "apt sources (apt-get download failed: " + r.stderr.strip()[-300:] + ")")
    return [os.path.join(d, n) for n in sorted(os.listdir(d))]


# --- building --------------------------------------------------------------------------------

def recipe(work, url, keyring, packages=("lz4",), name="lz4", extra="", components="main"):
    path = os.path.join(work, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(f"name: {name}\n"
                "contents:\n"
                f"  repositories: [{{url: '{url}', suite: local, components: [{components}]}}]\n"
                f"  keyring: ['{keyring}']\n"
                f"  packages: [{', '.join(packages)}]\n"
                "  binaries: [/usr/bin/lz4]\n"
                f"{extra}"
                "entrypoint: {command: /usr/bin/lz4}\n")
    return path


def digest_of(r):
    lines = r.stdout.strip().splitlines()
    return lines[-1] if r.returncode == 0 and lines else None


def runs_in_bwrap(work, layout):
    bundle = os.path.join(work, "bundle-" + os.path.basename(layout))
    r = run(["umoci", "unpack", "--image", f"{layout}:latest", bundle])
    if not check(r.returncode == 0, f"umoci unpack: {r.stderr.strip()[-200:]}"):
        return False
    rootfs = os.path.join(bundle, "rootfs")
    args = ["bwrap", "--tmpfs", "/"]
    for name in sorted(os.listdir(rootfs)):
        p = os.path.join(rootfs, name)
        args += (["--symlink", os.readlink(p), "/" + name] if os.path.islink(p)
                 else ["--ro-bind", p, "/" + name])
    args += ["--proc", "/proc", "--dev", "/dev", "--unshare-all", "--uid", "65532",
             "--gid", "65532", "--clearenv",
             "/usr/bin/lz4", "-c", "/usr/bin/lz4"]
    packed = run(args, text=False)
    check(packed.returncode == 0 and packed.stdout[:4] == b"\x04\x22\x4d\x18",
          f"lz4 runs inside the image, from packages only: {packed.stderr[-200:]!r}")
    with open(os.path.join(rootfs, "usr", "bin", "lz4"), "rb") as f:
        original = f.read()
    unpacked = subprocess.run(["lz4", "-d", "-c"], input=packed.stdout, capture_output=True)
    check(unpacked.stdout == original, "and what it wrote decompresses to the program itself")
    return True


def test_lock_build_run(work, url, keyring, debs):
    path = recipe(work, url, keyring)
    lock = os.path.join(work, "lz4.lock.json")
    r = temper("lock", path)
    if not check(r.returncode == 0 and r.stdout.strip() == lock,
                 f"temper lock writes NAME.lock.json beside the recipe: {r.stderr.strip()}"):
        return None
    text = open(lock).read()
    doc = json.loads(text)
    got = {p["name"]: p for p in doc["architectures"]["amd64"]}
    check(sorted(got) == sorted(REAL),
          f"the lock holds lz4's closure, no more: {sorted(got)}")
    by_name = {os.path.basename(d).split("_")[0]: d for d in debs}
    check(all(got[n]["sha256"] == hashlib.sha256(open(by_name[n], "rb").read()).hexdigest()
              for n in REAL), "each package's sha256 is its .deb's")
    check("127.0.0.1" not in text and doc["repositories"][0]["suite"] == "local" and
          doc["repositories"][0]["inrelease"].startswith("sha256:"),
          "the lock names suites and InRelease digests, never a URL")
    check(text.endswith("\n") and '\n  "architectures": {' in text,
          "the lock is indented JSON, one member a line")

    cache1 = os.path.join(work, "cache1")
    r = temper("build", path, "-o", os.path.join(work, "out1"), "--cache", cache1)
    d1 = digest_of(r)
    if not check(d1 is not None, f"build from the lock: {r.stderr.strip()[-400:]}"):
        return None
    runs_in_bwrap(work, os.path.join(work, "out1"))

    r = temper("build", path, "-o", os.path.join(work, "out2"), "--cache",
               os.path.join(work, "cache2"))
    check(digest_of(r) == d1, f"with an empty cache, the same digest: {r.stderr.strip()[-300:]}")
    r = temper("build", path, "-o", os.path.join(work, "out3"), "--cache", cache1, "--offline")
    check(digest_of(r) == d1, f"--offline from the cache, the same digest: {r.stderr[-300:]}")
    other = os.path.join(work, "elsewhere")
    os.makedirs(other)
    r = temper("build", os.path.relpath(path, other), "-o", "out", "--cache", cache1,
               "--jobs", "1", cwd=other)
    check(digest_of(r) == d1, f"from another directory, --jobs 1: {r.stderr.strip()[-300:]}")
    r = temper("build", path, "-o", os.path.join(work, "out4"), "--offline", "--cache",
               os.path.join(work, "cache-empty"))
    check(r.returncode == 1 and "--offline" in r.stderr and "libc6" in r.stderr and
          not os.path.exists(os.path.join(work, "out4")),
          f"--offline with an empty cache names what is missing, writes nothing: {r.stderr}")
    return path, lock, cache1, d1


def test_stale_lock(work, path, lock):
    before = open(lock).read()
    recipe(work, path.rsplit("/", 1)[0] and open(path).read().split("url: '")[1].split("'")[0],
           open(path).read().split("keyring: ['")[1].split("'")[0], packages=("lz4", "zlib1g"))
    r = temper("build", path, "-o", os.path.join(work, "stale"))
    check(r.returncode == 1 and "packages: added zlib1g" in r.stderr and
          "temper lock" in r.stderr and not os.path.exists(os.path.join(work, "stale")),
          f"a stale lock is refused, naming what changed: {r.stderr.strip()}")
    check(open(lock).read() == before, "and the lock is left as it was")


def refused_build(work, what, path, words, *extra):
    out = os.path.join(work, "refused-out")
    shutil.rmtree(out, ignore_errors=True)
    r = temper("build", path, "-o", out, *extra)
    check(r.returncode == 1 and all(w in r.stderr for w in words) and not os.path.exists(out),
          f"{what}: temper build refuses, saying {words}, and writes no layout: "
          f"{r.stderr.strip()[-500:]}")


def test_bad_debs(work, top, url, keyring, path, cache1):
    """A .deb that is not the one locked, in the archive and in the cache; one gone from it."""
    lock = json.load(open(os.path.join(work, "lz4.lock.json")))
    lz4 = next(p for p in lock["architectures"]["amd64"] if p["name"] == "lz4")
    pooled = os.path.join(top, "good", lz4["filename"])
    saved = open(pooled, "rb").read()
    try:
        write_anew(pooled, saved[:-1] + bytes([saved[-1] ^ 1]))
        refused_build(work, "a .deb in the archive that does not match the lock", path,
                      ["lz4", "not to the sha256:", "served other bytes"],
                      "--cache", os.path.join(work, "cache-bad-archive"))
        os.unlink(pooled)
        refused_build(work, "a version the archive no longer serves", path,
                      ["no longer serves", "temper lock --update", "snapshot"],
                      "--cache", os.path.join(work, "cache-gone"))
    finally:
        write_anew(pooled, saved)
    # the cache's own copy changed: refused, naming the file (the roots are made again from it)
    damaged = os.path.join(work, "cache-damaged")
    shutil.copytree(os.path.join(cache1, "debs"), os.path.join(damaged, "debs"))
    cached = os.path.join(damaged, "debs", lz4["sha256"] + ".deb")
    data = open(cached, "rb").read()
    write_anew(cached, data[:100] + bytes([data[100] ^ 1]) + data[101:])
    refused_build(work, "a .deb in the cache that does not match the lock", path,
                  [cached, "remove it"], "--cache", damaged, "--offline")


def test_escaping_deb(work, url, keyring):
    path = recipe(work, url, keyring, packages=("lz4", "evil"), name="evil")
    r = temper("lock", path)
    if not check(r.returncode == 0, f"a recipe with the package 'evil' locks: {r.stderr[-300:]}"):
        return
    cache = os.path.join(work, "cache-evil")
    refused_build(work, "a data.tar entry escaping the root", path, ["evil", "../../evil"],
                  "--cache", cache)
    found = [os.path.join(d, n) for d, _, names in os.walk(work) for n in names
             if n == "evil-was-here"]
    check(not found and not os.path.exists("/evil-was-here"),
          f"and nothing was written outside the root: {found}")
    check(not [n for n in os.listdir(os.path.join(cache, "roots")) if not n.startswith(".")],
          "and no root was put in the cache")


def test_broken_downloads(work, top, url, keyring):
    """A download broken off halfway is tried again; a server that breaks every one is given
    up on after a few tries, well before --timeout, naming the package."""
    path = recipe(work, url, keyring, packages=("lz4", "tdata"), name="flaky")
    r = temper("lock", path)
    if not check(r.returncode == 0, f"lz4 and tdata lock: {r.stderr.strip()}"):
        return
    made = temper("build", path, "-o", os.path.join(work, "flaky-ref"), "--cache",
                  os.path.join(work, "cache-flaky-ref"))
    with Server(top, BreakingHandler) as flaky:
        recipe(work, f"{flaky.url}/good", keyring, packages=("lz4", "tdata"), name="flaky")
        r = temper("build", path, "-o", os.path.join(work, "flaky-out"), "--cache",
                   os.path.join(work, "cache-flaky"))
        check(digest_of(r) is not None and digest_of(r) == digest_of(made) and
              any("tdata" in p for p in BreakingHandler.broken),
              f"downloads broken off halfway (tdata's among them) are fetched again, to the "
              f"same image: {r.stderr.strip()[-300:]}")
    with Server(top, AlwaysBreakingHandler) as broken:
        recipe(work, f"{broken.url}/good", keyring, packages=("lz4", "tdata"), name="flaky")
        started = time.monotonic()
        refused_build(work, "a server that breaks off every download", path,
                      ["package ", ".deb", f"from '{broken.url}/good/pool/"],
                      "--cache", os.path.join(work, "cache-broken"))
        check(time.monotonic() - started < 120,
              f"and gives up after a few tries: {time.monotonic() - started:.0f} s")


def test_update(work, top, gnupg, url, keyring, made):
    path = recipe(work, url, keyring, packages=("lz4", "tdata"), name="tdata")
    lock = os.path.join(work, "tdata.lock.json")
    r = temper("lock", path)
    version = lambda: next(p["version"] for p in json.load(open(lock))["architectures"]["amd64"]
                           if p["name"] == "tdata")
    if not check(r.returncode == 0 and version() == "1.0", f"tdata locked at 1.0: {r.stderr}"):
        return
    good = Archive(top, "good", gnupg)
    good.add(os.path.join(made, "tdata_2.0_all.deb"))
    good.index()
    before = open(lock).read()
    r = temper("lock", path)
    check(r.returncode == 0 and version() == "1.0" and "0 changed" in r.stderr and
          json.loads(open(lock).read())["architectures"] == json.loads(before)["architectures"],
          f"temper lock keeps 1.0 while the archive still offers it: {r.stderr.strip()}")
    r = temper("lock", path, "--update")
    check(r.returncode == 0 and version() == "2.0" and "tdata: 1.0 -> 2.0" in r.stderr and
          "1 changed" in r.stderr,
          f"temper lock --update moves to 2.0 and says so: {r.stderr.strip()}")
    r = temper("build", path, "-o", os.path.join(work, "tdata-out"), "--cache",
               os.path.join(work, "cache-tdata"))
    check(digest_of(r) is not None, f"and builds: {r.stderr.strip()[-300:]}")


def refused_lock(work, what, url, keyring, words, packages=("lz4",), previous=None):
    """temper lock refuses: with no lock before it writes none; with `previous` (a lock of the
    same recipe from another archive) it leaves that one as it was."""
    path = recipe(work, url, keyring, packages=packages, name="refused")
    out = os.path.join(work, "refused.lock.json")
    if os.path.exists(out):
        os.unlink(out)
    if previous is not None:
        shutil.copy(previous, out)
    r = temper("lock", path, "-o", out)
    kept = (open(out).read() == open(previous).read() if previous is not None
            else not os.path.exists(out))
    check(r.returncode == 1 and all(w in r.stderr for w in words) and kept,
          f"{what}: temper lock refuses, saying {words}, and writes nothing: "
          f"{r.stderr.strip()[-400:]}")


def test_empty_component(work, url, keyring):
    path = recipe(work, url, keyring, name="empty", components="main, empty")
    r = temper("lock", path)
    check(r.returncode == 0, f"a component whose index is empty locks: {r.stderr.strip()}")


def test_cache_trust(work, path, cache1):
    """A cache another user could write to, or whose root is a symlink, is not taken."""
    shared = os.path.join(work, "cache-shared")
    shutil.copytree(cache1, shared, symlinks=True)
    os.chmod(os.path.join(shared, "roots"), 0o777)
    refused_build(work, "a cache others may write to", path,
                  [os.path.join(shared, "roots"), "others may write", "--cache"],
                  "--cache", shared, "--offline")
    os.chmod(os.path.join(shared, "roots"), 0o755)
    roots = os.path.join(shared, "roots")
    key = next(n for n in os.listdir(roots) if not n.startswith("."))
    os.rename(os.path.join(roots, key), os.path.join(work, "moved-root-dir"))
    os.symlink(os.path.join(work, "moved-root-dir"), os.path.join(roots, key))
    refused_build(work, "a cached root that is a symlink", path,
                  [os.path.join(roots, key), "not a directory"], "--cache", shared, "--offline")


def main():
    for tool in ("gpg", "gpgv", "dpkg-scanpackages", "umoci", "bwrap", "lz4", "apt-get"):
        if shutil.which(tool) is None:
            sys.exit(f"packages.py needs {tool} (scripts/install-deps.sh test)")
    work = tempfile.mkdtemp(prefix="temper-packages-")
    try:
        gnupg, keyring = gpg_keys(work)
        debs = download(work)
        top = os.path.join(work, "www")
        made = os.path.join(work, "made")
        os.makedirs(made)
        make_deb(os.path.join(made, "tdata_1.0_all.deb"), "tdata", "1.0",
                 [("./usr/", ("dir",)), ("./usr/share/", ("dir",)),
                  ("./usr/share/tdata", b"one\n")])
        make_deb(os.path.join(made, "tdata_2.0_all.deb"), "tdata", "2.0",
                 [("./usr/", ("dir",)), ("./usr/share/", ("dir",)),
                  ("./usr/share/tdata", b"two\n")])
        make_deb(os.path.join(made, "evil_1.0_all.deb"), "evil", "1.0",
                 [("./usr/", ("dir",)), ("../../evil-was-here", b"x\n")])
        make_deb(os.path.join(made, "needy_1.0_all.deb"), "needy", "1.0",
                 [("./usr/", ("dir",))], depends="not-in-any-archive (>= 1)")

        good = Archive(top, "good", gnupg)
        for d in debs + [os.path.join(made, n) for n in ("tdata_1.0_all.deb", "evil_1.0_all.deb",
                                                           "needy_1.0_all.deb")]:
            good.add(d)
        good.index()
        variants = {}
        for name, kw in (("badsig", {"key": "other"}),
                         ("expired", {"valid_until": time.time() - 3600}),
                         ("badindex", {"tamper_index": True}),
                         ("othersuite", {"suite": "other"}),
                         ("twokeys", {"key": "other,good"}),
                         ("expiredkey", {"key": "expired"}),
                         ("old", {"age": 3 * 24 * 3600})):
            shutil.copytree(good.dir, os.path.join(top, name), copy_function=os.link)
            variants[name] = Archive(top, name, gnupg)
            variants[name].index(**kw)

        with Server(top) as server:
            url = f"{server.url}/good"
            state = test_lock_build_run(work, url, keyring, debs)
            refused_lock(work, "an InRelease signed by a key outside the keyring",
                         f"{server.url}/badsig", keyring, ["no good signature", "InRelease"])
            refused_lock(work, "an expired InRelease", f"{server.url}/expired", keyring,
                         ["expired", "Valid-Until"])
            refused_lock(work, "a Packages index that does not match InRelease",
                         f"{server.url}/badindex", keyring, ["does not match InRelease"])
            refused_lock(work, "a dependency that no repository offers", url, keyring,
                         ["no repository offers 'not-in-any-archive (>= 1)'", "needy (1.0)"],
                         packages=("needy",))
            refused_lock(work, "an InRelease of another suite served in its place",
                         f"{server.url}/othersuite", keyring,
                         ["names suite 'other'", "not 'local'"])
            refused_lock(work, "an InRelease signed by a key of the keyring that expired",
                         f"{server.url}/expiredkey", keyring,
                         ["no good signature by a valid key", "expired or was revoked"])
            r = temper("lock", recipe(work, f"{server.url}/twokeys", keyring, name="twokeys"))
            check(r.returncode == 0,
                  "an InRelease signed by two keys, one outside the keyring, locks (archives "
                  f"sign with several keys): {r.stderr.strip()[-300:]}")
            test_empty_component(work, url, keyring)
            if state is not None:
                path, lock, cache1, _ = state
                refused_lock(work, "an InRelease older than the lock's (a replay)",
                             f"{server.url}/old", keyring,
                             ["older than the", "remove the lock"], previous=lock)
                test_cache_trust(work, path, cache1)
                test_bad_debs(work, top, url, keyring, path, cache1)
                test_escaping_deb(work, url, keyring)
                test_broken_downloads(work, top, url, keyring)
                test_update(work, top, gnupg, url, keyring, made)
                test_stale_lock(work, path, lock)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
