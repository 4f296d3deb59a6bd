#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static uint64_t
hash_string(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static struct strmap_slot *
find_slot(const struct strmap *map, const char *key)
{
    size_t mask = map->cap - 1;
    size_t i = (size_t)hash_string(key) & mask;

    while (map->slots[i].key != NULL && strcmp(map->slots[i].key, key) != 0)
        i = (i + 1) & mask;
    return &map->slots[i];
}

static void
grow(struct strmap *map)
{
    struct strmap old = *map;

    map->cap = old.cap ? old.cap * 2 : 64;
    map->slots = xcalloc(map->cap, sizeof(*map->slots));
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].key != NULL)
            *find_slot(map, old.slots[i].key) = old.slots[i];
    }
    free(old.slots);
}

void
strmap_init(struct strmap *map)
{
    map->slots = NULL;
    map->cap = 0;
    map->count = 0;
}

void
strmap_release(struct strmap *map, void (*free_value)(void *))
{
    for (size_t i = 0; i < map->cap; i++) {
        if (map->slots[i].key == NULL)
            continue;
        if (free_value != NULL)
            free_value(map->slots[i].value);
        free(map->slots[i].key);
    }
    free(map->slots);
    strmap_init(map);
}

void *
strmap_get(const struct strmap *map, const char *key)
{
    if (map->cap == 0)
        return NULL;
    return find_slot(map, key)->value;
}

const char *
strmap_key(const struct strmap *map, const char *key)
{
    if (map->cap == 0)
        return NULL;
    return find_slot(map, key)->key;
}

const char *
strmap_put(struct strmap *map, const char *key, void *value)
{
    struct strmap_slot *slot;

    if (map->cap == 0 || (map->count + 1) * 2 > map->cap)
        grow(map);
    slot = find_slot(map, key);
    if (slot->key == NULL) {
        slot->key = xstrdup(key);
        map->count++;
    }
    slot->value = value;
    return slot->key;
}
