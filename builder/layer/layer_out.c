/*
 * The output end of the layer pipe, and the codec that compresses nothing.
 *
 * Every few MiB written, the kernel is asked to start writing them back
 * (sync_file_range, SYNC_FILE_RANGE_WRITE: a hint, which waits for
 * nothing): the blob is synced once it is whole, and that fsync then has
 * little left to flush, instead of the whole layer at the end of the build.
 * Nothing of what a crash may leave changes: the blob counts only once
 * linked after its fsync.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "layer-internal.h"

void
layer_out_init(struct layer_out *out, int fd, const char *name)
{
    out->fd = fd;
    out->name = name;
    out->size = 0;
    out->flushed = 0;
    sha256_init(&out->digest);
}

int
layer_out_write(struct layer_out *out, const void *buf, size_t len, struct temper_err *err)
{
    const unsigned char *p = buf;
    size_t left = len;

    while (left > 0) {
        ssize_t n = write(out->fd, p, left);

        if (n < 0 && errno == EINTR)
            continue;
        /* A regular file or a pipe never takes zero bytes of a non-empty write; a device that
         * does would loop forever, so it counts as out of space. */
        if (n <= 0)
            return temper_err_sys(err, TEMPER_E_IO, n < 0 ? errno : ENOSPC, "cannot write '%s'",
                                  out->name);
        p += n;
        left -= (size_t)n;
    }
    sha256_update(&out->digest, buf, len);
    out->size += len;
    if (out->flushed != UINT64_MAX && out->size - out->flushed >= LAYER_WRITEBACK_BYTES) {
        /* not a file (a pipe, a socket): no writeback to start, ever */
        if (sync_file_range(out->fd, (off_t)out->flushed, (off_t)(out->size - out->flushed),
                            SYNC_FILE_RANGE_WRITE) < 0 &&
            (errno == ESPIPE || errno == EINVAL))
            out->flushed = UINT64_MAX;
        else
            out->flushed = out->size;
    }
    return 0;
}

void
layer_out_release(struct layer_out *out)
{
    sha256_release(&out->digest);
}

/* The pass-through codec only gathers the tar stream's 10 KiB blocks into larger writes. */
struct none_codec {
    struct layer_codec base;
    struct layer_out *out;
    unsigned char *buf;
    size_t len;
};

static int
none_write(struct layer_codec *codec, const void *buf, size_t len, struct temper_err *err)
{
    struct none_codec *c = (struct none_codec *)codec;
    const unsigned char *p = buf;

    while (len > 0) {
        size_t n = LAYER_IO_CHUNK - c->len < len ? LAYER_IO_CHUNK - c->len : len;

        memcpy(c->buf + c->len, p, n);
        c->len += n;
        p += n;
        len -= n;
        if (c->len == LAYER_IO_CHUNK) {
            if (layer_out_write(c->out, c->buf, c->len, err) < 0)
                return -1;
            c->len = 0;
        }
    }
    return 0;
}

static int
none_finish(struct layer_codec *codec, struct temper_err *err)
{
    struct none_codec *c = (struct none_codec *)codec;

    if (c->len > 0 && layer_out_write(c->out, c->buf, c->len, err) < 0)
        return -1;
    c->len = 0;
    return 0;
}

static void
none_free(struct layer_codec *codec)
{
    struct none_codec *c = (struct none_codec *)codec;

    if (c == NULL)
        return;
    free(c->buf);
    free(c);
}

struct layer_codec *
layer_none_new(struct layer_out *out)
{
    struct none_codec *c = xcalloc(1, sizeof(*c));

    c->base.write = none_write;
    c->base.finish = none_finish;
    c->base.free = none_free;
    c->out = out;
    c->buf = xmalloc(LAYER_IO_CHUNK);
    return &c->base;
}
