/*
 * fs: paths inside a root directory, resolved the way the kernel would
 * resolve them if that root were "/", without ever leaving it.
 *
 * A root is opened once (fs_root_open) and owns a directory descriptor plus
 * two caches: every path it resolved, and every symlink it met on the way
 * (its canonical location and its target text). Resolution walks one
 * component at a time from already-canonical prefixes, so the kernel never
 * follows a symlink for us: an absolute target restarts at the root, ".."
 * stops at the root, and more than TEMPER_SYMLINK_MAX links is ELOOP.
 * Files are then opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)
 * on the canonical path, so even a tree changed behind our back cannot make
 * an open land outside the root.
 *
 * Canonical paths are absolute ("/usr/lib/x86_64-linux-gnu/libc.so.6") and
 * name the location inside the root. Every `struct fs_path` returned is
 * owned by the root and lives until fs_root_free.
 */
#ifndef TEMPER_BASE_FS_H
#define TEMPER_BASE_FS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

struct fs_root;

enum fs_kind {
    FS_KIND_FILE,
    FS_KIND_DIR,
    FS_KIND_OTHER, /* a device, socket or fifo: never a library */
};

struct fs_path {
    const char *canon; /* canonical absolute path inside the root */
    enum fs_kind kind;
    off_t size;
    mode_t mode; /* permission bits (07777) as stat reported them */
    /* When its contents were last written, as stat says: a file a package manager installed
     * keeps the time its package was built with, older than the install. */
    struct timespec mtime;
    /* Canonical locations of every symlink followed to get here, directory symlinks
     * included, in the order they were met; their targets come from fs_root_link_target. */
    const char **links;
    size_t nlinks;
};

/*
 * Writes "dir/name" into out (TEMPER_PATH_MAX bytes), without doubling the
 * slash of "/"; returns -1 when the result would not fit.
 */
int fs_path_join(char *out, const char *dir, const char *name);

/* Opens the directory `dir` (a host path) as a root. */
int fs_root_open(const char *dir, struct fs_root **out, struct temper_err *err);
void fs_root_free(struct fs_root *root);

/*
 * Resolves `path`, absolute inside the root, following every symlink. On
 * failure err->sys_errno is ENOENT, ENOTDIR, ELOOP or ENAMETOOLONG (or what
 * stat said), and the message names the path.
 */
int fs_resolve(struct fs_root *root, const char *path, const struct fs_path **out,
               struct temper_err *err);

/*
 * The same without a message, for lookups that expect to miss (a library
 * search tries many directories): returns 0, or the errno value.
 */
int fs_lookup(struct fs_root *root, const char *path, const struct fs_path **out);

/* Target text of the symlink at canonical location `link` (one of fs_path.links). */
const char *fs_root_link_target(const struct fs_root *root, const char *link);

/*
 * Opens a resolved path with `flags` (O_CLOEXEC is added); returns a
 * descriptor or -1. It changes nothing in the root, so threads may call it
 * at once (every other function here is for one thread at a time).
 */
int fs_open(const struct fs_root *root, const struct fs_path *path, int flags,
            struct temper_err *err);

/* Reads a whole regular file of at most max_bytes; *out is NUL-terminated and owned by the caller.
 */
int fs_read_file(struct fs_root *root, const struct fs_path *path, size_t max_bytes, char **out,
                 size_t *len, struct temper_err *err);

/*
 * Reads a whole regular host file `name` (relative to dirfd, or AT_FDCWD; a symlink is
 * followed: this is for the machine's own configuration, not for a root), at most max_bytes
 * even if it grows while read; *out is NUL-terminated and owned by the caller. Opened with
 * O_NONBLOCK so that a FIFO cannot hang the read. TEMPER_E_MISSING (ENOENT) for a missing file,
 * TEMPER_E_IO for one that is not regular or cannot be read, TEMPER_E_LIMIT over max_bytes.
 */
int fs_read_file_at(int dirfd, const char *name, size_t max_bytes, char **out, size_t *len,
                    struct temper_err *err);

/*
 * Writes `len` bytes of `data` to the host file `path`, whole or not at all: into a temporary
 * file beside it, synced, given mode 0644, then renamed over it; the temporary is removed on
 * failure. Errors (TEMPER_E_IO) say "cannot write <what>".
 */
int fs_write_file_atomic(const char *path, const char *data, size_t len, const char *what,
                         struct temper_err *err);

/*
 * Lists the names in directory `dir` (without "." and ".."), sorted bytewise,
 * at most max_entries of them. *names is a NULL-terminated array the caller
 * frees with fs_names_free.
 */
int fs_list_dir(struct fs_root *root, const struct fs_path *dir, size_t max_entries, char ***names,
                struct temper_err *err);
void fs_names_free(char **names);

#endif
