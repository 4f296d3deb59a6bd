/*
 * /etc/ssl/certs/ca-certificates.crt, made from the root's ca-certificates package instead of
 * taken as the root has it. A build machine's bundle also holds what was added on that machine
 * (update-ca-certificates appends /usr/local/share/ca-certificates: a company CA, an egress
 * proxy's), and an image must not trust those without a word. So when the image takes the
 * bundle and the root has /usr/share/ca-certificates, the bundle is what Debian's
 * update-ca-certificates writes with the configuration its package installs (every
 * certificate trusted): each .crt file under that directory in bytewise order of its path,
 * with a newline added to one that lacks it (pkg_generate.c makes the same bytes for a root of
 * packages), then the certificates the recipe names in contents.ca-certificates, in its order.
 * The summary says what it holds and how many certificates of the root's own bundle it left
 * out.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "recipe/recipe.h"
#include "rootfs-internal.h"

#define BUNDLE "etc/ssl/certs/ca-certificates.crt"
#define PACKAGE_CERTS "/usr/share/ca-certificates"
#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"

struct bundle {
    char *bytes;
    size_t len, certificates;
};

static size_t
count_certificates(const char *s, size_t len)
{
    size_t n = 0;

    for (const char *at = s;
         (at = memmem(at, len - (size_t)(at - s), PEM_BEGIN, strlen(PEM_BEGIN))) != NULL;
         at += strlen(PEM_BEGIN))
        n++;
    return n;
}

/* Appends one certificate file of the root, with a newline when its last line has none. */
static int
append_file(struct planner *p, struct bundle *b, const struct fs_path *fp, const char *what,
            struct temper_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;

    if (fs_read_file(p->root, fp, CA_BUNDLE_MAX_BYTES, &text, &len, err) < 0)
        return temper_err_prefix(err, "%s", what);
    if (b->len + len + 1 > CA_BUNDLE_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "%s: the CA bundle would be over %d MiB (CA_BUNDLE_MAX_BYTES)", what,
                              CA_BUNDLE_MAX_BYTES >> 20);
    b->bytes = xreallocarray(b->bytes, b->len + len + 2, 1);
    memcpy(b->bytes + b->len, text, len);
    b->len += len;
    if (len > 0 && text[len - 1] != '\n')
        b->bytes[b->len++] = '\n';
    b->bytes[b->len] = '\0';
    b->certificates += count_certificates(text, len);
    return 0;
}

static int
compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular .crt file under `dir` (canonical, in the root), as update-ca-certificates'
 * `find -type f` finds them: symlinks and directories are not certificates. */
static int
collect(struct planner *p, const struct fs_path *dir, char ***paths, size_t *n,
        struct temper_err *err)
{
    char **names = NULL;
    int rc = fs_list_dir(p->root, dir, CA_CERTIFICATES_MAX, &names, err);

    for (size_t i = 0; rc == 0 && names[i] != NULL; i++) {
        cleanup_free char *child = xasprintf("%s/%s", dir->canon, names[i]);
        size_t len = strlen(names[i]);
        const struct fs_path *fp;

        if (fs_lookup(p->root, child, &fp) != 0 ||
            (fp->nlinks > 0 && strcmp(fp->links[0], child) == 0))
            continue;
        if (fp->kind == FS_KIND_DIR) {
            rc = collect(p, fp, paths, n, err);
        } else if (fp->kind == FS_KIND_FILE && len > 4 && strcmp(names[i] + len - 4, ".crt") == 0) {
            if (*n == CA_CERTIFICATES_MAX)
                rc = temper_err_set(err, TEMPER_E_LIMIT, 0,
                                    "'%s' holds over %d certificates (CA_CERTIFICATES_MAX)",
                                    PACKAGE_CERTS, CA_CERTIFICATES_MAX);
            else {
                *paths = xreallocarray(*paths, *n + 1, sizeof(**paths));
                (*paths)[(*n)++] = xstrdup(child);
            }
        }
    }
    fs_names_free(names);
    return rc;
}

static int
package_certificates(struct planner *p, const struct fs_path *dir, struct bundle *b,
                     struct temper_err *err)
{
    char **paths = NULL;
    size_t n = 0;
    int rc = collect(p, dir, &paths, &n, err);

    qsort(paths, n, sizeof(*paths), compare_paths);
    for (size_t i = 0; i < n; i++) {
        const struct fs_path *fp;

        if (rc == 0 && fs_lookup(p->root, paths[i], &fp) == 0)
            rc = append_file(p, b, fp, paths[i], err);
        free(paths[i]);
    }
    free(paths);
    return rc;
}

/* contents.ca-certificates: regular files of the root holding a PEM certificate. */
static int
named_certificates(struct planner *p, struct bundle *b, struct temper_err *err)
{
    const struct recipe_strlist *named = &p->recipe->ca_certificates;

    for (size_t i = 0; i < named->n; i++) {
        const struct recipe_str *s = &named->items[i];
        const struct fs_path *fp;
        size_t before = b->certificates;

        if (fs_resolve(p->root, s->value, &fp, err) < 0) {
            temper_err_prefix(err, "contents.ca-certificates: '%s' is not in the root", s->value);
            return recipe_err_at(err, &s->loc);
        }
        if (fp->kind != FS_KIND_FILE || append_file(p, b, fp, s->value, err) < 0 ||
            b->certificates == before) {
            if (fp->kind != FS_KIND_FILE || b->certificates == before)
                temper_err_set(err, TEMPER_E_PARSE, 0,
                               "contents.ca-certificates: '%s' is not a file of PEM certificates "
                               "(\"" PEM_BEGIN "\")",
                               s->value);
            return recipe_err_at(err, &s->loc);
        }
    }
    return 0;
}

int
rootfs_ca_bundle(struct planner *p, struct temper_err *err)
{
    uintptr_t at = (uintptr_t)strmap_get(&p->index, BUNDLE);
    const struct recipe_strlist *named = &p->recipe->ca_certificates;
    struct rootfs_entry *e = at != 0 ? &p->plan->entries[at - 1] : NULL;
    const struct fs_path *dir, *fp;
    cleanup_free char *root_bundle = NULL;
    struct bundle b = {NULL, 0, 0};
    size_t root_len = 0, root_count;

    if (e == NULL || e->type != ROOTFS_FILE || p->origins[at - 1] != ORIGIN_ROOT) {
        if (named->n == 0)
            return 0;
        temper_err_set(err, TEMPER_E_PARSE, 0,
                       "contents.ca-certificates: the image takes no /%s from the root to add "
                       "them to; list it in contents.files",
                       BUNDLE);
        return recipe_err_at(err, &named->items[0].loc);
    }
    if (fs_lookup(p->root, PACKAGE_CERTS, &dir) != 0 || dir->kind != FS_KIND_DIR) {
        if (named->n > 0) {
            temper_err_set(err, TEMPER_E_MISSING, 0,
                           "contents.ca-certificates: the root has no %s (Debian's "
                           "ca-certificates package) to make the bundle from",
                           PACKAGE_CERTS);
            return recipe_err_at(err, &named->items[0].loc);
        }
        p->plan->summary.ca_bundle =
            xasprintf("/%s as the root has it (the root has no %s)", BUNDLE, PACKAGE_CERTS);
        return 0;
    }
    if (package_certificates(p, dir, &b, err) < 0 || named_certificates(p, &b, err) < 0) {
        free(b.bytes);
        return -1;
    }
    /* what the root's own bundle holds beyond it: certificates added on that machine */
    if (fs_lookup(p->root, e->source, &fp) == 0 &&
        fs_read_file(p->root, fp, CA_BUNDLE_MAX_BYTES, &root_bundle, &root_len, err) < 0) {
        free(b.bytes);
        return -1;
    }
    root_count = count_certificates(root_bundle != NULL ? root_bundle : "", root_len);
    p->plan->summary.ca_bundle = xasprintf(
        "/%s made from %s (%zu certificates)%s%s%s; %zu of the root's own bundle left out", BUNDLE,
        PACKAGE_CERTS, b.certificates, named->n > 0 ? ", with " : "",
        named->n > 0 ? "contents.ca-certificates" : "", named->n > 0 ? " appended" : "",
        root_count > b.certificates ? root_count - b.certificates : 0);
    free(e->source);
    e->source = NULL;
    e->content = b.bytes;
    e->size = b.len;
    p->origins[at - 1] = ORIGIN_GENERATED;
    return 0;
}
