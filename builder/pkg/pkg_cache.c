/*
 * temper's cache: .deb files by content, and roots unpacked from them.
 *
 *   CACHE/debs/<sha256>.deb    one per digest; written to an unnamed file
 *                              and linked under its name only once its
 *                              digest is checked; checked again when read
 *   CACHE/roots/<key>/root     the unpacked root of one architecture's
 *   CACHE/roots/<key>/owners   packages, and which package shipped each
 *                              path; <key> is the SHA-256 of the packages'
 *                              names, versions and digests (and of this
 *                              format), so a root is never used for
 *                              another set
 *
 * A root is made in a directory of its own (roots/.tmp-*) and renamed into
 * place only when whole: a build killed meanwhile leaves a temporary no
 * later build looks at, never a half root under a key. Two builds making
 * the same root at once both succeed; the second rename loses and its copy
 * is removed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

/* Changes whenever what an unpacked root holds changes (a new generated file, another
 * unpacking rule): roots made before are then made again. */
#define ROOT_FORMAT "temper-root-2" /* 2: with var/lib/dpkg */

static int
make_dirs(const char *path, struct temper_err *err)
{
    cleanup_free char *copy = xstrdup(path);

    for (char *p = copy + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make '%s'", copy);
        *p = '/';
    }
    if (mkdir(copy, 0755) < 0 && errno != EEXIST)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make '%s'", copy);
    return 0;
}

/*
 * A directory of the cache as it must be before anything in it is trusted: a directory, not a
 * symlink, this user's, and writable by no one else (another user who could write there could
 * put files in a root that a build takes without checking them again). Its group may write
 * only when that is this user's own group, as a umask of 002 leaves it.
 */
static int
check_owned_dir(const char *path, struct temper_err *err)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read cache directory '%s'", path);
    if (!S_ISDIR(st.st_mode))
        return temper_err_set(err, TEMPER_E_IO, 0,
                              "cache '%s' is not a directory (a symlink?): remove it, or give "
                              "another with --cache",
                              path);
    if (st.st_uid != geteuid() || (st.st_mode & S_IWOTH) != 0 ||
        ((st.st_mode & S_IWGRP) != 0 && st.st_gid != getegid()))
        return temper_err_set(err, TEMPER_E_IO, 0,
                              "cache '%s' belongs to another user or others may write to it: "
                              "a cache is trusted, so it must be yours alone; give another with "
                              "--cache",
                              path);
    return 0;
}

/* Removes a directory tree that temper made (never following a symlink in it). */
static void
remove_tree_at(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d;
    struct dirent *de;

    if (fd < 0) {
        unlinkat(parent, name, 0);
        return;
    }
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_type == DT_DIR)
            remove_tree_at(dirfd(d), de->d_name);
        else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR)
            remove_tree_at(dirfd(d), de->d_name);
    }
    closedir(d);
    unlinkat(parent, name, AT_REMOVEDIR);
}

/* The key of one architecture's root. */
static void
root_key(const struct pkg_lock_arch *la, char out[SHA256_DIGEST_STR_LEN])
{
    struct sha256 h;

    sha256_init(&h);
    sha256_update(&h, ROOT_FORMAT "\n", strlen(ROOT_FORMAT) + 1);
    sha256_update(&h, la->name, strlen(la->name) + 1);
    for (size_t i = 0; i < la->n; i++) {
        const struct pkg_locked *p = &la->packages[i];

        sha256_update(&h, p->name, strlen(p->name) + 1);
        sha256_update(&h, p->version, strlen(p->version) + 1);
        sha256_update(&h, p->sha256, 64);
    }
    sha256_final(&h, out);
}

/* apt's name for a .deb in its cache: NAME_VERSION_ARCH.deb with ':' as %3a. */
static char *
apt_name(const struct pkg_locked *p)
{
    cleanup_free char *version = xmalloc(3 * strlen(p->version) + 1);
    size_t k = 0;

    for (const char *c = p->version; *c != '\0'; c++) {
        if (*c == ':') {
            memcpy(version + k, "%3a", 3);
            k += 3;
        } else {
            version[k++] = *c;
        }
    }
    version[k] = '\0';
    return xasprintf("%s_%s_%s.deb", p->name, version, p->architecture);
}

/* Opens a cached .deb, checked against the lock; -1 with ENOENT in err when absent. */
static int
open_checked(const char *path, const struct pkg_locked *p, const char *where,
             struct temper_err *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    char digest[SHA256_DIGEST_STR_LEN];
    struct stat st;

    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_MISSING, errno, "cannot open '%s'", path);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return temper_err_set(err, TEMPER_E_IO, 0, "'%s' is not a regular file", path);
    if (pkg_digest_fd(fd, digest, err) < 0)
        return -1;
    if ((uint64_t)st.st_size != p->size || strcmp(digest + 7, p->sha256) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s '%s' of %s %s is not what the lock pins (%jd bytes hashing to "
                              "%.19s..., not %llu bytes, sha256:%.12s...): it was changed or "
                              "damaged; remove it, and the next build fetches it again",
                              where, path, p->name, p->version, (intmax_t)st.st_size, digest,
                              (unsigned long long)p->size, p->sha256);
    return steal_fd(&fd);
}

/* Links an unnamed file into the cache under `path` (a file already there is the same bytes:
 * content-addressed). */
static int
link_in(int fd, const char *path, struct temper_err *err)
{
    char proc[64];

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot put '%s' in the cache", path);
    return 0;
}

/* An unnamed file in `dir`, to download into. */
static int
unnamed_file(const char *dir, struct temper_err *err)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);

    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot write in '%s'", dir);
    return fd;
}

/* Copies a file of apt's cache into ours when it is the very package: no download. */
static int
from_apt(const struct pkg_env *env, const struct pkg_locked *p, const char *debs, const char *path,
         struct temper_err *err)
{
    cleanup_free char *name = NULL, *apt_path = NULL;
    cleanup_close int in = -1, out = -1;
    struct temper_err ignored;
    char buf[65536];
    ssize_t n;

    if (env->apt_archives == NULL)
        return 0;
    name = apt_name(p);
    apt_path = xasprintf("%s/%s", env->apt_archives, name);
    in = open_checked(apt_path, p, "apt's", &ignored);
    if (in < 0)
        return 0; /* not there, or another build of it: fetched instead */
    if ((out = unnamed_file(debs, err)) < 0)
        return -1;
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)n) != n)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot copy '%s'", apt_path);
    }
    if (n < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot copy '%s'", apt_path);
    return link_in(out, path, err) < 0 ? -1 : 1;
}

/* The URL of a locked package: its repository's archive (found once per suite, in `bases`) and
 * its pool path. */
static char *
deb_url(const struct pkg_lock *lock, const struct pkg_locked *p, const struct pkg_repository *repos,
        size_t nrepos, const struct pkg_env *env, char **bases, struct temper_err *err)
{
    const char *suite = lock->repositories[p->repository].suite;
    char **base = &bases[p->repository];

    for (size_t i = 0; i < nrepos && *base == NULL; i++) {
        if (strcmp(repos[i].suite, suite) == 0 &&
            pkg_repository_url(&repos[i], env->apt_dir, base, err) < 0)
            return NULL;
    }
    if (*base == NULL) {
        temper_err_set(err, TEMPER_E_USAGE, 0,
                       "the lock takes %s from suite '%s', which the recipe names no more: run "
                       "temper lock",
                       p->name, suite);
        return NULL;
    }
    return xasprintf("%s/%s", *base, p->filename);
}

/* Every .deb of `la` in the cache: taken from it, from apt's, or fetched. */
static int
gather(const struct pkg_lock *lock, const struct pkg_lock_arch *la,
       const struct pkg_repository *repos, size_t nrepos, const struct pkg_env *env,
       const char *debs, struct temper_err *err)
{
    struct pkg_job *jobs = xcalloc(la->n + 1, sizeof(*jobs));
    char **urls = xcalloc(la->n + 1, sizeof(*urls)), **paths = xcalloc(la->n + 1, sizeof(*paths));
    char **whats = xcalloc(la->n + 1, sizeof(*whats));
    char **bases = xcalloc(lock->nrepositories + 1, sizeof(*bases));
    char missing[600] = "";
    size_t njobs = 0, nmissing = 0, used = 0;
    struct pkg_fetcher *f = NULL;
    int rc = 0;

    for (size_t i = 0; i < la->n && rc == 0; i++) {
        const struct pkg_locked *p = &la->packages[i];
        struct temper_err why;
        int fd;

        paths[i] = xasprintf("%s/%s.deb", debs, p->sha256);
        fd = open_checked(paths[i], p, "the cached", &why);
        if (fd >= 0) {
            close(fd);
            continue;
        }
        if (why.code != TEMPER_E_MISSING) {
            *err = why;
            rc = -1;
            break;
        }
        rc = from_apt(env, p, debs, paths[i], err);
        if (rc != 0) {
            rc = rc < 0 ? -1 : 0;
            continue;
        }
        if (env->offline) {
            nmissing++;
            if (used < sizeof(missing))
                used += (size_t)snprintf(missing + used, sizeof(missing) - used, "%s%s %s",
                                         used ? ", " : "", p->name, p->version);
            continue;
        }
        if ((urls[i] = deb_url(lock, p, repos, nrepos, env, bases, err)) == NULL) {
            rc = -1;
            break;
        }
        whats[i] = xasprintf("package %s %s ('%s')", p->name, p->version, p->filename);
        jobs[njobs] = (struct pkg_job){urls[i], -1, p->size, 0, p->sha256, whats[i]};
        if ((jobs[njobs].fd = unnamed_file(debs, err)) < 0) {
            rc = -1;
            break;
        }
        njobs++;
    }
    if (rc == 0 && nmissing > 0)
        rc = temper_err_set(err, TEMPER_E_MISSING, 0,
                            "--offline: %zu package%s of architecture '%s' %s not in the cache "
                            "(%s): build once without --offline",
                            nmissing, nmissing == 1 ? "" : "s", la->name,
                            nmissing == 1 ? "is" : "are", missing);
    if (rc == 0 && njobs > 0)
        rc = pkg_fetcher_new(env, &f, err);
    if (rc == 0 && njobs > 0 && pkg_fetch_files(f, jobs, njobs, err) < 0) {
        if (err->code == TEMPER_E_MISSING)
            temper_err_prefix(err, "the archive no longer serves a package the lock pins "
                                   "(mirrors drop a version when a point release or security "
                                   "update replaces it): run temper lock --update, or name a "
                                   "snapshot of the archive as the repository's url");
        rc = -1;
    }
    for (size_t i = 0, k = 0; i < la->n; i++) {
        if (urls[i] == NULL)
            continue;
        if (rc == 0 && link_in(jobs[k].fd, paths[i], err) < 0)
            rc = -1;
        k++;
    }
    for (size_t k = 0; k < njobs; k++)
        close(jobs[k].fd);
    for (size_t i = 0; i < la->n; i++) {
        free(urls[i]);
        free(paths[i]);
        free(whats[i]);
    }
    for (size_t i = 0; i < lock->nrepositories; i++)
        free(bases[i]);
    free(bases);
    free(urls);
    free(paths);
    free(whats);
    free(jobs);
    pkg_fetcher_free(f);
    return rc;
}

static int
write_owner(const char *path, const char *package, void *arg)
{
    FILE *out = arg;

    return fprintf(out, "%s\t%s\n", path, package) < 0 ? -1 : 0;
}

/* Unpacks every package into `tmp`/root and writes `tmp`/owners. */
static int
assemble(const struct pkg_lock_arch *la, const char *debs, const char *tmp, struct temper_err *err)
{
    cleanup_free char *root_dir = xasprintf("%s/root", tmp), *owners = NULL;
    struct pkg_root *root = NULL;
    FILE *out;
    int rc;

    rc = pkg_root_new(root_dir, &root, err);
    for (size_t i = 0; i < la->n && rc == 0; i++) {
        const struct pkg_locked *p = &la->packages[i];
        cleanup_free char *path = xasprintf("%s/%s.deb", debs, p->sha256);
        int fd = open_checked(path, p, "the cached", err);

        if (fd < 0) {
            rc = -1;
            break;
        }
        rc = pkg_root_unpack(root, fd, p->name, err);
        close(fd);
    }
    if (rc == 0)
        rc = pkg_root_generate(root, err);
    if (rc == 0) {
        owners = xasprintf("%s/owners", tmp);
        out = fopen(owners, "we");
        if (out == NULL) {
            rc = temper_err_sys(err, TEMPER_E_IO, errno, "cannot write '%s'", owners);
        } else {
            int listed = pkg_root_owners(root, write_owner, out), e = errno;

            if (fclose(out) != 0 || listed < 0)
                rc = temper_err_sys(err, TEMPER_E_IO, listed < 0 ? e : errno, "cannot write '%s'",
                                    owners);
        }
    }
    pkg_root_free(root);
    return rc;
}

int
pkg_root_for(const struct pkg_lock *lock, const char *arch,
             const struct pkg_repository *repositories, size_t nrepositories,
             const struct pkg_env *env, char **dir, struct temper_err *err)
{
    const struct pkg_lock_arch *la = pkg_lock_arch(lock, arch);
    cleanup_free char *debs = NULL, *roots = NULL, *final = NULL, *tmp = NULL;
    char key[SHA256_DIGEST_STR_LEN];
    struct stat st;

    if (la == NULL)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "the lock pins no packages for architecture '%s': add it to the "
                              "recipe's architectures and run temper lock",
                              arch);
    root_key(la, key);
    debs = xasprintf("%s/debs", env->cache_dir);
    roots = xasprintf("%s/roots", env->cache_dir);
    final = xasprintf("%s/%s", roots, key + 7);
    if (make_dirs(debs, err) < 0 || make_dirs(roots, err) < 0 ||
        check_owned_dir(env->cache_dir, err) < 0 || check_owned_dir(debs, err) < 0 ||
        check_owned_dir(roots, err) < 0)
        return -1;
    if (lstat(final, &st) == 0) {
        if (check_owned_dir(final, err) < 0)
            return -1;
        *dir = xasprintf("%s/root", final);
        return 0;
    }
    if (gather(lock, la, repositories, nrepositories, env, debs, err) < 0)
        return -1;
    tmp = xasprintf("%s/.tmp-%.16s-XXXXXX", roots, key + 7);
    if (mkdtemp(tmp) == NULL)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make a directory in '%s'", roots);
    if (assemble(la, debs, tmp, err) < 0) {
        remove_tree_at(AT_FDCWD, tmp);
        return -1;
    }
    if (rename(tmp, final) < 0) {
        int e = errno;

        remove_tree_at(AT_FDCWD, tmp);
        /* another build made the same root meanwhile: the same bytes, take it */
        if ((e != EEXIST && e != ENOTEMPTY) || lstat(final, &st) < 0)
            return temper_err_sys(err, TEMPER_E_IO, e, "cannot put a root in '%s'", roots);
        if (check_owned_dir(final, err) < 0)
            return -1;
    }
    *dir = xasprintf("%s/root", final);
    return 0;
}
