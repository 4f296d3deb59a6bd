#!/usr/bin/env python3
"""temper gc: what rebuilds leave in a layout goes, what a tag reaches stays.

- Three builds of one recipe (two under `latest`, one under `keep`), the first and the third
  signed: blobs pile up, and the first image's signature outlives its tag.
- `gc --dry-run` lists exactly the first image's manifest, config and layer and its signature
  tag (and that signature's blobs), and changes no byte of the layout.
- `gc` removes them: every blob a remaining tag reaches is there, nothing else is; temper verify
  passes for the signed `keep`; skopeo and umoci read both tags, oci-image-tool validates
  `keep`. A second gc removes nothing.
- A layout missing a manifest blob is damaged: gc refuses and removes nothing.

usage: layout_gc.py TEMPER RECIPES_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

from checks import check, summary, tree_files  # tests/integration/checks.py

TEMPER, RECIPES = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def temper(*args):
    return run([TEMPER, *args])


def blob(layout, digest):
    return json.loads(open(os.path.join(layout, "blobs/sha256", digest.split(":")[1])).read())


def reached(layout, digest):
    """The blobs a manifest (or an image index) names, itself included."""
    doc, out = blob(layout, digest), {digest}
    for m in doc.get("manifests", []):
        out |= reached(layout, m["digest"])
    if "config" in doc:
        out |= {doc["config"]["digest"]} | {layer["digest"] for layer in doc["layers"]}
    return out


def index(layout):
    return json.load(open(os.path.join(layout, "index.json")))["manifests"]


def tag_of(entry):
    return entry.get("annotations", {}).get("org.opencontainers.image.ref.name")


def blobs(layout):
    return {"sha256:" + n for n in os.listdir(os.path.join(layout, "blobs/sha256"))}


def main():
    work = tempfile.mkdtemp(prefix="temper-gc-")
    layout, recipe = os.path.join(work, "img"), os.path.join(RECIPES, "static.yaml")
    r = temper("keygen", "-o", os.path.join(work, "k"))
    check(r.returncode == 0, f"keygen: {r.stderr.strip()}")
    digests = []
    for epoch, tag, sign in ((1000000000, "latest", True), (1100000000, "latest", False),
                             (1200000000, "keep", True)):
        r = temper("build", recipe, "-o", layout, "--epoch", str(epoch), "--tag", tag,
                   "--skip-tests", "--quiet", *(["--key", os.path.join(work, "k.key")]
                                                if sign else []))
        check(r.returncode == 0, f"build at epoch {epoch} as {tag}: {r.stderr.strip()[-200:]}")
        digests.append(r.stdout.strip().splitlines()[-1])
    first = digests[0]
    first_sig = "sha256-" + first.split(":")[1] + ".sig"
    tags = [tag_of(e) for e in index(layout)]
    check(first_sig in tags and len(blobs(layout)) > 9,
          f"the first image's signature outlives its tag: {tags}; {len(blobs(layout))} blobs")
    kept_entries = [e for e in index(layout) if tag_of(e) != first_sig]
    live = set().union(*(reached(layout, e["digest"]) for e in kept_entries))
    dead = blobs(layout) - live
    check(reached(layout, first) <= dead, "the first image's blobs are reached by no tag")

    before = tree_files(layout)
    r = temper("gc", "--dry-run", layout)
    listed = {line.split()[-1] for line in r.stderr.splitlines()
              if line.startswith("  would remove blob ")}
    check(r.returncode == 0 and listed == dead and f"would remove tag {first_sig}" in r.stderr,
          f"--dry-run lists the {len(dead)} dead blobs and the orphaned signature: "
          f"{r.stderr.strip()[-300:]}")
    check(tree_files(layout) == before, "--dry-run changes no byte")

    r = temper("gc", layout)
    check(r.returncode == 0 and f"removed {len(dead)} blobs" in r.stderr and
          f"removed tag {first_sig}" in r.stderr, f"gc removes them: {r.stderr.strip()[-300:]}")
    check(blobs(layout) == live, f"what stays is exactly what the tags reach ({len(live)} blobs)")
    check(sorted(tag_of(e) for e in index(layout)) ==
          sorted(tag_of(e) for e in kept_entries), "index.json keeps every other tag, in order")
    r = temper("verify", "--key", os.path.join(work, "k.pub"), f"{layout}:keep")
    check(r.returncode == 0, f"temper verify passes for the signed tag: {r.stderr.strip()[-200:]}")
    for tag in ("latest", "keep"):
        r = run(["skopeo", "inspect", f"oci:{layout}:{tag}"])
        check(r.returncode == 0, f"skopeo reads {tag}: {r.stderr.strip()[-200:]}")
        r = run(["umoci", "unpack", "--rootless", "--image", f"{layout}:{tag}",
                 os.path.join(work, f"bundle-{tag}")])
        check(r.returncode == 0, f"umoci unpacks {tag}: {r.stderr.strip()[-200:]}")
    # oci-image-tool takes `name=latest` for ambiguous beside a signature entry (before gc too)
    r = run(["oci-image-tool", "validate", "--type", "image", "--ref", "name=keep", layout])
    check(r.returncode == 0, f"oci-image-tool validates keep: {(r.stdout + r.stderr)[-200:]}")
    r = temper("gc", layout)
    check(r.returncode == 0 and "removed 0 blobs (0 bytes) and 0 tags" in r.stderr,
          f"a second gc removes nothing: {r.stderr.strip()}")

    keep = [e for e in index(layout) if tag_of(e) == "keep"][0]["digest"]
    os.unlink(os.path.join(layout, "blobs/sha256", keep.split(":")[1]))
    before = tree_files(layout)
    r = temper("gc", layout)
    check(r.returncode == 1 and "is damaged, so nothing was removed" in r.stderr and
          tree_files(layout) == before, f"a damaged layout is left as it is: {r.stderr.strip()}")
    subprocess.run(["rm", "-rf", work])
    return summary()


if __name__ == "__main__":
    sys.exit(main())
