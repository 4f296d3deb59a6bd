/*
 * libFuzzer target for the layer reader of temper verify (layer_read_digests):
 * any bytes, read as a tar, a gzip or a zstd layer, must give the same answer
 * however the reads cut them, since a registry may send a blob in pieces of
 * any size (issue 17: a compression magic split across two reads went
 * unseen). The first input byte chooses the media type (bits 0-1) and the
 * piece size (bits 2-5, 1 to 16 bytes); the rest is the blob, read once from
 * a memfd in one piece and once from a SOCK_SEQPACKET socket in 128 such
 * pieces and the rest (each read returns one packet). Both reads must agree on the code,
 * the digest, the size and the diff_id (not on the message: zlib may report
 * corrupt data a few bytes further on when it has more input at hand); the
 * digest and size must be the blob's; a failure is TEMPER_E_PARSE with a
 * message. Never crash, read out of bounds or leak.
 *
 * Seeds: fuzz/corpus/layer_digests, made by fuzz/make-corpus.sh.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/sha256.h"
#include "fuzz_memfd.h"
#include "layer/layer_writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Written ahead of the read, the packets must fit in the socket's buffer (about 200 KiB, each
 * small packet costing some hundreds of bytes of it): the first PIECES are of the chosen size,
 * the rest of the blob goes in one packet, and a blob over MAX_BLOB is read from the memfd
 * only. */
#define PIECES 128
#define MAX_BLOB (64 * 1024)

static const char *const media_types[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
};

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_layer_digests: %s\n", what);
    abort();
}

struct answer {
    int rc;
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN], diff_id[LAYER_DIGEST_LEN];
    uint64_t size;
};

static void
read_fd(int fd, const char *media_type, struct answer *a)
{
    *a = (struct answer){.size = UINT64_MAX};
    a->rc = layer_read_digests(fd, media_type, "layer", a->digest, a->diff_id, &a->size, &a->err);
    close(fd);
}

/* The blob in PIECES packets of `piece` bytes, then what is left in one. */
static int
socket_of(const uint8_t *data, size_t size, size_t piece)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        fail("cannot make a socket pair");
    for (size_t at = 0, k = 0; at < size; at += piece, k++) {
        size_t n;

        if (k == PIECES)
            piece = size - at;
        n = size - at < piece ? size - at : piece;
        if (send(sv[1], data + at, n, 0) != (ssize_t)n)
            fail("cannot send a piece");
    }
    close(sv[1]);
    return sv[0];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct answer whole, pieces;
    char digest[SHA256_DIGEST_STR_LEN];
    const char *media_type;

    if (size == 0)
        return 0;
    media_type = media_types[data[0] & 3];
    read_fd(fuzz_memfd(data + 1, size - 1, fail), media_type, &whole);
    if (size - 1 > MAX_BLOB)
        pieces = whole;
    else
        read_fd(socket_of(data + 1, size - 1, ((data[0] >> 2) & 15) + 1), media_type, &pieces);
    if (whole.rc != pieces.rc || whole.size != pieces.size ||
        (whole.rc < 0 && whole.err.code != pieces.err.code))
        fail("the answer depends on how the reads are cut");
    if (whole.rc < 0) {
        if (whole.err.code != TEMPER_E_PARSE)
            fail("failed with a code other than TEMPER_E_PARSE");
        if (memchr(whole.err.msg, '\0', sizeof(whole.err.msg)) == NULL || whole.err.msg[0] == '\0')
            fail("failure without a message");
        return 0;
    }
    sha256_digest(data + 1, size - 1, digest);
    if (strcmp(whole.digest, digest) != 0 || strcmp(pieces.digest, digest) != 0 ||
        whole.size != size - 1)
        fail("digest or size is not the blob's");
    if (strcmp(whole.diff_id, pieces.diff_id) != 0)
        fail("the diff_id depends on how the reads are cut");
    return 0;
}
