#!/usr/bin/env python3
"""Recipe tests at build time and temper run: commands of an image run under bubblewrap.

- recipes/python.yaml's tests pass, and the image's digest is the one --skip-tests gives.
- Failing tests (an exit status, output that does not match, a hang past its timeout, a write
  to /, a connection out of the sandbox's network) fail the build with the test's place and
  output, escaped, and leave the layout as it was: not made when new, byte for byte the same
  when it held an image.
- temper run: the entrypoint's exit status, the image's user, working directory and
  environment and nothing of the caller's, --network, and refusals before anything runs: a
  layer whose bytes were changed, and layers with "..", a device node or a whiteout.
- No temporary tree is left behind (TMPDIR is the test's own and ends empty).

usage: sandbox.py TEMPER RECIPES_DIR
"""
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

from checks import check, summary, tree_files  # tests/integration/checks.py

TEMPER, RECIPES = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PY = "/usr/bin/python3"


def run(args, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, env=e, **kw)


def temper(*args, **kw):
    return run([TEMPER, *args], **kw)


def recipe(work, name, tests, extra=""):
    path = os.path.join(work, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(f"name: {name}\ninclude: [{RECIPES}/python.yaml]\n{extra}tests:\n{tests}")
    return path


def test_recipe_tests_pass(work):
    out = os.path.join(work, "python")
    r = temper("build", os.path.join(RECIPES, "python.yaml"), "-o", out)
    check(r.returncode == 0 and "tests: 4 passed" in r.stderr,
          f"python.yaml's 4 tests pass: {r.stderr.strip()[-300:]}")
    r2 = temper("build", os.path.join(RECIPES, "python.yaml"), "-o", os.path.join(work, "skip"),
                "--skip-tests")
    check(r2.returncode == 0 and "tests: 4 skipped (--skip-tests)" in r2.stderr,
          "--skip-tests says the tests were skipped")
    check(r.stdout == r2.stdout and r.stdout.startswith("sha256:"),
          f"the tests change no byte of the image: {r.stdout.strip()} {r2.stdout.strip()}")
    return out


def failing(work, name, test, want, extra=""):
    """Builds a recipe whose last test fails: into a new layout (not made) and over an existing
    one (unchanged); returns the build's stderr."""
    path = recipe(work, name, test, extra)
    fresh = os.path.join(work, f"{name}-new")
    r = temper("build", path, "-o", fresh)
    check(r.returncode == 1 and want in r.stderr,
          f"{name}: the build fails saying {want!r}: {r.stderr.strip()[-500:]}")
    check("nothing was written" in r.stderr and not os.path.exists(fresh),
          f"{name}: a new layout is not made")
    return r.stderr


def test_failures(work, existing):
    before = tree_files(existing)
    err = failing(work, "exits", f"  - command: [{PY}, -c, \"import sys; print('out\\x1b[2J');"
                                 " sys.stderr.write('bad\\\\n'); sys.exit(3)\"]\n", "exit status 3")
    check("out\\x1b[2J" in err and "\x1b" not in err and "    bad" in err,
          f"the test's output is shown, escaped: {err[-300:]}")
    check("exits.yaml:4:5" in err,
          "the failure names the test's file, line and column")
    failing(work, "mismatch", f"  - command: [{PY}, -c, \"print('x')\"]\n    stdout: \"^y$\"\n",
            "its standard output does not match '^y$'")
    t0 = time.monotonic()
    failing(work, "hangs", f"  - command: [{PY}, -c, \"import time; time.sleep(600)\"]\n"
            "    timeout: 2\n", "still running after 2 s (timeout), killed")
    check(time.monotonic() - t0 < 60, f"a hanging test ends at its timeout: "
          f"{time.monotonic() - t0:.1f} s")
    err = failing(work, "writes", f"  - command: [{PY}, -c, \"open('/etc/x', 'w')\"]\n",
                  "exit status 1")
    check("Read-only file system" in err, "a write to / is refused: the root is read-only")
    with socket.socket() as s:  # a server on this machine's loopback: out of the sandbox's reach
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        err = failing(work, "network", f"  - command: [{PY}, -c, \"import socket; "
                      f"socket.create_connection(('127.0.0.1', {port}), 5)\"]\n", "exit status 1")
        check("ConnectionRefusedError" in err, "the sandbox has a network of its own: the "
              "host's loopback server cannot be reached")
        # temper run --network shares the host's
        r = temper("run", "--network", existing, "--", PY, "-c",
                   f"import socket; socket.create_connection(('127.0.0.1', {port}), 5)")
        check(r.returncode == 0, f"temper run --network reaches it: {r.stderr.strip()[-200:]}")
    # over an existing layout: unchanged, byte for byte
    r = temper("build", recipe(work, "over", f"  - command: [{PY}, -c, \"exit(1)\"]\n"), "-o",
               existing)
    check(r.returncode == 1 and tree_files(existing) == before,
          "a failing test leaves an existing layout as it was, byte for byte")


def test_run(work, layout):
    r = temper("run", layout, "--", PY, "-c", "import os, sys; print(os.getuid(), os.getgid(), "
               "os.getcwd(), sorted(os.environ)); sys.exit(7)", env={"LEAK": "1"})
    check(r.returncode == 7, f"temper run exits with the command's status: {r.returncode}")
    # the environment of static.yaml and python.yaml, and PWD, which bwrap sets on --chdir
    check(r.stdout.strip() == "65532 65532 /home/nonroot ['PATH', 'PWD', "
          "'PYTHONDONTWRITEBYTECODE', 'PYTHONUNBUFFERED', 'SSL_CERT_FILE']",
          f"the image's user, working directory and environment only: {r.stdout.strip()}")
    check("LEAK" not in r.stdout, "nothing of the caller's environment gets in")
    app = os.path.join(work, "app")
    path = os.path.join(work, "app.yaml")
    with open(path, "w") as f:
        f.write(f"name: app\ninclude: [{RECIPES}/python.yaml]\n"
                "entrypoint: {command: [/usr/bin/python3, -c]}\n"
                "cmd: [\"import sys; print('from the entrypoint'); sys.exit(4)\"]\n")
    r = temper("build", path, "-o", app, "--skip-tests")
    check(r.returncode == 0, f"build app: {r.stderr.strip()[-200:]}")
    r = temper("run", app)
    check(r.returncode == 4 and r.stdout == "from the entrypoint\n",
          f"without a command, the entrypoint and cmd run: {r.returncode} {r.stdout!r}")
    r = temper("run", app, "/usr/bin/python3")
    check(r.returncode == 2 and "put the command after --" in r.stderr,
          "a command without -- is a usage error")


def layout_of(work, name, tar_bytes):
    """An OCI layout of one uncompressed layer holding tar_bytes."""
    out = os.path.join(work, name)
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        d = hashlib.sha256(data).hexdigest()
        open(os.path.join(blobs, d), "wb").write(data)
        return {"digest": f"sha256:{d}", "size": len(data)}
    layer = put(tar_bytes)
    config = put(json.dumps({"architecture": "amd64", "os": "linux",
                             "config": {"Cmd": ["/x"]},
                             "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}
                             }).encode())
    manifest = put(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}]}).encode())
    open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
    open(os.path.join(out, "index.json"), "w").write(json.dumps({
        "schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
            "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}))
    return out, layer["digest"]


def tar_of(*members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m, data in members:
            t.addfile(m, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def test_hostile_layers(work):
    def member(name, kind=tarfile.REGTYPE, data=b"x"):
        m = tarfile.TarInfo(name)
        m.type = kind
        m.size = len(data) if kind == tarfile.REGTYPE else 0
        return m, data if kind == tarfile.REGTYPE else None
    cases = [("dotdot", [member("../escaped")], "'..'"),
             ("device", [member("dev/sda", tarfile.BLKTYPE)], "is a device, fifo or socket"),
             ("fifo", [member("run/f", tarfile.FIFOTYPE)], "is a device, fifo or socket"),
             ("whiteout", [member("etc/.wh.passwd")], "is a whiteout")]
    for name, members, want in cases:
        layout, _ = layout_of(work, name, tar_of(*members))
        r = temper("run", layout, "--", "/x")
        check(r.returncode == 1 and want in r.stderr,
              f"a layer with {name} is refused before anything runs: {r.stderr.strip()}")
    # "../escaped" from a tree in TMPDIR would land in TMPDIR itself
    check(not os.path.exists(os.path.join(os.environ["TMPDIR"], "escaped")),
          "nothing was written outside the tree")
    # a changed byte: the layer's digest no longer holds
    layout, digest = layout_of(work, "changed", tar_of(member("x", data=b"#!/x\n")))
    blob = os.path.join(layout, "blobs", "sha256", digest.split(":")[1])
    data = bytearray(open(blob, "rb").read())
    data[600] ^= 1
    open(blob, "wb").write(bytes(data))
    r = temper("run", layout, "--", "/x")
    check(r.returncode == 1 and "the image is damaged or was changed" in r.stderr,
          f"a layer whose bytes changed is refused: {r.stderr.strip()}")


def main():
    if not os.access("/usr/bin/bwrap", os.X_OK):
        sys.exit("sandbox.py needs bwrap (scripts/install-deps.sh test)")
    work = tempfile.mkdtemp(prefix="temper-sandbox-")
    tmp = os.path.join(work, "tmp")
    os.makedirs(tmp)
    os.environ["TMPDIR"] = tmp
    try:
        layout = test_recipe_tests_pass(work)
        test_failures(work, layout)
        test_run(work, layout)
        test_hostile_layers(work)
        check(os.listdir(tmp) == [], f"no temporary tree is left: {os.listdir(tmp)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
