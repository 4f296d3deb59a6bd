#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "xalloc.h"

/* Keys are copied into chunks of this size; a longer key gets a chunk of its own. */
#define KEY_CHUNK_BYTES (64 * 1024)

struct strmap_chunk {
    struct strmap_chunk *next;
    size_t used, size;
    char bytes[];
};

/*
 * A random seed makes the slot of a key unpredictable, so names chosen by
 * whoever filled a root cannot be made to collide on purpose. Every
 * output is sorted, so nothing a user sees depends on it.
 */
static uint64_t
hash_seed(void)
{
    static uint64_t seed;

    if (seed == 0 && getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
        seed = (uint64_t)(uintptr_t)&seed ^ 0x9e3779b97f4a7c15ULL;
    return seed | 1;
}

/* Eight bytes at a time, each word mixed with a multiply and a shift (as in splitmix64). */
static uint64_t
hash_key(const char *s, size_t len)
{
    uint64_t h = hash_seed() ^ len, w;

    for (; len >= 8; s += 8, len -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * 0x94d049bb133111ebULL;
    return h ^ (h >> 29);
}

static struct strmap_slot *
find_slot(const struct strmap *map, const char *key, uint64_t hash)
{
    size_t mask = map->cap - 1;
    size_t i = (size_t)hash & mask;

    while (map->slots[i].key != NULL &&
           (map->slots[i].hash != hash || strcmp(map->slots[i].key, key) != 0))
        i = (i + 1) & mask;
    return &map->slots[i];
}

static void
grow(struct strmap *map)
{
    struct strmap_slot *old = map->slots;
    size_t old_cap = map->cap;

    map->cap = old_cap ? old_cap * 2 : 64;
    map->slots = xcalloc(map->cap, sizeof(*map->slots));
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key != NULL)
            *find_slot(map, old[i].key, old[i].hash) = old[i];
    }
    free(old);
}

static char *
copy_key(struct strmap *map, const char *key, size_t len)
{
    struct strmap_chunk *c = map->chunks;
    char *copy;

    if (c == NULL || c->size - c->used < len + 1) {
        size_t size = len + 1 > KEY_CHUNK_BYTES ? len + 1 : KEY_CHUNK_BYTES;

        c = xmalloc(sizeof(*c) + size);
        c->used = 0;
        c->size = size;
        c->next = map->chunks;
        map->chunks = c;
    }
    copy = c->bytes + c->used;
    memcpy(copy, key, len + 1);
    c->used += len + 1;
    return copy;
}

void
strmap_init(struct strmap *map)
{
    memset(map, 0, sizeof(*map));
}

void
strmap_release(struct strmap *map, void (*free_value)(void *))
{
    for (size_t i = 0; free_value != NULL && i < map->cap; i++) {
        if (map->slots[i].key != NULL)
            free_value(map->slots[i].value);
    }
    while (map->chunks != NULL) {
        struct strmap_chunk *next = map->chunks->next;

        free(map->chunks);
        map->chunks = next;
    }
    free(map->slots);
    strmap_init(map);
}

void *
strmap_get(const struct strmap *map, const char *key)
{
    if (map->cap == 0)
        return NULL;
    return find_slot(map, key, hash_key(key, strlen(key)))->value;
}

const char *
strmap_key(const struct strmap *map, const char *key)
{
    if (map->cap == 0)
        return NULL;
    return find_slot(map, key, hash_key(key, strlen(key)))->key;
}

const char *
strmap_put(struct strmap *map, const char *key, void *value)
{
    size_t len = strlen(key);
    uint64_t hash = hash_key(key, len);
    struct strmap_slot *slot;

    if (map->cap == 0 || (map->count + 1) * 2 > map->cap)
        grow(map);
    slot = find_slot(map, key, hash);
    if (slot->key == NULL) {
        slot->key = copy_key(map, key, len);
        slot->hash = hash;
        map->count++;
    }
    slot->value = value;
    return slot->key;
}
