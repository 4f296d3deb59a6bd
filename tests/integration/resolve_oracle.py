#!/usr/bin/env python3
"""Oracle test: temper resolve against the system's own dynamic loader.

For every dynamically linked ELF executable in /usr/bin and /usr/sbin whose
interpreter is the system's loader, the set of files `temper resolve --format
ldd` names must equal, compared by canonical path, the set that the loader
reports in trace mode (`LOADER --list FILE`, vDSO excluded). The same for
every shared library in the multiarch directory (x86_64) and in /usr/lib32
(i386, through the i386 loader: a search path full of x86_64 libraries of the
same names comes first in ld.so.conf, and must be skipped). Libraries that
neither can find are compared by name. Prints how many files were compared;
fails naming each file and its extra or missing files.

usage: resolve_oracle.py TEMPER [DIR...]   (DIRs: executables only)
"""
import concurrent.futures
import os
import re
import subprocess
import sys

LOADER = "/lib64/ld-linux-x86-64.so.2"
LOADER32 = "/usr/lib32/ld-linux.so.2"
EM_386, EM_X86_64, ET_DYN, PT_INTERP, PT_DYNAMIC = 3, 62, 3, 3, 2


def elf_summary(path):
    """(class bits, e_machine, e_type, PT_INTERP or None, has PT_DYNAMIC) of a
    little-endian ELF file, or None. Read here independently of temper."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 52 or head[:4] != b"\x7fELF" or head[5] != 1:
                return None
            bits = {1: 32, 2: 64}.get(head[4])
            if bits is None:
                return None
            le = lambda b: int.from_bytes(b, "little")
            etype, machine = le(head[16:18]), le(head[18:20])
            if bits == 64:
                phoff, phentsize, phnum = le(head[32:40]), le(head[54:56]), le(head[56:58])
            else:
                phoff, phentsize, phnum = le(head[28:32]), le(head[42:44]), le(head[44:46])
            interp, dynamic = None, False
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                ph = f.read(phentsize)
                if len(ph) < phentsize:
                    return None
                ptype = le(ph[0:4])
                if ptype == PT_DYNAMIC:
                    dynamic = True
                elif ptype == PT_INTERP:
                    off, size = (le(ph[8:16]), le(ph[32:40])) if bits == 64 else \
                        (le(ph[4:8]), le(ph[16:20]))
                    f.seek(off)
                    interp = f.read(size).rstrip(b"\0").decode()
            return bits, machine, etype, interp, dynamic
    except (OSError, UnicodeDecodeError):
        return None


def elf_interpreter(path):
    """PT_INTERP of an ELF file, or None (not ELF, or static)."""
    summary = elf_summary(path)
    return summary[3] if summary else None


def regular_files(d):
    seen = set()
    for name in sorted(os.listdir(d)):
        path = os.path.realpath(os.path.join(d, name))
        if path not in seen and os.path.isfile(path):
            seen.add(path)
            yield path


def candidates(dirs):
    """Dynamically linked executables whose interpreter is the system's loader."""
    for d in dirs:
        for path in regular_files(d):
            interp = elf_interpreter(path)
            if interp and os.path.realpath(interp) == os.path.realpath(LOADER):
                yield path


def libraries(d, bits, machine):
    """Shared libraries (ET_DYN with PT_DYNAMIC and no interpreter) of one machine in d."""
    if not os.path.isdir(d):
        return
    for path in regular_files(d):
        s = elf_summary(path)
        if s and s[0] == bits and s[1] == machine and s[2] == ET_DYN and s[3] is None and s[4]:
            yield path


LINE = re.compile(r"^\t(\S+)(?: => (\S+))?(?: \(0x[0-9a-f]+\))?$")


def loader_set(path, loader=LOADER):
    out = subprocess.run([loader, "--list", path], capture_output=True, text=True)
    if out.returncode != 0:
        # glibc 2.36's --list stops at a missing library; the environment variable ldd sets
        # traces the same way and names every missing one.
        env = dict(os.environ, LD_TRACE_LOADED_OBJECTS="1")
        out = subprocess.run([loader, path], capture_output=True, text=True, env=env)
    files = set()
    for line in out.stdout.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        name, target = m.group(1), m.group(2)
        if name.startswith("linux-vdso") or name.startswith("linux-gate"):
            continue
        if target is None:
            # The loader doing the tracing lists itself; for a library it has no other name.
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


def compare(temper, what, paths, loader):
    """Compares one group of files; returns the number that differ."""
    if len(paths) < 2:
        print(f"FAIL {what}: found fewer than 2 files to compare")
        return 1
    ours = temper_sets(temper, paths)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        theirs = dict(zip(paths, pool.map(lambda p: loader_set(p, loader), paths)))
    failures = 0
    for path in paths:
        got, want = ours.get(path), theirs[path]
        if got is None:
            print(f"FAIL {path}: temper printed nothing for it")
            failures += 1
        elif got != want:
            failures += 1
            print(f"FAIL {path}: extra {sorted(got - want)} missing {sorted(want - got)}")
    loaded = sum(len(s) for s in theirs.values())
    print(f"{what}: compared {len(paths)} files ({loaded} loaded files) with {loader} --list: "
          f"{len(paths) - failures} agree, {failures} differ")
    return failures


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    temper = sys.argv[1]
    failures = 0
    if len(sys.argv) > 2:
        return 1 if compare(temper, "executables", list(candidates(sys.argv[2:])), LOADER) else 0
    failures += compare(temper, "executables in /usr/bin and /usr/sbin",
                        list(candidates(["/usr/bin", "/usr/sbin"])), LOADER)
    failures += compare(temper, "x86_64 libraries in /usr/lib/x86_64-linux-gnu",
                        list(libraries("/usr/lib/x86_64-linux-gnu", 64, EM_X86_64)), LOADER)
    failures += compare(temper, "i386 libraries in /usr/lib32",
                        list(libraries("/usr/lib32", 32, EM_386)), LOADER32)
    print(f"{failures} file(s) differ" if failures else "every file agrees with the loader")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
