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
 * - libc6 and libc-bin: the ldconfig trigger makes /etc/ld.so.cache. temper
 *   writes the image's own (rootfs_ldcache.c) from the files the image
 *   holds, and its resolver reads directories, not the cache.
 *   /etc/ld.so.conf is libc-bin's, absent without it, as ldconfig allows.
 *   /lib64/ld-linux-x86-64.so.2, which base.yaml names, is shipped by libc6
 *   (usr/lib64 here, through the merged-/usr symlink).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* Writes `data` into the new file dir/name of the root, recorded as temper's. */
static int
write_generated(struct pkg_root *root, const char *dir, const char *name, const char *data,
                size_t len, struct temper_err *err)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    cleanup_close int dirfd = pkg_root_open_dir(root, dir, strlen(dir), PKG_GENERATED, path, err);
    cleanup_close int fd = -1;
    const struct pkg_node *there = pkg_root_node(root, path);
    struct pkg_node *node;
    struct sha256 h;

    if (dirfd < 0)
        return -1;
    if (there != NULL)
        return temper_err_set(err, TEMPER_E_POLICY, 0,
                              "'%s' is already there (made by '%s'): temper writes it", path,
                              there->package);
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || pkg_write_all(fd, data, len) < 0 || fchmod(fd, 0644) < 0 ||
        close(steal_fd(&fd)) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot write '%s'", path);
    node = pkg_root_record(root, path, PKG_GENERATED, PKG_NODE_FILE);
    node->mode = 0644;
    node->size = len;
    sha256_init(&h);
    sha256_update(&h, data, len);
    sha256_final(&h, node->sha256);
    return 0;
}

/* ---- the dpkg database ---- */

/* One package's part of the database being written. */
struct dpkg_entry {
    const char *name;
    const struct pkg_meta *meta;
    char *stem; /* "<name>", or "<name>:<arch>" for a Multi-Arch: same package, as dpkg names
                 * its info files */
    char *list;
    size_t list_len;
    FILE *list_out;
};

static int
by_entry_name(const void *a, const void *b)
{
    return strcmp(((const struct dpkg_entry *)a)->name, ((const struct dpkg_entry *)b)->name);
}

/* The stanza dpkg keeps in its status file: the control file's fields, with
 * "Status: install ok installed" after Package. */
static int
status_stanza(const struct pkg_stanza *st, void *arg, struct temper_err *err)
{
    FILE *out = arg;

    (void)err;
    for (size_t i = 0; i < st->n; i++) {
        const struct pkg_field *f = &st->fields[i];

        fprintf(out, "%.*s:%s%.*s\n", (int)f->name_len, f->name,
                f->value_len > 0 && f->value[0] == '\n' ? "" : " ", (int)f->value_len, f->value);
        if (f->name_len == 7 && strncasecmp(f->name, "Package", 7) == 0)
            fputs("Status: install ok installed\n", out);
    }
    fputc('\n', out);
    return 0;
}

struct stem_fields {
    char *architecture, *multi_arch;
};

static int
stem_fields(const struct pkg_stanza *st, void *arg, struct temper_err *err)
{
    struct stem_fields *f = arg;
    const struct pkg_field *a = pkg_stanza_field(st, "Architecture");
    const struct pkg_field *m = pkg_stanza_field(st, "Multi-Arch");

    (void)err;
    f->architecture = a != NULL ? xstrndup(a->value, a->value_len) : NULL;
    f->multi_arch = m != NULL ? xstrndup(m->value, m->value_len) : NULL;
    return 0;
}

static int
list_entries(struct pkg_root *root, struct dpkg_entry **out, size_t *n, struct temper_err *err)
{
    struct dpkg_entry *e = xcalloc(root->packages.count + 1, sizeof(*e));

    *n = 0;
    for (size_t i = 0; i < root->packages.cap; i++) {
        const struct strmap_slot *slot = &root->packages.slots[i];

        if (slot->key != NULL && slot->value != NULL)
            e[(*n)++] = (struct dpkg_entry){.name = slot->key, .meta = slot->value};
    }
    qsort(e, *n, sizeof(*e), by_entry_name);
    *out = e;
    for (size_t i = 0; i < *n; i++) {
        struct stem_fields f = {0};
        int rc =
            pkg_control_parse(e[i].meta->control, strlen(e[i].meta->control), stem_fields, &f, err);

        /* pkg_deb.c checked the control file: one stanza, with an architecture */
        if (rc == 0)
            e[i].stem = f.multi_arch != NULL && strcmp(f.multi_arch, "same") == 0
                            ? xasprintf("%s:%s", e[i].name, f.architecture)
                            : xstrdup(e[i].name);
        free(f.architecture);
        free(f.multi_arch);
        if (rc < 0)
            return -1;
        e[i].list_out = open_memstream(&e[i].list, &e[i].list_len);
        if (e[i].list_out == NULL)
            abort();
    }
    return 0;
}

static void
entries_free(struct dpkg_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (e[i].list_out != NULL)
            fclose(e[i].list_out);
        free(e[i].list);
        free(e[i].stem);
    }
    free(e);
}

/* Each package's shipped paths, from the record: its files, symlinks and the directories it
 * shipped itself, in bytewise order, as "/path" lines (merged-/usr form). */
static void
fill_lists(struct pkg_root *root, struct dpkg_entry *e, size_t n)
{
    size_t npaths;
    cleanup_free const char **paths = pkg_root_paths(root, NULL, &npaths);
    struct strmap at;

    strmap_init(&at);
    for (size_t i = 0; i < n; i++)
        strmap_put(&at, e[i].name, (void *)(uintptr_t)(i + 1));
    for (size_t i = 0; i < npaths; i++) {
        const struct pkg_node *node = pkg_root_node(root, paths[i]);
        uintptr_t k = (uintptr_t)strmap_get(&at, node->package);

        if (k != 0 && !(node->type == PKG_NODE_DIR && node->implied))
            fprintf(e[k - 1].list_out, "/%s\n", paths[i]);
    }
    strmap_release(&at, NULL);
    for (size_t i = 0; i < n; i++) {
        fclose(e[i].list_out);
        e[i].list_out = NULL;
    }
}

#define DPKG_DIR "var/lib/dpkg"

/*
 * var/lib/dpkg as dpkg would leave it: status (every package's control fields, installed),
 * info/<stem>.list (the paths it shipped) and info/<stem>.md5sums (its own). What scanners read
 * of a root, and what says which package shipped each file of an image (rootfs_dpkg.c reads it
 * as it reads any root's).
 */
static int
make_dpkg_database(struct pkg_root *root, struct temper_err *err)
{
    struct dpkg_entry *e = NULL;
    size_t n = 0, status_len = 0;
    cleanup_free char *status = NULL;
    FILE *out;
    int rc = list_entries(root, &e, &n, err);

    if (rc == 0) {
        out = open_memstream(&status, &status_len);
        if (out == NULL)
            abort();
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = pkg_control_parse(e[i].meta->control, strlen(e[i].meta->control), status_stanza,
                                   out, err);
        if (fclose(out) != 0)
            abort();
    }
    if (rc == 0) {
        fill_lists(root, e, n);
        rc = write_generated(root, DPKG_DIR, "status", status, status_len, err);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        cleanup_free char *list = xasprintf("%s.list", e[i].stem);
        cleanup_free char *md5sums = xasprintf("%s.md5sums", e[i].stem);
        const char *sums = e[i].meta->md5sums;

        rc = write_generated(root, DPKG_DIR "/info", list, e[i].list, e[i].list_len, err);
        if (rc == 0 && sums != NULL)
            rc = write_generated(root, DPKG_DIR "/info", md5sums, sums, strlen(sums), err);
    }
    entries_free(e, n);
    return rc;
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
    if (make_ca_bundle(root, err) < 0 || make_dpkg_database(root, err) < 0 ||
        narrow_dirs(root, err) < 0) {
        root->broken = true;
        return temper_err_prefix(err, "generating files in '%s'", root->dir);
    }
    return 0;
}
