#!/usr/bin/env python3
"""Images layered by their includes (layering: {strategy: includes}) over one base.

- Two recipes over recipes/base.yaml (python.yaml's python, and openssl) each get a layer for
  static.yaml, one for base.yaml and one of their own; the two bottom layers are the same
  blobs in both, and the bottom one is the very layer of static.yaml built alone.
- Layers compose to the image: umoci unpacks each layered image to exactly the tree (paths,
  types, modes, owners, link targets, bytes) of the same recipe built as one layer, so no
  layer needed a whiteout; each runs its program under bubblewrap.
- A rebuild gives the same digest, and --expect of it passes; temper verify checks every
  layer; skopeo and oci-image-tool read the layout.
- temper inspect says which layer holds each file; temper diff of the two images names only
  their top layers.
- The SBOM lists the same files and digests as the one-layer image's; --archive carries every
  layer; temper run starts python from the layers.
- A build into a layout holding an image over the same base takes the base blobs (said on
  standard error and in --format json) and gives the cold build's digest; a forged config that
  gives a blob another layer's diff_id is not believed.
- A recipe that takes out what its include plans (ld-so-cache: false over base.yaml) is
  refused, naming the file and both recipes, and writes nothing.
- Pushed to Debian's docker-registry on loopback, the second image uploads its own layer and
  config only: the base layers are already there.

usage: layers.py TEMPER RECIPES_DIR   (as root: umoci and bwrap need it)
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

import build_images as bi  # umoci unpack, bwrap and tree snapshots of the build tests
import push_registry as fx  # the registry fixture of the push tests
from checks import check, summary  # tests/integration/checks.py

TEMPER, RECIPES, PROBE, run = fx.TEMPER, fx.RECIPES, bi.PROBE, bi.run


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def build(recipe, layout, *args):
    r = run([TEMPER, "build", recipe, "-o", layout, *args])
    check(r.returncode == 0, f"temper build {os.path.basename(recipe)}" +
          ("" if r.returncode == 0 else ": " + r.stderr.strip()[-800:]))
    return r.stdout.strip(), r.stderr


def layers_of(layout):
    index = json.load(open(os.path.join(layout, "index.json")))
    [desc] = [m for m in index["manifests"]
              if m["annotations"]["org.opencontainers.image.ref.name"] == "latest"]
    blob = lambda d: open(os.path.join(layout, "blobs", "sha256", d.split(":")[1]), "rb").read()
    manifest = json.loads(blob(desc["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    return [l["digest"] for l in manifest["layers"]], config


def recipes(work):
    py = write(os.path.join(work, "py.yaml"),
               f"name: py\ninclude: [{RECIPES}/python.yaml]\nlayering: {{strategy: includes}}\n")
    tools = write(os.path.join(work, "tools.yaml"),
                  f"name: tools\ninclude: [{RECIPES}/base.yaml]\n"
                  "layering: {strategy: includes}\n"
                  "contents: {binaries: [/usr/bin/openssl]}\n"
                  "tests:\n  - command: [/usr/bin/openssl, version]\n"
                  "    stdout: '^OpenSSL 3'\n")
    flat = {name: write(os.path.join(work, name + "-flat.yaml"),
                        open(path).read().replace("strategy: includes", "strategy: single"))
            for name, path in (("py", py), ("tools", tools))}
    return py, tools, flat


def test_shared_base(work, py, tools):
    lay = {n: os.path.join(work, n) for n in ("py", "tools", "static")}
    digest, err = build(py, lay["py"])
    listed = [l for l in err.splitlines() if l.startswith("  layer ") and ", from " in l]
    check(len(listed) == 3 and listed[2].endswith("python.yaml"),
          "the build lists its layers and where each comes from: " + err.strip()[-400:])
    build(tools, lay["tools"])
    build(os.path.join(RECIPES, "static.yaml"), lay["static"])
    (py_layers, py_config), (tools_layers, _) = layers_of(lay["py"]), layers_of(lay["tools"])
    static_layers, _ = layers_of(lay["static"])
    check(len(py_layers) == 3 and len(tools_layers) == 3,
          f"three layers each (static, base, own): {len(py_layers)}, {len(tools_layers)}")
    check(py_layers[:2] == tools_layers[:2] and py_layers[2] != tools_layers[2],
          "the static and base layers are the same blobs in both images, the top ones differ")
    check(py_layers[0] == static_layers[0],
          "the bottom layer is the layer of static.yaml built alone")
    comments = [h.get("comment") for h in py_config["history"]]
    check(comments == [f"layer of {f} (gzip level 5, libdeflate 1.14)"
                       for f in ("static.yaml", "base.yaml", "python.yaml")],
          f"each layer's history names its recipe and compressor: {comments}")
    again, _ = build(py, os.path.join(work, "py-again"))
    check(again == digest, f"a rebuild gives the same digest: {again} {digest}")
    r = run([TEMPER, "build", py, "-o", os.path.join(work, "py-expect"), "--expect", digest,
             "--skip-tests"])
    check(r.returncode == 0, "--expect the first build's digest: " + r.stderr.strip()[-300:])
    signed, key = os.path.join(work, "py-signed"), os.path.join(work, "k")
    shutil.copytree(lay["py"], signed)
    r = run([TEMPER, "keygen", "-o", key])
    r = r if r.returncode else run([TEMPER, "sign", "--key", key + ".key", signed])
    r = r if r.returncode else run([TEMPER, "verify", "--key", key + ".pub", signed])
    check(r.returncode == 0, "temper verify checks the signature and the three layers: " +
          r.stderr.strip()[-300:])
    r = run(["skopeo", "inspect", f"oci:{lay['py']}:latest"])
    check(r.returncode == 0 and len(json.loads(r.stdout or "{}").get("Layers", [])) == 3,
          "skopeo inspect reads three layers: " + r.stderr.strip()[-300:])
    r = run(["oci-image-tool", "validate", "--type", "image", "--ref", "name=latest", lay["py"]])
    check(r.returncode == 0, "oci-image-tool validates the layered layout: " +
          (r.stdout + r.stderr).strip()[-300:])
    return lay


def test_composes(work, lay, flat):
    for name, cmd, want in (("py", ["/usr/bin/python3", "-I", "-c", PROBE], "42"),
                            ("tools", ["/usr/bin/openssl", "version"], "OpenSSL 3")):
        one = os.path.join(work, name + "-one")
        build(flat[name], one, "--skip-tests")
        layered = bi.snapshot(bi.unpack(lay[name], "latest", os.path.join(work, f"b-{name}")))
        single = bi.snapshot(bi.unpack(one, "latest", os.path.join(work, f"b-{name}-one")))
        differ = sorted(p for p in layered.keys() | single.keys()
                        if layered.get(p) != single.get(p))
        check(len(layered) > 100 and not differ,
              f"{name}: the layers unpack to the one-layer image's tree ({len(layered)} "
              f"entries; differ: {differ[:5]})")
        r = bi.bwrap(os.path.join(work, f"b-{name}", "rootfs"), *cmd)
        check(r.returncode == 0 and r.stdout.strip().startswith(want),
              f"{name} runs from its layers under bwrap: " + (r.stdout + r.stderr).strip()[-300:])


def test_sbom_archive_run(work, py, flat):
    """The SBOM lists every file with the digests of the bytes the image keeps (whichever layer
    holds them), --archive carries every layer, temper run starts from the layers."""
    files = {}
    for name, recipe in (("layered", py), ("one", flat["py"])):
        sbom = os.path.join(work, f"{name}.spdx.json")
        build(recipe, os.path.join(work, f"sbom-{name}"), "--skip-tests", "--sbom", sbom,
              "--archive", os.path.join(work, f"{name}.tar"))
        files[name] = {f["fileName"]: f["checksums"] for f in json.load(open(sbom))["files"]}
    check(len(files["layered"]) > 1000 and files["layered"] == files["one"],
          f"the SBOM's files and digests are the one-layer image's ({len(files['layered'])})")
    r = run(["skopeo", "inspect", f"oci-archive:{os.path.join(work, 'layered.tar')}"])
    check(r.returncode == 0 and len(json.loads(r.stdout or "{}").get("Layers", [])) == 3,
          "skopeo reads the three layers from --archive: " + r.stderr.strip()[-300:])
    r = run([TEMPER, "run", os.path.join(work, "sbom-layered"), "--", "/usr/bin/python3", "-c",
             PROBE])
    check(r.returncode == 0 and r.stdout.strip() == "42",
          "temper run starts python from the layers: " + (r.stdout + r.stderr).strip()[-300:])


def test_inspect_diff(lay):
    r = run([TEMPER, "inspect", lay["py"], "--format", "json"])
    check(r.returncode == 0, "temper inspect --format json: " + r.stderr.strip()[-300:])
    doc = json.loads(r.stdout or "{}")
    where = {}
    for n, layer in enumerate(doc.get("layers", []), 1):
        for f in layer["files"]:
            where.setdefault(f["path"], []).append(n)
    check(where.get("/usr/share/zoneinfo/UTC") == [1] and
          where.get("/usr/lib/x86_64-linux-gnu/libc.so.6") == [2] and
          where.get("/usr/bin/python3.11") == [3],
          "inspect puts zoneinfo in layer 1, libc in 2, python in 3: " +
          str([where.get(p) for p in ("/usr/share/zoneinfo/UTC",
                                      "/usr/lib/x86_64-linux-gnu/libc.so.6",
                                      "/usr/bin/python3.11")]))
    check(where.get("/etc/ld.so.cache") == [2, 3],
          f"the ld.so.cache of more libraries replaces base's in layer 3: "
          f"{where.get('/etc/ld.so.cache')}")
    r = run([TEMPER, "diff", lay["py"], lay["tools"]])
    lines = r.stdout.splitlines()
    check(r.returncode == 1 and any(l.startswith("layer 3: ") for l in lines) and
          not any(l.startswith(("layer 1: ", "layer 2: ")) for l in lines),
          "temper diff of the two images names their top layers only: " + r.stdout[-400:])


def put_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "wb") as f:
        f.write(data)
    return {"digest": digest, "size": len(data)}


def test_reuse(work, lay, tools):
    """A second image built into the first one's layout takes the base blobs as they are, and
    the image is the one a cold build makes; a config that lies about a blob is not believed."""
    shared = os.path.join(work, "shared")
    shutil.copytree(lay["py"], shared)
    digest, err = build(tools, shared, "--tag", "tools")
    taken = [l for l in err.splitlines() if "in the layout already: not compressed again" in l]
    check(len(taken) == 2 and "static.yaml" in taken[0] and "base.yaml" in taken[1],
          "the second build into the layout takes the static and base blobs: " + err[-600:])
    index = json.load(open(os.path.join(shared, "index.json")))
    [entry] = [m for m in index["manifests"]
               if m["annotations"]["org.opencontainers.image.ref.name"] == "tools"]
    r = run([TEMPER, "build", tools, "-o", os.path.join(work, "tools-cold"), "--skip-tests"])
    check(entry["digest"] == digest == r.stdout.strip(),
          f"and the image is the cold build's: {digest} {r.stdout.strip()}")
    again = os.path.join(work, "shared-json")
    shutil.copytree(lay["py"], again)
    r = run([TEMPER, "build", tools, "-o", again, "--tag", "tools", "--skip-tests",
             "--format", "json"])
    layers = json.loads(r.stdout or "{}").get("layers", [])
    check([(l["reused"], os.path.basename(l["from"])) for l in layers] ==
          [(True, "static.yaml"), (True, "base.yaml"), (False, "tools.yaml")] and
          [l["digest"] for l in layers] == layers_of(os.path.join(work, "tools-cold"))[0],
          f"--format json names each layer, where it came from and what was taken: {layers}")

    # A layout holding one image of one layer, built by hand from the python image: its config
    # gives the static layer's diff_id and comment to the blob of layer `blob` (0: the static
    # layer's own, so that it is taken; 1: base.yaml's, a lie, so that it is not).
    for blob, want in ((0, True), (1, False)):
        forged = os.path.join(work, f"forged-{blob}")
        shutil.copytree(lay["py"], forged)
        _, config = layers_of(forged)
        index = json.load(open(os.path.join(forged, "index.json")))
        manifest = json.loads(open(os.path.join(forged, "blobs", "sha256",
                                                index["manifests"][0]["digest"][7:]), "rb").read())
        manifest["layers"] = manifest["layers"][blob:blob + 1]
        config["rootfs"]["diff_ids"] = config["rootfs"]["diff_ids"][0:1]
        config["history"] = config["history"][0:1]
        manifest["config"] = dict(put_blob(forged, json.dumps(config).encode()),
                                  mediaType=manifest["config"]["mediaType"])
        index["manifests"] = [dict(put_blob(forged, json.dumps(manifest).encode()),
                                   mediaType=index["manifests"][0]["mediaType"],
                                   annotations={"org.opencontainers.image.ref.name": "forged"})]
        with open(os.path.join(forged, "index.json"), "w") as f:
            json.dump(index, f)
        digest, err = build(tools, forged, "--tag", "tools")
        taken = any("static.yaml (in the layout already" in l for l in err.splitlines())
        check(digest == entry["digest"] and taken == want,
              ("a one-layer image's static blob is taken" if want else
               "a blob whose config lies about its diff_id is not taken") +
              f": taken {taken}, {digest}")


def test_removal(work):
    bad = write(os.path.join(work, "bad.yaml"),
                f"name: bad\ninclude: [{RECIPES}/base.yaml]\nlayering: {{strategy: includes}}\n"
                "ld-so-cache: false\n")
    out = os.path.join(work, "bad")
    r = run([TEMPER, "build", bad, "-o", out])
    check(r.returncode == 1 and "'/etc/ld.so.cache'" in r.stderr and "base.yaml" in r.stderr
          and "bad.yaml" in r.stderr and not os.path.exists(out),
          "a part that takes out what its include plans is refused, naming both: " +
          r.stderr.strip()[-400:])


def pushed(line_of):
    """(uploaded, already present) of a push's summary line."""
    words = line_of.split(", ")
    uploaded = int(words[1].split(" ")[0])
    present = int(words[-1].split(" ")[0])
    return uploaded, present


def test_push(work, lay):
    with fx.Registry(work, "registry") as reg:
        lines = {}
        for name in ("py", "tools"):
            r = fx.push(f"{lay[name]}:latest", f"{reg.host}/team/agents:{name}", sign=None)
            check(r.returncode == 0, f"push {name}: " + r.stderr.strip()[-400:])
            lines[name] = next((l for l in r.stderr.splitlines() if " uploaded " in l), "")
        up, present = pushed(lines["tools"])
        check((up, present) == (2, 2),
              "the second image uploads its own layer and config, the two base layers are "
              "already present: " + lines["tools"])
        r = run(["skopeo", "inspect", "--tls-verify=false",
                 f"docker://{reg.host}/team/agents:tools"])
        check(r.returncode == 0 and len(json.loads(r.stdout or "{}").get("Layers", [])) == 3,
              "skopeo reads the pushed image's three layers: " + r.stderr.strip()[-300:])


def main():
    for tool in ("umoci", "bwrap", "skopeo", "oci-image-tool", "docker-registry"):
        if shutil.which(tool) is None:
            sys.exit(f"layers.py: {tool} is not installed (.ci/run installs it)")
    work = tempfile.mkdtemp(prefix="temper-layers-")
    try:
        fx.EMPTY_DOCKER_CONFIG = os.path.join(work, "no-docker-config")
        os.makedirs(fx.EMPTY_DOCKER_CONFIG)
        py, tools, flat = recipes(work)
        lay = test_shared_base(work, py, tools)
        test_composes(work, lay, flat)
        test_sbom_archive_run(work, py, flat)
        test_inspect_diff(lay)
        test_reuse(work, lay, tools)
        test_removal(work)
        test_push(work, lay)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
