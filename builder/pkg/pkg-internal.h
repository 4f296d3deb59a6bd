/*
 * pkg-internal: what the files of the pkg module share. Not for other
 * modules.
 *
 * The index (pkg_index.c) is read by the resolver (pkg_resolve.c); the
 * fetcher (pkg_fetch.c) serves the lock's maker (pkg_archive.c) and the
 * cache (pkg_cache.c).
 *
 * The unpacked root: pkg_root.c owns the root (its directory descriptor and
 * the record of every path in it); pkg_deb.c reads .deb files into it and
 * pkg_generate.c adds what maintainer scripts would have made. Both write
 * only through the helpers here, so that every path in the root has a
 * record and every directory is reached from the root's descriptor without
 * following a symlink. Paths are relative and in merged-/usr form
 * ("usr/lib/x"): no leading slash, no empty, "." or ".." component.
 */
#ifndef TEMPER_PKG_INTERNAL_H
#define TEMPER_PKG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/sha256.h"
#include "base/strmap.h"
#include "pkg.h"

enum pkg_node_type {
    PKG_NODE_DIR,
    PKG_NODE_FILE,
    PKG_NODE_SYMLINK,
};

/* What the root holds at one path, and who put it there first. */
struct pkg_node {
    const char *package; /* interned in pkg_root.packages, or PKG_GENERATED */
    enum pkg_node_type type;
    /* A directory made for the entries under it before (or without) an entry of its own. */
    bool implied;
    /* Permission bits the path must end with. Directories are made with u+rwx whatever their
     * mode (so that later entries can go in when temper does not run as root); pkg_root_generate
     * gives the others their mode at the end. */
    mode_t mode;
    uint64_t size;                      /* files */
    char sha256[SHA256_DIGEST_STR_LEN]; /* files */
    char *target;                       /* symlinks: the target as shipped */
};

/* What a package's control.tar holds that the root's dpkg database keeps. */
struct pkg_meta {
    char *control; /* the control file */
    char *md5sums; /* the md5sums file, or NULL */
};

struct pkg_root {
    int dirfd; /* the root directory (O_PATH) */
    char *dir;
    struct strmap paths;    /* merged path -> struct pkg_node */
    struct strmap packages; /* package names, interned -> struct pkg_meta (once unpacked) */
    uint64_t bytes;         /* contents written (or hashed) for every package */
    size_t skipped;         /* devices, FIFOs and sockets not made */
    bool broken;            /* an unpack failed half-way: the root is not whole */
    /* The directory that the last entry went into, kept open: a tar lists a directory's
     * entries together, so most entries need no walk. Directories are never replaced or
     * moved, so the descriptor stays right. */
    char *cached_dir;
    int cached_fd;
};

/* The top-level directories that merged /usr turns into symlinks (bin -> usr/bin). */
bool pkg_is_merged_top(const char *name, size_t len);

/* The package name as the root keeps it (one copy for every record). */
const char *pkg_root_intern(struct pkg_root *root, const char *package);

/* Keeps what package's control.tar holds (taken) for the root's dpkg database. */
void pkg_root_set_meta(struct pkg_root *root, const char *package, struct pkg_meta *meta);

/* The record of `path`, or NULL. */
struct pkg_node *pkg_root_node(const struct pkg_root *root, const char *path);

/* Records `path` (which must have none yet) as made by `package`; returns the new record. */
struct pkg_node *pkg_root_record(struct pkg_root *root, const char *path, const char *package,
                                 enum pkg_node_type type);

/*
 * Opens the directory `path` (its first `len` bytes; len 0 is the root itself) from the root's
 * descriptor one component at a time with O_NOFOLLOW. A missing directory is made (mode 0755,
 * recorded as implied by `package`). A component recorded as a symlink or a file is refused with
 * TEMPER_E_POLICY naming `package`, `what` (the entry's path) and the owner of the component.
 * Returns a new descriptor (O_PATH) that the caller closes, or -1.
 */
int pkg_root_open_dir(struct pkg_root *root, const char *path, size_t len, const char *package,
                      const char *what, struct temper_err *err);

/*
 * Makes directory `name` in `dirfd` with u+rwx added to `mode` (see pkg_node.mode), whatever the
 * umask. Returns 0 or -1 with errno set.
 */
int pkg_make_dir(int dirfd, const char *name, mode_t mode);

/* Writes all of buf to fd (retrying short writes); 0, or -1 with errno set. */
int pkg_write_all(int fd, const void *buf, size_t len);

/* The recorded paths that `keep` selects, sorted bytewise (strcmp compares as unsigned char,
 * whatever the locale); *n of them. The array is the caller's to free; the strings are the
 * root's. */
const char **pkg_root_paths(const struct pkg_root *root,
                            bool (*keep)(const char *path, const struct pkg_node *node), size_t *n);

/* Sets the mode of directory `name` in `dirfd` (never following a symlink); 0 or -1, errno. */
int pkg_chmod_dir(int dirfd, const char *name, mode_t mode);

/* Makes the merged-/usr symlink `name` -> usr/`name` at the top of the root the first time an
 * entry needs it, recorded as PKG_GENERATED. Anything else already there is refused. */
int pkg_root_merged_link(struct pkg_root *root, const char *name, const char *package,
                         struct temper_err *err);

/* ---- the index (pkg_index.c) ---- */

/* Indices into pkg_index.packages, grown as packages are added. */
struct pkg_list {
    size_t *items;
    size_t n;
};

struct pkg_index {
    char **texts; /* the indexes' texts, which the packages' Depends spans point into */
    size_t ntexts;
    struct pkg_package *packages;
    size_t n, cap;
    struct strmap by_name;     /* name -> struct pkg_list of packages of that name */
    struct strmap by_provides; /* name -> struct pkg_list of packages providing it */
};

/* Whether s is exactly 64 lowercase hex digits (a SHA-256 as indexes and locks write it). */
bool pkg_is_hex64(const char *s);

/* The packages of that name, or NULL. */
const struct pkg_list *pkg_index_named(const struct pkg_index *idx, const char *name);
/* The packages that provide that name, or NULL. */
const struct pkg_list *pkg_index_providers(const struct pkg_index *idx, const char *name);

/* ---- Release dates (pkg_release.c) ---- */

/* An RFC 2822 date as Release files write it, in seconds since 1970; -1 when it cannot be read. */
int64_t pkg_release_date(const char *s);

/* ---- what indexes and locks may name (pkg_index.c) ---- */

/* A pool path: relative, no empty, "." or ".." component, of letters, digits and "+-._~/%:". */
bool pkg_is_pool_path(const char *s);

/* ---- archives (pkg_sources.c) ---- */

/* The root URL of a repository's archive, without a trailing slash: its own, or for `url: apt`
 * the one this machine's apt sources (under apt_dir) name for its suite. Owned. */
int pkg_repository_url(const struct pkg_repository *r, const char *apt_dir, char **url,
                       struct temper_err *err);

/* ---- fetching (pkg_fetch.c) ---- */

struct pkg_fetcher;

/* One download into a file: `fd` is empty, readable and writable. */
struct pkg_job {
    const char *url;
    int fd;
    uint64_t size;      /* expected bytes, or 0: unknown, at most `max` */
    uint64_t max;       /* with size 0 */
    const char *sha256; /* expected digest (hex), or NULL */
    const char *what;   /* names it in messages */
};

int pkg_fetcher_new(const struct pkg_env *env, struct pkg_fetcher **out, struct temper_err *err);
void pkg_fetcher_free(struct pkg_fetcher *f);
/* Runs the jobs, env->jobs at a time, each retried and resumed as pkg_fetch.c says, and checked
 * against its size and digest; -1 at the first that fails for good, the others stopped. */
int pkg_fetch_files(struct pkg_fetcher *f, struct pkg_job *jobs, size_t n, struct temper_err *err);
/* GET into memory, at most `max` bytes; *out NUL-terminated. */
int pkg_fetch_memory(struct pkg_fetcher *f, const char *url, size_t max, const char *what,
                     char **out, size_t *len, struct temper_err *err);
/* "sha256:<hex>" of a whole file, read with pread from offset 0. */
int pkg_digest_fd(int fd, char digest[72], struct temper_err *err);

#endif
