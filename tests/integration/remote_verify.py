#!/usr/bin/env python3
"""temper verify REGISTRY/REPO[:TAG|@DIGEST]: a published image checked from the registry itself.

- Against Debian's docker-registry on loopback: a signed image pushed by temper verifies by
  tag, by digest and with docker://; another key, another identity, an unsigned image and a
  missing tag are refused, each with its reason.
- The registry's storage corrupted by the test (a changed byte in the layer, the layer cut
  short, a changed byte in the config, a changed signature payload): remote verify fails and
  names the blob; with the storage restored it passes again.
- Basic auth and the Bearer token flow (through the push tests' proxy), and a proxy that
  resets, 5xx's and 429's the GETs: verify completes.
- A registry of the test's own serving a temper layout: a blob redirected to storage on
  another origin is followed without the credentials; a redirect loop, a body cut off
  mid-layer, a layer longer than its descriptor, an unsigned image index over a signed image,
  are each a clear error.
- A gzip layer declared an uncompressed tar, signed: refused when the registry sends it at once,
  and when it sends the first byte, pauses, then the rest (issue 17: the compression magic was
  looked for in the first read only).

usage: remote_verify.py TEMPER RECIPES_DIR
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import push_registry as fx  # the registry, the proxy and the fakes of the push tests
import sign_verify as sv  # layouts rewritten and signed through openssl
from checks import check, summary  # tests/integration/checks.py

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def temper(*args, env=None):
    return fx.temper(*args, env=env)


# The layout the test's own registry serves was signed at build for the recipe's name.
SIGNED_FOR_STATIC = ("--identity", "static")


def storage_blob(reg, digest):
    """The file the registry keeps blob `digest` in."""
    hexd = digest.split(":")[1]
    return os.path.join(reg.dir, "data", "docker", "registry", "v2", "blobs", "sha256", hexd[:2],
                        hexd, "data")


class Damaged:
    """A registry blob changed for the duration of a `with`: one byte flipped at `at`, or the
    file cut to `cut` bytes; restored afterwards."""

    def __init__(self, path, at=None, cut=None):
        self.path, self.at, self.cut = path, at, cut

    def __enter__(self):
        self.saved = open(self.path, "rb").read()
        data = bytearray(self.saved)
        if self.cut is not None:
            data = data[:self.cut]
        else:
            data[self.at] ^= 0x01
        open(self.path, "wb").write(bytes(data))
        return self

    def __exit__(self, *exc):
        open(self.path, "wb").write(self.saved)


def layout_json(layout, name):
    return json.load(open(os.path.join(layout, name)))


def layout_blob(layout, digest):
    return open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb").read()


def image_blobs(layout, digest):
    """(config digest, [layer digests]) of the image whose manifest is `digest`."""
    m = json.loads(layout_blob(layout, digest))
    return m["config"]["digest"], [l["digest"] for l in m["layers"]]


def signature_payload(host, digest):
    """The digest of the first signature payload of image `digest` in the registry's static."""
    return fx.sig_manifest(host, digest)["layers"][0]["digest"]


def refused(r, words, what):
    ok = r.returncode == 1 and all(w in r.stderr for w in words)
    return check(ok, f"{what}: refused, saying {words}: {r.stderr.strip()[-400:]}")


def test_docker_registry(work, layout, digest, unsigned, unsigned_digest, pub, pub2):
    config, layers = image_blobs(layout, digest)
    with fx.Registry(work, "plain") as reg:
        ref = f"{reg.host}/static:1"
        r = fx.push(layout, ref)
        check(r.returncode == 0, f"push: {r.stderr.strip()[-300:]}")
        r = temper("verify", "--key", pub, ref)
        check(r.returncode == 0 and r.stdout.strip() == digest and
              f"registry '{reg.host}/static'" in r.stderr,
              f"verify by tag: {r.stdout.strip()} {r.stderr.strip()[-300:]}")
        r = temper("verify", "--key", pub, f"{reg.host}/static@{digest}")
        check(r.returncode == 0 and r.stdout.strip() == digest,
              f"verify by digest: {r.stderr.strip()[-300:]}")
        r = temper("verify", "--key", pub, "--identity", f"{reg.host}/static", f"docker://{ref}")
        check(r.returncode == 0, f"verify docker://, with --identity: {r.stderr.strip()[-300:]}")
        refused(temper("verify", "--key", pub2, ref), ["no signature", "does not verify"],
                "another key")
        refused(temper("verify", "--key", pub, "--identity", "example.com/other", ref),
                ["names", "example.com/other"], "another identity")
        refused(temper("verify", "--key", pub, f"{reg.host}/static:missing"),
                [f"registry '{reg.host}/static' has no manifest 'missing'"], "a missing tag")
        r = temper("push", unsigned, f"{reg.host}/static:unsigned")
        check(r.returncode == 0, "push an unsigned image")
        refused(temper("verify", "--key", pub, f"{reg.host}/static:unsigned"),
                [f"registry '{reg.host}/static': image '{unsigned_digest}' has no signature"],
                "an unsigned image")
        r = temper("verify", "--key", pub, ref)
        check(r.returncode == 0 and f"for '{reg.host}/static'" in r.stderr,
              f"without --identity, the repository read from is the one checked: {r.stderr}")

        # A directory named like the reference: refused as ambiguous, never guessed.
        cwd = os.path.join(work, "cwd")
        os.makedirs(os.path.join(cwd, reg.host, "static"))
        r = fx.run([fx.TEMPER, "verify", "--key", pub, ref], cwd=cwd)
        check(r.returncode == 2 and "names both a directory and a registry reference" in r.stderr
              and "docker://" in r.stderr, f"a directory named like the reference: {r.stderr}")
        r = fx.run([fx.TEMPER, "verify", "--key", pub, "docker://" + ref], cwd=cwd)
        check(r.returncode == 0, f"docker:// settles it: {r.stderr.strip()[-200:]}")

        # The storage changed under the registry, which serves what it holds unchecked.
        layer = storage_blob(reg, layers[0])
        size = os.path.getsize(layer)
        with Damaged(layer, at=size // 2):
            refused(temper("verify", "--key", pub, ref),
                    ["layer 1", layers[0], "its bytes hash to"], "a changed byte in the layer")
        with Damaged(layer, cut=size // 3):
            refused(temper("verify", "--key", pub, ref), ["layer 1", layers[0]],
                    "the layer cut short")
        with Damaged(storage_blob(reg, config), at=10):
            refused(temper("verify", "--key", pub, ref), ["config", config, "its bytes hash to"],
                    "a changed byte in the config")
        with Damaged(storage_blob(reg, signature_payload(reg.host, digest)), at=5):
            refused(temper("verify", "--key", pub, ref), ["no signature", "payload"],
                    "a changed byte in the signature's payload")
        r = temper("verify", "--key", pub, ref)
        check(r.returncode == 0, "restored, the image verifies again")


def test_auth(work, layout, digest, pub):
    htpasswd = os.path.join(work, "htpasswd")
    r = fx.run(["htpasswd", "-Bbc", htpasswd, "user", fx.PASSWORD])
    check(r.returncode == 0, "htpasswd")
    creds = {"TEMPER_REGISTRY_USERNAME": "user", "TEMPER_REGISTRY_PASSWORD": fx.PASSWORD}
    with fx.Registry(work, "basic", htpasswd=htpasswd) as reg:
        ref = f"{reg.host}/static:1"
        check(fx.push(layout, ref, env=creds).returncode == 0, "push with Basic auth")
        r = temper("verify", "--key", pub, ref)
        refused(r, ["401", reg.host], "verify without credentials")
        r = temper("verify", "--key", pub, ref, env=creds)
        check(r.returncode == 0 and fx.PASSWORD not in r.stdout + r.stderr,
              f"verify with Basic credentials: {r.stderr.strip()[-300:]}")
    with fx.Registry(work, "bearer-upstream") as reg, \
            fx.Proxy(reg.host, bearer=True) as proxy:
        ref = f"{proxy.host}/static:1"
        check(fx.push(layout, ref, env=creds).returncode == 0, "push through the token flow")
        r = temper("verify", "--key", pub, ref, env=creds)
        check(r.returncode == 0 and r.stdout.strip() == digest,
              f"verify through the token flow: {r.stderr.strip()[-300:]}")
        check(not any("Basic" in a for a in proxy.seen_auth), "the registry saw only tokens")


def test_faults(work, layout, digest, pub):
    # pushed to the registry, read through the proxy (another host:port): --identity names
    # where the signature was made for
    faults = {("GET", "manifest"): [503, "reset"],
              ("GET", "blob"): ["reset", 500, "429", 502]}
    with fx.Registry(work, "faults") as reg, fx.Proxy(reg.host, faults=faults) as proxy:
        check(fx.push(layout, f"{reg.host}/static:1").returncode == 0, "push")
        r = temper("verify", "--key", pub, "--identity", f"{reg.host}/static",
                   f"{proxy.host}/static:1")
        check(r.returncode == 0 and r.stdout.strip() == digest,
              f"verify through resets, 5xx and 429: {r.stderr.strip()[-400:]}")
        left = {k: v for k, v in proxy.faults.items() if v}
        check(not left, f"every fault was met: left {left}")
    with fx.Registry(work, "faults-permanent") as reg, \
            fx.Proxy(reg.host, faults={("GET", "blob"): [500] * 10}) as proxy:
        check(fx.push(layout, f"{reg.host}/static:1").returncode == 0, "push")
        refused(temper("verify", "--key", pub, "--identity", f"{reg.host}/static",
                       f"{proxy.host}/static:1"),
                ["HTTP 500", "injected failure 500", proxy.host], "a lasting 500 on blobs")
        r = temper("verify", "--key", pub, "--identity", f"{reg.host}/static",
                   f"{proxy.host}/static:1")
        check("no signature" not in r.stderr,
              f"a payload that cannot be fetched is not taken for a bad signature: {r.stderr}")


class LayoutRegistry(fx.Listener):
    """A read-only registry of the test's own serving one temper layout as any repository;
    hook(handler) answers first when it returns True."""

    def __init__(self, layout, hook=None):
        self.layout, self.hook = layout, hook
        super().__init__(self.handle)

    def handle(self, h, body):
        if self.hook and self.hook(h):
            return
        path = urllib.parse.urlparse(h.path).path
        ref = path.rsplit("/", 1)[1]
        if "/manifests/" in path:
            for m in layout_json(self.layout, "index.json")["manifests"]:
                name = m.get("annotations", {}).get("org.opencontainers.image.ref.name")
                if ref in (name, m["digest"]):
                    return fx.reply(h, 200, layout_blob(self.layout, m["digest"]),
                                    [("Content-Type", m["mediaType"])])
            return fx.reply(h, 404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}')
        if ("/blobs/" in path or "/store/" in path) and os.path.exists(os.path.join(self.layout, "blobs", "sha256",
                                                             ref.split(":")[-1])):
            return fx.reply(h, 200, layout_blob(self.layout, ref))
        return fx.reply(h, 404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"no"}]}')


def test_redirects_and_breaks(work, layout, digest, pub):
    _, layers = image_blobs(layout, digest)
    with LayoutRegistry(layout) as reg:
        r = temper("verify", *SIGNED_FOR_STATIC, "--key", pub, f"{reg.host}/static:latest")
        gets = [p for _, p, _ in reg.log if "/manifests/" in p]
        check(r.returncode == 0 and len(gets) == 2,
              f"two manifest GETs (the image, its signatures), the image's not fetched again: "
              f"{gets}")
    with LayoutRegistry(layout) as storage:
        def to_storage(h):
            if h.headers.get("Authorization") != "Bearer t":
                fx.reply(h, 401, b"", [("WWW-Authenticate",
                                        f'Bearer realm="http://{h.headers["Host"]}/token"')])
                return True
            if "/blobs/" in h.path:
                fx.reply(h, 307, b"", [("Location", f"http://{storage.host}/store/"
                                        f"{h.path.rsplit('/', 1)[1]}?X-Signature=abc")])
                return True
            return False

        def token(h):
            if h.path.startswith("/token"):
                fx.reply(h, 200, b'{"token":"t"}')
                return True
            return to_storage(h)

        with LayoutRegistry(layout, token) as reg:
            r = temper("verify", *SIGNED_FOR_STATIC, "--key", pub, f"{reg.host}/static:latest")
            scopes = [urllib.parse.parse_qs(urllib.parse.urlparse(p).query).get("scope")
                      for _, p, _ in reg.log if p.startswith("/token")]
            check(scopes and all(sc == ["repository:static:pull"] for sc in scopes),
                  f"verify asks the token server for pull only: {scopes}")
            check(r.returncode == 0 and r.stdout.strip() == digest,
                  f"blobs redirected to storage elsewhere: verified: {r.stderr.strip()[-300:]}")
            got = [p for _, p, _ in storage.log]
            check(any(p.startswith("/store/" + layers[0]) for p in got),
                  f"the layer came from the storage: {got}")
            check(not storage.auth_seen(), f"the storage got no credentials: {storage.auth_seen()}")

    def loop(h):
        if "/blobs/" in h.path:
            fx.reply(h, 302, b"", [("Location", h.path)])
            return True
        return False

    with LayoutRegistry(layout, loop) as reg:
        refused(temper("verify", *SIGNED_FOR_STATIC, "--key", pub, f"{reg.host}/static:latest"),
                ["more than 5 redirects"], "a redirect loop")

    # A Location with a C1 control (CSI, 0x9b) cannot be written through http.server's str
    # headers; a raw socket server writes it.
    raw = socket.socket()
    raw.bind(("127.0.0.1", 0))
    raw.listen(8)
    stop = threading.Event()

    def serve_raw():
        raw.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = raw.accept()
            except OSError:
                continue
            with conn:
                req = conn.recv(65536).decode("latin-1")
                path = req.split(" ")[1] if " " in req else "/"
                if "/manifests/" in path:
                    for m in layout_json(layout, "index.json")["manifests"]:
                        name = m.get("annotations", {}).get("org.opencontainers.image.ref.name")
                        if path.endswith("/" + str(name)) or path.endswith(m["digest"]):
                            body = layout_blob(layout, m["digest"])
                            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: " +
                                         m["mediaType"].encode() + b"\r\nContent-Length: " +
                                         str(len(body)).encode() +
                                         b"\r\nConnection: close\r\n\r\n" + body)
                            break
                    else:
                        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                                     b"Connection: close\r\n\r\n")
                else:
                    conn.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: "
                                 b"http://127.0.0.1:1/\x9b2J\x9b31mOK\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")

    t = threading.Thread(target=serve_raw, daemon=True)
    t.start()
    try:
        host = f"127.0.0.1:{raw.getsockname()[1]}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TEMPER_REGISTRY_") and k not in fx.AUTH_ENV}
        env["DOCKER_CONFIG"] = env["XDG_CONFIG_HOME"] = fx.EMPTY_DOCKER_CONFIG
        r = subprocess.run([fx.TEMPER, "verify", "--key", pub, f"{host}/static:latest"],
                           capture_output=True, env=env)
        err = r.stderr.decode("latin-1")
        check(r.returncode == 1 and "does not follow" in err and b"\x9b" not in r.stderr,
              f"a redirect with a C1 control is refused, and none reaches the terminal: {err}")
    finally:
        stop.set()
        t.join()
        raw.close()

    def cut_off(h):
        if h.path.endswith(layers[0]):
            data = layout_blob(layout, layers[0])
            h.send_response(200)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[:len(data) // 2])
            h.close_connection = True
            return True
        return False

    with LayoutRegistry(layout, cut_off) as reg:
        refused(temper("verify", *SIGNED_FOR_STATIC, "--key", pub, f"{reg.host}/static:latest"),
                ["layer 1", "GET", reg.host], "a layer cut off mid-transfer")

    def too_long(h):
        if h.path.endswith(layers[0]):
            fx.reply(h, 200, layout_blob(layout, layers[0]) + b"\0" * 100000)
            return True
        return False

    with LayoutRegistry(layout, too_long) as reg:
        refused(temper("verify", *SIGNED_FOR_STATIC, "--key", pub, f"{reg.host}/static:latest"),
                ["layer 1", "sends more than the", layers[0]],
                "a layer with more bytes than its descriptor says (cut off, not hashed on)")

    def slow(h):
        fx.reply(h, 429, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"later"}]}',
                 [("Retry-After", "60")])
        return True

    with LayoutRegistry(layout, slow) as reg:
        start = time.monotonic()
        r = temper("verify", *SIGNED_FOR_STATIC, "--timeout", "2", "--key", pub, f"{reg.host}/static:latest")
        took = time.monotonic() - start
        refused(r, ["gave up after 2 s", "--timeout"], "a registry that asks to wait forever")
        check(took < 10, f"--timeout 2 holds the whole command to about 2 s ({took:.1f} s)")

    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": fx.OCI_MANIFEST, "digest": digest,
         "size": len(layout_blob(layout, digest)),
         "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()

    def an_index(h):
        if h.path.endswith("/manifests/multi"):
            fx.reply(h, 200, index, [("Content-Type", OCI_INDEX)])
            return True
        return False

    # an image index is verified as a whole: its own signature first, which this one lacks
    # (its image's signature does not stand in for it)
    with LayoutRegistry(layout, an_index) as reg:
        refused(temper("verify", *SIGNED_FOR_STATIC, "--key", pub, f"{reg.host}/static:multi"),
                ["'" + "sha256:" + hashlib.sha256(index).hexdigest() + "'", "has no signature"],
                "an image index over a signed image, itself unsigned")


def test_declared_tar_in_pieces(work, layout):
    """A signed image whose gzip layer is declared a plain tar, served whole and then with its
    first byte alone: refused both ways, since the magic is read from the stream's first bytes
    however they arrive."""
    check(temper("keygen", "-o", os.path.join(work, "k3")).returncode == 0, "keygen k3")
    d = os.path.join(work, "declared-tar")
    shutil.copytree(layout, d)

    def as_tar(m):
        """The layer declared a tar, and the config's diff_id its digest (a tar's diff_id is
        its own hash): nothing but the magic tells the lie."""
        config = json.loads(layout_blob(d, m["config"]["digest"]))
        config["rootfs"]["diff_ids"][0] = m["layers"][0]["digest"]
        data = json.dumps(config, separators=(",", ":")).encode()
        m["config"].update(digest=sv.put_blob(d, data), size=len(data))
        m["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar"

    sv.rewrite_manifest(work, d, as_tar)
    _, layers = image_blobs(d, sv.image_digest(d))
    pub3 = os.path.join(work, "k3.pub")
    words = ["layer 1", "declared an uncompressed tar but holds compressed bytes"]

    def first_byte_alone(h):
        if not h.path.endswith(layers[0]):
            return False
        data = layout_blob(d, layers[0])
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data[:1])
        h.wfile.flush()
        time.sleep(0.5)  # the reader takes the byte alone (a pause, not a timed check)
        h.wfile.write(data[1:])
        return True

    with LayoutRegistry(d) as reg:
        refused(temper("verify", *SIGNED_FOR_STATIC, "--key", pub3,
                       f"{reg.host}/static:latest"), words, "a gzip layer declared a tar, sent at once")
    with LayoutRegistry(d, first_byte_alone) as reg:
        refused(temper("verify", *SIGNED_FOR_STATIC, "--key", pub3,
                       f"{reg.host}/static:latest"), words, "a gzip layer declared a tar, its first byte sent alone")


def main():
    for tool in ("docker-registry", "htpasswd"):
        if shutil.which(tool) is None:
            sys.exit(f"remote_verify.py needs {tool} (scripts/install-deps.sh test)")
    work = tempfile.mkdtemp(prefix="temper-remote-")
    try:
        fx.EMPTY_DOCKER_CONFIG = os.path.join(work, "no-docker-config")
        os.makedirs(fx.EMPTY_DOCKER_CONFIG)
        os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
        fx.KEY1 = os.path.join(work, "k1.key")
        for k in ("k1", "k2"):
            check(temper("keygen", "-o", os.path.join(work, k)).returncode == 0, f"keygen {k}")
        pub, pub2 = os.path.join(work, "k1.pub"), os.path.join(work, "k2.pub")
        layout, unsigned = os.path.join(work, "static"), os.path.join(work, "unsigned")
        recipe = os.path.join(fx.RECIPES, "static.yaml")
        r = temper("build", recipe, "-o", layout, "--key", os.path.join(work, "k1.key"))
        if not check(r.returncode == 0, f"build static, signed: {r.stderr.strip()[-300:]}"):
            return 1
        digest = r.stdout.strip().splitlines()[-1]
        r = temper("build", recipe, "-o", unsigned, "--epoch", "1600000000")
        unsigned_digest = r.stdout.strip().splitlines()[-1]
        check(r.returncode == 0 and unsigned_digest != digest, "build another image, unsigned")
        test_docker_registry(work, layout, digest, unsigned, unsigned_digest, pub, pub2)
        test_auth(work, layout, digest, pub)
        test_faults(work, layout, digest, pub)
        test_redirects_and_breaks(work, layout, digest, pub)
        test_declared_tar_in_pieces(work, layout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
