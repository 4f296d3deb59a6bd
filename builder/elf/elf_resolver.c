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
    unsigned stamp;   /* number of the input being resolved */
    long probes_left; /* of RESOLVE_MAX_PROBES, over the whole run */
    struct elf_closure **closures;
    size_t nclosures;
};

/* What one input keeps for each of its loads, by load index. */
struct load_state {
    bool rpath_in_chain;               /* it, or an object up its chain of loaders, has DT_RPATH */
    bool built;                        /* rpath and runpath below are expanded */
    struct search_list rpath, runpath; /* expanded for it: one segment each, no duplicates */
};

/* The state of resolving one input. */
struct session {
    struct elf_resolver *r;
    struct elf_cache *cache;
    struct elf_closure *c;
    const struct elf_object *main;
    const struct ld_machine *machine;
    const struct machine_paths *paths;
    struct load_state *state; /* parallel to c->loads */
    /* The paths (as opened) of files this input needs, recorded in the cache only once it
     * resolved whole, so that a failed input leaves nothing in elf_resolver_paths. */
    struct pending_need {
        struct elf_name *path;
        const struct fs_path *file;
    } * needs;
    size_t nneeds;
};

static void
need(struct session *s, struct elf_name *path, const struct fs_path *file)
{
    if (path->recorded)
        return;
    if ((s->nneeds & (s->nneeds - 1)) == 0) /* 0, 1, 2, 4...: double */
        s->needs = xreallocarray(s->needs, s->nneeds ? 2 * s->nneeds : 1, sizeof(*s->needs));
    s->needs[s->nneeds++] = (struct pending_need){path, file};
}

/* Records what the input needs, once it resolved whole; each path as opened once per run. */
static void
commit_needs(struct session *s)
{
    for (size_t i = 0; i < s->nneeds; i++) {
        struct elf_name *path = s->needs[i].path;

        if (path->recorded)
            continue;
        path->recorded = true;
        elf_cache_need(s->cache, s->needs[i].file);
    }
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

    if (opts != NULL)
        r->opts = *opts;
    r->probes_left = RESOLVE_MAX_PROBES;
    if (elf_cache_init(&r->cache, root, err) < 0) {
        elf_resolver_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

struct elf_cache *
elf_resolver_cache(struct elf_resolver *r)
{
    return &r->cache;
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

    need(s, path, file);
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
    if (c->nloads == 0 || (c->nloads >= 8 && (c->nloads & (c->nloads - 1)) == 0))
        s->state = xreallocarray(s->state, c->nloads ? c->nloads * 2 : 8, sizeof(*s->state));
    memset(&s->state[c->nloads], 0, sizeof(s->state[c->nloads]));
    s->state[c->nloads].rpath_in_chain =
        co->object.rpath != NULL || (loader >= 0 && s->state[loader].rpath_in_chain);
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

struct search {
    const char *name;
    const char *by;              /* the requester's path, for messages */
    const struct fs_path *found; /* NULL: not found (yet) */
    char path[TEMPER_PATH_MAX];  /* the path found, as ld.so opens it */
    size_t budget;               /* lookups left for this name: SEARCH_MAX_PROBES in all */
    struct elf_variant variants[ELF_VARIANTS_MAX]; /* what other CPUs take instead */
    size_t nvariants;
    bool in_cache;       /* searching the segment that stands for ld.so.cache */
    bool nodeflib_cache; /* ... for a requester with DF_1_NODEFLIB */
    bool found_in_cache; /* `found` came from the segment that stands for ld.so.cache */
    const struct search_dir *found_dir; /* the directory of the search list `found` is in */
    struct temper_err *err;
    int rc;
};

enum probe_result { PROBE_FOUND, PROBE_NONE, PROBE_END_SEGMENT, PROBE_REFUSED, PROBE_ERROR };

/*
 * Whether ldconfig would have put this file in ld.so.cache under `name`: it
 * takes files named lib* or ld-* holding ".so" and keys each by its
 * DT_SONAME (its file name when it has none). ld.so finds ld.so.conf's
 * directories only through the cache, so a file there under another name
 * is not found.
 */
static bool
is_cached_by_ldconfig(const char *name, const struct elf_object *o)
{
    if ((strncmp(name, "lib", 3) != 0 && strncmp(name, "ld-", 3) != 0) ||
        strstr(name, ".so") == NULL)
        return false;
    return o->soname == NULL || strcmp(o->soname, name) == 0;
}

/*
 * Charges one lookup (a directory visited, or a file tried in it) to the
 * search and to the run: a root can name directories by the thousand in
 * each DT_RPATH up a long chain of loaders, so both are capped.
 */
static int
spend(struct session *s, struct search *sr)
{
    if (sr->budget == 0)
        return temper_err_set(sr->err, TEMPER_E_LIMIT, 0,
                              "the search for '%s' makes more than %d lookups", sr->name,
                              SEARCH_MAX_PROBES);
    if (s->r->probes_left == 0)
        return temper_err_set(sr->err, TEMPER_E_LIMIT, 0,
                              "the run makes more than %ld library lookups", RESOLVE_MAX_PROBES);
    sr->budget--;
    s->r->probes_left--;
    return 0;
}

/* What ld.so's open_verify makes of a candidate: see elf_ident_verdict. */
static int
verdict(const struct session *s, const struct cached_object *co, const char *path,
        struct temper_err *err)
{
    return elf_ident_verdict(&co->ident, s->main, path, co->error, err);
}

/* Whether a path found lies in (or under) one of the default directories: the test ld.so makes
 * of a cache entry under DF_1_NODEFLIB (a prefix of the path). */
static bool
in_default_dir(const struct session *s, const char *path)
{
    const struct search_list *system = &s->paths->system;

    for (size_t i = system->segments[0].end; i < system->count; i++) {
        size_t len = strlen(system->dirs[i]->name);

        if (strncmp(path, system->dirs[i]->name, len) == 0 && path[len] == '/')
            return true;
    }
    return false;
}

/*
 * Whether ld.so searches directory `d` (and its machine subdirectories) as a
 * default directory, without ld.so.cache: it is one, or the same directory
 * by another name. Unlike in_default_dir, a directory below a default one
 * (an ld.so.conf entry such as /usr/lib/x86_64-linux-gnu/libfakeroot) is
 * not: only the cache finds what it holds.
 */
static bool
is_default_dir(const struct session *s, const struct search_dir *d)
{
    const struct search_list *system = &s->paths->system;
    const struct fs_path *p;
    const char *canon;

    if (fs_lookup(s->cache->root, d->name, &p) != 0)
        return false;
    canon = p->canon;
    for (size_t i = system->segments[0].end; i < system->count; i++) {
        if (system->dirs[i] == d || (fs_lookup(s->cache->root, system->dirs[i]->name, &p) == 0 &&
                                     strcmp(p->canon, canon) == 0))
            return true;
    }
    return false;
}

/* Whether what a search found only ld.so.cache finds: see elf_load.by_cache_only. */
static bool
found_by_cache_only(const struct session *s, const struct search *sr)
{
    return sr->found != NULL && sr->found_in_cache && !is_default_dir(s, sr->found_dir);
}

/* Whether every CPU searches this subdirectory (only "tls" in glibc 2.36), or it is the
 * directory itself. */
static bool
every_cpu_searches(const char *in, const struct search_dir *d)
{
    size_t len = strlen(in);

    return in == d->name || (len >= 4 && strcmp(in + len - 4, "/tls") == 0);
}

/* Takes a file found: the first is what the name resolves to, the others are variants. */
static int
take_candidate(struct search *sr, struct session *s, const struct search_dir *d, const char *path,
               const struct fs_path *file)
{
    if (sr->found == NULL) {
        sr->found = file;
        sr->found_in_cache = sr->in_cache;
        sr->found_dir = d;
        snprintf(sr->path, sizeof(sr->path), "%s", path);
        return 0;
    }
    if (sr->nvariants == ELF_VARIANTS_MAX)
        return temper_err_set(sr->err, TEMPER_E_LIMIT, 0,
                              "more than %d CPU-specific variants of '%s'", ELF_VARIANTS_MAX,
                              sr->name);
    sr->variants[sr->nvariants++] = (struct elf_variant){elf_cache_name(s->cache, path), file};
    return 0;
}

/*
 * Tries one directory of a search list, the way open_path does: its
 * subdirectories first (glibc-hwcaps, tls, platform), then itself. Which
 * subdirectories ld.so tries depends on the CPU that runs the image, which
 * is not known: a file found in a CPU-specific one is taken and the search
 * goes on as on a CPU without it, until a file every CPU would take. The
 * first file found is what the name resolves to; the others are variants,
 * needed in the image too.
 */
static enum probe_result
probe(struct session *s, const struct search_dir *d, struct search *sr, struct temper_err *err)
{
    char path[TEMPER_PATH_MAX];
    int sys_errno = ENOENT;

    if (!d->exists)
        return PROBE_NONE;
    for (size_t i = 0;; i++) {
        const char *in = d->subdirs[i] != NULL ? d->subdirs[i] : d->name;
        const struct fs_path *file;
        struct cached_object *co;
        int take;

        if (spend(s, sr) < 0)
            return PROBE_ERROR;
        sys_errno = fs_path_join(path, in, sr->name) == 0 ? fs_lookup(s->cache->root, path, &file)
                                                          : ENAMETOOLONG;
        if (sys_errno == 0) {
            co = (struct cached_object *)elf_cache_entry(s->cache, file);
            take = verdict(s, co, file->canon, err);
            if (take < 0)
                return PROBE_ERROR;
            if (take && sr->in_cache && !is_cached_by_ldconfig(sr->name, &co->object))
                take = 0;
            /* Under DF_1_NODEFLIB, ld.so drops a cache entry in a default directory, and with
             * it the cache lookup. */
            if (take && sr->nodeflib_cache && in_default_dir(s, path))
                return PROBE_REFUSED;
            if (take && take_candidate(sr, s, d, path, file) < 0)
                return PROBE_ERROR;
            if (take && every_cpu_searches(in, d))
                return PROBE_FOUND;
        }
        if (d->subdirs[i] == NULL)
            break;
    }
    /* Only the last attempt's errno counts in open_path, as here. */
    if (sys_errno != 0 && sys_errno != ENOENT && sys_errno != EACCES)
        return PROBE_END_SEGMENT;
    return PROBE_NONE;
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
        const struct search_dir *d;
        bool again = false;

        /* An empty or relative element names the process's working directory, which an image
         * builder cannot know: it is skipped. */
        if (ld_expand(elem, origin, s->paths->lib, s->machine->platform, expanded) < 0 ||
            expanded[0] != '/')
            continue;
        /* A directory listed twice is searched once (dl-load.c, fillin_rpath). The list comes
         * from one string of at most ELF_STRING_MAX bytes, so this stays small. */
        d = elf_cache_dir(s->cache, s->machine, expanded);
        for (size_t i = 0; i < out->count && !again; i++)
            again = out->dirs[i] == d;
        if (!again)
            search_list_add(out, d);
    }
    search_list_end_segment(out, true);
}

/* DT_RPATH and DT_RUNPATH of load `index`, expanded once per input ($ORIGIN is the load's). */
static const struct load_state *
own_paths(struct session *s, long index)
{
    const struct elf_load *load = &s->c->loads[index];
    struct load_state *lp = &s->state[index];

    if (!lp->built) {
        if (load->object->rpath != NULL)
            add_path_list(s, load->object->rpath, load, &lp->rpath);
        if (load->object->runpath != NULL)
            add_path_list(s, load->object->runpath, load, &lp->runpath);
        lp->built = true;
    }
    return lp;
}

/* Whether the requester's search is just the system one. */
static bool
uses_system_list(const struct session *s, long requester)
{
    const struct elf_object *req = s->c->loads[requester].object;

    return req->runpath == NULL && !req->nodeflib && !s->state[requester].rpath_in_chain;
}

/* One segment of a search, and how ld.so treats it. */
struct segment_ref {
    const struct search_list *list;
    size_t index;
    /* The cache under DF_1_NODEFLIB: an entry in a default directory is refused
     * (dl-load.c compares the start of the cached path with each system directory). */
    bool nodeflib_cache;
};

/* Called for each segment in order; returns true to stop the walk. */
typedef bool segment_fn(struct session *s, const struct segment_ref *ref, void *ctx);

/*
 * Walks the segments ld.so searches for a DT_NEEDED name of the object at
 * `requester` (dl-load.c, _dl_map_object): DT_RPATH of the requester and of
 * each object that loaded it, up to the input, only when the requester has
 * no DT_RUNPATH; else its DT_RUNPATH; then the cache and the default
 * directories, of which DF_1_NODEFLIB keeps only the cache's other entries.
 * Nothing is concatenated, so a long chain of loaders costs no copying.
 */
static bool
walk_segments(struct session *s, long requester, segment_fn *fn, void *ctx)
{
    const struct elf_object *req = s->c->loads[requester].object;
    const struct search_list *system = &s->paths->system;

    /* A list whose entries were all skipped (relative, empty) has no segment; a DT_RUNPATH like
     * that still turns the DT_RPATH chain off. */
    if (req->runpath == NULL) {
        for (long l = requester; l >= 0 && s->state[l].rpath_in_chain; l = s->c->loads[l].loader) {
            const struct search_list *rpath = &own_paths(s, l)->rpath;

            if (rpath->nsegments > 0 && fn(s, &(struct segment_ref){rpath, 0, false}, ctx))
                return true;
        }
    } else {
        const struct search_list *runpath = &own_paths(s, requester)->runpath;

        if (runpath->nsegments > 0 && fn(s, &(struct segment_ref){runpath, 0, false}, ctx))
            return true;
    }
    for (size_t k = 0; k < system->nsegments; k++) {
        bool is_cache = !system->segments[k].ends_on_error;

        if (req->nodeflib && !is_cache)
            continue;
        if (fn(s, &(struct segment_ref){system, k, req->nodeflib && is_cache}, ctx))
            return true;
    }
    return false;
}

static size_t
segment_start(const struct segment_ref *ref)
{
    return ref->index ? ref->list->segments[ref->index - 1].end : 0;
}

static bool
search_segment(struct session *s, const struct segment_ref *ref, void *arg)
{
    struct search *sr = arg;
    const struct search_segment *seg = &ref->list->segments[ref->index];

    sr->in_cache = !seg->ends_on_error;
    sr->nodeflib_cache = ref->nodeflib_cache;
    for (size_t i = segment_start(ref); i < seg->end; i++) {
        enum probe_result p;

        p = spend(s, sr) < 0 ? PROBE_ERROR : probe(s, ref->list->dirs[i], sr, sr->err);
        if (p == PROBE_ERROR) {
            sr->rc = temper_err_prefix(sr->err, "'%s' needed by '%s'", sr->name, sr->by);
            return true;
        }
        if (p == PROBE_FOUND || p == PROBE_REFUSED)
            return true;
        if (p == PROBE_END_SEGMENT && seg->ends_on_error)
            return false;
    }
    return false;
}

/* Searches for `name` as the object at `requester` would; 0 with sr->found NULL when absent. */
static int
search(struct session *s, long requester, const char *name, struct search *sr,
       struct temper_err *err)
{
    sr->name = name;
    sr->by = s->c->loads[requester].path;
    sr->found = NULL;
    sr->nvariants = 0;
    sr->in_cache = sr->nodeflib_cache = sr->found_in_cache = false;
    sr->found_dir = NULL;
    sr->budget = SEARCH_MAX_PROBES;
    sr->err = err;
    sr->rc = 0;
    walk_segments(s, requester, search_segment, sr);
    return sr->rc;
}

/* The directories a search went through, for a message: each once, as long as room lasts. */
struct searched {
    char text[768];
    size_t used;
    const struct search_dir *seen[384];
    size_t nseen;
};

static bool
list_segment(struct session *s, const struct segment_ref *ref, void *arg)
{
    struct searched *sd = arg;

    (void)s;
    for (size_t i = segment_start(ref); i < ref->list->segments[ref->index].end; i++) {
        const struct search_dir *d = ref->list->dirs[i];
        bool again = false;
        int n;

        for (size_t k = 0; k < sd->nseen && !again; k++)
            again = sd->seen[k] == d;
        if (again)
            continue; /* the default directories come twice: in the cache and after it */
        if (sd->nseen == sizeof(sd->seen) / sizeof(sd->seen[0]))
            return true;
        sd->seen[sd->nseen++] = d;
        n = snprintf(sd->text + sd->used, sizeof(sd->text) - sd->used, "%s%s", sd->used ? ":" : "",
                     d->name);
        if (n < 0 || (size_t)n >= sizeof(sd->text) - sd->used)
            return true;
        sd->used += (size_t)n;
    }
    return false;
}

static int
missing(struct session *s, const char *name, long requester, struct temper_err *err)
{
    struct elf_closure *c = s->c;
    struct searched sd;

    if (s->r->opts.allow_missing) {
        c->missing = xreallocarray(c->missing, c->nmissing + 1, sizeof(*c->missing));
        c->missing[c->nmissing].name = elf_cache_name(s->cache, name)->str;
        c->missing[c->nmissing].needed_by = c->loads[requester].path;
        c->nmissing++;
        return 0;
    }
    sd.text[0] = '\0';
    sd.used = 0;
    sd.nseen = 0;
    walk_segments(s, requester, list_segment, &sd);
    return temper_err_set(err, TEMPER_E_MISSING, ENOENT,
                          "'%s' needed by '%s' not found (searched %s); install it in the root, "
                          "or use --allow-missing",
                          name, c->loads[requester].path, sd.used ? sd.text : "nothing");
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
    struct search sr;
    struct cached_object *co;

    *index = -1;
    if (uses_system_list(s, requester)) {
        /* Without DT_RPATH or DT_RUNPATH the answer depends only on the machine type: search
         * once per run. */
        if (name->searched != s->paths) {
            if (search(s, requester, name->str, &sr, err) < 0)
                return -1;
            name->searched = s->paths;
            name->found = sr.found;
            name->found_by_cache_only = found_by_cache_only(s, &sr);
            name->found_path = sr.found ? elf_cache_name(s->cache, sr.path) : NULL;
            free(name->found_variants);
            name->found_variants = xreallocarray(NULL, sr.nvariants, sizeof(*sr.variants));
            memcpy(name->found_variants, sr.variants, sr.nvariants * sizeof(*sr.variants));
            name->nfound_variants = sr.nvariants;
        }
        if (name->found == NULL)
            return missing(s, name->str, requester, err);
        co = elf_cache_object(s->cache, name->found, err);
        *index = take_file(s, name->found, co, name->found_path, name, requester, err);
        if (*index >= 0 && name->found_by_cache_only)
            s->c->loads[*index].by_cache_only = true;
        for (size_t i = 0; *index >= 0 && i < name->nfound_variants; i++)
            need(s, name->found_variants[i].path, name->found_variants[i].file);
        return *index < 0 ? -1 : 0;
    }
    if (search(s, requester, name->str, &sr, err) < 0)
        return -1;
    if (sr.found == NULL)
        return missing(s, name->str, requester, err);
    co = elf_cache_object(s->cache, sr.found, err);
    *index = take_file(s, sr.found, co, elf_cache_name(s->cache, sr.path), name, requester, err);
    if (*index >= 0 && found_by_cache_only(s, &sr))
        s->c->loads[*index].by_cache_only = true;
    for (size_t i = 0; *index >= 0 && i < sr.nvariants; i++)
        need(s, sr.variants[i].path, sr.variants[i].file);
    return *index < 0 ? -1 : 0;
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
    if (co->object.interp_problem != NULL)
        return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': %s", co->object.path,
                              co->object.interp_problem);
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
    for (size_t i = 0; i < s.c->nloads; i++) {
        search_list_release(&s.state[i].rpath);
        search_list_release(&s.state[i].runpath);
    }
    free(s.state);
    if (rc == 0)
        commit_needs(&s);
    free(s.needs);
    if (rc < 0) {
        closure_free(s.c);
        return -1;
    }
    r->closures = xreallocarray(r->closures, r->nclosures + 1, sizeof(*r->closures));
    r->closures[r->nclosures++] = s.c;
    *out = s.c;
    return 0;
}

int
elf_resolver_resolve_library(struct elf_resolver *r, const char *name, const char *like,
                             const struct elf_closure **out, struct temper_err *err)
{
    struct session s = {.r = r, .cache = &r->cache};
    const struct fs_path *file;
    const struct cached_object *co;
    struct elf_object requester = {0};
    struct elf_load load = {.object = &requester, .path = "dlopen", .loader = -1};
    struct load_state state = {0};
    struct elf_closure c = {.loads = &load, .nloads = 1, .interp = -1};
    struct searched sd = {.used = 0};
    struct search sr;

    if (name[0] == '\0' || strchr(name, '/') != NULL)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "library '%s' is not a file name; name a file with a path as a "
                              "binary instead",
                              name);
    if (fs_resolve(r->cache.root, like, &file, err) < 0)
        return -1;
    co = elf_cache_object(&r->cache, file, err);
    if (co == NULL)
        return -1;
    /* A stand-in requester of the program's class and machine, with no DT_RPATH or DT_RUNPATH:
     * what dlopen searches for a bare name from such a program. */
    requester.elf_class = co->object.elf_class;
    requester.data = co->object.data;
    requester.machine = co->object.machine;
    s.main = &co->object;
    s.machine = ld_machine_find(co->object.machine, co->object.elf_class);
    s.paths = elf_cache_machine(&r->cache, &co->object, err);
    if (s.paths == NULL)
        return -1;
    s.c = &c;
    s.state = &state;
    if (search(&s, 0, name, &sr, err) < 0)
        return -1;
    if (sr.found == NULL) {
        walk_segments(&s, 0, list_segment, &sd);
        return temper_err_set(err, TEMPER_E_MISSING, ENOENT,
                              "library '%s' not found for %s (searched %s); install it in the "
                              "root",
                              name, elf_machine_name(requester.machine),
                              sd.used ? sd.text : "nothing");
    }
    if (elf_resolver_resolve(r, sr.path, out, err) < 0)
        return -1;
    if (found_by_cache_only(&s, &sr))
        r->closures[r->nclosures - 1]->loads[0].by_cache_only = true;
    /* The files other CPUs take instead are needed too, as for a DT_NEEDED name. */
    for (size_t i = 0; i < sr.nvariants; i++) {
        if (!sr.variants[i].path->recorded) {
            sr.variants[i].path->recorded = true;
            elf_cache_need(&r->cache, sr.variants[i].file);
        }
    }
    return 0;
}

/*
 * Queues the file each DT_NEEDED name of `co` not looked for yet would first be found as.
 * Guessing is only a head start, so it stops when *budget (lookups) runs out.
 */
static void
guess_libraries(struct elf_cache *cache, const struct cached_object *co, struct parse_pool *pool,
                long *budget)
{
    const struct machine_paths *mp;
    struct temper_err ignored;

    mp = elf_cache_machine(cache, &co->object, &ignored);
    for (size_t i = 0; mp != NULL && i < co->object.nneeded; i++) {
        struct elf_name *name = co->needed[i];

        if (name->preloaded == mp || strpbrk(name->str, "/$") != NULL)
            continue;
        name->preloaded = mp;
        for (size_t d = 0; d < mp->system.count && --*budget > 0; d++) {
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
    long budget = RESOLVE_MAX_PROBES;

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
        guess_libraries(&r->cache, co, pool, &budget);
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
