/*
 * A .deb unpacked into the root: the ar archive read as deb(5) and dpkg
 * read it, the data.tar member streamed through a second libarchive reader
 * whose read callback pulls the member's bytes from the first, and each tar
 * entry written by hand (never archive_read_extract, which resolves paths
 * from the process's view and follows symlinks).
 *
 * The package is hostile input: every path is checked and put in its
 * merged-/usr form before anything is made, every directory is reached from
 * the root's descriptor without following a symlink (pkg_root_open_dir),
 * files are made with O_EXCL and written through their own descriptor, and
 * every count and byte is capped (PKG_DEB_* in limits.h), so that a
 * decompression bomb stops at the cap, however well it compresses.
 *
 * Names are read under the C.UTF-8 locale (this thread only): libarchive
 * converts pax names from UTF-8 to the thread's locale, which under "C"
 * fails for any name that is not ASCII.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

#define IO_CHUNK (64 * 1024)

/* The compressions a control.tar or data.tar member may have, by its name's extension. dpkg
 * also reads data.tar.bz2 and data.tar.lzma, which nothing in Debian has used for years. */
static const struct codec {
    const char *ext;
    const char *what;
    int filter;
    int (*support)(struct archive *);
} codecs[] = {
    {"", "an uncompressed tar", ARCHIVE_FILTER_NONE, NULL},
    {".gz", "gzip-compressed", ARCHIVE_FILTER_GZIP, archive_read_support_filter_gzip},
    {".xz", "xz-compressed", ARCHIVE_FILTER_XZ, archive_read_support_filter_xz},
    {".zst", "zstd-compressed", ARCHIVE_FILTER_ZSTD, archive_read_support_filter_zstd},
};

struct unpack {
    struct pkg_root *root;
    const char *package; /* interned */
    struct archive *deb; /* the ar archive */
    /* The merged paths of this package's entries so far, with their records: a hard link may
     * only name one of them. */
    struct strmap own;
    size_t entries;
    uint64_t bytes;            /* contents written or hashed for this package */
    unsigned char *buf;        /* IO_CHUNK: contents */
    unsigned char *member_buf; /* IO_CHUNK: data.tar's bytes, for the tar reader */
    const char *member;        /* "data.tar.xz", for messages */
    char shown[2][160];        /* untrusted names made printable, for messages */
};

/* Untrusted text (a name, libarchive's message about it) made printable for a message. */
static const char *
show(struct unpack *u, int slot, const char *s)
{
    return temper_printable(s != NULL ? s : "unknown error", u->shown[slot],
                            sizeof(u->shown[slot]));
}

static const struct codec *
find_codec(const char *ext)
{
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
        if (strcmp(codecs[i].ext, ext) == 0)
            return &codecs[i];
    return NULL;
}

static bool
has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- entries ---- */

/*
 * Writes the merged-/usr form of an entry's path (or hard link target) `raw` into `out`: a
 * leading "./" dropped, one trailing '/' (a directory's) dropped, and a first component that
 * merged /usr turned into a symlink put under usr/ (*top_len is then its length, else 0) unless
 * `keep_top` (a symlink entry that is the merged-/usr symlink itself). "" is the root itself.
 */
static int
entry_path(struct unpack *u, const char *raw, bool keep_top, char out[TEMPER_PATH_MAX],
           size_t *top_len, struct temper_err *err)
{
    const char *p = raw;
    size_t n = strlen(raw), first;

    *top_len = 0;
    if (n > PKG_DEB_PATH_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "a path is over %d bytes (PKG_DEB_PATH_MAX_BYTES)",
                              PKG_DEB_PATH_MAX_BYTES);
    if (p[0] == '/')
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' is an absolute path", show(u, 0, raw));
    if (strcmp(p, ".") == 0 || strcmp(p, "./") == 0) {
        out[0] = '\0';
        return 0;
    }
    if (has_prefix(p, "./"))
        p += 2;
    n = strlen(p);
    if (n > 0 && p[n - 1] == '/')
        n--;
    for (size_t at = 0; at <= n;) {
        size_t len = strcspn(p + at, "/");

        if (at + len > n)
            len = n - at;
        if (len == 0)
            return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' has an empty component",
                                  show(u, 0, raw));
        if ((len == 1 && p[at] == '.') || (len == 2 && p[at] == '.' && p[at + 1] == '.'))
            return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' has a '%.*s' component",
                                  show(u, 0, raw), (int)len, p + at);
        at += len + 1;
    }
    first = strcspn(p, "/");
    if (first > n)
        first = n;
    if (pkg_is_merged_top(p, first) && !(keep_top && first == n)) {
        *top_len = first;
        snprintf(out, TEMPER_PATH_MAX, "usr/%.*s", (int)n, p);
    } else {
        snprintf(out, TEMPER_PATH_MAX, "%.*s", (int)n, p);
    }
    return 0;
}

/* The same path from two entries (of two packages, or twice in one) that do not agree. */
static int
conflict(struct unpack *u, const char *path, const struct pkg_node *was, const char *how,
         struct temper_err *err)
{
    if (was->package == u->package)
        return temper_err_set(err, TEMPER_E_POLICY, 0, "'%s' is shipped twice, %s",
                              show(u, 0, path), how);
    return temper_err_set(err, TEMPER_E_POLICY, 0,
                          "'%s' is shipped by '%s' and by '%s', %s: the same path may only be "
                          "shipped again with the same content",
                          show(u, 0, path), was->package, u->package, how);
}

static int
conflict_type(struct unpack *u, const char *path, const struct pkg_node *was,
              enum pkg_node_type type, struct temper_err *err)
{
    static const char *const names[] = {"a directory", "a file", "a symlink"};
    char how[96];

    snprintf(how, sizeof(how), "as %s and as %s", names[was->type], names[type]);
    return conflict(u, path, was, how, err);
}

/* Opens the parent directory of `path` (a merged path) and points *name at its last component. */
static int
open_parent(struct unpack *u, const char *path, const char **name, struct temper_err *err)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash != NULL ? (size_t)(slash - path) : 0;

    *name = slash != NULL ? slash + 1 : path;
    return pkg_root_open_dir(u->root, path, len, u->package, path, err);
}

static int
over_bytes(struct unpack *u, const char *path, uint64_t more, struct temper_err *err)
{
    if (u->bytes + more > (uint64_t)PKG_DEB_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "'%s': the package unpacks to over %lld GiB (PKG_DEB_MAX_BYTES)",
                              show(u, 0, path), PKG_DEB_MAX_BYTES >> 30);
    if (u->root->bytes + more > (uint64_t)PKG_ROOT_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "'%s': the root's packages unpack to over %lld GiB together "
                              "(PKG_ROOT_MAX_BYTES)",
                              show(u, 0, path), PKG_ROOT_MAX_BYTES >> 30);
    return 0;
}

/* Reads the entry's contents, hashing them, and writes them to fd (when not -1). */
static int
read_contents(struct unpack *u, struct archive *tar, const char *path, int fd, uint64_t *size,
              char digest[SHA256_DIGEST_STR_LEN], struct temper_err *err)
{
    struct sha256 h;
    la_ssize_t n;

    *size = 0;
    sha256_init(&h);
    while ((n = archive_read_data(tar, u->buf, IO_CHUNK)) > 0) {
        if (over_bytes(u, path, (uint64_t)n, err) < 0) {
            sha256_release(&h);
            return -1;
        }
        u->bytes += (uint64_t)n;
        u->root->bytes += (uint64_t)n;
        *size += (uint64_t)n;
        sha256_update(&h, u->buf, (size_t)n);
        if (fd >= 0 && pkg_write_all(fd, u->buf, (size_t)n) < 0) {
            sha256_release(&h);
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot write '%s'", show(u, 0, path));
        }
    }
    if (n < 0) {
        const char *why = archive_error_string(tar);

        sha256_release(&h);
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': %s", show(u, 0, path),
                              show(u, 1, why != NULL ? why : "cannot read the contents"));
    }
    sha256_final(&h, digest);
    return 0;
}

static int
put_dir(struct unpack *u, const char *path, mode_t mode, struct pkg_node **out,
        struct temper_err *err)
{
    struct pkg_node *node = pkg_root_node(u->root, path);
    cleanup_close int dirfd = -1;
    const char *name;

    if (node != NULL && node->type != PKG_NODE_DIR)
        return conflict_type(u, path, node, PKG_NODE_DIR, err);
    /* Directories shipped by several packages are the rule (usr/share/doc): the first mode
     * stays, unless the first was only made for the entries under it. */
    if (node != NULL && !node->implied) {
        *out = node;
        return 0;
    }
    dirfd = open_parent(u, path, &name, err);
    if (dirfd < 0)
        return -1;
    if (node != NULL) {
        if (pkg_chmod_dir(dirfd, name, mode | S_IRWXU) < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot set the mode of '%s'",
                                  show(u, 0, path));
    } else {
        if (pkg_make_dir(dirfd, name, mode) < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make directory '%s'",
                                  show(u, 0, path));
        node = pkg_root_record(u->root, path, u->package, PKG_NODE_DIR);
    }
    node->implied = false;
    node->mode = mode;
    *out = node;
    return 0;
}

/* Whether an entry with this size, digest and mode is the file `node` records. */
static int
check_same_file(struct unpack *u, const char *path, const struct pkg_node *node, uint64_t size,
                const char *digest, mode_t mode, struct temper_err *err)
{
    char how[256];

    if (size != node->size || strcmp(digest, node->sha256) != 0) {
        snprintf(how, sizeof(how), "with other content (%s and %s)", node->sha256, digest);
        return conflict(u, path, node, how, err);
    }
    if (mode != node->mode) {
        snprintf(how, sizeof(how), "with other modes (%04o and %04o)", (unsigned)node->mode,
                 (unsigned)mode);
        return conflict(u, path, node, how, err);
    }
    return 0;
}

static int
put_file(struct unpack *u, struct archive *tar, const char *path, mode_t mode,
         struct pkg_node **out, struct temper_err *err)
{
    struct pkg_node *node = pkg_root_node(u->root, path);
    char digest[SHA256_DIGEST_STR_LEN];
    cleanup_close int dirfd = -1, fd = -1;
    const char *name;
    uint64_t size;

    if (node != NULL) {
        /* Shipped before: only the same bytes may come again, so they are hashed, not
         * written. */
        if (node->type != PKG_NODE_FILE)
            return conflict_type(u, path, node, PKG_NODE_FILE, err);
        if (read_contents(u, tar, path, -1, &size, digest, err) < 0 ||
            check_same_file(u, path, node, size, digest, mode, err) < 0)
            return -1;
        *out = node;
        return 0;
    }
    dirfd = open_parent(u, path, &name, err);
    if (dirfd < 0)
        return -1;
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot create '%s'", show(u, 0, path));
    if (read_contents(u, tar, path, fd, &size, digest, err) < 0)
        return -1;
    if (fchmod(fd, mode) < 0 || close(steal_fd(&fd)) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot write '%s'", show(u, 0, path));
    node = pkg_root_record(u->root, path, u->package, PKG_NODE_FILE);
    node->mode = mode;
    node->size = size;
    memcpy(node->sha256, digest, sizeof(digest));
    *out = node;
    return 0;
}

static int
put_symlink(struct unpack *u, const char *path, const char *target, struct pkg_node **out,
            struct temper_err *err)
{
    struct pkg_node *node = pkg_root_node(u->root, path);
    cleanup_close int dirfd = -1;
    const char *name;

    if (target == NULL || target[0] == '\0')
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' is a symlink with no target",
                              show(u, 0, path));
    if (strlen(target) > PKG_DEB_LINK_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "'%s' is a symlink whose target is over %d bytes "
                              "(PKG_DEB_LINK_MAX_BYTES)",
                              show(u, 0, path), PKG_DEB_LINK_MAX_BYTES);
    if (node != NULL) {
        char how[96];

        if (node->type != PKG_NODE_SYMLINK)
            return conflict_type(u, path, node, PKG_NODE_SYMLINK, err);
        if (strcmp(node->target, target) != 0) {
            snprintf(how, sizeof(how), "as symlinks to other targets");
            return conflict(u, path, node, how, err);
        }
        *out = node;
        return 0;
    }
    dirfd = open_parent(u, path, &name, err);
    if (dirfd < 0)
        return -1;
    /* The target is text: it is stored, never resolved, and no later entry goes through it. */
    if (symlinkat(target, dirfd, name) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make symlink '%s'",
                              show(u, 0, path));
    node = pkg_root_record(u->root, path, u->package, PKG_NODE_SYMLINK);
    node->mode = 0777;
    node->target = xstrdup(target);
    *out = node;
    return 0;
}

static int
put_hardlink(struct unpack *u, const char *path, const char *raw_target, struct pkg_node **out,
             struct temper_err *err)
{
    char target[TEMPER_PATH_MAX];
    struct pkg_node *to, *node;
    cleanup_close int from_dir = -1, to_dir = -1;
    const char *from_name, *to_name;
    size_t top_len;

    if (entry_path(u, raw_target, false, target, &top_len, err) < 0)
        return temper_err_prefix(err, "hard link '%s'", show(u, 1, path));
    to = strmap_get(&u->own, target);
    if (to == NULL || to->type != PKG_NODE_FILE)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' is a hard link to '%s', which is not a file of the package "
                              "before it",
                              show(u, 0, path), show(u, 1, raw_target));
    node = pkg_root_node(u->root, path);
    if (node != NULL) {
        if (node->type != PKG_NODE_FILE)
            return conflict_type(u, path, node, PKG_NODE_FILE, err);
        if (check_same_file(u, path, node, to->size, to->sha256, to->mode, err) < 0)
            return -1;
        *out = node;
        return 0;
    }
    to_dir = open_parent(u, target, &to_name, err);
    if (to_dir < 0)
        return -1;
    from_dir = open_parent(u, path, &from_name, err);
    if (from_dir < 0)
        return -1;
    /* No AT_SYMLINK_FOLLOW: the link is to the name itself, a file this package made. */
    if (linkat(to_dir, to_name, from_dir, from_name, 0) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot link '%s' to '%s'", show(u, 0, path),
                              show(u, 1, target));
    node = pkg_root_record(u->root, path, u->package, PKG_NODE_FILE);
    node->mode = to->mode;
    node->size = to->size;
    memcpy(node->sha256, to->sha256, sizeof(node->sha256));
    *out = node;
    return 0;
}

/* An entry's permission bits as the root gets them: no setuid or setgid, sticky on directories
 * only. Owners are not applied: the build normalises them. */
static mode_t
entry_mode(struct archive_entry *ae, bool is_dir)
{
    mode_t perm = archive_entry_perm(ae);

    return perm & (is_dir ? 01777 : 0777);
}

static int
unpack_entry(struct unpack *u, struct archive *tar, struct archive_entry *ae,
             struct temper_err *err)
{
    const char *raw = archive_entry_pathname(ae), *hardlink = archive_entry_hardlink(ae);
    mode_t type = archive_entry_filetype(ae);
    char path[TEMPER_PATH_MAX];
    struct pkg_node *node = NULL;
    bool top_link;
    size_t top_len;
    int rc;

    if (raw == NULL || raw[0] == '\0')
        return temper_err_set(err, TEMPER_E_PARSE, 0, "entry %zu has no path", u->entries);
    top_link = hardlink == NULL && type == AE_IFLNK;
    if (entry_path(u, raw, top_link, path, &top_len, err) < 0)
        return -1;
    if (path[0] == '\0')
        return 0; /* "./", the root itself, which pkg_root_new made */
    if (hardlink == NULL &&
        (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK)) {
        /* Device nodes mean nothing in an image and FIFOs and sockets are made at run time:
         * never made, only counted (pkg_root_skipped). */
        u->root->skipped++;
        return 0;
    }
    if (archive_entry_size_is_set(ae) && archive_entry_size(ae) > 0 &&
        over_bytes(u, path, (uint64_t)archive_entry_size(ae), err) < 0)
        return -1;
    if (top_len > 0) {
        char top[16];

        /* "lib" (or "lib/"): the merged directory itself, which only a directory may be. */
        if (strchr(path + 4, '/') == NULL && !(hardlink == NULL && type == AE_IFDIR))
            return temper_err_set(err, TEMPER_E_POLICY, 0,
                                  "'%s' is a merged-/usr directory, and is shipped here as "
                                  "something else",
                                  show(u, 0, raw));
        snprintf(top, sizeof(top), "%.*s", (int)top_len, path + 4);
        if (pkg_root_merged_link(u->root, top, u->package, err) < 0)
            return -1;
    } else if (type == AE_IFLNK && hardlink == NULL && pkg_is_merged_top(path, strlen(path))) {
        /* A package may ship the merged-/usr symlink itself (trixie's base-files does): only as
         * debootstrap makes it. */
        char want[16];

        snprintf(want, sizeof(want), "usr/%.8s", path);
        if (strcmp(archive_entry_symlink(ae) ? archive_entry_symlink(ae) : "", want) != 0)
            return temper_err_set(err, TEMPER_E_POLICY, 0,
                                  "'%s' is a merged-/usr symlink and must point to '%s'", path,
                                  want);
    }
    if (hardlink != NULL)
        rc = put_hardlink(u, path, hardlink, &node, err);
    else if (type == AE_IFDIR)
        rc = put_dir(u, path, entry_mode(ae, true), &node, err);
    else if (type == AE_IFREG)
        rc = put_file(u, tar, path, entry_mode(ae, false), &node, err);
    else if (type == AE_IFLNK)
        rc = put_symlink(u, path, archive_entry_symlink(ae), &node, err);
    else
        rc = temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' has an entry type temper does not know",
                            show(u, 0, raw));
    if (rc < 0)
        return -1;
    strmap_put(&u->own, path, node);
    return 0;
}

/* ---- data.tar ---- */

/* The tar reader's input: the data.tar member's bytes, as the ar reader gives them. */
static la_ssize_t
member_read(struct archive *tar, void *arg, const void **out)
{
    struct unpack *u = arg;
    la_ssize_t n = archive_read_data(u->deb, u->member_buf, IO_CHUNK);

    if (n < 0) {
        const char *why = archive_error_string(u->deb);

        archive_set_error(tar, EINVAL, "%s", why != NULL ? why : "cannot read the .deb");
        return -1;
    }
    *out = u->member_buf;
    return n;
}

static int
tar_failed(struct unpack *u, struct archive *tar, struct temper_err *err)
{
    const char *why = archive_error_string(tar);

    return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': entry %zu: %s", u->member, u->entries,
                          show(u, 1, why != NULL ? why : "cannot read"));
}

static int
read_entries(struct unpack *u, struct archive *tar, const struct codec *codec,
             struct temper_err *err)
{
    struct archive_entry *ae;

    if (archive_read_open(tar, u, NULL, member_read, NULL) != ARCHIVE_OK)
        return tar_failed(u, tar, err);
    /* Only the filter the name says was offered; a stream it does not fit is read as it is, and
     * must not pass for it. */
    if (archive_filter_code(tar, 0) != codec->filter)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' is not %s", u->member, codec->what);
    for (;;) {
        int rc = archive_read_next_header(tar, &ae);

        if (rc == ARCHIVE_EOF)
            return 0;
        u->entries++;
        /* A warning here is a name libarchive could not convert: not the name shipped. */
        if (rc != ARCHIVE_OK)
            return tar_failed(u, tar, err);
        if (u->entries > PKG_DEB_MAX_ENTRIES)
            return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                  "'%s' has over %d entries (PKG_DEB_MAX_ENTRIES)", u->member,
                                  PKG_DEB_MAX_ENTRIES);
        /* The tar stream itself, headers and padding included, counts against the cap. */
        if (archive_filter_bytes(tar, 0) > PKG_DEB_MAX_BYTES)
            return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                  "'%s' expands to over %lld GiB (PKG_DEB_MAX_BYTES)", u->member,
                                  PKG_DEB_MAX_BYTES >> 30);
        if (unpack_entry(u, tar, ae, err) < 0)
            return -1;
    }
}

static int
unpack_data(struct unpack *u, const struct codec *codec, struct temper_err *err)
{
    struct archive *tar = archive_read_new();
    int rc;

    if (tar == NULL)
        abort();
    if (archive_read_support_format_tar(tar) != ARCHIVE_OK ||
        (codec->support != NULL && codec->support(tar) != ARCHIVE_OK)) {
        rc = temper_err_set(err, TEMPER_E_IO, 0, "libarchive cannot read '%s': %s", u->member,
                            archive_error_string(tar));
    } else {
        rc = read_entries(u, tar, codec, err);
    }
    archive_read_free(tar);
    return rc;
}

/* ---- control.tar ---- */

/* A member of control.tar ("./control" or "control"): its contents, at most
 * PKG_DEB_CONTROL_MAX_BYTES, NUL-terminated. */
static int
read_small(struct unpack *u, struct archive *tar, const char *name, char **out,
           struct temper_err *err)
{
    cleanup_free char *buf = NULL;
    size_t done = 0, size = 0;

    for (;;) {
        la_ssize_t n;

        if (done == size) {
            if (size > PKG_DEB_CONTROL_MAX_BYTES)
                return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                      "'%s' in '%s' is over %d MiB (PKG_DEB_CONTROL_MAX_BYTES)",
                                      name, u->member, PKG_DEB_CONTROL_MAX_BYTES >> 20);
            size = size != 0 ? 2 * size : 64 * 1024;
            buf = xreallocarray(buf, size + 1, 1);
        }
        n = archive_read_data(tar, buf + done, size - done);
        if (n < 0)
            return tar_failed(u, tar, err);
        if (n == 0)
            break;
        done += (size_t)n;
    }
    if (done > PKG_DEB_CONTROL_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "'%s' in '%s' is over %d MiB (PKG_DEB_CONTROL_MAX_BYTES)", name,
                              u->member, PKG_DEB_CONTROL_MAX_BYTES >> 20);
    buf[done] = '\0';
    if (memchr(buf, '\0', done) != NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' in '%s' holds a NUL byte", name,
                              u->member);
    free(*out); /* a second entry of the same name: the last one counts, as in dpkg */
    *out = steal_pointer(&buf);
    return 0;
}

struct control_check {
    const char *package;
    bool named, has_arch;
    size_t stanzas;
};

static int
check_control_stanza(const struct pkg_stanza *st, void *arg, struct temper_err *err)
{
    struct control_check *c = arg;
    const struct pkg_field *f = pkg_stanza_field(st, "Package");
    const struct pkg_field *a = pkg_stanza_field(st, "Architecture");
    char arch[40];

    (void)err;
    c->stanzas++;
    c->named = f != NULL && f->value_len == strlen(c->package) &&
               memcmp(f->value, c->package, f->value_len) == 0;
    c->has_arch = a != NULL && a->value_len < sizeof(arch);
    if (c->has_arch) {
        memcpy(arch, a->value, a->value_len);
        arch[a->value_len] = '\0';
        c->has_arch = pkg_is_arch_name(arch);
    }
    return 0;
}

/* The control file must be one stanza naming the package the lock says this .deb is, and an
 * architecture dpkg takes (its info files are named after it). */
static int
check_control(struct unpack *u, const char *control, struct temper_err *err)
{
    struct control_check c = {.package = u->package};

    if (pkg_control_parse(control, strlen(control), check_control_stanza, &c, err) < 0)
        return temper_err_prefix(err, "the control file");
    if (c.stanzas != 1 || !c.named || !c.has_arch)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "the control file is not one stanza with 'Package: %s' and an "
                              "Architecture dpkg takes",
                              u->package);
    return 0;
}

/* Reads control.tar's control and md5sums files into the package's record. */
static int
read_control(struct unpack *u, const struct codec *codec, struct temper_err *err)
{
    struct archive *tar = archive_read_new();
    struct pkg_meta *meta = xcalloc(1, sizeof(*meta));
    struct archive_entry *ae;
    size_t entries = 0;
    int rc = 0;

    if (tar == NULL)
        abort();
    if (archive_read_support_format_tar(tar) != ARCHIVE_OK ||
        (codec->support != NULL && codec->support(tar) != ARCHIVE_OK))
        rc = temper_err_set(err, TEMPER_E_IO, 0, "libarchive cannot read '%s': %s", u->member,
                            archive_error_string(tar));
    else if (archive_read_open(tar, u, NULL, member_read, NULL) != ARCHIVE_OK)
        rc = tar_failed(u, tar, err);
    else if (archive_filter_code(tar, 0) != codec->filter)
        rc = temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' is not %s", u->member, codec->what);
    while (rc == 0) {
        const char *name;
        int r = archive_read_next_header(tar, &ae);

        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK || ++entries > PKG_DEB_MEMBERS_MAX * 64) {
            rc = r != ARCHIVE_OK ? tar_failed(u, tar, err)
                                 : temper_err_set(err, TEMPER_E_LIMIT, 0,
                                                  "'%s' has too many entries", u->member);
            break;
        }
        name = archive_entry_pathname(ae) != NULL ? archive_entry_pathname(ae) : "";
        if (strncmp(name, "./", 2) == 0)
            name += 2;
        if (archive_entry_filetype(ae) != AE_IFREG)
            continue;
        if (strcmp(name, "control") == 0)
            rc = read_small(u, tar, "control", &meta->control, err);
        else if (strcmp(name, "md5sums") == 0)
            rc = read_small(u, tar, "md5sums", &meta->md5sums, err);
    }
    archive_read_free(tar);
    if (rc == 0 && meta->control == NULL)
        rc = temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' has no control file", u->member);
    if (rc == 0)
        rc = check_control(u, meta->control, err);
    if (rc < 0) {
        free(meta->control);
        free(meta->md5sums);
        free(meta);
        return -1;
    }
    pkg_root_set_meta(u->root, u->package, meta);
    return 0;
}

/* ---- the ar archive ---- */

/* debian-binary: "<major>.<minor>\n", perhaps more lines (deb(5)); major 2, as dpkg demands. */
static int
check_binary(struct unpack *u, struct archive_entry *ae, struct temper_err *err)
{
    char text[PKG_DEB_BINARY_MAX_BYTES + 1], shown[32];
    la_int64_t size = archive_entry_size(ae);
    size_t len = 0, major = 0, at = 0;
    la_ssize_t n = 0;

    if (size > PKG_DEB_BINARY_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "'debian-binary' is over %d bytes (PKG_DEB_BINARY_MAX_BYTES)",
                              PKG_DEB_BINARY_MAX_BYTES);
    while (len < sizeof(text) - 1 &&
           (n = archive_read_data(u->deb, text + len, sizeof(text) - 1 - len)) > 0)
        len += (size_t)n;
    if (n < 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'debian-binary': %s",
                              show(u, 1, archive_error_string(u->deb)));
    text[len] = '\0';
    while (at < len && text[at] >= '0' && text[at] <= '9' && at < 4)
        major = major * 10 + (size_t)(text[at++] - '0');
    if (at == 0 || text[at] != '.' || text[at + 1] < '0' || text[at + 1] > '9')
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'debian-binary' holds '%s', not a format version",
                              temper_printable(text, shown, sizeof(shown)));
    at++;
    while (text[at] >= '0' && text[at] <= '9')
        at++;
    if (text[at] != '\n' || strlen(text) != len)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'debian-binary' holds '%s', not a format version and a newline",
                              temper_printable(text, shown, sizeof(shown)));
    if (major != 2)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'debian-binary' says format %zu; temper reads format 2 (2.x)",
                              major);
    return 0;
}

static int
skip_member(struct unpack *u, const char *name, struct archive_entry *ae, struct temper_err *err)
{
    if (archive_entry_size(ae) > PKG_DEB_SKIP_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "member '%s' is over %ld MiB (PKG_DEB_SKIP_MAX_BYTES)",
                              show(u, 0, name), PKG_DEB_SKIP_MAX_BYTES >> 20);
    if (archive_read_data_skip(u->deb) != ARCHIVE_OK)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "member '%s': %s", show(u, 0, name),
                              show(u, 1, archive_error_string(u->deb)));
    return 0;
}

static int
member_codec(struct unpack *u, const char *name, const char *base, const struct codec **out,
             struct temper_err *err)
{
    const struct codec *codec = find_codec(name + strlen(base));

    if (codec == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "member '%s': temper reads %s, %s.gz, %s.xz or %s.zst",
                              show(u, 0, name), base, base, base, base);
    *out = codec;
    return 0;
}

enum deb_state { WANT_BINARY, WANT_CONTROL, WANT_DATA, AFTER_DATA };

/* One member of the ar archive, in the order deb(5) sets. */
static int
read_member(struct unpack *u, struct archive_entry *ae, enum deb_state *state,
            struct temper_err *err)
{
    const char *name = archive_entry_pathname(ae) ? archive_entry_pathname(ae) : "";
    const struct codec *codec = NULL;

    if (*state == WANT_BINARY) {
        if (strcmp(name, "debian-binary") != 0)
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "not a Debian package: its first member is '%s', not "
                                  "'debian-binary'",
                                  show(u, 0, name));
        *state = WANT_CONTROL;
        return check_binary(u, ae, err);
    }
    if (*state == WANT_CONTROL && has_prefix(name, "control.tar")) {
        *state = WANT_DATA;
        if (member_codec(u, name, "control.tar", &codec, err) < 0)
            return -1;
        if (archive_entry_size(ae) > PKG_DEB_SKIP_MAX_BYTES)
            return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                  "member '%s' is over %ld MiB (PKG_DEB_SKIP_MAX_BYTES)",
                                  show(u, 0, name), PKG_DEB_SKIP_MAX_BYTES >> 20);
        u->member = name;
        return read_control(u, codec, err);
    }
    if (*state == WANT_DATA && has_prefix(name, "data.tar")) {
        *state = AFTER_DATA;
        if (member_codec(u, name, "data.tar", &codec, err) < 0)
            return -1;
        u->member = name;
        return unpack_data(u, codec, err);
    }
    if (has_prefix(name, "control.tar") || has_prefix(name, "data.tar"))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "member '%s' is out of place (%s)",
                              show(u, 0, name),
                              *state == AFTER_DATA     ? "a second one, after data.tar"
                              : *state == WANT_CONTROL ? "before control.tar"
                                                       : "a second control.tar");
    /* Members whose names start with '_' are extensions older readers must skip (deb(5)); dpkg
     * ignores whatever follows data.tar. Anything else before it is a member dpkg refuses. */
    if (name[0] == '_' || *state == AFTER_DATA)
        return skip_member(u, name, ae, err);
    return temper_err_set(err, TEMPER_E_PARSE, 0,
                          "unknown member '%s' before data.tar (only '_' members may be skipped)",
                          show(u, 0, name));
}

static int
read_deb(struct unpack *u, int fd, struct temper_err *err)
{
    enum deb_state state = WANT_BINARY;
    struct archive_entry *ae;
    size_t members = 0;
    int rc;

    /* A .deb is a plain ar archive: no filter, no other format. */
    if (archive_read_support_format_ar(u->deb) != ARCHIVE_OK)
        return temper_err_set(err, TEMPER_E_IO, 0, "libarchive cannot read ar archives");
    if (archive_read_open_fd(u->deb, fd, IO_CHUNK) != ARCHIVE_OK)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "not a Debian package: %s",
                              show(u, 1, archive_error_string(u->deb)));
    while ((rc = archive_read_next_header(u->deb, &ae)) == ARCHIVE_OK) {
        if (++members > PKG_DEB_MEMBERS_MAX)
            return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                  "over %d members in the ar archive (PKG_DEB_MEMBERS_MAX)",
                                  PKG_DEB_MEMBERS_MAX);
        if (read_member(u, ae, &state, err) < 0)
            return -1;
    }
    if (rc != ARCHIVE_EOF)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "not a valid ar archive (truncated?): %s",
                              show(u, 1, archive_error_string(u->deb)));
    if (state != AFTER_DATA)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "no %s member",
                              state == WANT_BINARY    ? "debian-binary"
                              : state == WANT_CONTROL ? "control.tar"
                                                      : "data.tar");
    return 0;
}

int
pkg_root_unpack(struct pkg_root *root, int fd, const char *package, struct temper_err *err)
{
    struct unpack u = {.root = root};
    locale_t utf8, saved = (locale_t)0;
    int rc;

    if (root->broken)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "package '%s': the root is incomplete after an earlier error",
                              package);
    u.package = pkg_root_intern(root, package);
    u.deb = archive_read_new();
    if (u.deb == NULL)
        abort();
    u.buf = xmalloc(IO_CHUNK);
    u.member_buf = xmalloc(IO_CHUNK);
    strmap_init(&u.own);
    utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (utf8 != (locale_t)0)
        saved = uselocale(utf8);
    rc = read_deb(&u, fd, err);
    if (utf8 != (locale_t)0) {
        uselocale(saved);
        freelocale(utf8);
    }
    archive_read_free(u.deb);
    strmap_release(&u.own, NULL);
    free(u.buf);
    free(u.member_buf);
    if (rc < 0) {
        /* Some of the package may be on disk: the root is not a root of these packages. */
        root->broken = true;
        return temper_err_prefix(err, "package '%s'", package);
    }
    return 0;
}
