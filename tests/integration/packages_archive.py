#!/usr/bin/env python3
"""recipes/debian/python.yaml against Debian's real archive, through this machine's apt sources.

It needs the archive: when the mirror cannot be reached it fails, it does not skip (CI reaches
it). The lock is made afresh into a temporary file (the committed one is left alone).

- The python image from packages runs `import _ssl, _hashlib, sqlite3, json` under bubblewrap
  with the image alone as its root, and loads the CA certificates temper generated: its
  closure is reached with no file from the build machine.
- Every file of the image is a file of the packages' root (a package shipped it, or temper
  generated it: passwd, group, nsswitch.conf, the CA bundle).
- Built twice with separate caches: one digest.
- Its file list against the root-based python image of the build machine: every difference is
  explained (a file of a host package the lock does not hold, a file of another version of a
  package, or the CA bundle, which on this machine also holds its local certificates).
- What scanners read: trivy finds Debian and lists exactly the packages /var/lib/dpkg/status.d
  names, each at the version the lock pins; no package the lock holds but the image takes
  nothing from is listed.
- arm64 from the same recipe: every ELF file is aarch64, the config says arm64, and the python
  probe runs under qemu-aarch64-static inside the sandbox.
- Both from one lock as an image index (--arch amd64,arm64): its images are the very images
  each architecture's own build made; the index and both images verify; --arch all rebuilds
  the same index digest; skopeo copy --override-arch arm64 takes the arm64 image; temper run
  --arch arm64 runs the probe from the index.
- The loader's cache of every architecture temper writes one for: the arm64 python image's, and
  those of a libc image locked and built here for 386, arm (armhf) and ppc64le, are the bytes
  that architecture's own /sbin/ldconfig writes for the unpacked image, run under qemu-user.

usage: packages_archive.py TEMPER RECIPES_DIR [TRIVY]   (as root: bwrap and umoci)
"""
import collections
import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile

from checks import check, summary, unpack_layout  # tests/integration/checks.py

if len(sys.argv) not in (3, 4):
    sys.exit(__doc__)
TEMPER, RECIPES = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
TRIVY = sys.argv[3] if len(sys.argv) > 3 else "/usr/local/lib/temper-test/trivy"
STATUS_D = "var/lib/dpkg/status.d/"
PROBE = ("import _ssl, _hashlib, sqlite3, json, ssl, platform; "
         "c = ssl.create_default_context(); "
         "print(platform.machine(), c.cert_store_stats()['x509_ca'] > 100)")
GENERATED = {"etc/passwd", "etc/group", "etc/nsswitch.conf", "etc/ld.so.cache"}
# Architectures whose ld.so.cache is checked against their own ldconfig, with its qemu-user.
FOREIGN = {"386": "qemu-i386-static", "arm": "qemu-arm-static", "ppc64le": "qemu-ppc64le-static"}
LIBC_RECIPE = """name: libc
include: [bookworm.yaml]
contents:
  packages: [libc6, libc-bin, zlib1g]
  binaries: [/sbin/ldconfig]
  trees: [{path: /usr/lib}]
"""


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(args, **kw)


def digest_of(r):
    lines = r.stdout.strip().splitlines()
    return lines[-1] if r.returncode == 0 and lines else None


def blob(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
        return f.read()


def manifest_digest(layout):
    return json.load(open(os.path.join(layout, "index.json")))["manifests"][0]["digest"]


def image(layout):
    index = json.load(open(os.path.join(layout, "index.json")))
    manifest = json.loads(blob(layout, index["manifests"][0]["digest"]))
    config = json.loads(blob(layout, manifest["config"]["digest"]))
    raw = gzip.decompress(blob(layout, manifest["layers"][0]["digest"]))
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        members = {m.name.rstrip("/"): (m, t.extractfile(m).read() if m.isfile() else None)
                   for m in t.getmembers()}
    return config, members


def sandbox(layout, work, extra_binds=(), qemu=None):
    bundle = os.path.join(work, "bundle-" + os.path.basename(layout))
    r = run(["umoci", "unpack", "--image", f"{layout}:latest", bundle])
    if not check(r.returncode == 0, f"umoci unpack {layout}: {r.stderr.strip()[-200:]}"):
        return None
    rootfs = os.path.join(bundle, "rootfs")
    args = ["bwrap", "--tmpfs", "/"]
    for name in sorted(os.listdir(rootfs)):
        p = os.path.join(rootfs, name)
        args += (["--symlink", os.readlink(p), "/" + name] if os.path.islink(p)
                 else ["--ro-bind", p, "/" + name])
    if qemu:
        args += ["--ro-bind", qemu, "/qemu"]
    args += ["--proc", "/proc", "--dev", "/dev", "--unshare-all", "--uid", "65532", "--gid",
             "65532", "--clearenv", "--setenv", "SSL_CERT_FILE",
             "/etc/ssl/certs/ca-certificates.crt"]
    return args + (["/qemu"] if qemu else [])


def same_cache_as_ldconfig(name, layout, work, qemu):
    """The image's /etc/ld.so.cache against what its own /sbin/ldconfig writes for its tree."""
    tree = unpack_layout(layout, os.path.join(work, f"tree-{name}"))
    cache = os.path.join(tree, "etc", "ld.so.cache")
    ours = open(cache, "rb").read() if os.path.exists(cache) else None
    if not check(ours is not None, f"{name}: temper wrote /etc/ld.so.cache"):
        return
    os.unlink(cache)
    r = run([shutil.which(qemu), os.path.join(tree, "sbin", "ldconfig"), "-r", tree, "-X"])
    theirs = open(cache, "rb").read() if r.returncode == 0 and os.path.exists(cache) else b""
    entries = struct.unpack_from("<I", theirs, 20)[0] if len(theirs) >= 24 else 0
    check(entries > 0 and ours == theirs,
          f"{name}: /etc/ld.so.cache has the bytes the image's own ldconfig writes under "
          f"{qemu} ({entries} libraries; {len(ours)} and {len(theirs)} bytes) {r.stderr[-200:]}")


def foreign_caches(work):
    """A libc image for each of FOREIGN, from a lock made here: its cache against ldconfig's."""
    top = os.path.join(work, "foreign")
    os.makedirs(top)
    sources = open(os.path.join(RECIPES, "debian", "bookworm.yaml")).read()
    lines = [line if not line.startswith("architectures:")
             else f"architectures: [{', '.join(FOREIGN)}]" for line in sources.splitlines()]
    check(any(line.startswith("architectures:") for line in sources.splitlines()),
          "bookworm.yaml names its architectures")
    open(os.path.join(top, "bookworm.yaml"), "w").write("\n".join(lines) + "\n")
    recipe = os.path.join(top, "libc.yaml")
    open(recipe, "w").write(LIBC_RECIPE)
    r = run([TEMPER, "lock", recipe])
    if not check(r.returncode == 0, f"lock libc for {', '.join(FOREIGN)}: {r.stderr[-300:]}"):
        return
    for arch, qemu in FOREIGN.items():
        layout = os.path.join(top, f"libc-{arch}")
        r = run([TEMPER, "build", recipe, "--arch", arch, "--cache", os.path.join(top, "cache"),
                 "-o", layout])
        if check(digest_of(r) is not None, f"libc for {arch}: {r.stderr[-300:]}"):
            same_cache_as_ldconfig(f"libc {arch}", layout, top, qemu)


def layered(work, cache):
    """Two images from packages, layered by their includes over debian/static.yaml and locked
    at the same moment: the static layer is the same blob in both, and a build into the other's
    layout takes it from there."""
    top = os.path.join(work, "layered")
    os.makedirs(top)
    recipes, layouts = {}, {}
    for name, base in (("py", "python"), ("libc", "base")):
        recipes[name] = os.path.join(top, f"{name}.yaml")
        open(recipes[name], "w").write(f"name: {name}\ninclude: [{RECIPES}/debian/{base}.yaml]\n"
                                       "layering: {strategy: includes}\n")
        r = run([TEMPER, "lock", recipes[name]])
        if not check(r.returncode == 0, f"lock layered {name}: {r.stderr[-300:]}"):
            return
        layouts[name] = os.path.join(top, name)
        r = run([TEMPER, "build", recipes[name], "--cache", cache, "-o", layouts[name],
                 "--skip-tests"])
        check(digest_of(r) is not None and "layer 1: " in r.stderr and
              "bookworm.yaml" not in r.stderr,
              f"layered {name} from packages, its first layer static.yaml's: {r.stderr[-300:]}")
    first = [json.loads(blob(layouts[n], json.load(open(os.path.join(
        layouts[n], "index.json")))["manifests"][0]["digest"]))["layers"][0]["digest"]
        for n in layouts]
    check(len(set(first)) == 1, f"the static layer is one blob in both images: {first}")
    r = run([TEMPER, "build", recipes["libc"], "--cache", cache, "-o", layouts["py"], "--tag",
             "libc", "--skip-tests"])
    check(r.returncode == 0 and "static.yaml (in the layout already" in r.stderr,
          f"a build into the python image's layout takes the static layer: {r.stderr[-300:]}")


def index_from_packages(work, recipe, lock, cache, single):
    """The python image for amd64 and arm64 from one lock: an image index whose images are the
    very images each architecture's own build made, signed and verified; the same index digest
    on a rebuild; the arm64 image runs its probe under qemu-user from the index."""
    key, layout = os.path.join(work, "index-key"), os.path.join(work, "py-index")
    run([TEMPER, "keygen", "-o", key])
    r = run([TEMPER, "build", recipe, "--lock", lock, "--cache", cache, "--arch", "amd64,arm64",
             "--skip-tests", "--key", key + ".key", "-o", layout])
    digest = digest_of(r)
    if not check(digest is not None, f"python for amd64,arm64 from one lock: {r.stderr[-300:]}"):
        return
    index = json.loads(blob(layout, digest))
    images = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    check(images == single, f"the index names each architecture's own image: {images} {single}")
    r = run([TEMPER, "verify", "--key", key + ".pub", layout])
    check(r.returncode == 0 and r.stderr.count("temper: verified the image for") == 2,
          f"the index and both images verify: {r.stderr[-300:]}")
    r = run([TEMPER, "build", recipe, "--lock", lock, "--cache", cache, "--arch", "all",
             "--skip-tests", "-o", os.path.join(work, "py-index-again"), "--expect", digest])
    check(r.returncode == 0, f"--arch all (the recipe's architectures) rebuilds the same index: "
          f"{r.stderr[-300:]}")
    copy = os.path.join(work, "py-index-arm64")
    r = run(["skopeo", "copy", "--override-arch", "arm64", f"oci:{layout}:latest",
             f"oci:{copy}:latest"])
    check(r.returncode == 0 and manifest_digest(copy) == single["arm64"],
          f"skopeo copy --override-arch arm64 takes the arm64 image: {r.stderr[-300:]}")
    r = run([TEMPER, "run", "--arch", "arm64", layout, "--", "/usr/bin/python3", "-I", "-c",
             PROBE])
    check(r.returncode == 0 and r.stdout.strip() == "aarch64 True",
          f"the index's arm64 image runs the probe under qemu-user: {(r.stdout + r.stderr)[-300:]}")


def owners(cache):
    """path -> package, of every root in the cache."""
    out = {}
    for key in os.listdir(os.path.join(cache, "roots")):
        path = os.path.join(cache, "roots", key, "owners")
        if key.startswith(".") or not os.path.exists(path):
            continue
        for line in open(path, encoding="utf-8", errors="surrogateescape"):
            p, pkg = line.rstrip("\n").split("\t")
            out[p] = pkg
    return out


def host_owner(path):
    """The host package shipping /path (through the merged /usr), or None."""
    aliases = [("usr/lib/", "lib/"), ("usr/sbin/", "sbin/"), ("usr/bin/", "bin/")]
    for candidate in ["/" + path] + ["/" + path.replace(a, b, 1) for a, b in aliases
                                     if path.startswith(a)]:
        r = run(["dpkg-query", "-S", candidate])
        if r.returncode == 0:
            return r.stdout.split(":")[0].split(",")[0].strip()
    return None


def explain(diff, locked, host_ver):
    """Why a file differs between the package image and the host image, or None."""
    path, how = diff
    if path == "etc/ssl/certs/ca-certificates.crt":
        return "each bundle is made from its own root's ca-certificates package"
    if path == "etc/ld.so.cache":
        # each image's own libraries and libc banner (ld_cache.py checks it against ldconfig)
        return "the loader's cache of each image's own libraries"
    if path in ("bin", "sbin", "lib", "lib64") and how == "only from the host":
        return "a merged-/usr symlink on the way to a file only the host's recipe takes"
    if path.startswith(STATUS_D):
        # what each image says of a package: as its package, and the files the image takes
        pkg = os.path.basename(path).removesuffix(".md5sums")
        if pkg not in locked:
            return f"status.d of host package {pkg}, which the lock does not hold"
        if host_ver(pkg) != locked[pkg]:
            return f"status.d of {pkg}, {host_ver(pkg)} on the host, {locked[pkg]} locked"
        return f"status.d of {pkg}: the images take other files of it"
    if path == "etc/debian_version" and host_ver("base-files") != locked.get("base-files"):
        return "base-files of another version"
    pkg = host_owner(path)
    if pkg is None:
        return None
    pkg = pkg.split(":")[0]
    if pkg not in locked:
        return f"shipped by host package {pkg}, which the lock does not hold"
    if host_ver(pkg) != locked[pkg]:
        return f"{pkg} {host_ver(pkg)} on the host, {locked[pkg]} locked"
    return None


def check_trivy(layout, work, members, locked):
    """trivy on the unpacked image lists what status.d names, at the locked versions."""
    tree = os.path.join(work, "tree-" + os.path.basename(layout))
    r = run(["umoci", "raw", "unpack", "--rootless", "--image", f"{layout}:latest", tree])
    if not check(r.returncode == 0, f"umoci raw unpack: {r.stderr.strip()[-200:]}"):
        return
    named = {}
    for p, (m, data) in members.items():
        if p.startswith(STATUS_D) and not p.endswith(".md5sums") and data is not None:
            fields = dict(line.split(": ", 1) for line in data.decode().splitlines()
                          if ": " in line and not line.startswith(" "))
            named[fields["Package"]] = fields["Version"]
    check(named and all(locked.get(p) == v for p, v in named.items()),
          f"status.d names {len(named)} of the {len(locked)} locked packages, at their versions")
    r = run([TRIVY, "rootfs", "--scanners", "license", "--list-all-pkgs", "--format", "json",
             "--cache-dir", os.path.join(work, "trivy-cache"), "--offline-scan",
             "--skip-db-update", tree])
    if not check(r.returncode == 0, "trivy rootfs" + (f": {r.stderr[-300:]}" if r.returncode
                                                      else "")):
        return
    report = json.loads(r.stdout)
    found = {}
    for res in report.get("Results", []):
        for p in (res.get("Packages") or []) if res.get("Class") == "os-pkgs" else []:
            v = (f"{p['Epoch']}:" if p.get("Epoch") else "") + p["Version"]
            found[p["Name"]] = v + (f"-{p['Release']}" if p.get("Release") else "")
    check(report["Metadata"]["OS"].get("Family") == "debian" and found == named,
          f"trivy finds {report['Metadata']['OS']} and the same {len(found)} packages "
          f"(differ: {sorted(set(found.items()) ^ set(named.items()))[:6]})")


def main():
    for tool in ("umoci", "bwrap", "skopeo", "qemu-aarch64-static", "gpgv", *FOREIGN.values()):
        if shutil.which(tool) is None:
            sys.exit(f"packages_archive.py needs {tool} (scripts/install-deps.sh test)")
    work = tempfile.mkdtemp(prefix="temper-archive-")
    try:
        recipe = os.path.join(RECIPES, "debian", "python.yaml")
        lock = os.path.join(work, "python.lock.json")
        r = run([TEMPER, "lock", recipe, "-o", lock])
        if not check(r.returncode == 0, "temper lock through this machine's apt sources "
                     f"(Debian's archive must be reachable): {r.stderr.strip()[-400:]}"):
            return summary()
        locked = {p["name"]: p["version"]
                  for p in json.load(open(lock))["architectures"]["amd64"]}
        check({"python3.11-minimal", "libssl3", "libsqlite3-0", "ca-certificates"} <= set(locked),
              f"the lock holds python and what its extension modules load: {len(locked)} packages")

        caches = [os.path.join(work, "cache-a"), os.path.join(work, "cache-b")]
        digests = []
        for i, cache in enumerate(caches):
            r = run([TEMPER, "build", recipe, "--lock", lock, "--cache", cache, "-o",
                     os.path.join(work, f"py{i}")])
            digests.append(digest_of(r))
            check(digests[-1] is not None, f"build {i + 1} from packages: {r.stderr[-300:]}")
        check(len(set(digests)) == 1 and digests[0], f"two caches, one digest: {digests}")

        layout = os.path.join(work, "py0")
        args = sandbox(layout, work)
        if args:
            r = run(args + ["/usr/bin/python3", "-I", "-c", PROBE])
            check(r.returncode == 0 and r.stdout.strip() == "x86_64 True",
                  f"the image alone runs the probe (_ssl, _hashlib, sqlite3, json, the CA "
                  f"bundle): {(r.stdout + r.stderr).strip()[-300:]}")

        config, members = image(layout)
        shipped = owners(caches[0])
        strays = [p for p, (m, _) in members.items() if not m.isdir() and p not in shipped and
                  p not in GENERATED and not p.startswith(STATUS_D)]
        check(not strays, f"every file of the image is the packages' (or temper's): {strays[:5]}")
        check_trivy(layout, work, members, locked)

        host = os.path.join(work, "host")
        r = run([TEMPER, "build", os.path.join(RECIPES, "python.yaml"), "-o", host])
        if check(r.returncode == 0, f"the root-based python image: {r.stderr[-200:]}"):
            _, host_members = image(host)
            diffs = [(p, "only from packages") for p in members if p not in host_members]
            diffs += [(p, "only from the host") for p in host_members if p not in members]
            diffs += [(p, "content") for p in members if p in host_members and
                      members[p][1] != host_members[p][1]]
            versions = {}

            def host_ver(pkg):
                if pkg not in versions:
                    versions[pkg] = run(["dpkg-query", "-W", "-f", "${Version}", pkg]).stdout
                return versions[pkg]

            reasons = {d: explain(d, locked, host_ver) for d in diffs}
            unexplained = [d for d, why in reasons.items() if why is None]
            tally = collections.Counter(f"{how}: {why}" for (_, how), why in reasons.items()
                                        if why is not None)
            check(not unexplained,
                  f"{len(diffs)} files differ from the host's python image, each explained "
                  f"({dict(tally)}); unexplained: {unexplained[:8]}")

        arm = os.path.join(work, "py-arm64")
        r = run([TEMPER, "build", recipe, "--lock", lock, "--cache", caches[0], "--arch",
                 "arm64", "-o", arm])
        if check(digest_of(r) is not None, f"arm64 from the same recipe: {r.stderr[-300:]}"):
            check("tests: 2 passed" in r.stderr and "under /usr/bin/qemu-aarch64-static" in
                  r.stderr and "tests: 1 native-only not run" in r.stderr,
                  f"its recipe tests run under qemu-user, but for the native-only one: "
                  f"{r.stderr[-300:]}")
            r = run([TEMPER, "run", arm, "--", "/usr/bin/python3", "-c",
                     "import platform; print(platform.machine())"])
            check(r.returncode == 0 and r.stdout == "aarch64\n",
                  f"temper run runs it under qemu-user: {(r.stdout + r.stderr)[-300:]}")
            config, members = image(arm)
            elves = [(p, data[18]) for p, (m, data) in members.items()
                     if data is not None and data[:4] == b"\x7fELF"]
            check(config["architecture"] == "arm64" and elves and
                  all(machine == 183 for _, machine in elves),
                  f"config says arm64 and all {len(elves)} ELF files are aarch64")
            args = sandbox(arm, work, qemu=shutil.which("qemu-aarch64-static"))
            if args:
                r = run(args + ["/usr/bin/python3", "-I", "-c", PROBE])
                check(r.returncode == 0 and r.stdout.strip() == "aarch64 True",
                      f"the arm64 probe runs under qemu-aarch64-static: "
                      f"{(r.stdout + r.stderr).strip()[-300:]}")
            same_cache_as_ldconfig("python arm64", arm, work, "qemu-aarch64-static")
            index_from_packages(work, recipe, lock, caches[0],
                                {"amd64": manifest_digest(layout), "arm64": manifest_digest(arm)})
        foreign_caches(work)
        layered(work, caches[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
