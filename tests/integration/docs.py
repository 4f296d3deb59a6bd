#!/usr/bin/env python3
"""Every example of the docs, run as a reader would run it, its output compared with what the
docs show: README.md, keys/README.md, recipes/README.md and docs/ci.md, each in a directory of its
own holding a copy of recipes/, its blocks in the order the page gives them (state carries over,
as for a reader going down the page).

- A ```console block: each `$ COMMAND` runs (bash, in that directory, `temper` on PATH), and the
  lines after it are what it prints, standard error and output together as a terminal shows
  them. Compared line by line, ignoring only what this test names: digests (`sha256:` and 64 hex
  digits, or the docs' `sha256:876a...`) and durations (`(1.2 s)`). A line `...` stands for any
  number of lines, and `...` within a line for any text: a page writes it where what a command
  prints follows Debian's archive (sizes, counts and versions of the packages served today).
- A ```sh block runs whole, with bash -e, and must exit 0.
- The line before a fence may say `<!-- docs-test: skip: WHY -->` (not run: the test suite itself,
  what changes the machine's services, a root that needs debootstrap),
  `<!-- docs-test: run-only: WHY -->` (run in a copy of the directory, its exit status checked,
  its output not compared: output that changes with the archive), `<!-- docs-test: recipe: WHY -->` (a whole recipe: it
  must build, --skip-tests) or `<!-- docs-test: file: PATH -->` (the block is the file PATH that
  later examples use, written where they run). Every skip names its reason; a block without one
  of these that is neither console nor sh (a fragment of YAML, a CI workflow) is not run.
- Each page runs after the debian/ recipes are locked afresh (`temper lock --update`, as the
  quick start locks): a committed lock names versions the archive drops once they are
  superseded. README's examples run after the rest of what its quick start leaves:
  keys/quickstart.* and out/python built from that lock, signed. The registry of its push examples
  (127.0.0.1:5000) is Debian's docker-registry as README starts it, on a free port put in the
  place of 5000 in commands and output.

It needs Debian's archive (the examples build from locked packages, so that their outputs are the
same on every machine): run in the preset with the archive tests.

usage: docs.py TEMPER REPO_DIR
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from checks import check, summary  # tests/integration/checks.py

if len(sys.argv) != 3:
    sys.exit(__doc__)
TEMPER, REPO = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
DOCS = ["README.md", "keys/README.md", "recipes/README.md", "docs/ci.md"]
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
DIRECTIVE = re.compile(r"<!-- docs-test: (skip|run-only|recipe|file): (.+?) -->\s*$")
DIGEST = re.compile(r"sha256([:-])(?:[0-9a-f]{64}|[0-9a-f]{4,16}\.\.\.)")
DURATION = re.compile(r"\(\d+(\.\d+)? s\)")
DOC_PORT = "127.0.0.1:5000"


def blocks(doc):
    """(line, lang, body lines, directive) of each console, sh and yaml block of a page."""
    lines = open(os.path.join(REPO, doc), encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i + 1
        d = DIRECTIVE.search(lines[i - 1]) if i > 0 else None
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        if lang in ("console", "sh", "yaml"):
            yield start, lang, body, (d.group(1), d.group(2)) if d else None


def commands(body):
    """[(command, expected lines)] of a console block; a command may go on over lines ending in
    a backslash."""
    out = []
    for line in body:
        if out and out[-1][0].endswith("\\") and not out[-1][1]:
            out[-1][0] = out[-1][0][:-1] + "\n" + line
        elif line.startswith("$ "):
            out.append([line[2:], []])
        elif out:
            out[-1][1].append(line)
    return out


def normal(text, port):
    text = text.replace(f"127.0.0.1:{port}", DOC_PORT)
    return DURATION.sub("(DURATION)", DIGEST.sub(r"sha256\1DIGEST", text)).rstrip()


def matches(expected, actual):
    """Whether the lines match, a `...` line taking any number of lines (wildcard matching:
    on a mismatch, go back to the last `...` and let it take one line more), `...` in a line
    any text."""
    def same(e, a):
        return re.fullmatch(".*".join(re.escape(part) for part in e.split("...")), a) is not None
    i = j = 0
    star, taken = -1, 0
    while j < len(actual):
        if i < len(expected) and expected[i].strip() == "...":
            star, taken = i, j
            i += 1
        elif i < len(expected) and same(expected[i], actual[j]):
            i += 1
            j += 1
        elif star >= 0:
            i, taken = star + 1, taken + 1
            j = taken
        else:
            return False
    while i < len(expected) and expected[i].strip() == "...":
        i += 1
    return i == len(expected)


def strip_blank(lines):
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


class Reader:
    """A directory where one page's examples run, one after the other."""

    def __init__(self, work, doc, env, port):
        self.doc, self.env, self.port = doc, env, port
        self.dir = os.path.join(work, doc.replace("/", "-"))
        os.makedirs(os.path.join(self.dir, "keys"))
        shutil.copytree(os.path.join(REPO, "recipes"), os.path.join(self.dir, "recipes"))

    def run(self, command, cwd=None):
        command = command.replace(DOC_PORT, f"127.0.0.1:{self.port}")
        return subprocess.run(["bash", "-c", command], cwd=cwd or self.dir, env=self.env,
                              text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def console(self, where, body):
        for command, expected in commands(body):
            r = self.run(command)
            actual = strip_blank([normal(line, self.port) for line in r.stdout.split("\n")])
            want = strip_blank([normal(line, self.port) for line in expected])
            same = matches(tuple(want), tuple(actual))
            first = next((f"docs: {w!r}\n       got:  {a!r}" for w, a in zip(want, actual)
                          if w != a and "..." not in w), "")
            check(same, f"{where}: $ {command.splitlines()[0]}: prints what the docs show"
                  + ("" if same else f"\n{first}\n--- it printed:\n" + "\n".join(actual[-30:])))

    def script(self, where, body, what="runs", apart=False):
        """Runs body; `apart`: in a copy of the directory, so that what it changes (a lock
        updated from today's archive) does not reach the next examples."""
        cwd = None
        if apart:
            cwd = self.dir + "-apart"
            shutil.rmtree(cwd, ignore_errors=True)
            shutil.copytree(self.dir, cwd, symlinks=True)
        r = self.run("set -eo pipefail\n" + "\n".join(body), cwd)
        if apart:
            shutil.rmtree(cwd, ignore_errors=True)
        check(r.returncode == 0, f"{where}: the block {what}, exit 0"
              + ("" if r.returncode == 0 else f": {r.returncode}\n{r.stdout[-1500:]}"))

    def file(self, path, body):
        path = os.path.join(self.dir, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").write("\n".join(body) + "\n")

    def recipe(self, where, body):
        path = os.path.join(self.dir, "recipes", f"docs-example-{where.split(':')[-1]}.yaml")
        open(path, "w").write("\n".join(body) + "\n")
        lock = [f"temper lock {path}"] if any(re.match(r"\s*packages:", line) for line in body) else []
        self.script(where, lock + [f"temper build {path} -o out/docs-example --skip-tests"],
                    "builds" + (" (locked first: it has packages)" if lock else ""))


def registry(work):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = os.path.join(work, "registry")
    os.makedirs(root)
    config = os.path.join(root, "config.yml")
    open(config, "w").write(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}\n"
                            f"http:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen(["docker-registry", "serve", config], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.1)
    proc.kill()
    sys.exit("docs.py: docker-registry did not start")


def main():
    work = tempfile.mkdtemp(prefix="temper-docs-")
    proc = None
    try:
        bin_dir = os.path.join(work, "bin")
        os.makedirs(bin_dir)
        os.symlink(TEMPER, os.path.join(bin_dir, "temper"))
        empty = os.path.join(work, "no-auth")
        os.makedirs(empty)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TEMPER_") and k not in (
                   "SOURCE_DATE_EPOCH", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")}
        env.update(PATH=bin_dir + os.pathsep + env.get("PATH", "/usr/bin:/bin"),
                   DOCKER_CONFIG=empty, XDG_CONFIG_HOME=empty, LC_ALL="C.UTF-8")
        proc, port = registry(work)
        counted = 0
        for doc in DOCS:
            reader = Reader(work, doc, env, port)
            reader.script(f"{doc}: the debian recipes locked afresh", [
                "temper lock --update recipes/debian/python.yaml",
                "temper lock --update recipes/debian/static.yaml"])
            if doc == "README.md":  # the rest of what the quick start leaves
                reader.script("README.md quick start", [
                    "temper keygen -o keys/quickstart",
                    "temper build recipes/debian/python.yaml -o out/python "
                    "--key keys/quickstart.key"])
            for line, lang, body, directive in blocks(doc):
                where = f"{doc}:{line}"
                kind = directive[0] if directive else None
                if kind == "skip":
                    print(f"--   {where}: not run: {directive[1]}")
                    continue
                counted += 1
                if kind == "run-only":
                    to_run = [c for c, _ in commands(body)] if lang == "console" else body
                    reader.script(where, to_run, f"runs ({directive[1]})", apart=True)
                elif lang == "console":
                    reader.console(where, body)
                elif lang == "sh":
                    reader.script(where, body)
                elif kind == "recipe":
                    reader.recipe(where, body)
                elif kind == "file":
                    reader.file(directive[1], body)
                else:
                    counted -= 1
        check(counted >= 15, f"{counted} blocks of the docs were run")
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
