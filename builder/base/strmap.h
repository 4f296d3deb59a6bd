/*
 * strmap: a hash map from strings to pointers, used for the caches that make
 * the resolver parse each file once and stat each path once.
 *
 * The map owns copies of its keys (packed in large chunks, freed together)
 * and never owns the values: the caller frees them (strmap_release takes an
 * optional function for that). Keys are NUL-terminated byte strings. Open
 * addressing with linear probing and a seeded hash, grown at 50% load; no
 * deletion, which no caller needs.
 *
 * No library from temper's dependency set offers this (glibc's hsearch is one
 * global table, or fixed-size with the _r variants), so it is written here.
 */
#ifndef TEMPER_BASE_STRMAP_H
#define TEMPER_BASE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
    const char *key; /* NULL for an empty slot */
    uint64_t hash;
    void *value;
};

struct strmap {
    struct strmap_slot *slots;
    size_t cap; /* a power of two, or 0 before the first insert */
    size_t count;
    struct strmap_chunk *chunks; /* where the copies of the keys live */
};

/* An empty map; the same as strmap_init. */
#define STRMAP_INIT                                                                                \
    {                                                                                              \
        0                                                                                          \
    }

void strmap_init(struct strmap *map);
/* Frees keys and slots; calls free_value on each value when it is not NULL. */
void strmap_release(struct strmap *map, void (*free_value)(void *));

/* Returns the value stored for key, or NULL. */
void *strmap_get(const struct strmap *map, const char *key);
/*
 * Stores value for key, replacing any earlier value, and returns the map's own
 * copy of the key (valid until strmap_release), which callers may use as an
 * interned string.
 */
const char *strmap_put(struct strmap *map, const char *key, void *value);
/* Returns the map's copy of key, or NULL when key is absent. */
const char *strmap_key(const struct strmap *map, const char *key);

#endif
