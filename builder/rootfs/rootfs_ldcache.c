/*
 * /etc/ld.so.cache for an image with glibc, made from the plan as `ldconfig -r IMAGE` (glibc
 * 2.33 and later, the new format only, as Debian 12's ldconfig writes by default) would make it
 * for the unpacked image: the same bytes (docs/internals/rootfs.md).
 *
 * ldconfig's rules, from its sources (elf/ldconfig.c, cache.c, stringtable.c, dl-cache.c):
 *  - directories: those of /etc/ld.so.conf (and its `include`s) in order, then the system
 *    directories (Debian's: /lib/TRIPLET, /usr/lib/TRIPLET, /lib, /usr/lib); one that resolves
 *    to a directory already listed is skipped; each directory's glibc-hwcaps/NAME
 *    subdirectories are searched too;
 *  - in a directory, a file or symlink named lib*.so* or ld-*.so* (ld.so.*, ld64.so.*) that is
 *    an ELF shared object of the image's kinds; its soname (else its name) keys it; a symlink
 *    named by its soname, or a `.so` link to it, keeps its own name; among files of one soname
 *    a file beats a link, then the greater name by _dl_cache_libcmp;
 *  - an entry is (soname, DIR/soname) (in glibc-hwcaps: DIR/the file's name), sorted by
 *    soname descending (_dl_cache_libcmp), glibc-hwcaps entries first and by subdirectory name;
 *  - strings in one table with shared suffixes (stringtable.c's order), the extension
 *    directory 4-aligned after it: the generator string, then the glibc-hwcaps names.
 * The generator string is the image's own libc's ("ldconfig (Debian GLIBC ...) stable release
 * version 2.36"), from its banner. A glibc-hwcaps entry carries the x86 ISA level its file's
 * GNU property note says it needs (bits 32 and up of its hwcap: cache.c's compute_hwcap_value);
 * a regular entry never does.
 */
#define _GNU_SOURCE /* memmem */
#include <elf.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/strmap.h"
#include "base/xalloc.h"
#include "elf/elf_resolver.h"
#include "rootfs-internal.h"

#define LDCACHE_PATH "etc/ld.so.cache"
#define LDCONF_PATH "etc/ld.so.conf"

/* dl-cache.h */
#define FLAG_ELF 0x0001
#define FLAG_ELF_LIBC6 0x0003
#define FLAG_POWERPC_LIB64 0x0500
#define FLAG_X8664_LIB64 0x0300
#define FLAG_X8664_LIBX32 0x0800
#define FLAG_ARM_LIBHF 0x0900
#define FLAG_AARCH64_LIB64 0x0a00
#define FLAG_ARM_LIBSF 0x0b00
#define HWCAP_EXTENSION (1ull << 62)
#define EXTENSION_MAGIC 0xeaa42174u
#define HEADER_BYTES 48
#define ENTRY_BYTES 24

/* ---- the image as a tree: paths resolved through its symlinks ---- */

/* ---- bytes of the image's files ---- */

/* A file of the plan from the root, at most max bytes; NULL for a file temper writes, one over
 * max or one unreadable. */
static char *
read_entry(const struct planner *p, const struct rootfs_entry *e, size_t max, size_t *len)
{
    const struct fs_path *fp;
    struct temper_err err;
    char *buf;

    if (e->type != ROOTFS_FILE || e->source == NULL || fs_lookup(p->root, e->source, &fp) < 0 ||
        fs_read_file(p->root, fp, max, &buf, len, &err) < 0)
        return NULL;
    return buf;
}

/* ---- ldconfig's comparisons ---- */

/* _dl_cache_libcmp: runs of digits compare as numbers. */
static int
libcmp(const char *a, const char *b)
{
    while (*a != '\0') {
        if (*a >= '0' && *a <= '9') {
            unsigned long long x = 0, y = 0;

            if (!(*b >= '0' && *b <= '9'))
                return 1;
            while (*a >= '0' && *a <= '9')
                x = x < ULLONG_MAX / 16 ? x * 10 + (unsigned)(*a++ - '0') : (a++, x);
            while (*b >= '0' && *b <= '9')
                y = y < ULLONG_MAX / 16 ? y * 10 + (unsigned)(*b++ - '0') : (b++, y);
            if (x != y)
                return x < y ? -1 : 1;
        } else if (*b >= '0' && *b <= '9') {
            return -1;
        } else if (*a != *b) {
            return (unsigned char)*a - (unsigned char)*b;
        } else {
            a++, b++;
        }
    }
    return (unsigned char)*a - (unsigned char)*b;
}

/* _dl_is_dso: lib*.so*, ld-*.so*, ld.so.*, ld64.so.* */
static bool
is_dso_name(const char *name)
{
    return ((strncmp(name, "lib", 3) == 0 || strncmp(name, "ld-", 3) == 0) &&
            strstr(name, ".so") != NULL) ||
           strncmp(name, "ld.so.", 6) == 0 || strncmp(name, "ld64.so.", 8) == 0;
}

static bool
ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);

    return n >= m && strcmp(s + n - m, tail) == 0;
}

/* skip_dso_based_on_name: prelink's, RPM's and dpkg's temporary files. */
static bool
is_temporary(const char *name)
{
    const char *prelink = strstr(name, ".#prelink#");

    return (prelink != NULL &&
            (prelink[10] == '\0' || (prelink[10] == '.' && strlen(prelink) == 17))) ||
           strchr(name, ';') != NULL || ends_with(name, ".dpkg-new") ||
           ends_with(name, ".dpkg-tmp");
}

/* ---- the cache being made ---- */

struct ld_entry {
    char *soname, *path;
    int flags;
    unsigned isa_level; /* written only in a glibc-hwcaps entry, as ldconfig does */
    size_t hwcaps;      /* 1 + index in `subdirs`, 0: a regular entry */
};

struct ld_dir {
    char *path;    /* as configured: "/lib/x86_64-linux-gnu" */
    char *canon;   /* resolved in the image */
    size_t hwcaps; /* 1 + index in `subdirs`, 0 */
};

/* The architectures whose ldconfig temper follows (each checked against that architecture's own
 * ldconfig, run under qemu-user), with Debian's directory triplet. */
struct ld_arch {
    const char *name, *variant; /* OCI's */
    const char *triplet;
    uint16_t machine;
};

static const struct ld_arch ld_arches[] = {
    {"amd64", NULL, "x86_64-linux-gnu", EM_X86_64},
    {"arm64", NULL, "aarch64-linux-gnu", EM_AARCH64},
    {"386", NULL, "i386-linux-gnu", EM_386},
    {"arm", "v7", "arm-linux-gnueabihf", EM_ARM},
    {"ppc64le", NULL, "powerpc64le-linux-gnu", EM_PPC64},
};

struct ld_cache {
    const struct planner *p;
    const struct ld_arch *arch;
    struct ld_dir *dirs;
    size_t ndirs;
    char **subdirs; /* glibc-hwcaps names */
    size_t nsubdirs;
    struct ld_entry *entries;
    size_t n;
    size_t conf_files; /* ld.so.conf files read, at most LDCONF_FILES_MAX */
};

static void
add_dir(struct ld_cache *c, const char *path, size_t hwcaps)
{
    char *canon = c->ndirs < LDCONF_MAX_DIRS ? planner_resolve(c->p, path) : NULL;
    const struct rootfs_entry *e;

    if (canon == NULL ||
        (canon[0] != '\0' && ((e = planner_entry(c->p, canon)) == NULL || e->type != ROOTFS_DIR))) {
        free(canon);
        return; /* ldconfig: "Can't stat" */
    }
    for (size_t i = 0; i < c->ndirs; i++) {
        if (strcmp(c->dirs[i].canon, canon) == 0) {
            free(canon);
            return; /* "given more than once" */
        }
    }
    c->dirs = xreallocarray(c->dirs, c->ndirs + 1, sizeof(*c->dirs));
    c->dirs[c->ndirs++] = (struct ld_dir){xstrdup(path), canon, hwcaps};
}

static size_t
subdir_index(struct ld_cache *c, const char *name)
{
    for (size_t i = 0; i < c->nsubdirs; i++) {
        if (strcmp(c->subdirs[i], name) == 0)
            return i + 1;
    }
    c->subdirs = xreallocarray(c->subdirs, c->nsubdirs + 1, sizeof(*c->subdirs));
    c->subdirs[c->nsubdirs++] = xstrdup(name);
    return c->nsubdirs;
}

/* A directory and, after it, its glibc-hwcaps subdirectories (add_dir_1). */
static void
add_dir_tree(struct ld_cache *c, const char *path)
{
    size_t before = c->ndirs;
    cleanup_free char *hw = NULL;

    add_dir(c, path, 0);
    if (c->ndirs == before)
        return;
    hw = c->dirs[before].canon[0] ? xasprintf("%s/glibc-hwcaps", c->dirs[before].canon)
                                  : xstrdup("glibc-hwcaps");
    for (size_t i = 0; i < c->p->plan->n; i++) {
        const struct rootfs_entry *e = &c->p->plan->entries[i];
        const char *slash = strrchr(e->path, '/');

        if (e->type == ROOTFS_DIR && slash != NULL && (size_t)(slash - e->path) == strlen(hw) &&
            strncmp(e->path, hw, strlen(hw)) == 0) {
            char *sub = xasprintf("%s/glibc-hwcaps/%s", path, slash + 1);

            add_dir(c, sub, subdir_index(c, slash + 1));
            free(sub);
        }
    }
}

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* /etc/ld.so.conf: directory lines and `include GLOB` (relative to the file's directory). */
static void parse_conf(struct ld_cache *c, const char *path, unsigned depth);

static void
include_conf(struct ld_cache *c, const char *from, const char *pattern, unsigned depth)
{
    cleanup_free char *glob = NULL;
    char **found = NULL;
    size_t n = 0;

    /* plan paths have no leading slash; a relative pattern starts at the including file's
     * directory */
    if (pattern[0] == '/') {
        glob = xstrdup(pattern + 1);
    } else {
        const char *dir = from + strspn(from, "/"), *slash = strrchr(dir, '/');

        glob = slash ? xasprintf("%.*s/%s", (int)(slash - dir), dir, pattern) : xstrdup(pattern);
    }
    /* glob(3) sorts its matches: so does this */
    for (size_t i = 0; i < c->p->plan->n; i++) {
        const char *path = c->p->plan->entries[i].path;

        if (fnmatch(glob, path, FNM_PATHNAME | FNM_PERIOD) == 0) {
            found = xreallocarray(found, n + 1, sizeof(*found));
            found[n++] = xstrdup(path);
        }
    }
    qsort(found, n, sizeof(*found), compare_strings);
    for (size_t i = 0; i < n; i++) {
        parse_conf(c, found[i], depth + 1);
        free(found[i]);
    }
    free(found);
}

static void
parse_conf(struct ld_cache *c, const char *path, unsigned depth)
{
    char *canon = planner_resolve(c->p, path);
    const struct rootfs_entry *e = canon ? planner_entry(c->p, canon) : NULL;
    cleanup_free char *text = NULL;
    size_t len = 0;

    free(canon);
    /* ldconfig would loop on a file that includes itself: the caps end that */
    if (e == NULL || depth > LDCONF_INCLUDE_DEPTH || ++c->conf_files > LDCONF_FILES_MAX)
        return;
    text = e->content != NULL ? xstrndup(e->content, e->size)
                              : read_entry(c->p, e, LDCONF_MAX_BYTES, &len);
    for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
        char *end, *hash;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if ((hash = strchr(line, '#')) != NULL)
            *hash = '\0';
        line += strspn(line, " \t\f\v\r");
        end = line + strlen(line);
        while (end > line && strchr(" \t\f\v\r", end[-1]) != NULL)
            *--end = '\0';
        if (*line == '\0' ||
            (strncmp(line, "hwcap", 5) == 0 && (line[5] == ' ' || line[5] == '\t')))
            continue;
        if (strncmp(line, "include", 7) == 0 && (line[7] == ' ' || line[7] == '\t')) {
            for (char *pat = line + 8; *(pat += strspn(pat, " \t")) != '\0';) {
                size_t k = strcspn(pat, " \t");
                char saved = pat[k];

                pat[k] = '\0';
                include_conf(c, path, pat, depth);
                pat[k] = saved;
                pat += k;
            }
            continue;
        }
        while (end > line + 1 && end[-1] == '/')
            *--end = '\0';
        if (line[0] == '/')
            add_dir_tree(c, line);
    }
}

/* ---- a directory's libraries (search_dir) ---- */

struct dlib {
    char *name, *soname;
    int flags;
    unsigned isa_level;
    bool is_link;
};

/* The generic rule (elf/readlib.c, readelflib.c): libc6 when the file's interpreter is glibc's
 * or it needs libc.so.6 or libm.so.6, else plain ELF (the loader itself). The interpreters are
 * those of every architecture here, not only the image's: a 32-bit file of another
 * architecture's loader does not occur in a real image. */
static int
generic_flags(const struct elf_object *o)
{
    static const char *const interpreters[] = {
        "/lib/ld-linux.so.2",
        "/lib64/ld-linux-x86-64.so.2",
        "/libx32/ld-linux-x32.so.2",
        "/lib/ld-linux-armhf.so.3",
        "/lib/ld-linux.so.3",
        "/lib/ld-linux-aarch64.so.1",
        "/lib64/ld64.so.2",
        "/lib/ld64.so.2",
        "/lib/ld.so.1",
        "/lib/ld-linux-x86-64.so.2",
    };

    for (size_t i = 0; o->interp != NULL && i < sizeof(interpreters) / sizeof(*interpreters); i++)
        if (strcmp(o->interp, interpreters[i]) == 0)
            return FLAG_ELF_LIBC6;
    for (size_t i = 0; i < o->nneeded; i++)
        if (strcmp(o->needed[i], "libc.so.6") == 0 || strcmp(o->needed[i], "libm.so.6") == 0)
            return FLAG_ELF_LIBC6;
    return FLAG_ELF;
}

/* What each architecture's readelflib.c makes of a shared object, or -1: not one of its kinds
 * (temper also skips files of another machine, which ldconfig would classify by class alone on
 * some architectures). */
static int
object_flags(uint16_t image_machine, const struct elf_object *o)
{
    bool is64 = o->elf_class == ELFCLASS64;

    switch (image_machine) {
    case EM_X86_64:
    case EM_386: /* one readelflib.c for both */
        if (o->machine == EM_X86_64)
            return (is64 ? FLAG_X8664_LIB64 : FLAG_X8664_LIBX32) | FLAG_ELF_LIBC6;
        return o->machine == EM_386 && !is64 ? generic_flags(o) : -1;
    case EM_AARCH64:
    case EM_ARM: /* likewise */
        if (is64)
            return o->machine == EM_AARCH64 ? FLAG_AARCH64_LIB64 | FLAG_ELF_LIBC6 : -1;
        if (o->machine != EM_ARM)
            return -1;
        if (EF_ARM_EABI_VERSION(o->flags) != EF_ARM_EABI_VER5)
            return generic_flags(o);
        if (o->flags & EF_ARM_ABI_FLOAT_HARD)
            return FLAG_ARM_LIBHF | FLAG_ELF_LIBC6;
        if (o->flags & EF_ARM_ABI_FLOAT_SOFT)
            return FLAG_ARM_LIBSF | FLAG_ELF_LIBC6;
        return FLAG_ELF_LIBC6; /* unmarked: "compatible with all ABI variants" */
    case EM_PPC64:
        if (is64)
            return o->machine == EM_PPC64 ? FLAG_POWERPC_LIB64 | FLAG_ELF_LIBC6 : -1;
        return o->machine == EM_PPC ? generic_flags(o) : -1;
    default:
        return -1;
    }
}

/* The flags ldconfig gives a shared object of the image's kinds, or -1: not one; and its x86 ISA
 * level, the highest bit of the ISA it needs (x86's elf-read-prop.h), else 0. */
static int
elf_flags(const struct ld_cache *c, const struct rootfs_entry *e, char **soname,
          unsigned *isa_level)
{
    const struct fs_path *fp;
    cleanup_close int fd = -1;
    struct elf_object obj;
    struct temper_err err;
    int flags = -1;

    *soname = NULL;
    *isa_level = 0;
    /* the headers only: a library may be large */
    if (e->type != ROOTFS_FILE || e->source == NULL || e->size < EI_NIDENT ||
        e->size > ELF_FILE_MAX_BYTES || fs_lookup(c->p->root, e->source, &fp) < 0 ||
        (fd = fs_open(c->p->root, fp, O_RDONLY, &err)) < 0 ||
        elf_object_read(fd, (size_t)e->size, e->path, &obj, NULL, &err) < 0)
        return -1;
    if (obj.type == ET_DYN && obj.is_dynamic)
        flags = object_flags(c->arch->machine, &obj);
    if (flags >= 0 && obj.soname != NULL)
        *soname = xstrdup(obj.soname);
    for (uint32_t bits = obj.x86_isa_needed; bits > 1; bits >>= 1)
        ++*isa_level;
    elf_object_release(&obj);
    return flags;
}

static void
add_dlib(struct dlib **list, size_t *n, const char *name, char *soname, int flags,
         unsigned isa_level, bool is_link)
{
    for (size_t i = 0; i < *n; i++) {
        struct dlib *d = &(*list)[i];

        if (strcmp(d->soname, soname) != 0)
            continue;
        /* a file beats a link, then the newer name */
        if ((!is_link && d->is_link) || (is_link == d->is_link && libcmp(d->name, name) < 0)) {
            free(d->name);
            d->name = xstrdup(name);
            d->is_link = is_link;
            d->isa_level = isa_level;
        }
        free(soname);
        return;
    }
    *list = xreallocarray(*list, *n + 1, sizeof(**list));
    (*list)[(*n)++] = (struct dlib){xstrdup(name), soname, flags, isa_level, is_link};
}

static void
add_entry(struct ld_cache *c, const struct ld_dir *dir, const struct dlib *d)
{
    const char *file = dir->hwcaps ? d->name : d->soname;

    c->entries = xreallocarray(c->entries, c->n + 1, sizeof(*c->entries));
    c->entries[c->n++] = (struct ld_entry){xstrdup(d->soname), xasprintf("%s/%s", dir->path, file),
                                           d->flags, d->isa_level, dir->hwcaps};
}

static void
search_dir(struct ld_cache *c, const struct ld_dir *dir)
{
    size_t dlen = strlen(dir->canon), n = 0;
    struct dlib *dlibs = NULL;

    for (size_t i = 0; i < c->p->plan->n; i++) {
        const struct rootfs_entry *e = &c->p->plan->entries[i], *target = e;
        const char *name = e->path + (dlen ? dlen + 1 : 0);
        cleanup_free char *resolved = NULL;
        char *soname;
        bool is_link = e->type == ROOTFS_SYMLINK;
        unsigned isa_level;
        int flags;

        if ((dlen && (strncmp(e->path, dir->canon, dlen) != 0 || e->path[dlen] != '/')) ||
            strchr(name, '/') != NULL || e->type == ROOTFS_DIR)
            continue;
        if ((!is_dso_name(name) && (e->type == ROOTFS_FILE || dir->hwcaps == 0)) ||
            is_temporary(name))
            continue;
        if (is_link && ((resolved = planner_resolve(c->p, e->path)) == NULL ||
                        (target = planner_entry(c->p, resolved)) == NULL))
            continue; /* dangling */
        if ((flags = elf_flags(c, target, &soname, &isa_level)) < 0)
            continue;
        if (soname == NULL)
            soname = xstrdup(name);
        /* A link named by the soname, or the `.so` link to it, keeps its own name; any other
         * link counts as a file. */
        if (is_link && strcmp(name, soname) != 0) {
            size_t len = strlen(name);

            if (!ends_with(name, ".so") || strncmp(name, soname, len) != 0)
                is_link = false;
        }
        if (is_link) {
            free(soname);
            soname = xstrdup(name);
        }
        add_dlib(&dlibs, &n, name, soname, flags, isa_level, is_link);
    }
    for (size_t i = 0; i < n; i++) {
        add_entry(c, dir, &dlibs[i]);
        free(dlibs[i].name);
        free(dlibs[i].soname);
    }
    free(dlibs);
}

/* ---- the file ---- */

/* ldconfig's compare(): soname descending, flags descending, glibc-hwcaps entries first and
 * by subdirectory name; then the order they were found in (add_to_cache keeps it). */
static int
compare_entries(const void *x, const void *y, void *arg)
{
    const struct ld_entry *a = x, *b = y;
    const struct ld_cache *sorting = arg;
    int res = libcmp(b->soname, a->soname);

    if (res == 0 && a->flags != b->flags)
        return a->flags < b->flags ? 1 : -1;
    if (res == 0 && (a->hwcaps == 0) != (b->hwcaps == 0))
        return a->hwcaps != 0 ? -1 : 1;
    if (res == 0 && a->hwcaps != 0)
        res = strcmp(sorting->subdirs[a->hwcaps - 1], sorting->subdirs[b->hwcaps - 1]);
    return res != 0 ? res : a < b ? -1 : a > b;
}

struct string {
    const char *s;
    size_t len;
    uint32_t offset;
};

/* stringtable.c's order: reversed strings descending, a longer one before its suffixes. */
static int
compare_tails(const void *x, const void *y)
{
    const struct string *l = *(struct string *const *)x, *r = *(struct string *const *)y;
    size_t n = l->len < r->len ? l->len : r->len;

    for (size_t i = 1; i <= n; i++) {
        unsigned char a = (unsigned char)l->s[l->len - i], b = (unsigned char)r->s[r->len - i];

        if (a != b)
            return b - a;
    }
    return l->len == r->len ? 0 : l->len < r->len ? 1 : -1;
}

struct strings {
    struct string *v;
    size_t n;
    struct strmap index; /* string -> 1 + its index in v */
    char *bytes;
    size_t size;
};

/* Adds s once (borrowed); returns its index. */
static size_t
string_add(struct strings *t, const char *s)
{
    uintptr_t at = (uintptr_t)strmap_get(&t->index, s);

    if (at != 0)
        return at - 1;
    t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
    t->v[t->n] = (struct string){s, strlen(s), 0};
    strmap_put(&t->index, s, (void *)(uintptr_t)(t->n + 1));
    return t->n++;
}

/* Offsets with shared suffixes, then the table's bytes (stringtable_finalize). */
static void
strings_finalize(struct strings *t)
{
    struct string **order = xcalloc(t->n + 1, sizeof(*order));

    for (size_t i = 0; i < t->n; i++)
        order[i] = &t->v[i];
    qsort(order, t->n, sizeof(*order), compare_tails);
    for (size_t j = 1; j < t->n; j++) {
        const struct string *prev = order[j - 1];
        struct string *cur = order[j];

        if (prev->len >= cur->len && memcmp(prev->s + prev->len - cur->len, cur->s, cur->len) == 0)
            cur->offset = prev->offset + (uint32_t)(prev->len - cur->len);
        else
            cur->offset = prev->offset + (uint32_t)prev->len + 1;
    }
    t->size = t->n ? order[t->n - 1]->offset + order[t->n - 1]->len + 1 : 0;
    t->bytes = xcalloc(t->size + 1, 1);
    for (size_t i = 0; i < t->n; i++)
        memcpy(t->bytes + t->v[i].offset, t->v[i].s, t->v[i].len);
    free(order);
}

static void
put32(char *at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        at[i] = (char)(v >> (8 * i));
}

static void
put64(char *at, uint64_t v)
{
    put32(at, (uint32_t)v);
    put32(at + 4, (uint32_t)(v >> 32));
}

/* The cache file's bytes (little-endian), *len of them. */
static char *
write_cache(struct ld_cache *c, const char *generator, size_t *len)
{
    struct strings t = {.index = STRMAP_INIT};
    size_t *keys = xcalloc(c->n + 1, sizeof(*keys)), *values = xcalloc(c->n + 1, sizeof(*values));
    size_t *section = xcalloc(c->nsubdirs + 1, sizeof(*section)), used = 0;
    size_t *names = xcalloc(c->nsubdirs + 1, sizeof(*names));
    uint32_t str_offset = HEADER_BYTES + (uint32_t)c->n * ENTRY_BYTES, ext, gen_off, hw_off;
    char *out;

    qsort_r(c->entries, c->n, sizeof(*c->entries), compare_entries, c);
    /* every glibc-hwcaps name found is in the table, used or not, as ldconfig adds it */
    for (size_t i = 0; i < c->nsubdirs; i++)
        names[i] = string_add(&t, c->subdirs[i]);
    for (size_t i = 0; i < c->n; i++) {
        keys[i] = string_add(&t, c->entries[i].soname);
        values[i] = string_add(&t, c->entries[i].path);
        /* sections are numbered in the order the sorted entries first use them */
        if (c->entries[i].hwcaps != 0 && section[c->entries[i].hwcaps - 1] == 0)
            section[c->entries[i].hwcaps - 1] = ++used;
    }
    strings_finalize(&t);
    ext = (str_offset + (uint32_t)t.size + 3) & ~3u;
    hw_off = ext + 8 + 2 * 16;
    gen_off = used == 0 ? hw_off - 16 : hw_off + (uint32_t)used * 4;
    *len = gen_off + strlen(generator);
    out = xcalloc(*len, 1);
    memcpy(out, "glibc-ld.so.cache1.1", 20);
    put32(out + 20, (uint32_t)c->n);
    put32(out + 24, (uint32_t)t.size);
    out[28] = 2; /* cache_file_new_flags_endian_little */
    put32(out + 32, ext);
    for (size_t i = 0; i < c->n; i++) {
        char *e = out + HEADER_BYTES + i * ENTRY_BYTES;
        size_t hw = c->entries[i].hwcaps;

        put32(e, (uint32_t)c->entries[i].flags);
        put32(e + 4, str_offset + t.v[keys[i]].offset);
        put32(e + 8, str_offset + t.v[values[i]].offset);
        put64(e + 16, hw == 0 ? 0
                              : HWCAP_EXTENSION | (uint64_t)c->entries[i].isa_level << 32 |
                                    (uint64_t)(section[hw - 1] - 1));
    }
    memcpy(out + str_offset, t.bytes, t.size);
    put32(out + ext, EXTENSION_MAGIC);
    put32(out + ext + 4, used == 0 ? 1 : 2);
    put32(out + ext + 8, 0); /* the generator */
    put32(out + ext + 16, gen_off);
    put32(out + ext + 20, (uint32_t)strlen(generator));
    if (used != 0) {
        put32(out + ext + 24, 1); /* glibc-hwcaps */
        put32(out + ext + 32, hw_off);
        put32(out + ext + 36, (uint32_t)used * 4);
        for (size_t i = 0; i < c->nsubdirs; i++) {
            if (section[i] != 0)
                put32(out + hw_off + 4 * (section[i] - 1), str_offset + t.v[names[i]].offset);
        }
    }
    memcpy(out + gen_off, generator, strlen(generator));
    free(t.v);
    free(t.bytes);
    strmap_release(&t.index, NULL);
    free(keys);
    free(values);
    free(names);
    free(section);
    return out;
}

/* "ldconfig (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36" from libc's banner
 * "GNU C Library (Debian GLIBC ...) stable release version 2.36.\n"; NULL: not glibc's. */
static char *
generator_of(const struct ld_cache *c)
{
    static const char banner[] = "GNU C Library ";
    cleanup_free char *image = NULL;
    const struct rootfs_entry *e = NULL;
    const char *at, *end;
    size_t len = 0;

    for (size_t i = 0; i < c->n && e == NULL; i++) {
        if (strcmp(c->entries[i].soname, "libc.so.6") == 0 && c->entries[i].hwcaps == 0) {
            cleanup_free char *canon = planner_resolve(c->p, c->entries[i].path);

            e = canon ? planner_entry(c->p, canon) : NULL;
        }
    }
    if (e == NULL || e->size > ELF_FILE_MAX_BYTES ||
        (image = read_entry(c->p, e, (size_t)e->size, &len)) == NULL ||
        (at = memmem(image, len, banner, sizeof(banner) - 1)) == NULL)
        return NULL;
    at += sizeof(banner) - 1;
    end = memmem(at, len - (size_t)(at - image), ".\n", 2);
    if (end == NULL || end - at > 200 || memchr(at, '\0', (size_t)(end - at)) != NULL)
        return NULL;
    return xasprintf("ldconfig %.*s", (int)(end - at), at);
}

static void
release(struct ld_cache *c)
{
    for (size_t i = 0; i < c->ndirs; i++) {
        free(c->dirs[i].path);
        free(c->dirs[i].canon);
    }
    free(c->dirs);
    for (size_t i = 0; i < c->nsubdirs; i++)
        free(c->subdirs[i]);
    free(c->subdirs);
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].soname);
        free(c->entries[i].path);
    }
    free(c->entries);
}

/* A library the resolver found through the root's ld.so.conf is found by the loader only if
 * the image's cache lists it (under the path the loader opens). */
static void
warn_uncached(struct planner *p, const struct ld_cache *c, bool written)
{
    for (size_t i = 0; p->by_cache_only != NULL && p->by_cache_only[i] != NULL; i++) {
        const char *path = p->by_cache_only[i];
        bool listed = false;

        for (size_t k = 0; written && k < c->n && !listed; k++)
            listed = c->entries[k].hwcaps == 0 && strcmp(c->entries[k].path, path) == 0;
        if (!listed)
            strv_push(&p->plan->summary.warnings,
                      xasprintf("'%s' was found through /etc/ld.so.conf, which ld.so reads only "
                                "from /etc/ld.so.cache, and %s: the loader will not "
                                "find it; take the ld.so.conf file that names its directory "
                                "into the image, install it in a default directory or give its "
                                "user a DT_RUNPATH",
                                path,
                                written ? "the image's does not list it" : "the image has none"));
    }
}

/* An image with glibc for an architecture whose cache temper does not write (no oracle was
 * there to check its bytes against: docs/internals/rootfs.md) is told so. */
static void
warn_no_cache(struct planner *p)
{
    const char *libc = NULL;

    for (size_t i = 0; i < p->plan->n && libc == NULL; i++) {
        const char *path = p->plan->entries[i].path, *slash = strrchr(path, '/');

        if (p->plan->entries[i].type == ROOTFS_FILE &&
            strcmp(slash ? slash + 1 : path, "libc.so.6") == 0)
            libc = path;
    }
    if (libc == NULL)
        return;
    strv_push(&p->plan->summary.warnings,
              xasprintf("the image has glibc ('/%s') for %s, for which temper writes no "
                        "/etc/ld.so.cache (it writes one for amd64, arm64, 386, arm v7 and "
                        "ppc64le): libraries in the default directories still load, but "
                        "ldconfig -p and ctypes.util.find_library find nothing, and a library "
                        "only /etc/ld.so.conf names is not found",
                        libc, p->plan->architecture));
}

int
rootfs_ld_cache(struct planner *p, struct temper_err *err)
{
    char lib_triplet[64], usr_lib_triplet[64];
    const char *system_dirs[] = {lib_triplet, usr_lib_triplet, "/lib", "/usr/lib"};
    struct ld_cache c = {.p = p};
    char *generator, *bytes;
    size_t len;
    bool written;
    int rc = 0;

    if (p->recipe->omit_ld_cache || p->plan->architecture == NULL) {
        warn_uncached(p, &c, false);
        return 0;
    }
    for (size_t i = 0; i < sizeof(ld_arches) / sizeof(*ld_arches) && c.arch == NULL; i++)
        if (strcmp(p->plan->architecture, ld_arches[i].name) == 0 &&
            (ld_arches[i].variant == NULL ||
             (p->plan->variant != NULL && strcmp(p->plan->variant, ld_arches[i].variant) == 0)))
            c.arch = &ld_arches[i];
    if (c.arch == NULL) {
        warn_uncached(p, &c, false); /* not written: docs/internals/rootfs.md */
        warn_no_cache(p);
        return 0;
    }
    /* ld.so.conf first, then Debian's system directories (SLIBDIR, LIBDIR, then the two its
     * ldconfig adds) */
    snprintf(lib_triplet, sizeof(lib_triplet), "/lib/%s", c.arch->triplet);
    snprintf(usr_lib_triplet, sizeof(usr_lib_triplet), "/usr/lib/%s", c.arch->triplet);
    parse_conf(&c, "/" LDCONF_PATH, 0);
    for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
        add_dir_tree(&c, system_dirs[i]);
    for (size_t i = 0; i < c.ndirs; i++)
        search_dir(&c, &c.dirs[i]);
    generator = generator_of(&c);
    written = generator != NULL;
    if (written) {
        if (planner_entry(p, LDCACHE_PATH) != NULL) {
            rc = temper_err_set(err, TEMPER_E_PARSE, 0,
                                "temper writes '/%s' itself, from the image's own libraries; "
                                "take it out of contents (or set ld-so-cache: false)",
                                LDCACHE_PATH);
        } else {
            bytes = write_cache(&c, generator, &len);
            rc = planner_add_bytes(p, LDCACHE_PATH, bytes, len, err);
        }
        free(generator);
    }
    warn_uncached(p, &c, written);
    release(&c);
    return rc;
}
