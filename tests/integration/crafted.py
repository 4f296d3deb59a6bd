"""OCI layouts crafted by hand, for what temper itself would never write: descriptors with
extra members, configs that lie about diff_ids, layers with whiteouts, hard links and odd pax
records. Also `measured`, which runs a command and reports its time and peak memory."""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def blob(layout, data):
    d = sha(data)
    with open(os.path.join(layout, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return d


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    """members: a list of (TarInfo, data or None)."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=fmt) as t:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return bio.getvalue()


def ti(name, type=tarfile.REGTYPE, mode=0o644, linkname="", pax=None):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.uid, t.gid, t.mtime, t.linkname = type, mode, 0, 0, 0, linkname
    if pax:
        t.pax_headers = pax
    return t


def layout(path, layers, config_extra=None, diff_ids=None, layer_desc_extra=None, raw=False,
           repeat=1, media_type="application/vnd.oci.image.layer.v1.tar+gzip"):
    """A layout at `path` tagged latest, of gzip layers made of the uncompressed tars `layers`
    (or of the blobs `layers` as they are when raw: gzip unless `media_type` says otherwise,
    when `diff_ids` must be given), each listed `repeat` times."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(os.path.join(path, "blobs", "sha256"))
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    descs, ids = [], []
    for i, t in enumerate(layers):
        data = t if raw else gzip.compress(t, mtime=0)
        if diff_ids is None:
            ids.append(sha(t) if not raw else sha(gzip.decompress(t)))
        desc = {"mediaType": media_type, "digest": blob(path, data), "size": len(data)}
        if layer_desc_extra and i < len(layer_desc_extra) and layer_desc_extra[i]:
            desc.update(layer_desc_extra[i])
        descs.append(desc)
    cfg = {"architecture": "amd64", "os": "linux", "config": {"User": "1000"},
           "rootfs": {"type": "layers",
                      "diff_ids": (diff_ids if diff_ids is not None else ids) * repeat}}
    if config_extra:
        cfg.update(config_extra)
    cb = json.dumps(cfg).encode()
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "digest": blob(path, cb), "size": len(cb)},
           "layers": descs * repeat}
    mb = json.dumps(man).encode()
    idx = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(path, mb),
         "size": len(mb), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    with open(os.path.join(path, "index.json"), "w") as f:
        f.write(json.dumps(idx))
    return path


def measured(args, env=None):
    """Runs args; returns (CompletedProcess, seconds, peak RSS in MiB) of that one process."""
    import tempfile
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        p = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return (subprocess.CompletedProcess(args, p.returncode, out.read().decode(errors="replace"),
                                            err.read().decode(errors="replace")),
                seconds, usage.ru_maxrss / 1024)


def pax_record(key, value):
    """One pax record, its length counting itself."""
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n += 1
    return str(n).encode() + body


def ustar_header(name, typ, size, mode=0o644):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[156:157] = typ
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def tar_of_entries(entries):
    """Yields the pieces of a tar written entry by entry: entries yields (name, pax records or
    None) for empty files."""
    for name, pax in entries:
        if pax is not None:
            yield ustar_header(b"PaxHeader", b"x", len(pax)) + pax + b"\0" * (-len(pax) % 512)
        yield ustar_header(name, b"0", 0)
    yield b"\0" * 1024


def gzip_of_entries(entries):
    """A gzip blob of tar_of_entries(entries), so that a blob of a few MiB may hold many MiB of
    tar."""
    import zlib
    co = zlib.compressobj(6, zlib.DEFLATED, 31)
    out = [co.compress(piece) for piece in tar_of_entries(entries)]
    out.append(co.flush())
    return b"".join(out)


def zstd_of_entries(entries):
    """(zstd blob, diff_id) of tar_of_entries(entries), through zstd(1): its window spans
    records that repeat every few hundred KiB, which a gzip window of 32 KiB does not."""
    import threading
    p = subprocess.Popen(["zstd", "-q", "-3", "-c"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    out, h = [], hashlib.sha256()
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()))
    reader.start()
    for piece in tar_of_entries(entries):
        h.update(piece)
        p.stdin.write(piece)
    p.stdin.close()
    reader.join()
    assert p.wait() == 0
    return out[0], "sha256:" + h.hexdigest()
