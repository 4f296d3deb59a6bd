/*
 * The caches that make one resolver run parse each file once and search each
 * name once per machine type, whatever the number of inputs.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    free(co->reached);
    free(co);
}

static void
search_dir_free(void *p)
{
    struct search_dir *d = p;

    if (d == NULL)
        return;
    for (char **h = d->hwcaps; h && *h; h++)
        free(*h);
    free(d->hwcaps);
    free(d);
}

static void
machine_paths_free(void *p)
{
    struct machine_paths *mp = p;

    if (mp == NULL)
        return;
    free(mp->system);
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
    strmap_release(&cache->names, free);
    strmap_release(&cache->machines, machine_paths_free);
    strmap_release(&cache->dirs, search_dir_free);
    strmap_release(&cache->needs, NULL);
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

/* Maps and parses one file; on failure co->error says why. */
static void
parse_file(struct elf_cache *cache, struct cached_object *co, const struct fs_path *file)
{
    cleanup_close int fd = -1;
    struct stat st;

    if (file->kind != FS_KIND_FILE) {
        temper_err_set(co->error, TEMPER_E_ELF, 0, "'%s': not a regular file", file->canon);
        return;
    }
    if (file->size < EI_NIDENT) {
        temper_err_set(co->error, TEMPER_E_ELF, 0, "'%s': not an ELF file (%lld bytes)",
                       file->canon, (long long)file->size);
        return;
    }
    if (file->size > ELF_FILE_MAX_BYTES) {
        temper_err_set(co->error, TEMPER_E_LIMIT, 0, "'%s': %lld bytes, over the limit of %ld",
                       file->canon, (long long)file->size, ELF_FILE_MAX_BYTES);
        return;
    }
    fd = fs_open(cache->root, file, O_RDONLY, co->error);
    if (fd < 0)
        return;
    /* The size bounds every read: take it from the open descriptor, not from the earlier stat. */
    if (fstat(fd, &st) < 0 || st.st_size != file->size) {
        temper_err_set(co->error, TEMPER_E_IO, 0, "'%s' changed while being read", file->canon);
        return;
    }
    if (elf_object_read(fd, (size_t)file->size, file->canon, &co->object, co->error) == 0) {
        free(co->error);
        co->error = NULL;
    }
}

struct cached_object *
elf_cache_object(struct elf_cache *cache, const struct fs_path *file, struct temper_err *err)
{
    struct cached_object *co = strmap_get(&cache->objects, file->canon);

    if (co == NULL) {
        co = xcalloc(1, sizeof(*co));
        co->error = xcalloc(1, sizeof(*co->error));
        strmap_put(&cache->objects, file->canon, co);
        parse_file(cache, co, file);
        if (co->error == NULL) {
            co->needed = xcalloc(co->object.nneeded, sizeof(*co->needed));
            for (size_t i = 0; i < co->object.nneeded; i++)
                co->needed[i] = elf_cache_name(cache, co->object.needed[i]);
        }
    }
    if (co->error != NULL) {
        *err = *co->error;
        return NULL;
    }
    return co;
}

const struct search_dir *
elf_cache_dir(struct elf_cache *cache, const struct ld_machine *m, const char *dir)
{
    char key[TEMPER_PATH_MAX + 32], sub[TEMPER_PATH_MAX];
    const struct fs_path *p;
    struct search_dir *d;
    struct temper_err ignored;
    size_t n = 0;

    snprintf(key, sizeof(key), "%u:%u:%s", m->machine, m->elf_class, dir);
    d = strmap_get(&cache->dirs, key);
    if (d != NULL)
        return d;
    d = xcalloc(1, sizeof(*d));
    d->name = elf_cache_name(cache, dir)->str;
    d->hwcaps = xcalloc(1, sizeof(*d->hwcaps));
    d->exists = fs_resolve(cache->root, dir, &p, &ignored) == 0 && p->kind == FS_KIND_DIR;
    for (const char *const *h = m->hwcaps; d->exists && *h; h++) {
        int len = snprintf(sub, sizeof(sub), "%s/glibc-hwcaps/%s", dir, *h);

        if (len < 0 || (size_t)len >= sizeof(sub) ||
            fs_resolve(cache->root, sub, &p, &ignored) < 0 || p->kind != FS_KIND_DIR)
            continue;
        d->hwcaps = xreallocarray(d->hwcaps, n + 2, sizeof(*d->hwcaps));
        d->hwcaps[n++] = xstrdup(sub);
        d->hwcaps[n] = NULL;
    }
    strmap_put(&cache->dirs, key, d);
    return d;
}

const struct machine_paths *
elf_cache_machine(struct elf_cache *cache, const struct elf_object *o, struct temper_err *err)
{
    const struct ld_machine *m = ld_machine_find(o->machine, o->elf_class);
    struct ld_dirs dirs = {NULL, 0};
    struct machine_paths *mp = NULL;
    char key[48];

    snprintf(key, sizeof(key), "%u:%u:%u", o->machine, o->elf_class, o->data);
    mp = strmap_get(&cache->machines, key);
    if (mp != NULL)
        return mp;
    for (size_t i = 0; i < cache->conf_dirs.count; i++) {
        if (ld_dirs_add(&dirs, cache->conf_dirs.dirs[i], err) < 0)
            goto fail;
    }
    mp = xcalloc(1, sizeof(*mp));
    if (ld_default_dirs(cache->root, m, &dirs, mp->lib, err) < 0)
        goto fail;
    mp->system = xcalloc(dirs.count, sizeof(*mp->system));
    for (size_t i = 0; i < dirs.count; i++)
        mp->system[i] = elf_cache_dir(cache, m, dirs.dirs[i]);
    mp->nsystem = dirs.count;
    ld_dirs_release(&dirs);
    strmap_put(&cache->machines, key, mp);
    return mp;
fail:
    ld_dirs_release(&dirs);
    machine_paths_free(mp);
    return NULL;
}

void
elf_cache_need(struct elf_cache *cache, struct cached_object *co, const struct fs_path *p)
{
    for (size_t i = 0; i < co->nreached; i++) {
        if (co->reached[i] == p)
            return;
    }
    co->reached = xreallocarray(co->reached, co->nreached + 1, sizeof(*co->reached));
    co->reached[co->nreached++] = p;
    for (size_t i = 0; i < p->nlinks; i++)
        strmap_put(&cache->needs, p->links[i], (void *)fs_root_link_target(cache->root,
                                                                           p->links[i]));
    strmap_put(&cache->needs, p->canon, (void *)elf_cache_file_marker);
}
