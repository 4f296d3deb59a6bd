#!/usr/bin/env python3
"""Oracle test: temper resolve against the system's own dynamic loader.

For every dynamically linked ELF executable in /usr/bin and /usr/sbin whose
interpreter is the system's loader, the set of files `temper resolve --format
ldd` names must equal, compared by canonical path, the set that the loader
reports in trace mode (`LOADER --list FILE`, vDSO excluded). The same for
every shared library in the multiarch directory (x86_64) and in /usr/lib32
(i386, through the i386 loader: a search path full of x86_64 libraries of the
same names comes first in ld.so.conf, and must be skipped; on a kernel built
without i386 support, the same loader runs under qemu-i386-static, which
executes its code, not a model of it). Libraries that
neither can find are compared by name. Prints how many files were compared;
fails naming each file and its extra or missing files.

On this machine's own root, the functions each object imports for which glibc opens a library
(`glibc_opens` of `temper resolve --versions --format json`: libgcc_s.so.1 for pthread_cancel,
pthread_exit, thrd_exit and backtrace, gconv for iconv_open) against the undefined symbols
binutils' `nm -D` lists, for every object that the executables and libraries load.

With --root ROOT, the same inside another root (a debootstrap tree): temper
resolve --root ROOT against the root's own loader run under chroot, paths made
canonical inside the root by its own realpath.

usage: resolve_oracle.py TEMPER [--root ROOT] [DIR...]   (DIRs: executables only)
"""
import concurrent.futures
import errno
import os
import re
import shutil
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


class Root:
    """The host ("/"), or another root reached through chroot and its own tools."""

    def __init__(self, directory=None):
        self.dir = directory

    def host(self, path):
        return self.dir + path if self.dir else path

    def command(self, argv, env=None):
        if not self.dir:
            return argv, dict(os.environ, **(env or {}))
        # Inside the root, env sets the variables: set outside, they would reach chroot itself.
        return ["chroot", self.dir, "/usr/bin/env", *[f"{k}={v}" for k, v in (env or {}).items()],
                *argv], None

    def canonical(self, paths):
        if not self.dir:
            return [os.path.realpath(p) for p in paths]
        if not paths:
            return []
        out = subprocess.run(["chroot", self.dir, "/usr/bin/realpath", "-m", "--", *paths],
                             capture_output=True, text=True, check=True)
        return out.stdout.splitlines()


HOST = Root()


def regular_files(d, root=HOST):
    """Regular files in d (inside root), each once, by their canonical path inside root."""
    names = sorted(os.listdir(root.host(d)))
    seen = set()
    for path in root.canonical([os.path.join(d, n) for n in names]):
        if path not in seen and os.path.isfile(root.host(path)):
            seen.add(path)
            yield path


def candidates(dirs, root=HOST):
    """Dynamically linked executables whose interpreter is the system's loader."""
    loader = root.canonical([LOADER])[0]
    for d in dirs:
        for path in regular_files(d, root):
            interp = elf_interpreter(root.host(path))
            if interp and root.canonical([interp])[0] == loader:
                yield path


def libraries(d, bits, machine, root=HOST):
    """Shared libraries (ET_DYN with PT_DYNAMIC and no interpreter) of one machine in d."""
    if not os.path.isdir(root.host(d)):
        return
    for path in regular_files(d, root):
        s = elf_summary(root.host(path))
        if s and s[0] == bits and s[1] == machine and s[2] == ET_DYN and s[3] is None and s[4]:
            yield path


LINE = re.compile(r"^\t(\S+)(?: => (\S+))?(?: \(0x[0-9a-f]+\))?$")


def runner(loader, root):
    """How to run a loader: by itself, or under qemu-user when the kernel cannot execute its
    machine's code (a kernel without IA32 emulation and i386's loader: ENOEXEC)."""
    if root.dir:
        return [loader]
    try:
        subprocess.run([loader, "--version"], capture_output=True, check=False)
        return [loader]
    except OSError as e:
        if e.errno != errno.ENOEXEC:
            raise
    qemu = shutil.which("qemu-i386-static")
    if loader != LOADER32 or qemu is None:
        sys.exit(f"this kernel cannot run {loader}, and qemu-i386-static is missing: "
                 "apt-get install qemu-user-static")
    return [qemu, loader]


def loader_set(path, loader=LOADER, root=HOST, run=None):
    run = run or [loader]
    argv, env = root.command([*run, "--list", path])
    out = subprocess.run(argv, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        # glibc 2.36's --list stops at a missing library; the environment variable ldd sets
        # traces the same way and names every missing one.
        argv, env = root.command([*run, path], {"LD_TRACE_LOADED_OBJECTS": "1"})
        out = subprocess.run(argv, capture_output=True, text=True, env=env)
    files, paths = set(), []
    for line in out.stdout.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        name, target = m.group(1), m.group(2)
        if name.startswith("linux-vdso") or name.startswith("linux-gate"):
            continue
        if target is None:
            # The loader doing the tracing lists itself; for a library it has no other name.
            paths.append(name)
        elif target == "not":
            files.add("not found: " + name)
        else:
            paths.append(target)
    return files | set(root.canonical(paths))


def temper_sets(temper, paths, root=HOST):
    argv = [temper, "resolve", "--allow-missing", "--format", "ldd", *paths]
    if root.dir:
        argv[2:2] = ["--root", root.dir]
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"temper resolve failed ({out.returncode}): {out.stderr.strip()}")
    missing, found, current = {}, {}, None
    for line in out.stdout.splitlines():
        if not line.startswith("\t"):
            current = line[:-1]
            missing[current], found[current] = set(), []
            continue
        entry = line[1:]
        if " => " in entry:
            name, target = entry.split(" => ", 1)
            if target == "not found":
                missing[current].add("not found: " + name)
            else:
                found[current].append(target)
        elif entry != "statically linked":
            found[current].append(entry)
    return {p: missing[p] | set(root.canonical(found[p])) for p in missing}


def compare(temper, what, paths, loader, root=HOST):
    """Compares one group of files; returns the number that differ."""
    if len(paths) < 2:
        print(f"FAIL {what}: found fewer than 2 files to compare")
        return 1
    ours = temper_sets(temper, paths, root)
    run = runner(loader, root)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        theirs = dict(zip(paths, pool.map(lambda p: loader_set(p, loader, root, run), paths)))
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
    print(f"{what}: compared {len(paths)} files ({loaded} loaded files) with {' '.join(run)} --list: "
          f"{len(paths) - failures} agree, {failures} differ")
    return failures


WATCHED = {"pthread_cancel": "libgcc_s.so.1", "pthread_exit": "libgcc_s.so.1",
           "thrd_exit": "libgcc_s.so.1", "backtrace": "libgcc_s.so.1", "iconv_open": "gconv"}


def nm_opens(path):
    out = subprocess.run(["nm", "-D", "--undefined-only", "--format=posix", path],
                         capture_output=True, text=True)
    names = {line.split()[0].split("@")[0] for line in out.stdout.splitlines() if line.split()}
    return sorted({WATCHED[n] for n in names if n in WATCHED})


def compare_imports(temper, paths):
    """glibc_opens of every object loaded, against nm; returns the number that differ."""
    out = subprocess.run([temper, "resolve", "--allow-missing", "--versions", "--format", "json",
                          *paths], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"FAIL temper resolve --versions: {out.stderr.strip()[-300:]}")
        return 1
    import json
    ours = {}
    for inp in json.loads(out.stdout)["inputs"]:
        for o in inp["objects"]:
            ours[o["canonical"]] = sorted(o["glibc_opens"])
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        theirs = dict(zip(ours, pool.map(nm_opens, ours)))
    failures = [p for p in ours if ours[p] != theirs[p]]
    for p in failures:
        print(f"FAIL {p}: temper says glibc opens {ours[p]}, nm's imports say {theirs[p]}")
    opening = sum(1 for p in ours if theirs[p])
    print(f"imports: {len(ours)} objects against nm -D ({opening} import a watched function): "
          f"{len(ours) - len(failures)} agree, {len(failures)} differ")
    return len(failures) + (1 if opening == 0 else 0)


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    temper, root = os.path.realpath(args.pop(0)), HOST
    if args[:1] == ["--root"] and len(args) > 1:
        root = Root(os.path.realpath(args[1]))
        args = args[2:]
    failures = 0
    if args:
        return 1 if compare(temper, "executables", list(candidates(args, root)), LOADER, root) else 0
    where = f" of {root.dir}" if root.dir else ""
    failures += compare(temper, f"executables in /usr/bin and /usr/sbin{where}",
                        list(candidates(["/usr/bin", "/usr/sbin"], root)), LOADER, root)
    failures += compare(temper, f"x86_64 libraries in /usr/lib/x86_64-linux-gnu{where}",
                        list(libraries("/usr/lib/x86_64-linux-gnu", 64, EM_X86_64, root)),
                        LOADER, root)
    if not root.dir:
        failures += compare_imports(temper, list(candidates(["/usr/bin", "/usr/sbin"], root)) +
                                    list(libraries("/usr/lib/x86_64-linux-gnu", 64, EM_X86_64,
                                                   root)))
    if root.dir and not os.path.exists(root.host(LOADER32)):
        print(f"i386 libraries: {root.dir} has no i386 loader, so none are compared")
    else:
        failures += compare(temper, f"i386 libraries in /usr/lib32{where}",
                            list(libraries("/usr/lib32", 32, EM_386, root)), LOADER32, root)
    print(f"{failures} file(s) differ" if failures else "every file agrees with the loader")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
