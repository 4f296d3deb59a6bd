/*
 * Which package shipped each file of the image, from the root's own dpkg
 * database, and what scanners read to say so: the image gets
 * /var/lib/dpkg/status.d/<package> (the package's control fields, the format
 * distroless writes and trivy, grype and syft read) and <package>.md5sums for
 * every package that ships at least one of its files or symlinks, the root's
 * /etc/os-release and /etc/debian_version, and each such package's
 * /usr/share/doc/<package>/copyright.
 *
 * The database is read inside the root like every other file, and is as
 * hostile as the rest of it: names, architectures and versions must be what
 * dpkg takes, every file has a cap (DPKG_* in limits.h), and a path dpkg
 * lists only names an entry the plan already has, never a file to open.
 *
 * dpkg lists paths as packages ship them ("/lib/x86_64-linux-gnu/libc.so.6")
 * while a merged-/usr root keeps the file under usr/ and the image takes it
 * there: a path whose first component is one of the root's top-level symlinks
 * to a directory (lib -> usr/lib) is read through it. No other directory
 * symlink is followed (Debian's policy forbids shipping files through one).
 * When two packages list one path, the first in the status file's order owns
 * it.
 *
 * A file whose bytes are not what its package installed is counted as no
 * package's and named in a warning. Hashing every file of every image would
 * cost the build a tenth of its time, so only a file written after its
 * package's md5sums was (its mtime is later: dpkg gives a file the time of
 * its package's build, older than the install, and every ordinary write
 * moves it to now) is hashed and compared; a conffile, which an administrator
 * is expected to edit, is always compared. The ctime would also catch a file
 * whose mtime was set back, but it moves with every copy of a root (a
 * container's layers copy files up), so it would hash most of them there.
 *
 * A Debian system's packages list about 140,000 paths in 8 MB of .list files
 * (an image takes a few thousand), so reading the lists and hashing files are
 * shared out to threads; only the main thread touches the plan and the root's
 * caches, and what threads find is merged in the status file's order, so the
 * result does not depend on how many there were.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/escape.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "pkg/pkg.h"
#include "rootfs-internal.h"

#define DPKG_DIR "/var/lib/dpkg"
#define STATUS_D "var/lib/dpkg/status.d"
#define WARNED_MAX 10  /* files named in the warning about changed files; the rest are counted */
#define THREADS_MAX 16 /* threads reading lists and hashing files */
#define TAIL_BYTES 16
#define FILTER_BITS (1u << 16)

struct dpkg_package {
    const char *stanza; /* its text in the status file */
    size_t stanza_len;
    char *name, *architecture, *version, *source, *source_version;
    char *info; /* "/var/lib/dpkg/info/<name>", or "<name>:<arch>" when Multi-Arch: same */
    const struct fs_path *list; /* its .list, or NULL */
    size_t entries;             /* files and symlinks of the image it shipped */
    size_t files;               /* regular files among them */
    size_t index;               /* 1 + its index in plan->packages; 0 until numbered */
};

/* A path a .list names that the image may hold (at: 1 + entry index), or one that may come later
 * (at 0: `path`, copied). */
struct claim {
    uintptr_t at;
    size_t package;
    char *path;
};

/* A file to hash, and what its package says its MD5 is. */
struct md5_check {
    uintptr_t at;
    size_t package;
    const struct fs_path *file;
    char want[33];
    bool differs;
};

struct dpkg_worker {
    struct dpkg *d;
    char *buf; /* the .list being read */
    size_t buf_size;
    struct claim *claims;
    size_t nclaims, cap;
    struct temper_err err;
    int rc;
    pthread_t thread;
};

struct dpkg {
    struct planner *p;
    char *status;
    size_t status_len;
    struct dpkg_package *pkgs;
    size_t n;
    /* The root's top-level symlinks to directories under usr/: "lib" -> "usr/lib". */
    char *alias_from[8], *alias_to[8];
    size_t naliases;
    /* Paths of files added after the lists were read (os-release, copyright files and the
     * symlinks to them), with their packages: dpkg path -> 1 + package index. */
    struct strmap later;
    uint64_t filter[FILTER_BITS / 64]; /* a bitmap of the image's paths, by tail_hash */
    struct md5_check *checks;
    size_t nchecks;
    atomic_size_t next; /* the next item a thread takes */
    char *changed[WARNED_MAX];
    size_t nchanged;
    /* A root that is an unpacked image: status.d instead of status (see read_status_d). */
    bool image;
    char **files; /* the status.d file each part of `status` came from */
    size_t *starts;
    size_t nfiles;
};

static char *
field_dup(const struct pkg_stanza *st, const char *name)
{
    const struct pkg_field *f = pkg_stanza_field(st, name);

    return f != NULL ? xstrndup(f->value, f->value_len) : NULL;
}

/* Whether a Status field ("install ok installed") says the package's files are on disk. */
static bool
has_files(const char *status)
{
    const char *last = status != NULL ? strrchr(status, ' ') : NULL;

    return last != NULL && strcmp(last + 1, "not-installed") != 0 &&
           strcmp(last + 1, "config-files") != 0;
}

static const char *status_d_file(const struct dpkg *d, const char *at);

static int
bad_stanza(const struct dpkg *d, const struct pkg_stanza *st, const char *what, const char *value,
           struct temper_err *err)
{
    char shown[160], where[TEMPER_PATH_MAX + 64];

    if (d->image)
        snprintf(where, sizeof(where), "'" DPKG_DIR "/status.d/%s'",
                 status_d_file(d, st->fields[0].name));
    else
        snprintf(where, sizeof(where), "'" DPKG_DIR "/status' line %zu", st->line);
    return temper_err_set(err, TEMPER_E_PARSE, 0,
                          "%s: %s '%s' is not one dpkg takes; repair the root's dpkg database "
                          "(dpkg --audit), or build from another root",
                          where, what,
                          value != NULL ? temper_printable(value, shown, sizeof(shown)) : "");
}

/* Source: "name" or "name (version)"; without it, the package is its own source. */
static int
split_source(const struct dpkg *d, const struct pkg_stanza *st, struct dpkg_package *pk,
             struct temper_err *err)
{
    cleanup_free char *source = field_dup(st, "Source");
    char *space;

    if (source == NULL) {
        pk->source = xstrdup(pk->name);
        pk->source_version = xstrdup(pk->version);
        return 0;
    }
    space = strchr(source, ' ');
    if (space != NULL) {
        size_t len = strlen(space);

        if (len < 4 || space[1] != '(' || space[len - 1] != ')')
            return bad_stanza(d, st, "Source", source, err);
        pk->source_version = xstrndup(space + 2, len - 3);
        *space = '\0';
    } else {
        pk->source_version = xstrdup(pk->version);
    }
    pk->source = xstrdup(source);
    if (!pkg_is_package_name(pk->source) || !pkg_version_is_valid(pk->source_version))
        return bad_stanza(d, st, "Source", pk->source, err);
    return 0;
}

/* The status.d file the text at `at` came from. */
static const char *
status_d_file(const struct dpkg *d, const char *at)
{
    size_t offset = (size_t)(at - d->status), i = d->nfiles;

    while (i > 0 && d->starts[i - 1] > offset)
        i--;
    return d->files[i > 0 ? i - 1 : 0];
}

static int
take_stanza(const struct pkg_stanza *st, void *arg, struct temper_err *err)
{
    struct dpkg *d = arg;
    cleanup_free char *status = field_dup(st, "Status"), *multi_arch = NULL;
    const struct pkg_field *last = &st->fields[st->n - 1];
    struct dpkg_package *pk;

    /* status.d holds what an image holds: no Status field, every stanza installed */
    if (!d->image && !has_files(status))
        return 0;
    if (d->n == DPKG_PACKAGES_MAX)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "'" DPKG_DIR "/status' lists over %d packages (DPKG_PACKAGES_MAX)",
                              DPKG_PACKAGES_MAX);
    d->pkgs = xreallocarray(d->pkgs, d->n + 1, sizeof(*d->pkgs));
    pk = &d->pkgs[d->n++];
    *pk = (struct dpkg_package){0};
    pk->stanza = st->fields[0].name;
    pk->stanza_len = (size_t)(last->value + last->value_len - pk->stanza);
    pk->name = field_dup(st, "Package");
    pk->architecture = field_dup(st, "Architecture");
    pk->version = field_dup(st, "Version");
    if (pk->name == NULL || !pkg_is_package_name(pk->name))
        return bad_stanza(d, st, "Package", pk->name, err);
    if (pk->architecture == NULL || !pkg_is_arch_name(pk->architecture))
        return bad_stanza(d, st, "Architecture", pk->architecture, err);
    if (pk->version == NULL || !pkg_version_is_valid(pk->version))
        return bad_stanza(d, st, "Version", pk->version, err);
    /* dpkg names the info files of a Multi-Arch: same package with its architecture; status.d
     * names the md5sums after the file that holds the stanza. */
    multi_arch = field_dup(st, "Multi-Arch");
    if (d->image)
        pk->info = xasprintf(DPKG_DIR "/status.d/%s", status_d_file(d, pk->stanza));
    else if (multi_arch != NULL && strcmp(multi_arch, "same") == 0)
        pk->info = xasprintf(DPKG_DIR "/info/%s:%s", pk->name, pk->architecture);
    else
        pk->info = xasprintf(DPKG_DIR "/info/%s", pk->name);
    return split_source(d, st, pk, err);
}

/* ---- paths ---- */

static void
find_aliases(struct dpkg *d)
{
    static const char *const tops[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};

    for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
        char path[16];
        const struct fs_path *fp;

        snprintf(path, sizeof(path), "/%s", tops[i]);
        if (fs_lookup(d->p->root, path, &fp) != 0 || fp->kind != FS_KIND_DIR || fp->nlinks == 0 ||
            strncmp(fp->canon, "/usr/", 5) != 0)
            continue;
        d->alias_from[d->naliases] = xstrdup(tops[i]);
        d->alias_to[d->naliases++] = xstrdup(fp->canon + 1);
    }
}

/* Whether `path` is one of the top-level symlinks merged /usr made: dpkg lists the directory
 * ("/lib") that some packages still ship, but no package shipped the symlink. */
static bool
is_alias(const struct dpkg *d, const char *path)
{
    for (size_t i = 0; i < d->naliases; i++)
        if (path[0] == '/' && strcmp(path + 1, d->alias_from[i]) == 0)
            return true;
    return false;
}

/* The path of an image entry that dpkg's path `path` ("/lib/x/y") names: "usr/lib/x/y". */
static const char *
image_path(const struct dpkg *d, const char *path, char out[TEMPER_PATH_MAX])
{
    const char *rel = path[0] == '/' ? path + 1 : path;
    size_t top = strcspn(rel, "/");

    for (size_t i = 0; i < d->naliases; i++) {
        if (strlen(d->alias_from[i]) == top && memcmp(rel, d->alias_from[i], top) == 0 &&
            rel[top] == '/') {
            if ((size_t)snprintf(out, TEMPER_PATH_MAX, "%s%s", d->alias_to[i], rel + top) >=
                TEMPER_PATH_MAX)
                return NULL;
            return out;
        }
    }
    return rel;
}

/* The entry of the plan at image path `path` that a package may own: taken from the root, a
 * file or a symlink. Returns its index + 1, or 0. Reads the plan only: threads may call it. */
static uintptr_t
ownable(const struct dpkg *d, const char *path)
{
    uintptr_t at = (uintptr_t)strmap_get(&d->p->index, path);

    if (at == 0 || d->p->origins[at - 1] != ORIGIN_ROOT ||
        d->p->plan->entries[at - 1].type == ROOTFS_DIR)
        return 0;
    return at;
}

/* Paths that are not in the plan yet but may come: what rootfs_dpkg adds after the lists. */
static bool
may_come_later(const char *path)
{
    static const char doc[] = "/usr/share/doc/";
    const char *rest;

    if (strcmp(path, "/etc/os-release") == 0 || strcmp(path, "/usr/lib/os-release") == 0 ||
        strcmp(path, "/etc/debian_version") == 0)
        return true;
    if (strncmp(path, doc, sizeof(doc) - 1) != 0)
        return false;
    /* "/usr/share/doc/NAME" (a symlink to another package's) or "/usr/share/doc/NAME/copyright" */
    rest = strchr(path + sizeof(doc) - 1, '/');
    return rest == NULL || strcmp(rest, "/copyright") == 0;
}

/*
 * Most of what a root's packages list is not in the image, so a path is first looked up in a
 * bitmap of the image's paths, keyed by their last 16 bytes (which the merged-/usr spelling of
 * a path does not change): only a hit costs an exact lookup.
 */
static uint32_t
tail_hash(const char *path, size_t len)
{
    uint64_t a = 0, b = 0;

    memcpy(&a, path + len - TAIL_BYTES, 8);
    memcpy(&b, path + len - 8, 8);
    a = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    return (uint32_t)(a >> 48);
}

static bool
may_be_in_image(const struct dpkg *d, const char *path, size_t len)
{
    uint32_t h;

    if (len < TAIL_BYTES + 8) /* short enough that an alias may reach the tail */
        return true;
    h = tail_hash(path, len);
    return (d->filter[h / 64] >> (h % 64)) & 1;
}

static void
fill_filter(struct dpkg *d)
{
    for (size_t i = 0; i < d->p->plan->n; i++) {
        const char *path = d->p->plan->entries[i].path;
        size_t len = strlen(path);
        uint32_t h;

        if (len < TAIL_BYTES)
            continue;
        h = tail_hash(path, len);
        d->filter[h / 64] |= 1ull << (h % 64);
    }
}

/* ---- threads ---- */

static void *
work(void *arg, void (*one)(struct dpkg_worker *, size_t), size_t n)
{
    struct dpkg_worker *w = arg;

    for (size_t i; w->rc == 0 && (i = atomic_fetch_add(&w->d->next, 1)) < n;)
        one(w, i);
    return NULL;
}

/* Runs one(w, i) for every i below n on up to `jobs` threads (the caller's among them); returns
 * the first error any of them met. The workers are the caller's to read, then to free. */
static int
share_out(struct dpkg *d, size_t n, void *(*thread)(void *), struct dpkg_worker *w, size_t jobs,
          struct temper_err *err)
{
    size_t started = 1;
    int rc = 0;

    atomic_store(&d->next, 0);
    for (size_t t = 0; t < jobs; t++)
        w[t] = (struct dpkg_worker){.d = d};
    for (; started < jobs && started < n; started++)
        if (pthread_create(&w[started].thread, NULL, thread, &w[started]) != 0)
            break;
    thread(&w[0]);
    for (size_t t = 1; t < started; t++)
        pthread_join(w[t].thread, NULL);
    for (size_t t = 0; t < started && rc == 0; t++) {
        if (w[t].rc != 0) {
            *err = w[t].err;
            rc = -1;
        }
    }
    return rc;
}

static void
worker_release(struct dpkg_worker *w, size_t jobs)
{
    for (size_t t = 0; t < jobs; t++) {
        for (size_t i = 0; i < w[t].nclaims; i++)
            free(w[t].claims[i].path);
        free(w[t].claims);
        free(w[t].buf);
    }
}

static size_t
jobs_for(const struct dpkg *d)
{
    size_t jobs = d->p->jobs;

    return jobs == 0 ? 1 : jobs > THREADS_MAX ? THREADS_MAX : jobs;
}

/* ---- the lists ---- */

/* Reads a whole regular file of the root (resolved on the main thread) into w->buf. */
static int
read_into(struct dpkg_worker *w, const struct fs_path *fp, size_t *len, struct temper_err *err)
{
    cleanup_close int fd = fs_open(w->d->p->root, fp, O_RDONLY, err);
    size_t done = 0;

    if (fd < 0)
        return temper_err_prefix(err, "the root's dpkg database");
    for (;;) {
        ssize_t n;

        if (done + 1 >= w->buf_size) {
            if (w->buf_size > DPKG_LIST_MAX_BYTES)
                return temper_err_set(err, TEMPER_E_LIMIT, EFBIG,
                                      "the root's dpkg database: '%s' is over %ld MiB "
                                      "(DPKG_LIST_MAX_BYTES)",
                                      fp->canon, DPKG_LIST_MAX_BYTES >> 20);
            w->buf_size = w->buf_size != 0 ? 2 * w->buf_size : 256 * 1024;
            w->buf = xreallocarray(w->buf, w->buf_size, 1);
        }
        n = read(fd, w->buf + done, w->buf_size - done - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno,
                                  "the root's dpkg database: cannot read '%s'", fp->canon);
        if (n == 0)
            break;
        done += (size_t)n;
    }
    w->buf[done] = '\0';
    *len = done;
    return 0;
}

static void
add_claim(struct dpkg_worker *w, uintptr_t at, size_t k, const char *path)
{
    if (w->nclaims == w->cap) {
        w->cap = w->cap != 0 ? 2 * w->cap : 64;
        w->claims = xreallocarray(w->claims, w->cap, sizeof(*w->claims));
    }
    w->claims[w->nclaims++] = (struct claim){at, k, path ? xstrdup(path) : NULL};
}

/* One line of package k's .list. */
static void
take_line(struct dpkg_worker *w, size_t k, const char *line, size_t len)
{
    const struct dpkg *d = w->d;
    char buf[TEMPER_PATH_MAX], md5sums_path[TEMPER_PATH_MAX];
    const char *path;
    uintptr_t at;

    /* An image's status.d has md5sums ("<md5>  usr/bin/x") where a root has lists. */
    if (d->image) {
        if (len < 35 || line[32] != ' ' || line[33] != ' ' ||
            (size_t)snprintf(md5sums_path, sizeof(md5sums_path), "/%s", line + 34) >=
                sizeof(md5sums_path))
            return;
        line = md5sums_path;
        len -= 33;
    }
    if (line[0] != '/')
        return;
    if (may_come_later(line))
        add_claim(w, 0, k, line);
    if (!may_be_in_image(d, line, len) || is_alias(d, line))
        return;
    path = image_path(d, line, buf);
    if (path != NULL && (at = ownable(d, path)) != 0)
        add_claim(w, at, k, NULL);
}

static void
read_list(struct dpkg_worker *w, size_t k)
{
    const struct fs_path *fp = w->d->pkgs[k].list;
    size_t len = 0;

    if (fp == NULL)
        return;
    if (read_into(w, fp, &len, &w->err) < 0) {
        w->rc = -1;
        return;
    }
    for (char *line = w->buf, *end = w->buf + len, *nl; line < end; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (nl == NULL)
            nl = end;
        *nl = '\0';
        take_line(w, k, line, (size_t)(nl - line));
    }
}

static void *
list_thread(void *arg)
{
    struct dpkg_worker *w = arg;

    return work(arg, read_list, w->d->n);
}

static void
own(struct dpkg *d, uintptr_t at, size_t k)
{
    struct rootfs_entry *e = &d->p->plan->entries[at - 1];

    e->package = k + 1;
    d->pkgs[k].entries++;
    if (e->type == ROOTFS_FILE)
        d->pkgs[k].files++;
}

struct rootfs_dpkg_owners {
    bool filled;
    struct strmap entries; /* image path -> 1 + package index */
    struct strmap later;   /* dpkg path of what may come later -> 1 + package index */
};

struct rootfs_dpkg_owners *
rootfs_dpkg_owners_new(void)
{
    return xcalloc(1, sizeof(struct rootfs_dpkg_owners));
}

void
rootfs_dpkg_owners_free(struct rootfs_dpkg_owners *owners)
{
    if (owners == NULL)
        return;
    strmap_release(&owners->entries, NULL);
    strmap_release(&owners->later, NULL);
    free(owners);
}

static void
copy_map(struct strmap *to, const struct strmap *from)
{
    for (size_t i = 0; i < from->cap; i++) {
        if (from->slots[i].key != NULL)
            strmap_put(to, from->slots[i].key, from->slots[i].value);
    }
}

/* What an earlier plan of this root read in the lists (the same status file: the same package
 * numbers), for this plan's paths. */
static void
own_as_kept(struct dpkg *d, const struct rootfs_dpkg_owners *o)
{
    for (size_t i = 0; i < d->p->plan->n; i++) {
        const char *path = d->p->plan->entries[i].path;
        uintptr_t k = ownable(d, path) ? (uintptr_t)strmap_get(&o->entries, path) : 0;

        if (k != 0)
            own(d, (uintptr_t)i + 1, k - 1);
    }
    copy_map(&d->later, &o->later);
}

static void
keep_owners(const struct dpkg *d, struct rootfs_dpkg_owners *o)
{
    for (size_t i = 0; i < d->p->plan->n; i++) {
        const struct rootfs_entry *e = &d->p->plan->entries[i];

        if (e->package != 0)
            strmap_put(&o->entries, e->path, (void *)(uintptr_t)e->package);
    }
    copy_map(&o->later, &d->later);
    o->filled = true;
}

/* Reads every package's .list: each path it names that the plan holds is the package's. */
static int
read_lists(struct dpkg *d, struct temper_err *err)
{
    size_t jobs = jobs_for(d);
    struct dpkg_worker w[THREADS_MAX];
    int rc;

    if (d->p->owners != NULL && d->p->owners->filled) {
        own_as_kept(d, d->p->owners);
        return 0;
    }
    fill_filter(d);
    for (size_t k = 0; k < d->n; k++) {
        cleanup_free char *path =
            xasprintf("%s.%s", d->pkgs[k].info, d->image ? "md5sums" : "list");
        const struct fs_path *fp;

        if (fs_lookup(d->p->root, path, &fp) == 0 && fp->kind == FS_KIND_FILE)
            d->pkgs[k].list = fp;
    }
    rc = share_out(d, d->n, list_thread, w, jobs, err);
    for (size_t t = 0; t < jobs && rc == 0; t++) {
        for (size_t i = 0; i < w[t].nclaims; i++) {
            const struct claim *c = &w[t].claims[i];
            uintptr_t was;

            if (c->at != 0) {
                size_t *owner = &d->p->plan->entries[c->at - 1].package;

                if (*owner == 0 || c->package + 1 < *owner)
                    *owner = c->package + 1;
                continue;
            }
            was = (uintptr_t)strmap_get(&d->later, c->path);
            if (was == 0 || c->package + 1 < was)
                strmap_put(&d->later, c->path, (void *)(uintptr_t)(c->package + 1));
        }
    }
    worker_release(w, jobs);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < d->p->plan->n; i++) {
        size_t owner = d->p->plan->entries[i].package;

        if (owner != 0) {
            d->p->plan->entries[i].package = 0;
            own(d, (uintptr_t)i + 1, owner - 1);
        }
    }
    if (d->p->owners != NULL)
        keep_owners(d, d->p->owners);
    return 0;
}

/* What rootfs_dpkg added after the lists: owned as the lists said. */
static void
own_later(struct dpkg *d)
{
    for (size_t i = 0; i < d->p->plan->n; i++) {
        struct rootfs_entry *e = &d->p->plan->entries[i];
        cleanup_free char *abs = NULL;
        uintptr_t k;

        if (e->package != 0 || d->p->origins[i] != ORIGIN_ROOT || e->type == ROOTFS_DIR)
            continue;
        abs = xasprintf("/%s", e->path);
        /* These paths are never under a top-level symlink in Debian: the canonical spelling is
         * the one the lists use. */
        k = (uintptr_t)strmap_get(&d->later, abs);
        if (k != 0)
            own(d, (uintptr_t)i + 1, k - 1);
    }
}

/* ---- md5sums ---- */

static bool
is_md5_hex(const char *s, size_t len)
{
    if (len != 32)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool
newer(struct timespec a, struct timespec b)
{
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

/* Queues the image entry `at` of package k for hashing, when `always` or when it changed after
 * `since`. */
static void
queue_check(struct dpkg *d, size_t k, uintptr_t at, const char *md5, bool always,
            struct timespec since)
{
    const struct rootfs_entry *e = &d->p->plan->entries[at - 1];
    const struct fs_path *fp;
    struct md5_check *c;

    if (e->type != ROOTFS_FILE || e->package != k + 1 ||
        fs_lookup(d->p->root, e->source, &fp) != 0 || (!always && !newer(fp->mtime, since)))
        return;
    d->checks = xreallocarray(d->checks, d->nchecks + 1, sizeof(*d->checks));
    c = &d->checks[d->nchecks++];
    *c = (struct md5_check){.at = at, .package = k, .file = fp};
    memcpy(c->want, md5, 33);
}

static void
hash_one(struct dpkg_worker *w, size_t i)
{
    struct md5_check *c = &w->d->checks[i];
    cleanup_close int fd = fs_open(w->d->p->root, c->file, O_RDONLY, &w->err);
    unsigned char buf[64 * 1024], md[16];
    char hex[33];
    EVP_MD_CTX *ctx;
    ssize_t n;

    if (fd < 0) {
        w->rc = -1;
        return;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)
        abort();
    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            EVP_MD_CTX_free(ctx);
            w->rc = temper_err_sys(&w->err, TEMPER_E_IO, errno, "cannot read '%s'", c->file->canon);
            return;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    }
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    for (int b = 0; b < 16; b++)
        snprintf(hex + 2 * b, 3, "%02x", md[b]);
    c->differs = strcmp(hex, c->want) != 0;
}

static void *
hash_thread(void *arg)
{
    struct dpkg_worker *w = arg;

    return work(arg, hash_one, w->d->nchecks);
}

/* The info file "<info>.<ext>" of package k, or NULL. */
static const struct fs_path *
info_file(struct dpkg *d, size_t k, const char *ext)
{
    cleanup_free char *path = xasprintf("%s.%s", d->pkgs[k].info, ext);
    const struct fs_path *fp;

    return fs_lookup(d->p->root, path, &fp) == 0 && fp->kind == FS_KIND_FILE ? fp : NULL;
}

/* The "<md5>  <path>" lines of package k's md5sums file (`fp`), each path relative to the root:
 * calls fn for each line whose path the image holds. */
static int
md5sums_lines(struct dpkg *d, size_t k, const struct fs_path *fp,
              void (*fn)(struct dpkg *, size_t, uintptr_t, const char *, void *), void *arg,
              struct temper_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;

    if (fp == NULL)
        return 0;
    if (fs_read_file(d->p->root, fp, DPKG_LIST_MAX_BYTES, &text, &len, err) < 0)
        return temper_err_prefix(err, "the root's dpkg database");
    for (char *line = text, *end = text + len, *nl; line < end; line = nl + 1) {
        char buf[TEMPER_PATH_MAX], abs[TEMPER_PATH_MAX];
        const char *image;
        uintptr_t at;

        nl = memchr(line, '\n', (size_t)(end - line));
        if (nl == NULL)
            nl = end;
        *nl = '\0';
        if (nl - line < 35 || !is_md5_hex(line, 32) || line[32] != ' ' || line[33] != ' ')
            continue;
        line[32] = '\0';
        if ((size_t)snprintf(abs, sizeof(abs), "/%s", line + 34) >= sizeof(abs))
            continue;
        image = image_path(d, abs, buf);
        if (image != NULL && (at = ownable(d, image)) != 0)
            fn(d, k, at, line, arg);
    }
    return 0;
}

static void
queue_line(struct dpkg *d, size_t k, uintptr_t at, const char *md5, void *arg)
{
    queue_check(d, k, at, md5, false, *(const struct timespec *)arg);
}

static void
print_line(struct dpkg *d, size_t k, uintptr_t at, const char *md5, void *arg)
{
    if (d->p->plan->entries[at - 1].package == k + 1)
        fprintf(arg, "%s  %s\n", md5, d->p->plan->entries[at - 1].path);
}

struct conffiles {
    struct dpkg *d;
    size_t k;
};

/* Conffiles (" /etc/x <md5>" lines of the status stanza) are compared whatever their mtime. */
static int
queue_conffiles(const struct pkg_stanza *st, void *arg, struct temper_err *err)
{
    const struct pkg_field *f = pkg_stanza_field(st, "Conffiles");
    cleanup_free char *text = f != NULL ? xstrndup(f->value, f->value_len) : NULL;
    struct conffiles *c = arg;
    char *save = NULL;

    (void)err;
    for (char *line = text != NULL ? strtok_r(text, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char path[TEMPER_PATH_MAX], md5[33], buf[TEMPER_PATH_MAX];
        const char *image;
        uintptr_t at;

        if (sscanf(line, " %4095s %32s", path, md5) != 2 || !is_md5_hex(md5, strlen(md5)))
            continue;
        image = image_path(c->d, path, buf);
        if (image != NULL && (at = ownable(c->d, image)) != 0)
            queue_check(c->d, c->k, at, md5, true, (struct timespec){0});
    }
    return 0;
}

/* Hashes what may have changed since it was installed; a file that differs is no package's. */
static int
check_files(struct dpkg *d, struct temper_err *err)
{
    size_t jobs = jobs_for(d);
    struct dpkg_worker w[THREADS_MAX];
    int rc;

    for (size_t k = 0; k < d->n; k++) {
        const struct fs_path *md5sums = info_file(d, k, "md5sums");
        struct conffiles c = {d, k};

        if (d->pkgs[k].files == 0)
            continue;
        if (pkg_control_parse(d->pkgs[k].stanza, d->pkgs[k].stanza_len, queue_conffiles, &c, err) <
            0)
            return -1;
        if (md5sums != NULL) {
            struct timespec since = md5sums->mtime;

            if (md5sums_lines(d, k, md5sums, queue_line, &since, err) < 0)
                return -1;
        }
    }
    rc = share_out(d, d->nchecks, hash_thread, w, jobs, err);
    worker_release(w, jobs);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < d->nchecks; i++) {
        const struct md5_check *c = &d->checks[i];
        struct rootfs_entry *e = &d->p->plan->entries[c->at - 1];

        if (!c->differs || e->package != c->package + 1)
            continue;
        e->package = 0;
        d->pkgs[c->package].entries--;
        d->pkgs[c->package].files--;
        d->p->plan->summary.modified++;
        if (d->nchanged < WARNED_MAX)
            d->changed[d->nchanged++] = xasprintf("'/%s' (%s)", e->path, d->pkgs[c->package].name);
    }
    return 0;
}

/* ---- what the image gets ---- */

/* The fields of a package's stanza, as its control file has them: dpkg's own bookkeeping
 * (Status, Conffiles, Config-Version, Triggers-*) left out, as distroless leaves it out. */
static int
status_text(const struct pkg_stanza *st, void *arg, struct temper_err *err)
{
    static const char *const skip[] = {"Status", "Conffiles", "Config-Version", "Triggers-Pending",
                                       "Triggers-Awaited"};
    FILE *text = arg;

    (void)err;
    for (size_t i = 0; i < st->n; i++) {
        const struct pkg_field *f = &st->fields[i];
        bool skipped = false;

        for (size_t s = 0; s < sizeof(skip) / sizeof(skip[0]) && !skipped; s++)
            skipped =
                strlen(skip[s]) == f->name_len && strncasecmp(f->name, skip[s], f->name_len) == 0;
        if (!skipped)
            fprintf(text, "%.*s:%s%.*s\n", (int)f->name_len, f->name,
                    f->value_len > 0 && f->value[0] == '\n' ? "" : " ", (int)f->value_len,
                    f->value);
    }
    return 0;
}

static size_t
count_owners(const struct dpkg *d)
{
    size_t n = 0;

    for (size_t k = 0; k < d->n; k++)
        n += d->pkgs[k].entries > 0;
    return n;
}

/* The copyright file of every package with entries, until no new package gets one (a doc
 * directory may be a symlink to another package's). */
static int
add_copyrights(struct dpkg *d, struct temper_err *err)
{
    cleanup_free bool *done = xcalloc(d->n + 1, sizeof(*done));
    size_t before;

    do {
        before = count_owners(d);
        for (size_t k = 0; k < d->n; k++) {
            cleanup_free char *path = NULL;
            bool added;

            /* An image keeps the copyright file of every package it names: of one whose only
             * files are symlinks (which md5sums cannot list) too. */
            if ((d->pkgs[k].entries == 0 && !d->image) || done[k])
                continue;
            done[k] = true;
            path = xasprintf("/usr/share/doc/%s/copyright", d->pkgs[k].name);
            if (rootfs_collect_extra(d->p, path, &added, err) < 0)
                return -1;
            if (added)
                own_later(d);
        }
    } while (count_owners(d) != before);
    return 0;
}

static int
by_name(const void *a, const void *b)
{
    const struct dpkg_package *x = *(const struct dpkg_package *const *)a;
    const struct dpkg_package *y = *(const struct dpkg_package *const *)b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->architecture, y->architecture);
}

/* status.d/<name> and <name>.md5sums of one package. */
static int
add_status(struct dpkg *d, struct dpkg_package *pk, const char *name, struct temper_err *err)
{
    size_t k = (size_t)(pk - d->pkgs);
    char *stanza = NULL, *md5sums = NULL;
    size_t stanza_len = 0, md5sums_len = 0;
    cleanup_free char *path = NULL;
    FILE *text = open_memstream(&stanza, &stanza_len), *lines;
    int rc;

    if (text == NULL)
        abort();
    rc = pkg_control_parse(pk->stanza, pk->stanza_len, status_text, text, err);
    if (fclose(text) != 0)
        abort();
    path = xasprintf(STATUS_D "/%s", name);
    if (rc < 0 || planner_add_text(d->p, path, stanza, err) < 0) {
        if (rc < 0)
            free(stanza);
        return -1;
    }
    lines = open_memstream(&md5sums, &md5sums_len);
    if (lines == NULL)
        abort();
    rc = md5sums_lines(d, k, info_file(d, k, "md5sums"), print_line, lines, err);
    if (fclose(lines) != 0)
        abort();
    if (rc < 0 || md5sums_len == 0) {
        free(md5sums);
        return rc;
    }
    free(path);
    path = xasprintf(STATUS_D "/%s.md5sums", name);
    return planner_add_text(d->p, path, md5sums, err);
}

/* plan->packages from the packages with entries, by name; the entries' numbers follow. */
static int
number_packages(struct dpkg *d, struct temper_err *err)
{
    struct rootfs_plan *plan = d->p->plan;
    cleanup_free struct dpkg_package **order = xreallocarray(NULL, d->n + 1, sizeof(*order));
    size_t n = 0;

    for (size_t k = 0; k < d->n; k++)
        if (d->pkgs[k].entries > 0)
            order[n++] = &d->pkgs[k];
    qsort(order, n, sizeof(*order), by_name);
    plan->packages = xcalloc(n + 1, sizeof(*plan->packages));
    for (size_t i = 0; i < n; i++) {
        struct dpkg_package *pk = order[i];
        struct rootfs_package *out = &plan->packages[plan->npackages++];
        bool twice = i > 0 && strcmp(order[i - 1]->name, pk->name) == 0;
        cleanup_free char *name =
            twice ? xasprintf("%s_%s", pk->name, pk->architecture) : xstrdup(pk->name);
        cleanup_free char *copyright = xasprintf("/usr/share/doc/%s/copyright", pk->name);
        const struct fs_path *fp;

        pk->index = i + 1;
        out->name = xstrdup(pk->name);
        out->version = xstrdup(pk->version);
        out->architecture = xstrdup(pk->architecture);
        out->source = xstrdup(pk->source);
        out->source_version = xstrdup(pk->source_version);
        out->entries = pk->entries;
        if (fs_lookup(d->p->root, copyright, &fp) == 0 &&
            strmap_get(&d->p->index, fp->canon + 1) != NULL)
            out->license_file = xstrdup(fp->canon + 1);
        if (add_status(d, pk, name, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < plan->n; i++) {
        struct rootfs_entry *e = &plan->entries[i];

        if (d->p->origins[i] != ORIGIN_ROOT || e->type == ROOTFS_DIR)
            continue;
        e->package = e->package != 0 ? d->pkgs[e->package - 1].index : 0;
        plan->summary.unowned += e->package == 0;
    }
    return 0;
}

static void
warn(struct dpkg *d, char *text)
{
    strv_push(&d->p->plan->summary.warnings, text);
}

/* "a, b, c" of up to n texts, each given by fn. */
static char *
join(size_t n, const char *(*fn)(const struct dpkg *, size_t), const struct dpkg *d)
{
    char *list = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&list, &len);
    size_t shown = 0;

    if (out == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        const char *s = fn(d, i);

        if (s != NULL)
            fprintf(out, "%s%s", shown++ > 0 ? ", " : "", s);
    }
    if (fclose(out) != 0)
        abort();
    return list;
}

static const char *
changed_at(const struct dpkg *d, size_t i)
{
    return d->changed[i];
}

static const char *
unlicensed_at(const struct dpkg *d, size_t i)
{
    const struct rootfs_package *pk = &d->p->plan->packages[i];

    return pk->license_file == NULL ? pk->name : NULL;
}

static void
warn_changed(struct dpkg *d)
{
    size_t modified = d->p->plan->summary.modified;
    cleanup_free char *list = NULL;

    if (modified == 0)
        return;
    list = join(d->nchanged, changed_at, d);
    warn(d, xasprintf("%zu file%s of the image %s not what %s package installed, and %s listed "
                      "as no package's: %s%s",
                      modified, modified == 1 ? "" : "s", modified == 1 ? "is" : "are",
                      modified == 1 ? "its" : "their", modified == 1 ? "is" : "are", list,
                      modified > d->nchanged ? ", ..." : ""));
}

static void
warn_licenses(struct dpkg *d)
{
    const struct rootfs_plan *plan = d->p->plan;
    cleanup_free char *missing = NULL;
    size_t n = 0;

    if (d->p->recipe->omit_copyright) {
        if (plan->npackages > 0)
            warn(d, xasprintf("sbom.copyright is false: the image leaves out the license texts "
                              "of the %zu packages it redistributes",
                              plan->npackages));
        return;
    }
    for (size_t i = 0; i < plan->npackages; i++)
        n += plan->packages[i].license_file == NULL;
    if (n == 0)
        return;
    missing = join(plan->npackages, unlicensed_at, d);
    warn(d, xasprintf("the root has no /usr/share/doc/NAME/copyright for %zu package%s of the "
                      "image (%s): its license text is not in the image",
                      n, n == 1 ? "" : "s", missing));
}

static void
dpkg_release(struct dpkg *d)
{
    for (size_t k = 0; k < d->n; k++) {
        struct dpkg_package *pk = &d->pkgs[k];

        free(pk->name);
        free(pk->architecture);
        free(pk->version);
        free(pk->source);
        free(pk->source_version);
        free(pk->info);
    }
    free(d->pkgs);
    for (size_t i = 0; i < d->naliases; i++) {
        free(d->alias_from[i]);
        free(d->alias_to[i]);
    }
    for (size_t i = 0; i < d->nchanged; i++)
        free(d->changed[i]);
    strmap_release(&d->later, NULL);
    free(d->checks);
    free(d->status);
    for (size_t i = 0; i < d->nfiles; i++)
        free(d->files[i]);
    free(d->files);
    free(d->starts);
}

static int
attribute(struct dpkg *d, struct temper_err *err)
{
    static const char *const release[] = {"/etc/os-release", "/etc/debian_version"};
    const struct recipe *r = d->p->recipe;
    bool added, any = false;

    if (pkg_control_parse(d->status, d->status_len, take_stanza, d, err) < 0)
        return temper_err_prefix(err, "the root's dpkg database");
    find_aliases(d);
    if (read_lists(d, err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(release) / sizeof(release[0]) && !r->omit_os_release; i++) {
        if (rootfs_collect_extra(d->p, release[i], &added, err) < 0)
            return -1;
        any = any || added;
    }
    own_later(d);
    if (!r->omit_os_release && !any)
        warn(d, xstrdup("the root has no /etc/os-release or /etc/debian_version: scanners "
                        "cannot tell which distribution's advisories apply"));
    if (!r->omit_copyright && add_copyrights(d, err) < 0)
        return -1;
    if (check_files(d, err) < 0 || number_packages(d, err) < 0)
        return -1;
    warn_changed(d);
    warn_licenses(d);
    return 0;
}

/*
 * A root that is an unpacked image (distroless's, or one temper built) has no status file but
 * status.d: one file per package, its stanza without Status, and <name>.md5sums listing the
 * package's files. Read as a database of its own, so that an image rebuilt from its own files
 * is the same image: every stanza is installed, md5sums stand for lists, and every package keeps
 * its copyright file.
 */
static int
read_status_d(struct dpkg *d, const struct fs_path *dir, struct temper_err *err)
{
    char **names = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *out;
    int rc = fs_list_dir(d->p->root, dir, DPKG_PACKAGES_MAX, &names, err);

    if (rc < 0)
        return temper_err_prefix(err, "the root's dpkg database");
    out = open_memstream(&text, &len);
    if (out == NULL)
        abort();
    for (size_t i = 0; names[i] != NULL && rc == 0; i++) {
        size_t n = strlen(names[i]);
        cleanup_free char *path = xasprintf(DPKG_DIR "/status.d/%s", names[i]), *part = NULL;
        const struct fs_path *fp;
        size_t part_len;

        if (names[i][0] == '.' || (n > 8 && strcmp(names[i] + n - 8, ".md5sums") == 0) ||
            fs_lookup(d->p->root, path, &fp) != 0 || fp->kind != FS_KIND_FILE)
            continue;
        rc = fs_read_file(d->p->root, fp, DPKG_LIST_MAX_BYTES, &part, &part_len, err);
        if (rc < 0)
            break;
        fflush(out);
        if (len + part_len + 2 > DPKG_STATUS_MAX_BYTES) {
            rc = temper_err_set(err, TEMPER_E_LIMIT, 0,
                                "the root's " DPKG_DIR "/status.d holds over %ld MiB "
                                "(DPKG_STATUS_MAX_BYTES)",
                                DPKG_STATUS_MAX_BYTES >> 20);
            break;
        }
        d->files = xreallocarray(d->files, d->nfiles + 1, sizeof(*d->files));
        d->starts = xreallocarray(d->starts, d->nfiles + 1, sizeof(*d->starts));
        d->files[d->nfiles] = xstrdup(names[i]);
        d->starts[d->nfiles++] = len;
        fwrite(part, 1, part_len, out);
        fputs("\n\n", out); /* each file its own stanzas, however it ends */
    }
    fs_names_free(names);
    if (fclose(out) != 0)
        abort();
    d->status = text;
    d->status_len = len;
    return rc < 0 ? temper_err_prefix(err, "the root's dpkg database") : 0;
}

static bool
has_root_entries(const struct planner *p)
{
    for (size_t i = 0; i < p->plan->n; i++)
        if (p->origins[i] == ORIGIN_ROOT && p->plan->entries[i].type != ROOTFS_DIR)
            return true;
    return false;
}

int
rootfs_dpkg(struct planner *p, struct temper_err *err)
{
    struct dpkg d = {.p = p};
    const struct fs_path *fp;
    int rc;

    strmap_init(&d.later);
    if (fs_lookup(p->root, DPKG_DIR "/status", &fp) == 0 && fp->kind == FS_KIND_FILE) {
        rc = fs_read_file(p->root, fp, DPKG_STATUS_MAX_BYTES, &d.status, &d.status_len, err);
        if (rc < 0)
            temper_err_prefix(err, "the root's dpkg database");
    } else if (fs_lookup(p->root, DPKG_DIR "/status.d", &fp) == 0 && fp->kind == FS_KIND_DIR) {
        d.image = true;
        rc = read_status_d(&d, fp, err);
    } else {
        if (has_root_entries(p))
            warn(&d, xstrdup("the root has no dpkg database (" DPKG_DIR "/status): the image "
                             "names no package, and scanners will find none in it"));
        return 0;
    }
    p->plan->summary.has_dpkg = true;
    if (rc == 0)
        rc = attribute(&d, err);
    dpkg_release(&d);
    return rc;
}
