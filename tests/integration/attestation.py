#!/usr/bin/env python3
"""The SBOM attached to an image as a signed attestation, as cosign attaches one.

- `temper build --sbom FILE --key KEY` (ECDSA P-256 and Ed25519 keys): the layout's
  sha256-<hex>.att manifest has one layer, a DSSE envelope (application/vnd.dsse.envelope.v1+json,
  annotation predicateType https://spdx.dev/Document); its payloadType is in-toto's, its
  statement is an in-toto statement about the image's manifest digest whose predicate is FILE's
  document; `openssl` verifies the envelope's signature over PAE(payloadType, payload) as the
  DSSE specification defines it, computed here.
- `temper verify --attestation spdx` passes and `temper sbom` prints FILE's bytes; a rebuild
  writes the same SBOM bytes.
- Refused, each with its reason, once the envelope is rewritten (and the layout made whole
  again around it): a byte of the statement changed, a byte of the signature changed, a
  statement about another image signed with the right key (by openssl), another predicate type,
  another key; `temper sbom` prints nothing then.
- Pushed to Debian's docker-registry on loopback: the registry's .att manifest holds the
  envelope; verify --attestation and sbom read it from there; a second push adds nothing.

usage: attestation.py TEMPER RECIPES_DIR
"""
import base64
import json
import os
import shutil
import sys
import tempfile
import urllib.error

import push_registry as fx  # the registry of the push tests
import sign_verify as sv  # the layout read and written without temper, openssl
from checks import check, summary  # tests/integration/checks.py

ENVELOPE_TYPE = "application/vnd.dsse.envelope.v1+json"
INTOTO = "application/vnd.in-toto+json"
SPDX = "https://spdx.dev/Document"


def temper(*args):
    return fx.temper(*args)


def pae(payload_type, body):
    """DSSE v1's pre-authentication encoding (secure-systems-lab/dsse, protocol.md)."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def att_layers(layout, digest):
    entry = sv.tag_entry(layout, "sha256-%s.att" % digest.split(":")[1])
    if entry is None:
        return []
    return json.load(open(sv.blob_path(layout, entry["digest"])))["layers"]


def envelope_of(layout, digest):
    layers = att_layers(layout, digest)
    return json.load(open(sv.blob_path(layout, layers[0]["digest"]))) if layers else None


def replace_envelope(layout, digest, envelope):
    """The layout's attestations of `digest`: this envelope alone, stored as temper and cosign
    store one (blob, layer, config, manifest, tag), so that only the envelope is wrong."""
    data = json.dumps(envelope, separators=(",", ":")).encode()
    layer = {"mediaType": ENVELOPE_TYPE, "digest": sv.put_blob(layout, data), "size": len(data),
             "annotations": {"dev.cosignproject.cosign/signature": "", "predicateType": SPDX}}
    config = json.dumps({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                         "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                         "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": fx.OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": sv.put_blob(layout, config),
                                      "size": len(config)},
                           "layers": [layer]}).encode()
    sv.point_tag(layout, "sha256-%s.att" % digest.split(":")[1], sv.put_blob(layout, manifest),
                 len(manifest))


def signed_envelope(key, statement, ed25519):
    body = json.dumps(statement, separators=(",", ":")).encode()
    return {"payloadType": INTOTO, "payload": base64.b64encode(body).decode(),
            "signatures": [{"keyid": "", "sig": sv.openssl_sign(key, pae(INTOTO, body),
                                                                 ed25519)}]}


def remote_att_layers(host, digest):
    """The layers of the registry's .att manifest of `digest`, or None without one."""
    try:
        manifest = fx.get(host, "/v2/team/python/manifests/sha256-%s.att" % digest.split(":")[1],
                          accept=fx.OCI_MANIFEST)
    except urllib.error.HTTPError:
        return None
    return json.loads(manifest)["layers"]


def refused(r, words, what):
    ok = r.returncode == 1 and all(w in r.stderr for w in words)
    return check(ok, f"{what}: refused, saying {words}: {r.stderr.strip()[-400:]}")


def test_layout(work, kind):
    ed25519 = kind == "ed25519"
    key = os.path.join(work, kind)
    check(temper("keygen", "--type", kind, "-o", key).returncode == 0, f"keygen {kind}")
    pub, other = key + ".pub", os.path.join(work, "other.pub")
    layout, sbom = os.path.join(work, f"python-{kind}"), os.path.join(work, f"{kind}.spdx.json")
    r = temper("build", os.path.join(fx.RECIPES, "python.yaml"), "-o", layout, "--sbom", sbom,
               "--key", key + ".key", "--identity", "registry.example/team/python")
    if not check(r.returncode == 0, f"[{kind}] build --sbom --key: {r.stderr.strip()[-300:]}"):
        return None
    digest = r.stdout.strip().splitlines()[-1]
    document = open(sbom, "rb").read()

    layers = att_layers(layout, digest)
    check(len(layers) == 1 and layers[0]["mediaType"] == ENVELOPE_TYPE and
          layers[0]["annotations"] == {"dev.cosignproject.cosign/signature": "",
                                       "predicateType": SPDX},
          f"[{kind}] one DSSE layer, cosign's annotations: {layers}")
    envelope = envelope_of(layout, digest)
    body = base64.b64decode(envelope["payload"])
    statement = json.loads(body)
    check(envelope["payloadType"] == INTOTO, f"[{kind}] payloadType {envelope['payloadType']}")
    check(statement["_type"] == "https://in-toto.io/Statement/v0.1" and
          statement["predicateType"] == SPDX and
          statement["subject"] == [{"name": "registry.example/team/python",
                                    "digest": {"sha256": digest.split(":")[1]}}],
          f"[{kind}] the statement is about the image: {statement['subject']}")
    check(statement["predicate"] == json.loads(document),
          f"[{kind}] the predicate is the --sbom document")
    check(sv.openssl_verifies(pub, pae(INTOTO, body), envelope["signatures"][0]["sig"], ed25519),
          f"[{kind}] openssl verifies the signature over PAE(payloadType, payload)")

    r = temper("verify", "--key", pub, "--attestation", "spdx", layout)
    check(r.returncode == 0 and r.stdout.strip() == digest,
          f"[{kind}] verify --attestation spdx: {r.stderr.strip()[-300:]}")
    r = temper("sbom", "--key", pub, layout)
    check(r.returncode == 0 and r.stdout.encode() == document,
          f"[{kind}] temper sbom prints the --sbom file's bytes: {r.stderr.strip()[-300:]}")
    again = os.path.join(work, f"again-{kind}.spdx.json")
    r = temper("build", os.path.join(fx.RECIPES, "python.yaml"), "-o",
               os.path.join(work, f"again-{kind}"), "--sbom", again)
    check(r.returncode == 0 and open(again, "rb").read() == document,
          f"[{kind}] a rebuild writes the same SBOM bytes")

    def tampered(name, new_envelope, words):
        copy = os.path.join(work, f"{kind}-{name}")
        shutil.copytree(layout, copy)
        replace_envelope(copy, digest, new_envelope)
        refused(temper("verify", "--key", pub, "--attestation", "spdx", copy), words,
                f"[{kind}] {name}")
        r = temper("sbom", "--key", pub, copy)
        check(r.returncode == 1 and r.stdout == "", f"[{kind}] {name}: sbom prints nothing")

    changed = bytearray(body)
    at = body.index(b'"SPDX-2.3"') + 7
    changed[at] = ord("4")
    tampered("statement", dict(envelope, payload=base64.b64encode(bytes(changed)).decode()),
             ["does not verify"])
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[-3] ^= 0x01
    tampered("signature",
             dict(envelope, signatures=[{"keyid": "", "sig": base64.b64encode(sig).decode()}]),
             ["attestation 1"])
    other_image = dict(statement, subject=[{"name": "registry.example/team/python",
                                            "digest": {"sha256": "0" * 64}}])
    tampered("subject", signed_envelope(key + ".key", other_image, ed25519),
             ["about another image"])
    slsa = dict(statement, predicateType="https://slsa.dev/provenance/v1")
    tampered("type", signed_envelope(key + ".key", slsa, ed25519), ["not of type"])
    check(temper("keygen", "-o", os.path.join(work, "other")).returncode == 0 or
          os.path.exists(other), "keygen another key")
    refused(temper("verify", "--key", other, "--attestation", "spdx", layout),
            ["holds for this key", "attestation 1"], f"[{kind}] another key")
    return layout, digest, key, document


def test_registry(work, layout, digest, key, document):
    pub = key + ".pub"
    with fx.Registry(work, "registry") as reg:
        ref = f"{reg.host}/team/python:1"
        r = temper("push", "--key", key + ".key", layout, ref)
        check(r.returncode == 0 and "attestations: 1 from the layout" in r.stderr,
              f"push: {r.stderr.strip()[-300:]}")
        layers = remote_att_layers(reg.host, digest)
        check(layers == att_layers(layout, digest),
              f"the registry's .att manifest holds the envelope: {layers}")
        r = temper("verify", "--key", pub, "--attestation", "spdx", ref)
        check(r.returncode == 0 and r.stdout.strip() == digest,
              f"verify --attestation from the registry: {r.stderr.strip()[-300:]}")
        r = temper("sbom", "--key", pub, ref)
        check(r.returncode == 0 and r.stdout.encode() == document,
              f"sbom from the registry: {r.stderr.strip()[-300:]}")
        r = temper("push", "--key", key + ".key", layout, ref)
        check(r.returncode == 0 and len(remote_att_layers(reg.host, digest) or []) == 1,
              "a second push adds no attestation")


def main():
    if shutil.which("docker-registry") is None:
        sys.exit("attestation.py needs docker-registry (scripts/install-deps.sh test)")
    work = tempfile.mkdtemp(prefix="temper-attestation-")
    try:
        fx.EMPTY_DOCKER_CONFIG = os.path.join(work, "no-docker-config")
        os.makedirs(fx.EMPTY_DOCKER_CONFIG)
        os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
        made = test_layout(work, "ecdsa-p256")
        test_layout(work, "ed25519")
        if made is not None:
            test_registry(work, *made)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
