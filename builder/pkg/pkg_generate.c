/*
 * What maintainer scripts would have made, as far as the shipped recipes
 * need it, made from the packages' own files and never by running them.
 *
 * What Debian 12's scripts make, for the packages the recipes take from
 * (static.yaml, base.yaml, python.yaml), and what temper does about it:
 *
 * - ca-certificates: its postinst writes /etc/ca-certificates.conf (every
 *   .crt under /usr/share/ca-certificates, debconf trusting new ones by
 *   default) and runs update-ca-certificates, which concatenates them in
 *   that file's order into /etc/ssl/certs/ca-certificates.crt, adding a
 *   newline to one that lacks it, and makes a .pem symlink and a hash
 *   symlink in /etc/ssl/certs for each. static.yaml takes the bundle (SSL_CERT_FILE points at
 *   it): made here. The per-certificate symlinks (for SSL_CERT_DIR) are
 *   not: no recipe takes them.
 * - tzdata: the postinst makes /etc/localtime and /etc/timezone from
 *   debconf (Etc/UTC by default). The package ships the zone files and the
 *   usr/share/zoneinfo/localtime -> /etc/localtime symlink, which
 *   static.yaml excludes; without /etc/localtime glibc and Go use UTC,
 *   which is what an image wants. Nothing made.
 * - python3-minimal ships /usr/bin/python3 -> python3.11 as a plain symlink
 *   (no alternatives); python3.11-minimal's postinst byte-compiles the
 *   standard library (python.yaml excludes __pycache__ and *.pyc) and makes
 *   /usr/local/lib/python3.11/dist-packages (not in the recipe). Nothing.
 * - libc6 and libc-bin: the ldconfig trigger makes /etc/ld.so.cache. The
 *   loader falls back to its built-in directories without it (Debian's
 *   include the multiarch ones), and temper's resolver reads directories,
 *   not the cache. /etc/ld.so.conf is libc-bin's, absent without it, as
 *   ldconfig allows. /lib64/ld-linux-x86-64.so.2, which base.yaml names, is
 *   shipped by libc6 (usr/lib64 here, through the merged-/usr symlink).
 * - base-passwd and base-files: the postinsts copy /etc/passwd, /etc/group
 *   and /etc/profile from templates and make /root/.profile, /var/run and
 *   /var/lock symlinks, /mnt, /srv and the like. The recipes' `accounts`
 *   make the account files; the rest no recipe takes. Nothing made.
 * - debootstrap's merged-/usr symlinks (bin -> usr/bin ...): made while
 *   unpacking, the first time one is needed (pkg_deb.c).
 *
 * Last, directories shipped without owner read, write or search permission
 * get their mode here: unpacking kept u+rwx on every directory so that later
 * packages could write into it when temper does not run as root.
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
#include "base/sha256.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

#define CERTS_DIR "usr/share/ca-certificates/"
#define CERTS_MOZILLA "usr/share/ca-certificates/mozilla"
#define BUNDLE_DIR "etc/ssl/certs"
#define BUNDLE_NAME "ca-certificates.crt"
#define IO_CHUNK (64 * 1024)

static bool
is_certificate(const char *path, const struct pkg_node *node)
{
    size_t len = strlen(path);

    /* update-ca-certificates takes what find -type f finds: directories named *.crt are not
     * certificates. */
    return node->type != PKG_NODE_DIR && strncmp(path, CERTS_DIR, strlen(CERTS_DIR)) == 0 &&
           len > 4 && strcmp(path + len - 4, ".crt") == 0;
}

/* Appends the certificate at `path` (a file in the root) to the bundle open on `out`. */
static int
append_certificate(struct pkg_root *root, const char *path, int out, struct sha256 *h,
                   uint64_t *size, unsigned char *buf, struct temper_err *err)
{
    const char *slash = strrchr(path, '/');
    cleanup_close int dirfd = -1, fd = -1;
    unsigned char last = '\n';
    ssize_t n;

    dirfd = pkg_root_open_dir(root, path, (size_t)(slash - path), PKG_GENERATED, path, err);
    if (dirfd < 0)
        return -1;
    /* O_NONBLOCK: should the tree change behind temper, a FIFO there cannot hang it. */
    fd = openat(dirfd, slash + 1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open '%s'", path);
    while ((n = read(fd, buf, IO_CHUNK)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || pkg_write_all(out, buf, (size_t)n) < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot copy '%s' into the bundle",
                                  path);
        sha256_update(h, buf, (size_t)n);
        *size += (uint64_t)n;
        last = buf[n - 1];
    }
    /* update-ca-certificates: sed -e '$a\' "$CERT", a newline after a last line without one. */
    if (last != '\n') {
        if (pkg_write_all(out, "\n", 1) < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot write the bundle");
        sha256_update(h, "\n", 1);
        (*size)++;
    }
    return 0;
}

static int
write_bundle(struct pkg_root *root, const char **certs, size_t n, struct temper_err *err)
{
    cleanup_close int dirfd = -1, fd = -1;
    cleanup_free unsigned char *buf = NULL;
    struct pkg_node *node;
    struct sha256 h;
    uint64_t size = 0;
    int rc = 0;

    dirfd = pkg_root_open_dir(root, BUNDLE_DIR, strlen(BUNDLE_DIR), PKG_GENERATED,
                              BUNDLE_DIR "/" BUNDLE_NAME, err);
    if (dirfd < 0)
        return -1;
    fd = openat(dirfd, BUNDLE_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot create '%s/%s'", BUNDLE_DIR,
                              BUNDLE_NAME);
    buf = xmalloc(IO_CHUNK);
    sha256_init(&h);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = append_certificate(root, certs[i], fd, &h, &size, buf, err);
    if (rc < 0) {
        sha256_release(&h);
        return -1;
    }
    if (fchmod(fd, 0644) < 0 || close(steal_fd(&fd)) < 0) {
        sha256_release(&h);
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot write '%s/%s'", BUNDLE_DIR,
                              BUNDLE_NAME);
    }
    node = pkg_root_record(root, BUNDLE_DIR "/" BUNDLE_NAME, PKG_GENERATED, PKG_NODE_FILE);
    node->mode = 0644;
    node->size = size;
    sha256_final(&h, node->sha256);
    return 0;
}

/* /etc/ssl/certs/ca-certificates.crt, as update-ca-certificates writes it with the
 * /etc/ca-certificates.conf that debconf writes at install (every certificate trusted). */
static int
make_ca_bundle(struct pkg_root *root, struct temper_err *err)
{
    const struct pkg_node *mozilla = pkg_root_node(root, CERTS_MOZILLA);
    const struct pkg_node *there = pkg_root_node(root, BUNDLE_DIR "/" BUNDLE_NAME);
    cleanup_free const char **certs = NULL;
    size_t n;

    if (mozilla == NULL || mozilla->type != PKG_NODE_DIR)
        return 0;
    if (there != NULL)
        return temper_err_set(err, TEMPER_E_POLICY, 0,
                              "'%s/%s' is already there (made by '%s'): it is generated from "
                              "usr/share/ca-certificates",
                              BUNDLE_DIR, BUNDLE_NAME, there->package);
    certs = pkg_root_paths(root, is_certificate, &n);
    for (size_t i = 0; i < n; i++) {
        const struct pkg_node *node = pkg_root_node(root, certs[i]);
        char shown[160];

        /* The bundle is read from regular files only: never through a symlink a package made. */
        if (node->type != PKG_NODE_FILE)
            return temper_err_set(err, TEMPER_E_POLICY, 0,
                                  "'%s' (shipped by '%s') is a symlink, not a certificate file",
                                  temper_printable(certs[i], shown, sizeof(shown)), node->package);
    }
    return write_bundle(root, certs, n, err);
}

static bool
is_narrowed_dir(const char *path, const struct pkg_node *node)
{
    (void)path;
    return node->type == PKG_NODE_DIR && (node->mode & S_IRWXU) != S_IRWXU;
}

/* Gives directories shipped without u+rwx their own mode, children before their parents. */
static int
narrow_dirs(struct pkg_root *root, struct temper_err *err)
{
    size_t n;
    cleanup_free const char **dirs = pkg_root_paths(root, is_narrowed_dir, &n);

    for (size_t i = n; i-- > 0;) {
        const char *slash = strrchr(dirs[i], '/');
        size_t len = slash != NULL ? (size_t)(slash - dirs[i]) : 0;
        cleanup_close int dirfd =
            pkg_root_open_dir(root, dirs[i], len, PKG_GENERATED, dirs[i], err);

        if (dirfd < 0)
            return -1;
        if (pkg_chmod_dir(dirfd, slash != NULL ? slash + 1 : dirs[i],
                          pkg_root_node(root, dirs[i])->mode) < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot set the mode of '%s'", dirs[i]);
    }
    return 0;
}

int
pkg_root_generate(struct pkg_root *root, struct temper_err *err)
{
    if (root->broken)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "the root is incomplete after an earlier error");
    if (make_ca_bundle(root, err) < 0 || narrow_dirs(root, err) < 0) {
        root->broken = true;
        return temper_err_prefix(err, "generating files in '%s'", root->dir);
    }
    return 0;
}
