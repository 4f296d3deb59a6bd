#define _GNU_SOURCE
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "limits.h"
#include "strmap.h"
#include "xalloc.h"

struct fs_root {
    int dirfd;
    bool no_openat2;     /* the kernel (or a seccomp filter) refused openat2 */
    struct strmap paths; /* path as asked → struct fs_entry */
    struct strmap links; /* canonical symlink location → target text */
};

/* A cached answer: a path, or the errno that resolving it gave. */
struct fs_entry {
    struct fs_path path;
    int sys_errno;
};

/* The state of one top-level lookup: the budgets the kernel would also impose. */
struct walk {
    int links_left;
    int steps_left;
};

static void
entry_free(void *p)
{
    struct fs_entry *e = p;

    if (e == NULL)
        return;
    free(e->path.links);
    free(e);
}

static const char *
relative(const char *canon)
{
    return canon[1] == '\0' ? "." : canon + 1;
}

/* Whether openat2 works here; asked once, so that fs_open never writes to the root and can be
 * called from several threads. */
static bool
has_openat2(int dirfd)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC | O_DIRECTORY, .resolve = RESOLVE_IN_ROOT};
    int fd = (int)syscall(SYS_openat2, dirfd, ".", &how, sizeof(how));

    if (fd < 0)
        return errno != ENOSYS && errno != EPERM;
    close(fd);
    return true;
}

int
fs_root_open(const char *dir, struct fs_root **out, struct temper_err *err)
{
    struct fs_root *root;
    cleanup_close int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open root directory '%s'", dir);
    root = xcalloc(1, sizeof(*root));
    root->dirfd = steal_fd(&fd);
    root->no_openat2 = !has_openat2(root->dirfd);
    strmap_init(&root->paths);
    strmap_init(&root->links);
    *out = root;
    return 0;
}

void
fs_root_free(struct fs_root *root)
{
    if (root == NULL)
        return;
    strmap_release(&root->paths, entry_free);
    strmap_release(&root->links, free);
    close(root->dirfd);
    free(root);
}

const char *
fs_root_link_target(const struct fs_root *root, const char *link)
{
    return strmap_get(&root->links, link);
}

/* Fills what stat says of a path. */
static void
path_from_stat(struct fs_path *p, const char *canon, const struct stat *st)
{
    p->canon = canon;
    if (S_ISREG(st->st_mode))
        p->kind = FS_KIND_FILE;
    else if (S_ISDIR(st->st_mode))
        p->kind = FS_KIND_DIR;
    else
        p->kind = FS_KIND_OTHER;
    p->size = st->st_size;
    p->mode = st->st_mode & 07777;
    p->mtime = st->st_mtim;
}

/* A new entry for the file `what`, reached through the links of `before`, then `link` (when not
 * NULL), then the links of `after`. */
static struct fs_entry *
new_entry(const struct fs_path *what, const struct fs_path *before, const char *link,
          const struct fs_path *after)
{
    struct fs_entry *e = xcalloc(1, sizeof(*e));
    size_t na = before ? before->nlinks : 0, nb = after ? after->nlinks : 0;
    size_t n = 0;

    e->path = *what;
    e->path.links = xreallocarray(NULL, na + nb + 1, sizeof(*e->path.links));
    if (na)
        memcpy(e->path.links, before->links, na * sizeof(*e->path.links));
    n = na;
    if (link != NULL)
        e->path.links[n++] = link;
    if (nb)
        memcpy(e->path.links + n, after->links, nb * sizeof(*e->path.links));
    e->path.nlinks = n + nb;
    return e;
}

int
fs_path_join(char *buf, const char *dir, const char *name)
{
    size_t dlen = strcmp(dir, "/") == 0 ? 0 : strlen(dir), nlen = strlen(name);

    if (dlen + 1 + nlen >= TEMPER_PATH_MAX)
        return -1;
    memcpy(buf, dir, dlen);
    buf[dlen] = '/';
    memcpy(buf + dlen + 1, name, nlen + 1);
    return 0;
}

static const struct fs_entry *resolve(struct fs_root *root, const char *path, struct walk *w,
                                      int *sys_errno);

/*
 * Remembers the answer for `path`. A failure reached through symlinks is not
 * kept: the walk that asks again may have fewer links left, and would then
 * get ELOOP where this one got another error (a cached error charges no
 * links); a loop error itself depends on the budget left.
 */
static const struct fs_entry *
remember(struct fs_root *root, const char *path, struct fs_entry *e, int sys_errno,
         bool through_links)
{
    if (e == NULL) {
        if (sys_errno == ELOOP || through_links)
            return NULL;
        e = xcalloc(1, sizeof(*e));
        e->sys_errno = sys_errno;
    }
    {
        struct fs_entry *old = strmap_get(&root->paths, path);

        /* Keep the first answer: callers may already hold pointers into it. */
        if (old != NULL) {
            entry_free(e);
            return old->sys_errno ? NULL : old;
        }
    }
    strmap_put(&root->paths, path, e);
    return e->sys_errno ? NULL : e;
}

static struct fs_entry *
resolve_symlink(struct fs_root *root, const struct fs_entry *parent, const char *child,
                struct walk *w, int *sys_errno)
{
    char target[TEMPER_PATH_MAX], next[TEMPER_PATH_MAX];
    const struct fs_entry *to;
    const char *link;
    ssize_t n;

    if (--w->links_left < 0) {
        *sys_errno = ELOOP;
        return NULL;
    }
    n = readlinkat(root->dirfd, relative(child), target, sizeof(target));
    if (n < 0 || n >= (ssize_t)sizeof(target)) {
        *sys_errno = n < 0 ? errno : ENAMETOOLONG;
        return NULL;
    }
    target[n] = '\0';
    link = strmap_key(&root->links, child);
    if (link == NULL)
        link = strmap_put(&root->links, child, xstrdup(target));
    if (target[0] == '/')
        to = resolve(root, target, w, sys_errno);
    else if (fs_path_join(next, parent->path.canon, target) < 0) {
        *sys_errno = ENAMETOOLONG;
        return NULL;
    } else
        to = resolve(root, next, w, sys_errno);
    if (to == NULL)
        return NULL;
    return new_entry(&to->path, &parent->path, link, &to->path);
}

/* Resolves the last component `name` of a path whose parent resolved to `parent`. */
static struct fs_entry *
resolve_last(struct fs_root *root, const struct fs_entry *parent, const char *name, struct walk *w,
             int *sys_errno)
{
    char child[TEMPER_PATH_MAX];
    const struct fs_entry *up;
    struct stat st;

    if (parent->path.kind != FS_KIND_DIR) {
        *sys_errno = ENOTDIR;
        return NULL;
    }
    if (strcmp(name, "..") == 0) {
        /* The canonical parent has no symlinks left, so ".." is plain string work; it stops at
         * the root. The links that led to `parent` are still on the way. */
        const char *slash = strrchr(parent->path.canon, '/');
        size_t len = slash == parent->path.canon ? 1 : (size_t)(slash - parent->path.canon);

        memcpy(child, parent->path.canon, len);
        child[len] = '\0';
        up = resolve(root, child, w, sys_errno);
        if (up == NULL)
            return NULL;
        return new_entry(&up->path, &parent->path, NULL, NULL);
    }
    if (fs_path_join(child, parent->path.canon, name) < 0) {
        *sys_errno = ENAMETOOLONG;
        return NULL;
    }
    /* `child` starts with a canonical, symlink-free prefix, so the kernel follows nothing here. */
    if (fstatat(root->dirfd, relative(child), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        *sys_errno = errno;
        return NULL;
    }
    if (S_ISLNK(st.st_mode))
        return resolve_symlink(root, parent, child, w, sys_errno);
    {
        const char *canon = strmap_key(&root->paths, child);
        struct fs_path found;

        if (canon == NULL)
            canon = strmap_put(&root->paths, child, NULL);
        path_from_stat(&found, canon, &st);
        return new_entry(&found, &parent->path, NULL, NULL);
    }
}

static const struct fs_entry *
resolve(struct fs_root *root, const char *path, struct walk *w, int *sys_errno)
{
    cleanup_free char *buf = NULL;
    const struct fs_entry *cached, *dir;
    const char *name, *parent;
    char *slash;
    size_t len = strlen(path);
    int links_at_start = w->links_left;

    if (len >= TEMPER_PATH_MAX) {
        *sys_errno = ENAMETOOLONG;
        return NULL;
    }
    if (--w->steps_left < 0) {
        *sys_errno = ELOOP;
        return NULL;
    }
    cached = strmap_get(&root->paths, path);
    if (cached != NULL) {
        /* The symlinks a cached answer followed count against this walk's budget as if they
         * were followed again: the kernel's limit is on the whole walk, and it keeps every
         * answer's list of links at TEMPER_SYMLINK_MAX. */
        w->links_left -= (int)cached->path.nlinks;
        *sys_errno = cached->sys_errno ? cached->sys_errno : w->links_left < 0 ? ELOOP : 0;
        return *sys_errno ? NULL : cached;
    }
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len <= 1) {
        struct fs_path top;
        struct stat st;
        const char *canon;

        if (fstat(root->dirfd, &st) < 0) {
            *sys_errno = errno;
            return NULL;
        }
        canon = strmap_key(&root->paths, "/");
        if (canon == NULL)
            canon = strmap_put(&root->paths, "/", NULL);
        path_from_stat(&top, canon, &st);
        return remember(root, path, new_entry(&top, NULL, NULL, NULL), 0, false);
    }
    /* Split into parent and last component; every path here starts with '/'. The copy is on
     * the heap: this recursion goes one level per component (up to TEMPER_PATH_STEPS_MAX),
     * so its frames must stay small. */
    buf = xmalloc(len + 1);
    memcpy(buf, path, len);
    buf[len] = '\0';
    slash = strrchr(buf, '/');
    name = slash + 1;
    if (slash == buf) {
        parent = "/";
    } else {
        *slash = '\0';
        parent = buf;
    }
    dir = resolve(root, parent, w, sys_errno);
    if (dir == NULL)
        return NULL;
    if (name[0] == '\0' || strcmp(name, ".") == 0) {
        if (dir->path.kind != FS_KIND_DIR) {
            *sys_errno = ENOTDIR;
            return NULL;
        }
        return dir;
    }
    {
        struct fs_entry *e = resolve_last(root, dir, name, w, sys_errno);

        return remember(root, path, e, *sys_errno, w->links_left < links_at_start);
    }
}

int
fs_lookup(struct fs_root *root, const char *path, const struct fs_path **out)
{
    struct walk w = {TEMPER_SYMLINK_MAX, TEMPER_PATH_STEPS_MAX};
    const struct fs_entry *e;
    int sys_errno = 0;

    if (path[0] != '/')
        return EINVAL;
    e = resolve(root, path, &w, &sys_errno);
    if (e == NULL)
        return sys_errno ? sys_errno : ENOENT;
    *out = &e->path;
    return 0;
}

int
fs_resolve(struct fs_root *root, const char *path, const struct fs_path **out,
           struct temper_err *err)
{
    int sys_errno;

    if (path[0] != '/')
        return temper_err_set(err, TEMPER_E_USAGE, EINVAL,
                              "'%s' is not an absolute path inside the root", path);
    sys_errno = fs_lookup(root, path, out);
    if (sys_errno != 0)
        return temper_err_sys(err, TEMPER_E_IO, sys_errno, "cannot resolve '%s'", path);
    return 0;
}

/* Opens a canonical path without following any symlink, component by component: the fallback
 * for kernels (or seccomp filters) without openat2. */
static int
open_by_walk(const struct fs_root *root, const char *canon, int flags)
{
    char buf[TEMPER_PATH_MAX];
    cleanup_close int dirfd = dup(root->dirfd);
    char *comp, *next;

    if (dirfd < 0)
        return -1;
    snprintf(buf, sizeof(buf), "%s", relative(canon));
    for (comp = buf; (next = strchr(comp, '/')) != NULL; comp = next + 1) {
        int fd;

        *next = '\0';
        fd = openat(dirfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return -1;
        close(dirfd);
        dirfd = fd;
    }
    return openat(dirfd, comp, flags | O_NOFOLLOW | O_CLOEXEC);
}

int
fs_open(const struct fs_root *root, const struct fs_path *path, int flags, struct temper_err *err)
{
    /* O_NONBLOCK: a file swapped for a fifo after it was resolved must not hang the open. */
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    int fd = -1;

    if (root->no_openat2)
        fd = open_by_walk(root, path->canon, flags | O_NONBLOCK | O_NOCTTY);
    else
        fd = (int)syscall(SYS_openat2, root->dirfd, relative(path->canon), &how, sizeof(how));
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open '%s'", path->canon);
    return fd;
}

int
fs_read_file(struct fs_root *root, const struct fs_path *path, size_t max_bytes, char **out,
             size_t *len, struct temper_err *err)
{
    cleanup_close int fd = fs_open(root, path, O_RDONLY, err);
    cleanup_free char *buf = NULL;
    struct stat st;
    size_t done = 0;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot stat '%s'", path->canon);
    if (!S_ISREG(st.st_mode))
        return temper_err_set(err, TEMPER_E_IO, EINVAL, "'%s' is not a regular file", path->canon);
    if ((size_t)st.st_size > max_bytes)
        return temper_err_set(err, TEMPER_E_LIMIT, EFBIG,
                              "'%s' is %lld bytes, over the limit of %zu", path->canon,
                              (long long)st.st_size, max_bytes);
    buf = xmalloc((size_t)st.st_size + 1);
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read '%s'", path->canon);
        if (n == 0)
            break;
        done += (size_t)n;
    }
    buf[done] = '\0';
    *len = done;
    *out = steal_pointer(&buf);
    return 0;
}

int
fs_write_file_atomic(const char *path, const char *data, size_t len, const char *what,
                     struct temper_err *err)
{
    cleanup_free char *tmp = xasprintf("%s.tmp-XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC), e;
    size_t done = 0;

    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot write %s", what);
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        done += (size_t)n;
    }
    e = errno;
    if (done == len && fchmod(fd, 0644) == 0 && fsync(fd) == 0) {
        if (close(fd) == 0 && rename(tmp, path) == 0)
            return 0;
        e = errno;
        unlink(tmp);
        return temper_err_sys(err, TEMPER_E_IO, e, "cannot write %s", what);
    }
    e = done < len ? e : errno;
    close(fd);
    unlink(tmp);
    return temper_err_sys(err, TEMPER_E_IO, e, "cannot write %s", what);
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
fs_names_free(char **names)
{
    if (names == NULL)
        return;
    for (char **p = names; *p != NULL; p++)
        free(*p);
    free(names);
}

int
fs_list_dir(struct fs_root *root, const struct fs_path *dir, size_t max_entries, char ***names,
            struct temper_err *err)
{
    int fd = fs_open(root, dir, O_RDONLY | O_DIRECTORY, err);
    char **list = NULL;
    size_t count = 0;
    struct dirent *de;
    DIR *d;

    if (fd < 0)
        return -1;
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot list '%s'", dir->canon);
    }
    list = xcalloc(1, sizeof(*list));
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (count == max_entries) {
            closedir(d);
            fs_names_free(list);
            return temper_err_set(err, TEMPER_E_LIMIT, E2BIG, "'%s' has more than %zu entries",
                                  dir->canon, max_entries);
        }
        list = xreallocarray(list, count + 2, sizeof(*list));
        list[count++] = xstrdup(de->d_name);
        list[count] = NULL;
    }
    closedir(d);
    qsort(list, count, sizeof(*list), compare_names);
    *names = list;
    return 0;
}

int
fs_read_file_at(int dirfd, const char *name, size_t max_bytes, char **out, size_t *len,
                struct temper_err *err)
{
    cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    cleanup_free char *buf = NULL;
    size_t cap, n = 0;
    struct stat st;

    if (fd < 0)
        return temper_err_sys(err, errno == ENOENT ? TEMPER_E_MISSING : TEMPER_E_IO, errno,
                              "cannot open '%s'", name);
    if (fstat(fd, &st) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot stat '%s'", name);
    if (!S_ISREG(st.st_mode))
        return temper_err_set(err, TEMPER_E_IO, S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
                              "'%s' is not a regular file", name);
    if ((uintmax_t)st.st_size > max_bytes)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s' is larger than %zu bytes", name,
                              max_bytes);
    /* one byte more than the limit: a file that grew past it while read is seen to */
    cap = (size_t)st.st_size + 1;
    buf = xmalloc(cap + 1);
    for (;;) {
        ssize_t got;

        if (n == cap) {
            if (cap > max_bytes)
                return temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s' is larger than %zu bytes", name,
                                      max_bytes);
            cap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            buf = xreallocarray(buf, cap + 1, 1);
        }
        got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read '%s'", name);
        if (got == 0)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    *out = steal_pointer(&buf);
    *len = n;
    return 0;
}
