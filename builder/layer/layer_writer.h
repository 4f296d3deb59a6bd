/*
 * layer: a rootfs plan written as one reproducible OCI layer, in one pass.
 *
 * libarchive writes a pax tar stream (restricted pax: plain ustar headers,
 * with a pax extended header only where ustar cannot hold a value) into
 * temper's own callback. That callback hashes the tar bytes (the diff_id),
 * hands them to the compressor, and the compressor's output is hashed (the
 * blob digest) and written to the caller's descriptor. Every file is read
 * once, in bounded pieces; memory does not grow with the image.
 *
 * Reproducible by construction: entries in the plan's order, uid/gid
 * numbers without user or group names, every mtime equal to the epoch, no
 * atime, ctime, xattrs or ACLs, modes exactly as planned. Names that need a
 * pax header are written as UTF-8 whatever the caller's locale (bytes that
 * are not UTF-8 go out as they are, marked hdrcharset=BINARY). Compression
 * does not depend on the number of threads:
 *  - gzip: the stream is cut into LAYER_GZIP_CHUNK-byte chunks, each
 *    compressed by libdeflate as its own gzip member (RFC 1952 allows
 *    consecutive members; BGZF does the same), on `jobs` threads, written
 *    in order; headers carry no name and no timestamp;
 *  - zstd: libzstd with at least one worker thread (0 workers gives other
 *    bytes) and no pledged size;
 *  - none: the tar stream as it is (for archives of a layout).
 *
 * The calling thread reads the files, builds the tar stream, hashes and
 * writes; `jobs` more threads compress. Memory is bounded by the number of
 * chunks in flight (2 * jobs for gzip), never by the image.
 *
 * A file whose size changed since it was planned, or that can no longer be
 * opened, fails the write naming it.
 */
#ifndef TEMPER_LAYER_WRITER_H
#define TEMPER_LAYER_WRITER_H

#include <stdint.h>

#include "base/error.h"
#include "base/fs.h"
#include "rootfs/rootfs_plan.h"

enum layer_compression {
    LAYER_COMPRESSION_GZIP,
    LAYER_COMPRESSION_ZSTD,
    LAYER_COMPRESSION_NONE,
};

/* Bytes of tar stream per gzip member. Part of the output format: changing it changes digests. */
#define LAYER_GZIP_CHUNK (1024 * 1024)
/* Compression threads at most; more `jobs` are taken as this many (the bytes are the same). */
#define LAYER_JOBS_MAX 64

struct layer_options {
    enum layer_compression compression;
    int level;     /* 0 for the default: gzip 5 (1..12), zstd 3 (1..19); ignored for none */
    unsigned jobs; /* compression threads; 0 means one */
    int64_t epoch; /* the mtime of every entry, seconds since 1970 */
    /* What errors call out_fd ("blobs/sha256/.tmp-1"); NULL for "layer output". */
    const char *out_name;
    /* When not NULL, one per plan entry: each file's digests, of the bytes the layer holds (an
     * SBOM lists them). Costs a SHA-1 and a SHA-256 of every byte, on the writing thread. */
    struct layer_file_digest *file_digests;
};

/* Hex digests of one file's contents, NUL-terminated. */
struct layer_file_digest {
    char sha1[41];
    char sha256[65];
};

/* "sha256:" + 64 hex digits + NUL */
#define LAYER_DIGEST_LEN 72

struct layer_result {
    char digest[LAYER_DIGEST_LEN];  /* of the bytes written to out_fd */
    char diff_id[LAYER_DIGEST_LEN]; /* of the uncompressed tar stream */
    uint64_t size;                  /* bytes written to out_fd */
    uint64_t tar_size;              /* bytes of the tar stream */
};

/*
 * Writes the layer of `plan` to `out_fd` (at its current offset), reading
 * the files of the plan from `root` (borrowed; resolved by the calling
 * thread only). On failure some bytes may have been written: the caller
 * discards the file. Errors: TEMPER_E_USAGE for a level out of range, a
 * libzstd without threads, or an entry no plan should hold (a mode beyond
 * 07777, an absolute path, a file without source or content);
 * TEMPER_E_IO otherwise, naming the file or the output.
 */
int layer_write(const struct rootfs_plan *plan, struct fs_root *root, int out_fd,
                const struct layer_options *opts, struct layer_result *out, struct temper_err *err);

/*
 * Reads a layer blob from `fd` (at its current offset, to its end) as a
 * stream: its sha256 and byte count (*digest, *size) and, decompressed as
 * `media_type` says (tar; tar+gzip with any number of gzip members; tar+zstd
 * with any number of frames; the Docker media types too), the sha256 of the
 * uncompressed bytes (*diff_id). Memory stays bounded whatever the size (a
 * zstd window may take up to 2^LAYER_ZSTD_WINDOW_LOG_MAX bytes). A stream
 * that does not decompress (corrupt, truncated, bytes after the last member
 * or frame, a gzip or zstd layer of zero bytes) is TEMPER_E_PARSE, an
 * unknown media type TEMPER_E_USAGE, a failed read TEMPER_E_IO; messages
 * name `name`. The outputs are set on success; a stream that does not
 * decompress is still read to its end, and *digest and *size are set then
 * too (whether its bytes are the ones a descriptor names is the better
 * report, and a pipe cannot be read twice).
 */
int layer_read_digests(int fd, const char *media_type, const char *name,
                       char digest[LAYER_DIGEST_LEN], char diff_id[LAYER_DIGEST_LEN],
                       uint64_t *size, struct temper_err *err);

/* How the options compress, as a layer's history names it: "gzip level 5, libdeflate 1.14",
 * "zstd level 3, libzstd 1.5.4" (the default level spelled out), "none". Two layers of the same
 * tar compressed the same way are the same bytes. */
void layer_compressor(const struct layer_options *opts, char *out, size_t size);

/* "application/vnd.oci.image.layer.v1.tar+gzip", "...tar+zstd" or "...tar". */
const char *layer_media_type(enum layer_compression compression);

/* Parses "gzip", "zstd" or "none"; -1 for anything else. */
int layer_compression_parse(const char *name, enum layer_compression *out);

/* The libraries whose bytes a layer's digest depends on, as this program runs them:
 * "libarchive 3.6.2, libdeflate 1.14, libzstd 1.5.4" (libdeflate has no run-time version: the
 * one it was built with). docs/ci.md asks users to pin them. */
void layer_library_versions(char *out, size_t size);

#endif
