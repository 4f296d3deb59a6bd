/*
 * The loader simulation: for one input, the objects ld.so would map, in the
 * order it would map them, following elf/dl-load.c and elf/dl-deps.c of
 * glibc 2.36. See elf_resolver.h for the rules; the comments here say where
 * each one comes from. The caches it leans on are in elf_cache.c.
 */
#define _GNU_SOURCE
#include "elf_resolver.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "elf-internal.h"

struct elf_resolver {
    struct elf_cache cache;
    struct elf_resolver_options opts;
    unsigned stamp; /* number of the input being resolved */
    struct elf_closure **closures;
    size_t nclosures;
};

/* The state of resolving one input. */
struct session {
    struct elf_resolver *r;
    struct elf_cache *cache;
    struct elf_closure *c;
    const struct elf_object *main;
    const struct ld_machine *machine;
    const struct machine_paths *paths;
};

static void
closure_free(struct elf_closure *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nloads; i++)
        free(c->loads[i].edges);
    free(c->loads);
    free(c->missing);
    free(c);
}

int
elf_resolver_new(struct fs_root *root, const struct elf_resolver_options *opts,
                 struct elf_resolver **out, struct temper_err *err)
{
    struct elf_resolver *r = xcalloc(1, sizeof(*r));

    if (opts != NULL)
        r->opts = *opts;
    if (elf_cache_init(&r->cache, root, err) < 0) {
        elf_resolver_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

void
elf_resolver_free(struct elf_resolver *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nclosures; i++)
        closure_free(r->closures[i]);
    free(r->closures);
    elf_cache_release(&r->cache);
    free(r);
}

static bool
is_compatible(const struct elf_object *a, const struct elf_object *b)
{
    return a->elf_class == b->elf_class && a->data == b->data && a->machine == b->machine;
}

/* Makes `name` answer to load `index` for the rest of this input. */
static void
answer_to(struct session *s, struct elf_name *name, long index)
{
    name->stamp = s->r->stamp;
    name->index = index;
}

/* The load answering to `name` in this input, or -1. */
static long
answering(const struct session *s, const struct elf_name *name)
{
    return name->stamp == s->r->stamp ? name->index : -1;
}

/*
 * The file `file` (object co), opened as `path`, answers a request for
 * `name`: reuse the load of the same file if there is one (ld.so compares
 * device and inode; one canonical path inside one root is the same thing),
 * else add a load.
 */
static long
take_file(struct session *s, const struct fs_path *file, struct cached_object *co,
          struct elf_name *path, struct elf_name *name, long loader, struct temper_err *err)
{
    struct elf_closure *c = s->c;
    struct elf_load *l;
    long index;

    elf_cache_need(s->cache, co, file);
    if (co->stamp == s->r->stamp) {
        answer_to(s, name, co->index);
        return co->index;
    }
    if (c->nloads == RESOLVE_MAX_OBJECTS)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s' loads more than %d objects", c->input,
                              RESOLVE_MAX_OBJECTS);
    index = (long)c->nloads;
    /* The array holds 8, then doubles each time it is full. */
    if (c->nloads == 0 || (c->nloads >= 8 && (c->nloads & (c->nloads - 1)) == 0))
        c->loads = xreallocarray(c->loads, c->nloads ? c->nloads * 2 : 8, sizeof(*c->loads));
    l = &c->loads[c->nloads++];
    memset(l, 0, sizeof(*l));
    l->object = &co->object;
    l->path = path->str;
    l->name = name->str;
    l->loader = loader;
    co->stamp = s->r->stamp;
    co->index = index;
    answer_to(s, name, index);
    answer_to(s, path, index);
    /* ld.so matches a later request against the soname of what it already loaded too. */
    if (co->object.soname != NULL) {
        struct elf_name *soname = elf_cache_name(s->cache, co->object.soname);

        if (answering(s, soname) < 0)
            answer_to(s, soname, index);
    }
    return index;
}

enum probe_result { PROBE_FOUND, PROBE_NONE, PROBE_END_SEGMENT, PROBE_ERROR };

/*
 * What ld.so's open_verify makes of a candidate (dl-load.c), in its order: a
 * file that is not ELF fails; another class is skipped ("not a fatal error");
 * another byte order fails; another machine is skipped; only then does the
 * rest of the file count, so a malformed file of another machine is skipped
 * too. Returns 1 to take it, 0 to skip it, -1 to fail.
 */
static int
verdict(const struct session *s, const struct cached_object *co, const char *path,
        struct temper_err *err)
{
    const struct elf_ident *id = &co->ident;

    if (!id->valid) {
        *err = *co->error;
        return -1;
    }
    if (id->elf_class != s->main->elf_class)
        return 0;
    if (id->data != s->main->data)
        return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': ELF data encoding is not %s-endian",
                              path, s->main->data == ELFDATA2MSB ? "big" : "little");
    if (id->machine != s->main->machine)
        return 0;
    if (co->error != NULL) {
        *err = *co->error;
        return -1;
    }
    return 1;
}

/*
 * Tries one directory of a search list, the way open_path does. The
 * glibc-hwcaps subdirectories come first; which one ld.so takes depends on
 * the CPU that runs the image, so every variant present is recorded as
 * needed, and the best one is what the name resolves to.
 */
static enum probe_result
probe(struct session *s, const struct search_dir *d, const char *name, const struct fs_path **found,
      char *found_path, struct temper_err *err)
{
    char path[TEMPER_PATH_MAX];
    enum probe_result result = PROBE_NONE;
    int sys_errno = ENOENT;

    if (!d->exists)
        return PROBE_NONE;
    for (size_t i = 0;; i++) {
        const char *in = d->hwcaps[i] != NULL ? d->hwcaps[i] : d->name;
        const struct fs_path *file;
        struct cached_object *co;
        int take;

        sys_errno = fs_path_join(path, in, name) == 0 ? fs_lookup(s->cache->root, path, &file)
                                                      : ENAMETOOLONG;
        if (sys_errno == 0) {
            co = (struct cached_object *)elf_cache_entry(s->cache, file);
            take = verdict(s, co, file->canon, err);
            if (take < 0)
                return PROBE_ERROR;
            if (take && result == PROBE_FOUND)
                elf_cache_need(s->cache, co, file);
            else if (take) {
                *found = file;
                memcpy(found_path, path, sizeof(path));
                result = PROBE_FOUND;
            }
        }
        if (d->hwcaps[i] == NULL)
            break;
    }
    /* Only the last attempt's errno counts in open_path, as here. */
    if (result == PROBE_NONE && sys_errno != 0 && sys_errno != ENOENT && sys_errno != EACCES)
        return PROBE_END_SEGMENT;
    return result;
}

/*
 * $ORIGIN of a load: the directory of the path it was opened by, as a string (dl-object.c);
 * for the input, the directory of its canonical path, as the kernel reports /proc/self/exe.
 */
static void
origin_of(const struct session *s, const struct elf_load *load, char *origin)
{
    char *slash;

    snprintf(origin, TEMPER_PATH_MAX, "%s",
             load == &s->c->loads[0] ? load->object->path : load->path);
    slash = strrchr(origin, '/');
    if (slash == origin)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
}

/* Splits a DT_RPATH or DT_RUNPATH value and expands its tokens for the object at `load`. */
static void
add_path_list(struct session *s, const char *list, const struct elf_load *load,
              struct search_list *out)
{
    char origin[TEMPER_PATH_MAX], expanded[TEMPER_PATH_MAX];
    cleanup_free char *copy = xstrdup(list);
    char *rest = copy, *elem;

    origin_of(s, load, origin);
    while ((elem = strsep(&rest, ":")) != NULL) {
        /* An empty or relative element names the process's working directory, which an image
         * builder cannot know: it is skipped. */
        if (ld_expand(elem, origin, s->paths->lib, s->machine->platform, expanded) < 0 ||
            expanded[0] != '/')
            continue;
        search_list_add(out, elf_cache_dir(s->cache, s->machine, expanded));
    }
    search_list_end_segment(out, true);
}

/* Whether the requester's search list is just the system one. */
static bool
uses_system_list(const struct session *s, long requester)
{
    const struct elf_object *req = s->c->loads[requester].object;

    if (req->runpath != NULL || req->nodeflib)
        return false;
    for (long l = requester; l >= 0; l = s->c->loads[l].loader) {
        if (s->c->loads[l].object->rpath != NULL)
            return false;
    }
    return true;
}

/* The search list ld.so uses for a DT_NEEDED name of the object at `requester`. */
static void
search_list(struct session *s, long requester, struct search_list *list)
{
    const struct elf_load *req = &s->c->loads[requester];
    const struct search_list *system = &s->paths->system;

    memset(list, 0, sizeof(*list));
    /* DT_RPATH of the requester and of each object that loaded it, up to the input, only
     * when the requester has no DT_RUNPATH (dl-load.c, _dl_map_object). */
    if (req->object->runpath == NULL) {
        for (long l = requester; l >= 0; l = s->c->loads[l].loader) {
            if (s->c->loads[l].object->rpath != NULL)
                add_path_list(s, s->c->loads[l].object->rpath, &s->c->loads[l], list);
        }
    } else
        add_path_list(s, req->object->runpath, req, list);
    if (req->object->nodeflib)
        return;
    for (size_t k = 0, i = 0; k < system->nsegments; k++) {
        for (; i < system->segments[k].end; i++)
            search_list_add(list, system->dirs[i]);
        search_list_end_segment(list, system->segments[k].ends_on_error);
    }
}

/* Searches a list; *found is NULL when no directory has a compatible file. */
static int
search(struct session *s, const struct search_list *list, const char *name,
       const struct fs_path **found, char *found_path, struct temper_err *err)
{
    *found = NULL;
    for (size_t k = 0, i = 0; k < list->nsegments; i = list->segments[k++].end) {
        for (; i < list->segments[k].end; i++) {
            enum probe_result p = probe(s, list->dirs[i], name, found, found_path, err);

            if (p == PROBE_ERROR)
                return -1;
            if (p == PROBE_FOUND)
                return 0;
            if (p == PROBE_END_SEGMENT && list->segments[k].ends_on_error)
                break;
        }
    }
    return 0;
}

static int
missing(struct session *s, const char *name, long requester, const struct search_list *searched,
        struct temper_err *err)
{
    struct elf_closure *c = s->c;
    char dirs[768];
    size_t used = 0;

    if (s->r->opts.allow_missing) {
        c->missing = xreallocarray(c->missing, c->nmissing + 1, sizeof(*c->missing));
        c->missing[c->nmissing].name = elf_cache_name(s->cache, name)->str;
        c->missing[c->nmissing].needed_by = c->loads[requester].path;
        c->nmissing++;
        return 0;
    }
    dirs[0] = '\0';
    for (size_t i = 0; i < searched->count && used < sizeof(dirs); i++) {
        bool again = false;
        int n;

        for (size_t k = 0; k < i && !again; k++)
            again = searched->dirs[k] == searched->dirs[i];
        if (again)
            continue; /* the default directories come twice: in the cache and after it */
        n = snprintf(dirs + used, sizeof(dirs) - used, "%s%s", used ? ":" : "",
                     searched->dirs[i]->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return temper_err_set(err, TEMPER_E_MISSING, ENOENT,
                          "'%s' needed by '%s' not found (searched %s); install it in the root, "
                          "or use --allow-missing",
                          name, c->loads[requester].path, searched->count ? dirs : "nothing");
}

/* Opens a DT_NEEDED (or PT_INTERP) name that holds a slash: a path, not a search. */
static long
load_by_path(struct session *s, struct elf_name *name, long requester, struct temper_err *err)
{
    char abs[TEMPER_PATH_MAX];
    const struct fs_path *file;
    struct cached_object *co;
    const char *by = s->c->loads[requester].path;

    /* A relative path is relative to the process's working directory; an image runs with "/" as
     * the usual one, so that is what is taken. */
    snprintf(abs, sizeof(abs), "%s%s", name->str[0] == '/' ? "" : "/", name->str);
    if (fs_resolve(s->cache->root, abs, &file, err) < 0)
        return temper_err_prefix(err, "'%s' needed by '%s'", name->str, by);
    co = elf_cache_object(s->cache, file, err);
    if (co == NULL)
        return temper_err_prefix(err, "'%s' needed by '%s'", name->str, by);
    if (!is_compatible(&co->object, s->main))
        return temper_err_set(
            err, TEMPER_E_ELF, 0, "'%s' needed by '%s' is %s ELF%d, not %s ELF%d like the program",
            abs, by, elf_machine_name(co->object.machine),
            co->object.elf_class == ELFCLASS64 ? 64 : 32, elf_machine_name(s->main->machine),
            s->main->elf_class == ELFCLASS64 ? 64 : 32);
    return take_file(s, file, co, elf_cache_name(s->cache, abs), name, requester, err);
}

/* Searches for a name without a slash; *index is -1 when it is missing (and that is allowed). */
static int
load_by_search(struct session *s, struct elf_name *name, long requester, long *index,
               struct temper_err *err)
{
    char path[TEMPER_PATH_MAX];
    const struct fs_path *found;
    struct search_list list;
    struct cached_object *co;
    int rc;

    if (uses_system_list(s, requester)) {
        /* Without DT_RPATH or DT_RUNPATH the answer depends only on the machine type: search
         * once per run. */
        const struct search_list *system = &s->paths->system;

        if (name->searched != s->paths) {
            if (search(s, system, name->str, &found, path, err) < 0)
                return temper_err_prefix(err, "'%s' needed by '%s'", name->str,
                                         s->c->loads[requester].path);
            name->searched = s->paths;
            name->found = found;
            name->found_path = found ? elf_cache_name(s->cache, path) : NULL;
        }
        if (name->found == NULL) {
            *index = -1;
            return missing(s, name->str, requester, system, err);
        }
        co = elf_cache_object(s->cache, name->found, err);
        *index = take_file(s, name->found, co, name->found_path, name, requester, err);
        return *index < 0 ? -1 : 0;
    }
    search_list(s, requester, &list);
    rc = search(s, &list, name->str, &found, path, err);
    if (rc < 0)
        temper_err_prefix(err, "'%s' needed by '%s'", name->str, s->c->loads[requester].path);
    else if (found == NULL) {
        *index = -1;
        rc = missing(s, name->str, requester, &list, err);
    } else {
        co = elf_cache_object(s->cache, found, err);
        *index = take_file(s, found, co, elf_cache_name(s->cache, path), name, requester, err);
        rc = *index < 0 ? -1 : 0;
    }
    search_list_release(&list);
    return rc;
}

/* Finds what DT_NEEDED entry k of load `requester` resolves to. */
static int
resolve_needed(struct session *s, long requester, size_t k, long *index, struct temper_err *err)
{
    const struct cached_object *req = (const struct cached_object *)s->c->loads[requester].object;
    struct elf_name *name = req->needed[k];
    long known;

    /* DT_NEEDED may hold dynamic string tokens too (dl-load.c, expand_dynamic_string_token). */
    if (strchr(name->str, '$') != NULL) {
        char origin[TEMPER_PATH_MAX], expanded[TEMPER_PATH_MAX];

        origin_of(s, &s->c->loads[requester], origin);
        if (ld_expand(name->str, origin, s->paths->lib, s->machine->platform, expanded) < 0)
            return temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s' needed by '%s' is too long",
                                  name->str, s->c->loads[requester].path);
        name = elf_cache_name(s->cache, expanded);
    }
    known = answering(s, name);
    if (known >= 0) {
        *index = known;
        return 0;
    }
    if (strchr(name->str, '/') != NULL) {
        *index = load_by_path(s, name, requester, err);
        return *index < 0 ? -1 : 0;
    }
    return load_by_search(s, name, requester, index, err);
}

static int
load_dependencies(struct session *s, struct temper_err *err)
{
    /* Breadth first: each object's DT_NEEDED in order, new objects appended (dl-deps.c). */
    for (size_t i = 0; i < s->c->nloads; i++) {
        const struct elf_object *obj = s->c->loads[i].object;
        struct elf_edge *edges = xcalloc(obj->nneeded, sizeof(*edges));

        s->c->loads[i].edges = edges;
        s->c->loads[i].nedges = obj->nneeded;
        for (size_t k = 0; k < obj->nneeded; k++) {
            edges[k].name = ((const struct cached_object *)obj)->needed[k]->str;
            if (resolve_needed(s, (long)i, k, &edges[k].target, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int
load_input(struct session *s, const char *path, struct temper_err *err)
{
    const struct fs_path *file;
    struct elf_name *input = elf_cache_name(s->cache, path);
    struct cached_object *co;

    if (fs_resolve(s->cache->root, path, &file, err) < 0)
        return -1;
    co = elf_cache_object(s->cache, file, err);
    if (co == NULL)
        return -1;
    s->main = &co->object;
    s->machine = ld_machine_find(co->object.machine, co->object.elf_class);
    s->paths = elf_cache_machine(s->cache, &co->object, err);
    if (s->paths == NULL)
        return -1;
    if (take_file(s, file, co, input, input, -1, err) < 0)
        return -1;
    /* A shared library as input has no interpreter, but its dependencies still count; a static
     * file, or a static PIE (PT_DYNAMIC and no DT_NEEDED), resolves to itself. */
    if (co->object.interp == NULL)
        return 0;
    s->c->interp = load_by_path(s, elf_cache_name(s->cache, co->object.interp), 0, err);
    if (s->c->interp < 0)
        return temper_err_prefix(err, "interpreter of '%s'", path);
    return 0;
}

int
elf_resolver_resolve(struct elf_resolver *r, const char *path, const struct elf_closure **out,
                     struct temper_err *err)
{
    struct session s = {.r = r, .cache = &r->cache};
    int rc;

    r->stamp++;
    s.c = xcalloc(1, sizeof(*s.c));
    s.c->input = elf_cache_name(&r->cache, path)->str;
    s.c->interp = -1;
    rc = load_input(&s, path, err);
    if (rc == 0)
        rc = load_dependencies(&s, err);
    if (rc < 0) {
        closure_free(s.c);
        return -1;
    }
    r->closures = xreallocarray(r->closures, r->nclosures + 1, sizeof(*r->closures));
    r->closures[r->nclosures++] = s.c;
    *out = s.c;
    return 0;
}

/* Queues the file each DT_NEEDED name of `co` not looked for yet would first be found as. */
static void
guess_libraries(struct elf_cache *cache, const struct cached_object *co, struct parse_pool *pool)
{
    const struct machine_paths *mp;
    struct temper_err ignored;

    mp = elf_cache_machine(cache, &co->object, &ignored);
    for (size_t i = 0; mp != NULL && i < co->object.nneeded; i++) {
        struct elf_name *name = co->needed[i];

        if (name->preloaded == mp || strpbrk(name->str, "/$") != NULL)
            continue;
        name->preloaded = mp;
        for (size_t d = 0; d < mp->system.count; d++) {
            const struct search_dir *dir = mp->system.dirs[d];
            char path[TEMPER_PATH_MAX];
            const struct fs_path *file;

            if (dir->exists && fs_path_join(path, dir->name, name->str) == 0 &&
                fs_lookup(cache->root, path, &file) == 0) {
                parse_pool_add(pool, file);
                break;
            }
        }
    }
}

void
elf_resolver_preload(struct elf_resolver *r, char *const *paths, size_t n, unsigned jobs)
{
    struct parse_pool *pool = parse_pool_start(&r->cache, jobs);
    const struct fs_path *file;

    for (size_t i = 0; i < n; i++) {
        if (paths[i][0] == '/' && fs_lookup(r->cache.root, paths[i], &file) == 0)
            parse_pool_add(pool, file);
    }
    /* Breadth first through the library graph: for each file parsed, the files its names
     * most likely resolve to (the first match in the system directories) are queued while
     * the workers parse. A guess that turns out wrong (another class, a DT_RUNPATH that wins)
     * costs one parse; resolving stays exact either way. */
    for (size_t i = 0; i < parse_pool_count(pool); i++) {
        struct cached_object *co = parse_pool_take(pool, i);

        if (co == NULL)
            continue;
        if (co->object.interp != NULL && fs_lookup(r->cache.root, co->object.interp, &file) == 0)
            parse_pool_add(pool, file);
        guess_libraries(&r->cache, co, pool);
    }
    parse_pool_finish(pool);
}

static int
compare_paths(const void *a, const void *b)
{
    return strcmp(((const struct elf_path *)a)->path, ((const struct elf_path *)b)->path);
}

void
elf_resolver_paths(const struct elf_resolver *r, struct elf_path **out, size_t *n)
{
    const struct strmap *needs = &r->cache.needs;
    struct elf_path *list = xcalloc(needs->count, sizeof(*list));
    size_t count = 0;

    for (size_t i = 0; i < needs->cap; i++) {
        const struct strmap_slot *slot = &needs->slots[i];

        if (slot->key == NULL)
            continue;
        list[count].path = slot->key;
        list[count].target = slot->value == elf_cache_file_marker ? NULL : slot->value;
        count++;
    }
    qsort(list, count, sizeof(*list), compare_paths);
    *out = list;
    *n = count;
}
