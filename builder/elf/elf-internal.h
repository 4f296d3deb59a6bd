/*
 * Shared inside the elf module only: the search-path pieces of ld.so
 * (ld.so.conf, default directories, dynamic string tokens), kept apart from
 * the loader simulation in elf_resolver.c so each can be read and tested
 * alone.
 */
#ifndef TEMPER_ELF_INTERNAL_H
#define TEMPER_ELF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/strmap.h"
#include "elf_resolver.h"

/* What ld.so of one machine type substitutes and searches. */
struct ld_machine {
    uint16_t machine;
    unsigned char elf_class;
    const char *triplet;        /* Debian multiarch triplet, or NULL */
    const char *platform;       /* $PLATFORM (AT_PLATFORM) */
    const char *const *subdirs; /* tried in each directory first, best first; NULL-terminated */
};

/* The entry for a machine and class; an entry with a NULL triplet when the machine is unknown. */
const struct ld_machine *ld_machine_find(uint16_t machine, unsigned char elf_class);

/* A list of directory strings, as ld.so would write them. */
struct ld_dirs {
    const char **dirs; /* the map's copies of the keys */
    size_t count;
    struct strmap seen; /* the same directories, to refuse duplicates in constant time */
};

void ld_dirs_release(struct ld_dirs *dirs);
/* Appends a copy of dir unless it is already listed; fails over LDCONF_MAX_DIRS. */
int ld_dirs_add(struct ld_dirs *dirs, const char *dir, struct temper_err *err);

/*
 * Parses the text of one ld.so.conf file. Directory lines are added to dirs;
 * each `include PATTERN` is handed to on_include with the pattern made
 * absolute against conf_dir. `hwcap` lines are ignored, as ldconfig does.
 */
int ld_conf_parse(const char *text, size_t len, const char *name, const char *conf_dir,
                  struct ld_dirs *dirs,
                  int (*on_include)(void *ctx, const char *pattern, struct temper_err *err),
                  void *ctx, struct temper_err *err);

/* Reads /etc/ld.so.conf inside root, following includes; a missing file gives no directories. */
int ld_conf_load(struct fs_root *root, struct ld_dirs *dirs, struct temper_err *err);

/*
 * The default directories of ld.so for this machine inside root, and the value
 * of $LIB (into lib, LD_LIB_MAX bytes): Debian's multiarch layout when root has
 * /usr/lib/<triplet>, else /lib64:/usr/lib64 (64-bit) or /lib:/usr/lib.
 */
#define LD_LIB_MAX 64
int ld_default_dirs(struct fs_root *root, const struct ld_machine *m, struct ld_dirs *dirs,
                    char *lib, struct temper_err *err);

/*
 * Expands $ORIGIN, ${ORIGIN}, $LIB, ${LIB}, $PLATFORM and ${PLATFORM} in s into
 * out (TEMPER_PATH_MAX bytes). Returns -1 when the result is too long.
 */
int ld_expand(const char *s, const char *origin, const char *lib, const char *platform, char *out);

/*
 * The caches of one resolver run (elf_cache.c): every file parsed once, every
 * name interned once, every directory and system search list built once.
 * `stamp` fields belong to the loader simulation: a record whose stamp equals
 * the current input's number holds that input's state, so one input's
 * "already loaded?" questions cost no hashing.
 */
/*
 * A file a search found that some CPUs take and others pass over (one in a
 * glibc-hwcaps or platform subdirectory, or the one found after it). The
 * image needs every one, since its CPU is not known.
 */
struct elf_variant {
    struct elf_name *path; /* as opened */
    const struct fs_path *file;
};
#define ELF_VARIANTS_MAX 64

struct elf_name {
    const char *str;
    unsigned stamp;
    long index; /* the load answering to this name, when stamp is current */
    /* The result of searching the system directories for this name (DT_RPATH and DT_RUNPATH
     * aside, it depends only on the machine type), valid when searched is current. */
    const struct machine_paths *searched;
    const struct fs_path *found; /* NULL: not in the system directories */
    struct elf_name *found_path; /* the path ld.so opens, e.g. "/lib/x86_64-linux-gnu/libc.so.6" */
    bool found_by_cache_only;    /* found through ld.so.conf outside the default directories */
    const struct machine_paths *preloaded; /* elf_resolver_preload looked for it there */
    /* The other files the system search found for this name (see struct elf_variant). */
    struct elf_variant *found_variants;
    size_t nfound_variants;
    bool recorded; /* as a path opened: what it resolves to is in the needed paths */
};

struct cached_object {
    struct elf_object object; /* first: an elf_object pointer converts back */
    struct temper_err *error; /* NULL when object is valid */
    struct elf_ident ident;   /* read even when the rest of the file is malformed */
    struct elf_name **needed; /* object.needed, interned */
    unsigned stamp;
    long index; /* its load, when stamp is current */
};

/* A search directory as one machine's ld.so sees it. */
struct search_dir {
    const char *name; /* as ld.so writes it, e.g. "/lib/x86_64-linux-gnu" */
    bool exists;
    char **subdirs; /* the machine's subdirectories present here, best first, NULL-terminated */
};

/*
 * The directories searched for one name, in segments as ld.so has them: each
 * DT_RPATH, the DT_RUNPATH, the cache (ld.so.conf and the default
 * directories, as ldconfig scans them), the default directories again. In
 * open_path, a candidate that exists but cannot be opened for another reason
 * than ENOENT or EACCES (a symlink loop) ends its segment; the cache holds no
 * such entry, so there the search just goes on.
 */
struct search_segment {
    size_t end;         /* index after its last directory */
    bool ends_on_error; /* false for the cache segment */
};

struct search_list {
    const struct search_dir **dirs;
    size_t count;
    struct search_segment *segments;
    size_t nsegments;
};

void search_list_add(struct search_list *list, const struct search_dir *d);
/* Closes the segment begun after the previous one (an empty segment is dropped). */
void search_list_end_segment(struct search_list *list, bool ends_on_error);
void search_list_release(struct search_list *list);

/* The directories searched after DT_RPATH and DT_RUNPATH, and $LIB, for one machine type. */
struct machine_paths {
    uint16_t machine;
    unsigned char elf_class, data;
    struct machine_paths *next;
    struct search_list system; /* the cache segment, then the default directories */
    char lib[LD_LIB_MAX];
};

struct elf_cache {
    struct fs_root *root;
    struct ld_dirs conf_dirs;       /* /etc/ld.so.conf, includes expanded */
    struct strmap objects;          /* canonical path → struct cached_object */
    struct strmap names;            /* string → struct elf_name */
    struct machine_paths *machines; /* one per machine type met, linked by next */
    struct strmap dirs;             /* "machine:class:dir" → struct search_dir */
    struct strmap needs;    /* canonical path → symlink target, or elf_cache_file_marker */
    struct strmap versions; /* path → struct elf_versions, as elf_versions.c read them */
};

/* Frees a struct elf_versions of cache->versions. */
void elf_versions_free(void *v);

extern const char elf_cache_file_marker[];

int elf_cache_init(struct elf_cache *cache, struct fs_root *root, struct temper_err *err);
void elf_cache_release(struct elf_cache *cache);
struct elf_name *elf_cache_name(struct elf_cache *cache, const char *s);
/* The parsed file, or the error parsing gave (the same error every time it is asked). */
struct cached_object *elf_cache_object(struct elf_cache *cache, const struct fs_path *file,
                                       struct temper_err *err);
/* The same entry whatever the outcome: its ident, and its error when parsing failed. */
const struct cached_object *elf_cache_entry(struct elf_cache *cache, const struct fs_path *file);
const struct search_dir *elf_cache_dir(struct elf_cache *cache, const struct ld_machine *m,
                                       const char *dir);
const struct machine_paths *elf_cache_machine(struct elf_cache *cache, const struct elf_object *o,
                                              struct temper_err *err);
/*
 * The steps of elf_cache_object, for parse_pool.c: claim a file (a new,
 * empty entry, or NULL when the file is known or not a regular file), parse
 * it (any thread: this only reads the cache), settle the outcome (the
 * calling thread again).
 */
struct cached_object *elf_cache_claim(struct elf_cache *cache, const struct fs_path *file);
int elf_cache_parse_file(const struct elf_cache *cache, struct cached_object *co,
                         const struct fs_path *file, struct temper_err *err);
void elf_cache_settle(struct elf_cache *cache, struct cached_object *co, int rc,
                      const struct temper_err *err);

/*
 * parse_pool: files parsed on worker threads while the calling thread goes
 * on resolving paths. Only the calling thread adds and takes; workers only
 * parse. With one job there is no thread: take parses in place.
 *
 *     pool = parse_pool_start(cache, jobs);
 *     parse_pool_add(pool, file);              -- any number, any time
 *     for (i = 0; i < parse_pool_count(pool); i++)
 *         co = parse_pool_take(pool, i);       -- parsed and settled, or NULL
 *     parse_pool_finish(pool);
 */
#define PARSE_POOL_JOBS_MAX 64
struct parse_pool;
struct parse_pool *parse_pool_start(struct elf_cache *cache, unsigned jobs);
/* Queues a file unless it is known already (or the pool is full: it is then parsed on demand). */
void parse_pool_add(struct parse_pool *pool, const struct fs_path *file);
size_t parse_pool_count(const struct parse_pool *pool);
/* The i-th file queued, once parsed and settled; NULL when it failed to parse. */
struct cached_object *parse_pool_take(struct parse_pool *pool, size_t i);
void parse_pool_finish(struct parse_pool *pool);

/* Records a resolved path and every symlink on the way as needed in an image. */
void elf_cache_need(struct elf_cache *cache, const struct fs_path *p);

/* The resolver's cache (elf_versions.c reads files through its root). */
struct elf_resolver;
struct elf_cache *elf_resolver_cache(struct elf_resolver *r);

#endif
