/*
 * The lock file: JSON written with sorted keys and two-space indentation,
 * one package an object, so that a change of version is a one-line diff a
 * reviewer can read. It holds no URL: only what the archive served (each
 * suite's InRelease digest and Date, each package's version, pool path,
 * size and SHA-256), so a lock made through one mirror builds through any.
 *
 * `inputs` records what the lock answers, in a canonical form: a build
 * compares it with the recipe's and refuses a stale lock, naming what
 * changed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

#define LOCKFILE_VERSION 1

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted JSON array of strings. */
static json_t *
sorted_array(const char *const *items, size_t n)
{
    const char **copy = xcalloc(n + 1, sizeof(*copy));
    json_t *a = json_array();

    if (n > 0) /* items may be NULL then, which memcpy is not given */
        memcpy(copy, items, n * sizeof(*copy));
    qsort(copy, n, sizeof(*copy), compare_strings);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(copy[i], copy[i - 1]) != 0)
            json_array_append_new(a, json_string(copy[i]));
    }
    free(copy);
    return a;
}

static json_t *
string_array(const char *const *items, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

int
pkg_inputs_canonical(const struct pkg_inputs *in, char **json, char digest[72],
                     struct temper_err *err)
{
    json_t *doc, *repos = json_array();
    const char **keys = xcalloc(in->nkeyrings + 1, sizeof(*keys));
    char **sums = xcalloc(in->nkeyrings + 1, sizeof(*sums));
    int rc = 0;

    for (size_t i = 0; i < in->nkeyrings && rc == 0; i++) {
        cleanup_free char *bytes = NULL;
        size_t len;

        rc = fs_read_file_at(AT_FDCWD, in->keyrings[i], PKG_KEYRING_MAX_BYTES, &bytes, &len, err);
        if (rc < 0) {
            temper_err_prefix(err, "keyring");
            break;
        }
        sums[i] = xmalloc(SHA256_DIGEST_STR_LEN);
        sha256_digest(bytes, len, sums[i]);
        keys[i] = sums[i];
    }
    for (size_t i = 0; i < in->nrepositories && rc == 0; i++) {
        const struct pkg_repository *r = &in->repositories[i];

        json_array_append_new(repos, json_pack("{s:s, s:o}", "suite", r->suite, "components",
                                               string_array(r->components, r->ncomponents)));
    }
    if (rc == 0) {
        doc = json_pack("{s:o, s:o, s:o, s:o, s:o}", "architectures",
                        sorted_array(in->architectures, in->narchitectures), "exclude",
                        sorted_array(in->exclude, in->nexclude), "keyrings",
                        sorted_array(keys, in->nkeyrings), "packages",
                        sorted_array(in->packages, in->npackages), "repositories",
                        json_incref(repos));
        *json = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(doc);
        sha256_digest(*json, strlen(*json), digest);
    }
    json_decref(repos);
    for (size_t i = 0; i < in->nkeyrings; i++)
        free(sums[i]);
    free(sums);
    free(keys);
    return rc;
}

/* ---- reading ---- */

struct reader {
    const char *path;
    struct temper_err *err;
};

static int
bad(const struct reader *r, const char *member, const char *why)
{
    return temper_err_set(r->err, TEMPER_E_PARSE, 0,
                          "lock '%s': %s %s; make it again with temper lock", r->path, member, why);
}

static char *
get_string(const struct reader *r, const json_t *obj, const char *key, const char *member)
{
    const char *s = json_string_value(json_object_get(obj, key));
    char what[160];

    if (s == NULL || s[0] == '\0' || strlen(s) > PKG_LOCK_STRING_MAX_BYTES) {
        snprintf(what, sizeof(what), "%s.%s", member, key);
        bad(r, what, "is missing, empty, too long or not a string");
        return NULL;
    }
    return xstrdup(s);
}

static int
read_repositories(const struct reader *r, const json_t *doc, struct pkg_lock *lock)
{
    const json_t *repos = json_object_get(doc, "repositories"), *repo;
    size_t i;

    if (!json_is_array(repos) || json_array_size(repos) == 0 ||
        json_array_size(repos) > PKG_LOCK_REPOSITORIES_MAX)
        return bad(r, "repositories", "is not a list of suites");
    lock->repositories = xcalloc(json_array_size(repos), sizeof(*lock->repositories));
    json_array_foreach(repos, i, repo)
    {
        struct pkg_lock_repository *lr = &lock->repositories[lock->nrepositories++];
        const json_t *comps = json_object_get(repo, "components"), *c;
        const char *sum = json_string_value(json_object_get(repo, "inrelease"));
        size_t k;

        if ((lr->suite = get_string(r, repo, "suite", "repositories[]")) == NULL ||
            (lr->date = get_string(r, repo, "date", "repositories[]")) == NULL)
            return -1;
        if (sum == NULL || strncmp(sum, "sha256:", 7) != 0 || !pkg_is_hex64(sum + 7))
            return bad(r, "repositories[].inrelease", "is not a sha256 digest");
        snprintf(lr->inrelease, sizeof(lr->inrelease), "%s", sum);
        if (!json_is_array(comps) || json_array_size(comps) == 0 || json_array_size(comps) > 64)
            return bad(r, "repositories[].components", "is not a list of components");
        lr->components = xcalloc(json_array_size(comps), sizeof(*lr->components));
        json_array_foreach(comps, k, c)
        {
            if (!json_is_string(c))
                return bad(r, "repositories[].components", "holds what is not a string");
            lr->components[lr->ncomponents++] = xstrdup(json_string_value(c));
        }
    }
    return 0;
}

static int
read_package(const struct reader *r, const struct pkg_lock *lock, const json_t *obj,
             struct pkg_locked *p)
{
    const json_t *size = json_object_get(obj, "size");
    cleanup_free char *suite = NULL, *sha = NULL;
    size_t i;

    if ((p->name = get_string(r, obj, "name", "package")) == NULL ||
        (p->version = get_string(r, obj, "version", "package")) == NULL ||
        (p->architecture = get_string(r, obj, "architecture", "package")) == NULL ||
        (p->source = get_string(r, obj, "source", "package")) == NULL ||
        (p->source_version = get_string(r, obj, "source_version", "package")) == NULL ||
        (p->filename = get_string(r, obj, "filename", "package")) == NULL ||
        (suite = get_string(r, obj, "repository", "package")) == NULL ||
        (sha = get_string(r, obj, "sha256", "package")) == NULL)
        return -1;
    if (!pkg_version_is_valid(p->version) || !pkg_version_is_valid(p->source_version))
        return bad(r, "a package's version", "is not a Debian version");
    if (!pkg_is_hex64(sha))
        return bad(r, "a package's sha256", "is not 64 lowercase hex digits");
    memcpy(p->sha256, sha, 65);
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return bad(r, "a package's size", "is not a number of bytes");
    p->size = (uint64_t)json_integer_value(size);
    if (!pkg_is_pool_path(p->filename))
        return bad(r, "a package's filename", "is not a pool path");
    if (!pkg_is_package_name(p->name) || !pkg_is_package_name(p->source) ||
        !pkg_is_arch_name(p->architecture))
        return bad(r, "a package's name, source or architecture", "is not as Debian writes it");
    for (i = 0; i < lock->nrepositories; i++) {
        if (strcmp(lock->repositories[i].suite, suite) == 0)
            break;
    }
    if (i == lock->nrepositories)
        return bad(r, "a package's repository", "names no suite of the lock");
    p->repository = i;
    return 0;
}

static int
read_archs(const struct reader *r, const json_t *doc, struct pkg_lock *lock)
{
    const json_t *archs = json_object_get(doc, "architectures"), *list;
    const char *name;

    if (!json_is_object(archs) || json_object_size(archs) == 0 || json_object_size(archs) > 64)
        return bad(r, "architectures", "is not a map of architectures");
    lock->archs = xcalloc(json_object_size(archs), sizeof(*lock->archs));
    json_object_foreach((json_t *)archs, name, list)
    {
        struct pkg_lock_arch *a = &lock->archs[lock->narchs++];
        const json_t *obj;
        size_t i;

        a->name = xstrdup(name);
        if (!pkg_is_arch_name(name))
            return bad(r, "an architecture's name", "is not as Debian writes it");
        if (!json_is_array(list) || json_array_size(list) > PKG_CHOSEN_MAX)
            return bad(r, "an architecture", "is not a list of packages");
        a->packages = xcalloc(json_array_size(list) + 1, sizeof(*a->packages));
        json_array_foreach(list, i, obj)
        {
            if (read_package(r, lock, obj, &a->packages[a->n++]) < 0)
                return -1;
            if (i > 0 && strcmp(a->packages[i - 1].name, a->packages[i].name) >= 0)
                return bad(r, "an architecture's packages", "are not sorted by name, once each");
        }
    }
    return 0;
}

int
pkg_lock_load(const char *path, struct pkg_lock **out, struct temper_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;

    if (fs_read_file_at(AT_FDCWD, path, PKG_LOCK_MAX_BYTES, &text, &len, err) < 0)
        return temper_err_prefix(err, "lock");
    return pkg_lock_parse(text, len, path, out, err);
}

int
pkg_lock_parse(const char *text, size_t len, const char *path, struct pkg_lock **out,
               struct temper_err *err)
{
    struct reader r = {path, err};
    struct pkg_lock *lock;
    json_error_t jerr;
    const json_t *version, *inputs;
    const char *digest;
    json_t *doc;
    int rc = -1;

    if (len > PKG_LOCK_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "lock '%s' is over %d bytes", path,
                              PKG_LOCK_MAX_BYTES);
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "lock '%s' is not JSON (line %d: %s); make it again with temper "
                              "lock",
                              path, jerr.line, jerr.text);
    }
    lock = xcalloc(1, sizeof(*lock));
    version = json_object_get(doc, "lockfile_version");
    inputs = json_object_get(doc, "inputs");
    digest = json_string_value(json_object_get(doc, "inputs_digest"));
    if (!json_is_integer(version) || json_integer_value(version) != LOCKFILE_VERSION) {
        temper_err_set(err, TEMPER_E_PARSE, 0,
                       "lock '%s' is not of lockfile_version %d, the one this temper reads; "
                       "make it again with temper lock",
                       path, LOCKFILE_VERSION);
        goto out;
    }
    if (!json_is_object(inputs) || digest == NULL || strncmp(digest, "sha256:", 7) != 0 ||
        !pkg_is_hex64(digest + 7)) {
        bad(&r, "inputs", "are missing");
        goto out;
    }
    snprintf(lock->inputs_digest, sizeof(lock->inputs_digest), "%s", digest);
    lock->inputs = json_dumps(inputs, JSON_COMPACT | JSON_SORT_KEYS);
    if (read_repositories(&r, doc, lock) < 0 || read_archs(&r, doc, lock) < 0)
        goto out;
    *out = lock;
    lock = NULL;
    rc = 0;
out:
    pkg_lock_free(lock);
    json_decref(doc);
    return rc;
}

void
pkg_lock_free(struct pkg_lock *lock)
{
    if (lock == NULL)
        return;
    free(lock->inputs);
    for (size_t i = 0; i < lock->nrepositories; i++) {
        struct pkg_lock_repository *r = &lock->repositories[i];

        free(r->suite);
        free(r->date);
        for (size_t k = 0; k < r->ncomponents; k++)
            free(r->components[k]);
        free(r->components);
    }
    free(lock->repositories);
    for (size_t i = 0; i < lock->narchs; i++) {
        struct pkg_lock_arch *a = &lock->archs[i];

        for (size_t k = 0; k < a->n; k++) {
            struct pkg_locked *p = &a->packages[k];

            free(p->name);
            free(p->version);
            free(p->architecture);
            free(p->source);
            free(p->source_version);
            free(p->filename);
        }
        free(a->packages);
        free(a->name);
    }
    free(lock->archs);
    free(lock);
}

const struct pkg_lock_arch *
pkg_lock_arch(const struct pkg_lock *lock, const char *arch)
{
    for (size_t i = 0; i < lock->narchs; i++) {
        if (strcmp(lock->archs[i].name, arch) == 0)
            return &lock->archs[i];
    }
    return NULL;
}

/* ---- writing ---- */

static json_t *
lock_json(const struct pkg_lock *lock)
{
    json_t *repos = json_array(), *archs = json_object();
    json_t *inputs = json_loads(lock->inputs, 0, NULL);

    for (size_t i = 0; i < lock->nrepositories; i++) {
        const struct pkg_lock_repository *r = &lock->repositories[i];

        json_array_append_new(
            repos, json_pack("{s:s, s:o, s:s, s:s}", "suite", r->suite, "components",
                             string_array((const char *const *)r->components, r->ncomponents),
                             "date", r->date, "inrelease", r->inrelease));
    }
    for (size_t i = 0; i < lock->narchs; i++) {
        const struct pkg_lock_arch *a = &lock->archs[i];
        json_t *list = json_array();

        for (size_t k = 0; k < a->n; k++) {
            const struct pkg_locked *p = &a->packages[k];

            json_array_append_new(
                list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "name", p->name,
                                "version", p->version, "architecture", p->architecture, "source",
                                p->source, "source_version", p->source_version, "filename",
                                p->filename, "repository", lock->repositories[p->repository].suite,
                                "size", (json_int_t)p->size, "sha256", p->sha256));
        }
        json_object_set_new(archs, a->name, list);
    }
    return json_pack("{s:i, s:s, s:o, s:o, s:o}", "lockfile_version", LOCKFILE_VERSION,
                     "inputs_digest", lock->inputs_digest, "inputs",
                     inputs != NULL ? inputs : json_object(), "repositories", repos,
                     "architectures", archs);
}

int
pkg_lock_save(const struct pkg_lock *lock, const char *path, struct temper_err *err)
{
    json_t *doc = lock_json(lock);
    cleanup_free char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS), *what = NULL;
    cleanup_free char *lines = NULL;

    json_decref(doc);
    if (text == NULL)
        return temper_err_set(err, TEMPER_E_IO, 0, "cannot write lock '%s'", path);
    lines = xasprintf("%s\n", text);
    what = xasprintf("lock '%s'", path);
    return fs_write_file_atomic(path, lines, strlen(lines), what, err);
}

/* ---- staleness ---- */

/* "added a, b; removed c" between two arrays of strings, into out. */
static void
list_changes(const json_t *was, const json_t *now, char *out, size_t cap)
{
    size_t used = 0, i;
    const json_t *v;

    out[0] = '\0';
    for (int pass = 0; pass < 2; pass++) {
        const json_t *from = pass == 0 ? now : was, *other = pass == 0 ? was : now;
        bool first = true;

        json_array_foreach(from, i, v)
        {
            bool found = false;
            size_t k;
            const json_t *w;

            json_array_foreach(other, k, w) found |= json_equal(v, w);
            if (found || used >= cap)
                continue;
            used += (size_t)snprintf(out + used, cap - used, "%s%s%s",
                                     first ? (used ? "; " : "") : ", ",
                                     first ? (pass == 0 ? "added " : "removed ") : "",
                                     json_string_value(v) ? json_string_value(v) : "?");
            first = false;
        }
    }
}

int
pkg_lock_check(const struct pkg_lock *lock, const struct pkg_inputs *in, const char *path,
               struct temper_err *err)
{
    static const char *const keys[] = {"packages", "exclude", "architectures", "keyrings",
                                       "repositories"};
    cleanup_free char *json = NULL;
    char digest[72], what[700] = "", detail[300];
    json_t *was, *now;
    size_t used = 0;

    if (pkg_inputs_canonical(in, &json, digest, err) < 0)
        return -1;
    if (strcmp(digest, lock->inputs_digest) == 0)
        return 0;
    was = json_loads(lock->inputs, 0, NULL);
    now = json_loads(json, 0, NULL);
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const json_t *a = json_object_get(was, keys[k]), *b = json_object_get(now, keys[k]);

        if (json_equal(a, b))
            continue;
        if (k < 3)
            list_changes(a, b, detail, sizeof(detail));
        else
            snprintf(detail, sizeof(detail), "changed");
        used += (size_t)snprintf(what + used, used < sizeof(what) ? sizeof(what) - used : 0,
                                 "%s%s: %s", used ? "; " : "", keys[k], detail);
        if (used >= sizeof(what))
            break;
    }
    json_decref(was);
    json_decref(now);
    return temper_err_set(err, TEMPER_E_POLICY, 0,
                          "lock '%s' does not answer the recipe (%s): run temper lock to make "
                          "it again",
                          path, what[0] ? what : "its inputs changed");
}

void
pkg_lock_changes(const struct pkg_lock *old, const struct pkg_lock *new,
                 void (*fn)(void *arg, const char *arch, const char *name, const char *old_version,
                            const char *new_version),
                 void *arg)
{
    for (size_t a = 0; a < new->narchs; a++) {
        const struct pkg_lock_arch *na = &new->archs[a];
        const struct pkg_lock_arch *oa = old != NULL ? pkg_lock_arch(old, na->name) : NULL;
        size_t i = 0, k = 0, on = oa != NULL ? oa->n : 0;

        /* both lists are sorted by name: one merge */
        while (i < on || k < na->n) {
            int c = i == on      ? 1
                    : k == na->n ? -1
                                 : strcmp(oa->packages[i].name, na->packages[k].name);

            if (c < 0) {
                fn(arg, na->name, oa->packages[i].name, oa->packages[i].version, NULL);
                i++;
            } else if (c > 0) {
                fn(arg, na->name, na->packages[k].name, NULL, na->packages[k].version);
                k++;
            } else {
                if (strcmp(oa->packages[i].version, na->packages[k].version) != 0)
                    fn(arg, na->name, na->packages[k].name, oa->packages[i].version,
                       na->packages[k].version);
                i++, k++;
            }
        }
    }
}
