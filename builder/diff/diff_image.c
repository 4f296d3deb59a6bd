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

/* An entry and the layer it is in, so that the last one of a path is the one that counts. */
struct placed {
    const struct image_entry *e;
    size_t layer;
};

static int
by_path_then_order(const void *x, const void *y)
{
    const struct placed *a = x, *b = y;
    int c = strcmp(a->e->path, b->e->path);

    if (c != 0)
        return c;
    if (a->layer != b->layer)
        return a->layer < b->layer ? -1 : 1;
    return a->e->position < b->e->position ? -1 : a->e->position > b->e->position;
}

static void
add_path(char ***list, size_t *n, char *path)
{
    *list = xreallocarray(*list, *n + 2, sizeof(**list));
    (*list)[(*n)++] = path;
    (*list)[*n] = NULL;
}

void
image_hardening_of(const struct image_doc *doc, const struct image_layer_entries *layers,
                   size_t nlayers, struct image_hardening *out)
{
    const json_t *user = json_object_get(json_object_get(doc->config, "config"), "User");
    cleanup_free struct placed *all = NULL;
    size_t n = 0, total = 0;

    *out = (struct image_hardening){.user = json_string_value(user)};
    for (size_t l = 0; l < nlayers; l++)
        total += layers[l].n;
    all = xcalloc(total + 1, sizeof(*all));
    for (size_t l = 0; l < nlayers; l++)
        for (size_t i = 0; i < layers[l].n; i++)
            all[n++] = (struct placed){&layers[l].entries[i], l};
    qsort(all, n, sizeof(*all), by_path_then_order);
    for (size_t i = 0; i < n; i++) {
        const struct image_entry *e = all[i].e;

        if (i + 1 < n && strcmp(all[i + 1].e->path, e->path) == 0)
            continue; /* a later entry of the same path replaces this one */
        if (e->type == IMAGE_ENTRY_FILE && e->is_elf)
            out->elves++;
        if ((e->type == IMAGE_ENTRY_FILE || e->type == IMAGE_ENTRY_HARDLINK) &&
            (e->mode & 06000) != 0) {
            out->setid++;
            add_path(&out->setid_paths, &out->nsetid_paths, e->path);
        }
        if (e->type != IMAGE_ENTRY_SYMLINK && (e->mode & 0002) != 0 &&
            !(strcmp(e->path, "/tmp") == 0 && e->type == IMAGE_ENTRY_DIR && (e->mode & 01000)))
            add_path(&out->world_writable, &out->nworld_writable, e->path);
        if (e->type != IMAGE_ENTRY_DIR && rootfs_is_shell(e->path))
            add_path(&out->shells, &out->nshells, e->path);
    }
}

void
image_hardening_release(struct image_hardening *h)
{
    free(h->setid_paths);
    free(h->world_writable);
    free(h->shells);
    *h = (struct image_hardening){0};
}
