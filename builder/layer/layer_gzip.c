/*
 * gzip as a series of independent members, compressed on worker threads.
 *
 * libdeflate is three times faster than zlib at the same level but has no
 * streaming interface, so the tar stream is cut into LAYER_GZIP_CHUNK-byte
 * chunks and each becomes one complete gzip member (RFC 1952 section 2.2:
 * a gzip file is a series of members; every gunzip reads them as one
 * stream). A chunk's bytes depend only on its input and the level, and the
 * cuts only on the tar stream, so the output is the same for any number of
 * threads.
 *
 * Chunks live in a ring of 2 * jobs slots. The calling thread fills the
 * slot after the last queued one, queues it, and writes finished slots out
 * strictly in order; when the ring is full it waits for the oldest. Each
 * worker owns a libdeflate compressor (they are not shareable) and claims
 * queued slots in order. A slot belongs to whoever its state says:
 *   FREE   the calling thread, filling it;
 *   QUEUED nobody yet (under the lock);
 *   BUSY   the worker that claimed it;
 *   DONE   the calling thread, writing it out.
 * Every change of state happens under the lock, which is what orders the
 * buffers' contents between threads.
 */
#include <errno.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "layer-internal.h"
#include "layer_writer.h"

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_BUSY, SLOT_DONE };

struct slot {
    unsigned char *in;
    size_t in_len;
    unsigned char *out;
    size_t out_len; /* 0 when libdeflate failed */
    enum slot_state state;
};

struct gzip_codec {
    struct layer_codec base;
    struct layer_out *out;
    int level;
    size_t bound; /* largest member of one chunk */
    struct slot *slots;
    size_t nslots;
    uint64_t queued;  /* chunks queued so far; chunk i lives in slots[i % nslots] */
    uint64_t claimed; /* chunks taken by a compressing thread */
    uint64_t written; /* chunks written out */
    pthread_mutex_t lock;
    pthread_cond_t work; /* a chunk was queued, or the workers must stop */
    pthread_cond_t done; /* a chunk was compressed */
    bool stopping;
    struct libdeflate_compressor *own; /* the calling thread's, used when no worker started */
    pthread_t threads[LAYER_JOBS_MAX];
    unsigned nthreads;
};

static struct slot *
slot_of(struct gzip_codec *c, uint64_t chunk)
{
    return &c->slots[chunk % c->nslots];
}

/* Compresses the next queued chunk; called and returns with the lock held. */
static void
claim_and_compress(struct gzip_codec *c, struct libdeflate_compressor *dc)
{
    struct slot *s = slot_of(c, c->claimed++);

    s->state = SLOT_BUSY;
    pthread_mutex_unlock(&c->lock);
    s->out_len = libdeflate_gzip_compress(dc, s->in, s->in_len, s->out, c->bound);
    pthread_mutex_lock(&c->lock);
    s->state = SLOT_DONE;
    pthread_cond_broadcast(&c->done);
}

struct worker_arg {
    struct gzip_codec *codec;
    struct libdeflate_compressor *dc;
};

static void *
worker(void *arg)
{
    struct worker_arg *wa = arg;
    struct gzip_codec *c = wa->codec;
    struct libdeflate_compressor *dc = wa->dc;

    free(wa);
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (c->claimed == c->queued && !c->stopping)
            pthread_cond_wait(&c->work, &c->lock);
        if (c->stopping)
            break;
        claim_and_compress(c, dc);
    }
    pthread_mutex_unlock(&c->lock);
    libdeflate_free_compressor(dc);
    return NULL;
}

/* Queues the slot being filled. */
static void
queue_chunk(struct gzip_codec *c)
{
    pthread_mutex_lock(&c->lock);
    slot_of(c, c->queued)->state = SLOT_QUEUED;
    c->queued++;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->lock);
}

/*
 * Writes out the oldest chunk in flight: waits for it when `wait` is set,
 * else returns 1 when it is not done yet. Without workers the calling
 * thread compresses it itself.
 */
static int
write_oldest(struct gzip_codec *c, bool wait, struct temper_err *err)
{
    struct slot *s = slot_of(c, c->written);
    bool is_done;

    pthread_mutex_lock(&c->lock);
    while (s->state != SLOT_DONE && wait) {
        if (c->nthreads == 0)
            claim_and_compress(c, c->own);
        else
            pthread_cond_wait(&c->done, &c->lock);
    }
    is_done = s->state == SLOT_DONE;
    pthread_mutex_unlock(&c->lock);
    if (!is_done)
        return 1;
    if (s->out_len == 0)
        return temper_err_set(err, TEMPER_E_IO, 0,
                              "gzip: libdeflate could not compress chunk %llu of the layer",
                              (unsigned long long)c->written);
    if (layer_out_write(c->out, s->out, s->out_len, err) < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    s->state = SLOT_FREE;
    s->in_len = 0;
    pthread_mutex_unlock(&c->lock);
    c->written++;
    return 0;
}

/* Queues the full slot, writes what is done, and makes sure the next slot is free. */
static int
submit(struct gzip_codec *c, struct temper_err *err)
{
    int rc = 0;

    queue_chunk(c);
    while (c->written < c->queued && (rc = write_oldest(c, false, err)) == 0)
        ;
    if (rc < 0)
        return -1;
    if (c->queued - c->written == c->nslots)
        return write_oldest(c, true, err);
    return 0;
}

static int
gzip_write(struct layer_codec *codec, const void *buf, size_t len, struct temper_err *err)
{
    struct gzip_codec *c = (struct gzip_codec *)codec;
    const unsigned char *p = buf;

    while (len > 0) {
        struct slot *s = slot_of(c, c->queued);
        size_t n = LAYER_GZIP_CHUNK - s->in_len < len ? LAYER_GZIP_CHUNK - s->in_len : len;

        memcpy(s->in + s->in_len, p, n);
        s->in_len += n;
        p += n;
        len -= n;
        if (s->in_len == LAYER_GZIP_CHUNK && submit(c, err) < 0)
            return -1;
    }
    return 0;
}

static int
gzip_finish(struct layer_codec *codec, struct temper_err *err)
{
    struct gzip_codec *c = (struct gzip_codec *)codec;

    if (slot_of(c, c->queued)->in_len > 0)
        queue_chunk(c);
    while (c->written < c->queued) {
        if (write_oldest(c, true, err) < 0)
            return -1;
    }
    return 0;
}

static void
gzip_free(struct layer_codec *codec)
{
    struct gzip_codec *c = (struct gzip_codec *)codec;

    if (c == NULL)
        return;
    /* Workers stop between chunks; whatever is still queued is dropped. */
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_broadcast(&c->work);
    pthread_mutex_unlock(&c->lock);
    for (unsigned t = 0; t < c->nthreads; t++)
        pthread_join(c->threads[t], NULL);
    for (size_t i = 0; i < c->nslots; i++) {
        free(c->slots[i].in);
        free(c->slots[i].out);
    }
    free(c->slots);
    libdeflate_free_compressor(c->own);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->done);
    free(c);
}

static void
start_workers(struct gzip_codec *c, unsigned jobs)
{
    /* A thread that cannot start leaves its share to the others, or to the calling thread. */
    for (unsigned t = 0; t < jobs; t++) {
        struct worker_arg *wa = xmalloc(sizeof(*wa));

        wa->codec = c;
        wa->dc = libdeflate_alloc_compressor(c->level);
        if (wa->dc == NULL) {
            free(wa);
            break;
        }
        if (pthread_create(&c->threads[c->nthreads], NULL, worker, wa) != 0) {
            libdeflate_free_compressor(wa->dc);
            free(wa);
            break;
        }
        c->nthreads++;
    }
}

struct layer_codec *
layer_gzip_new(struct layer_out *out, int level, unsigned jobs, struct temper_err *err)
{
    struct gzip_codec *c;
    struct libdeflate_compressor *own = libdeflate_alloc_compressor(level);

    if (own == NULL) {
        temper_err_set(err, TEMPER_E_IO, ENOMEM,
                       "gzip: libdeflate cannot make a compressor of level %d", level);
        return NULL;
    }
    c = xcalloc(1, sizeof(*c));
    c->base.write = gzip_write;
    c->base.finish = gzip_finish;
    c->base.free = gzip_free;
    c->out = out;
    c->level = level;
    c->own = own;
    c->bound = libdeflate_gzip_compress_bound(own, LAYER_GZIP_CHUNK);
    c->nslots = 2 * (size_t)jobs;
    c->slots = xcalloc(c->nslots, sizeof(*c->slots));
    for (size_t i = 0; i < c->nslots; i++) {
        c->slots[i].in = xmalloc(LAYER_GZIP_CHUNK);
        c->slots[i].out = xmalloc(c->bound);
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->done, NULL);
    start_workers(c, jobs);
    return &c->base;
}
