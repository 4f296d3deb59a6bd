/*
 * Making a lock: from each repository's InRelease down to the packages of
 * each architecture, every step checked against the one before it:
 *
 *   InRelease   signed by a key of the keyrings (gpgv), not expired, not
 *               from the future;
 *   Packages    the index InRelease lists for the component and
 *               architecture (xz, else gz, else plain), its size and SHA-256
 *               as InRelease gives them, fetched by hash when the archive
 *               offers it (Acquire-By-Hash), so that a mirror updating
 *               meanwhile cannot hand over a mix of two versions;
 *   packages    chosen by pkg_resolve, each with the size and SHA-256 its
 *               index gives, into the lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

/* How far a Release file's Date may be ahead of this machine's clock (apt allows none by
 * default; a day covers a clock set a little wrong without letting a replay of a future
 * signature pass for long). */
#define FUTURE_SLACK_S (24 * 3600)

/* Decompresses an index (xz, gzip or none: libarchive's raw format) into memory, capped. */
static int
decompress(const char *bytes, size_t len, const char *what, char **out, size_t *out_len,
           struct temper_err *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *entry;
    cleanup_free char *buf = NULL;
    size_t used = 0, cap = 0;
    int rc = -1, header;

    archive_read_support_filter_xz(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_format_raw(a);
    /* an index may be empty (a component with no package for an architecture): the raw
     * format does not take no bytes, the empty one does, as an archive without entries */
    archive_read_support_format_empty(a);
    if (archive_read_open_memory(a, bytes, len) != ARCHIVE_OK ||
        (header = archive_read_next_header(a, &entry)) < ARCHIVE_OK) {
        temper_err_set(err, TEMPER_E_PARSE, 0, "%s cannot be decompressed: %s", what,
                       archive_error_string(a) ? archive_error_string(a) : "unknown");
        goto out;
    }
    while (header == ARCHIVE_OK) {
        la_ssize_t n;

        if (used == cap) {
            if (cap >= (size_t)PKG_INDEX_MAX_BYTES) {
                temper_err_set(err, TEMPER_E_LIMIT, 0, "%s expands to over %ld bytes", what,
                               (long)PKG_INDEX_MAX_BYTES);
                goto out;
            }
            cap = cap ? 2 * cap : 1 << 20;
            if (cap > (size_t)PKG_INDEX_MAX_BYTES)
                cap = (size_t)PKG_INDEX_MAX_BYTES;
            buf = xreallocarray(buf, cap + 1, 1);
        }
        n = archive_read_data(a, buf + used, cap - used);
        if (n < 0) {
            temper_err_set(err, TEMPER_E_PARSE, 0, "%s cannot be decompressed: %s", what,
                           archive_error_string(a) ? archive_error_string(a) : "unknown");
            goto out;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf = buf != NULL ? buf : xmalloc(1);
    buf[used] = '\0';
    *out = steal_pointer(&buf);
    *out_len = used;
    rc = 0;
out:
    archive_read_free(a);
    return rc;
}

struct repo_state {
    char *url; /* the archive's root, no trailing slash */
    struct pkg_release release;
};

/* The Release entry of one component's index for `arch`: Packages.xz, .gz or plain. */
static const struct pkg_release_file *
index_entry(const struct pkg_release *rel, const char *component, const char *arch)
{
    static const char *const suffixes[] = {".xz", ".gz", ""};

    for (size_t i = 0; i < 3; i++) {
        char path[512];
        const struct pkg_release_file *f;

        snprintf(path, sizeof(path), "%s/binary-%s/Packages%s", component, arch, suffixes[i]);
        if ((f = pkg_release_find(rel, path)) != NULL)
            return f;
    }
    return NULL;
}

static int
add_index(struct pkg_fetcher *f, const struct repo_state *rs, const char *suite,
          const char *component, const char *arch, size_t repo, struct pkg_index *idx,
          struct temper_err *err)
{
    const struct pkg_release_file *entry = index_entry(&rs->release, component, arch);
    cleanup_free char *url = NULL, *bytes = NULL, *what = NULL;
    char digest[SHA256_DIGEST_STR_LEN];
    char *text = NULL;
    size_t len, text_len;

    if (entry == NULL)
        return temper_err_set(err, TEMPER_E_MISSING, 0,
                              "suite '%s' lists no Packages index of component '%s' for "
                              "architecture '%s': check the names, or the architectures the "
                              "archive serves",
                              suite, component, arch);
    what = xasprintf("index '%s' of suite '%s'", entry->path, suite);
    if (rs->release.by_hash) {
        cleanup_free char *dir =
            xstrndup(entry->path, (size_t)(strrchr(entry->path, '/') - entry->path));

        url = xasprintf("%s/dists/%s/%s/by-hash/SHA256/%s", rs->url, suite, dir, entry->sha256);
    } else {
        url = xasprintf("%s/dists/%s/%s", rs->url, suite, entry->path);
    }
    if (entry->size > (uint64_t)PKG_INDEX_COMPRESSED_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "%s is over %ld bytes", what,
                              (long)PKG_INDEX_COMPRESSED_MAX_BYTES);
    if (pkg_fetch_memory(f, url, entry->size, what, &bytes, &len, err) < 0) {
        if (err->code != TEMPER_E_LIMIT)
            return -1;
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s does not match InRelease: the mirror sends more than the %llu "
                              "bytes InRelease names, an index the archive did not sign",
                              what, (unsigned long long)entry->size);
    }
    sha256_digest(bytes, len, digest);
    if (len != entry->size || strcmp(digest + 7, entry->sha256) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s does not match InRelease (%zu bytes hashing to %.19s..., "
                              "where InRelease says %llu bytes, sha256:%.12s...): the mirror "
                              "serves an index the archive did not sign",
                              what, len, digest, (unsigned long long)entry->size, entry->sha256);
    if (decompress(bytes, len, what, &text, &text_len, err) < 0)
        return -1;
    return pkg_index_add(idx, text, text_len, (unsigned)repo, what, err);
}

/* The previous lock's entry for `suite`, or NULL. */
static const struct pkg_lock_repository *
locked_repository(const struct pkg_lock *lock, const char *suite)
{
    for (size_t i = 0; lock != NULL && i < lock->nrepositories; i++) {
        if (strcmp(lock->repositories[i].suite, suite) == 0)
            return &lock->repositories[i];
    }
    return NULL;
}

/*
 * InRelease of one repository: fetched, its signature checked, parsed, its dates checked.
 * A signature only says the archive once published this file, so, as apt does, the file must
 * also name the suite asked for (else a mirror could serve another suite's signed Release in
 * its place) and be no older than the one the previous lock was made from (else it could
 * replay an old, signed archive with its since-fixed flaws).
 */
static int
open_repository(struct pkg_fetcher *f, const struct pkg_repository *r, const struct pkg_inputs *in,
                const struct pkg_env *env, const struct pkg_lock *previous, struct repo_state *rs,
                struct pkg_lock_repository *lr, struct temper_err *err)
{
    const struct pkg_lock_repository *before = locked_repository(previous, r->suite);
    int64_t before_s;

    cleanup_free char *url = NULL, *bytes = NULL, *text = NULL, *what = NULL;
    char digest[SHA256_DIGEST_STR_LEN];
    size_t len, text_len;

    if (pkg_repository_url(r, env->apt_dir, &rs->url, err) < 0)
        return -1;
    what = xasprintf("InRelease of suite '%s'", r->suite);
    url = xasprintf("%s/dists/%s/InRelease", rs->url, r->suite);
    if (pkg_fetch_memory(f, url, PKG_RELEASE_MAX_BYTES, what, &bytes, &len, err) < 0 ||
        pkg_release_verify(env->gpgv, bytes, len, in->keyrings, in->nkeyrings, what, &text,
                           &text_len, err) < 0 ||
        pkg_release_parse(text, text_len, what, &rs->release, err) < 0)
        return -1;
    if (rs->release.valid_until_s >= 0 && env->now > rs->release.valid_until_s)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s expired (Valid-Until is before now): the mirror is out of "
                              "date, or replays an old archive; try another mirror",
                              what);
    if (rs->release.date_s > env->now + FUTURE_SLACK_S)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s is dated '%s', in the future: check this machine's clock", what,
                              rs->release.date);
    if ((rs->release.suite == NULL || strcmp(rs->release.suite, r->suite) != 0) &&
        (rs->release.codename == NULL || strcmp(rs->release.codename, r->suite) != 0))
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s names suite '%s' (codename '%s'), not '%s': the mirror serves "
                              "another suite's Release in its place; try another mirror",
                              what, rs->release.suite ? rs->release.suite : "none",
                              rs->release.codename ? rs->release.codename : "none", r->suite);
    if (before != NULL && (before_s = pkg_release_date(before->date)) >= 0 &&
        rs->release.date_s < before_s)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s is dated '%s', older than the '%s' the lock was made from: the "
                              "mirror is behind, or replays an old archive; try another mirror, "
                              "or remove the lock to start from an older archive on purpose",
                              what, rs->release.date, before->date);
    sha256_digest(bytes, len, digest);
    lr->suite = xstrdup(r->suite);
    lr->date = xstrdup(rs->release.date);
    snprintf(lr->inrelease, sizeof(lr->inrelease), "%s", digest);
    lr->components = xcalloc(r->ncomponents + 1, sizeof(*lr->components));
    for (size_t k = 0; k < r->ncomponents; k++)
        lr->components[lr->ncomponents++] = xstrdup(r->components[k]);
    return 0;
}

static void
copy_locked(struct pkg_locked *dst, const struct pkg_package *p)
{
    dst->name = xstrdup(p->name);
    dst->version = xstrdup(p->version);
    dst->architecture = xstrdup(p->architecture);
    dst->source = xstrdup(p->source);
    dst->source_version = xstrdup(p->source_version);
    dst->filename = xstrdup(p->filename);
    dst->size = p->size;
    memcpy(dst->sha256, p->sha256, sizeof(dst->sha256));
    dst->repository = p->repository;
}

/* The packages of one architecture, keeping the previous lock's versions when asked. */
static int
choose(const struct pkg_index *idx, const struct pkg_inputs *in,
       const struct pkg_lock_arch *previous, struct pkg_lock_arch *out, struct temper_err *err)
{
    const char **names = NULL, **versions = NULL;
    const struct pkg_package **chosen = NULL;
    struct pkg_request req = {
        in->packages, in->npackages, in->exclude, in->nexclude, NULL, NULL, 0};
    size_t n = 0;

    if (previous != NULL) {
        names = xcalloc(previous->n + 1, sizeof(*names));
        versions = xcalloc(previous->n + 1, sizeof(*versions));
        for (size_t i = 0; i < previous->n; i++) {
            names[i] = previous->packages[i].name;
            versions[i] = previous->packages[i].version;
        }
        req.keep_names = names;
        req.keep_versions = versions;
        req.nkeep = previous->n;
    }
    if (pkg_resolve(idx, &req, &chosen, &n, err) < 0) {
        free(names);
        free(versions);
        return temper_err_prefix(err, "architecture '%s'", out->name);
    }
    out->packages = xcalloc(n + 1, sizeof(*out->packages));
    for (size_t i = 0; i < n; i++)
        copy_locked(&out->packages[out->n++], chosen[i]);
    free(chosen);
    free(names);
    free(versions);
    return 0;
}

int
pkg_lock_make(const struct pkg_inputs *in, const char *inputs_json, const char *inputs_digest,
              const struct pkg_lock *previous, bool update, const struct pkg_env *env,
              struct pkg_lock **out, struct temper_err *err)
{
    struct pkg_lock *lock = xcalloc(1, sizeof(*lock));
    struct repo_state *rs = xcalloc(in->nrepositories + 1, sizeof(*rs));
    struct pkg_index **idx = xcalloc(in->narchitectures + 1, sizeof(*idx));
    struct pkg_fetcher *f = NULL;
    int rc = -1;

    if (env->offline) {
        temper_err_set(err, TEMPER_E_USAGE, 0,
                       "--offline: a lock is made from the archive's indexes; run temper lock "
                       "where the archive can be reached");
        goto out;
    }
    for (size_t i = 0; i < in->nrepositories; i++) {
        for (size_t k = 0; k < i; k++) {
            if (strcmp(in->repositories[i].suite, in->repositories[k].suite) == 0) {
                temper_err_set(err, TEMPER_E_USAGE, 0,
                               "suite '%s' is named by two repositories: name each once",
                               in->repositories[i].suite);
                goto out;
            }
        }
    }
    if (pkg_fetcher_new(env, &f, err) < 0)
        goto out;
    snprintf(lock->inputs_digest, sizeof(lock->inputs_digest), "%s", inputs_digest);
    lock->inputs = xstrdup(inputs_json);
    lock->repositories = xcalloc(in->nrepositories + 1, sizeof(*lock->repositories));
    lock->archs = xcalloc(in->narchitectures + 1, sizeof(*lock->archs));
    for (size_t a = 0; a < in->narchitectures; a++) {
        idx[a] = pkg_index_new();
        lock->archs[lock->narchs++].name = xstrdup(in->architectures[a]);
    }
    for (size_t i = 0; i < in->nrepositories; i++) {
        const struct pkg_repository *r = &in->repositories[i];

        if (open_repository(f, r, in, env, previous, &rs[i],
                            &lock->repositories[lock->nrepositories++], err) < 0)
            goto out;
        for (size_t a = 0; a < in->narchitectures; a++) {
            for (size_t k = 0; k < r->ncomponents; k++) {
                if (add_index(f, &rs[i], r->suite, r->components[k], in->architectures[a], i,
                              idx[a], err) < 0 ||
                    (!rs[i].release.all_in_arch &&
                     add_index(f, &rs[i], r->suite, r->components[k], "all", i, idx[a], err) < 0))
                    goto out;
            }
        }
    }
    for (size_t a = 0; a < in->narchitectures; a++) {
        const struct pkg_lock_arch *prev =
            previous != NULL && !update ? pkg_lock_arch(previous, in->architectures[a]) : NULL;

        if (choose(idx[a], in, prev, &lock->archs[a], err) < 0)
            goto out;
    }
    *out = lock;
    lock = NULL;
    rc = 0;
out:
    for (size_t i = 0; i < in->nrepositories; i++) {
        free(rs[i].url);
        pkg_release_release(&rs[i].release);
    }
    free(rs);
    for (size_t a = 0; a < in->narchitectures; a++)
        pkg_index_free(idx[a]);
    free(idx);
    pkg_fetcher_free(f);
    pkg_lock_free(lock);
    return rc;
}
