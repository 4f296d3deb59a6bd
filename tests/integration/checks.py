"""What the integration scripts share: one line per check, and the exit status they end with."""
import hashlib
import io
import json
import os
import tarfile

failures = []


def check(cond, what):
    """Prints `ok` or `FAIL` and what was checked; remembers a failure. Returns cond."""
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def summary():
    """Prints how many checks failed; returns the exit status: 1 when any did."""
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


BIDI_AND_SEPARATORS = ({0x061C, 0x200E, 0x200F, 0x2028, 0x2029} | set(range(0x202A, 0x202F)) |
                       set(range(0x2066, 0x206A)))


def shown(data):
    """bytes as temper shows them to a person (builder/base/escape.h): printable ASCII and UTF-8
    as they are, but a backslash as \\\\, newline, tab and CR as \\n \\t \\r, other C0 controls,
    DEL and bytes that are not UTF-8 as \\xNN, C1 controls, bidi controls and U+2028/U+2029 as
    \\uNNNN."""
    out, i = [], 0
    while i < len(data):
        b = data[i]
        if b == 0x5C:
            out.append("\\\\")
        elif b in (0x0A, 0x09, 0x0D):
            out.append({0x0A: "\\n", 0x09: "\\t", 0x0D: "\\r"}[b])
        elif b < 0x20 or b == 0x7F:
            out.append(f"\\x{b:02x}")
        elif b < 0x80:
            out.append(chr(b))
        else:
            n = 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 0
            try:
                c = data[i:i + n].decode("utf-8") if n and i + n <= len(data) else None
            except UnicodeDecodeError:
                c = None
            if c is None:
                out.append(f"\\x{b:02x}")
            else:
                cp = ord(c)
                out.append(f"\\u{cp:04x}" if 0x80 <= cp <= 0x9F or cp in BIDI_AND_SEPARATORS
                           else c)
                i += n
                continue
        i += 1
    return "".join(out)


def unpack_layout(layout, into):
    """The tree of a layout's one image with one layer, extracted into `into` (returned)."""
    index = json.load(open(os.path.join(layout, "index.json")))
    blob = lambda d: open(os.path.join(layout, "blobs", "sha256", d.split(":")[1]), "rb").read()
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    with tarfile.open(fileobj=io.BytesIO(blob(manifest["layers"][0]["digest"]))) as t:
        t.extractall(into, filter="tar")
    return into


def tree_files(top):
    """Every file under `top` with its bytes' digest: what "as it was" compares."""
    out = {}
    for d, _, files in os.walk(top):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, top)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out
