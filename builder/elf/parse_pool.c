/*
 * Parsing files on worker threads while the calling thread resolves paths.
 *
 * Reading an ELF file is a handful of system calls (open, three preads,
 * close); resolving where the next files are is path lookups in a cache that
 * only one thread may touch. The pool overlaps the two: the calling thread
 * queues each file as soon as it has resolved it, workers parse in queue
 * order, and the calling thread takes the results in the same order (to
 * learn which libraries to queue next), parsing queued files itself while it
 * would otherwise wait.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "elf-internal.h"

#define CHUNK_ITEMS 1024
#define MAX_CHUNKS 64 /* 65,536 files queued at most; more are parsed on demand */

enum item_state { ITEM_QUEUED, ITEM_CLAIMED, ITEM_DONE };

struct item {
    const struct fs_path *file;
    struct cached_object *co;
    struct temper_err *err; /* set by the parser on failure */
    int rc;
    enum item_state state;
    bool taken;
};

struct parse_pool {
    struct elf_cache *cache;
    pthread_mutex_t lock;
    pthread_cond_t work;             /* a file was queued, or the pool is finishing */
    pthread_cond_t done;             /* a file was parsed */
    struct item *chunks[MAX_CHUNKS]; /* items never move, so workers may hold pointers */
    size_t count;                    /* queued */
    size_t next;                     /* the next to claim */
    bool finishing;
    pthread_t threads[PARSE_POOL_JOBS_MAX];
    unsigned nthreads;
};

static struct item *
item_at(struct parse_pool *pool, size_t i)
{
    return &pool->chunks[i / CHUNK_ITEMS][i % CHUNK_ITEMS];
}

/* Parses one claimed item, without the lock. */
static void
parse_item(const struct elf_cache *cache, struct item *it)
{
    struct temper_err err;

    it->rc = elf_cache_parse_file(cache, it->co, it->file, &err);
    if (it->rc < 0) {
        it->err = xmalloc(sizeof(*it->err));
        *it->err = err;
    }
}

/* Claims the next queued item and parses it; called and returns with the lock held. */
static void
claim_and_parse(struct parse_pool *pool)
{
    struct item *it = item_at(pool, pool->next++);

    it->state = ITEM_CLAIMED;
    pthread_mutex_unlock(&pool->lock);
    parse_item(pool->cache, it);
    pthread_mutex_lock(&pool->lock);
    it->state = ITEM_DONE;
    pthread_cond_broadcast(&pool->done);
}

static void *
worker(void *arg)
{
    struct parse_pool *pool = arg;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->next == pool->count && !pool->finishing)
            pthread_cond_wait(&pool->work, &pool->lock);
        if (pool->next == pool->count)
            break;
        claim_and_parse(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

struct parse_pool *
parse_pool_start(struct elf_cache *cache, unsigned jobs)
{
    struct parse_pool *pool = xcalloc(1, sizeof(*pool));

    pool->cache = cache;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->done, NULL);
    if (jobs > PARSE_POOL_JOBS_MAX)
        jobs = PARSE_POOL_JOBS_MAX;
    /* The calling thread is one of the jobs. A thread that cannot start leaves its share to
     * the others, the calling thread at least. */
    for (unsigned t = 1; t < jobs; t++) {
        if (pthread_create(&pool->threads[pool->nthreads], NULL, worker, pool) == 0)
            pool->nthreads++;
    }
    return pool;
}

void
parse_pool_add(struct parse_pool *pool, const struct fs_path *file)
{
    struct cached_object *co;
    struct item *it;

    if (pool->count == (size_t)CHUNK_ITEMS * MAX_CHUNKS)
        return;
    co = elf_cache_claim(pool->cache, file);
    if (co == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    if (pool->count % CHUNK_ITEMS == 0)
        pool->chunks[pool->count / CHUNK_ITEMS] = xcalloc(CHUNK_ITEMS, sizeof(struct item));
    it = item_at(pool, pool->count++);
    it->file = file;
    it->co = co;
    it->state = ITEM_QUEUED;
    pthread_cond_signal(&pool->work);
    pthread_mutex_unlock(&pool->lock);
}

size_t
parse_pool_count(const struct parse_pool *pool)
{
    return pool->count; /* written by the calling thread only */
}

struct cached_object *
parse_pool_take(struct parse_pool *pool, size_t i)
{
    struct item *it;

    pthread_mutex_lock(&pool->lock);
    it = item_at(pool, i);
    while (it->state != ITEM_DONE) {
        if (pool->next < pool->count)
            claim_and_parse(pool);
        else
            pthread_cond_wait(&pool->done, &pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    if (!it->taken) {
        elf_cache_settle(pool->cache, it->co, it->rc, it->err);
        free(it->err);
        it->err = NULL;
        it->taken = true;
    }
    return it->rc == 0 ? it->co : NULL;
}

void
parse_pool_finish(struct parse_pool *pool)
{
    /* Whatever was queued and not taken is settled now: the cache keeps no half entry. */
    for (size_t i = 0; i < pool->count; i++)
        parse_pool_take(pool, i);
    pthread_mutex_lock(&pool->lock);
    pool->finishing = true;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned t = 0; t < pool->nthreads; t++)
        pthread_join(pool->threads[t], NULL);
    for (size_t c = 0; c * CHUNK_ITEMS < pool->count; c++)
        free(pool->chunks[c]);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->work);
    pthread_cond_destroy(&pool->done);
    free(pool);
}
