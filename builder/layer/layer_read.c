/*
 * A layer blob read back: its digest and size, and the diff_id of what it
 * decompresses to, in one streaming pass.
 *
 * libdeflate, which writes temper's gzip layers, cannot stream: it wants a
 * whole member in memory, and a member from elsewhere may be any size. So
 * gzip is read with zlib's inflate (windowBits 15 + 16: gzip framing only),
 * reset after each member's end, for temper's many 1 MiB members and for
 * the single member of `gzip`. zstd goes through ZSTD_decompressStream,
 * which starts the next frame by itself.
 *
 * Everything is strict: a stream must end exactly at the end of a member or
 * frame (bytes after it that are not another one are refused, where gzip(1)
 * only warns), and a gzip or zstd layer holds at least one member or frame.
 * Memory is two 256 KiB buffers plus the decoder: zlib's 32 KiB window, or
 * a zstd window of at most 2^LAYER_ZSTD_WINDOW_LOG_MAX bytes. The output is
 * only hashed, so a layer that expands a thousandfold (gzip's limit is about
 * 1032:1) costs time in proportion, never memory.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define ZLIB_CONST /* next_in is const: zlib only reads the input */
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "layer-internal.h"
#include "layer_writer.h"

enum codec { CODEC_TAR, CODEC_GZIP, CODEC_ZSTD };

static const struct {
    const char *media_type;
    enum codec codec;
} media_types[] = {
    {"application/vnd.oci.image.layer.v1.tar", CODEC_TAR},
    {"application/vnd.oci.image.layer.v1.tar+gzip", CODEC_GZIP},
    {"application/vnd.oci.image.layer.v1.tar+zstd", CODEC_ZSTD},
    {"application/vnd.docker.image.rootfs.diff.tar", CODEC_TAR},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", CODEC_GZIP},
};

/* The first byte of a gzip member (1f 8b), of a zstd frame (28 b5 2f fd), of a skippable zstd
 * frame (5? 2a 4d 18). */
#define GZIP_FIRST_BYTE 0x1f
#define ZSTD_FIRST_BYTE 0x28
#define ZSTD_SKIPPABLE_FIRST_NIBBLE 0x50
/* The longest magic is_compressed() knows (xz's). */
#define MAGIC_MAX 6

struct reader {
    const char *name;
    enum codec codec;
    struct sha256 diff_id;
    unsigned char *out; /* LAYER_IO_CHUNK bytes of decompressed output */
    uint64_t offset;    /* raw bytes before the current read */
    /* The member (gzip) or frame (zstd) being decoded. */
    bool in_unit;
    uint64_t units;      /* members or frames finished */
    uint64_t unit_start; /* raw offset of the current one's first byte */
    unsigned char unit_first;
    /* A tar's first bytes, kept until there are enough to tell them from a compression magic,
     * however the reads cut them. */
    unsigned char head[MAGIC_MAX];
    size_t head_len;
    bool head_checked;
    z_stream z;
    bool z_ready;
    ZSTD_DCtx *dctx;
};

/* Notes that the byte at `pos` of the current read starts a member or frame. */
static void
unit_begin(struct reader *r, const unsigned char *buf, size_t pos)
{
    r->in_unit = true;
    r->unit_start = r->offset + pos;
    r->unit_first = buf[pos];
}

/* Bytes after a finished member or frame that cannot start another: trailing garbage. */
static bool
is_trailing(const struct reader *r)
{
    if (r->units == 0)
        return false;
    if (r->codec == CODEC_GZIP)
        return r->unit_first != GZIP_FIRST_BYTE;
    return r->unit_first != ZSTD_FIRST_BYTE &&
           (r->unit_first & 0xf0) != ZSTD_SKIPPABLE_FIRST_NIBBLE;
}

static int
trailing_garbage(const struct reader *r, const char *what, struct temper_err *err)
{
    return temper_err_set(err, TEMPER_E_PARSE, 0,
                          "'%s' has bytes after its last %s that are not another (trailing "
                          "garbage at byte %llu)",
                          r->name, what, (unsigned long long)r->unit_start);
}

static int
gzip_start(struct reader *r, struct temper_err *err)
{
    int rc = inflateInit2(&r->z, 15 + 16); /* a 32 KiB window, gzip framing only */

    if (rc != Z_OK)
        return temper_err_set(err, TEMPER_E_IO, rc == Z_MEM_ERROR ? ENOMEM : 0,
                              "zlib: cannot start inflating '%s': %s", r->name,
                              r->z.msg != NULL ? r->z.msg : zError(rc));
    r->z_ready = true;
    return 0;
}

static int
gzip_corrupt(struct reader *r, const unsigned char *buf, int rc, struct temper_err *err)
{
    uint64_t at = r->offset + (uint64_t)(r->z.next_in - buf);

    if (is_trailing(r))
        return trailing_garbage(r, "gzip member", err);
    if (rc == Z_MEM_ERROR)
        return temper_err_set(err, TEMPER_E_IO, ENOMEM, "zlib: out of memory inflating '%s'",
                              r->name);
    return temper_err_set(err, TEMPER_E_PARSE, 0,
                          "'%s' is not valid gzip: member %llu (from byte %llu), near byte %llu: "
                          "%s",
                          r->name, (unsigned long long)r->units + 1,
                          (unsigned long long)r->unit_start, (unsigned long long)at,
                          r->z.msg != NULL ? r->z.msg : zError(rc));
}

/*
 * Inflates what `buf` holds. Each Z_STREAM_END ends a member: the stream is reset and what
 * follows must be the next member. The loop also runs while the output buffer came back full,
 * since inflate may hold more output for input it has already taken.
 */
static int
gzip_feed(struct reader *r, const unsigned char *buf, size_t len, struct temper_err *err)
{
    r->z.next_in = buf;
    r->z.avail_in = (uInt)len;
    do {
        int rc;

        if (!r->in_unit && r->z.avail_in > 0)
            unit_begin(r, buf, (size_t)(r->z.next_in - buf));
        r->z.next_out = r->out;
        r->z.avail_out = LAYER_IO_CHUNK;
        rc = inflate(&r->z, Z_NO_FLUSH);
        sha256_update(&r->diff_id, r->out, LAYER_IO_CHUNK - r->z.avail_out);
        if (rc == Z_STREAM_END) {
            r->units++;
            r->in_unit = false;
            if (inflateReset(&r->z) != Z_OK)
                return gzip_corrupt(r, buf, Z_STREAM_ERROR, err);
        } else if (rc == Z_BUF_ERROR && r->z.avail_in == 0) {
            break; /* everything taken, nothing more to give: needs the next read */
        } else if (rc != Z_OK) {
            return gzip_corrupt(r, buf, rc, err);
        }
    } while (r->z.avail_in > 0 || r->z.avail_out == 0);
    return 0;
}

static int
gzip_end(struct reader *r, struct temper_err *err)
{
    if (r->in_unit && is_trailing(r))
        return trailing_garbage(r, "gzip member", err);
    if (r->in_unit)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' is truncated: it ends inside gzip member %llu (from byte "
                              "%llu)",
                              r->name, (unsigned long long)r->units + 1,
                              (unsigned long long)r->unit_start);
    if (r->units == 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' is empty: a gzip layer holds at least one member", r->name);
    return 0;
}

static int
zstd_start(struct reader *r, struct temper_err *err)
{
    size_t rc;

    r->dctx = ZSTD_createDCtx();
    if (r->dctx == NULL)
        return temper_err_set(err, TEMPER_E_IO, ENOMEM,
                              "zstd: cannot create a decompression context for '%s'", r->name);
    /* libzstd's default limit too, set here so that the bound on memory is ours to read. */
    rc = ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, LAYER_ZSTD_WINDOW_LOG_MAX);
    if (ZSTD_isError(rc))
        return temper_err_set(err, TEMPER_E_IO, 0, "zstd: cannot limit the window for '%s': %s",
                              r->name, ZSTD_getErrorName(rc));
    return 0;
}

static int
zstd_corrupt(struct reader *r, size_t rc, struct temper_err *err)
{
    if (is_trailing(r) && ZSTD_getErrorCode(rc) == ZSTD_error_prefix_unknown)
        return trailing_garbage(r, "zstd frame", err);
    return temper_err_set(
        err, TEMPER_E_PARSE, 0, "'%s' is not valid zstd: frame %llu (from byte %llu): %s", r->name,
        (unsigned long long)r->units + 1, (unsigned long long)r->unit_start, ZSTD_getErrorName(rc));
}

/* As gzip_feed: a return of 0 ends a frame, and a full output buffer may hide more output. */
static int
zstd_feed(struct reader *r, const unsigned char *buf, size_t len, struct temper_err *err)
{
    ZSTD_inBuffer in = {buf, len, 0};
    ZSTD_outBuffer out;

    do {
        size_t rc;

        if (!r->in_unit && in.pos < in.size)
            unit_begin(r, buf, in.pos);
        out = (ZSTD_outBuffer){r->out, LAYER_IO_CHUNK, 0};
        rc = ZSTD_decompressStream(r->dctx, &out, &in);
        if (ZSTD_isError(rc))
            return zstd_corrupt(r, rc, err);
        sha256_update(&r->diff_id, r->out, out.pos);
        if (rc == 0 && r->in_unit) {
            r->units++;
            r->in_unit = false;
        }
    } while (in.pos < in.size || out.pos == out.size);
    return 0;
}

static int
zstd_end(struct reader *r, struct temper_err *err)
{
    if (r->in_unit && is_trailing(r))
        return trailing_garbage(r, "zstd frame", err);
    if (r->in_unit)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' is truncated: it ends inside zstd frame %llu (from byte "
                              "%llu)",
                              r->name, (unsigned long long)r->units + 1,
                              (unsigned long long)r->unit_start);
    if (r->units == 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' is empty: a zstd layer holds at least one frame", r->name);
    return 0;
}

/* Whether a stream starts like gzip, zstd, bzip2 or xz, which runtimes sniff and decompress. */
static bool
is_compressed(const unsigned char *buf, size_t len)
{
    static const struct {
        const char *magic;
        size_t len;
    } magics[] = {{"\x1f\x8b", 2},
                  {"\x28\xb5\x2f\xfd", 4},
                  {"BZh", 3},
                  {"\xfd"
                   "7zXZ\x00",
                   6}};

    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
        if (len >= magics[i].len && memcmp(buf, magics[i].magic, magics[i].len) == 0)
            return true;
    return false;
}

static int
declared_tar(const struct reader *r, struct temper_err *err)
{
    return temper_err_set(err, TEMPER_E_PARSE, 0,
                          "'%s' is declared an uncompressed tar but holds compressed bytes: a "
                          "runtime would unpack what they decompress to, which no diff_id covers",
                          r->name);
}

/*
 * Looks at a tar's first MAGIC_MAX bytes, gathered across reads: a registry may send the first
 * byte alone, and a read may return any part of what is sent (a magic looked for in the first
 * read only was missed when that read was shorter than the magic). The stream's end decides on
 * fewer bytes (finish()).
 */
static int
check_head(struct reader *r, const unsigned char *buf, size_t len, struct temper_err *err)
{
    size_t take = MAGIC_MAX - r->head_len < len ? MAGIC_MAX - r->head_len : len;

    memcpy(r->head + r->head_len, buf, take);
    r->head_len += take;
    if (r->head_len < MAGIC_MAX)
        return 0;
    r->head_checked = true;
    return is_compressed(r->head, r->head_len) ? declared_tar(r, err) : 0;
}

static int
feed(struct reader *r, const unsigned char *buf, size_t len, struct temper_err *err)
{
    switch (r->codec) {
    case CODEC_TAR:
        if (!r->head_checked && check_head(r, buf, len, err) < 0)
            return -1;
        sha256_update(&r->diff_id, buf, len);
        return 0;
    case CODEC_GZIP:
        return gzip_feed(r, buf, len, err);
    case CODEC_ZSTD:
        return zstd_feed(r, buf, len, err);
    }
    return 0;
}

static int
finish(struct reader *r, struct temper_err *err)
{
    switch (r->codec) {
    case CODEC_TAR: /* a stream shorter than MAGIC_MAX bytes */
        return !r->head_checked && is_compressed(r->head, r->head_len) ? declared_tar(r, err) : 0;
    case CODEC_GZIP:
        return gzip_end(r, err);
    case CODEC_ZSTD:
        return zstd_end(r, err);
    }
    return 0;
}

static int
find_codec(const char *media_type, const char *name, enum codec *out, struct temper_err *err)
{
    for (size_t i = 0; media_type != NULL && i < sizeof(media_types) / sizeof(media_types[0]);
         i++) {
        if (strcmp(media_type, media_types[i].media_type) == 0) {
            *out = media_types[i].codec;
            return 0;
        }
    }
    char shown[128];

    return temper_err_set(err, TEMPER_E_USAGE, 0,
                          "'%s' has media type '%s', which temper cannot read: it reads tar "
                          "layers, uncompressed, gzip or zstd",
                          name,
                          temper_printable(media_type ? media_type : "", shown, sizeof(shown)));
}

/*
 * Reads fd to its end in LAYER_IO_CHUNK pieces, hashing each and handing it to the decoder. A
 * stream that stops decoding is still read and hashed to its end: whether its bytes are the
 * ones a descriptor names is then the better report, and a pipe cannot be read twice.
 */
static int
pump(struct reader *r, int fd, struct sha256 *digest, unsigned char *buf, struct temper_err *err)
{
    struct temper_err broken = {.code = TEMPER_E_NONE};

    for (;;) {
        ssize_t n = read(fd, buf, LAYER_IO_CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read '%s'", r->name);
        if (n == 0)
            break;
        sha256_update(digest, buf, (size_t)n);
        if (broken.code == TEMPER_E_NONE && feed(r, buf, (size_t)n, &broken) < 0 &&
            broken.code != TEMPER_E_PARSE) {
            *err = broken;
            return -1;
        }
        r->offset += (uint64_t)n;
    }
    if (broken.code != TEMPER_E_NONE) {
        *err = broken;
        return -1;
    }
    return finish(r, err);
}

int
layer_read_digests(int fd, const char *media_type, const char *name, char digest[LAYER_DIGEST_LEN],
                   char diff_id[LAYER_DIGEST_LEN], uint64_t *size, struct temper_err *err)
{
    struct reader r = {.name = name != NULL ? name : "layer"};
    struct sha256 raw;
    unsigned char *buf;
    int rc = -1;

    if (find_codec(media_type, r.name, &r.codec, err) < 0)
        return -1;
    if ((r.codec == CODEC_GZIP && gzip_start(&r, err) < 0) ||
        (r.codec == CODEC_ZSTD && zstd_start(&r, err) < 0))
        goto out;
    buf = xmalloc(LAYER_IO_CHUNK);
    r.out = xmalloc(LAYER_IO_CHUNK);
    sha256_init(&raw);
    sha256_init(&r.diff_id);
    rc = pump(&r, fd, &raw, buf, err);
    if (rc == 0 || err->code == TEMPER_E_PARSE) {
        sha256_final(&raw, digest);
        *size = r.offset;
    }
    if (rc == 0)
        sha256_final(&r.diff_id, diff_id);
    sha256_release(&raw);
    sha256_release(&r.diff_id);
    free(buf);
    free(r.out);
out:
    if (r.z_ready)
        inflateEnd(&r.z);
    ZSTD_freeDCtx(r.dctx);
    return rc;
}
