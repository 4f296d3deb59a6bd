/*
 * The loader simulation: for one input, the objects ld.so would map, in the
 * order it would map them, following elf/dl-load.c and elf/dl-deps.c of
 * glibc 2.36. See elf_resolver.h for the rules; the comments here say where
 * each one comes from.
 */
#define _GNU_SOURCE
#include "elf_resolver.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/strmap.h"
#include "base/xalloc.h"
#include "elf-internal.h"

/* A parsed file, or why it could not be parsed: asked again, it fails the same way. */
struct cached_object {
    struct elf_object object;
    struct temper_err *error; /* NULL when object is valid */
};

/* A search directory as one machine's ld.so sees it. */
struct search_dir {
    bool exists;
    char **hwcaps; /* existing glibc-hwcaps subdirectories, best first, NULL-terminated */
};

/* Default directories and $LIB of one machine type in this root. */
struct machine_paths {
    struct ld_dirs dirs;
    char lib[LD_LIB_MAX];
};

struct elf_resolver {
    struct fs_root *root;
    struct elf_resolver_options opts;
    struct ld_dirs conf_dirs;  /* /etc/ld.so.conf, includes expanded */
    struct strmap objects;     /* canonical path → struct cached_object */
    struct strmap machines;    /* "machine:class" → struct machine_paths */
    struct strmap dirs;        /* "machine:class:dir" → struct search_dir */
    struct strmap strings;     /* interned strings the closures point into */
    struct strmap needs;       /* canonical path → link target, or file_marker */
    struct elf_closure **closures;
    size_t nclosures;
};

static const char file_marker[] = "";

/* The state of resolving one input. */
struct session {
    struct elf_resolver *r;
    struct elf_closure *c;
    const struct elf_object *main;
    const struct ld_machine *machine;
    const struct machine_paths *paths;
    struct strmap names;     /* every name a load answers to → index + 1 */
    struct strmap canonical; /* canonical path of each load → index + 1 */
};

static const char *
intern(struct elf_resolver *r, const char *s)
{
    const char *k = strmap_key(&r->strings, s);

    return k != NULL ? k : strmap_put(&r->strings, s, (void *)file_marker);
}

static void
cached_object_free(void *p)
{
    struct cached_object *co = p;

    if (co == NULL)
        return;
    elf_object_release(&co->object);
    free(co->error);
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
    ld_dirs_release(&mp->dirs);
    free(mp);
}

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

    r->root = root;
    if (opts != NULL)
        r->opts = *opts;
    if (ld_conf_load(root, &r->conf_dirs, err) < 0) {
        elf_resolver_free(r);
        return temper_err_prefix(err, "reading ld.so.conf");
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
    ld_dirs_release(&r->conf_dirs);
    strmap_release(&r->objects, cached_object_free);
    strmap_release(&r->machines, machine_paths_free);
    strmap_release(&r->dirs, search_dir_free);
    strmap_release(&r->strings, NULL);
    strmap_release(&r->needs, NULL);
    free(r);
}

/* Maps and parses a file once per run; later calls return the same object or the same error. */
static const struct elf_object *
get_object(struct elf_resolver *r, const struct fs_path *file, struct temper_err *err)
{
    struct cached_object *co = strmap_get(&r->objects, file->canon);
    cleanup_close int fd = -1;
    void *image;

    if (co != NULL)
        goto done;
    co = xcalloc(1, sizeof(*co));
    strmap_put(&r->objects, file->canon, co);
    co->error = xcalloc(1, sizeof(*co->error));
    if (file->kind != FS_KIND_FILE) {
        temper_err_set(co->error, TEMPER_E_ELF, 0, "'%s': not a regular file", file->canon);
        goto done;
    }
    if (file->size < EI_NIDENT) {
        temper_err_set(co->error, TEMPER_E_ELF, 0, "'%s': not an ELF file (%lld bytes)",
                       file->canon, (long long)file->size);
        goto done;
    }
    if (file->size > ELF_FILE_MAX_BYTES) {
        temper_err_set(co->error, TEMPER_E_LIMIT, 0, "'%s': %lld bytes, over the limit of %ld",
                       file->canon, (long long)file->size, ELF_FILE_MAX_BYTES);
        goto done;
    }
    fd = fs_open(r->root, file, O_RDONLY, co->error);
    if (fd < 0)
        goto done;
    /* The size comes from the same stat that resolved the path; a file that shrank since then
     * would SIGBUS on access, so check it again on the open descriptor. */
    {
        struct stat st;

        if (fstat(fd, &st) < 0 || st.st_size != file->size) {
            temper_err_set(co->error, TEMPER_E_IO, 0, "'%s' changed while being read",
                           file->canon);
            goto done;
        }
    }
    image = mmap(NULL, (size_t)file->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (image == MAP_FAILED) {
        temper_err_sys(co->error, TEMPER_E_IO, errno, "cannot map '%s'", file->canon);
        goto done;
    }
    if (elf_object_parse(image, (size_t)file->size, file->canon, &co->object, co->error) == 0) {
        free(co->error);
        co->error = NULL;
    }
    munmap(image, (size_t)file->size);
done:
    if (co->error != NULL) {
        *err = *co->error;
        return NULL;
    }
    return &co->object;
}

/* Records a resolved path and every symlink on the way as needed in an image. */
static void
need_path(struct elf_resolver *r, const struct fs_path *p)
{
    for (size_t i = 0; i < p->nlinks; i++)
        strmap_put(&r->needs, p->links[i], (void *)fs_root_link_target(r->root, p->links[i]));
    strmap_put(&r->needs, p->canon, (void *)file_marker);
}

static const struct machine_paths *
machine_paths(struct elf_resolver *r, const struct ld_machine *m, const struct elf_object *o,
              struct temper_err *err)
{
    char key[32];
    struct machine_paths *mp;

    snprintf(key, sizeof(key), "%u:%u", o->machine, o->elf_class);
    mp = strmap_get(&r->machines, key);
    if (mp != NULL)
        return mp;
    mp = xcalloc(1, sizeof(*mp));
    if (ld_default_dirs(r->root, m, &mp->dirs, mp->lib, err) < 0) {
        machine_paths_free(mp);
        return NULL;
    }
    strmap_put(&r->machines, key, mp);
    return mp;
}

/* What one directory holds for this machine: whether it exists, and its hwcaps subdirectories. */
static const struct search_dir *
search_dir(struct session *s, const char *dir)
{
    char key[TEMPER_PATH_MAX + 32], sub[TEMPER_PATH_MAX];
    struct elf_resolver *r = s->r;
    const struct fs_path *p;
    struct search_dir *d;
    struct temper_err ignored;
    size_t n = 0;

    snprintf(key, sizeof(key), "%u:%u:%s", s->main->machine, s->main->elf_class, dir);
    d = strmap_get(&r->dirs, key);
    if (d != NULL)
        return d;
    d = xcalloc(1, sizeof(*d));
    d->hwcaps = xcalloc(1, sizeof(*d->hwcaps));
    d->exists = fs_resolve(r->root, dir, &p, &ignored) == 0 && p->kind == FS_KIND_DIR;
    for (const char *const *h = s->machine->hwcaps; d->exists && *h; h++) {
        int len = snprintf(sub, sizeof(sub), "%s/glibc-hwcaps/%s", dir, *h);

        if (len < 0 || (size_t)len >= sizeof(sub) || fs_resolve(r->root, sub, &p, &ignored) < 0 ||
            p->kind != FS_KIND_DIR)
            continue;
        d->hwcaps = xreallocarray(d->hwcaps, n + 2, sizeof(*d->hwcaps));
        d->hwcaps[n++] = xstrdup(sub);
        d->hwcaps[n] = NULL;
    }
    strmap_put(&r->dirs, key, d);
    return d;
}

static bool
is_compatible(const struct elf_object *a, const struct elf_object *b)
{
    return a->elf_class == b->elf_class && a->data == b->data && a->machine == b->machine;
}

static long
add_load(struct session *s, const struct elf_object *obj, const char *path, const char *name,
         long loader, struct temper_err *err)
{
    struct elf_closure *c = s->c;
    struct elf_load *l;

    if (c->nloads == RESOLVE_MAX_OBJECTS)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s' loads more than %d objects",
                              c->input, RESOLVE_MAX_OBJECTS);
    c->loads = xreallocarray(c->loads, c->nloads + 1, sizeof(*c->loads));
    l = &c->loads[c->nloads];
    memset(l, 0, sizeof(*l));
    l->object = obj;
    l->path = intern(s->r, path);
    l->name = intern(s->r, name);
    l->loader = loader;
    strmap_put(&s->names, name, (void *)(c->nloads + 1));
    strmap_put(&s->names, path, (void *)(c->nloads + 1));
    /* ld.so matches a later request against the soname of what it already loaded. */
    if (obj->soname != NULL && strmap_get(&s->names, obj->soname) == NULL)
        strmap_put(&s->names, obj->soname, (void *)(c->nloads + 1));
    strmap_put(&s->canonical, obj->path, (void *)(c->nloads + 1));
    return (long)c->nloads++;
}

/*
 * The object at `path` (already resolved to `file`) answers a request for
 * `name`: reuse the load of the same file if there is one (ld.so compares
 * device and inode; the canonical path is the same thing inside one root),
 * else add a load.
 */
static long
take_file(struct session *s, const struct fs_path *file, const struct elf_object *obj,
          const char *path, const char *name, long loader, struct temper_err *err)
{
    long existing = (long)(size_t)strmap_get(&s->canonical, file->canon);

    need_path(s->r, file);
    if (existing > 0) {
        strmap_put(&s->names, name, (void *)existing);
        return existing - 1;
    }
    return add_load(s, obj, path, name, loader, err);
}

enum probe_result { PROBE_FOUND, PROBE_NONE, PROBE_ERROR };

/* Tries `dir`/`name`, the way open_path tries one directory of a search list. */
static enum probe_result
probe(struct session *s, const char *dir, const char *name, long requester, long *index,
      struct temper_err *err)
{
    char path[TEMPER_PATH_MAX];
    const struct search_dir *d = search_dir(s, dir);
    const struct fs_path *file;
    const struct elf_object *obj;
    struct temper_err ignored;
    enum probe_result result = PROBE_NONE;
    long primary = -1;

    if (!d->exists)
        return PROBE_NONE;
    /* The glibc-hwcaps subdirectories come first; which one ld.so takes depends on the CPU that
     * runs the image, so every variant present is needed, and the best one is reported. */
    for (size_t i = 0;; i++) {
        const char *in = d->hwcaps[i] != NULL ? d->hwcaps[i] : dir;

        if (fs_path_join(path, in, name) == 0 && fs_resolve(s->r->root, path, &file, &ignored) == 0) {
            obj = get_object(s->r, file, err);
            if (obj == NULL)
                return PROBE_ERROR;
            if (is_compatible(obj, s->main) && primary >= 0)
                need_path(s->r, file);
            else if (is_compatible(obj, s->main)) {
                primary = take_file(s, file, obj, path, name, requester, err);
                if (primary < 0)
                    return PROBE_ERROR;
                result = PROBE_FOUND;
            }
        }
        if (d->hwcaps[i] == NULL)
            break;
    }
    *index = primary;
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
              struct ld_dirs *out)
{
    char origin[TEMPER_PATH_MAX], expanded[TEMPER_PATH_MAX];
    cleanup_free char *copy = xstrdup(list);
    struct temper_err ignored;
    char *rest = copy, *elem;

    origin_of(s, load, origin);
    while ((elem = strsep(&rest, ":")) != NULL) {
        /* An empty or relative element names the process's working directory, which an image
         * builder cannot know: it is skipped. */
        if (ld_expand(elem, origin, s->paths->lib, s->machine->platform, expanded) < 0 ||
            expanded[0] != '/')
            continue;
        if (out->count < LDCONF_MAX_DIRS)
            ld_dirs_add(out, expanded, &ignored);
    }
}

/* The search list ld.so uses for a DT_NEEDED name of the object at index `requester`. */
static void
search_list(struct session *s, long requester, struct ld_dirs *out)
{
    const struct elf_load *req = &s->c->loads[requester];
    struct temper_err ignored;

    /* DT_RPATH of the requester and of each object that loaded it, up to the input, only
     * when the requester has no DT_RUNPATH (dl-load.c, _dl_map_object). */
    if (req->object->runpath == NULL) {
        for (long l = requester; l >= 0; l = s->c->loads[l].loader) {
            if (s->c->loads[l].object->rpath != NULL)
                add_path_list(s, s->c->loads[l].object->rpath, &s->c->loads[l], out);
        }
    } else
        add_path_list(s, req->object->runpath, req, out);
    if (req->object->nodeflib)
        return;
    for (size_t i = 0; i < s->r->conf_dirs.count; i++)
        ld_dirs_add(out, s->r->conf_dirs.dirs[i], &ignored);
    for (size_t i = 0; i < s->paths->dirs.count; i++)
        ld_dirs_add(out, s->paths->dirs.dirs[i], &ignored);
}

static int
missing(struct session *s, const char *name, long requester, const struct ld_dirs *searched,
        struct temper_err *err)
{
    struct elf_closure *c = s->c;
    char dirs[768];
    size_t used = 0;

    if (s->r->opts.allow_missing) {
        c->missing = xreallocarray(c->missing, c->nmissing + 1, sizeof(*c->missing));
        c->missing[c->nmissing].name = intern(s->r, name);
        c->missing[c->nmissing].needed_by = c->loads[requester].path;
        c->nmissing++;
        return 0;
    }
    dirs[0] = '\0';
    for (size_t i = 0; i < searched->count && used < sizeof(dirs); i++) {
        int n = snprintf(dirs + used, sizeof(dirs) - used, "%s%s", i ? ":" : "",
                         searched->dirs[i]);

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
load_by_path(struct session *s, const char *path, const char *name, long requester,
             struct temper_err *err)
{
    char abs[TEMPER_PATH_MAX];
    const struct fs_path *file;
    const struct elf_object *obj;

    /* A relative path is relative to the process's working directory; an image runs with "/" as
     * the usual one, so that is what is taken. */
    snprintf(abs, sizeof(abs), "%s%s", path[0] == '/' ? "" : "/", path);
    if (fs_resolve(s->r->root, abs, &file, err) < 0)
        return temper_err_prefix(err, "'%s' needed by '%s'", name, s->c->loads[requester].path);
    obj = get_object(s->r, file, err);
    if (obj == NULL)
        return temper_err_prefix(err, "'%s' needed by '%s'", name, s->c->loads[requester].path);
    if (!is_compatible(obj, s->main))
        return temper_err_set(err, TEMPER_E_ELF, 0,
                              "'%s' needed by '%s' is %s ELF%d, not %s ELF%d like the program",
                              abs, s->c->loads[requester].path, elf_machine_name(obj->machine),
                              obj->elf_class == ELFCLASS64 ? 64 : 32,
                              elf_machine_name(s->main->machine),
                              s->main->elf_class == ELFCLASS64 ? 64 : 32);
    return take_file(s, file, obj, abs, name, requester, err);
}

/* Finds what a DT_NEEDED `name` of load `requester` resolves to: an index, or -1 when missing. */
static int
resolve_needed(struct session *s, long requester, const char *needed, long *index,
               struct temper_err *err)
{
    char name[TEMPER_PATH_MAX];
    struct ld_dirs dirs = {NULL, 0};
    long known;
    int rc = 0;

    /* DT_NEEDED may hold dynamic string tokens too (dl-load.c, expand_dynamic_string_token). */
    if (strchr(needed, '$') != NULL) {
        char origin[TEMPER_PATH_MAX];

        origin_of(s, &s->c->loads[requester], origin);
        if (ld_expand(needed, origin, s->paths->lib, s->machine->platform, name) < 0)
            return temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s' needed by '%s' is too long",
                                  needed, s->c->loads[requester].path);
    } else
        snprintf(name, sizeof(name), "%s", needed);
    known = (long)(size_t)strmap_get(&s->names, name);
    if (known > 0) {
        *index = known - 1;
        return 0;
    }
    if (strchr(name, '/') != NULL) {
        *index = load_by_path(s, name, name, requester, err);
        return *index < 0 ? -1 : 0;
    }
    search_list(s, requester, &dirs);
    *index = -1;
    for (size_t i = 0; i < dirs.count; i++) {
        enum probe_result p = probe(s, dirs.dirs[i], name, requester, index, err);

        if (p == PROBE_ERROR) {
            temper_err_prefix(err, "'%s' needed by '%s'", name, s->c->loads[requester].path);
            rc = -1;
            break;
        }
        if (p == PROBE_FOUND)
            break;
    }
    if (rc == 0 && *index < 0)
        rc = missing(s, name, requester, &dirs, err);
    ld_dirs_release(&dirs);
    return rc;
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
            edges[k].name = intern(s->r, obj->needed[k]);
            if (resolve_needed(s, (long)i, obj->needed[k], &edges[k].target, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int
load_input(struct session *s, const char *path, struct temper_err *err)
{
    const struct fs_path *file;
    const struct elf_object *obj;

    if (fs_resolve(s->r->root, path, &file, err) < 0)
        return -1;
    obj = get_object(s->r, file, err);
    if (obj == NULL)
        return -1;
    s->main = obj;
    s->machine = ld_machine_find(obj->machine, obj->elf_class);
    s->paths = machine_paths(s->r, s->machine, obj, err);
    if (s->paths == NULL)
        return -1;
    if (take_file(s, file, obj, path, path, -1, err) < 0)
        return -1;
    /* A shared library as input has no interpreter but its dependencies still count; a static
     * file, or a static PIE (PT_DYNAMIC and no DT_NEEDED), resolves to itself. */
    if (obj->interp == NULL)
        return 0;
    s->c->interp = load_by_path(s, obj->interp, obj->interp, 0, err);
    if (s->c->interp < 0)
        return temper_err_prefix(err, "interpreter of '%s'", path);
    return 0;
}

int
elf_resolver_resolve(struct elf_resolver *r, const char *path, const struct elf_closure **out,
                     struct temper_err *err)
{
    struct session s = {.r = r};
    int rc;

    s.c = xcalloc(1, sizeof(*s.c));
    s.c->input = intern(r, path);
    s.c->interp = -1;
    strmap_init(&s.names);
    strmap_init(&s.canonical);
    rc = load_input(&s, path, err);
    if (rc == 0)
        rc = load_dependencies(&s, err);
    strmap_release(&s.names, NULL);
    strmap_release(&s.canonical, NULL);
    if (rc < 0) {
        closure_free(s.c);
        return -1;
    }
    r->closures = xreallocarray(r->closures, r->nclosures + 1, sizeof(*r->closures));
    r->closures[r->nclosures++] = s.c;
    *out = s.c;
    return 0;
}

static int
compare_paths(const void *a, const void *b)
{
    return strcmp(((const struct elf_path *)a)->path, ((const struct elf_path *)b)->path);
}

void
elf_resolver_paths(const struct elf_resolver *r, struct elf_path **out, size_t *n)
{
    struct elf_path *list = xcalloc(r->needs.count, sizeof(*list));
    size_t count = 0;

    for (size_t i = 0; i < r->needs.cap; i++) {
        const struct strmap_slot *slot = &r->needs.slots[i];

        if (slot->key == NULL)
            continue;
        list[count].path = slot->key;
        list[count].target = slot->value == file_marker ? NULL : slot->value;
        count++;
    }
    qsort(list, count, sizeof(*list), compare_paths);
    *out = list;
    *n = count;
}
