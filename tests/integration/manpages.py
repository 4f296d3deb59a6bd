#!/usr/bin/env python3
"""The man pages against the program, so that they never drift:

- every command `temper --help` lists has its page temper-COMMAND(1), temper(1) lists exactly
  those commands, and temper-recipe(5) is there;
- each page renders with man -l (its NAME line, no warning from groff);
- the options a command's --help prints are exactly those its page describes (OPTIONS and
  REGISTRY OPTIONS), the other way round too;
- every key the recipe reader accepts (the keys its error for an unknown key lists, at each
  level) is described in temper-recipe(5).

usage: manpages.py TEMPER MAN_DIR (the built pages) SOURCE_DIR (docs/man)
"""
import os
import re
import subprocess
import sys
import tempfile

from checks import check, summary  # tests/integration/checks.py

if len(sys.argv) != 4:
    sys.exit(__doc__)
TEMPER, MAN_DIR, SOURCE_DIR = (os.path.realpath(a) for a in sys.argv[1:])
HELP_OPTION = re.compile(r"^\s{2}(-\w)?(?:, )?(--[a-z][a-z-]*)?")
PAGE_OPTION = re.compile(r"^\*(-[^*]+)\*(?:, \*(--[^*]+)\*)?")
# Where the recipe reader lists the keys it allows, by the recipe that makes it say so.
RECIPE_LEVELS = {
    "top": "bogus: 1\n",
    "contents": "contents: {bogus: 1}\n",
    "trees": "contents: {trees: [{path: /x, bogus: 1}]}\n",
    "accounts": "accounts: {bogus: 1}\n",
    "groups": "accounts: {groups: [{groupname: g, gid: 1, bogus: 1}]}\n",
    "users": "accounts: {users: [{username: u, uid: 1, bogus: 1}]}\n",
    "paths": "paths: [{path: /x, bogus: 1}]\n",
    "entrypoint": "entrypoint: {bogus: 1}\n",
    "tests": "tests: [{command: /x, bogus: 1}]\n",
    "hardening": "hardening: {bogus: 1}\n",
    "sbom": "sbom: {bogus: 1}\n",
    "layering": "layering: {bogus: 1}\n",
}


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def commands():
    out = run(TEMPER, "--help").stdout
    return [m.group(1) for m in re.finditer(r"^  ([a-z]+)\s{2,}", out, re.M)]


def help_options(command):
    """The options --help describes: lines that begin with two spaces and a dash."""
    found = set()
    for line in run(TEMPER, command, "--help").stdout.splitlines():
        m = HELP_OPTION.match(line)
        if m and (m.group(1) or m.group(2)):
            found.update(o for o in m.groups() if o)
    return found


def page_options(source):
    """The options a page describes: its definition terms under OPTIONS and REGISTRY OPTIONS."""
    found, inside = set(), False
    for line in open(source, encoding="utf-8"):
        if line.startswith("# "):
            inside = line.strip() in ("# OPTIONS", "# REGISTRY OPTIONS")
        m = PAGE_OPTION.match(line) if inside else None
        if m:
            found.update(o.split(" ")[0].replace("\\", "") for o in m.groups() if o)
    return found


def renders(page):
    r = run("man", "--warnings", "-l", "-P", "cat", page, env=dict(os.environ, MANWIDTH="100"))
    text = re.sub(r".\x08", "", r.stdout)  # the overstrikes of bold and underline
    name = os.path.basename(page).rsplit(".", 1)[0]
    check(r.returncode == 0 and "NAME" in text and name in text and not r.stderr.strip(),
          f"{os.path.basename(page)} renders with man -l: {r.stderr.strip()[:300]}")


def recipe_keys(work):
    """Every key the recipe reader allows, from its own error messages."""
    keys = {}
    for level, body in RECIPE_LEVELS.items():
        path = os.path.join(work, f"{level}.yaml")
        open(path, "w").write("name: x\n" + body)
        r = run(TEMPER, "build", path, "-o", os.path.join(work, "out"))
        m = re.search(r"\(allowed[^:]*: ([^)]*)\)", r.stderr)
        if check(r.returncode != 0 and m is not None,
                 f"the reader lists the keys allowed at {level}: {r.stderr.strip()[:200]}"):
            keys[level] = [k.strip() for k in m.group(1).split(",")]
    return keys


def main():
    cmds = commands()
    check(len(cmds) >= 12, f"temper --help lists the commands: {cmds}")
    top = open(os.path.join(SOURCE_DIR, "temper.1.scd"), encoding="utf-8").read()
    listed = re.findall(r"^\*([a-z]+)\*$", top.split("# COMMANDS")[1].split("# OPTIONS")[0], re.M)
    check(listed == cmds, f"temper(1) lists exactly the commands: {listed}")
    sources = {f for f in os.listdir(SOURCE_DIR) if f.endswith(".scd")}
    wanted = {f"temper-{c}.1.scd" for c in cmds} | {"temper.1.scd", "temper-recipe.5.scd"}
    check(sources == wanted, f"one page per command, temper(1) and temper-recipe(5): "
          f"missing {sorted(wanted - sources)}, extra {sorted(sources - wanted)}")
    for source in sorted(sources & wanted):
        page = os.path.join(MAN_DIR, source[:-len(".scd")])
        if check(os.path.exists(page), f"{source} was turned into {os.path.basename(page)}"):
            renders(page)
    for c in cmds:
        in_help = help_options(c) - {"--help", "-h"}
        in_page = page_options(os.path.join(SOURCE_DIR, f"temper-{c}.1.scd"))
        check(in_help and in_help == in_page,
              f"temper-{c}(1) describes exactly the options of temper {c} --help: only in "
              f"--help {sorted(in_help - in_page)}, only in the page {sorted(in_page - in_help)}")
    recipe = open(os.path.join(SOURCE_DIR, "temper-recipe.5.scd"), encoding="utf-8").read()
    described = recipe.split("# KEYS")[1].split("# RULES")[0].replace("\\", "")
    with tempfile.TemporaryDirectory(prefix="temper-man-") as work:
        for level, keys in recipe_keys(work).items():
            missing = [k for k in keys if not re.search(
                r"\*(?:[a-z-]+\.)?" + re.escape(k) + r"(?:\.[a-z-]+)?\*", described)]
            check(not missing, f"temper-recipe(5) describes every key allowed at {level}: "
                  f"missing {missing}")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
