#!/usr/bin/env python3
"""What must and must not change an image's digest: a perturbation suite for temper build.

The test makes a root of its own: the ELF closure of ls, sort, grep and tar
copied from this machine (with the /lib and /lib64 symlinks), the CA bundle and
/usr/share/zoneinfo that recipes/static.yaml names, and a data tree the test
writes (a file over one gzip chunk, identical files, names that are not ASCII
or not UTF-8, a name past ustar's 100 bytes, symlinks, odd modes). Its recipe
includes static.yaml. Every build uses gzip level 1 but the one that checks
another level.

Must NOT change the digest, each a case against the baseline build: mtimes
and atimes; the order entries were created in (`ls -f` shows it differs);
umask, of the copy and of temper; TZ, LANG, LC_ALL; the working directory and
the output path; --jobs 1, 2, 8; `env -i` and a crowd of junk variables; hard
links instead of copies; a build killed at 20, 50 and 80 % of its wall time,
in a fresh directory and in an existing layout, then run again (the baseline
digest, and no temporary file).

MUST change it, and `temper diff` must say why (text and --format json): a
byte of one file; a mode; the epoch (--epoch and SOURCE_DATE_EPOCH, whose
precedence over the recipe's `epoch` is checked too); an extra file; another
gzip level (same diff_id); another entrypoint. Then diff's exit codes and
`temper build --expect`.

usage: reproducible.py TEMPER RECIPES_DIR [CASE...]   (CASE: run only the cases so named)
"""
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import gzip
import tempfile
import time

from checks import check, shown, summary  # tests/integration/checks.py

TEMPER, RECIPES = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ONLY = set(sys.argv[3:])
EPOCH, OTHER_EPOCH = 1700000000, 1600000000
BINARIES = ["/usr/bin/ls", "/usr/bin/sort", "/usr/bin/grep", "/usr/bin/tar"]
DATA = "/usr/share/temper-data"
CHANGED = DATA + "/text/lorem.txt"  # the file the "must change" cases touch
HEX64 = "[0-9a-f]{64}"


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(args, **kw)


def base_env(**extra):
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))
    env.update(extra)
    return env


def build(recipe, out, *extra, root, env=None, cwd=None, umask=0o022):
    """temper build with the test's defaults: SOURCE_DATE_EPOCH fixed, umask 022."""
    args = [TEMPER, "build", recipe, "-o", out, "--root", root, *extra]
    return run(args, env=base_env() if env is None else env, cwd=cwd,
               preexec_fn=lambda: os.umask(umask))


def digest_of(result):
    lines = result.stdout.strip().splitlines()
    return lines[-1] if result.returncode == 0 and lines else None


def why(result):
    return "" if result.returncode == 0 else f" (exit {result.returncode}: " \
        f"{result.stderr.strip()[-300:]})"


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def layout_files(layout):
    """Every file under a layout, relative path -> sha256 of its bytes."""
    out = {}
    for top, _, files in os.walk(layout):
        for name in files:
            p = os.path.join(top, name)
            out[os.path.relpath(p, layout)] = sha256_file(p)
    return out


def temporaries(layout):
    return sorted(n for n in layout_files(layout) if ".tmp" in n)


def tags(layout):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    return sorted(m.get("annotations", {}).get("org.opencontainers.image.ref.name", "")
                  for m in index["manifests"])


def image(layout, tag="latest"):
    """(manifest, config, layer bytes) of a tag."""
    def blob(digest):
        with open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
            return f.read()
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    [desc] = [m for m in index["manifests"]
              if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    manifest = json.loads(blob(desc["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    return manifest, config, blob(manifest["layers"][0]["digest"])


# The root ---------------------------------------------------------------------------------

def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def make_source_root(src):
    """The root every case copies: real files from this machine plus a data tree."""
    listed = run([TEMPER, "resolve", *BINARIES], check=True).stdout.splitlines()
    for line in listed:
        path, _, target = line.partition(" -> ")
        dst = src + path
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if target:
            os.symlink(target, dst)
        else:
            shutil.copy2(path, dst)
    os.makedirs(src + "/etc/ssl/certs")
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt", src + "/etc/ssl/certs/")
    shutil.copytree("/usr/share/zoneinfo", src + "/usr/share/zoneinfo", symlinks=True,
                    ignore=lambda d, names: [n for n in names if n in ("right", "localtime")])
    rng = random.Random(1)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(2, 9)))
             for _ in range(3000)]
    # Over one 1 MiB gzip chunk on its own, so that --jobs has chunks to share out.
    write(src + DATA + "/text/lorem.txt",
          b" ".join(rng.choice(words) for _ in range(300000)) + b"\n")
    write(src + DATA + "/text/short.txt", b"short\n")
    write(src + DATA + "/text/empty", b"")
    for name in ("same-1.txt", "same-2.txt", "nested/same-3.txt"):
        write(src + DATA + "/dups/" + name, b"identical content\n" * 100)
    write(src + DATA + "/modes/private", b"0600\n", 0o600)
    write(src + DATA + "/modes/group-writable", b"0664\n", 0o664)
    write(src + DATA + "/modes/tool", b"#!/not/a/shell\n", 0o700)
    os.chmod(src + DATA + "/modes", 0o700)
    write(src + DATA + "/names/caf\u00e9.txt", b"utf-8 name\n")
    write(os.fsencode(src + DATA + "/names/") + b"latin1-\xe9.txt", b"not utf-8\n")
    write(src + DATA + "/names/" + "long-" * 25 + "name.txt", b"a name past ustar's 100 bytes\n")
    os.makedirs(src + DATA + "/empty-dir")
    os.symlink("text/short.txt", src + DATA + "/link-relative")
    os.symlink(DATA + "/text/lorem.txt", src + DATA + "/link-absolute")
    for i in range(12):
        write(src + DATA + f"/small/{rng.randrange(10**6):06d}-{i}",
              bytes(rng.randrange(256) for _ in range(rng.randrange(64))))


def entries(root):
    """Every path under root, relative, parents before children (os.walk order)."""
    out = []
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            out.append(os.path.relpath(os.path.join(top, name), root))
    return out


def copy_root(src, dst, order="sorted", rng=None, umask=0o022, links=False):
    """Copies src to dst creating entries in `order` (sorted, reverse or shuffled; a parent
    is made when its first child needs it) under `umask`, each file with the source's mode
    masked by the umask, as cp without -p does; with `links`, files of identical content
    become hard links of the first. Times are copied."""
    names = sorted(entries(src))
    if order == "reverse":
        names.reverse()
    elif order == "shuffled":
        rng.shuffle(names)
    old = os.umask(umask)
    try:
        os.makedirs(dst)
        first_of = {}
        for rel in names:
            s, d = os.path.join(src, rel), os.path.join(dst, rel)
            os.makedirs(os.path.dirname(d), exist_ok=True)
            if os.path.islink(s):
                os.symlink(os.readlink(s), d)
            elif os.path.isdir(s):
                os.makedirs(d, exist_ok=True)
                os.chmod(d, os.stat(s).st_mode & 0o7777 & ~umask)
            else:
                h = sha256_file(s)
                if links and h in first_of:
                    os.link(first_of[h], d)
                    continue
                first_of.setdefault(h, d)
                shutil.copyfile(s, d)
                os.chmod(d, os.stat(s).st_mode & 0o7777 & ~umask)
    finally:
        os.umask(old)
    for rel in names:
        st = os.lstat(os.path.join(src, rel))
        os.utime(os.path.join(dst, rel), ns=(st.st_atime_ns, st.st_mtime_ns),
                 follow_symlinks=False)


def write_recipe(path, entrypoint="/usr/bin/ls"):
    with open(path, "w") as f:
        f.write(f"name: repro\n"
                f"include: [{RECIPES}/static.yaml]\n"
                f"epoch: {EPOCH}\n"
                f"level: 1\n"
                f"contents:\n"
                f"  binaries: [{', '.join(BINARIES)}]\n"
                f"  trees:\n"
                f"    - path: {DATA}\n"
                f"entrypoint: {{command: {entrypoint}}}\n")


def printable(path):
    """A path as temper's text output shows it: escaped (builder/base/escape.h)."""
    return shown(os.fsencode(path))


def ls_f(root):
    """Directory iteration order, as `ls -f` shows it, of every directory under root."""
    out = {}
    for top, _, _ in os.walk(root):
        r = run(["ls", "-f", top], text=False, check=True)
        out[os.path.relpath(top, root)] = r.stdout.split(b"\n")
    return out


# The cases ---------------------------------------------------------------------------------

class Suite:
    def __init__(self, work, shm):
        self.work, self.shm = work, shm
        self.src = os.path.join(work, "src")
        self.recipe = os.path.join(work, "repro.yaml")
        self.n = 0
        self.cases = 0

    def path(self, name):
        self.n += 1
        return os.path.join(self.work, f"{name}-{self.n}")

    def same(self, case, result, note=""):
        d = digest_of(result)
        check(d == self.digest, f"[{case}] same digest{note}: {d}{why(result)}")
        return d

    def root_copy(self, **kw):
        dst = self.path("root")
        copy_root(self.src, dst, **kw)
        return dst

    # -- set-up
    def setup(self):
        make_source_root(self.src)
        write_recipe(self.recipe)
        self.root = self.root_copy()
        self.layout = self.path("baseline")
        start = time.monotonic()
        r = build(self.recipe, self.layout, root=self.root)
        self.wall = time.monotonic() - start
        self.digest = digest_of(r)
        check(r.returncode == 0 and self.digest.startswith("sha256:"),
              f"baseline build: {self.digest} in {self.wall:.2f}s{why(r)}")
        if r.returncode != 0:
            return False
        manifest, config, layer = image(self.layout)
        self.layer_digest = manifest["layers"][0]["digest"]
        self.layer_size = manifest["layers"][0]["size"]
        self.diff_id = config["rootfs"]["diff_ids"][0]
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as t:
            self.nentries = len(t.getmembers())
        check(self.nentries > 700 and self.layer_size > 1 << 20,
              f"the image is real: {self.nentries} entries, {self.layer_size} bytes of layer")
        return True

    # -- must not change the digest
    def case_rebuild(self):
        self.same("rebuild", build(self.recipe, self.path("out"), root=self.root),
                  ", built again into a fresh layout")

    def case_mtimes_atimes(self):
        root = self.root_copy()
        rng = random.Random(2)
        for rel in entries(root):
            p = os.path.join(root, rel)
            os.utime(p, ns=(rng.randrange(0, 2**62), rng.randrange(0, 2**62)),
                     follow_symlinks=False)
        a, b = os.lstat(self.root + DATA), os.lstat(root + DATA)
        check(a.st_mtime_ns != b.st_mtime_ns and a.st_atime_ns != b.st_atime_ns,
              "[mtimes-atimes] the copy has other mtimes and atimes")
        self.same("mtimes-atimes", build(self.recipe, self.path("out"), root=root))

    def creation_order(self, case, order):
        """ext4 lists a directory in the order of its name hashes, whatever the order of
        creation; tmpfs lists the newest entry first. So both copies go to tmpfs."""
        roots = []
        for how in ("sorted", order):
            roots.append(os.path.join(self.shm, f"{how}-{self.n}"))
            copy_root(self.src, roots[-1], order=how, rng=random.Random(3))
        base, other = ls_f(roots[0]), ls_f(roots[1])
        moved = [d for d in base if base[d] != other[d]]
        check(len(moved) > 5 and DATA[1:] + "/text" in moved and
              all(sorted(base[d]) == sorted(other[d]) for d in base),
              f"[{case}] `ls -f` lists the same names in another order in {len(moved)} of "
              f"{len(base)} directories of the two copies, {DATA}/text among them")
        for root in roots:
            self.same(case, build(self.recipe, self.path("out"), root=root),
                      f", from the copy made in {os.path.basename(root).split('-')[0]} order")
            shutil.rmtree(root)

    def case_order_reverse(self):
        self.creation_order("order-reverse", "reverse")

    def case_order_shuffled(self):
        self.creation_order("order-shuffled", "shuffled")

    def case_umask_copy(self):
        root = self.root_copy(umask=0o077)
        modes = (os.stat(root + DATA + "/text/short.txt").st_mode & 0o777,
                 os.stat(root + DATA + "/text").st_mode & 0o777)
        check(modes == (0o600, 0o700), f"[umask-copy] the copy made under umask 077 has "
              f"{modes[0]:o} files and {modes[1]:o} directories")
        self.same("umask-copy", build(self.recipe, self.path("out"), root=root))

    def case_umask_temper(self):
        out = self.path("out")
        self.same("umask-temper", build(self.recipe, out, root=self.root, umask=0o077),
                  ", temper run under umask 077")

    def env_case(self, case, **extra):
        self.same(case, build(self.recipe, self.path("out"), root=self.root,
                              env=base_env(**extra)), f" with {extra}")

    def case_tz(self):
        self.env_case("tz", TZ="Asia/Kathmandu")
        self.env_case("tz", TZ="America/St_Johns")

    def case_lang(self):
        self.env_case("lang", LANG="de_DE.UTF-8")
        self.env_case("lang", LANG="C.UTF-8")

    def case_lc_all(self):
        self.env_case("lc-all", LC_ALL="C")
        self.env_case("lc-all", LC_ALL="C.UTF-8")
        self.env_case("lc-all", LC_ALL="tr_TR.ISO-8859-9")

    def case_cwd(self):
        elsewhere = self.path("elsewhere")
        os.makedirs(elsewhere)
        self.same("cwd", build(self.recipe, self.path("out"), root=self.root, cwd=elsewhere),
                  ", run from another directory")

    def case_output_path(self):
        out = os.path.join(self.path("other"), "deeper", "another-name")
        self.same("output-path", build(self.recipe, out, root=self.root),
                  ", into another output path")

    def case_relative_paths(self):
        cwd = self.path("rel")
        os.makedirs(cwd)
        self.same("relative-paths",
                  build(os.path.relpath(self.recipe, cwd), "out", root=os.path.relpath(
                      self.root, cwd), cwd=cwd), ", with recipe, root and output relative")

    def case_jobs(self):
        for jobs in ("1", "2", "8"):
            self.same("jobs", build(self.recipe, self.path("out"), "--jobs", jobs,
                                    root=self.root), f", --jobs {jobs}")

    def case_env_empty(self):
        r = run(["env", "-i", "PATH=" + os.environ.get("PATH", "/usr/bin:/bin"), TEMPER, "build",
                 self.recipe, "-o", self.path("out"), "--root", self.root])
        self.same("env-empty", r, ", under env -i with PATH alone (the recipe's epoch)")

    def case_env_junk(self):
        env = base_env(
            HOME="/nonexistent", USER="nobody", LOGNAME="nobody", SHELL="/bin/false",
            PWD="/wrong", TMPDIR=self.path("tmp"), TMP="/nonexistent", TERM="dumb",
            COLUMNS="7", LANGUAGE="fr", LC_CTYPE="tr_TR.UTF-8", LC_COLLATE="C",
            LC_TIME="de_DE", POSIXLY_CORRECT="1", MALLOC_PERTURB_="165", MALLOC_ARENA_MAX="1",
            OMP_NUM_THREADS="1", ZSTD_CLEVEL="19", ZSTD_NBTHREADS="1", GZIP="-9",
            TAR_OPTIONS="--owner=7", OPENSSL_CONF="/nonexistent", SSL_CERT_FILE="/nonexistent",
            CURL_CA_BUNDLE="/nonexistent", HTTPS_PROXY="http://127.0.0.1:9",
            http_proxy="http://127.0.0.1:9", NO_PROXY="*", TEMPER_KEY_PASSWORD="junk",
            TEMPER_REGISTRY_USERNAME="junk", TEMPER_REGISTRY_PASSWORD="junk",
            DOCKER_CONFIG="/nonexistent", LD_BIND_NOW="1", JUNK_LONG="x" * 100000)
        env.update({f"JUNK_{i}": str(i) * (i % 50) for i in range(500)})
        # POSIXLY_CORRECT stops getopt at the first operand: options go before RECIPE.
        r = run([TEMPER, "build", "-o", self.path("out"), "--root", self.root, self.recipe],
                env=env)
        self.same("env-junk", r, f", with {len(env)} variables set, SOURCE_DATE_EPOCH the same")

    def case_hard_links(self):
        root = self.root_copy(links=True)
        linked = [rel for rel in entries(root) if not os.path.islink(os.path.join(root, rel))
                  and os.path.isfile(os.path.join(root, rel))
                  and os.stat(os.path.join(root, rel)).st_nlink > 1]
        check(DATA[1:] + "/dups/same-2.txt" in linked,
              f"[hard-links] {len(linked)} files of the copy are hard links")
        self.same("hard-links", build(self.recipe, self.path("out"), root=root))

    def killed(self, case, layout, fraction, *extra):
        """Kills a build after `fraction` of the baseline's wall time, then builds again. A build
        that ended before the kill (the baseline was measured on a busier moment) is tried again
        at half the fraction, twice at most, so that the kills land inside builds however the
        machine's speed varies."""
        args = [TEMPER, "build", self.recipe, "-o", layout, "--root", self.root, *extra]
        for attempt in range(3):
            p = subprocess.Popen(args, env=base_env(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(self.wall * fraction)
            p.send_signal(signal.SIGKILL)
            rc = p.wait()
            if rc == -signal.SIGKILL:
                break
            fraction /= 2
            if case == "killed-fresh":
                shutil.rmtree(layout)  # fresh again
        r = build(self.recipe, layout, *extra, root=self.root)
        self.same(case, r, f", killed at {fraction:.0%} of {self.wall:.2f}s "
                  f"({'killed' if rc == -signal.SIGKILL else f'had ended, exit {rc}'}), "
                  f"then run again")
        check(temporaries(layout) == [], f"[{case}] no temporary file: {temporaries(layout)}")
        return rc == -signal.SIGKILL

    def case_killed_fresh(self):
        kills = 0
        for fraction in (0.2, 0.5, 0.8):
            layout = self.path("killed")
            kills += self.killed("killed-fresh", layout, fraction)
            check(layout_files(layout) == layout_files(self.layout),
                  f"[killed-fresh] the layout is file for file the baseline's")
        check(kills >= 2, f"[killed-fresh] {kills} of 3 builds were still running when killed")

    def case_killed_existing(self):
        kills = 0
        for fraction in (0.2, 0.5, 0.8):
            layout = self.path("existing")
            r = build(self.recipe, layout, "--epoch", str(OTHER_EPOCH), "--tag", "previous",
                      root=self.root)
            check(r.returncode == 0, f"[killed-existing] a layout with another image{why(r)}")
            kills += self.killed("killed-existing", layout, fraction)
            check(tags(layout) == ["latest", "previous"],
                  f"[killed-existing] both tags are there: {tags(layout)}")
        check(kills >= 2, f"[killed-existing] {kills} of 3 builds were still running when "
              f"killed")

    # -- must change the digest, and temper diff says why
    def diff(self, a, b, *extra):
        """temper diff A B, as text and as JSON: (text result, JSON document or None)."""
        text = run([TEMPER, "diff", *extra, a, b])
        js = run([TEMPER, "diff", "--format", "json", *extra, a, b])
        try:
            doc = json.loads(js.stdout)
        except ValueError:
            doc = None
        return text, doc, js.returncode

    def perturbed(self, case, root=None, *extra, env=None, recipe=None):
        """Builds a perturbed image; checks that its digest differs. Its layout or None."""
        out = self.path("out")
        r = build(recipe or self.recipe, out, *extra, root=root or self.root, env=env)
        d = digest_of(r)
        check(d is not None and d != self.digest,
              f"[{case}] the digest changes: {self.digest} -> {d}{why(r)}")
        return (out, d) if d else (None, None)

    def diff_says(self, case, layout, digest, lines, paths, json_checks, config_lines=None,
                  text_checks=()):
        """Checks temper diff BASELINE LAYOUT: exit 1, the header and count lines, each regex
        of `lines` matching a line, the files named being exactly `paths` (unless None), the
        config fields named exactly `config_lines` (unless None); in JSON, each predicate of
        json_checks holds, and in text each of text_checks."""
        text, doc, js_rc = self.diff(self.layout, layout)
        out = text.stdout.splitlines()
        shown = text.stdout.strip()[-600:] or text.stderr.strip()[-300:]
        check(text.returncode == 1, f"[{case}] temper diff exits 1: {text.returncode}")
        check(out[:1] == [f"images differ: {self.digest} -> {digest}"] and
              out[-1:] == [f"{len(out) - 2} difference" + ("" if len(out) == 3 else "s")],
              f"[{case}] diff's first line names both digests, its last counts the lines: "
              f"{out[:1]} {out[-1:]}")
        for rx in lines:
            check(any(re.fullmatch(rx, line) for line in out),
                  f"[{case}] diff says /{rx}/: {shown}")
        named = {m.group(1) for m in (re.match(r"layer \d+: (/[^:]*): ", line) for line in out)
                 if m}
        if paths is not None:
            check(named == {printable(p) for p in paths},
                  f"[{case}] diff names the files {sorted(paths)}: {sorted(named)[:10]}")
        for what, pred in text_checks:
            check(pred(out), f"[{case}] diff: {what}")
        if config_lines is not None:
            got = [line.split(":")[1].strip() for line in out if line.startswith("config: ")]
            check(sorted(set(got)) == config_lines, f"[{case}] config fields named: {got}")
        diffs = (doc or {}).get("differences", [])
        check(js_rc == 1 and doc is not None and doc.get("identical") is False and
              doc.get("a", {}).get("digest") == self.digest and
              doc.get("b", {}).get("digest") == digest,
              f"[{case}] diff --format json: exit 1, not identical, both digests: exit {js_rc}")
        if paths is not None:
            check({d.get("path") for d in diffs if d.get("path")} == paths,
                  f"[{case}] diff --format json names the files {sorted(paths)}")
        for what, pred in json_checks:
            try:
                ok = bool(pred(diffs))
            except (KeyError, TypeError, AttributeError, IndexError):
                ok = False
            check(ok, f"[{case}] diff --format json: {what}")

    def changed_root(self):
        """A copy of the root with one byte of CHANGED flipped (made once)."""
        if not hasattr(self, "_changed"):
            root = self.root_copy()
            with open(root + CHANGED, "r+b") as f:
                f.seek(12345)
                byte = f.read(1)
                f.seek(12345)
                f.write(bytes([byte[0] ^ 0x20]))
            self._changed = root
        return self._changed

    def case_content(self):
        root = self.changed_root()
        size = os.path.getsize(root + CHANGED)
        old, new = sha256_file(self.root + CHANGED), sha256_file(root + CHANGED)
        layout, digest = self.perturbed("content", root)
        if layout is None:
            return
        self.diff_says("content", layout, digest,
                       [rf"layer 1: {CHANGED}: content: {size} bytes sha256:{old} -> "
                        rf"{size} bytes sha256:{new}"],
                       {CHANGED},
                       [("one content difference, with both sizes and hashes",
                         lambda ds: [(d["where"], d["a"], d["b"]) for d in ds
                                     if d.get("field") == "content"] ==
                         [("layer 1", {"size": size, "sha256": "sha256:" + old},
                           {"size": size, "sha256": "sha256:" + new})])])

    def case_mode(self):
        root = self.root_copy()
        path = DATA + "/text/short.txt"
        os.chmod(root + path, 0o755)
        layout, digest = self.perturbed("mode", root)
        if layout is None:
            return
        self.diff_says("mode", layout, digest, [rf"layer 1: {path}: mode: 0644 -> 0755"], {path},
                       [("mode 0644 -> 0755",
                         lambda ds: [(d["path"], d["a"], d["b"]) for d in ds
                                     if d.get("field") == "mode"] == [(path, "0644", "0755")])])

    def epoch_diff(self, case, layout, digest):
        created = ('"2023-11-14T22:13:20Z"', '"2020-09-13T12:26:40Z"')
        self.diff_says(
            case, layout, digest,
            [rf"config: created: {created[0]} -> {created[1]}",
             rf"layer 1: mtime of {self.nentries} entries: {EPOCH} -> {OTHER_EPOCH}"],
            set(), [
                ("config created", lambda ds: any(
                    d["where"] == "config" and d["field"] == "created" and
                    d["a"] == created[0].strip('"') and d["b"] == created[1].strip('"')
                    for d in ds)),
                (f"one mtime difference for all {self.nentries} entries", lambda ds: [
                    (d["path"], d["a"], d["b"], d["entries"]) for d in ds
                    if d.get("field") == "mtime"] == [(None, EPOCH, OTHER_EPOCH, self.nentries)])],
            text_checks=[("no mtime line of its own for any entry", lambda out: not any(
                line.startswith("layer 1: /") for line in out))])

    def case_epoch(self):
        layout, digest = self.perturbed("epoch", None, "--epoch", str(OTHER_EPOCH))
        if layout is None:
            return
        self.epoch_diff("epoch", layout, digest)
        layout2, digest2 = self.perturbed("epoch-env", None,
                                          env=base_env(SOURCE_DATE_EPOCH=str(OTHER_EPOCH)))
        check(digest2 == digest, f"[epoch-env] SOURCE_DATE_EPOCH={OTHER_EPOCH} gives the image "
              f"--epoch {OTHER_EPOCH} gives: {digest2}")
        if layout2 is not None:
            self.epoch_diff("epoch-env", layout2, digest2)

    def case_epoch_precedence(self):
        r = build(self.recipe, self.path("out"), "--epoch", str(EPOCH), root=self.root,
                  env=base_env(SOURCE_DATE_EPOCH=str(OTHER_EPOCH)))
        self.same("epoch-precedence", r, ": --epoch wins over SOURCE_DATE_EPOCH")
        r = build(self.recipe, self.path("out"), root=self.root, env=base_env(SOURCE_DATE_EPOCH=""))
        self.same("epoch-precedence", r, ": an empty SOURCE_DATE_EPOCH leaves the recipe's epoch")
        recipe = os.path.join(self.work, "other-epoch.yaml")
        with open(self.recipe) as f, open(recipe, "w") as g:
            g.write(f.read().replace(f"epoch: {EPOCH}", f"epoch: {OTHER_EPOCH}"))
        r = build(recipe, self.path("out"), root=self.root)
        self.same("epoch-precedence", r, ": SOURCE_DATE_EPOCH wins over the recipe's epoch")

    def case_extra_file(self):
        root = self.root_copy()
        path = DATA + "/text/extra.txt"
        write(root + path, b"extra\n")
        layout, digest = self.perturbed("extra-file", root)
        if layout is None:
            return
        self.diff_says("extra-file", layout, digest,
                       [rf"layer 1: {path}: added: file 0644 0:0 6 bytes"], {path},
                       [("added, with type, mode, owner and size",
                         lambda ds: [(d["path"], d["field"], d["a"], d["b"]) for d in ds
                                     if d.get("path")] ==
                         [(path, "added", None,
                           {"type": "file", "mode": "0644", "uid": 0, "gid": 0, "size": 6})])])

    def case_compression_level(self):
        layout, digest = self.perturbed("compression-level", None, "--level", "6")
        if layout is None:
            return
        manifest, config, _ = image(layout)
        new, size = manifest["layers"][0]["digest"], manifest["layers"][0]["size"]
        check(config["rootfs"]["diff_ids"] == [self.diff_id] and new != self.layer_digest,
              "[compression-level] same diff_id, another blob")
        self.diff_says(
            "compression-level", layout, digest,
            [rf"layer 1: same content, other compression: {self.layer_digest} "
             rf"\({self.layer_size} bytes, \"[^\"]+\"\) -> {new} \({size} bytes, \"[^\"]+\"\), "
             rf"diff_id {self.diff_id}"],
            set(),
            [("compression, same diff_id", lambda ds: [
                (d["where"], {k: d["a"][k] for k in ("digest", "size")},
                 {k: d["b"][k] for k in ("digest", "size")}, d["diff_id"]) for d in ds
                if d.get("field") == "compression"] == [
                ("layer 1", {"digest": self.layer_digest, "size": self.layer_size},
                 {"digest": new, "size": size}, self.diff_id)]),
             ("nothing in the config", lambda ds: not [d for d in ds
                                                        if d["where"] == "config"])],
            config_lines=[])

    def case_entrypoint(self):
        recipe = os.path.join(self.work, "entrypoint.yaml")
        write_recipe(recipe, "/usr/bin/sort")
        layout, digest = self.perturbed("entrypoint", None, recipe=recipe)
        if layout is None:
            return
        self.diff_says("entrypoint", layout, digest,
                       [r'config: Entrypoint: \["/usr/bin/ls"\] -> \["/usr/bin/sort"\]'], set(),
                       [("Entrypoint", lambda ds: [(d["where"], d["a"], d["b"]) for d in ds
                                                   if d.get("field") == "Entrypoint"] ==
                         [("config", ["/usr/bin/ls"], ["/usr/bin/sort"])]),
                        ("no layer difference", lambda ds: not [
                            d for d in ds if d["where"].startswith("layer")])],
                       config_lines=["Entrypoint"])

    def case_diff_exit_codes(self):
        other = self.path("out")
        r = build(self.recipe, other, "--jobs", "1", root=self.root)
        self.same("diff-exit-codes", r, ", a second layout to compare")
        for a, b, what in ((self.layout, self.layout, "itself"),
                           (self.layout, other + ":latest", "a rebuild in another layout")):
            text, doc, js_rc = self.diff(a, b)
            check(text.returncode == 0 and
                  text.stdout.strip() == f"images are identical: {self.digest}",
                  f"[diff-exit-codes] diff against {what}: exit 0, identical: "
                  f"{text.returncode} {text.stdout.strip()[-200:]}{text.stderr.strip()[-200:]}")
            check(js_rc == 0 and doc is not None and doc.get("identical") is True and
                  doc.get("differences") == [],
                  f"[diff-exit-codes] diff --format json against {what}: identical, no "
                  f"differences")
        missing = os.path.join(self.work, "no-such-layout")
        text = run([TEMPER, "diff", self.layout, missing])
        check(text.returncode == 2 and "no-such-layout" in text.stderr,
              f"[diff-exit-codes] a missing image: exit 2, named: {text.returncode} "
              f"{text.stderr.strip()[-200:]}")

    def case_expect(self):
        r = build(self.recipe, self.path("out"), "--expect", self.digest, root=self.root)
        check(r.returncode == 0 and digest_of(r) == self.digest and
              f"matches the expected image {self.digest}" in r.stderr,
              f"[expect] --expect the baseline digest: exit 0{why(r)}")
        r = build(self.recipe, self.path("out"), "--expect", self.layout + ":latest",
                  root=self.root)
        check(r.returncode == 0 and digest_of(r) == self.digest,
              f"[expect] --expect the baseline layout: exit 0{why(r)}")
        changed = digest_of(build(self.recipe, self.path("out"), root=self.changed_root()))
        mismatch = (f"the build does not match the expected image: {changed} is not "
                    f"{self.digest}")
        for what, expect, out in (
                ("the baseline layout", self.layout, self.path("out")),
                ("the baseline digest, found in the output layout", self.digest, None)):
            if out is None:
                out = self.path("out")
                shutil.copytree(self.layout, out)
            r = build(self.recipe, out, "--tag", "rebuilt", "--expect", expect,
                      root=self.changed_root())
            lines = r.stdout.strip().splitlines()
            check(r.returncode == 1 and lines[-1:] == [changed] and
                  mismatch in r.stderr and
                  re.search(rf"^layer 1: {CHANGED}: content: ", r.stderr, re.M),
                  f"[expect] a perturbed root against {what}: exit 1, the new digest on "
                  f"stdout, the diff naming {CHANGED} on stderr: exit {r.returncode} "
                  f"{r.stderr.strip()[-300:]}")


CASES = [
    "rebuild", "mtimes_atimes", "order_reverse", "order_shuffled", "umask_copy",
    "umask_temper", "tz", "lang", "lc_all", "cwd", "output_path", "relative_paths", "jobs",
    "env_empty", "env_junk", "hard_links", "killed_fresh", "killed_existing",
    "content", "mode", "epoch", "epoch_precedence", "extra_file", "compression_level",
    "entrypoint", "diff_exit_codes", "expect",
]


def main():
    work = tempfile.mkdtemp(prefix="temper-repro-")
    shm = tempfile.mkdtemp(prefix="temper-repro-", dir="/dev/shm")  # tmpfs: creation order
    start, ran = time.monotonic(), 0
    try:
        suite = Suite(work, shm)
        if suite.setup():
            for name in CASES:
                if ONLY and name not in ONLY and name.replace("_", "-") not in ONLY:
                    continue
                ran += 1
                t = time.monotonic()
                getattr(suite, "case_" + name)()
                print(f"     ({name.replace('_', '-')}: {time.monotonic() - t:.1f}s)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
    print(f"{ran} cases in {time.monotonic() - start:.0f}s")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
