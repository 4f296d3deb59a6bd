/*
 * pkg-internal: what the files of the unpacked root share. pkg_root.c owns
 * the root (its directory descriptor and the record of every path in it);
 * pkg_deb.c reads .deb files into it and pkg_generate.c adds what
 * maintainer scripts would have made. Both write only through the helpers
 * here, so that every path in the root has a record and every directory is
 * reached from the root's descriptor without following a symlink.
 *
 * Paths are relative and in merged-/usr form ("usr/lib/x"): no leading
 * slash, no empty, "." or ".." component.
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

struct pkg_root {
    int dirfd; /* the root directory (O_PATH) */
    char *dir;
    struct strmap paths;    /* merged path -> struct pkg_node */
    struct strmap packages; /* package names, interned (values unused) */
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

#endif
