/*
 * The layout on disk: its directory, oci-layout, index.json and the blobs,
 * every one reached from the layout's directory descriptor with *at() calls.
 * The JSON inside them is oci_json.c's business.
 */
#define _GNU_SOURCE
#include "oci_layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "oci-internal.h"

_Static_assert(LAYER_DIGEST_LEN == SHA256_DIGEST_STR_LEN, "a layer digest is a sha256 digest");

#define LAYOUT_FILE "oci-layout"
#define LAYOUT_FILE_TEXT "{\"imageLayoutVersion\":\"1.0.0\"}"
#define INDEX_FILE "index.json"
/* Named temporaries: "<prefix>XXXXXX". In blobs/sha256 the prefix is ".tmp-", never a digest. */
#define TMP_SUFFIX_LEN 6
#define TMP_NAME_MAX 64
#define BLOB_TMP_PREFIX ".tmp-"
/* Paths in messages: longer ones are cut, the message buffer is 1 KiB anyway. */
#define WHERE_MAX 1024

/* A blob written to a named temporary (no O_TMPFILE here), not yet linked under its digest. */
struct pending {
    char name[TMP_NAME_MAX];
    dev_t dev;
    ino_t ino;
};

struct strlist {
    char **v;
    size_t n;
};

struct oci_layout {
    char *path;    /* as given, for messages and for removing made directories */
    int dirfd;     /* the layout's directory, readable (fsync needs it) */
    int blobs_fd;  /* blobs/, or -1 while missing */
    int sha256_fd; /* blobs/sha256, or -1 while missing */
    json_t *index; /* index.json as read or last written (checked by oci_index_parse) */
    bool fresh;    /* the directory was new or empty: what this handle adds may be undone */
    bool committed;
    bool locked;     /* holds the writers' lock (lock_writer) */
    bool no_tmpfile; /* O_TMPFILE refused here, or a test asked for named temporaries */
    bool made_layout_file, made_blobs, made_sha256;
    struct strlist made_dirs; /* host paths mkdir'd by open, outermost first */
    struct strlist linked;    /* blobs linked by this handle into a fresh layout (hex names) */
    struct pending *pending;
    size_t npending;
};

static void
strlist_push(struct strlist *list, const char *s)
{
    list->v = xreallocarray(list->v, list->n + 1, sizeof(*list->v));
    list->v[list->n++] = xstrdup(s);
}

static void
strlist_release(struct strlist *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->v[i]);
    free(list->v);
}

/* "DIR/rel" for messages. */
static const char *
where(const struct oci_layout *layout, const char *rel, char buf[WHERE_MAX])
{
    snprintf(buf, WHERE_MAX, "%s/%s", layout->path, rel);
    return buf;
}

static int
write_all(int fd, const void *bytes, size_t len)
{
    const char *p = bytes;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * Opens regular file `name` of dirfd for reading, never through a symlink; *st gets its stat.
 * A missing file is TEMPER_E_MISSING with ENOENT. `shown` names it.
 */
static int
open_regular_at(int dirfd, const char *name, const char *shown, struct stat *st,
                struct temper_err *err)
{
    /* O_NONBLOCK: a fifo planted under this name must not hang the open. */
    cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT)
        return temper_err_sys(err, TEMPER_E_MISSING, errno, "cannot open '%s'", shown);
    if (fd < 0 && errno == ELOOP)
        return temper_err_set(err, TEMPER_E_IO, errno, "'%s' is a symlink: refusing to follow it",
                              shown);
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open '%s'", shown);
    if (fstat(fd, st) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot stat '%s'", shown);
    if (!S_ISREG(st->st_mode))
        return temper_err_set(err, TEMPER_E_IO, 0, "'%s' is not a regular file", shown);
    return steal_fd(&fd);
}

/*
 * Reads regular file `name` of dirfd (never through a symlink), at most max_bytes; *out is
 * NUL-terminated. A missing file is TEMPER_E_MISSING with ENOENT. `shown` names it.
 */
static int
read_at(int dirfd, const char *name, const char *shown, size_t max_bytes, char **out, size_t *len,
        struct temper_err *err)
{
    struct stat st;
    cleanup_close int fd = open_regular_at(dirfd, name, shown, &st, err);
    cleanup_free char *buf = NULL;
    size_t size, got = 0;

    if (fd < 0)
        return -1;
    if ((uintmax_t)st.st_size > max_bytes)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s' is larger than %zu bytes", shown,
                              max_bytes);
    size = (size_t)st.st_size;
    buf = xmalloc(size + 1);
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read '%s'", shown);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = steal_pointer(&buf);
    *len = got;
    return 0;
}

/*
 * Creates "<prefix>XXXXXX" in dirfd, exclusively (O_EXCL makes a guessed name harmless; the
 * random suffix only makes collisions rare); returns the descriptor, or -1 with errno.
 */
static int
create_tmp(int dirfd, const char *prefix, char name[TMP_NAME_MAX])
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    for (unsigned attempt = 0; attempt < 100; attempt++) {
        unsigned char rnd[TMP_SUFFIX_LEN];
        char suffix[TMP_SUFFIX_LEN + 1];
        int fd;

        if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
            struct timespec ts;
            uint64_t x;

            clock_gettime(CLOCK_MONOTONIC, &ts);
            x = ((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32) + attempt;
            for (size_t i = 0; i < sizeof(rnd); i++)
                rnd[i] = (unsigned char)(x >> (8 * i));
        }
        for (size_t i = 0; i < TMP_SUFFIX_LEN; i++)
            suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
        suffix[TMP_SUFFIX_LEN] = '\0';
        snprintf(name, TMP_NAME_MAX, "%s%s", prefix, suffix);
        fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/*
 * Replaces `name` in the layout's directory by `len` bytes: a temporary "<name>.tmp-XXXXXX" is
 * written, synced and renamed over it, then the directory is synced, so a reader sees the old
 * file or the new one, never a part. A failure before the rename removes the temporary;
 * *renamed says whether the rename happened (a later failure leaves the new file in place).
 */
static int
write_atomic(struct oci_layout *layout, const char *name, const char *bytes, size_t len,
             bool *renamed, struct temper_err *err)
{
    char tmp[TMP_NAME_MAX], prefix[TMP_NAME_MAX], shown[WHERE_MAX];
    cleanup_close int fd = -1;
    int saved;

    *renamed = false;
    where(layout, name, shown);
    snprintf(prefix, sizeof(prefix), "%s.tmp-", name);
    fd = create_tmp(layout->dirfd, prefix, tmp);
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot create a temporary file for '%s'",
                              shown);
    if (fchmod(fd, 0644) < 0 || write_all(fd, bytes, len) < 0 || fsync(fd) < 0 ||
        close(steal_fd(&fd)) < 0) {
        saved = errno;
        unlinkat(layout->dirfd, tmp, 0);
        return temper_err_sys(err, TEMPER_E_IO, saved, "cannot write '%s'", shown);
    }
    if (renameat(layout->dirfd, tmp, layout->dirfd, name) < 0) {
        saved = errno;
        unlinkat(layout->dirfd, tmp, 0);
        return temper_err_sys(err, TEMPER_E_IO, saved, "cannot replace '%s'", shown);
    }
    *renamed = true;
    if (fsync(layout->dirfd) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot sync directory '%s'", layout->path);
    return 0;
}

/* mkdir -p, remembering every directory it made so that oci_layout_free can remove them. */
static int
make_dirs(struct oci_layout *layout, const char *dir, struct temper_err *err)
{
    cleanup_free char *buf = xstrdup(dir);
    size_t len = strlen(buf);

    for (size_t i = 1; i <= len; i++) {
        char saved = buf[i];

        if ((i < len && buf[i] != '/') || buf[i - 1] == '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) == 0)
            strlist_push(&layout->made_dirs, buf);
        else if (errno != EEXIST)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot create directory '%s'", buf);
        buf[i] = saved;
    }
    return 0;
}

/*
 * Opens directory `name` of parent, never through a symlink; with `create` a missing one is
 * made (*made is set). *out is -1 when it is missing and was not made.
 */
static int
open_subdir(int parent, const char *name, const char *shown, bool create, bool *made, int *out,
            struct temper_err *err)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(parent, name, flags);

    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(parent, name, 0755) == 0)
            *made = true;
        else if (errno != EEXIST)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot create directory '%s'", shown);
        fd = openat(parent, name, flags);
    }
    if (fd < 0 && errno == ENOENT) {
        *out = -1;
        return 0;
    }
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
        return temper_err_set(err, TEMPER_E_PARSE, errno,
                              "'%s' is a symlink or not a directory: the layout is damaged", shown);
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open directory '%s'", shown);
    *out = fd;
    return 0;
}

/* Opens blobs/ and blobs/sha256, making them with `create`; sha256_fd stays -1 when missing. */
static int
open_blobs(struct oci_layout *layout, bool create, struct temper_err *err)
{
    char shown[WHERE_MAX];

    if (layout->sha256_fd >= 0)
        return 0;
    if (layout->blobs_fd < 0) {
        if (open_subdir(layout->dirfd, "blobs", where(layout, "blobs", shown), create,
                        &layout->made_blobs, &layout->blobs_fd, err) < 0)
            return -1;
        if (layout->blobs_fd < 0)
            return 0;
    }
    return open_subdir(layout->blobs_fd, "sha256", where(layout, "blobs/sha256", shown), create,
                       &layout->made_sha256, &layout->sha256_fd, err);
}

/* A temporary of write_atomic's for `name`: "<name>.tmp-" and TMP_SUFFIX_LEN characters. */
static bool
is_tmp_of(const char *entry, const char *name)
{
    size_t n = strlen(name);

    return strncmp(entry, name, n) == 0 && strncmp(entry + n, ".tmp-", 5) == 0 &&
           strlen(entry + n + 5) == TMP_SUFFIX_LEN;
}

/*
 * Whether a directory is empty but for the "oci-layout.tmp-XXXXXX" a build killed while it
 * created the layout leaves behind; with `remove`, removes those.
 */
static int
dir_is_empty(int dirfd, bool remove, bool *empty)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *entry;
    DIR *dir;
    int saved;

    if (fd < 0)
        return -1;
    dir = fdopendir(fd);
    if (dir == NULL) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    *empty = true;
    errno = 0;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (!is_tmp_of(entry->d_name, LAYOUT_FILE)) {
            *empty = false;
            break;
        }
        if (remove && unlinkat(dirfd, entry->d_name, 0) < 0 && errno != ENOENT)
            break;
        errno = 0;
    }
    saved = errno;
    closedir(dir);
    errno = saved;
    return saved != 0 ? -1 : 0;
}

/*
 * Checks oci-layout; where it is missing, a directory being created (new or empty) gets one and
 * becomes fresh, any other is refused.
 */
static int
open_layout_file(struct oci_layout *layout, bool create, struct temper_err *err)
{
    cleanup_free char *text = NULL;
    char shown[WHERE_MAX];
    struct temper_err inner;
    size_t len;
    bool empty, renamed;

    where(layout, LAYOUT_FILE, shown);
    if (read_at(layout->dirfd, LAYOUT_FILE, shown, OCI_LAYOUT_FILE_MAX_BYTES, &text, &len,
                &inner) == 0) {
        if (oci_layout_file_check(text, len, err) < 0)
            return temper_err_prefix(err, "'%s'", shown);
        return 0;
    }
    if (inner.code != TEMPER_E_MISSING) {
        *err = inner;
        return -1;
    }
    if (!create)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "'%s' is not an OCI image layout: it has no 'oci-layout' file",
                              layout->path);
    if (dir_is_empty(layout->dirfd, false, &empty) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot list directory '%s'", layout->path);
    if (!empty)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "'%s' is not empty and is not an OCI image layout: pick an empty "
                              "directory or an existing layout",
                              layout->path);
    if (dir_is_empty(layout->dirfd, true, &empty) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot remove a temporary file in '%s'",
                              layout->path);
    layout->fresh = true;
    if (write_atomic(layout, LAYOUT_FILE, LAYOUT_FILE_TEXT, strlen(LAYOUT_FILE_TEXT), &renamed,
                     err) < 0) {
        layout->made_layout_file = renamed;
        return -1;
    }
    layout->made_layout_file = true;
    return 0;
}

/* Reads index.json; a layout without one has no images yet. */
static int
open_index(struct oci_layout *layout, struct temper_err *err)
{
    cleanup_free char *text = NULL;
    char shown[WHERE_MAX];
    struct temper_err inner;
    size_t len;

    where(layout, INDEX_FILE, shown);
    if (read_at(layout->dirfd, INDEX_FILE, shown, OCI_INDEX_MAX_BYTES, &text, &len, &inner) < 0) {
        if (inner.code != TEMPER_E_MISSING) {
            *err = inner;
            return -1;
        }
        layout->index = oci_index_new();
        return 0;
    }
    if (oci_index_parse(text, len, &layout->index, &inner) < 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' is damaged (%s): the layout is left as it is; restore "
                              "index.json or pick another directory",
                              shown, inner.msg);
    return 0;
}

/* Removes the entries of directory `dirfd` that `is_stale` names; a missing directory is none. */
static void
remove_stale(int dirfd, bool (*is_stale)(const char *name))
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *entry;
    DIR *dir;

    if (fd < 0)
        return;
    dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        return;
    }
    while ((entry = readdir(dir)) != NULL)
        if (is_stale(entry->d_name))
            unlinkat(dirfd, entry->d_name, 0);
    closedir(dir);
}

static bool
is_stale_layout_tmp(const char *name)
{
    return is_tmp_of(name, LAYOUT_FILE) || is_tmp_of(name, INDEX_FILE);
}

static bool
is_stale_blob_tmp(const char *name)
{
    return strncmp(name, BLOB_TMP_PREFIX, strlen(BLOB_TMP_PREFIX)) == 0 &&
           strlen(name) == strlen(BLOB_TMP_PREFIX) + TMP_SUFFIX_LEN;
}

/* Temporaries of writers that were killed: only a writer holding the lock may remove them. */
static void
remove_stale_temporaries(struct oci_layout *layout)
{
    int sha256_fd;

    remove_stale(layout->dirfd, is_stale_layout_tmp);
    sha256_fd =
        openat(layout->dirfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sha256_fd >= 0) {
        remove_stale(sha256_fd, is_stale_blob_tmp);
        close(sha256_fd);
    }
}

static int
take_lock(struct oci_layout *layout, struct temper_err *err)
{
    while (flock(layout->dirfd, LOCK_EX) < 0)
        if (errno != EINTR)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot lock layout '%s' for writing",
                                  layout->path);
    layout->locked = true;
    return 0;
}

/*
 * Writers hold an exclusive flock on the layout's directory from their first write until
 * oci_layout_free: two builds into one layout take turns, so neither loses the other's index
 * update, and a temporary found once the lock is held was left by a writer that was killed
 * (between writing index.json.tmp-XXXXXX and renaming it, say): it is removed. Readers take no
 * lock; they see the old index.json or the new one. A handle that read index.json before
 * taking the lock (opened without `create`) reads it again, so that what another writer
 * committed meanwhile is kept.
 */
static int
lock_writer(struct oci_layout *layout, struct temper_err *err)
{
    if (layout->locked)
        return 0;
    if (take_lock(layout, err) < 0)
        return -1;
    remove_stale_temporaries(layout);
    json_decref(layout->index);
    layout->index = NULL;
    return open_index(layout, err);
}

int
oci_layout_lock(struct oci_layout *layout, struct temper_err *err)
{
    return lock_writer(layout, err);
}

int
oci_layout_open(const char *dir, bool create, struct oci_layout **out, struct temper_err *err)
{
    cleanup_oci_layout struct oci_layout *layout = NULL;
    size_t len = strlen(dir);

    if (len == 0 || len >= TEMPER_PATH_MAX)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "layout directory '%s' is empty or too long",
                              dir);
    layout = xcalloc(1, sizeof(*layout));
    layout->path = xstrdup(dir);
    layout->dirfd = layout->blobs_fd = layout->sha256_fd = -1;
    if (create && make_dirs(layout, dir, err) < 0)
        return -1;
    layout->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (layout->dirfd < 0)
        return temper_err_sys(err, errno == ENOENT ? TEMPER_E_MISSING : TEMPER_E_IO, errno,
                              "cannot open layout directory '%s'", dir);
    /* A build holds the lock from the start; the temporaries of a killed one are removed once
     * the directory is known to be a layout (or new), never from someone else's directory. */
    if (create && take_lock(layout, err) < 0)
        return -1;
    if (open_layout_file(layout, create, err) < 0)
        return -1;
    if (create)
        remove_stale_temporaries(layout);
    /* The index before blobs/: a damaged layout is refused before anything is added to it. */
    if (open_index(layout, err) < 0 || open_blobs(layout, create, err) < 0)
        return -1;
    *out = steal_pointer(&layout);
    return 0;
}

/* What a fresh layout got from this handle, removed when no image was committed into it. */
static void
undo(struct oci_layout *layout)
{
    if (layout->fresh) {
        for (size_t i = 0; i < layout->linked.n; i++)
            unlinkat(layout->sha256_fd, layout->linked.v[i], 0);
        if (layout->made_sha256)
            unlinkat(layout->blobs_fd, "sha256", AT_REMOVEDIR);
        if (layout->made_blobs)
            unlinkat(layout->dirfd, "blobs", AT_REMOVEDIR);
        if (layout->made_layout_file)
            unlinkat(layout->dirfd, LAYOUT_FILE, 0);
    }
    for (size_t i = layout->made_dirs.n; i-- > 0;)
        rmdir(layout->made_dirs.v[i]);
}

void
oci_layout_free(struct oci_layout *layout)
{
    if (layout == NULL)
        return;
    for (size_t i = 0; i < layout->npending; i++)
        unlinkat(layout->sha256_fd, layout->pending[i].name, 0);
    if (!layout->committed)
        undo(layout);
    if (layout->sha256_fd >= 0)
        close(layout->sha256_fd);
    if (layout->blobs_fd >= 0)
        close(layout->blobs_fd);
    if (layout->dirfd >= 0)
        close(layout->dirfd);
    json_decref(layout->index);
    strlist_release(&layout->made_dirs);
    strlist_release(&layout->linked);
    free(layout->pending);
    free(layout->path);
    free(layout);
}

void
oci_layout_force_named_tmp(struct oci_layout *layout)
{
    layout->no_tmpfile = true;
}

/* Removes the named temporary holding the file `st` describes, if there is one. */
static void
forget_pending(struct oci_layout *layout, const struct stat *st)
{
    for (size_t i = 0; i < layout->npending; i++) {
        struct pending *p = &layout->pending[i];

        if (p->dev == st->st_dev && p->ino == st->st_ino) {
            unlinkat(layout->sha256_fd, p->name, 0);
            *p = layout->pending[--layout->npending];
            return;
        }
    }
}

/* Closes a blob descriptor that will not be committed. */
static void
discard(struct oci_layout *layout, int fd)
{
    struct stat st;

    if (fstat(fd, &st) == 0)
        forget_pending(layout, &st);
    close(fd);
}

/* A blob in a named temporary, for file systems without O_TMPFILE. */
static int
begin_named(struct oci_layout *layout)
{
    struct pending p;
    struct stat st;
    int fd = create_tmp(layout->sha256_fd, BLOB_TMP_PREFIX, p.name);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0) {
        int saved = errno;

        unlinkat(layout->sha256_fd, p.name, 0);
        close(fd);
        errno = saved;
        return -1;
    }
    p.dev = st.st_dev;
    p.ino = st.st_ino;
    layout->pending = xreallocarray(layout->pending, layout->npending + 1, sizeof(p));
    layout->pending[layout->npending++] = p;
    return fd;
}

int
oci_blob_begin(struct oci_layout *layout, struct temper_err *err)
{
    char shown[WHERE_MAX];
    int fd = -1, saved;

    if (lock_writer(layout, err) < 0 || open_blobs(layout, true, err) < 0)
        return -1;
    where(layout, "blobs/sha256", shown);
    if (!layout->no_tmpfile) {
        fd = openat(layout->sha256_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        /* The errors by which a file system says it has no O_TMPFILE (open(2)). */
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
            layout->no_tmpfile = true;
        else if (fd < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot create a blob in '%s'", shown);
    }
    if (layout->no_tmpfile && (fd = begin_named(layout)) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot create a blob in '%s'", shown);
    /* Blobs are world-readable whatever the umask: a layout is meant to be shared. */
    if (fchmod(fd, 0644) < 0) {
        saved = errno;
        discard(layout, fd);
        return temper_err_sys(err, TEMPER_E_IO, saved, "cannot set the mode of a blob in '%s'",
                              shown);
    }
    return fd;
}

/* A blob name is "sha256:" and 64 lowercase hex digits, so it can never leave blobs/sha256. */
static int
check_digest(const char *digest, struct temper_err *err)
{
    if (digest == NULL || !sha256_is_digest(digest))
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "invalid blob digest '%s': expected 'sha256:' and 64 lowercase hex "
                              "digits",
                              digest != NULL ? digest : "");
    return 0;
}

/* A blob of the same name is already there: keep it, if it can be the same bytes. */
static int
check_existing(struct oci_layout *layout, const char *hex, const char *shown,
               const struct stat *ours, struct temper_err *err)
{
    struct stat st;

    if (fstatat(layout->sha256_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot stat '%s'", shown);
    if (!S_ISREG(st.st_mode))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' is not a regular file: the layout is damaged; remove it",
                              shown);
    if (st.st_size != ours->st_size)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' has %jd bytes where its digest says %jd: the layout is "
                              "damaged; remove that file",
                              shown, (intmax_t)st.st_size, (intmax_t)ours->st_size);
    return 0;
}

static int
link_blob(struct oci_layout *layout, int fd, const struct stat *st, const char *digest,
          struct temper_err *err)
{
    char proc[64], rel[80], shown[WHERE_MAX];
    const char *hex;
    int r;

    if (check_digest(digest, err) < 0)
        return -1;
    hex = digest + 7;
    snprintf(rel, sizeof(rel), "blobs/sha256/%s", hex);
    where(layout, rel, shown);
    if (open_blobs(layout, true, err) < 0)
        return -1;
    if (fsync(fd) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot sync blob '%s'", shown);
    /* linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH on older kernels; /proc does not. */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    r = linkat(AT_FDCWD, proc, layout->sha256_fd, hex, AT_SYMLINK_FOLLOW);
    if (r < 0 && errno == ENOENT)
        r = linkat(fd, "", layout->sha256_fd, hex, AT_EMPTY_PATH);
    if (r < 0 && errno == EEXIST)
        return check_existing(layout, hex, shown, st, err);
    if (r < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot link blob '%s'", shown);
    if (layout->fresh)
        strlist_push(&layout->linked, hex);
    return 0;
}

int
oci_blob_commit(struct oci_layout *layout, int fd, const char *digest, struct temper_err *err)
{
    struct stat st;
    int ret;

    if (fstat(fd, &st) < 0) {
        ret = temper_err_sys(err, TEMPER_E_IO, errno, "cannot commit blob '%s'",
                             digest != NULL ? digest : "");
        close(fd);
        return ret;
    }
    ret = link_blob(layout, fd, &st, digest, err);
    forget_pending(layout, &st);
    close(fd);
    return ret;
}

int
oci_blob_put(struct oci_layout *layout, const void *bytes, size_t len,
             char digest[LAYER_DIGEST_LEN], struct temper_err *err)
{
    char computed[LAYER_DIGEST_LEN], shown[WHERE_MAX];
    int fd, saved;

    sha256_digest(bytes, len, computed);
    fd = oci_blob_begin(layout, err);
    if (fd < 0)
        return -1;
    if (write_all(fd, bytes, len) < 0) {
        saved = errno;
        discard(layout, fd);
        return temper_err_sys(err, TEMPER_E_IO, saved, "cannot write blob '%s' in '%s'", computed,
                              where(layout, "blobs/sha256", shown));
    }
    if (oci_blob_commit(layout, fd, computed, err) < 0)
        return -1;
    memcpy(digest, computed, sizeof(computed));
    return 0;
}

/* Every layer is described well and is a blob of this layout, of the size given. */
static int
check_layers(struct oci_layout *layout, const struct oci_layer_desc *layers, size_t nlayers,
             struct temper_err *err)
{
    char shown[WHERE_MAX];
    struct stat st;

    if (nlayers == 0)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "an image needs at least one layer");
    if (open_blobs(layout, false, err) < 0)
        return -1;
    for (size_t i = 0; i < nlayers; i++) {
        const struct oci_layer_desc *l = &layers[i];

        if (l->media_type == NULL || l->media_type[0] == '\0')
            return temper_err_set(err, TEMPER_E_USAGE, 0, "layer %zu has no media type", i + 1);
        if (l->digest == NULL || !sha256_is_digest(l->digest) || l->diff_id == NULL ||
            !sha256_is_digest(l->diff_id))
            return temper_err_set(err, TEMPER_E_USAGE, 0,
                                  "layer %zu: digest '%s' or diff_id '%s' is not 'sha256:' and 64 "
                                  "lowercase hex digits",
                                  i + 1, l->digest != NULL ? l->digest : "",
                                  l->diff_id != NULL ? l->diff_id : "");
        if (l->size > INT64_MAX)
            return temper_err_set(err, TEMPER_E_USAGE, 0, "layer '%s' is too large", l->digest);
        where(layout, "blobs/sha256", shown);
        if (layout->sha256_fd < 0 ||
            fstatat(layout->sha256_fd, l->digest + 7, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return temper_err_set(err, TEMPER_E_MISSING, errno,
                                  "layer '%s' is not in '%s': commit its blob first", l->digest,
                                  shown);
        if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != l->size)
            return temper_err_set(err, TEMPER_E_USAGE, 0,
                                  "layer '%s' has %jd bytes in '%s', not %" PRIu64, l->digest,
                                  (intmax_t)st.st_size, shown, l->size);
    }
    return 0;
}

/* Makes blob names and new directories durable before index.json can point at them. */
static int
sync_dirs(struct oci_layout *layout, struct temper_err *err)
{
    if (fsync(layout->sha256_fd) < 0 || fsync(layout->blobs_fd) < 0 || fsync(layout->dirfd) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot sync layout '%s'", layout->path);
    return 0;
}

/* oci-layout, should it have gone missing since the layout was opened. */
static int
restore_layout_file(struct oci_layout *layout, struct temper_err *err)
{
    struct stat st;
    bool renamed;

    if (fstatat(layout->dirfd, LAYOUT_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
        return 0;
    return write_atomic(layout, LAYOUT_FILE, LAYOUT_FILE_TEXT, strlen(LAYOUT_FILE_TEXT), &renamed,
                        err);
}

/* Writes `doc` as a blob; *size gets its size. */
static int
put_json(struct oci_layout *layout, const json_t *doc, char digest[LAYER_DIGEST_LEN],
         uint64_t *size, struct temper_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;

    oci_json_dump(doc, &text, &len);
    if (oci_blob_put(layout, text, len, digest, err) < 0)
        return -1;
    *size = len;
    return 0;
}

/*
 * Makes `*index` the layout's index.json: blob names synced first, then the file replaced
 * atomically. Takes *index once the rename happened (even when only the directory sync after it
 * failed: index.json then names the new blobs, so they must stay).
 */
static int
commit_index(struct oci_layout *layout, json_t **index, struct temper_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;
    bool renamed;
    int rc;

    oci_json_dump(*index, &text, &len);
    if (sync_dirs(layout, err) < 0 || restore_layout_file(layout, err) < 0)
        return -1;
    rc = write_atomic(layout, INDEX_FILE, text, len, &renamed, err);
    if (!renamed)
        return -1;
    json_decref(layout->index);
    layout->index = steal_pointer(index);
    layout->committed = true;
    return rc;
}

static int
invalid_tag(const char *tag, struct temper_err *err)
{
    return temper_err_set(err, TEMPER_E_USAGE, 0,
                          "invalid tag '%s': a tag is 1 to 128 letters, digits, '_', '.' or "
                          "'-', and starts with a letter, a digit or '_'",
                          tag != NULL ? tag : "");
}

/* The config and manifest blobs of an image; `what` names it in errors. */
static int
put_image(struct oci_layout *layout, const struct oci_image_spec *spec,
          const struct oci_layer_desc *layers, size_t nlayers, const char *what,
          struct oci_descriptor *desc, struct temper_err *err)
{
    json_auto_t *config = NULL, *manifest = NULL;
    char config_digest[LAYER_DIGEST_LEN];
    uint64_t config_size;

    *desc = (struct oci_descriptor){.media_type = OCI_MEDIA_TYPE_MANIFEST};
    /* Everything that can be wrong with the request is found before anything is written. */
    if (check_layers(layout, layers, nlayers, err) < 0 ||
        (config = oci_config_new(spec, layers, nlayers, err)) == NULL ||
        (manifest = oci_manifest_new(spec, layers, nlayers, err)) == NULL)
        return temper_err_prefix(err, "image '%s'", what);

    if (put_json(layout, config, config_digest, &config_size, err) < 0)
        return temper_err_prefix(err, "image '%s': config", what);
    oci_manifest_set_config(manifest, config_digest, config_size);
    if (put_json(layout, manifest, desc->digest, &desc->size, err) < 0)
        return temper_err_prefix(err, "image '%s': manifest", what);
    return 0;
}

int
oci_image_put(struct oci_layout *layout, const struct oci_image_spec *spec,
              const struct oci_layer_desc *layers, size_t nlayers, struct oci_descriptor *manifest,
              struct temper_err *err)
{
    return put_image(layout, spec, layers, nlayers,
                     spec->architecture != NULL ? spec->architecture : "", manifest, err);
}

/* Points `tag` at `desc` (with the platform of `spec`, if any) in a new index.json. */
static int
tag_descriptor(struct oci_layout *layout, const char *tag, const struct oci_descriptor *desc,
               const struct oci_image_spec *spec, struct temper_err *err)
{
    json_auto_t *index = json_deep_copy(layout->index);

    if (index == NULL)
        abort(); /* out of memory */
    if (oci_index_put(index, tag, desc, spec, err) < 0)
        return temper_err_prefix(err, "image '%s'", tag);
    return commit_index(layout, &index, err);
}

int
oci_index_check_tags(const struct oci_layout *layout, const struct oci_index_image *images,
                     size_t nimages, const char *tag, struct temper_err *err)
{
    json_auto_t *index = json_deep_copy(layout->index);
    char platform_tag[OCI_TAG_MAX + 1];

    if (index == NULL)
        abort(); /* out of memory */
    if (!oci_tag_is_valid(tag))
        return invalid_tag(tag, err);
    /* the platform tags of the index `tag` names now go with it */
    oci_index_drop_platform_tags(json_object_get(index, "manifests"), tag);
    for (size_t i = 0; i < nimages; i++) {
        const char *arch = images[i].spec->architecture;

        if (!oci_platform_tag(tag, arch, platform_tag))
            return temper_err_set(err, TEMPER_E_USAGE, 0,
                                  "image index '%s': its image for %s would be tagged '%s-%s', "
                                  "longer than a tag may be; use a shorter tag",
                                  tag, arch, tag, arch);
        if (oci_index_entry(index, platform_tag) != NULL)
            return temper_err_set(err, TEMPER_E_USAGE, 0,
                                  "image index '%s': its image for %s would be tagged '%s', "
                                  "which the layout already holds and which is not a platform "
                                  "tag of '%s'; remove that tag, or use another tag",
                                  tag, arch, platform_tag, tag);
    }
    return 0;
}

int
oci_index_commit(struct oci_layout *layout, const struct oci_index_image *images, size_t nimages,
                 const char *tag, char digest[LAYER_DIGEST_LEN], struct temper_err *err)
{
    json_auto_t *doc = NULL, *index = NULL;
    struct oci_descriptor desc = {.media_type = OCI_MEDIA_TYPE_INDEX};
    char platform_tag[OCI_TAG_MAX + 1];

    if (oci_index_check_tags(layout, images, nimages, tag, err) < 0)
        return -1;
    /* the document first: it checks each image's platform */
    if ((doc = oci_image_index_new(images, nimages, err)) == NULL)
        return temper_err_prefix(err, "image index '%s'", tag);
    if (put_json(layout, doc, desc.digest, &desc.size, err) < 0)
        return temper_err_prefix(err, "image index '%s'", tag);
    index = json_deep_copy(layout->index);
    if (index == NULL)
        abort(); /* out of memory */
    if (oci_index_put(index, tag, &desc, NULL, err) < 0)
        return temper_err_prefix(err, "image index '%s'", tag);
    for (size_t i = 0; i < nimages; i++) {
        oci_platform_tag(tag, images[i].spec->architecture, platform_tag);
        if (oci_index_put(index, platform_tag, &images[i].manifest, images[i].spec, err) < 0)
            return temper_err_prefix(err, "image index '%s'", tag);
    }
    if (commit_index(layout, &index, err) < 0)
        return -1;
    memcpy(digest, desc.digest, LAYER_DIGEST_LEN);
    return 0;
}

int
oci_image_commit(struct oci_layout *layout, const struct oci_image_spec *spec,
                 const struct oci_layer_desc *layers, size_t nlayers, const char *tag,
                 char manifest_digest[LAYER_DIGEST_LEN], struct temper_err *err)
{
    struct oci_descriptor desc;

    if (!oci_tag_is_valid(tag))
        return invalid_tag(tag, err);
    if (put_image(layout, spec, layers, nlayers, tag, &desc, err) < 0)
        return -1;
    if (tag_descriptor(layout, tag, &desc, spec, err) < 0)
        return -1;
    memcpy(manifest_digest, desc.digest, LAYER_DIGEST_LEN);
    return 0;
}

int
oci_manifest_put(struct oci_layout *layout, const char *tag, const char *media_type,
                 const void *bytes, size_t len, char digest[LAYER_DIGEST_LEN],
                 struct temper_err *err)
{
    json_auto_t *index = NULL;
    struct oci_descriptor desc;

    if (!oci_tag_is_valid(tag))
        return invalid_tag(tag, err);
    if (media_type == NULL || media_type[0] == '\0' ||
        strlen(media_type) >= sizeof(desc.media_type))
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "manifest for tag '%s': media type '%s' is empty or too long", tag,
                              media_type != NULL ? media_type : "");
    if ((uint64_t)len > INT64_MAX)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "manifest for tag '%s' is too large", tag);
    if (lock_writer(layout, err) < 0) /* before the index is copied: it may be read again */
        return -1;
    snprintf(desc.media_type, sizeof(desc.media_type), "%s", media_type);
    sha256_digest(bytes, len, desc.digest);
    desc.size = len;
    /* The new index is made first: a media type that is not UTF-8 fails before any write. */
    index = json_deep_copy(layout->index);
    if (index == NULL)
        abort(); /* out of memory */
    if (oci_index_put(index, tag, &desc, NULL, err) < 0 ||
        oci_blob_put(layout, bytes, len, desc.digest, err) < 0)
        return temper_err_prefix(err, "manifest for tag '%s'", tag);
    if (commit_index(layout, &index, err) < 0)
        return -1;
    memcpy(digest, desc.digest, LAYER_DIGEST_LEN);
    return 0;
}

int
oci_layout_blobs_dir(struct oci_layout *layout, int *fd, struct temper_err *err)
{
    if (open_blobs(layout, false, err) < 0)
        return -1;
    *fd = layout->sha256_fd;
    return 0;
}

int
oci_layout_commit_index(struct oci_layout *layout, json_t **index, struct temper_err *err)
{
    return commit_index(layout, index, err);
}

const char *
oci_layout_path(const struct oci_layout *layout)
{
    return layout->path;
}

const json_t *
oci_layout_index(const struct oci_layout *layout)
{
    return layout->index;
}

int
oci_layout_find_tag(const struct oci_layout *layout, const char *tag, struct oci_descriptor *out,
                    struct temper_err *err)
{
    if (oci_index_find(layout->index, tag, out, err) < 0)
        return temper_err_prefix(err, "layout '%s'", layout->path);
    return 0;
}

char **
oci_layout_tags_of(const struct oci_layout *layout, const char *digest)
{
    const json_t *manifests = json_object_get(layout->index, "manifests");
    char **tags = xcalloc(json_array_size(manifests) + 1, sizeof(*tags));
    size_t n = 0;

    for (size_t i = 0; i < json_array_size(manifests); i++) {
        const json_t *entry = json_array_get(manifests, i);
        const char *d = json_string_value(json_object_get(entry, "digest"));
        const char *tag = json_string_value(
            json_object_get(json_object_get(entry, "annotations"), OCI_ANNOTATION_REF_NAME));

        if (d != NULL && tag != NULL && strcmp(d, digest) == 0 && !oci_tag_is_attached(tag))
            tags[n++] = xstrdup(tag);
    }
    return tags;
}

static int
blob_missing(const struct oci_layout *layout, const char *digest, struct temper_err *err)
{
    return temper_err_set(err, TEMPER_E_MISSING, ENOENT, "blob '%s' is missing from '%s'", digest,
                          layout->path);
}

int
oci_blob_open(struct oci_layout *layout, const char *digest, struct temper_err *err)
{
    char rel[80], shown[WHERE_MAX];
    cleanup_close int fd = -1;
    struct stat st;

    if (check_digest(digest, err) < 0)
        return -1;
    snprintf(rel, sizeof(rel), "blobs/sha256/%s", digest + 7);
    where(layout, rel, shown);
    if (open_blobs(layout, false, err) < 0)
        return -1;
    if (layout->sha256_fd < 0)
        return blob_missing(layout, digest, err);
    fd = open_regular_at(layout->sha256_fd, digest + 7, shown, &st, err);
    if (fd < 0 && err->code == TEMPER_E_MISSING)
        return blob_missing(layout, digest, err);
    return fd < 0 ? -1 : steal_fd(&fd);
}

int
oci_blob_open_read(struct oci_layout *layout, const char *digest, struct temper_err *err)
{
    return oci_blob_open(layout, digest, err);
}

int
oci_blob_load(struct oci_layout *layout, const char *digest, size_t max_bytes, char **out,
              size_t *len, struct temper_err *err)
{
    char rel[80], shown[WHERE_MAX];

    if (check_digest(digest, err) < 0)
        return -1;
    snprintf(rel, sizeof(rel), "blobs/sha256/%s", digest + 7);
    where(layout, rel, shown);
    if (open_blobs(layout, false, err) < 0)
        return -1;
    if (layout->sha256_fd < 0)
        return blob_missing(layout, digest, err);
    if (read_at(layout->sha256_fd, digest + 7, shown, max_bytes, out, len, err) < 0) {
        if (err->code == TEMPER_E_MISSING)
            return blob_missing(layout, digest, err);
        return -1;
    }
    return 0;
}

int
oci_blob_read(struct oci_layout *layout, const char *digest, size_t max_bytes, char **out,
              size_t *len, struct temper_err *err)
{
    cleanup_free char *buf = NULL;
    char rel[80], shown[WHERE_MAX], got[LAYER_DIGEST_LEN];
    size_t n;

    if (oci_blob_load(layout, digest, max_bytes, &buf, &n, err) < 0)
        return -1;
    snprintf(rel, sizeof(rel), "blobs/sha256/%s", digest + 7);
    sha256_digest(buf, n, got);
    if (strcmp(got, digest) != 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "blob '%s' does not match its digest (its bytes hash to '%s'): the "
                              "layout is damaged",
                              where(layout, rel, shown), got);
    *out = steal_pointer(&buf);
    *len = n;
    return 0;
}

/* ---- the layout as an oci_source ---- */

static int
source_find(void *arg, const char *tag, struct oci_descriptor *out, struct temper_err *err)
{
    return oci_layout_find_tag(arg, tag, out, err);
}

static int
source_load(void *arg, const struct oci_descriptor *desc, size_t max_bytes, char **out, size_t *len,
            struct temper_err *err)
{
    return oci_blob_load(arg, desc->digest, max_bytes, out, len, err);
}

static int
source_open(void *arg, const struct oci_descriptor *desc, struct temper_err *err)
{
    return oci_blob_open(arg, desc->digest, err);
}

static int
source_close(void *arg, int fd, struct temper_err *err)
{
    (void)arg;
    (void)err;
    close(fd); /* read-only: nothing to lose */
    return 0;
}

static const struct oci_source_ops layout_source_ops = {
    .find = source_find,
    .load = source_load,
    .open = source_open,
    .close = source_close,
};

void
oci_layout_source(struct oci_layout *layout, struct oci_source *out)
{
    char shown[OCI_SOURCE_NAME_MAX - 16];

    out->ops = &layout_source_ops;
    out->arg = layout;
    snprintf(out->name, sizeof(out->name), "layout '%s'",
             temper_printable(layout->path, shown, sizeof(shown)));
}
