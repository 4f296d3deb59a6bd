#!/usr/bin/env python3
"""temper diff, temper inspect and temper build --expect, end to end, on images built by temper.

- Rebuilding recipes/static.yaml gives an identical image (exit 0); a recipe of the test's own
  (including static.yaml) and a variant of it differ in a file's content and mode, a symlink's
  target, an added file and the entrypoint: diff names each (exit 1), with the hashes Python
  computes, in text and in JSON, and its count line counts its lines.
- Another epoch names `created` and says once, with the count, that every mtime moved (one
  line, not one per entry); another compression is one line naming both
  blobs and the same diff_id.
- temper inspect lists exactly the entries Python's tarfile reads from the layer blob (path,
  type, mode, owner, size, link), the tags, and the hardening summary.
- Packages (the python image from this machine): inspect names each file's package and lists
  the packages with the versions dpkg-query reports; with libssl3's version edited in the
  image's own status.d and the image rebuilt from those files, diff's first line is
  "layer 1: package libssl3: OLD -> 9.9.9-1".
- build --expect: a digest that matches (exit 0), a layout that does not (exit 1, the diff on
  stderr, the digest still on stdout), a digest found nowhere (says only digests can be shown).
- A registry image (Debian's docker-registry on loopback, always stopped) diffs and inspects
  like the layout it was pushed from, and serves as --expect.
- Errors: a missing image exits 2 naming it.

usage: image_diff.py TEMPER RECIPES_DIR
"""
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

import crafted as cr  # layouts crafted by hand (tests/integration/crafted.py)
import push_registry as fx  # the registry fixture of the push tests
from checks import check, summary  # tests/integration/checks.py

RECIPE = """name: app
include: [{static}]
paths:
  - {{path: /etc/app.conf, type: file, content: "{conf}", permissions: {mode}}}
  - {{path: /usr/bin/app, type: symlink, target: {target}}}
  - {{path: /usr/bin/app-1, type: file, content: "#!app-1\\n", permissions: 0o755}}
  - {{path: /usr/bin/app-2, type: file, content: "#!app-2\\n", permissions: 0o755}}
  - {{path: /usr/bin/app2, type: file, content: "#!app2\\n", permissions: 0o755}}
{extra}entrypoint: {{command: {entry}}}
annotations: {{org.example.team: agents}}
"""


def temper(*args, env=None):
    return fx.temper(*args, env=env)


def write_recipe(work, name, conf="mode=strict\\n", mode="0o644", target="app-1",
                 entry="/usr/bin/app", extra=""):
    path = os.path.join(work, name + ".yaml")
    with open(path, "w") as f:
        f.write(RECIPE.format(static=os.path.join(fx.RECIPES, "static.yaml"), conf=conf,
                              mode=mode, target=target, entry=entry, extra=extra))
    return path


def build(recipe, layout, *args):
    r = temper("build", recipe, "-o", layout, *args)
    ok = check(r.returncode == 0, f"build {os.path.basename(layout)}: {r.stderr.strip()[-300:]}")
    return r.stdout.strip().splitlines()[-1] if ok else None


def diff_lines(r):
    """The difference lines of a text diff (between the header and the count)."""
    lines = r.stdout.strip().splitlines()
    return lines[1:-1]


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_entries(layout, digest):
    """(path, type, mode, uid, gid, size, link) of the layer, as Python's tarfile reads it."""
    blobs = os.path.join(layout, "blobs", "sha256")
    manifest = json.load(open(os.path.join(blobs, digest.split(":")[1])))
    data = open(os.path.join(blobs, manifest["layers"][0]["digest"].split(":")[1]), "rb").read()
    kinds = {tarfile.REGTYPE: "file", tarfile.DIRTYPE: "directory", tarfile.SYMTYPE: "symlink",
             tarfile.LNKTYPE: "hardlink"}
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as t:
        for m in t:
            path = "/" + m.name.strip("/").removeprefix("./") if m.name.strip("/") else "/"
            link = m.linkname if m.issym() else None
            out.append((path, kinds.get(m.type, "other"), f"{m.mode:04o}", m.uid, m.gid,
                        m.size if m.isreg() else 0, link))
    return out


def test_identical_and_differences(work, base, base_digest, app, app_digest, variant):
    r = temper("build", os.path.join(fx.RECIPES, "static.yaml"), "-o",
               os.path.join(work, "static2"))
    r = temper("diff", base, os.path.join(work, "static2"))
    check(r.returncode == 0 and r.stdout.strip() == f"images are identical: {base_digest}",
          f"a rebuild is identical: {r.stdout.strip()[-200:]} {r.stderr.strip()[-200:]}")

    r = temper("diff", app, variant)
    lines = diff_lines(r)
    old, new = b"mode=strict\n", b"mode=loose!\n"
    expected = [
        f"layer 1: /etc/app.conf: content: {len(old)} bytes {sha(old)} -> "
        f"{len(new)} bytes {sha(new)}",
        "layer 1: /etc/app.conf: mode: 0644 -> 0600",
        'layer 1: /usr/bin/app: link target: "app-1" -> "app-2"',
        "layer 1: /etc/extra: added: file 0644 0:0 3 bytes",
        'config: Entrypoint: ["/usr/bin/app"] -> ["/usr/bin/app2"]',
    ]
    check(r.returncode == 1, f"diff of different images exits 1 (got {r.returncode}): "
          f"{r.stderr.strip()[-300:]}")
    check(r.stdout.startswith(f"images differ: {app_digest} -> "), "diff's header names A")
    for line in expected:
        check(line in lines, f"diff says: {line}")
    check(r.stdout.strip().splitlines()[-1] == f"{len(lines)} differences",
          f"the count line counts the lines: {r.stdout.strip().splitlines()[-1]}")
    check(not any("/etc/passwd" in l for l in lines), "unchanged files are not listed")

    r = temper("diff", "--format", "json", app, variant)
    doc = json.loads(r.stdout)
    check(r.returncode == 1 and doc["identical"] is False and doc["a"]["digest"] == app_digest
          and doc["a"]["image"] == app, "diff --format json: identical false, a names the image")
    check(len(doc["differences"]) == len(lines), "json lists as many differences as the text")
    modes = [d for d in doc["differences"] if d.get("path") == "/etc/app.conf" and
             d["field"] == "mode"]
    check(modes == [{"where": "layer 1", "path": "/etc/app.conf", "field": "mode", "a": "0644",
                     "b": "0600"}], f"json mode difference: {modes}")
    content = [d for d in doc["differences"] if d["field"] == "content"]
    check(content and content[0]["b"] == {"size": len(new), "sha256": sha(new)},
          f"json content difference: {content}")


def test_epoch_and_compression(work, app_recipe, app, app_digest):
    other = os.path.join(work, "app-epoch")
    build(app_recipe, other, "--epoch", "1600000000")
    r = temper("diff", app, other)
    lines = diff_lines(r)
    check(r.returncode == 1 and
          'config: created: "2023-11-14T22:13:20Z" -> "2020-09-13T12:26:40Z"' in lines,
          "another epoch: diff names created")
    mtimes = [line for line in lines if "mtime" in line]
    check(len(mtimes) == 1 and re.fullmatch(r"layer 1: mtime of \d+ entries: 1700000000 -> "
                                            r"1600000000", mtimes[0]),
          f"another epoch: diff says once that every mtime moved, with the count: {mtimes}")

    zstd = os.path.join(work, "app-zstd")
    build(app_recipe, zstd, "--compression", "zstd")
    r = temper("diff", app, zstd)
    lines = diff_lines(r)
    check(r.returncode == 1 and len(lines) == 1 and
          lines[0].startswith("layer 1: same content, other compression: sha256:"),
          f"another compression: one line naming both blobs: {lines}")
    level = os.path.join(work, "app-level")
    build(app_recipe, level, "--level", "1")
    r = temper("diff", "--format", "json", app, level)
    d = json.loads(r.stdout)["differences"]
    check(len(d) == 1 and d[0]["field"] == "compression" and
          d[0]["a"]["digest"] != d[0]["b"]["digest"] and d[0]["diff_id"].startswith("sha256:"),
          f"another gzip level: a compression difference with one diff_id: {d}")


def test_inspect(app, app_digest):
    r = temper("inspect", app)
    out = r.stdout.splitlines()
    check(r.returncode == 0 and "tags: latest" in out and
          f"manifest: {app_digest} (" in r.stdout, f"inspect: tags and digest: {r.stderr[-200:]}")
    check("file      0644 0:0 12 /etc/app.conf" in out, "inspect lists /etc/app.conf")
    check('symlink   0777 0:0 0 /usr/bin/app -> "app-1"' in out, "inspect lists the symlink")
    check(any(l.startswith("hardening: user 65532:65532; setuid/setgid/capability files: 0; "
                           "world-writable: 0; shells: 0") for l in out),
          "inspect's hardening summary")
    r = temper("inspect", "--format", "json", app)
    doc = json.loads(r.stdout)
    files = [(f["path"], f["type"], f["mode"], f["uid"], f["gid"], f["size"], f.get("link"))
             for f in doc["layers"][0]["files"]]
    expected = layer_entries(app, app_digest)
    check(files == expected, f"inspect lists exactly what tarfile reads ({len(files)} entries "
          f"against {len(expected)})")
    check(doc["config"]["Entrypoint"] == ["/usr/bin/app"] and doc["tags"] == ["latest"] and
          doc["annotations"] == {"org.example.team": "agents"}, "inspect json: config summary")


def dpkg_version(package):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True,
                       text=True)
    return r.stdout if r.returncode == 0 else None


def test_packages(work):
    """The python image from this machine: inspect names each file's package and the packages
    with the versions dpkg reports; a package's version changed in the image's own files (its
    status.d stanza edited, the image rebuilt from them) is the first thing diff says."""
    python = os.path.join(work, "python")
    digest = build(os.path.join(fx.RECIPES, "python.yaml"), python)
    if digest is None:
        return
    r = temper("inspect", python)
    libc = [l for l in r.stdout.splitlines() if l.endswith("/usr/lib/x86_64-linux-gnu/libc.so.6"
                                                           "  [libc6]")]
    check(r.returncode == 0 and len(libc) == 1, f"inspect: libc.so.6 is libc6's: {libc}")
    check(f"  libc6 {dpkg_version('libc6')} amd64" in r.stdout.splitlines(),
          "inspect lists libc6 with the version dpkg reports")
    r = temper("inspect", "--format", "json", python)
    doc = json.loads(r.stdout)
    names = {p["name"]: p["version"] for p in doc["packages"]}
    check(names.get("libssl3") == dpkg_version("libssl3") and len(names) > 10,
          f"inspect json: {len(names)} packages, libssl3 {names.get('libssl3')}")
    owned = {f["path"]: f.get("package") for f in doc["layers"][0]["files"]}
    check(owned.get("/usr/bin/python3.11") == "python3.11-minimal" and
          owned.get("/etc/passwd") is None,
          f"inspect json: each file's package ({owned.get('/usr/bin/python3.11')})")

    # The image's own files as a root, libssl3's version edited there: rebuilt, then compared.
    blobs = os.path.join(python, "blobs", "sha256")
    manifest = json.load(open(os.path.join(blobs, digest.split(":")[1])))
    tree = os.path.join(work, "python-tree")
    with tarfile.open(os.path.join(blobs, manifest["layers"][0]["digest"].split(":")[1])) as t:
        t.extractall(tree)
    stanza = os.path.join(tree, "var/lib/dpkg/status.d/libssl3")
    old = dpkg_version("libssl3")
    with open(stanza) as f:
        text = f.read()
    with open(stanza, "w") as f:
        f.write(text.replace(f"Version: {old}\n", "Version: 9.9.9-1\n"))
    edited = os.path.join(work, "python-edited")
    build(os.path.join(fx.RECIPES, "python.yaml"), edited, "--root", tree)
    r = temper("diff", python, edited)
    lines = diff_lines(r)
    package = f"layer 1: package libssl3: {old} -> 9.9.9-1"
    files = [i for i, l in enumerate(lines) if l.startswith("layer 1: /")]
    check(r.returncode == 1 and package in lines and files and lines.index(package) < files[0],
          f"diff names the version change before the files: {lines}")
    check([lines[i].split(": ")[1] for i in files] == ["/var/lib/dpkg/status.d/libssl3"],
          "and the only file it changed is libssl3's stanza")


def test_expect(work, app_recipe, app, app_digest, variant_recipe):
    r = temper("build", app_recipe, "-o", os.path.join(work, "again"), "--expect", app_digest)
    check(r.returncode == 0 and f"matches the expected image {app_digest}" in r.stderr and
          r.stdout.strip().splitlines()[-1] == app_digest, "--expect DIGEST: a match exits 0")
    r = temper("build", variant_recipe, "-o", os.path.join(work, "v2"), "--expect", app)
    new = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    check(r.returncode == 1 and
          f"the build does not match the expected image: {new} is not {app_digest}" in r.stderr
          and "layer 1: /etc/app.conf: mode: 0644 -> 0600" in r.stderr and new.startswith("sha256:"),
          f"--expect LAYOUT: a mismatch exits 1 and explains: {r.stderr.strip()[-400:]}")
    r = temper("build", variant_recipe, "-o", os.path.join(work, "v3"), "--expect", app_digest)
    check(r.returncode == 1 and "only the digests can be compared" in r.stderr,
          f"--expect DIGEST found nowhere: says so: {r.stderr.strip()[-300:]}")
    r = temper("build", variant_recipe, "-o", os.path.join(work, "v4"), "--expect",
               os.path.join(work, "missing"))
    check(r.returncode != 0 and "missing" in r.stderr and
          not os.path.exists(os.path.join(work, "v4")),
          f"--expect of a missing image fails before building: {r.stderr.strip()[-200:]}")


def test_registry(work, app, app_digest, variant, app_recipe):
    with fx.Registry(work, "registry") as reg:
        ref = f"{reg.host}/app:1"
        r = temper("push", app, ref)
        check(r.returncode == 0, f"push app: {r.stderr.strip()[-300:]}")
        r = temper("diff", app, ref)
        check(r.returncode == 0 and r.stdout.strip() == f"images are identical: {app_digest}",
              f"diff layout registry: identical: {r.stdout.strip()} {r.stderr.strip()[-300:]}")
        local = temper("diff", app, variant)
        r = temper("diff", f"docker://{ref}", variant)
        check(r.returncode == 1 and r.stdout == local.stdout,
              f"diff registry layout: the same report as from the layout: "
              f"{r.stderr.strip()[-300:]}")
        r = temper("inspect", ref)
        check(r.returncode == 0 and "file      0644 0:0 12 /etc/app.conf" in r.stdout,
              f"inspect a registry image: {r.stderr.strip()[-300:]}")
        r = temper("build", app_recipe, "-o", os.path.join(work, "again2"), "--expect", ref)
        check(r.returncode == 0 and "matches the expected image" in r.stderr,
              f"--expect REGISTRY/REPO:TAG: a match: {r.stderr.strip()[-300:]}")
        r = temper("diff", app, f"{reg.host}/app:missing")
        check(r.returncode == 2 and f"{reg.host}/app:missing" in r.stderr,
              f"a missing registry tag exits 2 naming it: {r.stderr.strip()[-300:]}")


def test_descriptors_and_diff_ids(work):
    """Layer descriptors are compared member by member; a config's diff_id is checked."""
    a = cr.tar_bytes([(cr.ti("etc/x"), b"good")])
    la = cr.layout(os.path.join(work, "d-a"), [a])
    lb = cr.layout(os.path.join(work, "d-b"), [a], layer_desc_extra=[{
        "urls": ["https://evil.example/layer"], "annotations": {"org.example.k": "x"},
        "platform": {"os": "windows", "architecture": "amd64"}}])
    r = temper("diff", la, lb)
    lines = diff_lines(r)
    check(r.returncode == 1 and 'layer 1: urls: absent -> ["https://evil.example/layer"]' in lines
          and 'layer 1: annotations["org.example.k"]: absent -> "x"' in lines and
          any(l.startswith("layer 1: platform: absent -> ") for l in lines),
          f"a layer descriptor's urls, annotations, platform are differences: {r.stdout[-500:]}")
    good = cr.tar_bytes([(cr.ti("usr/bin/app", mode=0o755), b"good program")])
    evil = cr.tar_bytes([(cr.ti("usr/bin/app", mode=0o4755), b"evil program")])
    la = cr.layout(os.path.join(work, "i-a"), [good])
    lb = cr.layout(os.path.join(work, "i-b"), [evil], diff_ids=[cr.sha(good)])
    r = temper("diff", la, lb)
    lines = diff_lines(r)
    check(r.returncode == 1 and not any("other compression" in l for l in lines) and
          f"layer 1: B's config names diff_id {cr.sha(good)}; the layer's content is "
          f"{cr.sha(evil)}" in lines and "layer 1: /usr/bin/app: mode: 0755 -> 4755" in lines,
          f"a diff_id copied into B's config is caught: {r.stdout[-600:]}")


def test_bounds(work):
    """What time a hostile image may take: a sparse file of 2^60 bytes, 100,000 labels."""
    size = 1 << 60
    sparse = cr.tar_bytes([(cr.ti("sparse", pax={"GNU.sparse.size": str(size),
                                                 "GNU.sparse.map": f"{size - 1},1"}), b"x")])
    lay = cr.layout(os.path.join(work, "sparse"), [sparse])
    r, seconds, rss = cr.measured([fx.TEMPER, "inspect", lay])
    check(r.returncode == 1 and "'/sparse'" in r.stderr and "DIFF_LAYER_MAX_RATIO" in r.stderr
          and seconds < 10, f"a sparse entry of 2^60 bytes is refused at once ({seconds:.1f} s, "
          f"{rss:.0f} MiB): {r.stderr.strip()[-300:]}")
    t = cr.tar_bytes([(cr.ti("f"), b"x")])
    labels = {"k%06d" % i: "" for i in range(100000)}
    la = cr.layout(os.path.join(work, "labels-a"), [t], config_extra={"config": {"Labels": labels}})
    labels["k000000"] = "changed"
    lb = cr.layout(os.path.join(work, "labels-b"), [t], config_extra={"config": {"Labels": labels}})
    r, seconds, rss = cr.measured([fx.TEMPER, "diff", la, lb])
    check(r.returncode == 1 and diff_lines(r) == ['config: Labels["k000000"]: "" -> "changed"']
          and seconds < 10, f"100,000 labels compared in {seconds:.1f} s ({rss:.0f} MiB)")


def test_held_memory(work):
    """Issue 17: what a layer's entries hold is counted as allocated. 5,700 entries of 2,870
    empty xattrs each (an 86 KB zstd layer) held 1.4 GB in inspect and 2.9 GB in a diff of two;
    each entry's records now hold over DIFF_PAX_MAX_BYTES and the layer is refused at once.
    Layers of 500 such records per entry, just under DIFF_LAYER_MAX_HELD_BYTES (256 MiB), are
    read: inspect's peak is one layer's allowance, a diff's two, plus some 64 MiB of the rest
    (docs/internals/diff.md). The bound is 1.6 times that for ASan's shadow and redzones, run
    without its quarantine and allocation stacks, which are not temper's memory; a
    ThreadSanitizer build keeps shadow memory of its own for every byte, and CMake gives it a
    factor of 4 (TEMPER_TEST_MEMORY_FACTOR)."""
    zs = "application/vnd.oci.image.layer.v1.tar+zstd"
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(x for x in (env.get("ASAN_OPTIONS"), "quarantine_size_mb=0",
                                                 "malloc_context_size=0") if x)

    def xattr_layout(name, entries, records, prefix):
        pax = b"".join(cr.pax_record(b"SCHILY.xattr.%03x" % i, b"") for i in range(records))
        blob, diff_id = cr.zstd_of_entries((prefix + b"%06d" % i, pax) for i in range(entries))
        return cr.layout(os.path.join(work, name), [blob], raw=True, diff_ids=[diff_id],
                         media_type=zs)

    wide = [xattr_layout(f"xattrs-{p}", 5700, 2870, p.encode()) for p in "fg"]
    r, seconds, rss = cr.measured([fx.TEMPER, "inspect", wide[0]], env=env)
    check(r.returncode == 1 and "DIFF_PAX_MAX_BYTES" in r.stderr and "'/f000000'" in r.stderr
          and rss < 256, f"2,870 empty xattrs per entry: refused at the first entry "
          f"({rss:.0f} MiB, {seconds:.1f} s): {r.stderr.strip()[-200:]}")
    r, seconds, rss = cr.measured([fx.TEMPER, "diff", *wide], env=env)
    check(r.returncode == 2 and "DIFF_PAX_MAX_BYTES" in r.stderr and rss < 256,
          f"a diff of two such: refused ({rss:.0f} MiB, {seconds:.1f} s)")
    full = [xattr_layout(f"held-{p}", 5900, 500, p.encode()) for p in "fg"]
    layer_mib = 256
    factor = float(os.environ.get("TEMPER_TEST_MEMORY_FACTOR", "1.6"))
    r, seconds, rss = cr.measured([fx.TEMPER, "inspect", full[0]], env=env)
    check(r.returncode == 0 and r.stdout.count("\nfile ") == 5900 and
          rss < factor * (layer_mib + 64), f"inspect of a layer that holds about 250 MiB: "
          f"{rss:.0f} MiB, {seconds:.1f} s: {r.stderr.strip()[-200:]}")
    r, seconds, rss = cr.measured([fx.TEMPER, "diff", *full], env=env)
    check(r.returncode == 1 and sum(": added: file" in l for l in diff_lines(r)) == 5900 and
          rss < factor * (2 * layer_mib + 64), f"a diff of two layers that hold about 250 MiB "
          f"each: {rss:.0f} MiB, {seconds:.1f} s: {r.stderr.strip()[-200:]}")
    r = temper("inspect", xattr_layout("held-over", 6100, 500, b"f"))
    check(r.returncode == 1 and "DIFF_LAYER_MAX_HELD_BYTES" in r.stderr,
          f"a layer that holds more is refused: {r.stderr.strip()[-300:]}")


def test_kept_differences(work):
    """Differences kept are bounded in bytes: long pax values are cut, a repeated layer of
    thousands of 60 KB xattrs that differ takes tens of MiB, not gigabytes."""
    lays = []
    for name, fill in (("pax-a", b"\x01"), ("pax-b", b"\x02")):
        pax = cr.pax_record(b"SCHILY.xattr.user.x", fill * 60000)
        gz = cr.gzip_of_entries((b"f%06d" % i, pax) for i in range(1000))
        lays.append(cr.layout(os.path.join(work, name), [gz], raw=True, repeat=4))
    r, seconds, rss = cr.measured([fx.TEMPER, "diff", *lays])
    lines = [l for l in diff_lines(r) if ": pax " in l]
    check(r.returncode == 1 and len(lines) == 4 * 1000 and
          lines[0].startswith('layer 1: /f000000: pax SCHILY.xattr.user.x: "\\x01\\x01') and
          "... (60000 bytes, sha256:" in lines[0] and len(lines[0]) < 12000 and rss < 1000,
          f"4,000 differences of 60 KB values: {rss:.0f} MiB, {seconds:.1f} s, lines of "
          f"{max(map(len, lines or ['']))} bytes")
    r = temper("diff", "--format", "json", *lays)
    d = [x for x in json.loads(r.stdout)["differences"] if x["field"].startswith("pax ")]
    check(d[0]["a"]["size"] == 60000 and d[0]["a"]["sha256"] == cr.sha(b"\x01" * 60000) and
          d[0]["a"]["head"] == "\x01" * 1024, f"a long value in JSON: head, size, sha256")


def test_hardening_view(work):
    """Inspect's hardening summary is what extraction leaves: hard links keep the setuid bit
    their target had, whiteouts remove paths, file capabilities count as setuid-like; and a
    layer listed many times is read one at a time."""
    t = cr.tar_bytes([(cr.ti("bin", tarfile.DIRTYPE, 0o755), None),
                      (cr.ti("bin/su", mode=0o4755), b"\x7fELF setuid payload"),
                      (cr.ti("bin/ok", tarfile.LNKTYPE, 0o755, linkname="bin/su"), None),
                      (cr.ti("bin/su", mode=0o755), b"harmless"),
                      (cr.ti("etc", tarfile.DIRTYPE, 0o755), None),
                      (cr.ti("etc/ww", mode=0o666), b"x"),
                      (cr.ti("etc/passwd2", tarfile.LNKTYPE, 0o644, linkname="etc/ww"), None),
                      (cr.ti("etc/ww", mode=0o644), b"y"),
                      (cr.ti("usr/bin/ping", mode=0o755, pax={
                          "SCHILY.xattr.security.capability": "\x01\x00\x00\x02"}), b"p")])
    r = temper("inspect", "--format", "json", cr.layout(os.path.join(work, "links"), [t]))
    h = json.loads(r.stdout)["hardening"] if r.returncode == 0 else {}
    check(h.get("setid_paths") == ["/bin/ok"] and h.get("world_writable") == ["/etc/passwd2"]
          and h.get("capability_paths") == ["/usr/bin/ping"] and h.get("setid") == 2 and
          h.get("elf_files") == 1, f"hard links keep their target's bits; capabilities: {h}")
    l1 = cr.tar_bytes([(cr.ti("bin", tarfile.DIRTYPE, 0o755), None),
                       (cr.ti("bin/su", mode=0o4755), b"su"), (cr.ti("bin/sh", mode=0o755), b"sh"),
                       (cr.ti("var", tarfile.DIRTYPE, 0o777), None),
                       (cr.ti("var/x", mode=0o4755), b"x"),
                       (cr.ti("opt", tarfile.DIRTYPE, 0o755), None),
                       (cr.ti("opt/y", mode=0o666), b"y")])
    l2 = cr.tar_bytes([(cr.ti("bin/.wh.su"), b""), (cr.ti("bin/.wh.sh"), b""),
                       (cr.ti(".wh.var"), b""), (cr.ti("opt/.wh..wh..opq"), b"")])
    r = temper("inspect", "--format", "json", cr.layout(os.path.join(work, "wh"), [l1, l2]))
    h = json.loads(r.stdout)["hardening"] if r.returncode == 0 else {}
    check(h.get("setid_paths") == [] and h.get("world_writable") == [] and h.get("shells") == [],
          f"whiteouts remove what they name: {h}")
    r = temper("diff", cr.layout(os.path.join(work, "wh0"), [l1, l1]),
               cr.layout(os.path.join(work, "wh"), [l1, l2]))
    check("layer 2: /bin/.wh.su: added: whiteout of /bin/su" in diff_lines(r) and
          "layer 2: /opt/.wh..wh..opq: added: opaque whiteout of /opt" in diff_lines(r),
          f"diff names whiteouts: {r.stdout[-400:]}")
    gz = cr.gzip_of_entries((b"%07d" % i, None) for i in range(200000))
    lay = cr.layout(os.path.join(work, "many"), [gz], raw=True, repeat=16)
    r, seconds, rss = cr.measured([fx.TEMPER, "inspect", lay])
    check(r.returncode == 0 and r.stdout.count(" entries, diff_id sha256:") == 16 and rss < 600,
          f"a layer of 200,000 entries listed 16 times: {rss:.0f} MiB, {seconds:.1f} s")


def main():
    if shutil.which("docker-registry") is None:
        sys.exit("image_diff.py needs docker-registry (scripts/install-deps.sh test)")
    work = tempfile.mkdtemp(prefix="temper-diff-")
    try:
        fx.EMPTY_DOCKER_CONFIG = os.path.join(work, "no-docker-config")
        os.makedirs(fx.EMPTY_DOCKER_CONFIG)
        os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
        test_descriptors_and_diff_ids(work)
        test_bounds(work)
        test_kept_differences(work)
        test_held_memory(work)
        test_hardening_view(work)
        base = os.path.join(work, "static")
        base_digest = build(os.path.join(fx.RECIPES, "static.yaml"), base)
        app_recipe = write_recipe(work, "app")
        variant_recipe = write_recipe(
            work, "variant", conf="mode=loose!\\n", mode="0o600", target="app-2",
            entry="/usr/bin/app2",
            extra='  - {path: /etc/extra, type: file, content: "abc"}\n')
        app, variant = os.path.join(work, "app"), os.path.join(work, "variant")
        app_digest = build(app_recipe, app)
        build(variant_recipe, variant)
        if None in (base_digest, app_digest):
            return summary()
        test_identical_and_differences(work, base, base_digest, app, app_digest, variant)
        test_epoch_and_compression(work, app_recipe, app, app_digest)
        test_inspect(app, app_digest)
        test_packages(work)
        test_expect(work, app_recipe, app, app_digest, variant_recipe)
        test_registry(work, app, app_digest, variant, app_recipe)
        r = temper("diff", app, os.path.join(work, "nothing-here"))
        check(r.returncode == 2 and "nothing-here" in r.stderr,
              f"a missing layout exits 2 naming it: {r.stderr.strip()[-200:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
