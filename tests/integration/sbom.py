#!/usr/bin/env python3
"""What an image says it holds, checked against this machine's dpkg and a real scanner.

The python image is built from this machine's root and unpacked:
- Oracle: this machine's dpkg database, read here independently of temper (every path of every
  .list resolved through the kernel's view of the root's symlinks). The packages that ship a
  file or symlink of the image are exactly the ones /var/lib/dpkg/status.d names, each with the
  version dpkg-query reports; every file in a status.d md5sums file is that package's by the
  oracle and has those bytes; no status.d names a package that ships nothing of the image.
- trivy (a real scanner, offline, license scanner only: no vulnerability database) finds
  Debian with the version /etc/debian_version says, and lists the same packages and versions,
  with the licenses of their copyright files.
- The image rebuilt from its own unpacked files is the same image; with a file changed in that
  tree, the rebuild names it and lists it as no package's.
- `sbom: {os-release: false, copyright: false}` leaves those files out, with a warning; what the
  SBOM files add to the layer is printed.
- `--sbom FILE` writes an SPDX 2.3 document: every regular file of the image with its SHA-1 and
  SHA-256 as the layer holds it, contained by the package whose md5sums list it; exactly the
  packages of status.d, with purls and source packages; licenses declared where the copyright
  file is machine-readable; no time but the epoch, the same bytes on a rebuild. `trivy sbom`
  reads it and finds the same operating system and packages.

usage: sbom.py TEMPER RECIPES_DIR TRIVY
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse

from checks import check, summary  # tests/integration/checks.py

TEMPER, RECIPES, TRIVY = (os.path.abspath(a) for a in sys.argv[1:4])
STATUS_D = "var/lib/dpkg/status.d/"
WRITTEN = {"etc/passwd", "etc/group", "etc/nsswitch.conf"}  # temper's own files


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def blob(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
        return f.read()


def layer(layout):
    """The image's layer: {path: TarInfo}, its bytes, and the blob's size."""
    index = json.load(open(os.path.join(layout, "index.json")))
    manifest = json.loads(blob(layout, index["manifests"][0]["digest"]))
    gz = blob(layout, manifest["layers"][0]["digest"])
    raw = gzip.decompress(gz)
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        members = {m.name.rstrip("/"): m for m in t.getmembers()}
    return members, raw, len(gz)


def unpack(raw, into):
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        t.extractall(into)


def stanzas(text):
    """deb822 stanzas as dicts (continuation lines joined with newlines)."""
    out = []
    for block in text.split("\n\n"):
        fields, last = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and last:
                fields[last] += "\n" + line
            elif ":" in line:
                last, value = line.split(":", 1)
                fields[last] = value.strip()
        if fields:
            out.append(fields)
    return out


def dpkg_oracle():
    """Canonical path -> package, from this machine's dpkg database; the first package in the
    status file's order wins, as with dpkg -S. Also each installed package's version."""
    status = stanzas(open("/var/lib/dpkg/status", encoding="utf-8").read())
    owner, version = {}, {}
    for s in status:
        if not s.get("Status", "").endswith(" installed"):
            continue
        name = s["Package"]
        version[name] = s["Version"]
        info = f"/var/lib/dpkg/info/{name}:{s['Architecture']}.list"
        if not os.path.exists(info):
            info = f"/var/lib/dpkg/info/{name}.list"
        for path in open(info, encoding="utf-8", errors="surrogateescape").read().splitlines():
            if not path.startswith("/") or not os.path.lexists(path) or os.path.isdir(path):
                continue
            canonical = os.path.join(os.path.realpath(os.path.dirname(path)),
                                     os.path.basename(path))
            owner.setdefault(canonical, name)
    return owner, version


def build(recipe, out, *extra):
    r = run([TEMPER, "build", recipe, "-o", out, *extra])
    lines = r.stdout.strip().splitlines()
    return (lines[-1] if r.returncode == 0 and lines else None), r.stderr


def status_d(members, tree):
    """package -> (stanza fields, {image path: md5}) of what the image's status.d says."""
    out = {}
    for name in sorted(members):
        if not name.startswith(STATUS_D) or not members[name].isfile():
            continue
        if name.endswith(".md5sums"):
            continue
        text = open(os.path.join(tree, name), encoding="utf-8").read()
        (fields,) = stanzas(text)
        sums = {}
        path = os.path.join(tree, name + ".md5sums")
        if os.path.exists(path):
            for line in open(path, encoding="utf-8"):
                md5, p = line.rstrip("\n").split("  ", 1)
                sums[p] = md5
        out[fields["Package"]] = (fields, text, sums)
    return out


def check_against_dpkg(members, tree, listed):
    owner, version = dpkg_oracle()
    expected = {}
    for path, m in members.items():
        if path.startswith(STATUS_D) or path in WRITTEN or m.isdir():
            continue
        pkg = owner.get("/" + path)
        if pkg is not None:
            expected.setdefault(pkg, []).append(path)
    check(set(listed) == set(expected),
          f"status.d names exactly the {len(expected)} packages dpkg says ship the image's files"
          f" (extra: {sorted(set(listed) - set(expected))}, "
          f"missing: {sorted(set(expected) - set(listed))})")
    check(all("Status" not in f for f, _, _ in listed.values()),
          "status.d stanzas carry no Status field (as distroless writes them)")
    bad_version = [p for p, (f, _, _) in listed.items() if version.get(p) != f.get("Version")]
    check(not bad_version, f"every stanza has the version dpkg reports ({bad_version})")
    wrong, checked = [], 0
    for pkg, (_, _, sums) in listed.items():
        for path, md5 in sums.items():
            checked += 1
            data = open(os.path.join(tree, path), "rb").read()
            if owner.get("/" + path) != pkg or hashlib.md5(data).hexdigest() != md5:
                wrong.append(path)
    check(checked > 1000 and not wrong,
          f"{checked} md5sums lines name their package's file with its bytes ({wrong[:5]})")
    files = [p for p, m in members.items() if m.isfile() and not p.startswith(STATUS_D)]
    summed = {p for _, (_, _, sums) in listed.items() for p in sums}
    unlisted = [p for p in files if p not in summed and p not in WRITTEN and "/" + p in owner]
    print(f"     {len(files)} files; {len(summed)} in md5sums; packaged but not in md5sums "
          f"(conffiles): {unlisted}")
    check(all(p.startswith("etc/") for p in unlisted), "only conffiles are missing from md5sums")
    return expected


def check_trivy(tree, listed, cache):
    r = run([TRIVY, "rootfs", "--scanners", "license", "--list-all-pkgs", "--format", "json",
             "--cache-dir", cache, "--offline-scan", "--skip-db-update", tree])
    if not check(r.returncode == 0, "trivy rootfs" + (f": exit {r.returncode} {r.stderr[-300:]}"
                                                      if r.returncode else "")):
        return
    report = json.loads(r.stdout)
    debian_version = open(os.path.join(tree, "etc/debian_version")).read().split("\n")[0]
    check(report["Metadata"]["OS"] == {"Family": "debian", "Name": debian_version},
          f"trivy finds Debian {debian_version}: {report['Metadata']['OS']}")
    pkgs = [p for res in report.get("Results", []) if res.get("Class") == "os-pkgs"
            for p in res.get("Packages") or []]

    def full(p):
        v = (f"{p['Epoch']}:" if p.get("Epoch") else "") + p["Version"]
        return v + (f"-{p['Release']}" if p.get("Release") else "")

    found = {p["Name"]: full(p) for p in pkgs}
    want = {name: f["Version"] for name, (f, _, _) in listed.items()}
    check(found == want, f"trivy lists the {len(want)} packages of status.d with their versions"
          f" (differ: {sorted(set(found.items()) ^ set(want.items()))[:6]})")
    licensed = {p["Name"] for p in pkgs if p.get("Licenses")}
    check({"libc6", "libssl3", "zlib1g"} <= licensed,
          f"trivy reads licenses from the copyright files ({len(licensed)} packages)")


def trivy_json(args, cache):
    r = run([TRIVY, *args, "--format", "json", "--cache-dir", cache, "--offline-scan",
             "--skip-db-update"])
    return json.loads(r.stdout) if r.returncode == 0 else None, r


def os_packages(report):
    def full(p):
        v = (f"{p['Epoch']}:" if p.get("Epoch") else "") + p["Version"]
        return v + (f"-{p['Release']}" if p.get("Release") else "")
    return {p["Name"]: full(p) for res in report.get("Results", [])
            if res.get("Class") == "os-pkgs" for p in res.get("Packages") or []}


def check_spdx(doc_path, members, tree, listed, epoch, work):
    doc = json.load(open(doc_path))
    check(doc["spdxVersion"] == "SPDX-2.3" and doc["dataLicense"] == "CC0-1.0" and
          doc["creationInfo"]["created"] == epoch,
          f"an SPDX 2.3 document created at the image's epoch ({doc['creationInfo']})")
    ids = {p["SPDXID"]: p for p in doc["packages"]}
    debs = {p["name"]: p for p in doc["packages"] if p["SPDXID"].startswith("SPDXRef-Package-")}
    check({n: p["versionInfo"] for n, p in debs.items()} ==
          {n: f["Version"] for n, (f, _, _) in listed.items()},
          f"its {len(debs)} packages are status.d's, at their versions")
    bad_purl = []
    for name, p in debs.items():
        f = listed[name][0]
        version = urllib.parse.quote(f["Version"], safe="")
        want = (f"pkg:deb/debian/{name}@{version}?arch={f['Architecture']}&distro=debian-"
                + open(os.path.join(tree, "etc/debian_version")).read().split(".")[0])
        if p["externalRefs"][0]["referenceLocator"] != want:
            bad_purl.append((p["externalRefs"][0]["referenceLocator"], want))
    check(not bad_purl, f"each has the purl pkg:deb/debian/NAME@VERSION?arch=..&distro=debian-12"
          f" ({bad_purl[:2]})")
    source = debs["libssl3"]["sourceInfo"]
    check(source.startswith("built package from: openssl "), f"libssl3's source: {source}")
    check("Apache-2.0" in debs["libssl3"]["licenseDeclared"] and
          debs["libc6"]["licenseDeclared"] == "NOASSERTION",
          "licenses declared from machine-readable copyright files only: libssl3 "
          f"'{debs['libssl3']['licenseDeclared']}', libc6 (free text) "
          f"'{debs['libc6']['licenseDeclared']}'")
    contains = {r["relatedSpdxElement"]: r["spdxElementId"] for r in doc["relationships"]
                if r["relationshipType"] == "CONTAINS"}
    files = {f["fileName"][2:]: f for f in doc["files"]}
    regular = [p for p, m in members.items() if m.isfile()]
    wrong = []
    for path in regular:
        f = files.get(path)
        data = open(os.path.join(tree, path), "rb").read()
        sums = {c["algorithm"]: c["checksumValue"] for c in f["checksums"]} if f else {}
        if (sums.get("SHA256") != hashlib.sha256(data).hexdigest() or
                sums.get("SHA1") != hashlib.sha1(data).hexdigest()):
            wrong.append(path)
    check(len(files) == len(regular) and not wrong,
          f"all {len(regular)} files with their SHA-1 and SHA-256 ({wrong[:3]})")
    misplaced = [p for name, (_, _, sums) in listed.items() for p in sums
                 if ids[contains[files[p]["SPDXID"]]]["name"] != name]
    check(not misplaced, f"each file is contained by the package that ships it ({misplaced[:3]})")
    written = [p for p in WRITTEN if contains[files[p]["SPDXID"]] != "SPDXRef-Image"]
    check(not written, "what temper wrote is the image's, no package's")
    check(all(contains.get(p["SPDXID"]) == "SPDXRef-OperatingSystem" for p in debs.values()) and
          ids["SPDXRef-OperatingSystem"]["name"] == "debian",
          "the packages are the operating system's, which is the image's")
    cache = os.path.join(work, "trivy-db")
    os.makedirs(os.path.join(cache, "db"), exist_ok=True)
    with open(os.path.join(cache, "db", "metadata.json"), "w") as f:
        # an empty vulnerability database: trivy sbom wants one, and no network is needed
        json.dump({"Version": 2, "NextUpdate": "2099-01-01T00:00:00Z",
                   "UpdatedAt": "2024-01-01T00:00:00Z",
                   "DownloadedAt": "2024-01-01T00:00:00Z"}, f)
    report, r = trivy_json(["sbom", "--list-all-pkgs", doc_path], cache)
    if check(report is not None, "trivy sbom" + ("" if report else f": {r.stderr[-300:]}")):
        found = os_packages(report)
        check(report["Metadata"]["OS"].get("Family") == "debian" and
              found == {n: f["Version"] for n, (f, _, _) in listed.items()},
              f"trivy sbom finds {report['Metadata']['OS']} and the same {len(found)} packages")


def main():
    if not check(os.access(TRIVY, os.X_OK),
                 f"trivy at {TRIVY} (scripts/install-deps.sh test installs it)"):
        return summary()
    recipe = os.path.join(RECIPES, "python.yaml")
    with tempfile.TemporaryDirectory() as work:
        layout, tree = os.path.join(work, "img"), os.path.join(work, "tree")
        digest, err = build(recipe, layout)
        if not check(digest is not None,
                     "temper build python.yaml" + ("" if digest else f": {err[-300:]}")):
            return summary()
        members, raw, gz_size = layer(layout)
        unpack(raw, tree)
        listed = status_d(members, tree)
        line = [l for l in err.splitlines() if l.startswith("  packages: ")]
        check(line and line[0].startswith(f"  packages: {len(listed)} "),
              f"the summary counts the packages status.d names: {line}")
        check_against_dpkg(members, tree, listed)
        for path in ("etc/os-release", "usr/lib/os-release", "etc/debian_version"):
            check(path in members, f"the image holds /{path}")
        with_license = [p for p in listed if f"usr/share/doc/{p}/copyright" in members]
        check(len(with_license) >= len(listed) - 6,
              f"{len(with_license)} of {len(listed)} packages have their copyright file "
              "(the others' doc directory is a symlink to another package's)")
        check_trivy(tree, listed, os.path.join(work, "trivy-cache"))

        # The SPDX document, and the same bytes on a rebuild.
        spdx = [os.path.join(work, f"image{i}.spdx.json") for i in (1, 2)]
        for i, path in enumerate(spdx):
            again, err = build(recipe, os.path.join(work, f"with-sbom{i}"), "--sbom", path)
            check(again == digest, f"--sbom {i + 1}: the same image ({again})")
        check(open(spdx[0], "rb").read() == open(spdx[1], "rb").read(),
              "the same SPDX bytes on a rebuild")
        check_spdx(spdx[0], members, tree, listed, "2000-01-01T00:00:00Z", work)
        nowhere = os.path.join(work, "no-such-dir", "x.spdx.json")
        r = run([TEMPER, "build", recipe, "-o", os.path.join(work, "untouched"), "--sbom", nowhere])
        check(r.returncode == 2 and "make it first" in r.stderr and
              not os.path.exists(os.path.join(work, "untouched")),
              f"--sbom into a missing directory is refused before anything is built: {r.stderr}")

        added = [m for p, m in members.items()
                 if p.startswith(STATUS_D) or p.startswith("usr/share/doc/") or
                 p in ("etc/os-release", "usr/lib/os-release", "etc/debian_version")]
        print(f"     SBOM files in the layer: {len(added)} entries, "
              f"{sum(m.size for m in added)} bytes of {len(raw)} (layer blob {gz_size} bytes)")

        # The image rebuilt from its own files is the same image.
        again, err = build(recipe, os.path.join(work, "again"), "--root", tree)
        check(again == digest, f"rebuilt from its unpacked files: {again} (was {digest})")

        # A file changed in that tree: named, and no package's.
        changed = "usr/lib/python3.11/os.py"
        owner_pkg = next(p for p, (_, _, s) in listed.items() if changed in s)
        with open(os.path.join(tree, changed), "a") as f:
            f.write("# changed\n")
        again, err = build(recipe, os.path.join(work, "changed"), "--root", tree)
        check(f"'/{changed}' ({owner_pkg})" in err and "changed since installed: 1" in err,
              f"a changed file is named: {[l for l in err.splitlines() if 'warning' in l]}")
        members2, raw2, _ = layer(os.path.join(work, "changed"))
        tree2 = os.path.join(work, "tree2")
        unpack(raw2, tree2)
        sums = status_d(members2, tree2)[owner_pkg][2]
        check(changed not in sums and len(sums) > 100,
              f"and left out of {owner_pkg}'s md5sums")

        # Switched off: no os-release, no copyright files, a warning.
        off = os.path.join(work, "off.yaml")
        with open(off, "w") as f:
            f.write(f"include: [{recipe}]\nname: python\n"
                    "sbom: {os-release: false, copyright: false}\n")
        digest_off, err = build(off, os.path.join(work, "off"))
        members_off, raw_off, gz_off = layer(os.path.join(work, "off"))
        check(digest_off is not None and "etc/os-release" not in members_off and
              not any(p.startswith("usr/share/doc/") for p in members_off) and
              any(p.startswith(STATUS_D) for p in members_off),
              "sbom switched off: status.d only")
        check("sbom.copyright is false" in err, "with a warning about the license texts")
        print(f"     layer with os-release and copyright files: {len(raw)} bytes tar, "
              f"{gz_size} gzip; without: {len(raw_off)} tar, {gz_off} gzip")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
