/*
 * zstd through libzstd's streaming interface, always in multi-threaded mode.
 *
 * libzstd cuts its input into jobs the same way for 1, 2 or 64 workers, so
 * the bytes do not depend on the number of threads; with 0 workers (the
 * single-threaded mode) they differ, and so they do when the content size
 * is pledged. So: at least one worker, never a pledged size, whatever the
 * caller's `jobs`. The calling thread only feeds and drains.
 *
 * The job size and overlap are fixed here, not left to libzstd: its
 * default job at level 3 is 8 MiB, and it keeps a few jobs' input and
 * output per worker, 49 MiB for two workers. Jobs of 1 MiB, each primed
 * with the 1 MiB of input before it (overlapLog 8: half the 2 MiB window),
 * take 11 MiB, are as fast, and come within 0.02% of the default's size.
 * Both values decide the bytes: changing either changes every zstd digest.
 */
#include <stdlib.h>
#include <zstd.h>

#include "base/xalloc.h"
#include "layer-internal.h"

struct zstd_codec {
    struct layer_codec base;
    struct layer_out *out;
    ZSTD_CCtx *cctx;
    ZSTD_outBuffer ob;
};

static int
zstd_fail(size_t rc, const char *what, struct temper_err *err)
{
    return temper_err_set(err, TEMPER_E_IO, 0, "zstd: %s: %s", what, ZSTD_getErrorName(rc));
}

/* Writes out what the output buffer holds once it is full, or when `all` is set. */
static int
drain(struct zstd_codec *c, int all, struct temper_err *err)
{
    if (c->ob.pos == 0 || (!all && c->ob.pos < c->ob.size))
        return 0;
    if (layer_out_write(c->out, c->ob.dst, c->ob.pos, err) < 0)
        return -1;
    c->ob.pos = 0;
    return 0;
}

static int
zstd_write(struct layer_codec *codec, const void *buf, size_t len, struct temper_err *err)
{
    struct zstd_codec *c = (struct zstd_codec *)codec;
    ZSTD_inBuffer in = {buf, len, 0};

    /* With workers, each call takes what it can and returns; it always makes progress. */
    while (in.pos < in.size) {
        size_t rc = ZSTD_compressStream2(c->cctx, &c->ob, &in, ZSTD_e_continue);

        if (ZSTD_isError(rc))
            return zstd_fail(rc, "cannot compress", err);
        if (drain(c, 0, err) < 0)
            return -1;
    }
    return 0;
}

static int
zstd_finish(struct layer_codec *codec, struct temper_err *err)
{
    struct zstd_codec *c = (struct zstd_codec *)codec;
    ZSTD_inBuffer in = {NULL, 0, 0};
    size_t left;

    do {
        left = ZSTD_compressStream2(c->cctx, &c->ob, &in, ZSTD_e_end);
        if (ZSTD_isError(left))
            return zstd_fail(left, "cannot end the frame", err);
        if (drain(c, left == 0, err) < 0)
            return -1;
    } while (left > 0);
    return 0;
}

static void
zstd_free(struct layer_codec *codec)
{
    struct zstd_codec *c = (struct zstd_codec *)codec;

    if (c == NULL)
        return;
    ZSTD_freeCCtx(c->cctx); /* stops and joins the workers */
    free(c->ob.dst);
    free(c);
}

struct layer_codec *
layer_zstd_new(struct layer_out *out, int level, unsigned jobs, struct temper_err *err)
{
    struct zstd_codec *c = xcalloc(1, sizeof(*c));
    size_t rc;

    c->base.write = zstd_write;
    c->base.finish = zstd_finish;
    c->base.free = zstd_free;
    c->out = out;
    c->cctx = ZSTD_createCCtx();
    if (c->cctx == NULL) {
        free(c);
        temper_err_set(err, TEMPER_E_IO, 0, "zstd: cannot create a compression context");
        return NULL;
    }
    c->ob.size = ZSTD_CStreamOutSize();
    c->ob.dst = xmalloc(c->ob.size);
    rc = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
    if (ZSTD_isError(rc)) {
        zstd_fail(rc, "cannot set the level", err);
        goto fail;
    }
    /* The frame checksum lets a reader that does not know the digest check the content too;
     * zstd(1) writes one by default. */
    rc = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(rc)) {
        zstd_fail(rc, "cannot ask for a checksum", err);
        goto fail;
    }
    rc = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_nbWorkers, (int)(jobs > 0 ? jobs : 1));
    if (ZSTD_isError(rc)) {
        /* Single-threaded mode would give other bytes: refuse rather than differ. */
        temper_err_set(err, TEMPER_E_USAGE, 0,
                       "zstd: this libzstd cannot use worker threads (%s), and without them a "
                       "layer would not have the same bytes as elsewhere; use a libzstd built "
                       "with multithreading, or gzip",
                       ZSTD_getErrorName(rc));
        goto fail;
    }
    rc = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_jobSize, LAYER_ZSTD_JOB_BYTES);
    if (!ZSTD_isError(rc))
        rc = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_overlapLog, LAYER_ZSTD_OVERLAP_LOG);
    if (ZSTD_isError(rc)) {
        zstd_fail(rc, "cannot set the job size and overlap", err);
        goto fail;
    }
    return &c->base;
fail:
    zstd_free(&c->base);
    return NULL;
}
