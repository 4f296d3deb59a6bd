/*
 * An image's tree in a private directory: made from its layers with libarchive's disk writer
 * and its secure-extraction checks, each layer hashed as it is read (sandbox.h).
 */
#define _GNU_SOURCE /* nftw */
#include "sandbox.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/sha256.h"
#include "base/xalloc.h"

#define READ_BYTES (256 * 1024)

struct sandbox_tree {
    char *dir;
};

int
sandbox_tree_new(struct sandbox_tree **out, struct temper_err *err)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = xasprintf("%s/temper-run-XXXXXX", tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");

    if (mkdtemp(dir) == NULL) {
        temper_err_sys(err, TEMPER_E_IO, errno, "cannot make a directory '%s' for the image's tree",
                       dir);
        free(dir);
        return -1;
    }
    *out = xcalloc(1, sizeof(**out));
    (*out)->dir = dir;
    return 0;
}

const char *
sandbox_tree_dir(const struct sandbox_tree *t)
{
    return t->dir;
}

/* ---- removal: every directory opened to its owner first, then everything depth first ---- */

static int
open_up(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_D && (st->st_mode & 0700) != 0700)
        chmod(path, (st->st_mode & 07777) | 0700);
    return 0;
}

static int
remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0;
}

void
sandbox_tree_free(struct sandbox_tree *t)
{
    if (t == NULL)
        return;
    /* FTW_PHYS: a symlink is removed, never followed; FTW_MOUNT: never leave the tree's fs */
    nftw(t->dir, open_up, 64, FTW_PHYS | FTW_MOUNT);
    nftw(t->dir, remove_one, 64, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
    free(t->dir);
    free(t);
}

/* ---- unpacking ---- */

struct hashed {
    int fd;
    struct sha256 hash;
    int read_errno;
    char buf[READ_BYTES];
};

static la_ssize_t
read_hashed(struct archive *a, void *arg, const void **buf)
{
    struct hashed *h = arg;
    ssize_t n;

    (void)a;
    do
        n = read(h->fd, h->buf, sizeof(h->buf));
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        h->read_errno = errno;
        return -1;
    }
    sha256_update(&h->hash, h->buf, (size_t)n);
    *buf = h->buf;
    return n;
}

static bool
is_layer_type(const char *media_type)
{
    static const char *const types[] = {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
    };

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(media_type, types[i]) == 0)
            return true;
    }
    return false;
}

/* What an image's tree may hold; the reason when an entry is refused. */
static const char *
refusal(struct archive_entry *e)
{
    const char *path = archive_entry_pathname(e), *base;
    mode_t type = archive_entry_filetype(e);

    if (path == NULL)
        return "has no name";
    base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (strncmp(base, ".wh.", 4) == 0)
        return "is a whiteout (temper run takes images whose layers remove nothing)";
    if (archive_entry_hardlink(e) == NULL && type != AE_IFREG && type != AE_IFDIR &&
        type != AE_IFLNK)
        return "is a device, fifo or socket";
    return NULL;
}

static int
copy_data(struct archive *in, struct archive *out)
{
    const void *buf;
    size_t size;
    la_int64_t offset;
    int rc;

    while ((rc = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK) {
        if (archive_write_data_block(out, buf, size, offset) != ARCHIVE_OK)
            return -1;
    }
    return rc == ARCHIVE_EOF ? 0 : -1;
}

static int
entry_failed(struct archive *a, const char *name, struct archive_entry *e, struct temper_err *err)
{
    return temper_err_set(err, TEMPER_E_IO, archive_errno(a), "%s: entry '%s': %s", name,
                          archive_entry_pathname(e), archive_error_string(a));
}

/* The entries of one layer, written under the current directory (the tree). */
static int
extract(struct archive *in, struct archive *out, const char *name, struct temper_err *err)
{
    struct archive_entry *e;
    const char *why;
    int rc;

    while ((rc = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
        if ((why = refusal(e)) != NULL)
            return temper_err_set(err, TEMPER_E_POLICY, 0, "%s: entry '%s' %s", name,
                                  archive_entry_pathname(e) ? archive_entry_pathname(e) : "", why);
        /* No file of the private copy may raise privileges: setuid and setgid dropped. */
        archive_entry_set_perm(e, archive_entry_perm(e) & 01777);
        if (archive_write_header(out, e) != ARCHIVE_OK)
            return entry_failed(out, name, e, err);
        if (archive_entry_size(e) > 0 && copy_data(in, out) < 0)
            return entry_failed(archive_errno(in) != 0 ? in : out, name, e, err);
        if (archive_write_finish_entry(out) != ARCHIVE_OK)
            return entry_failed(out, name, e, err);
    }
    if (rc != ARCHIVE_EOF)
        return temper_err_set(err, TEMPER_E_PARSE, archive_errno(in), "%s: %s", name,
                              archive_error_string(in));
    return 0;
}

/* Mount points bwrap needs in a read-only root: made in the private copy when the image has
 * none (a hardened image may have no /tmp; none has /proc). */
static int
add_mount_points(const struct sandbox_tree *t, struct temper_err *err)
{
    static const char *const dirs[] = {"proc", "dev", "tmp"};
    cleanup_close int dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open '%s'", t->dir);
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (mkdirat(dfd, dirs[i], 0755) < 0 && errno != EEXIST)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make '%s/%s'", t->dir, dirs[i]);
    }
    return 0;
}

int
sandbox_tree_add_layer(struct sandbox_tree *t, int fd, const char *media_type, const char *digest,
                       struct temper_err *err)
{
    /* Not ARCHIVE_EXTRACT_OWNER: every file is the invoking user's, which bwrap maps to the
     * command's uid (it maps that one uid only); the root being read-only, that gives the
     * command no write it would not have had. */
    int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
    struct hashed *h = xcalloc(1, sizeof(*h));
    struct archive *in = archive_read_new(), *out = archive_write_disk_new();
    char name[128], got[SHA256_DIGEST_STR_LEN];
    int cwd = -1, rc = -1;

    if (in == NULL || out == NULL)
        abort(); /* out of memory, as xmalloc */
    snprintf(name, sizeof(name), "layer '%.80s'", digest);
    h->fd = fd;
    sha256_init(&h->hash);
    if (!is_layer_type(media_type)) {
        temper_err_set(err, TEMPER_E_USAGE, 0, "%s has media type '%s', not a layer's", name,
                       media_type);
        goto out;
    }
    archive_read_support_format_tar(in);
    archive_read_support_filter_gzip(in);
    archive_read_support_filter_zstd(in);
    archive_write_disk_set_options(out, flags);
    /* libarchive writes entries relative to the working directory, and its secure checks
     * refuse an absolute prefix: so the tree is the working directory while it unpacks. */
    cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0 || chdir(t->dir) < 0) {
        temper_err_sys(err, TEMPER_E_IO, errno, "cannot enter '%s'", t->dir);
        goto out;
    }
    if (archive_read_open(in, h, NULL, read_hashed, NULL) != ARCHIVE_OK)
        temper_err_set(err, TEMPER_E_PARSE, 0, "%s: %s", name, archive_error_string(in));
    else if (extract(in, out, name, err) == 0)
        rc = 0;
    if (fchdir(cwd) < 0)
        abort(); /* the directory temper ran in is gone from under it */
    if (rc == 0 && h->read_errno != 0)
        rc = temper_err_sys(err, TEMPER_E_IO, h->read_errno, "%s: cannot read it", name);
    /* The bytes after the tar's end count in the digest too. */
    while (rc == 0 && read_hashed(in, h, &(const void *){NULL}) > 0)
        ;
    if (rc == 0 && h->read_errno != 0)
        rc = temper_err_sys(err, TEMPER_E_IO, h->read_errno, "%s: cannot read it", name);
    if (rc == 0) {
        sha256_final(&h->hash, got);
        if (strcmp(got, digest) != 0)
            rc = temper_err_set(err, TEMPER_E_SIG, 0,
                                "%s: its bytes hash to %s: the image is damaged or was changed",
                                name, got);
    }
    if (rc == 0)
        rc = add_mount_points(t, err);
out:
    if (cwd >= 0)
        close(cwd);
    sha256_release(&h->hash);
    archive_read_free(in);
    archive_write_free(out);
    free(h);
    return rc;
}
