#!/usr/bin/env python3
"""temper push against Debian's docker-registry (the reference registry) on loopback.

- Round trip: a signed static image is pushed; skopeo reads back the same
  manifest digest and copies it into a layout; a second push, and a push
  under another tag, upload no blob.
- Signatures: the sha256-<hex>.sig manifest is in the registry and its
  signature checks with `openssl dgst -sha256 -verify`; a push of the same
  image signed with another key keeps the registry's signature first and
  adds the new one.
- Basic auth (htpasswd): no credentials is a clear 401 naming the
  registry; TEMPER_REGISTRY_USERNAME/PASSWORD, --password-stdin, a
  docker config.json, podman's auth.json and docker's credential helpers
  (credHelpers before credsStore before auths; a helper not on PATH named)
  work; a wrong password is refused; no password ever appears in any output.
- TLS: a registry with a self-signed certificate is refused without
  --ca-file (no fallback to http), pushed to with it, and with --insecure
  (which warns).
- Bearer: a proxy in front of the registry that wants a token from its own
  realm (for Basic credentials), then rotates the token mid-push so that
  temper must renew it.
- libcurl is loaded only by the commands that talk to a registry: the
  loader (LD_DEBUG=files) opens it for a push, never for a build, and
  temper-image does not name it (ld.so --list).
- Faults: a proxy that answers 500, 503 and 429 (Retry-After: 1) once and
  resets connections once on each step, then a permanent 500 with the
  registry's error JSON, which must reach the message.

Every server listens on 127.0.0.1 and is stopped in a finally clause.

usage: push_registry.py TEMPER RECIPES_DIR
"""
import base64
import email.utils
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from checks import check, summary  # tests/integration/checks.py

TEMPER, RECIPES = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
PASSWORD = "pa55-w0rd-never-printed"
STALL_S = 60  # a stalled answer of the fault proxy: far over the --stall-timeout of the test


# Where temper looks for credentials besides DOCKER_CONFIG: cleared, so that no login of this
# machine reaches a test (each test that wants one sets it).
AUTH_ENV = ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME")


def run(args, env=None, **kw):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("TEMPER_REGISTRY_") and k not in AUTH_ENV}
    e["DOCKER_CONFIG"] = e["XDG_CONFIG_HOME"] = EMPTY_DOCKER_CONFIG
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, env=e, **kw)


def temper(*args, env=None, input=None):
    return run([TEMPER, *args], env=env, input=input)


KEY1 = None  # set in main(): the key pushes sign with


def push(*args, sign="key", env=None, input=None):
    """temper push: signing for the destination with KEY1 (sign="key", what users do), pushing
    the layout's signatures whatever they name (sign="layout": for the tests that count blobs a
    layout holds), or with the layout's matching signatures only (None)."""
    flags = {"key": ["--key", KEY1], "layout": ["--allow-other-identity"], None: []}[sign]
    return temper("push", *flags, *args, env=env, input=input)


def push_layout(*args, **kw):
    return push(*args, sign="layout", **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uploaded(stderr):
    """The 'N uploaded' count of a push's summary, or None."""
    for line in stderr.splitlines():
        if "uploaded" in line and "blobs" in line:
            return int(line.split(" uploaded")[0].rsplit(" ", 1)[1])
    return None


class Registry:
    """docker-registry serve on a free loopback port, with filesystem storage in `work`."""

    def __init__(self, work, name, htpasswd=None, tls=None):
        self.port = free_port()
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        auth = ""
        if htpasswd:
            auth = f"auth:\n  htpasswd:\n    realm: temper-test\n    path: {htpasswd}\n"
        tls_conf = ""
        if tls:
            tls_conf = f"  tls:\n    certificate: {tls[0]}\n    key: {tls[1]}\n"
        self.scheme = "https" if tls else "http"
        self.config = os.path.join(self.dir, "config.yml")
        with open(self.config, "w") as f:
            f.write("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                    f"    rootdirectory: {self.dir}/data\n  delete:\n    enabled: true\n"
                    f"http:\n  addr: 127.0.0.1:{self.port}\n{tls_conf}{auth}")
        self.host = f"127.0.0.1:{self.port}"
        self.proc = None

    def __enter__(self):
        self.log = open(os.path.join(self.dir, "log"), "a")
        self.proc = subprocess.Popen(["docker-registry", "serve", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{self.scheme}://{self.host}/v2/", timeout=1,
                                       context=ssl._create_unverified_context())
                return self
            except urllib.error.HTTPError:
                return self  # 401 from an htpasswd registry: it is up
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError("docker-registry did not start: " +
                           open(os.path.join(self.dir, "log")).read()[-2000:])

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
        self.log.close()

    def restart(self):
        """Killed (SIGKILL, as a crash), then started again on the same port and storage."""
        self.__exit__()
        self.__enter__()

    def has_blob(self, repo, digest):
        """Whether the storage links `digest` into `repo` (what HEAD answers 200 for): the link
        file written whole."""
        link = os.path.join(self.dir, "data/docker/registry/v2/repositories", repo,
                            "_layers/sha256", digest.split(":")[1], "link")
        try:
            return open(link).read() == digest
        except OSError:
            return False

    def uploads_begun(self, repo):
        """The uploads of `repo` begun and not finished (a committed one is removed)."""
        d = os.path.join(self.dir, "data/docker/registry/v2/repositories", repo, "_uploads")
        return os.listdir(d) if os.path.isdir(d) else []


def get(host, path, accept=None, auth=None):
    req = urllib.request.Request(f"http://{host}{path}")
    if accept:
        req.add_header("Accept", accept)
    if auth:
        req.add_header("Authorization", auth)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


# --- small fakes: an in-memory registry with hooks, and a listener that logs what it gets ------

def reply(h, status, body=b"", headers=()):
    h.send_response(status)
    for k, v in headers:
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if h.command != "HEAD":
        h.wfile.write(body)


class Listener:
    """A threaded HTTP/1.1 server on loopback calling fn(handler, body) and logging each request
    as (method, path, headers). With tls=(cert, key) it speaks https."""

    def __init__(self, fn, tls=None):
        self.log = []
        me = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_HEAD(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                me.log.append((self.command, self.path, dict(self.headers)))
                fn(self, body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def auth_seen(self):
        return [hd.get("Authorization") for _, _, hd in self.log if hd.get("Authorization")]


# --- a proxy in front of the registry: Bearer auth and fault injection ---------------------------

class Proxy(Listener):
    """A threaded HTTP/1.1 proxy on loopback forwarding /v2/ to the registry.

    bearer: wants `Authorization: Bearer <token>` from /token (which wants Basic
    user:PASSWORD), and rotates the token after `rotate_after` requests.
    faults: {(method, kind): [action, ...]}: actions are taken one per matching
    request, in order: an int status (with the registry's error JSON), "429"
    (Retry-After: 1), "429date" (Retry-After: an HTTP-date 3 s ahead), "reset" or
    "stall" (part of an answer, then nothing until the proxy stops, STALL_S at
    most). kind is "blob", "upload", "manifest" or "any".
    log: (method, path, headers) of every request, in order (Listener's).
    """

    def __init__(self, upstream, bearer=False, faults=None, rotate_after=None):
        self.upstream = upstream
        self.bearer = bearer
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.fired = []
        self.rotate_after = rotate_after
        self.tokens_issued = 0
        self.token = None
        self.uses = 0
        self.seen_auth = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        super().__init__(self.handle)

    def __exit__(self, *exc):
        self.stop.set()  # wakes the stalled answers
        super().__exit__(*exc)

    def uploaded_digests(self):
        """The digests of the blobs whose bytes went up (PUT ...?digest=), in order."""
        return [urllib.parse.parse_qs(urllib.parse.urlsplit(p).query)["digest"][0]
                for m, p, _ in self.log if m == "PUT" and "/blobs/uploads/" in p and "digest=" in p]

    @staticmethod
    def kind(path):
        if "/blobs/uploads/" in path:
            return "upload"
        if "/blobs/" in path:
            return "blob"
        if "/manifests/" in path:
            return "manifest"
        return "other"

    def fault(self, h, body):
        with self.lock:
            for key in ((h.command, self.kind(h.path)), (h.command, "any")):
                if self.faults.get(key):
                    action = self.faults[key].pop(0)
                    self.fired.append((key, action))
                    break
            else:
                return False
        if action == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            h.connection.close()
        elif action in ("429", "429date"):
            after = "1" if action == "429" else \
                email.utils.formatdate(time.time() + 3, usegmt=True)
            reply(h, 429, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
                       [("Retry-After", after), ("Content-Type", "application/json")])
        elif action == "stall":
            # Mid-answer: a GET gets its headers and part of its body, anything else part of
            # its headers; then nothing more.
            if h.command == "GET":
                h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + OCI_MANIFEST.encode() +
                              b"\r\nContent-Length: 4096\r\n\r\n{\"schemaVersion\":")
            else:
                h.wfile.write(b"HTTP/1.1 201 Created\r\nContent-Le")
            h.wfile.flush()
            self.stop.wait(STALL_S)
            h.close_connection = True
        else:
            err = {"errors": [{"code": "UNKNOWN", "message": f"injected failure {action}"}]}
            reply(h, int(action), json.dumps(err).encode(),
                       [("Content-Type", "application/json")])
        return True

    def challenge(self, h):
        realm = f"http://{self.host}/token"
        reply(h, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token needed"}]}',
                   [("WWW-Authenticate",
                     f'Bearer realm="{realm}",service="temper-test",'
                     f'scope="repository:static:pull"'),
                    ("Content-Type", "application/json")])

    def token_endpoint(self, h):
        auth = h.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()
        if auth != want:
            reply(h, 401, b'{"details":"bad credentials"}')
            return
        with self.lock:
            self.tokens_issued += 1
            self.token = f"tok-{self.tokens_issued}"
            self.uses = 0
        reply(h, 200, json.dumps({"access_token": self.token}).encode(),
                   [("Content-Type", "application/json")])

    def authorized(self, h):
        with self.lock:
            self.seen_auth.append(h.headers.get("Authorization", ""))
            if self.token is None or h.headers.get("Authorization") != f"Bearer {self.token}":
                return False
            self.uses += 1
            if self.rotate_after and self.uses > self.rotate_after and self.tokens_issued < 2:
                self.token = "expired"  # the next request must renew
                return False
            return True

    def handle(self, h, body):
        body = body or None  # no body at all to upstream, as the client sent
        if h.path.startswith("/token"):
            self.token_endpoint(h)
            return
        if self.bearer and not self.authorized(h):
            self.challenge(h)
            return
        if self.fault(h, body):
            return
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("authorization",)}
        conn.request(h.command, h.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        h.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                h.send_header(k, v)
        h.send_header("Content-Length", r.getheader("Content-Length", "0")
                      if h.command == "HEAD" else str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)
        conn.close()


class FakeRegistry(Listener):
    """An in-memory registry: hook(handler, body) answers first when it returns True."""

    def __init__(self, hook=None, tls=None):
        self.blobs, self.manifests = {}, {}
        self.hook = hook
        super().__init__(self.handle, tls)

    def handle(self, h, body):
        if self.hook and self.hook(h, body):
            return
        path, _, query = h.path.partition("?")
        if "/blobs/uploads/" in path:
            if h.command == "POST":
                return reply(h, 202, b"", [("Location", path + "u1")])
            digest = urllib.parse.parse_qs(query).get("digest", [""])[0]
            self.blobs[digest] = body
            return reply(h, 201, b"", [("Docker-Content-Digest", digest)])
        if "/blobs/" in path:
            blob = self.blobs.get(path.rsplit("/", 1)[1])
            if blob is None:
                return reply(h, 404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"no"}]}')
            return reply(h, 200, b"", [("Content-Length", str(len(blob)))])
        if "/manifests/" in path:
            ref = path.rsplit("/", 1)[1]
            if h.command == "PUT":
                self.manifests[ref] = body
                return reply(h, 201, b"", [("Docker-Content-Digest",
                                            "sha256:" + hashlib.sha256(body).hexdigest())])
            if ref in self.manifests:
                return reply(h, 200, self.manifests[ref], [("Content-Type", OCI_MANIFEST)])
            return reply(h, 404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}')
        return reply(h, 404)


def bearer_hook(realm):
    """A registry that wants `Bearer t` and names `realm` as its token server."""
    def hook(h, body):
        if h.headers.get("Authorization") != "Bearer t":
            reply(h, 401, b"", [("WWW-Authenticate", f'Bearer realm="{realm}",service="s"')])
            return True
        return False
    return hook


CREDS_ENV = {"TEMPER_REGISTRY_USERNAME": "user", "TEMPER_REGISTRY_PASSWORD": PASSWORD}


def stats(stderr):
    """(blobs, uploaded, bytes, mounted, present) of a push's summary line, or None."""
    m = re.search(r"(\d+) blobs, (\d+) uploaded \((\d+) bytes\), (\d+) mounted, (\d+) already "
                  r"present", stderr)
    return tuple(int(x) for x in m.groups()) if m else None


def layout_manifest(layout, tag):
    """The manifest (JSON) tagged `tag` in an OCI layout, and its digest."""
    index = json.load(open(os.path.join(layout, "index.json")))
    for d in index["manifests"]:
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            path = os.path.join(layout, "blobs", "sha256", d["digest"].split(":")[1])
            return json.load(open(path)), d["digest"]
    raise KeyError(tag)


def image_blobs(layout, tag="latest"):
    """{digest: size} of the image tagged `tag` and of its signature manifest's blobs."""
    m, digest = layout_manifest(layout, tag)
    blobs = {d["digest"]: d["size"] for d in [m["config"], *m["layers"]]}
    sig, _ = layout_manifest(layout, "sha256-" + digest.split(":")[1] + ".sig")
    blobs.update({d["digest"]: d["size"] for d in [sig["config"], *sig["layers"]]})
    return blobs


def remote_digest(ref):
    r = run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"])
    return "sha256:" + hashlib.sha256(r.stdout.encode()).hexdigest() if r.returncode == 0 else None


# --- cases -----------------------------------------------------------------------------------

def sig_manifest(host, digest, auth=None, repo="static"):
    tag = "sha256-" + digest.split(":")[1] + ".sig"
    return json.loads(get(host, f"/v2/{repo}/manifests/{tag}", OCI_MANIFEST, auth))


def verify_layer(work, host, layer, pub, what, repo="static"):
    payload = get(host, f"/v2/{repo}/blobs/{layer['digest']}")
    der = base64.b64decode(layer["annotations"][SIG_ANNOTATION])
    pp, sp = os.path.join(work, "payload"), os.path.join(work, "sig.der")
    open(pp, "wb").write(payload)
    open(sp, "wb").write(der)
    r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sp, pp],
                       capture_output=True, text=True)
    check(r.returncode == 0 and "Verified OK" in r.stdout, f"{what}: openssl verifies it")
    return json.loads(payload)


def loaded_libcurl(*args):
    """Runs temper with the loader reporting every object it opens: whether libcurl was one."""
    r = temper(*args, env={"LD_DEBUG": "files"})
    return r, re.search(r"file=libcurl\.so\.4 \[", r.stderr) is not None


def test_libcurl_on_demand(work, layout):
    helper = os.path.join(os.path.dirname(TEMPER), "temper-image")
    r = subprocess.run(["/lib64/ld-linux-x86-64.so.2", "--list", helper], capture_output=True,
                       text=True)
    check(r.returncode == 0 and "libc.so.6" in r.stdout and "libcurl" not in r.stdout,
          f"temper-image is not linked with libcurl (ld.so --list): {r.stdout.strip()}")
    r, loaded = loaded_libcurl("build", os.path.join(RECIPES, "static.yaml"), "-o",
                               os.path.join(work, "no-curl"))
    check(r.returncode == 0 and not loaded, "a build never loads libcurl")
    with Registry(work, "curl") as reg:
        r, loaded = loaded_libcurl("push", "--allow-other-identity", layout,
                                   f"{reg.host}/oncurl:1")
        check(r.returncode == 0 and loaded, f"a push loads libcurl: {r.returncode}")


def test_round_trip(work, layout, digest):
    with Registry(work, "plain") as reg:
        ref = f"{reg.host}/static:latest"
        r = push(layout, ref)
        check(r.returncode == 0 and r.stdout.strip() == digest,
              f"push prints the digest: {r.stdout.strip()} {r.stderr.strip()[-300:]}")
        check(uploaded(r.stderr) == 4, f"first push uploads 4 blobs: {r.stderr.strip()}")
        r = run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"])
        check(r.returncode == 0 and
              "sha256:" + hashlib.sha256(r.stdout.encode()).hexdigest() == digest,
              "skopeo reads back the same manifest digest")
        out = os.path.join(work, "copied")
        r = run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}",
                 f"oci:{out}:latest"])
        check(r.returncode == 0, f"skopeo copies it to a layout: {r.stderr.strip()[-300:]}")
        r = push(layout, ref)
        check(r.returncode == 0 and uploaded(r.stderr) == 0,
              f"a second push uploads no blob: {r.stderr.strip()}")
        r = push(layout, f"{reg.host}/static:v2")
        check(r.returncode == 0 and uploaded(r.stderr) == 0,
              f"a push under another tag uploads no blob: {r.stderr.strip()}")
        # skopeo's spellings of the two ends, as `skopeo copy oci:DIR:TAG docker://REF` takes
        r = push(f"oci:{out}:latest", f"docker://{reg.host}/static:skopeo")
        check(r.returncode == 0 and r.stdout.strip() == digest and uploaded(r.stderr) == 0,
              f"push takes oci:LAYOUT:TAG and docker://REF: {r.stderr.strip()[-300:]}")
        r = temper("inspect", f"oci:{out}:latest")
        r2 = temper("inspect", f"docker://{reg.host}/static:skopeo")
        check(r.returncode == 0 and digest in r.stdout and r2.returncode == 0 and
              digest in r2.stdout, f"inspect takes both too: {(r.stderr + r2.stderr)[-300:]}")
        tags = json.loads(get(reg.host, "/v2/static/tags/list"))["tags"]
        check({"latest", "v2"} <= set(tags), f"both tags are in the registry: {tags}")
        r = push(layout, f"{reg.host}/static@{digest}")
        check(r.returncode == 0, "a push by digest works")
        r = push(layout, f"{reg.host}/static@sha256:" + "0" * 64)
        check(r.returncode == 2 and "the image is" in r.stderr,
              f"a push to another digest is refused: {r.stderr.strip()}")

        # The signature, then one more from another key, merged.
        m = sig_manifest(reg.host, digest)
        check(len(m["layers"]) == 1, "the .sig manifest has one signature")
        p = verify_layer(work, reg.host, m["layers"][0], os.path.join(work, "k1.pub"), "key 1")
        check(p["critical"]["image"]["docker-manifest-digest"] == digest,
              "the payload names the image")
        other = os.path.join(work, "other")
        r = temper("build", os.path.join(RECIPES, "static.yaml"), "-o", other)
        check(r.stdout.strip().splitlines()[-1] == digest, "a rebuild gives the same digest")
        temper("sign", "--key", os.path.join(work, "k2.key"), "--identity",
               f"{reg.host}/static", other)
        r = push(other, ref, sign=None)
        check(r.returncode == 0, f"push of a second signature: {r.stderr.strip()[-300:]}")
        m = sig_manifest(reg.host, digest)
        check(len(m["layers"]) == 2, f"both signatures are kept: {len(m['layers'])}")
        verify_layer(work, reg.host, m["layers"][0], os.path.join(work, "k1.pub"),
                     "the registry's first signature stays first")
        verify_layer(work, reg.host, m["layers"][1], os.path.join(work, "k2.pub"),
                     "the new signature comes after it")
        config = json.loads(get(reg.host, f"/v2/static/blobs/{m['config']['digest']}"))
        check(config["rootfs"]["diff_ids"] == [l["digest"] for l in m["layers"]],
              "the merged config lists both payloads")
        r = push(other, ref, sign=None)
        check(r.returncode == 0 and len(sig_manifest(reg.host, digest)["layers"]) == 2,
              "pushing again adds nothing")
        # both signatures in one layout, pushed to a new repository: their one payload is one
        # blob, sent once, and nothing counts as already there
        temper("sign", "--key", os.path.join(work, "k1.key"), "--identity",
               f"{reg.host}/twice", other)
        temper("sign", "--key", os.path.join(work, "k2.key"), "--identity",
               f"{reg.host}/twice", other)
        r = push(other, f"{reg.host}/twice:1", sign=None)
        check(r.returncode == 0 and uploaded(r.stderr) == 4 and "4 blobs" in r.stderr and
              "0 already present" in r.stderr and
              len(sig_manifest(reg.host, digest, repo="twice")["layers"]) == 2,
              f"an image signed twice goes to a new repository: 4 blobs, none already present: "
              f"{r.stderr.strip()[-300:]}")
        r = push(layout, ref)
        check(r.returncode == 0 and uploaded(r.stderr) == 0 and
              len(sig_manifest(reg.host, digest)["layers"]) == 2,
              "--key again: its signature of the same payload is there (ECDSA signs anew each "
              f"time), so nothing is added: {r.stderr.strip()[-300:]}")


def test_identity(work):
    """A pushed signature names the repository it is pushed to, as podman, CRI-O and skopeo
    (containers/image's matchRepository) require: a build signed for the recipe's name, pushed
    as it is, would be refused by all of them."""
    tools = os.path.join(work, "tools")
    r = temper("build", os.path.join(RECIPES, "static.yaml"), "-o", tools, "--key", KEY1)
    if not check(r.returncode == 0, f"build --key without --identity: {r.stderr.strip()[-300:]}"):
        return
    digest = r.stdout.strip().splitlines()[-1]
    k1pub, k2 = os.path.join(work, "k1.pub"), os.path.join(work, "k2.key")
    with Registry(work, "identity") as reg:
        dest, repo = f"{reg.host}/acc/tools:t", f"{reg.host}/acc/tools"
        r = push(tools, dest, sign=None)
        check(r.returncode == 1 and f"names 'static', not '{repo}'" in r.stderr and
              "--key" in r.stderr and "--allow-other-identity" in r.stderr,
              f"the layout signed for 'static' only: refused, naming both: {r.stderr.strip()}")
        check(not os.path.exists(os.path.join(reg.dir, "data/docker/registry/v2/repositories",
                                              "acc")),
              "and nothing was sent before the refusal: the registry has no acc/ repository")

        r = push(tools, dest)
        check(r.returncode == 0 and "1 made with --key, 0 from the layout" in r.stderr and
              "1 of the layout's left out" in r.stderr,
              f"--key signs for the destination; the 'static' signature stays behind: "
              f"{r.stderr.strip()[-400:]}")
        m = sig_manifest(reg.host, digest, repo="acc/tools")
        check(len(m["layers"]) == 1, f"one signature in the registry: {len(m['layers'])}")
        p = verify_layer(work, reg.host, m["layers"][0], k1pub, "the push-time signature",
                         repo="acc/tools")
        check(p["critical"]["identity"]["docker-reference"] == repo and
              p["critical"]["image"]["docker-manifest-digest"] == digest,
              f"its payload names {repo} and the image: {p['critical']}")
        r = temper("verify", "--key", k1pub, dest)
        check(r.returncode == 0 and f"for '{repo}'" in r.stderr,
              f"remote verify without --identity: the repository read from: {r.stderr.strip()}")
        r = push(tools, dest)
        check(r.returncode == 0 and uploaded(r.stderr) == 0 and
              len(sig_manifest(reg.host, digest, repo="acc/tools")["layers"]) == 1,
              "pushing again with the same key adds no signature")
        r = temper("push", "--key", KEY1, "--key", k2, tools, dest)
        check(r.returncode == 0 and "2 made with --key" in r.stderr and
              len(sig_manifest(reg.host, digest, repo="acc/tools")["layers"]) == 2,
              f"two --key: one more signature, by the second key: {r.stderr.strip()[-300:]}")

        # pushed anyway, a signature for another name is refused by remote verify, as
        # containers/image refuses it
        other, other_repo = f"{reg.host}/acc/other:t", f"{reg.host}/acc/other"
        r = push(tools, other, sign="layout")
        check(r.returncode == 0 and "--allow-other-identity: pushed signatures that name "
              f"'static', not '{other_repo}'" in r.stderr,
              f"--allow-other-identity pushes it and says so: {r.stderr.strip()[-300:]}")
        r = temper("verify", "--key", k1pub, other)
        check(r.returncode == 1 and f"names 'static', not '{other_repo}'" in r.stderr,
              f"remote verify refuses a signature naming another repository: {r.stderr.strip()}")
        r = temper("verify", "--key", k1pub, "--identity", "static", other)
        check(r.returncode == 0, f"--identity still overrides: {r.stderr.strip()}")

        # a signature for acc/tools copied to acc/copy: the wrong repository, even on one host
        copy = os.path.join(work, "copy")
        shutil.copytree(os.path.join(work, "static"), copy)
        r = temper("sign", "--key", KEY1, "--identity", repo, copy)
        check(r.returncode == 0 and "note:" not in r.stderr, f"sign --identity: {r.stderr}")
        r = push(copy, f"{reg.host}/acc/copy:t", sign="layout")
        r = temper("verify", "--key", k1pub, f"{reg.host}/acc/copy:t")
        check(r.returncode == 1 and f"names '{repo}', not '{reg.host}/acc/copy'" in r.stderr,
              f"a signature for acc/tools does not hold for acc/copy: {r.stderr.strip()}")
        r = temper("verify", "--key", k1pub, f"{reg.host}/acc/tools:t")
        check(r.returncode == 0, "and acc/tools still verifies")

        # what containers/image cannot name cannot be signed for
        r = temper("push", "--key", KEY1, tools, "[::1]:5000/acc/tools:t")
        check(r.returncode == 2 and "cannot parse '[::1]:5000/acc/tools'" in r.stderr,
              f"--key for an IPv6 registry: a usage error saying why: {r.stderr.strip()}")


def test_basic_auth(work, layout, digest):
    htpasswd = os.path.join(work, "htpasswd")
    r = run(["htpasswd", "-Bbc", htpasswd, "user", PASSWORD])
    check(r.returncode == 0, "htpasswd")
    with Registry(work, "basic", htpasswd=htpasswd) as reg:
        ref = f"{reg.host}/static:latest"
        outs = []
        r = push(layout, ref)
        outs.append(r)
        check(r.returncode == 1 and "401" in r.stderr and reg.host in r.stderr,
              f"no credentials: a 401 naming the registry: {r.stderr.strip()}")
        r = push(layout, ref, env={"TEMPER_REGISTRY_USERNAME": "user",
                                             "TEMPER_REGISTRY_PASSWORD": "wrong-" + PASSWORD})
        outs.append(r)
        check(r.returncode == 1 and "refused the credentials" in r.stderr,
              f"a wrong password is refused: {r.stderr.strip()}")
        r = push(layout, ref, env={"TEMPER_REGISTRY_USERNAME": "user",
                                             "TEMPER_REGISTRY_PASSWORD": PASSWORD})
        outs.append(r)
        check(r.returncode == 0 and r.stdout.strip() == digest,
              f"TEMPER_REGISTRY_USERNAME/PASSWORD: pushed: {r.stderr.strip()[-300:]}")
        r = push("--username", "user", "--password-stdin", layout,
                   f"{reg.host}/static:stdin", input=PASSWORD + "\n")
        outs.append(r)
        check(r.returncode == 0, f"--password-stdin: pushed: {r.stderr.strip()[-300:]}")
        cfg = os.path.join(work, "docker-config")
        os.makedirs(cfg)
        auth = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
        with open(os.path.join(cfg, "config.json"), "w") as f:
            json.dump({"auths": {f"http://{reg.host}": {"auth": auth}}}, f)
        r = push(layout, f"{reg.host}/static:cfg", env={"DOCKER_CONFIG": cfg})
        outs.append(r)
        check(r.returncode == 0, f"docker config auths: pushed: {r.stderr.strip()[-300:]}")
        # podman's auth.json, in containers-auth.json(5)'s order, before docker's config
        run_dir = os.path.join(work, "xdg-run")
        os.makedirs(os.path.join(run_dir, "containers"))
        with open(os.path.join(run_dir, "containers", "auth.json"), "w") as f:
            json.dump({"auths": {reg.host: {"auth": auth}}}, f)
        r = push(layout, f"{reg.host}/static:podman", env={"XDG_RUNTIME_DIR": run_dir})
        outs.append(r)
        check(r.returncode == 0, f"podman's $XDG_RUNTIME_DIR/containers/auth.json (podman "
              f"login's): pushed: {r.stderr.strip()[-300:]}")
        wrong = wrong_auth = base64.b64encode(f"user:wrong-{PASSWORD}".encode()).decode()
        named = os.path.join(work, "named-auth.json")
        with open(named, "w") as f:
            json.dump({"auths": {reg.host: {"auth": wrong}}}, f)
        r = push(layout, f"{reg.host}/static:first", env={"REGISTRY_AUTH_FILE": named,
                                                          "DOCKER_CONFIG": cfg})
        outs.append(r)
        check(r.returncode == 1 and "refused the credentials" in r.stderr,
              f"REGISTRY_AUTH_FILE comes first, before docker's config: {r.stderr.strip()}")
        # docker's credential helpers: credHelpers for the host, else credsStore, run as
        # `docker-credential-NAME get` with the server on standard input
        bin_dir = os.path.join(work, "helper-bin")
        os.makedirs(bin_dir)
        for name, password in (("right", PASSWORD), ("wrong", "wrong-" + PASSWORD)):
            script = os.path.join(bin_dir, f"docker-credential-{name}")
            with open(script, "w") as f:
                f.write(f"#!/bin/sh\n[ \"$1\" = get ] || exit 9\nread -r server\n"
                        f"[ \"$server\" = '{reg.host}' ] || "
                        f"{{ echo 'credentials not found in native keychain'; exit 1; }}\n"
                        f"printf '{{\"ServerURL\":\"%s\",\"Username\":\"user\","
                        f"\"Secret\":\"{password}\"}}' \"$server\"\n")
            os.chmod(script, 0o755)
        helper_env = {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")}
        for i, (config, expect, says) in enumerate([
                ({"credHelpers": {reg.host: "right"}, "credsStore": "wrong"}, 0, ""),
                ({"credsStore": "right", "auths": {reg.host: {"auth": wrong_auth}}}, 0, ""),
                ({"credHelpers": {reg.host: "wrong"}}, 1, "refused the credentials"),
                ({"credHelpers": {reg.host: "absent"}}, 1,
                 "cannot run credential helper 'docker-credential-absent' (not on PATH")]):
            helpers = os.path.join(work, f"docker-config-helper{i}")
            os.makedirs(helpers)
            with open(os.path.join(helpers, "config.json"), "w") as f:
                json.dump(config, f)
            r = push(layout, f"{reg.host}/static:helper{i}", env={"DOCKER_CONFIG": helpers,
                                                                    **helper_env})
            outs.append(r)
            said = {0: "pushed", 1: "refused"}[expect]
            check(r.returncode == expect and says in r.stderr,
                  f"credential helper, {sorted(config)} (case {i}): {said}: "
                  f"{r.stderr.strip()[-300:]}")
        r = push("--username", "user", layout, ref)
        check(r.returncode == 2, "--username without --password-stdin is a usage error")
        leaked = [o for o in outs if PASSWORD in o.stdout + o.stderr or auth in o.stderr]
        check(not leaked, "the password appears in no output")
        creds = "Basic " + auth
        check(len(sig_manifest(reg.host, digest, creds)["layers"]) == 1,
              "the signature was pushed too")


def test_tls(work, layout, digest):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
    if not check(r.returncode == 0, f"a self-signed certificate: {r.stderr.strip()[-200:]}"):
        return
    with Registry(work, "tls", tls=(cert, key)) as reg:
        ref = f"{reg.host}/static:latest"
        r = push(layout, ref)
        check(r.returncode == 1 and "certificate" in r.stderr and "https://" in r.stderr,
              f"TLS: an unknown CA is refused, no fallback to http: {r.stderr.strip()}")
        r = push("--ca-file", cert, layout, ref)
        check(r.returncode == 0 and r.stdout.strip() == digest and "warning" not in r.stderr,
              f"TLS: --ca-file: pushed: {r.stderr.strip()[-300:]}")
        r = push("--insecure", layout, f"{reg.host}/static:insecure")
        check(r.returncode == 0 and "warning: --insecure" in r.stderr and
              uploaded(r.stderr) == 0, f"TLS: --insecure warns and pushes: {r.stderr.strip()}")
        r = push("--plain-http", "--ca-file", cert, layout, ref)
        check(r.returncode == 1, "TLS: --plain-http to an https registry fails")
        r = push("--ca-file", os.path.join(work, "missing.pem"), layout, ref)
        check(r.returncode == 1 and "missing.pem" in r.stderr,
              f"TLS: a missing --ca-file is an error: {r.stderr.strip()}")


def test_bearer(work, layout, digest):
    with Registry(work, "bearer-upstream") as reg, \
            Proxy(reg.host, bearer=True, rotate_after=3) as proxy:
        ref = f"{proxy.host}/static:latest"
        r = push(layout, ref)
        check(r.returncode == 1 and "token server" in r.stderr and "401" in r.stderr,
              f"Bearer without credentials: refused by the token server: {r.stderr.strip()}")
        r = push(layout, ref, env={"TEMPER_REGISTRY_USERNAME": "user",
                                             "TEMPER_REGISTRY_PASSWORD": PASSWORD})
        check(r.returncode == 0 and r.stdout.strip() == digest,
              f"Bearer: pushed through the token flow: {r.stderr.strip()[-400:]}")
        check(proxy.tokens_issued == 2, f"the rotated token was renewed: {proxy.tokens_issued}")
        check(not any(PASSWORD in a or "Basic" in a for a in proxy.seen_auth),
              "the registry never got the Basic credentials, only tokens")
        check(PASSWORD not in r.stderr + r.stdout, "the password appears in no output")
        r = run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{reg.host}/static:latest"])
        check("sha256:" + hashlib.sha256(r.stdout.encode()).hexdigest() == digest,
              "the image is in the registry behind the proxy")


def test_faults(work, layout, digest):
    faults = {("HEAD", "blob"): ["reset", 500],
              ("POST", "upload"): ["429", 502],
              ("PUT", "upload"): ["reset", 503],
              ("PUT", "manifest"): [500, "reset"],
              ("GET", "manifest"): [503]}
    with Registry(work, "faults-upstream") as reg, Proxy(reg.host, faults=faults) as proxy:
        start = time.monotonic()
        r = push_layout(layout, f"{proxy.host}/static:latest")
        took = time.monotonic() - start
        check(r.returncode == 0 and r.stdout.strip() == digest,
              f"a push through resets, 5xx and 429 succeeds: {r.stderr.strip()[-400:]}")
        left = {k: v for k, v in proxy.faults.items() if v}
        check(not left, f"every fault was met: left {left}, fired {len(proxy.fired)}")
        check(took >= 1.0, f"Retry-After: 1 was honoured ({took:.1f} s)")
        r = push_layout(layout, f"{reg.host}/static:latest")
        check(r.returncode == 0 and uploaded(r.stderr) == 0,
              "the registry behind the proxy has every blob")
    with Registry(work, "faults-permanent") as reg, \
            Proxy(reg.host, faults={("POST", "upload"): [500] * 10}) as proxy:
        r = push_layout(layout, f"{proxy.host}/static:latest")
        check(r.returncode == 1 and "HTTP 500" in r.stderr and
              "injected failure 500" in r.stderr and proxy.host in r.stderr,
              f"a lasting 500 fails with the registry's own message: {r.stderr.strip()}")
        # the layer's upload (on its own connection) and the config's, each tried 5 times
        check(len(proxy.fired) == 10, f"each upload was tried 5 times: {len(proxy.fired)}")


def test_hostile_registry(work, layout, digest):
    """Registries and hosts that try to get the credentials, stall, or write to the terminal."""
    basic = "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()

    # An upload Location on another host that asks for a Bearer token from its own realm: it
    # must get neither the Basic credentials nor the registry's token.
    def evil_fn(h, body):
        if h.path.startswith("/token"):
            return reply(h, 200, b'{"token":"evil-token"}')
        reply(h, 401, b"", [("WWW-Authenticate",
                              f'Bearer realm="http://{evil.host}/token",service="x"')])

    def cross_location(h, body):
        if h.headers.get("Authorization") != basic:
            reply(h, 401, b"", [("WWW-Authenticate", 'Basic realm="r"')])
            return True
        if h.command == "POST":
            reply(h, 202, b"", [("Location", f"http://{evil.host}/upload/1")])
            return True
        return False

    with Listener(evil_fn) as evil, FakeRegistry(cross_location) as reg:
        r = push(layout, f"{reg.host}/static:latest", env=CREDS_ENV)
        check(r.returncode == 1 and evil.host in r.stderr and "not the registry's origin" in
              r.stderr, f"a 401 from an upload host elsewhere is not answered: {r.stderr.strip()}")
        check(evil.log and not evil.auth_seen(),
              f"the other host got no Authorization: {evil.auth_seen()}")
        check(not any(p.startswith("/token") for _, p, _ in evil.log),
              "the other host's token realm was never asked")

    # Token realms: userinfo (hand-parsed, 'http://127.0.0.1:x@evil/' looked like loopback) and
    # plain http on another host while the registry itself speaks plain http.
    with Listener(lambda h, body: reply(h, 200, b'{"token":"t"}')) as evil:
        for realm, why in ((f"http://127.0.0.1:x@localhost:{evil.host.split(':')[1]}/token",
                            "user name or password"),
                           ("http://auth.invalid/token", "plain http")):
            with FakeRegistry(bearer_hook(realm)) as reg:
                r = push(layout, f"{reg.host}/static:latest", env=CREDS_ENV)
                check(r.returncode == 1 and "token realm" in r.stderr and why in r.stderr,
                      f"realm {realm} refused ({why}): {r.stderr.strip()[-300:]}")
        check(not evil.log, f"the realm's host was never asked: {len(evil.log)} requests")

    # An https registry whose upload Location goes down to plain http on another host.
    cert, key = os.path.join(work, "hostile-cert.pem"), os.path.join(work, "hostile-key.pem")
    r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
    if check(r.returncode == 0, "a certificate for the https fake"):
        def downgrade(h, body):
            if h.command == "POST":
                reply(h, 202, b"", [("Location", "http://upload.invalid/u?sig=secret")])
                return True
            return False

        with FakeRegistry(downgrade, tls=(cert, key)) as reg:
            r = push("--ca-file", cert, layout, f"{reg.host}/static:latest")
            check(r.returncode == 1 and "no usable upload Location 'http://upload.invalid/u'"
                  in r.stderr and "secret" not in r.stderr,
                  f"https to a plain-http Location elsewhere is refused: {r.stderr.strip()}")

    # The registry's error JSON with escape sequences: shown escaped; and the failure path of a
    # request that had a body leaks nothing (LeakSanitizer would change the exit status).
    def escapes(h, body):
        if h.command == "PUT" and "/manifests/" in h.path:
            reply(h, 400, json.dumps({"errors": [{"code": "X\x1b[2J",
                                                  "message": "\x1b]0;pwned\x07\r\nfake: line"}]})
                  .encode())
            return True
        return False

    with FakeRegistry(escapes) as reg:
        r = push(layout, f"{reg.host}/static:latest")
        check(r.returncode == 1 and
              "HTTP 400: X\\x1b[2J: \\x1b]0;pwned\\x07\\r\\nfake: line" in r.stderr and
              not any(c in r.stderr for c in "\x1b\x07\r"),
              f"control characters of the registry's message are escaped: {r.stderr!r}")

    def manifest_503(h, body):
        if h.command == "PUT" and "/manifests/" in h.path:
            reply(h, 503, b'{"errors":[{"code":"UNAVAILABLE","message":"down"}]}')
            return True
        return False

    with FakeRegistry(manifest_503) as reg:
        r = push(layout, f"{reg.host}/static:latest")
        check(r.returncode == 1 and "HTTP 503: UNAVAILABLE: down" in r.stderr,
              f"a lasting 503 with a body: exit 1, no leak: {r.returncode} "
              f"{r.stderr.strip()[-300:]}")

    # A HEAD 200 naming other bytes (size or digest) counts as absent: the blob is uploaded.
    def wrong_head(h, body):
        if h.command == "HEAD" and "/blobs/" in h.path:
            h.send_response(200)
            h.send_header("Content-Length", "1")
            h.send_header("Docker-Content-Digest", "sha256:" + "1" * 64)
            h.end_headers()
            return True
        return False

    with FakeRegistry(wrong_head) as reg:
        r = push(layout, f"{reg.host}/static:latest")
        check(r.returncode == 0 and "0 already present" in r.stderr and
              uploaded(r.stderr) == len(reg.blobs) >= 2,
              f"a HEAD 200 of other bytes: the blobs are uploaded: {r.stderr.strip()[-200:]}")

    # A blob PUT whose Docker-Content-Digest names another digest is an error.
    def wrong_put(h, body):
        if h.command == "PUT" and "/blobs/uploads/" in h.path:
            reply(h, 201, b"", [("Docker-Content-Digest", "sha256:" + "0" * 64 + "\x1b")])
            return True
        return False

    with FakeRegistry(wrong_put) as reg:
        r = push(layout, f"{reg.host}/static:latest")
        check(r.returncode == 1 and "stored the blob as 'sha256:" + "0" * 64 + "\\x1b'" in r.stderr
              and not reg.manifests,
              f"a blob stored under another digest is an error: {r.stderr.strip()}")

    # A registry trickling headers forever is ended by the request deadline (120 s,
    # REGISTRY_REQUEST_DEADLINE_MS): too slow to run here; test_registry checks the deadline's
    # computation.


def test_mount(work, py, py_digest):
    """--from: blobs another repository of the registry holds are mounted, not uploaded."""
    with Registry(work, "mount") as reg, Proxy(reg.host) as proxy:
        r = push_layout(py, f"{reg.host}/team/a:latest")
        check(r.returncode == 0 and stats(r.stderr)[1] == 4,
              f"mount: the python image is pushed to team/a: {r.stderr.strip()[-300:]}")
        r = push_layout("--from", "team/a", py, f"{proxy.host}/team/b:latest")
        st = stats(r.stderr)
        check(r.returncode == 0 and r.stdout.strip() == py_digest and st is not None and
              st[1:4] == (0, 0, 4), f"--from team/a: 4 blobs mounted, 0 bytes uploaded: {st} "
              f"{r.stderr.strip()[-300:]}")
        check(not proxy.uploaded_digests() and not any(m == "PATCH" for m, _, _ in proxy.log),
              f"no blob bytes went to the registry: {proxy.uploaded_digests()}")
        mounts = [p for m, p, _ in proxy.log if m == "POST" and "mount=" in p]
        check(len(mounts) == 4 and all("from=team/a" in p for p in mounts),
              f"each blob was mounted with POST ?mount=&from=team/a: {mounts}")
        check(remote_digest(f"{reg.host}/team/b:latest") == py_digest,
              "skopeo reads back the same digest from team/b")
        sig_tag = "sha256-" + py_digest.split(":")[1] + ".sig"
        m = json.loads(get(reg.host, f"/v2/team/b/manifests/{sig_tag}", OCI_MANIFEST))
        check(len(m["layers"]) == 1 and reg.has_blob("team/b", m["layers"][0]["digest"]),
              "the signature manifest and its blobs are in team/b")

        # A repository that lacks the blobs: the registry starts an upload (202), used as is.
        proxy.log.clear()
        r = push_layout("--from", "nothere", py, f"{proxy.host}/team/c:latest")
        st = stats(r.stderr)
        check(r.returncode == 0 and st is not None and st[1] == 4 and st[3] == 0,
              f"--from a repository without the blobs: uploaded instead: {st} "
              f"{r.stderr.strip()[-300:]}")
        posts = [p for m, p, _ in proxy.log if m == "POST"]
        check(len(posts) == 4 and all("mount=" in p for p in posts),
              f"the uploads went into the sessions the mount requests began: {posts}")
        check(remote_digest(f"{reg.host}/team/c:latest") == py_digest,
              "skopeo reads back the same digest from team/c")

        # Sources in order: the first lacks the blobs (its upload is cancelled), the second has.
        proxy.log.clear()
        r = push_layout("--from", "nothere", "--from", f"{proxy.host}/team/a", py,
                   f"{proxy.host}/team/d:latest")
        st = stats(r.stderr)
        deletes = [p for m, p, _ in proxy.log if m == "DELETE"]
        check(r.returncode == 0 and st is not None and st[1:4] == (0, 0, 4) and
              len(deletes) == 4, f"two --from: the second mounts, the first's uploads are "
              f"cancelled: {st} {len(deletes)} DELETE")
        check(remote_digest(f"{reg.host}/team/d:latest") == py_digest, "team/d reads back")

        r = push_layout("--from", "other.example/team/a", py, f"{reg.host}/team/e:latest")
        check(r.returncode == 2 and "other.example/team/a" in r.stderr and
              "within one registry" in r.stderr,
              f"--from another registry is a usage error: {r.stderr.strip()}")
        r = push_layout("--from", "team/a:latest", py, f"{reg.host}/team/e:latest")
        check(r.returncode == 2 and "without a tag" in r.stderr,
              f"--from with a tag is a usage error: {r.stderr.strip()}")


def test_shared_base(work, py, py_digest):
    """A second image with the same layer (another entrypoint and environment): only its config
    and its signature's blobs go up."""
    recipes = os.path.join(work, "recipes")
    shutil.copytree(RECIPES, recipes)
    with open(os.path.join(recipes, "agent.yaml"), "w") as f:
        f.write("name: agent\ninclude: [python.yaml]\n"
                "entrypoint: {command: [/usr/bin/python3, -I, -m, agent]}\n"
                "environment: {AGENT_MODE: strict}\n")
    agent = os.path.join(work, "agent")
    r = temper("build", os.path.join(recipes, "agent.yaml"), "-o", agent,
               "--key", os.path.join(work, "k1.key"))
    if not check(r.returncode == 0, f"build the agent image: {r.stderr.strip()[-300:]}"):
        return
    base_m, _ = layout_manifest(py, "latest")
    agent_m, agent_digest = layout_manifest(agent, "latest")
    check(agent_m["layers"] == base_m["layers"] and agent_m["config"] != base_m["config"],
          "the agent image has the python image's layer and a config of its own")
    new = {d: n for d, n in image_blobs(agent).items() if d not in image_blobs(py)}
    check(len(new) == 3, f"new blobs: its config and its signature's payload and config: {new}")
    with Registry(work, "shared") as reg, Proxy(reg.host) as proxy:
        r = push_layout(py, f"{reg.host}/agents:python")
        check(r.returncode == 0, f"the python image is pushed first: {r.stderr.strip()[-300:]}")
        r = push_layout(agent, f"{proxy.host}/agents:agent")
        st = stats(r.stderr)
        check(r.returncode == 0 and r.stdout.strip() == agent_digest and
              st == (4, 3, sum(new.values()), 0, 1),
              f"the agent image: 3 of 4 blobs uploaded ({sum(new.values())} bytes), the layer "
              f"there already: {st}")
        check(sorted(proxy.uploaded_digests()) == sorted(new),
              f"exactly the new blobs went up, not the layer: {proxy.uploaded_digests()}")
        check(remote_digest(f"{reg.host}/agents:agent") == agent_digest and
              remote_digest(f"{reg.host}/agents:python") == py_digest,
              "both tags read back with their digests")


def test_stall(work, layout, digest):
    """Answers that stop mid-way, for longer than --stall-timeout: the try fails, the next one
    completes."""
    faults = {("HEAD", "blob"): ["stall"], ("PUT", "upload"): ["stall"],
              ("GET", "manifest"): ["stall"]}
    with Registry(work, "stall-upstream") as reg, Proxy(reg.host, faults=faults) as proxy:
        start = time.monotonic()
        r = push_layout("--stall-timeout", "1", layout, f"{proxy.host}/static:latest")
        took = time.monotonic() - start
        check(r.returncode == 0 and r.stdout.strip() == digest,
              f"a push through three stalled answers succeeds: {r.stderr.strip()[-400:]}")
        check(len(proxy.fired) == 3, f"every stall was met: {proxy.fired}")
        # libcurl averages the speed over about 5 s: a stall right after a request body went up
        # (the PUT) is noticed up to 5 s after the stall timeout; one never noticed takes STALL_S.
        check(3 <= took < STALL_S / 2,
              f"each stall was cut within the 1 s stall timeout and libcurl's 5 s speed "
              f"average ({took:.1f} s)")
        check(remote_digest(f"{reg.host}/static:latest") == digest,
              "the registry behind the proxy holds the image")
        r = push_layout(layout, f"{reg.host}/static:latest")
        check(r.returncode == 0 and uploaded(r.stderr) == 0, "and every blob of it")
    r = push_layout("--stall-timeout", "0", layout, "127.0.0.1:1/static:latest")
    check(r.returncode == 2 and "--stall-timeout" in r.stderr,
          f"--stall-timeout 0 is a usage error: {r.stderr.strip()}")


def test_retry_after_date(work, layout, digest):
    """Retry-After as an HTTP-date (3 s ahead) is honoured, not replaced by a 250 ms backoff."""
    with Registry(work, "retry-date-upstream") as reg, \
            Proxy(reg.host, faults={("PUT", "manifest"): ["429date"]}) as proxy:
        start = time.monotonic()
        r = push(layout, f"{proxy.host}/static:latest")
        took = time.monotonic() - start
        check(r.returncode == 0 and len(proxy.fired) == 1,
              f"a 429 with an HTTP-date Retry-After, then success: {r.stderr.strip()[-300:]}")
        check(took >= 1.9, f"the date was waited for ({took:.1f} s)")


def test_nothing_listening(layout):
    """A loopback registry that is not there: the error says what was tried (https, and plain
    http only once something answers without TLS), not only the https URL."""
    r = push_layout("--timeout", "30", layout, f"127.0.0.1:{free_port()}/app:latest")
    check(r.returncode == 1 and "https://127.0.0.1:" in r.stderr and
          "nothing answered: a registry on loopback is tried over https, then over plain http"
          in r.stderr, f"nothing listening: says what was tried: {r.stderr.strip()[-300:]}")


def test_registry_killed(work, layout, digest):
    """The registry killed mid-push (during the upload of a big layer): a clear error, the tag
    still names the image pushed before, and a rerun after a restart sends only what is missing."""
    recipes = os.path.join(work, "recipes-big")
    shutil.copytree(RECIPES, recipes)
    big = os.path.join(work, "big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(48 << 20))  # does not compress: a long upload
    with open(os.path.join(recipes, "big.yaml"), "w") as f:
        f.write(f"name: big\ninclude: [static.yaml]\ncontents: {{files: [{big}]}}\n"
                "compression: zstd\nlevel: 1\n")
    layout_big = os.path.join(work, "big")
    r = temper("build", os.path.join(recipes, "big.yaml"), "-o", layout_big,
               "--key", os.path.join(work, "k1.key"))
    if not check(r.returncode == 0, f"build a big image: {r.stderr.strip()[-300:]}"):
        return
    m, big_digest = layout_manifest(layout_big, "latest")
    config, layer = m["config"]["digest"], m["layers"][0]["digest"]
    blobs = image_blobs(layout_big)
    with Registry(work, "killed") as reg:
        r = push_layout(layout, f"{reg.host}/app:latest")
        check(r.returncode == 0, "the first image is pushed under app:latest")
        proc = subprocess.Popen([TEMPER, "push", "--allow-other-identity", layout_big, f"{reg.host}/app:latest"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**{k: v for k, v in os.environ.items() if k not in AUTH_ENV},
                                     "DOCKER_CONFIG": EMPTY_DOCKER_CONFIG,
                                     "XDG_CONFIG_HOME": EMPTY_DOCKER_CONFIG})
        # Every small blob is in and the layer's upload has begun: temper is stopped there (so
        # that the moment cannot pass), the registry killed, temper let go on. Not earlier: the
        # registry writes a blob's link file in place, and one killed while writing it answers
        # 500 for that blob from then on (an empty link), which no client can repair.
        small = [d for d in blobs if d != layer]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and \
                not (all(reg.has_blob("app", d) for d in small) and reg.uploads_begun("app")):
            time.sleep(0.001)
        stopped = proc.poll() is None
        if stopped:
            os.kill(proc.pid, signal.SIGSTOP)
        reg.proc.kill()
        reg.proc.wait()
        if stopped:
            os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=120)
        check(stopped and proc.returncode == 1 and reg.host in err and "rerun" in err,
              f"registry killed mid-push: exit 1, the registry named, a rerun advised: {err}")
        reg.restart()
        check(not reg.has_blob("app", layer), "the big layer never arrived (killed mid-push)")
        check(remote_digest(f"{reg.host}/app:latest") == digest,
              "app:latest still names the first image, not a half-pushed one")
        present = [d for d in blobs if reg.has_blob("app", d)]
        r = push_layout(layout_big, f"{reg.host}/app:latest")
        st = stats(r.stderr)
        check(r.returncode == 0 and r.stdout.strip() == big_digest and st is not None and
              config in present and st[0] == len(blobs) and st[4] == len(present) and
              st[1] == len(blobs) - len(present),
              f"the rerun completes and uploads only the {len(blobs) - len(present)} missing "
              f"blobs: {st}, {len(present)} there: {r.stderr.strip()[-600:]}")
        check(remote_digest(f"{reg.host}/app:latest") == big_digest,
              "app:latest names the big image now")


def main():
    global EMPTY_DOCKER_CONFIG
    for tool in ("docker-registry", "htpasswd", "skopeo", "openssl"):
        if shutil.which(tool) is None:
            sys.exit(f"push_registry.py needs {tool} (scripts/install-deps.sh test)")
    work = tempfile.mkdtemp(prefix="temper-push-")
    try:
        EMPTY_DOCKER_CONFIG = os.path.join(work, "no-docker-config")
        os.makedirs(EMPTY_DOCKER_CONFIG)
        os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
        global KEY1
        KEY1 = os.path.join(work, "k1.key")
        layout = os.path.join(work, "static")
        r = temper("build", os.path.join(RECIPES, "static.yaml"), "-o", layout)
        if not check(r.returncode == 0, f"build static: {r.stderr.strip()[-300:]}"):
            return 1
        digest = r.stdout.strip().splitlines()[-1]
        for k in ("k1", "k2"):
            r = temper("keygen", "-o", os.path.join(work, k))
            check(r.returncode == 0, f"keygen {k}")
        r = temper("sign", "--key", os.path.join(work, "k1.key"), layout)
        check(r.returncode == 0, f"sign: {r.stderr.strip()}")
        test_libcurl_on_demand(work, layout)
        test_round_trip(work, layout, digest)
        test_identity(work)
        test_basic_auth(work, layout, digest)
        test_tls(work, layout, digest)
        test_bearer(work, layout, digest)
        test_faults(work, layout, digest)
        test_hostile_registry(work, layout, digest)
        test_stall(work, layout, digest)
        test_retry_after_date(work, layout, digest)
        test_registry_killed(work, layout, digest)
        test_nothing_listening(layout)
        py = os.path.join(work, "python")
        r = temper("build", os.path.join(RECIPES, "python.yaml"), "-o", py,
                   "--key", os.path.join(work, "k1.key"))
        if check(r.returncode == 0, f"build python: {r.stderr.strip()[-300:]}"):
            py_digest = r.stdout.strip().splitlines()[-1]
            test_mount(work, py, py_digest)
            test_shared_base(work, py, py_digest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
