/*
 * floor: the least work a layer of a given tar can take on this machine, for bench/build.sh to
 * time temper against. It maps the whole tar (from the page cache), then does only what an
 * image's layer needs and nothing temper does besides (no files, no plan, no fsync): compresses
 * it on two worker threads with the libraries and parameters temper uses, hashes the tar (the
 * diff_id) while they work and the blob (its digest) as it comes out, then writes the blob.
 *
 *   gzip: 1 MiB chunks, each one gzip member from libdeflate at level 5;
 *   zstd: one libzstd frame with a checksum, level 3, two workers, 1 MiB jobs, overlapLog 8.
 *
 * Those are temper's defaults, so the blob has the bytes of temper's layer for the same tar:
 * it prints both digests and the blob's size, and the benchmark checks that they are temper's.
 *
 * usage: floor gzip|zstd TAR BLOB
 */
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define CHUNK (1u << 20)
#define WORKERS 2
#define GZIP_LEVEL 5 /* temper's default */

struct job {
    const unsigned char *in;
    size_t in_len, nchunks;
    unsigned char *out; /* chunk i's member at out + i * bound */
    size_t bound;
    size_t *out_len; /* 0 until chunk i is done */
    pthread_mutex_t lock;
    pthread_cond_t done;
    atomic_size_t next;
};

static void
die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

static EVP_MD_CTX *
hash_new(void)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        die("sha256");
    return md;
}

static void
hash_update(EVP_MD_CTX *md, const void *data, size_t len)
{
    if (EVP_DigestUpdate(md, data, len) != 1)
        die("sha256");
}

static void
hash_end(EVP_MD_CTX *md, char out[65])
{
    unsigned char digest[32];
    unsigned int n = 0;

    if (EVP_DigestFinal_ex(md, digest, &n) != 1)
        die("sha256");
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    EVP_MD_CTX_free(md);
}

static void *
gzip_worker(void *arg)
{
    struct job *j = arg;
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(GZIP_LEVEL);
    size_t i;

    if (c == NULL)
        die("libdeflate_alloc_compressor");
    while ((i = atomic_fetch_add(&j->next, 1)) < j->nchunks) {
        size_t off = i * CHUNK, len = j->in_len - off < CHUNK ? j->in_len - off : CHUNK;
        size_t n = libdeflate_gzip_compress(c, j->in + off, len, j->out + i * j->bound, j->bound);

        if (n == 0)
            die("libdeflate_gzip_compress");
        pthread_mutex_lock(&j->lock);
        j->out_len[i] = n;
        pthread_cond_signal(&j->done);
        pthread_mutex_unlock(&j->lock);
    }
    libdeflate_free_compressor(c);
    return NULL;
}

/* Compresses into one buffer (members packed in order); returns its length. */
static size_t
gzip_layer(const unsigned char *in, size_t len, unsigned char **blob, char diff_id[65],
           char digest[65])
{
    EVP_MD_CTX *tar_md = hash_new(), *blob_md = hash_new();
    struct libdeflate_compressor *probe = libdeflate_alloc_compressor(GZIP_LEVEL);
    struct job j = {.in = in,
                    .in_len = len,
                    .nchunks = (len + CHUNK - 1) / CHUNK,
                    .lock = PTHREAD_MUTEX_INITIALIZER,
                    .done = PTHREAD_COND_INITIALIZER};
    pthread_t t[WORKERS];
    size_t total = 0;

    if (probe == NULL)
        die("libdeflate_alloc_compressor");
    j.bound = libdeflate_gzip_compress_bound(probe, CHUNK);
    libdeflate_free_compressor(probe);
    j.out = malloc(j.nchunks * j.bound + 1);
    j.out_len = calloc(j.nchunks + 1, sizeof(*j.out_len));
    if (j.out == NULL || j.out_len == NULL)
        die("malloc");
    for (int i = 0; i < WORKERS; i++)
        if ((errno = pthread_create(&t[i], NULL, gzip_worker, &j)) != 0)
            die("pthread_create");
    /* The tar hashed while the workers compress, then each member as it is done, in order, and
     * moved behind the one before it (below the next one's place, which a worker may write). */
    hash_update(tar_md, in, len);
    hash_end(tar_md, diff_id);
    for (size_t i = 0; i < j.nchunks; i++) {
        size_t n;

        pthread_mutex_lock(&j.lock);
        while ((n = j.out_len[i]) == 0)
            pthread_cond_wait(&j.done, &j.lock);
        pthread_mutex_unlock(&j.lock);
        memmove(j.out + total, j.out + i * j.bound, n);
        hash_update(blob_md, j.out + total, n);
        total += n;
    }
    hash_end(blob_md, digest);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    free(j.out_len);
    *blob = j.out;
    return total;
}

struct hash_job {
    const unsigned char *data;
    size_t len;
    char *hex;
};

static void *
hash_thread(void *arg)
{
    struct hash_job *h = arg;
    EVP_MD_CTX *md = hash_new();

    hash_update(md, h->data, h->len);
    hash_end(md, h->hex);
    return NULL;
}

/* Hashes what libzstd wrote since the last call. */
static void
hash_output(EVP_MD_CTX *md, const ZSTD_outBuffer *out, size_t *hashed)
{
    hash_update(md, (const unsigned char *)out->dst + *hashed, out->pos - *hashed);
    *hashed = out->pos;
}

static size_t
zstd_layer(const unsigned char *in, size_t len, unsigned char **blob, char diff_id[65],
           char digest[65])
{
    EVP_MD_CTX *blob_md = hash_new();
    size_t hashed = 0;
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(len), rc;
    ZSTD_outBuffer out = {malloc(cap), cap, 0};
    struct hash_job h = {in, len, diff_id};
    pthread_t t;

    if (c == NULL || out.dst == NULL)
        die("zstd setup");
    if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, WORKERS)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_jobSize, CHUNK)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_overlapLog, 8)))
        die("ZSTD_CCtx_setParameter");
    /* The tar is hashed on a thread of its own while libzstd's workers compress it, fed a job
     * at a time: the whole input in one call would let libzstd write its size, as temper
     * (which streams) cannot. */
    if ((errno = pthread_create(&t, NULL, hash_thread, &h)) != 0)
        die("pthread_create");
    for (size_t off = 0; off < len; off += CHUNK) {
        ZSTD_inBuffer ib = {in + off, len - off < CHUNK ? len - off : CHUNK, 0};

        while (ib.pos < ib.size) {
            if (ZSTD_isError(ZSTD_compressStream2(c, &out, &ib, ZSTD_e_continue)))
                die("ZSTD_compressStream2");
            hash_output(blob_md, &out, &hashed);
        }
    }
    do {
        ZSTD_inBuffer none = {NULL, 0, 0};

        rc = ZSTD_compressStream2(c, &out, &none, ZSTD_e_end);
        if (ZSTD_isError(rc))
            die("ZSTD_compressStream2");
        hash_output(blob_md, &out, &hashed);
    } while (rc != 0);
    hash_end(blob_md, digest);
    pthread_join(t, NULL);
    ZSTD_freeCCtx(c);
    *blob = out.dst;
    return out.pos;
}

int
main(int argc, char **argv)
{
    const unsigned char *tar;
    unsigned char *blob;
    char diff_id[65], digest[65];
    struct stat st;
    size_t len, blob_len;
    int fd;

    if (argc != 4 || (strcmp(argv[1], "gzip") != 0 && strcmp(argv[1], "zstd") != 0)) {
        fprintf(stderr, "usage: floor gzip|zstd TAR BLOB\n");
        return 2;
    }
    /* Mapped with every page of the page cache at once: the tar "in memory", not copied. */
    fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        die(argv[2]);
    len = (size_t)st.st_size;
    tar = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (tar == MAP_FAILED)
        die(argv[2]);
    close(fd);
    blob_len = argv[1][0] == 'g' ? gzip_layer(tar, len, &blob, diff_id, digest)
                                 : zstd_layer(tar, len, &blob, diff_id, digest);
    fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die(argv[3]);
    for (size_t off = 0; off < blob_len;) {
        ssize_t n = write(fd, blob + off, blob_len - off);

        if (n <= 0)
            die(argv[3]);
        off += (size_t)n;
    }
    if (close(fd) < 0)
        die(argv[3]);
    printf("diff_id sha256:%s\ndigest sha256:%s\nsize %zu\n", diff_id, digest, blob_len);
    munmap((void *)tar, len);
    free(blob);
    return 0;
}
