#!/usr/bin/env python3
"""temper keygen, sign and verify, checked against the openssl command line.

- Interoperability both ways: temper's signature over its payload verifies
  with `openssl dgst -sha256 -verify` (Ed25519: `openssl pkeyutl -verify
  -rawin`), and payloads signed by openssl, stored in the layout the way
  cosign stores them (written here, independently of temper), pass
  `temper verify`.
- A tamper matrix: each case is refused, exit 1, with its own message.
- Accepting cases: two signatures of which one is by the key; Ed25519;
  `temper build --key`.
- Key hygiene: modes, key types, corrupt PEM, passwords; no key material
  in any message; keygen never overwrites.

usage: sign_verify.py TEMPER RECIPES_DIR
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

from checks import check, summary  # tests/integration/checks.py

TEMPER, RECIPES = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SIG_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"


def run(args, env=None, **kw):
    e = dict(os.environ)
    e.pop("TEMPER_KEY_PASSWORD", None)
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, env=e, **kw)


def temper(*args, env=None):
    return run([TEMPER, *args], env=env)


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], capture_output=True, input=data)


# --- the layout, read and written here without temper --------------------------------------

def blob_path(layout, digest):
    return os.path.join(layout, "blobs", "sha256", digest.split(":")[1])


def put_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob_path(layout, digest), "wb") as f:
        f.write(data)
    return digest


def index(layout):
    return json.load(open(os.path.join(layout, "index.json")))


def write_index(layout, idx):
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(idx, f, separators=(",", ":"), sort_keys=True)


def tag_entry(layout, tag):
    for m in index(layout)["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return m
    return None


def point_tag(layout, tag, digest, size):
    idx = index(layout)
    idx["manifests"] = [m for m in idx["manifests"]
                        if m.get("annotations", {}).get("org.opencontainers.image.ref.name")
                        != tag]
    idx["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                             "digest": digest, "size": size,
                             "annotations": {"org.opencontainers.image.ref.name": tag}})
    write_index(layout, idx)


def image_digest(layout, tag="latest"):
    return tag_entry(layout, tag)["digest"]


def signatures(layout, digest):
    """[(payload bytes, base64 signature)] as the layout stores them."""
    entry = tag_entry(layout, "sha256-%s.sig" % digest.split(":")[1])
    if entry is None:
        return []
    manifest = json.load(open(blob_path(layout, entry["digest"])))
    return [(open(blob_path(layout, l["digest"]), "rb").read(), l["annotations"][SIG_ANNOTATION])
            for l in manifest["layers"]]


def signatures_layers(layout, digest):
    entry = tag_entry(layout, "sha256-%s.sig" % digest.split(":")[1])
    return json.load(open(blob_path(layout, entry["digest"])))["layers"]


def add_signature(layout, digest, payload, b64):
    """Stores a signature the way cosign stores it, appended to the existing ones."""
    tag = "sha256-%s.sig" % digest.split(":")[1]
    entry = tag_entry(layout, tag)
    layers = json.load(open(blob_path(layout, entry["digest"])))["layers"] if entry else []
    pd = put_blob(layout, payload)
    layers.append({"mediaType": SIG_TYPE, "digest": pd, "size": len(payload),
                   "annotations": {SIG_ANNOTATION: b64}})
    config = json.dumps({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                         "history": [], "os": "",
                         "rootfs": {"type": "layers",
                                    "diff_ids": [l["digest"] for l in layers]}}).encode()
    cd = put_blob(layout, config)
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": cd, "size": len(config)},
                           "layers": layers}).encode()
    point_tag(layout, tag, put_blob(layout, manifest), len(manifest))


def payload(digest, identity="static", extra=None, drop=None, rename=None):
    p = {"critical": {"identity": {"docker-reference": identity},
                      "image": {"docker-manifest-digest": digest},
                      "type": "cosign container image signature"},
         "optional": None}
    for k, v in (extra or {}).items():
        p["critical"][k] = v
    for k in drop or []:
        del p[k]
    for old, new in (rename or {}).items():
        p["critical"][new] = p["critical"].pop(old)
    return json.dumps(p, separators=(",", ":")).encode()


def openssl_sign(key, data, ed25519=False):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        if ed25519:
            r = openssl("pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", f.name)
        else:
            r = openssl("dgst", "-sha256", "-sign", key, f.name)
    assert r.returncode == 0, r.stderr
    return base64.b64encode(r.stdout).decode()


def openssl_verifies(pub, data, b64, ed25519=False):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "p"), "wb") as f:
            f.write(data)
        with open(os.path.join(d, "s"), "wb") as f:
            f.write(base64.b64decode(b64))
        if ed25519:
            r = openssl("pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", pub, "-in",
                        os.path.join(d, "p"), "-sigfile", os.path.join(d, "s"))
        else:
            r = openssl("dgst", "-sha256", "-verify", pub, "-signature", os.path.join(d, "s"),
                        os.path.join(d, "p"))
    return r.returncode == 0 and b"Verified" in r.stdout + r.stderr


# --- the tests ------------------------------------------------------------------------------

def test_keys(work):
    k = os.path.join(work, "k1")
    r = temper("keygen", "-o", k)
    check(r.returncode == 0 and os.stat(k + ".key").st_mode & 0o777 == 0o600 and
          os.stat(k + ".pub").st_mode & 0o777 == 0o644, "keygen writes .key 0600 and .pub: " +
          r.stderr.strip())
    pem = open(k + ".key").read()
    check("BEGIN PRIVATE KEY" in pem and "BEGIN PUBLIC KEY" in open(k + ".pub").read(),
          "PKCS#8 private key, PKIX public key")
    before = open(k + ".key").read()
    r = temper("keygen", "-o", k)
    check(r.returncode == 1 and "exists" in r.stderr and open(k + ".key").read() == before,
          "keygen never overwrites: " + r.stderr.strip())
    r = temper("keygen", "--type", "ed25519", "-o", os.path.join(work, "k2"))
    check(r.returncode == 0, "keygen --type ed25519")
    r = temper("keygen", "-o", os.path.join(work, "k3"))
    check(r.returncode == 0, "a third key")
    r = temper("keygen", "-o", os.path.join(work, "kp"), env={"TEMPER_KEY_PASSWORD": "s3cret!"})
    check(r.returncode == 0 and "ENCRYPTED PRIVATE KEY" in open(os.path.join(work, "kp.key")).read(),
          "with TEMPER_KEY_PASSWORD the key is written encrypted")
    r = temper("keygen", "-o", os.path.join(work, "ke"), env={"TEMPER_KEY_PASSWORD": ""})
    check(r.returncode == 2 and not os.path.exists(os.path.join(work, "ke.key")),
          "an empty TEMPER_KEY_PASSWORD is refused, not taken for no password: " +
          r.stderr.strip())


def test_hygiene(work, layout):
    k1 = os.path.join(work, "k1.key")
    os.chmod(k1, 0o644)
    r = temper("sign", "--key", k1, layout)
    check(r.returncode == 1 and "chmod 600" in r.stderr, "a key readable by others is refused: " +
          r.stderr.strip())
    os.chmod(k1, 0o600)
    r = temper("sign", "--key", os.path.join(work, "k1.pub"), layout)
    check(r.returncode == 1 and "public key" in r.stderr, "a public key given to sign: " +
          r.stderr.strip())
    rsa = os.path.join(work, "rsa.key")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsa)
    os.chmod(rsa, 0o600)
    r = temper("sign", "--key", rsa, layout)
    check(r.returncode == 1 and "RSA" in r.stderr, "an RSA key: " + r.stderr.strip())
    bad = os.path.join(work, "bad.key")
    with open(bad, "w") as f:
        # (the marker is split so that no scan for committed keys mistakes this for one)
        f.write("-----BEGIN " "PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    os.chmod(bad, 0o600)
    r = temper("sign", "--key", bad, layout)
    check(r.returncode == 1 and "bad.key" in r.stderr, "a corrupt PEM: " + r.stderr.strip())
    kp = os.path.join(work, "kp.key")
    r = temper("sign", "--key", kp, layout, env={"TEMPER_KEY_PASSWORD": "wrong"})
    check(r.returncode == 1 and "password" in r.stderr and "wrong" not in r.stderr.replace(
        "wrong password", ""), "a wrong password: " + r.stderr.strip())
    r = temper("sign", "--key", kp, layout)
    check(r.returncode == 1 and "TEMPER_KEY_PASSWORD" in r.stderr, "no password: " +
          r.stderr.strip())
    r = temper("sign", "--key", kp, layout, env={"TEMPER_KEY_PASSWORD": "s3cret!"})
    check(r.returncode == 0, "the right password: " + r.stderr.strip())
    secrets = [l for l in open(k1).read().splitlines() if not l.startswith("-----")]
    check(not any(s in r.stderr + r.stdout for s in secrets if len(s) > 8),
          "no key material in any output")


def fresh(work, signed, name):
    copy = os.path.join(work, name)
    shutil.copytree(signed, copy)
    return copy


def refused(layout, key, expect, what, *extra):
    r = temper("verify", "--key", key, *extra, layout)
    check(r.returncode == 1 and all(e in r.stderr for e in expect),
          f"refused: {what}: {r.stderr.strip()[-300:]}")


def flip_byte(path, offset=None):
    data = bytearray(open(path, "rb").read())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    with open(path, "wb") as f:
        f.write(data)


def manifest_of(layout, tag="latest"):
    return json.load(open(blob_path(layout, image_digest(layout, tag))))


def rewrite_manifest(work, layout, change, raw=None):
    """Rewrites the image's manifest with `change` applied (or as the bytes `raw` makes of it)
    and signs the new one with k3 through openssl, so that only the lie the change tells
    remains: temper sign itself refuses to sign an image that does not hold together."""
    m = manifest_of(layout)
    change(m)
    data = raw(m) if raw else json.dumps(m, separators=(",", ":")).encode()
    digest = put_blob(layout, data)
    point_tag(layout, "latest", digest, len(data))
    add_signature(layout, digest, payload(digest), openssl_sign(os.path.join(work, "k3.key"),
                                                                payload(digest)))


def test_matrix(work, signed, unsigned):
    k1pub, k3pub = os.path.join(work, "k1.pub"), os.path.join(work, "k3.pub")
    k3 = os.path.join(work, "k3.key")
    digest = image_digest(signed)

    refused(signed, k3pub, ["no signature", "does not verify with this key"], "another key")

    d = fresh(work, signed, "t-manifest")
    flip_byte(blob_path(d, image_digest(d)), 40)
    refused(d, k1pub, ["manifest", "its bytes hash to"], "one byte changed in the manifest")

    d = fresh(work, signed, "t-config")
    flip_byte(blob_path(d, manifest_of(d)["config"]["digest"]), 20)
    refused(d, k1pub, ["config", "its bytes hash to"], "one byte changed in the config")

    d = fresh(work, signed, "t-layer")
    flip_byte(blob_path(d, manifest_of(d)["layers"][0]["digest"]))
    refused(d, k1pub, ["layer 1", "its bytes hash to"], "one byte changed in a compressed layer")

    d = fresh(work, signed, "t-diffid")
    other = subprocess.run(["gzip", "-n"], input=b"\0" * 10240, capture_output=True).stdout

    def swap_layer(m):
        m["layers"][0]["digest"] = put_blob(d, other)
        m["layers"][0]["size"] = len(other)
    rewrite_manifest(work, d, swap_layer)
    refused(d, k3pub, ["diff_id"], "a layer that decompresses, to other bytes than its diff_id")
    r = temper("sign", "--key", k3, d)
    check(r.returncode == 1 and "diff_id" in r.stderr, "temper sign refuses to sign that image")

    d = fresh(work, signed, "t-truncated")
    path = blob_path(d, manifest_of(d)["layers"][0]["digest"])
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    refused(d, k1pub, ["layer 1"], "a truncated layer")

    d = fresh(work, signed, "t-size")
    rewrite_manifest(work, d, lambda m: m["layers"][0].update(size=m["layers"][0]["size"] + 1))
    refused(d, k3pub, ["layer 1", "its descriptor says"], "a layer size off by one")

    # What Go tools (skopeo, podman, umoci) read differently from a strict reader.
    d = fresh(work, signed, "t-index-case")
    with open(os.path.join(d, "index.json")) as f:
        text = f.read()
    with open(os.path.join(d, "index.json"), "w") as f:
        f.write(text[:-1] + ',"Manifests":[]}')
    refused(d, k1pub, ["'manifests' and 'Manifests'", "ambiguous"],
            "index.json with a key that differs only in case")
    d = fresh(work, signed, "t-manifest-case")
    rewrite_manifest(work, d, lambda m: None,
                     raw=lambda m: json.dumps(m, separators=(",", ":")).encode()[:-1] +
                     b',"Layers":[]}')
    refused(d, k3pub, ["'layers' and 'Layers'"], "a manifest with 'layers' and 'Layers'")
    d = fresh(work, signed, "t-plain-tar")
    rewrite_manifest(work, d, lambda m: m["layers"][0].update(
        mediaType="application/vnd.oci.image.layer.v1.tar"))
    refused(d, k3pub, ["declared an uncompressed tar but holds compressed bytes"],
            "a gzip layer declared as an uncompressed tar")

    d = fresh(work, signed, "t-index-size")
    idx = index(d)
    for m in idx["manifests"]:
        if m["digest"] == digest:
            m["size"] += 1
    write_index(d, idx)
    refused(d, k1pub, ["manifest", "its descriptor says"],
            "the manifest's size off by one in index.json")

    d = fresh(work, signed, "t-missing")
    os.unlink(blob_path(d, manifest_of(d)["layers"][0]["digest"]))
    refused(d, k1pub, ["is missing"], "a missing layer blob")

    cases = {
        "a payload naming another digest": (payload("sha256:" + "ab" * 32), ["another image"]),
        "an extra key in critical": (payload(digest, extra={"extra": 1}), ["unknown key 'extra'"]),
        "optional absent": (payload(digest, drop=["optional"]), ["no 'optional'"]),
        "a miscased key": (payload(digest, rename={"identity": "Identity"}), ["case-sensitive"]),
    }
    # These start from the unsigned image, so that the signature at fault is the only one.
    for what, (p, expect) in cases.items():
        d = fresh(work, unsigned, "t-" + what.replace(" ", "-"))
        add_signature(d, digest, p, openssl_sign(k3, p))
        refused(d, k3pub, expect, what)

    d = fresh(work, unsigned, "t-b64")
    add_signature(d, digest, payload(digest), "!!not base64!!")
    refused(d, k3pub, ["not base64"], "a signature that is not base64")
    d = fresh(work, unsigned, "t-der")
    add_signature(d, digest, payload(digest), base64.b64encode(os.urandom(70)).decode())
    refused(d, k3pub, ["not DER"], "a signature that is not DER")

    d = fresh(work, unsigned, "t-damaged-first")
    add_signature(d, digest, payload(digest), openssl_sign(k3, payload(digest)))
    first = signatures_layers(d, digest)[0]["digest"]
    os.unlink(blob_path(d, first))
    add_signature(d, digest, payload(digest, identity="second"),
                  openssl_sign(k3, payload(digest, identity="second")))
    r = temper("verify", "--key", k3pub, d)
    check(r.returncode == 0, "a damaged signature does not hide a good one: " + r.stderr.strip())

    refused(unsigned, k1pub, ["no signature"], "no signature at all")
    refused(signed, k1pub, ["names 'docker.io/library/static', not 'registry.example/other'"],
            "--identity naming another repository", "--identity", "registry.example/other")


def main():
    work = tempfile.mkdtemp(prefix="temper-sign-")
    try:
        unsigned = os.path.join(work, "unsigned")
        r = temper("build", os.path.join(RECIPES, "static.yaml"), "-o", unsigned)
        if not check(r.returncode == 0, "build the static image: " + r.stderr.strip()[-200:]):
            return 1
        test_keys(work)
        signed = fresh(work, unsigned, "signed")
        r = temper("sign", "--key", os.path.join(work, "k1.key"), "--identity", "static",
                   signed + ":latest")
        digest = image_digest(signed)
        check(r.returncode == 0 and r.stdout.strip() == "sha256-%s.sig" % digest[7:],
              "sign prints the signature tag: " + r.stdout + r.stderr)
        r = temper("verify", "--key", os.path.join(work, "k1.pub"), signed)
        check(r.returncode == 0 and r.stdout.strip() == digest, "verify accepts it: " +
              r.stderr.strip())
        [(p, b64)] = signatures(signed, digest)
        # --identity is normalized as docker (and containers/image) normalize references
        normalized = payload(digest, "docker.io/library/static")
        check(json.loads(p) == json.loads(normalized) and p == normalized,
              "the payload has cosign's exact bytes, the identity normalized: " + p.decode())
        check(openssl_verifies(os.path.join(work, "k1.pub"), p, b64),
              "openssl dgst -verify accepts temper's signature")
        # signing again with the same key for the same identity adds nothing (an ECDSA
        # signature is new each time: every rebuild would add one)
        r = temper("sign", "--key", os.path.join(work, "k1.key"), "--identity", "static",
                   signed + ":latest")
        check(r.returncode == 0 and "already: no signature added" in r.stderr and
              signatures(signed, digest) == [(p, b64)],
              "signing again with the same key and identity adds no signature: " +
              r.stderr.strip())
        r = temper("sign", "--key", os.path.join(work, "k2.key"), "--identity", "static",
                   fresh(work, signed, "second-key"))
        check(r.returncode == 0 and len(signatures(os.path.join(work, "second-key"), digest))
              == 2, "another key adds its own: " + r.stderr.strip())
        for spelling in ("static", "library/static", "docker.io/static",
                         "index.docker.io/library/static", "static:other-tag"):
            r = temper("verify", "--key", os.path.join(work, "k1.pub"), "--identity", spelling,
                       signed)
            check(r.returncode == 0, f"--identity {spelling}: the same repository once "
                  "normalized: " + r.stderr.strip())
        r = temper("verify", "--key", os.path.join(work, "k1.pub"), "--identity", "Bad Name",
                   signed)
        check(r.returncode == 2 and "'Bad Name' is not an image reference" in r.stderr,
              "--identity that is no reference: a usage error naming it: " + r.stderr.strip())
        r = temper("sign", "--key", os.path.join(work, "k1.key"), "--identity", "UPPER/case",
                   fresh(work, unsigned, "upper"))
        check(r.returncode == 2 and "must be lowercase" in r.stderr,
              "sign --identity with an uppercase repository: refused: " + r.stderr.strip())

        both = fresh(work, unsigned, "both")
        add_signature(both, digest, payload(digest), openssl_sign(os.path.join(work, "k3.key"),
                                                                  payload(digest)))
        r = temper("verify", "--key", os.path.join(work, "k3.pub"), both)
        check(r.returncode == 0, "a payload signed by openssl passes temper verify: " +
              r.stderr.strip())
        r = temper("sign", "--key", os.path.join(work, "k1.key"), both)
        check(r.returncode == 0 and len(signatures(both, digest)) == 2,
              "signing again with another key adds a signature and keeps the first")
        check("note: the signature names 'both', not a registry's repository" in r.stderr and
              "temper push --key" in r.stderr,
              "sign without --identity says a registry verifier will refuse it: " +
              r.stderr.strip())
        for k in ("k1", "k3"):
            r = temper("verify", "--key", os.path.join(work, k + ".pub"), both)
            check(r.returncode == 0, f"two signatures, one by {k}: accepted")

        ed = fresh(work, unsigned, "ed")
        r = temper("sign", "--key", os.path.join(work, "k2.key"), ed)
        r = temper("verify", "--key", os.path.join(work, "k2.pub"), ed)
        check(r.returncode == 0, "Ed25519: " + r.stderr.strip())
        [(p, b64)] = signatures(ed, digest)
        check(openssl_verifies(os.path.join(work, "k2.pub"), p, b64, ed25519=True),
              "openssl pkeyutl -verify -rawin accepts temper's Ed25519 signature")

        built = os.path.join(work, "built")
        r = temper("build", os.path.join(RECIPES, "static.yaml"), "-o", built, "--key",
                   os.path.join(work, "k1.key"), "--identity", "registry.example/static")
        check(r.returncode == 0 and "note:" not in r.stderr,
              "build --key --identity REPO: no note: " + r.stderr.strip()[-200:])
        local = os.path.join(work, "local")
        r = temper("build", os.path.join(RECIPES, "static.yaml"), "-o", local, "--key",
                   os.path.join(work, "k1.key"))
        check(r.returncode == 0 and "the signature names 'static', not a registry's "
              "repository" in r.stderr, "build --key without --identity signs for the recipe's "
              "name and says it will be refused once pushed: " + r.stderr.strip()[-300:])
        r = temper("verify", "--key", os.path.join(work, "k1.pub"), "--identity",
                   "registry.example/static", built)
        check(r.returncode == 0, "and the built image verifies: " + r.stderr.strip())

        test_hygiene(work, fresh(work, unsigned, "hygiene"))
        test_matrix(work, signed, unsigned)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
