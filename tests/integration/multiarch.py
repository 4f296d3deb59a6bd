#!/usr/bin/env python3
"""Image indexes: one recipe built for two architectures, from a root given for each.

The roots are made here from this machine's two glibc loaders, which run without a library
(/lib64/ld-linux-x86-64.so.2 for amd64, /usr/lib32/ld-linux.so.2 of libc6-i386 for 386), so
the test needs no network: the same recipe paths hold an x86-64 ELF file in one root and an
i386 one in the other. The recipe includes a base and is layered by its includes, so that
what is shown is an index of two-layer images.

- temper build --root amd64=A --root 386=B: the tag names an OCI image index of two images,
  each with its platform and its own platform tag (latest-amd64, latest-386); each image has
  two layers, its config names its architecture, and its ELF file is for it. The recipe's test
  runs for each (the 386 one under qemu-i386, as temper runs every foreign image). A rebuild gives
  the same index digest, --expect of it passes, --format json lists both images.
- temper verify checks the index's signature and each image's; a changed layer of the 386
  image, or its signature missing, fails naming linux/386.
- --sbom FILE.spdx.json writes FILE-amd64.spdx.json and FILE-386.spdx.json, each about its
  image (digest, arch, platform tag), and --key attaches each to its image: temper verify
  --attestation spdx checks both, temper sbom --arch 386 (and this machine's amd64 without
  --arch) prints each file byte for byte; temper gc keeps them.
- Readers: skopeo inspect --raw shows the index, skopeo copy --override-arch 386 takes the 386
  image, oci-image-tool validates the index and each manifest, umoci unpacks each platform
  tag, and each loader runs (bubblewrap; qemu-i386 for 386); temper run and inspect take
  --arch; podman loads the --archive and runs the amd64 image.
- temper diff compares two indexes platform by platform; --arch compares one platform; the 386
  image built alone is identical to the index's, which diff picks by the image's architecture.
- temper push sends both images, their signatures and attestations, and the index; skopeo
  reads it from the registry for each architecture, a remote temper verify checks all three
  signatures, temper sbom --arch 386 reads the 386 document from the registry, and a second
  push uploads nothing.
- A root given for the wrong architecture (its ELF files', or the recipe's) and --arch with
  roots are refused with what to do; so is an index whose platform tag (v2-386) the user
  already has, and the layout stays as it was.

usage: multiarch.py TEMPER RECIPES_DIR   (as root: umoci, bwrap and podman need it)
"""
import json
import os
import shutil
import sys
import tempfile

import build_images as bi  # umoci unpack, bwrap, podman with the test's own store
import push_registry as fx  # the registry fixture of the push tests
from checks import check, summary  # tests/integration/checks.py

TEMPER, run = fx.TEMPER, bi.run
LOADERS = {"amd64": "/lib64/ld-linux-x86-64.so.2", "386": "/usr/lib32/ld-linux.so.2"}
E_MACHINE = {"amd64": 62, "386": 3}
VERSION = "stable release version"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def make_roots(work):
    roots = {}
    for arch, loader in LOADERS.items():
        root = os.path.join(work, "root-" + arch)
        os.makedirs(os.path.join(root, "bin"))
        os.makedirs(os.path.join(root, "data"))
        shutil.copy(os.path.realpath(loader), os.path.join(root, "bin", "ld.so"))
        write(os.path.join(root, "data", "hello.txt"), f"hello from {arch}\n")
        roots[arch] = root
    return roots


def recipes(work):
    write(os.path.join(work, "base.yaml"), "name: loader\ncontents:\n  binaries: [/bin/ld.so]\n")
    return write(os.path.join(work, "top.yaml"), f"""\
name: loader
include: [base.yaml]
layering: {{strategy: includes}}
contents:
  trees:
    - path: /data
tests:
  - command: [/bin/ld.so, --version]
    stdout: "{VERSION} 2\\\\.[0-9]+"
""")


def build(recipe, layout, roots, *args):
    flags = [f"--root={arch}={root}" for arch, root in roots.items()]
    return run([TEMPER, "build", recipe, "-o", layout, *flags, *args])


def blob(layout, digest, text=True):
    data = open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb").read()
    return json.loads(data) if text else data


def tags(layout):
    index = json.load(open(os.path.join(layout, "index.json")))
    return {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in index["manifests"]}


def elf_machine(data):
    return int.from_bytes(data[18:20], "little") if data[:4] == b"\x7fELF" else None


def test_build(work, recipe, roots, key):
    layout = os.path.join(work, "idx")
    r = build(recipe, layout, roots, "--key", key + ".key", "--sbom",
              os.path.join(work, "sbom.spdx.json"))
    check(r.returncode == 0, "temper build --root amd64=A --root 386=B: " + r.stderr[-600:])
    digest = r.stdout.strip()
    check(r.stderr.count("tests: 1 passed") == 2 and "under /usr/bin/qemu-i386-static" in r.stderr,
          "the recipe's test runs for each architecture, the 386 one under qemu-i386: " +
          r.stderr[-600:])
    t = tags(layout)
    check(t.get("latest", {}).get("mediaType") == "application/vnd.oci.image.index.v1+json" and
          t["latest"]["digest"] == digest, f"latest names the image index {digest}")
    index = blob(layout, digest)
    platforms = [m["platform"] for m in index["manifests"]]
    check(platforms == [{"architecture": "amd64", "os": "linux"},
                        {"architecture": "386", "os": "linux"}],
          f"the index names the amd64 and the 386 image, in that order: {platforms}")
    for m in index["manifests"]:
        arch = m["platform"]["architecture"]
        check(t.get(f"latest-{arch}", {}).get("digest") == m["digest"],
              f"the {arch} image has its platform tag latest-{arch}")
        manifest = blob(layout, m["digest"])
        config = blob(layout, manifest["config"]["digest"])
        check(config["architecture"] == arch and len(manifest["layers"]) == 2,
              f"the {arch} image: its config says {config['architecture']}, "
              f"{len(manifest['layers'])} layers (base.yaml, top.yaml)")
    # the platform tags are no images of their own: the layout's only image is the index
    r = run([TEMPER, "verify", "--key", key + ".pub", layout])
    check(r.returncode == 0 and r.stdout.strip() == digest and
          "image for linux/386" in r.stderr and "each of its images" in r.stderr,
          "temper verify checks the index and each image: " + r.stderr[-500:])
    again = build(recipe, os.path.join(work, "idx-again"), roots, "--skip-tests")
    check(again.stdout.strip() == digest, f"a rebuild gives the same index digest: "
          f"{again.stdout.strip()} {digest}")
    r = build(recipe, os.path.join(work, "idx-expect"), roots, "--skip-tests", "--expect", digest)
    check(r.returncode == 0, "--expect the index digest: " + r.stderr[-300:])
    r = build(recipe, os.path.join(work, "idx-json"), roots, "--skip-tests", "--format", "json")
    doc = json.loads(r.stdout or "{}")
    check(doc.get("digest") == digest and
          [i["architecture"] for i in doc.get("images", [])] == ["amd64", "386"] and
          all(len(i["layers"]) == 2 for i in doc["images"]),
          "--format json lists each image with its layers: " + r.stdout[-300:])
    return layout, digest, index


def test_sbom(work, layout, index, key):
    """--sbom of an index: a document per image, each attested on its image."""
    docs = {}
    for m in index["manifests"]:
        arch = m["platform"]["architecture"]
        path = os.path.join(work, f"sbom-{arch}.spdx.json")
        text = open(path).read() if os.path.exists(path) else ""
        docs[arch] = text
        check(m["digest"] in text and f"arch={arch}" in text and f"tag=latest-{arch}" in text,
              f"sbom-{arch}.spdx.json is the {arch} image's SPDX document: {m['digest']}")
    check(not os.path.exists(os.path.join(work, "sbom.spdx.json")),
          "no document of the index itself: it holds no files")
    r = run([TEMPER, "verify", "--key", key + ".pub", "--attestation", "spdx", layout])
    check(r.returncode == 0 and "about each of its images" in r.stderr,
          "temper verify --attestation spdx checks each image's own: " + r.stderr[-400:])
    bare = os.path.join(work, "idx-no-386-sbom")
    shutil.copytree(layout, bare)
    path = os.path.join(bare, "index.json")
    doc = json.load(open(path))
    att = "sha256-" + index["manifests"][1]["digest"].split(":")[1] + ".att"
    doc["manifests"] = [m for m in doc["manifests"]
                        if m["annotations"]["org.opencontainers.image.ref.name"] != att]
    json.dump(doc, open(path, "w"))
    r = run([TEMPER, "verify", "--key", key + ".pub", "--attestation", "spdx", bare])
    check(r.returncode != 0 and "linux/386" in r.stderr,
          "the 386 image without its attestation fails, naming it: " + r.stderr[-300:])
    for arch, args in (("386", ["--arch", "386"]), ("amd64", [])):
        r = run([TEMPER, "sbom", "--key", key + ".pub", *args, layout])
        check(r.returncode == 0 and r.stdout == docs[arch],
              f"temper sbom {' '.join(args) or '(this machine: amd64)'} prints the {arch} "
              f"document, byte for byte: " + r.stderr[-300:])
    return docs


def test_tamper(work, layout, index, key):
    arch386 = index["manifests"][1]["digest"]
    top = blob(layout, arch386)["layers"][1]["digest"]
    broken = os.path.join(work, "idx-broken")
    shutil.copytree(layout, broken)
    path = os.path.join(broken, "blobs", "sha256", top.split(":")[1])
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 1
    open(path, "wb").write(bytes(data))
    r = run([TEMPER, "verify", "--key", key + ".pub", broken])
    check(r.returncode != 0 and "linux/386" in r.stderr,
          "a changed layer of the 386 image fails verify, naming it: " + r.stderr[-300:])
    unsigned = os.path.join(work, "idx-unsigned")
    shutil.copytree(layout, unsigned)
    path = os.path.join(unsigned, "index.json")
    doc = json.load(open(path))
    sig = "sha256-" + arch386.split(":")[1] + ".sig"
    doc["manifests"] = [m for m in doc["manifests"]
                        if m["annotations"]["org.opencontainers.image.ref.name"] != sig]
    json.dump(doc, open(path, "w"))
    r = run([TEMPER, "verify", "--key", key + ".pub", unsigned])
    check(r.returncode != 0 and "linux/386" in r.stderr and "no signature" in r.stderr,
          "the 386 image without its signature fails verify: " + r.stderr[-300:])
    # temper gc keeps the signatures of an index's images, which only the index names once
    # their platform tags are gone
    untagged = os.path.join(work, "idx-untagged")
    shutil.copytree(layout, untagged)
    path = os.path.join(untagged, "index.json")
    doc = json.load(open(path))
    doc["manifests"] = [m for m in doc["manifests"] if not m["annotations"][
        "org.opencontainers.image.ref.name"].startswith("latest-")]
    json.dump(doc, open(path, "w"))
    r = run([TEMPER, "gc", untagged])
    r2 = run([TEMPER, "verify", "--key", key + ".pub", untagged])
    r3 = run([TEMPER, "verify", "--key", key + ".pub", "--attestation", "spdx", untagged])
    check(r.returncode == 0 and "0 tags" in r.stderr and r2.returncode == 0 and
          r3.returncode == 0, "temper gc keeps the index's images, their signatures and their "
          "attestations: " + (r.stderr + r2.stderr + r3.stderr)[-400:])


def test_readers(work, layout, digest, index):
    r = run(["skopeo", "inspect", "--raw", f"oci:{layout}:latest"])
    check(r.returncode == 0 and json.loads(r.stdout or "{}") == index,
          "skopeo inspect --raw shows the index: " + r.stderr[-300:])
    copy = os.path.join(work, "skopeo-386")
    r = run(["skopeo", "copy", "--override-arch", "386", f"oci:{layout}:latest",
             f"oci:{copy}:x"])
    copied = tags(copy).get("x", {}).get("digest") if r.returncode == 0 else None
    check(copied == index["manifests"][1]["digest"],
          "skopeo copy --override-arch 386 takes the 386 image: " + r.stderr[-300:])
    r = run(["oci-image-tool", "validate", "--type", "imageIndex",
             os.path.join(layout, "blobs", "sha256", digest.split(":")[1])])
    ok = r.returncode == 0
    for m in index["manifests"]:
        r2 = run(["oci-image-tool", "validate", "--type", "manifest",
                  os.path.join(layout, "blobs", "sha256", m["digest"].split(":")[1])])
        ok = ok and r2.returncode == 0
    check(ok, "oci-image-tool validates the index and each manifest: " + r.stdout[-300:])
    for arch in ("amd64", "386"):
        rootfs = bi.unpack(layout, f"latest-{arch}", os.path.join(work, f"bundle-{arch}"))
        loader = open(os.path.join(rootfs, "bin", "ld.so"), "rb").read()
        hello = open(os.path.join(rootfs, "data", "hello.txt")).read()
        check(elf_machine(loader) == E_MACHINE[arch] and hello == f"hello from {arch}\n",
              f"umoci unpacks latest-{arch}: its loader is for {arch}, its data its root's")
    r = bi.bwrap(os.path.join(work, "bundle-amd64", "rootfs"), "/bin/ld.so", "--version")
    check(r.returncode == 0 and VERSION in r.stdout, "the amd64 loader runs under bubblewrap: " +
          (r.stdout + r.stderr)[-300:])
    for args, arch in (([], "amd64"), (["--arch", "386"], "386")):
        r = run([TEMPER, "run", *args, layout, "--", "/bin/ld.so", "--version"])
        check(r.returncode == 0 and VERSION in r.stdout and f"linux/{arch}" in r.stderr,
              f"temper run {' '.join(args)} runs the {arch} loader: " +
              (r.stdout + r.stderr)[-300:])
        r = run([TEMPER, "inspect", "--format", "json", *args, layout])
        arch_seen = json.loads(r.stdout or "{}").get("config", {}).get("architecture")
        check(r.returncode == 0 and arch_seen == arch,
              f"temper inspect {' '.join(args)} shows the {arch} image: {arch_seen} " +
              r.stderr[-200:])
    r = run([TEMPER, "run", "--arch", "s390x", layout, "--", "/bin/ld.so"])
    check(r.returncode != 0 and "only for linux/amd64, linux/386" in r.stderr,
          "temper run --arch of a platform the index lacks names those it has: " + r.stderr[-300:])


def test_archive(work, recipe, roots):
    archive = os.path.join(work, "loader.tar")
    r = build(recipe, os.path.join(work, "idx-archive"), roots, "--skip-tests",
              "--archive", archive)
    check(r.returncode == 0, "--archive of an index: " + r.stderr[-300:])
    r = run(["skopeo", "inspect", "--override-arch", "386", f"oci-archive:{archive}"])
    check(r.returncode == 0 and json.loads(r.stdout or "{}").get("Architecture") == "386",
          "the archive holds the index: skopeo takes its 386 image: " + r.stderr[-300:])
    podman = bi.podman_in(work)
    r = run(podman + ["load", "-i", archive])
    check(r.returncode == 0 and "localhost/loader:latest" in r.stdout,
          "podman loads the archive of the index: " + (r.stdout + r.stderr)[-300:])
    r = run(podman + ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                      "--ulimit", "nproc=4096:4096", "localhost/loader:latest", "/bin/ld.so",
                      "--version"], timeout=300)
    check(r.returncode == 0 and VERSION in r.stdout,
          "podman runs the amd64 image of it: " + (r.stdout + r.stderr)[-300:])


def test_diff(work, recipe, roots, layout):
    other = os.path.join(work, "idx-epoch")
    build(recipe, other, roots, "--skip-tests", "--epoch", "1000000000")
    r = run([TEMPER, "diff", layout, other])
    check(r.returncode == 1 and "linux/amd64:" in r.stdout and "linux/386:" in r.stdout and
          "image indexes differ" in r.stdout and "(2 platforms)" in r.stdout,
          "temper diff compares two indexes platform by platform: " + r.stdout[-400:])
    r = run([TEMPER, "diff", "--arch", "386", layout, other])
    check(r.returncode == 1 and "linux/amd64" not in r.stdout and "created" in r.stdout,
          "temper diff --arch 386 compares the 386 images: " + (r.stdout + r.stderr)[-300:])
    r = run([TEMPER, "diff", layout, os.path.join(work, "idx-again")])
    check(r.returncode == 0 and "image indexes are identical" in r.stdout,
          "a rebuild's index is identical: " + r.stdout[-300:])
    # the 386 image built alone is the index's 386 image: diff takes the image's architecture
    alone = os.path.join(work, "alone-386")
    r = build(recipe, alone, {"386": roots["386"]}, "--skip-tests")
    r = run([TEMPER, "diff", alone, layout])
    check(r.returncode == 0 and "images are identical" in r.stdout and "linux/386" in r.stderr,
          "an image against an index is compared with the index's image of its architecture: " +
          (r.stdout + r.stderr)[-300:])


def test_push(work, layout, digest, key, docs):
    with fx.Registry(work, "registry") as reg:
        target = f"{reg.host}/team/loader:1"
        r = run([TEMPER, "push", "--key", key + ".key", f"{layout}:latest", target])
        check(r.returncode == 0 and r.stdout.strip() == digest,
              "temper push sends the index: " + r.stderr[-400:])
        r = run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{target}"])
        pushed = json.loads(r.stdout or "{}")
        check(len(pushed.get("manifests", [])) == 2, "the registry serves the index: " +
              r.stderr[-300:])
        for arch in ("amd64", "386"):
            r = run(["skopeo", "inspect", "--tls-verify=false", "--override-arch", arch,
                     f"docker://{target}"])
            check(r.returncode == 0 and json.loads(r.stdout or "{}").get("Architecture") == arch,
                  f"skopeo reads the {arch} image from the registry: " + r.stderr[-300:])
        r = fx.temper("verify", "--key", key + ".pub", target)
        check(r.returncode == 0 and "each of its images" in r.stderr,
              "a remote temper verify checks the index and each image, signed for the "
              "repository: " + r.stderr[-400:])
        r = fx.temper("sbom", "--key", key + ".pub", "--arch", "386", target)
        check(r.returncode == 0 and r.stdout == docs["386"],
              "the 386 image's SBOM attestation went with it: temper sbom --arch 386 reads it "
              "from the registry: " + r.stderr[-300:])
        r = run([TEMPER, "push", "--key", key + ".key", f"{layout}:latest", target])
        check(r.returncode == 0 and fx.uploaded(r.stderr) == 0,
              "a second push uploads nothing: " + r.stderr[-300:])


def test_refusals(work, recipe, roots):
    r = build(recipe, os.path.join(work, "bad"), {"amd64": roots["386"]})
    check(r.returncode != 0 and "given for amd64, but its ELF files are for 386" in r.stderr,
          "a root given for the wrong architecture is refused: " + r.stderr[-300:])
    r = build(recipe, os.path.join(work, "bad"), roots, "--arch", "amd64")
    check(r.returncode == 2 and "--arch is for packages" in r.stderr,
          "--arch with --root ARCH=DIR is refused: " + r.stderr[-300:])
    # A recipe that names its architecture: the amd64 root given for 386 is refused, naming both.
    pinned = write(os.path.join(work, "pinned.yaml"),
                   "name: loader\narchitecture: amd64\ncontents:\n  binaries: [/bin/ld.so]\n")
    r = build(pinned, os.path.join(work, "bad"), {"386": roots["amd64"]})
    check(r.returncode != 0 and "the recipe's architecture is 'amd64', and the root is given for "
          "'386'" in r.stderr, "a root given for another architecture than the recipe's is "
          "refused: " + r.stderr[-300:])
    check(not os.path.exists(os.path.join(work, "bad")), "nothing was written")
    # A tag of the user's that an index's platform tag would take is kept, and the build refused.
    mine = os.path.join(work, "mine")
    r = build(recipe, mine, {"386": roots["386"]}, "--tag", "v2-386", "--skip-tests")
    check(r.returncode == 0, "a single 386 image tagged v2-386: " + r.stderr[-300:])
    before = open(os.path.join(mine, "index.json")).read()
    blobs = sorted(os.listdir(os.path.join(mine, "blobs", "sha256")))
    r = build(recipe, mine, roots, "--tag", "v2", "--skip-tests")
    check(r.returncode != 0 and "would be tagged 'v2-386', which the layout already holds"
          in r.stderr, "an index whose platform tag is a tag of the user's is refused: " +
          r.stderr[-300:])
    check(open(os.path.join(mine, "index.json")).read() == before and
          sorted(os.listdir(os.path.join(mine, "blobs", "sha256"))) == blobs,
          "the layout is as it was: its tags, and no blob written")


def main():
    for tool in ("umoci", "bwrap", "skopeo", "oci-image-tool", "docker-registry", "podman",
                 "qemu-i386-static"):
        if shutil.which(tool) is None:
            sys.exit(f"multiarch.py: {tool} is not installed (.ci/run installs it)")
    work = tempfile.mkdtemp(prefix="temper-multiarch-")
    try:
        fx.EMPTY_DOCKER_CONFIG = os.path.join(work, "no-docker-config")
        os.makedirs(fx.EMPTY_DOCKER_CONFIG)
        key = os.path.join(work, "k")
        run([TEMPER, "keygen", "-o", key])
        roots, recipe = make_roots(work), recipes(work)
        layout, digest, index = test_build(work, recipe, roots, key)
        docs = test_sbom(work, layout, index, key)
        test_tamper(work, layout, index, key)
        test_readers(work, layout, digest, index)
        test_archive(work, recipe, roots)
        test_diff(work, recipe, roots, layout)
        test_push(work, layout, digest, key, docs)
        test_refusals(work, recipe, roots)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
