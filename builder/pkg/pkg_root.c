/*
 * The unpacked root itself: its directory, the record of every path in it
 * (which package put it there first), and the one way into it, a walk from
 * the root's descriptor that never follows a symlink.
 *
 * The record is what makes the walk cheap and the refusals exact: every path
 * in the root came through pkg_root_record, so a component's record says
 * whether it is a directory, a file or a symlink (and who shipped it) before
 * the kernel is asked anything; O_NOFOLLOW on every component is the
 * backstop, should the tree change behind temper's back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

static const char *const merged_tops[] = {"bin",   "sbin",   "lib",   "lib32",
                                          "lib64", "libx32", "libo32"};

bool
pkg_is_merged_top(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(merged_tops) / sizeof(merged_tops[0]); i++)
        if (strlen(merged_tops[i]) == len && memcmp(merged_tops[i], name, len) == 0)
            return true;
    return false;
}

static void
node_free(void *p)
{
    struct pkg_node *node = p;

    if (node != NULL)
        free(node->target);
    free(node);
}

int
pkg_root_new(const char *dir, struct pkg_root **out, struct temper_err *err)
{
    struct pkg_root *root;
    cleanup_close int fd = -1;

    /* mkdir, not an existing directory: a root holds only what the packages put there. */
    if (mkdir(dir, 0700) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make root directory '%s'", dir);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open root directory '%s'", dir);
    if (fchmod(fd, 0755) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot set the mode of '%s'", dir);
    root = xcalloc(1, sizeof(*root));
    root->dirfd = steal_fd(&fd);
    root->dir = xstrdup(dir);
    root->cached_fd = -1;
    strmap_init(&root->paths);
    strmap_init(&root->packages);
    *out = root;
    return 0;
}

static void
meta_free(void *p)
{
    struct pkg_meta *meta = p;

    if (meta != NULL) {
        free(meta->control);
        free(meta->md5sums);
    }
    free(meta);
}

void
pkg_root_free(struct pkg_root *root)
{
    if (root == NULL)
        return;
    strmap_release(&root->paths, node_free);
    strmap_release(&root->packages, meta_free);
    if (root->cached_fd >= 0)
        close(root->cached_fd);
    free(root->cached_dir);
    close(root->dirfd);
    free(root->dir);
    free(root);
}

size_t
pkg_root_skipped(const struct pkg_root *root)
{
    return root->skipped;
}

const char *
pkg_root_intern(struct pkg_root *root, const char *package)
{
    const char *kept = strmap_key(&root->packages, package);

    return kept != NULL ? kept : strmap_put(&root->packages, package, NULL);
}

void
pkg_root_set_meta(struct pkg_root *root, const char *package, struct pkg_meta *meta)
{
    meta_free(strmap_get(&root->packages, package));
    strmap_put(&root->packages, package, meta);
}

struct pkg_node *
pkg_root_node(const struct pkg_root *root, const char *path)
{
    return strmap_get(&root->paths, path);
}

struct pkg_node *
pkg_root_record(struct pkg_root *root, const char *path, const char *package,
                enum pkg_node_type type)
{
    struct pkg_node *node = xcalloc(1, sizeof(*node));

    node->package = package;
    node->type = type;
    strmap_put(&root->paths, path, node);
    return node;
}

static int
by_path(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **
pkg_root_paths(const struct pkg_root *root,
               bool (*keep)(const char *path, const struct pkg_node *node), size_t *n)
{
    const char **paths = xreallocarray(NULL, root->paths.count + 1, sizeof(*paths));

    *n = 0;
    for (size_t i = 0; i < root->paths.cap; i++) {
        const struct strmap_slot *slot = &root->paths.slots[i];

        if (slot->key != NULL && (keep == NULL || keep(slot->key, slot->value)))
            paths[(*n)++] = slot->key;
    }
    qsort(paths, *n, sizeof(*paths), by_path);
    return paths;
}

int
pkg_root_owners(const struct pkg_root *root,
                int (*fn)(const char *path, const char *package, void *arg), void *arg)
{
    size_t n;
    cleanup_free const char **paths = pkg_root_paths(root, NULL, &n);
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fn(paths[i], pkg_root_node(root, paths[i])->package, arg);
    return rc;
}

int
pkg_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
pkg_chmod_dir(int dirfd, const char *name, mode_t mode)
{
    /* fchmodat would follow a symlink put there in between; a descriptor cannot. */
    cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -1;
    return fchmod(fd, mode);
}

int
pkg_make_dir(int dirfd, const char *name, mode_t mode)
{
    if (mkdirat(dirfd, name, 0700) < 0)
        return -1;
    return pkg_chmod_dir(dirfd, name, mode | S_IRWXU);
}

static const char *
type_name(enum pkg_node_type type)
{
    switch (type) {
    case PKG_NODE_DIR:
        return "a directory";
    case PKG_NODE_FILE:
        return "a file";
    case PKG_NODE_SYMLINK:
        return "a symlink";
    }
    return "something";
}

/* The path must not go on through `prefix`, which is not a directory. */
static int
refuse_through(const char *what, const char *prefix, const struct pkg_node *node,
               struct temper_err *err)
{
    char shown_what[160], shown_prefix[160];

    temper_printable(what, shown_what, sizeof(shown_what));
    temper_printable(prefix, shown_prefix, sizeof(shown_prefix));
    if (node->type == PKG_NODE_SYMLINK)
        return temper_err_set(err, TEMPER_E_POLICY, 0,
                              "'%s' goes through '%s', a symlink shipped by '%s': a package's "
                              "path is never followed through a symlink",
                              shown_what, shown_prefix, node->package);
    return temper_err_set(err, TEMPER_E_POLICY, 0, "'%s' goes through '%s', %s shipped by '%s'",
                          shown_what, shown_prefix, type_name(node->type), node->package);
}

/* Keeps `fd` (a copy) as the descriptor of directory path[0..len). */
static void
cache_dir(struct pkg_root *root, const char *path, size_t len, int fd)
{
    if (root->cached_fd >= 0)
        close(root->cached_fd);
    free(root->cached_dir);
    root->cached_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    root->cached_dir = root->cached_fd >= 0 ? xstrndup(path, len) : NULL;
}

int
pkg_root_open_dir(struct pkg_root *root, const char *path, size_t len, const char *package,
                  const char *what, struct temper_err *err)
{
    char prefix[TEMPER_PATH_MAX];
    cleanup_close int fd = -1;
    size_t at = 0;

    if (len >= sizeof(prefix))
        return temper_err_set(err, TEMPER_E_LIMIT, ENAMETOOLONG, "a path is over %d bytes",
                              TEMPER_PATH_MAX - 1);
    if (root->cached_dir != NULL && strlen(root->cached_dir) == len &&
        memcmp(root->cached_dir, path, len) == 0) {
        fd = fcntl(root->cached_fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot duplicate a descriptor");
        return steal_fd(&fd);
    }
    fd = fcntl(root->dirfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot duplicate a descriptor");
    while (at < len) {
        size_t end = at;
        struct pkg_node *node;
        const char *name = prefix + at;
        int next;

        while (end < len && path[end] != '/')
            end++;
        memcpy(prefix, path, end);
        prefix[end] = '\0';
        node = pkg_root_node(root, prefix);
        if (node == NULL) {
            if (pkg_make_dir(fd, name, 0755) < 0)
                return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make directory '%s'",
                                      prefix);
            node = pkg_root_record(root, prefix, package, PKG_NODE_DIR);
            node->implied = true;
            node->mode = 0755;
        } else if (node->type != PKG_NODE_DIR) {
            return refuse_through(what, prefix, node, err);
        }
        next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open directory '%s'", prefix);
        close(fd);
        fd = next;
        at = end + 1;
    }
    cache_dir(root, path, len, fd);
    return steal_fd(&fd);
}

int
pkg_root_merged_link(struct pkg_root *root, const char *name, const char *package,
                     struct temper_err *err)
{
    char target[16];
    struct pkg_node *node = pkg_root_node(root, name);

    snprintf(target, sizeof(target), "usr/%s", name);
    if (node != NULL) {
        if (node->type == PKG_NODE_SYMLINK && strcmp(node->target, target) == 0)
            return 0;
        return temper_err_set(err, TEMPER_E_POLICY, 0,
                              "'%s' needs the merged-/usr symlink '%s -> %s', but '%s' is %s "
                              "shipped by '%s'",
                              package, name, target, name, type_name(node->type), node->package);
    }
    if (symlinkat(target, root->dirfd, name) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make symlink '%s'", name);
    node = pkg_root_record(root, name, PKG_GENERATED, PKG_NODE_SYMLINK);
    node->mode = 0777;
    node->target = xstrdup(target);
    return 0;
}
