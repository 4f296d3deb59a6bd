#!/usr/bin/env python3
"""Oracle test: temper resolve against the system's own dynamic loader.

For every dynamically linked ELF executable in /usr/bin and /usr/sbin whose
interpreter is the system's loader, the set of files `temper resolve --format
ldd` names must equal, compared by canonical path, the set that the loader
reports in trace mode (`LOADER --list FILE`, vDSO excluded). Libraries that
neither can find are compared by name. Prints how many binaries were
compared; fails naming each binary and its extra or missing files.

usage: resolve_oracle.py TEMPER [DIR...]
"""
import concurrent.futures
import os
import re
import subprocess
import sys

LOADER = "/lib64/ld-linux-x86-64.so.2"


def elf_interpreter(path):
    """PT_INTERP of an ELF file, or None (not ELF, or static)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
                return None
            phoff = int.from_bytes(head[32:40], "little")
            phentsize = int.from_bytes(head[54:56], "little")
            phnum = int.from_bytes(head[56:58], "little")
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                ph = f.read(56)
                if len(ph) < 56:
                    return None
                if int.from_bytes(ph[0:4], "little") == 3:  # PT_INTERP
                    off = int.from_bytes(ph[8:16], "little")
                    size = int.from_bytes(ph[32:40], "little")
                    f.seek(off)
                    return f.read(size).rstrip(b"\0").decode()
    except OSError:
        return None
    return None


def candidates(dirs):
    seen = set()
    for d in dirs:
        for name in sorted(os.listdir(d)):
            path = os.path.realpath(os.path.join(d, name))
            if path in seen or not os.path.isfile(path):
                continue
            seen.add(path)
            interp = elf_interpreter(path)
            if interp and os.path.realpath(interp) == os.path.realpath(LOADER):
                yield path


LINE = re.compile(r"^\t(\S+)(?: => (\S+))?(?: \(0x[0-9a-f]+\))?$")


def loader_set(path):
    out = subprocess.run([LOADER, "--list", path], capture_output=True, text=True)
    files = set()
    for line in out.stdout.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        name, target = m.group(1), m.group(2)
        if name.startswith("linux-vdso") or name.startswith("linux-gate"):
            continue
        if target is None:
            files.add(os.path.realpath(name))
        elif target == "not":
            files.add("not found: " + name)
        else:
            files.add(os.path.realpath(target))
    return files


def temper_sets(temper, paths):
    out = subprocess.run([temper, "resolve", "--allow-missing", "--format", "ldd", *paths],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"temper resolve failed ({out.returncode}): {out.stderr.strip()}")
    sets, current = {}, None
    for line in out.stdout.splitlines():
        if not line.startswith("\t"):
            current = line[:-1]
            sets[current] = set()
            continue
        entry = line[1:]
        if " => " in entry:
            name, target = entry.split(" => ", 1)
            sets[current].add("not found: " + name if target == "not found"
                              else os.path.realpath(target))
        elif entry != "statically linked":
            sets[current].add(os.path.realpath(entry))
    return sets


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    temper = sys.argv[1]
    dirs = sys.argv[2:] or ["/usr/bin", "/usr/sbin"]
    paths = list(candidates(dirs))
    if len(paths) < 2:
        sys.exit("found fewer than 2 dynamically linked executables: nothing to compare")
    ours = temper_sets(temper, paths)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        theirs = dict(zip(paths, pool.map(loader_set, paths)))
    failures = 0
    for path in paths:
        got, want = ours.get(path), theirs[path]
        if got is None:
            print(f"FAIL {path}: temper printed nothing for it")
            failures += 1
        elif got != want:
            failures += 1
            print(f"FAIL {path}: extra {sorted(got - want)} missing {sorted(want - got)}")
    libs = sum(len(s) for s in theirs.values())
    print(f"compared {len(paths)} binaries ({libs} loaded files) with {LOADER} --list: "
          f"{len(paths) - failures} agree, {failures} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
