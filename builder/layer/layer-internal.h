/*
 * layer internals: the stages after the tar stream.
 *
 *   tar bytes ──> codec (none | gzip | zstd) ──> layer_out: sha256 (digest), write(out_fd)
 *
 * layer_writer.c hashes the tar bytes (the diff_id) and hands them to a
 * codec; the codec hands its output to layer_out, in stream order, from the
 * calling thread only. A codec may compress on threads of its own, but it
 * calls layer_out_write from the thread that calls it.
 */
#ifndef TEMPER_LAYER_INTERNAL_H
#define TEMPER_LAYER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/sha256.h"

/* Bytes read from a file at a time, and the pass-through codec's buffer. */
#define LAYER_IO_CHUNK (256 * 1024)

/* libzstd's job size and overlap (layer_zstd.c says why): part of every zstd layer's bytes. */
#define LAYER_ZSTD_JOB_BYTES (1 << 20)
#define LAYER_ZSTD_OVERLAP_LOG 8

/* The end of the pipe: hashes and writes every byte, fully, in order. */
struct layer_out {
    int fd;
    const char *name; /* for errors */
    struct sha256 digest;
    uint64_t size;
    uint64_t flushed; /* bytes whose writeback was started; UINT64_MAX: fd is not a file */
};

/* Bytes written between two starts of writeback (layer_out.c). */
#define LAYER_WRITEBACK_BYTES (4u << 20)

void layer_out_init(struct layer_out *out, int fd, const char *name);
/* Writes all of buf (retrying short writes and EINTR); errors name the output. */
int layer_out_write(struct layer_out *out, const void *buf, size_t len, struct temper_err *err);
void layer_out_release(struct layer_out *out);

/*
 * A compressor. write may keep bytes back; finish pushes everything out;
 * free releases it, finished or not (stopping its threads). Every codec
 * retains `out` until it is freed.
 */
struct layer_codec {
    int (*write)(struct layer_codec *codec, const void *buf, size_t len, struct temper_err *err);
    int (*finish)(struct layer_codec *codec, struct temper_err *err);
    void (*free)(struct layer_codec *codec);
};

struct layer_codec *layer_none_new(struct layer_out *out);
/* level 1..12, jobs 1..LAYER_JOBS_MAX (checked by the caller). */
struct layer_codec *layer_gzip_new(struct layer_out *out, int level, unsigned jobs,
                                   struct temper_err *err);
/* level 1..19, jobs 1..LAYER_JOBS_MAX (checked by the caller). */
struct layer_codec *layer_zstd_new(struct layer_out *out, int level, unsigned jobs,
                                   struct temper_err *err);

#endif
