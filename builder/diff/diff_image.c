/*
 * One image read through a source: its manifest and config (checked
 * against their descriptors, parsed with duplicate keys refused), its
 * layers streamed one at a time, and the hardening summary of what it
 * holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/xalloc.h"
#include "diff-internal.h"
#include "rootfs/rootfs_plan.h"

static int
parse_json(const char *what, const char *digest, const char *buf, size_t len, json_t **out,
           struct temper_err *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    char shown[200];

    if (j == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s '%s' is not JSON: line %d: %s", what,
                              digest, jerr.line, temper_printable(jerr.text, shown, sizeof(shown)));
    if (!json_is_object(j)) {
        json_decref(j);
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s '%s' is not a JSON object", what, digest);
    }
    *out = j;
    return 0;
}

/* A descriptor temper may use as it is: sha256 digest, media type that fits, size >= 0. */
static int
parse_descriptor(const json_t *j, const char *what, struct oci_descriptor *out,
                 struct temper_err *err)
{
    const json_t *mt = json_object_get(j, "mediaType"), *dg = json_object_get(j, "digest"),
                 *sz = json_object_get(j, "size");

    if (!json_is_object(j) || !json_is_string(mt) || !json_is_string(dg) || !json_is_integer(sz) ||
        json_integer_value(sz) < 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "the manifest's %s is not a descriptor (string mediaType and "
                              "digest, integer size)",
                              what);
    if (!sha256_is_digest(json_string_value(dg)))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "the manifest's %s has a digest that is not sha256:<64 hex>", what);
    if (json_string_length(mt) >= OCI_MEDIA_TYPE_MAX ||
        strlen(json_string_value(mt)) != json_string_length(mt))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "the manifest's %s has a bad mediaType",
                              what);
    memcpy(out->media_type, json_string_value(mt), json_string_length(mt) + 1);
    memcpy(out->digest, json_string_value(dg), strlen(json_string_value(dg)) + 1);
    out->size = (uint64_t)json_integer_value(sz);
    return 0;
}

static int
parse_manifest(struct image_doc *doc, struct temper_err *err)
{
    const json_t *version = json_object_get(doc->manifest, "schemaVersion");
    const json_t *layers = json_object_get(doc->manifest, "layers");
    char what[48];

    if (!json_is_integer(version) || json_integer_value(version) != 2)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "manifest '%s': schemaVersion is not 2",
                              doc->desc.digest);
    if (parse_descriptor(json_object_get(doc->manifest, "config"), "config", &doc->config_desc,
                         err) < 0)
        return temper_err_prefix(err, "manifest '%s'", doc->desc.digest);
    if (!json_is_array(layers))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "manifest '%s' has no layers array",
                              doc->desc.digest);
    if (json_array_size(layers) > OCI_MANIFEST_MAX_LAYERS)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "manifest '%s' has %zu layers, more than %d",
                              doc->desc.digest, json_array_size(layers), OCI_MANIFEST_MAX_LAYERS);
    doc->nlayers = json_array_size(layers);
    doc->layers = xcalloc(doc->nlayers + 1, sizeof(*doc->layers));
    doc->diff_ids = xcalloc(doc->nlayers + 1, sizeof(*doc->diff_ids));
    for (size_t i = 0; i < doc->nlayers; i++) {
        snprintf(what, sizeof(what), "layer %zu", i + 1);
        if (parse_descriptor(json_array_get(layers, i), what, &doc->layers[i], err) < 0)
            return temper_err_prefix(err, "manifest '%s'", doc->desc.digest);
    }
    return 0;
}

/* The config's diff_ids, when it has one sha256 diff_id per layer (else they stay ""). */
static void
take_diff_ids(struct image_doc *doc)
{
    const json_t *ids = json_object_get(json_object_get(doc->config, "rootfs"), "diff_ids");

    if (json_array_size(ids) != doc->nlayers)
        return;
    for (size_t i = 0; i < doc->nlayers; i++)
        if (!sha256_is_digest(json_string_value(json_array_get(ids, i))))
            return;
    for (size_t i = 0; i < doc->nlayers; i++)
        memcpy(doc->diff_ids[i], json_string_value(json_array_get(ids, i)), SHA256_DIGEST_STR_LEN);
}

static int
load(const struct oci_source *src, const struct oci_descriptor *desc, struct image_doc *doc,
     struct temper_err *err)
{
    cleanup_free char *buf = NULL;
    size_t len;
    char shown[128];

    if (!oci_is_image_manifest(desc->media_type))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' is '%s', not an image manifest: name one platform's "
                              "manifest by its digest (REPO@sha256:...)",
                              desc->digest,
                              temper_printable(desc->media_type, shown, sizeof(shown)));
    doc->desc = *desc;
    if (oci_source_read(src, "manifest", desc, OCI_MANIFEST_MAX_BYTES, &buf, &len, err) < 0 ||
        parse_json("manifest", desc->digest, buf, len, &doc->manifest, err) < 0 ||
        parse_manifest(doc, err) < 0)
        return -1;
    free(steal_pointer(&buf));
    if (oci_source_read(src, "config", &doc->config_desc, OCI_CONFIG_MAX_BYTES, &buf, &len, err) <
            0 ||
        parse_json("config", doc->config_desc.digest, buf, len, &doc->config, err) < 0)
        return -1;
    take_diff_ids(doc);
    return 0;
}

int
image_load(const struct oci_source *src, const struct oci_descriptor *desc, struct image_doc *out,
           struct temper_err *err)
{
    struct image_doc doc = {0};

    if (load(src, desc, &doc, err) < 0) {
        image_doc_release(&doc);
        return temper_err_prefix(err, "%s", src->name);
    }
    *out = doc;
    return 0;
}

void
image_doc_release(struct image_doc *doc)
{
    json_decref(doc->manifest);
    json_decref(doc->config);
    free(doc->layers);
    free(doc->diff_ids);
    *doc = (struct image_doc){0};
}

int
image_layer_load(const struct oci_source *src, const struct image_doc *doc, size_t i,
                 struct image_layer_entries *out, struct temper_err *err)
{
    char name[128];
    struct temper_err closing;
    int fd, rc;

    snprintf(name, sizeof(name), "layer %zu '%s'", i + 1, doc->layers[i].digest);
    fd = src->ops->open(src->arg, &doc->layers[i], err);
    if (fd < 0)
        return temper_err_prefix(err, "%s: %s", src->name, name);
    rc = image_layer_read(fd, &doc->layers[i], name, out, err);
    /* A transfer that broke off is the cause of whatever the reader saw. */
    if (src->ops->close(src->arg, fd, &closing) < 0) {
        if (rc == 0)
            image_layer_entries_release(out);
        *err = closing;
        rc = -1;
    }
    return rc < 0 ? temper_err_prefix(err, "%s", src->name) : 0;
}

/* ---- hardening ---- */

/*
 * The image as extraction would leave it, for the hardening summary: one record per path,
 * sorted, with only what the summary needs. Layers are applied in order: first the layer's
 * whiteouts (".wh.NAME" removes NAME and all below it, ".wh..wh..opq" everything below its
 * directory, from the layers below only), then its entries. A hard link gets what its target
 * had at the moment of the link (its type, mode, ELF magic, capability), found earlier in the
 * layer or in the layers below, as a tar extraction links to that inode.
 */
struct hpath {
    char *path;
    unsigned mode;
    enum image_entry_type type;
    bool elf, cap;
};

struct image_hardening_view {
    struct hpath *paths; /* sorted by path */
    size_t n;
    uint64_t held; /* as path_held() counts each path */
    uint64_t work; /* path bytes compared to apply whiteouts and find link targets (tests) */
};

struct image_hardening_view *
image_hardening_view_new(void)
{
    return xcalloc(1, sizeof(struct image_hardening_view));
}

void
image_hardening_view_free(struct image_hardening_view *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++)
        free(v->paths[i].path);
    free(v->paths);
    free(v);
}

static bool
has_capability(const struct image_entry *e)
{
    for (size_t i = 0; i < e->npax; i++)
        if (strcmp(e->pax[i].key, "SCHILY.xattr.security.capability") == 0)
            return true;
    return false;
}

static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

bool
image_entry_is_whiteout(const struct image_entry *e)
{
    return strncmp(base_name(e->path), ".wh.", 4) == 0;
}

/* "/a/.wh.b" -> "/a/b"; "/a/.wh..wh..opq" -> "/a" with *opaque (malloc'd). */
char *
image_whiteout_target(const char *path, bool *opaque)
{
    const char *base = base_name(path);
    size_t dir = (size_t)(base - path);

    *opaque = strcmp(base, ".wh..wh..opq") == 0;
    if (*opaque)
        return dir > 1 ? xstrndup(path, dir - 1) : xstrdup("/");
    return xasprintf("%.*s%s", (int)dir, path, base + 4);
}

/* The first index of v->paths not before `key` (v->n when none): each step compares the key
 * once, so it is counted as the key's length. */
static size_t
lower_bound(struct image_hardening_view *v, const char *key)
{
    size_t lo = 0, hi = v->n, len = strlen(key);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        v->work += len;
        if (strcmp(v->paths[mid].path, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct hpath *
find_old(struct image_hardening_view *v, const char *path)
{
    size_t at = lower_bound(v, path);

    return at < v->n && strcmp(v->paths[at].path, path) == 0 ? &v->paths[at] : NULL;
}

/* The range of v->paths strictly below directory `dir` ("/a" -> "/a/..."): the paths that start
 * with "dir/" are the ones from "dir/" up to, not including, "dir0" ('0' follows '/'). */
static void
below(struct image_hardening_view *v, const char *dir, size_t *lo, size_t *hi)
{
    size_t len = strlen(dir);
    cleanup_free char *key = xmalloc(len + 2);

    memcpy(key, dir, len);
    if (len == 1) /* "/": every path but "/" itself */
        len = 0;
    key[len] = '/';
    key[len + 1] = '\0';
    *lo = lower_bound(v, key);
    if (*lo < v->n && strcmp(v->paths[*lo].path, key) == 0)
        (*lo)++;
    key[len] = '0';
    *hi = lower_bound(v, key);
}

/*
 * Which paths of the layers below the layer's whiteouts remove: ".wh.NAME" removes NAME and
 * all below it, ".wh..wh..opq" all below its directory. Each whiteout is a range of the sorted
 * view (two binary searches), and the ranges are summed up in one pass (a difference array):
 * the work is linear in the view and the whiteouts' bytes, whatever the depth of the paths or
 * the number of whiteouts (a whiteout listed 16 times over 64,000 paths of 4 KB took hours
 * when each path's every parent was looked up). Returns v->n flags (malloc'd).
 */
static bool *
whited_out(struct image_hardening_view *v, const struct image_layer_entries *layer)
{
    cleanup_free int64_t *edge = xcalloc(v->n + 1, sizeof(*edge));
    bool *gone = xcalloc(v->n + 1, sizeof(*gone));
    int64_t depth = 0;

    for (size_t e = 0; e < layer->n && v->n > 0; e++) {
        bool is_opaque;
        cleanup_free char *target = NULL;
        size_t lo, hi;

        if (!image_entry_is_whiteout(&layer->entries[e]))
            continue;
        target = image_whiteout_target(layer->entries[e].path, &is_opaque);
        if (!is_opaque && (lo = lower_bound(v, target)) < v->n &&
            strcmp(v->paths[lo].path, target) == 0) {
            edge[lo]++;
            edge[lo + 1]--;
        }
        if (is_opaque || strcmp(target, "/") != 0) { /* ".wh." at the top names "/" only */
            below(v, target, &lo, &hi);
            edge[lo]++;
            edge[hi]--;
        }
    }
    for (size_t i = 0; i < v->n; i++) {
        depth += edge[i];
        gone[i] = depth > 0;
    }
    v->work += v->n;
    return gone;
}

/* A layer's entries sorted by path, then position: the last one before a position is found. */
static int
by_path_position(const void *x, const void *y)
{
    const struct image_entry *a = *(const struct image_entry *const *)x;
    const struct image_entry *b = *(const struct image_entry *const *)y;
    int c = strcmp(a->path, b->path);

    if (c != 0)
        return c;
    return a->position < b->position ? -1 : a->position > b->position;
}

/* The last entry of `path` before `position` in the sorted layer, or NULL. */
static const struct image_entry *
find_earlier(const struct image_entry **sorted, size_t n, const char *path, size_t position)
{
    size_t lo = 0, hi = n;

    while (lo < hi) { /* the first entry not before (path, position) */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(sorted[mid]->path, path);

        if (c < 0 || (c == 0 && sorted[mid]->position < position))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && strcmp(sorted[lo - 1]->path, path) == 0)
        return sorted[lo - 1];
    return NULL;
}

static struct hpath
own(const struct image_entry *e)
{
    return (struct hpath){NULL, e->mode, e->type, e->type == IMAGE_ENTRY_FILE && e->is_elf,
                          has_capability(e)};
}

/* What a path of the view holds: its string as allocated, and its record twice, since a layer
 * is merged into a new array beside the old one. */
static uint64_t
path_held(const char *path)
{
    return xalloc_held(strlen(path) + 1) + 2 * sizeof(struct hpath);
}

static int
over_view(const char *name, struct temper_err *err)
{
    return temper_err_set(err, TEMPER_E_LIMIT, 0,
                          "%s: the image holds more than %d paths or %lld bytes of memory for "
                          "them (DIFF_IMAGE_MAX_PATHS, DIFF_IMAGE_MAX_HELD_BYTES) for its "
                          "hardening summary",
                          name, DIFF_IMAGE_MAX_PATHS, (long long)DIFF_IMAGE_MAX_HELD_BYTES);
}

int
image_hardening_view_add(struct image_hardening_view *v, const struct image_layer_entries *layer,
                         const char *name, struct temper_err *err)
{
    cleanup_free bool *gone = whited_out(v, layer);
    cleanup_free const struct image_entry **sorted = xcalloc(layer->n + 1, sizeof(*sorted));
    cleanup_free struct hpath *got = xcalloc(layer->n + 1, sizeof(*got));
    cleanup_free struct hpath *next = NULL;
    size_t i = 0, j = 0, m = 0;
    int rc = 0;

    for (size_t e = 0; e < layer->n; e++)
        sorted[e] = &layer->entries[e];
    qsort(sorted, layer->n, sizeof(*sorted), by_path_position);
    /* Each entry's attributes, in stream order, hard links resolved. */
    for (size_t e = 0; e < layer->n; e++) {
        const struct image_entry *x = &layer->entries[e], *t;
        const struct hpath *old;

        got[e] = own(x);
        if (x->type != IMAGE_ENTRY_HARDLINK || x->link == NULL)
            continue;
        if ((t = find_earlier(sorted, layer->n, x->link, x->position)) != NULL)
            got[e] = got[t->position - 1];
        else if ((old = find_old(v, x->link)) != NULL && !gone[old - v->paths])
            got[e] = *old;
        else
            continue;
        got[e].path = NULL;
        if (x->sha256[0] != '\0') /* a hard link with data writes the inode's content */
            got[e].elf = x->is_elf;
    }
    /* The last entry of each path, merged with what the layers below left. */
    next = xcalloc(v->n + layer->n + 1, sizeof(*next));
    while (i < v->n || j < layer->n) {
        const struct image_entry *x = j < layer->n ? sorted[j] : NULL;
        int c = x == NULL ? -1 : i == v->n ? 1 : strcmp(v->paths[i].path, x->path);

        if (x != NULL && (image_entry_is_whiteout(x) ||
                          (j + 1 < layer->n && strcmp(sorted[j + 1]->path, x->path) == 0))) {
            j++; /* a whiteout, or an entry a later one of its path replaces */
            continue;
        }
        if (c < 0) {
            if (gone[i]) {
                v->held -= path_held(v->paths[i].path);
                free(v->paths[i].path);
            } else {
                next[m++] = v->paths[i];
            }
            i++;
            continue;
        }
        if (c == 0) {
            v->held -= path_held(v->paths[i].path);
            free(v->paths[i++].path);
        }
        next[m] = got[x->position - 1];
        next[m].path = xstrdup(x->path);
        v->held += path_held(x->path);
        m++, j++;
    }
    free(v->paths);
    v->paths = steal_pointer(&next);
    v->n = m;
    if (v->n > DIFF_IMAGE_MAX_PATHS || v->held > DIFF_IMAGE_MAX_HELD_BYTES)
        rc = over_view(name, err);
    return rc;
}

uint64_t
image_hardening_view_work(const struct image_hardening_view *v)
{
    return v->work;
}

static void
add_path(char ***list, size_t *n, const char *path)
{
    *list = xreallocarray(*list, *n + 2, sizeof(**list));
    (*list)[(*n)++] = xstrdup(path);
    (*list)[*n] = NULL;
}

void
image_hardening_view_finish(const struct image_hardening_view *v, const struct image_doc *doc,
                            struct image_hardening *out)
{
    const json_t *user = json_object_get(json_object_get(doc->config, "config"), "User");

    *out = (struct image_hardening){.user = json_string_value(user)};
    for (size_t i = 0; i < v->n; i++) {
        const struct hpath *e = &v->paths[i];
        bool is_file = e->type == IMAGE_ENTRY_FILE || e->type == IMAGE_ENTRY_HARDLINK;

        if (e->type == IMAGE_ENTRY_FILE && e->elf)
            out->elves++;
        if (is_file && (e->mode & 06000) != 0)
            add_path(&out->setid_paths, &out->nsetid_paths, e->path);
        if (is_file && e->cap)
            add_path(&out->capability_paths, &out->ncapability_paths, e->path);
        if (e->type != IMAGE_ENTRY_SYMLINK && (e->mode & 0002) != 0 &&
            !(strcmp(e->path, "/tmp") == 0 && e->type == IMAGE_ENTRY_DIR && (e->mode & 01000)))
            add_path(&out->world_writable, &out->nworld_writable, e->path);
        if (e->type != IMAGE_ENTRY_DIR && rootfs_is_shell(e->path))
            add_path(&out->shells, &out->nshells, e->path);
    }
    out->setid = out->nsetid_paths + out->ncapability_paths;
}

void
image_hardening_of(const struct image_doc *doc, const struct image_layer_entries *layers,
                   size_t nlayers, struct image_hardening *out)
{
    struct image_hardening_view *v = image_hardening_view_new();
    struct temper_err err;
    bool incomplete = false;

    for (size_t l = 0; l < nlayers && !incomplete; l++)
        incomplete = image_hardening_view_add(v, &layers[l], "image", &err) < 0;
    image_hardening_view_finish(v, doc, out);
    out->incomplete = incomplete;
    image_hardening_view_free(v);
}

static void
free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void
image_hardening_release(struct image_hardening *h)
{
    free_list(h->setid_paths, h->nsetid_paths);
    free_list(h->capability_paths, h->ncapability_paths);
    free_list(h->world_writable, h->nworld_writable);
    free_list(h->shells, h->nshells);
    *h = (struct image_hardening){0};
}
