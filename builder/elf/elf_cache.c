/*
 * The caches that make one resolver run parse each file once and search each
 * name once per machine type, whatever the number of inputs.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "elf-internal.h"

const char elf_cache_file_marker[] = "";

static void
cached_object_free(void *p)
{
    struct cached_object *co = p;

    if (co == NULL)
        return;
    elf_object_release(&co->object);
    free(co->error);
    free(co->needed);
    free(co);
}

static void
elf_name_free(void *p)
{
    struct elf_name *n = p;

    if (n != NULL)
        free(n->found_variants);
    free(n);
}

static void
search_dir_free(void *p)
{
    struct search_dir *d = p;

    if (d == NULL)
        return;
    for (char **h = d->subdirs; h && *h; h++)
        free(*h);
    free(d->subdirs);
    free(d);
}

static void
machine_paths_free(void *p)
{
    struct machine_paths *mp = p;

    if (mp == NULL)
        return;
    search_list_release(&mp->system);
    free(mp);
}

int
elf_cache_init(struct elf_cache *cache, struct fs_root *root, struct temper_err *err)
{
    memset(cache, 0, sizeof(*cache));
    cache->root = root;
    if (ld_conf_load(root, &cache->conf_dirs, err) < 0)
        return temper_err_prefix(err, "reading ld.so.conf");
    return 0;
}

void
elf_cache_release(struct elf_cache *cache)
{
    ld_dirs_release(&cache->conf_dirs);
    strmap_release(&cache->objects, cached_object_free);
    strmap_release(&cache->names, elf_name_free);
    while (cache->machines != NULL) {
        struct machine_paths *next = cache->machines->next;

        machine_paths_free(cache->machines);
        cache->machines = next;
    }
    strmap_release(&cache->dirs, search_dir_free);
    strmap_release(&cache->needs, NULL);
    strmap_release(&cache->versions, elf_versions_free);
}

struct elf_name *
elf_cache_name(struct elf_cache *cache, const char *s)
{
    struct elf_name *n = strmap_get(&cache->names, s);

    if (n != NULL)
        return n;
    n = xcalloc(1, sizeof(*n));
    n->str = strmap_put(&cache->names, s, n);
    return n;
}

int
elf_cache_parse_file(const struct elf_cache *cache, struct cached_object *co,
                     const struct fs_path *file, struct temper_err *err)
{
    cleanup_close int fd = -1;

    if (file->kind != FS_KIND_FILE)
        return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': not a regular file", file->canon);
    if (file->size < EI_NIDENT)
        return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': not an ELF file (%lld bytes)",
                              file->canon, (long long)file->size);
    if (file->size > ELF_FILE_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s': %lld bytes, over the limit of %ld",
                              file->canon, (long long)file->size, ELF_FILE_MAX_BYTES);
    fd = fs_open(cache->root, file, O_RDONLY, err);
    if (fd < 0)
        return -1;
    /* Every read is a pread checked against this size, and a short one is an error: a file
     * that changed since it was resolved gives an error, never a fault. */
    return elf_object_read(fd, (size_t)file->size, file->canon, &co->object, &co->ident, err);
}

void
elf_cache_settle(struct elf_cache *cache, struct cached_object *co, int rc,
                 const struct temper_err *err)
{
    if (rc < 0) {
        co->error = xmalloc(sizeof(*co->error));
        *co->error = *err;
        return;
    }
    co->needed = xcalloc(co->object.nneeded, sizeof(*co->needed));
    for (size_t i = 0; i < co->object.nneeded; i++)
        co->needed[i] = elf_cache_name(cache, co->object.needed[i]);
}

const struct cached_object *
elf_cache_entry(struct elf_cache *cache, const struct fs_path *file)
{
    struct cached_object *co = strmap_get(&cache->objects, file->canon);
    struct temper_err err;

    if (co == NULL) {
        co = xcalloc(1, sizeof(*co));
        strmap_put(&cache->objects, file->canon, co);
        elf_cache_settle(cache, co, elf_cache_parse_file(cache, co, file, &err), &err);
    }
    return co;
}

struct cached_object *
elf_cache_object(struct elf_cache *cache, const struct fs_path *file, struct temper_err *err)
{
    struct cached_object *co = (struct cached_object *)elf_cache_entry(cache, file);

    if (co->error != NULL) {
        *err = *co->error;
        return NULL;
    }
    return co;
}

struct cached_object *
elf_cache_claim(struct elf_cache *cache, const struct fs_path *file)
{
    struct cached_object *co;

    if (file->kind != FS_KIND_FILE || strmap_get(&cache->objects, file->canon) != NULL)
        return NULL;
    co = xcalloc(1, sizeof(*co));
    strmap_put(&cache->objects, file->canon, co);
    return co;
}

const struct search_dir *
elf_cache_dir(struct elf_cache *cache, const struct ld_machine *m, const char *dir)
{
    char key[TEMPER_PATH_MAX + 32], sub[TEMPER_PATH_MAX];
    const struct fs_path *p;
    struct search_dir *d;
    size_t n = 0;

    snprintf(key, sizeof(key), "%u:%u:%s", m->machine, m->elf_class, dir);
    d = strmap_get(&cache->dirs, key);
    if (d != NULL)
        return d;
    d = xcalloc(1, sizeof(*d));
    d->name = elf_cache_name(cache, dir)->str;
    d->subdirs = xcalloc(1, sizeof(*d->subdirs));
    d->exists = fs_lookup(cache->root, dir, &p) == 0 && p->kind == FS_KIND_DIR;
    for (const char *const *h = m->subdirs; d->exists && *h; h++) {
        int len = snprintf(sub, sizeof(sub), "%s/%s", dir, *h);

        if (len < 0 || (size_t)len >= sizeof(sub) || fs_lookup(cache->root, sub, &p) != 0 ||
            p->kind != FS_KIND_DIR)
            continue;
        d->subdirs = xreallocarray(d->subdirs, n + 2, sizeof(*d->subdirs));
        d->subdirs[n++] = xstrdup(sub);
        d->subdirs[n] = NULL;
    }
    strmap_put(&cache->dirs, key, d);
    return d;
}

void
search_list_add(struct search_list *list, const struct search_dir *d)
{
    list->dirs = xreallocarray(list->dirs, list->count + 1, sizeof(*list->dirs));
    list->dirs[list->count++] = d;
}

void
search_list_end_segment(struct search_list *list, bool ends_on_error)
{
    size_t start = list->nsegments ? list->segments[list->nsegments - 1].end : 0;

    if (start == list->count)
        return;
    list->segments = xreallocarray(list->segments, list->nsegments + 1, sizeof(*list->segments));
    list->segments[list->nsegments++] = (struct search_segment){list->count, ends_on_error};
}

void
search_list_release(struct search_list *list)
{
    free(list->dirs);
    free(list->segments);
    memset(list, 0, sizeof(*list));
}

const struct machine_paths *
elf_cache_machine(struct elf_cache *cache, const struct elf_object *o, struct temper_err *err)
{
    const struct ld_machine *m = ld_machine_find(o->machine, o->elf_class);
    struct ld_dirs conf = {0}, defaults = {0};
    struct machine_paths *mp = NULL;

    /* One entry per machine type met in the run: a handful at most, so a list. */
    for (mp = cache->machines; mp != NULL; mp = mp->next) {
        if (mp->machine == o->machine && mp->elf_class == o->elf_class && mp->data == o->data)
            return mp;
    }
    mp = xcalloc(1, sizeof(*mp));
    mp->machine = o->machine;
    mp->elf_class = o->elf_class;
    mp->data = o->data;
    if (ld_default_dirs(cache->root, m, &defaults, mp->lib, err) < 0) {
        machine_paths_free(mp);
        return NULL;
    }
    /* ldconfig builds the cache from ld.so.conf and the default directories; ld.so then tries
     * the default directories themselves. */
    for (size_t i = 0; i < cache->conf_dirs.count + defaults.count; i++) {
        const char *dir = i < cache->conf_dirs.count ? cache->conf_dirs.dirs[i]
                                                     : defaults.dirs[i - cache->conf_dirs.count];

        if (ld_dirs_add(&conf, dir, err) < 0) {
            ld_dirs_release(&conf);
            ld_dirs_release(&defaults);
            machine_paths_free(mp);
            return NULL;
        }
    }
    for (size_t i = 0; i < conf.count; i++)
        search_list_add(&mp->system, elf_cache_dir(cache, m, conf.dirs[i]));
    search_list_end_segment(&mp->system, false);
    for (size_t i = 0; i < defaults.count; i++)
        search_list_add(&mp->system, elf_cache_dir(cache, m, defaults.dirs[i]));
    search_list_end_segment(&mp->system, true);
    ld_dirs_release(&conf);
    ld_dirs_release(&defaults);
    mp->next = cache->machines;
    cache->machines = mp;
    return mp;
}

void
elf_cache_need(struct elf_cache *cache, const struct fs_path *p)
{
    for (size_t i = 0; i < p->nlinks; i++)
        strmap_put(&cache->needs, p->links[i],
                   (void *)fs_root_link_target(cache->root, p->links[i]));
    strmap_put(&cache->needs, p->canon, (void *)elf_cache_file_marker);
}
