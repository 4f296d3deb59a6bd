/*
 * Two images compared from the top down: manifest, config, then the layers
 * paired by index. JSON fields are compared as values (json_equal), so two
 * documents that differ only in key order or whitespace have no difference;
 * annotations and Labels are compared key by key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "diff-internal.h"

static bool
is_listed(const char *key, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(key, list[i]) == 0)
            return true;
    return false;
}

static int
by_string(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/*
 * The keys of objects a and b (either may be NULL) to compare: those of
 * `first` in its order, then the others of both, sorted, without `skip`.
 */
static const char **
ordered_keys(const json_t *a, const json_t *b, const char *const *first, const char *const *skip,
             size_t *n)
{
    size_t cap = json_object_size(a) + json_object_size(b) + 16, k = 0, start;
    const char **keys = xcalloc(cap, sizeof(*keys));
    const json_t *sides[2] = {a, b};
    const char *key;
    json_t *value;

    for (size_t i = 0; first[i] != NULL; i++)
        if (json_object_get(a, first[i]) != NULL || json_object_get(b, first[i]) != NULL)
            keys[k++] = first[i];
    start = k;
    for (int s = 0; s < 2; s++) {
        json_object_foreach((json_t *)sides[s], key, value)
        {
            bool seen = is_listed(key, first) || is_listed(key, skip);

            for (size_t i = start; i < k && !seen; i++)
                seen = strcmp(keys[i], key) == 0;
            if (!seen)
                keys[k++] = key;
        }
    }
    qsort(keys + start, k - start, sizeof(*keys), by_string);
    *n = k;
    return keys;
}

static char *
value_text(const json_t *v)
{
    return v ? diff_json_text(v) : NULL;
}

static json_t *
value_copy(const json_t *v)
{
    return v ? json_deep_copy(v) : NULL;
}

static void
emit_value(struct diff_out *o, const char *where, const char *field, const json_t *a,
           const json_t *b)
{
    cleanup_free char *ta = value_text(a), *tb = value_text(b);

    diff_emit(o, where, NULL, field, ta, tb, value_copy(a), value_copy(b));
}

/* annotations["k"] or Labels["k"], for every key whose value differs. */
static void
compare_map(struct diff_out *o, const char *where, const char *name, const json_t *a,
            const json_t *b)
{
    static const char *const none[] = {NULL};
    size_t n;
    cleanup_free const char **keys = ordered_keys(a, b, none, none, &n);

    for (size_t i = 0; i < n; i++) {
        const json_t *va = json_object_get(a, keys[i]), *vb = json_object_get(b, keys[i]);
        cleanup_free char *q = NULL, *field = NULL;

        if (va && vb && json_equal(va, vb))
            continue;
        q = diff_quote(keys[i], strlen(keys[i]));
        field = xasprintf("%s[%s]", name, q);
        emit_value(o, where, field, va, vb);
    }
}

static bool
is_map(const json_t *v)
{
    return v == NULL || json_is_object(v);
}

static void
compare_fields(struct diff_out *o, const char *where, const json_t *a, const json_t *b,
               const char *const *first, const char *const *skip, const char *map)
{
    size_t n;
    cleanup_free const char **keys = ordered_keys(a, b, first, skip, &n);

    for (size_t i = 0; i < n; i++) {
        const json_t *va = json_object_get(a, keys[i]), *vb = json_object_get(b, keys[i]);
        cleanup_free char *field = NULL;

        if (va && vb && json_equal(va, vb))
            continue;
        if (map != NULL && strcmp(keys[i], map) == 0 && is_map(va) && is_map(vb)) {
            compare_map(o, where, map, va, vb);
            continue;
        }
        field = diff_quote(keys[i], strlen(keys[i]));
        /* Plain names as they are ("User"); others quoted, so no key can forge a line. */
        if (strspn(keys[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                strlen(keys[i]) &&
            keys[i][0] != '\0') {
            free(field);
            field = xstrdup(keys[i]);
        }
        emit_value(o, where, field, va, vb);
    }
}

static void
compare_manifests(struct diff_out *o, const struct image_doc *a, const struct image_doc *b)
{
    static const char *const first[] = {"schemaVersion", "mediaType", "artifactType", NULL};
    static const char *const skip[] = {"config", "layers", NULL};
    static const char *const config_keys[] = {"mediaType", NULL};
    static const char *const config_skip[] = {"digest", "size", NULL};

    compare_fields(o, "manifest", a->manifest, b->manifest, first, skip, "annotations");
    /* The config descriptor's digest and size change with any config change: the config's
     * own fields say what changed. */
    compare_fields(o, "manifest config", json_object_get(a->manifest, "config"),
                   json_object_get(b->manifest, "config"), config_keys, config_skip, NULL);
    if (a->nlayers != b->nlayers) {
        cleanup_free char *ta = xasprintf("%zu", a->nlayers), *tb = xasprintf("%zu", b->nlayers);

        diff_emit(o, "manifest", NULL, "layers", ta, tb, json_integer((json_int_t)a->nlayers),
                  json_integer((json_int_t)b->nlayers));
    }
}

static void
compare_configs(struct diff_out *o, const struct image_doc *a, const struct image_doc *b)
{
    static const char *const first[] = {"created", "architecture", "os", "variant", NULL};
    static const char *const skip[] = {"config", "history", "rootfs", NULL};
    static const char *const inner_first[] = {"User",       "Env",    "Entrypoint", "Cmd",
                                              "WorkingDir", "Labels", NULL};
    static const char *const none[] = {NULL};
    static const char *const last[] = {"history", "rootfs", NULL};
    const json_t *ia = json_object_get(a->config, "config"),
                 *ib = json_object_get(b->config, "config");

    compare_fields(o, "config", a->config, b->config, first, skip, NULL);
    if (is_map(ia) && is_map(ib)) {
        compare_fields(o, "config", ia, ib, inner_first, none, "Labels");
    } else if (!(ia && ib && json_equal(ia, ib))) {
        emit_value(o, "config", "config", ia, ib);
    }
    for (size_t i = 0; last[i] != NULL; i++) {
        const json_t *va = json_object_get(a->config, last[i]),
                     *vb = json_object_get(b->config, last[i]);

        if (!(va && vb && json_equal(va, vb)) && (va || vb))
            emit_value(o, "config", last[i], va, vb);
    }
}

static json_t *
blob_json(const struct oci_descriptor *d)
{
    return json_pack("{sssI}", "digest", d->digest, "size", (json_int_t)d->size);
}

/* A layer on one side only: "layer 2: added: sha256:... (N bytes), diff_id sha256:...". */
static void
emit_lone_layer(struct diff_out *o, const char *where, const struct image_doc *doc, size_t i,
                bool added)
{
    const struct oci_descriptor *d = &doc->layers[i];
    json_t *j = json_pack("{sssssoso}", "where", where, "field", added ? "added" : "removed",
                          added ? "b" : "a", blob_json(d), added ? "a" : "b", json_null());

    if (doc->diff_ids[i][0] != '\0')
        json_object_set_new(j, "diff_id", json_string(doc->diff_ids[i]));
    diff_emit_line(o,
                   xasprintf("%s: %s: %s (%llu bytes)%s%s", where, added ? "added" : "removed",
                             d->digest, (unsigned long long)d->size,
                             doc->diff_ids[i][0] ? ", diff_id " : "", doc->diff_ids[i]),
                   j);
}

static void
emit_compression(struct diff_out *o, const char *where, const struct oci_descriptor *a,
                 const struct oci_descriptor *b, const char *diff_id)
{
    json_t *j = json_pack("{sssssoso}", "where", where, "field", "compression", "a", blob_json(a),
                          "b", blob_json(b));

    json_object_set_new(j, "diff_id", json_string(diff_id));
    diff_emit_line(o,
                   xasprintf("%s: same content, other compression: %s (%llu bytes) -> %s (%llu "
                             "bytes), diff_id %s",
                             where, a->digest, (unsigned long long)a->size, b->digest,
                             (unsigned long long)b->size, diff_id),
                   j);
}

/* Both layers streamed and their entries compared; a layer whose entries all match but whose
 * tar differs (records temper does not compare) still counts, as its diff_id. */
static int
compare_layer(struct diff_out *o, const char *where, const struct oci_source *sa,
              const struct image_doc *a, const struct oci_source *sb, const struct image_doc *b,
              size_t i, struct temper_err *err)
{
    struct image_layer_entries ea, eb;
    size_t before = o->diff->count;

    if (image_layer_load(sa, a, i, &ea, err) < 0)
        return -1;
    if (image_layer_load(sb, b, i, &eb, err) < 0) {
        image_layer_entries_release(&ea);
        return -1;
    }
    diff_entries(o, where, &ea, &eb);
    image_layer_entries_release(&ea);
    image_layer_entries_release(&eb);
    if (o->diff->count == before) {
        const char *ia = a->diff_ids[i][0] ? a->diff_ids[i] : NULL;
        const char *ib = b->diff_ids[i][0] ? b->diff_ids[i] : NULL;

        /* The tars differ in records temper does not compare (docs/internals/diff.md). */
        diff_emit(o, where, NULL, "diff_id", ia, ib, ia ? json_string(ia) : NULL,
                  ib ? json_string(ib) : NULL);
    }
    return 0;
}

static int
compare_layers(struct diff_out *o, const struct oci_source *sa, const struct image_doc *a,
               const struct oci_source *sb, const struct image_doc *b, struct temper_err *err)
{
    size_t n = a->nlayers > b->nlayers ? a->nlayers : b->nlayers;

    for (size_t i = 0; i < n; i++) {
        const struct oci_descriptor *la = &a->layers[i], *lb = &b->layers[i];
        char where[32];

        snprintf(where, sizeof(where), "layer %zu", i + 1);
        if (i >= a->nlayers) {
            emit_lone_layer(o, where, b, i, true);
        } else if (i >= b->nlayers) {
            emit_lone_layer(o, where, a, i, false);
        } else if (strcmp(la->digest, lb->digest) == 0) {
            if (strcmp(la->media_type, lb->media_type) != 0) {
                cleanup_free char *ta = diff_quote(la->media_type, strlen(la->media_type));
                cleanup_free char *tb = diff_quote(lb->media_type, strlen(lb->media_type));

                diff_emit(o, where, NULL, "mediaType", ta, tb,
                          diff_json_bytes(la->media_type, strlen(la->media_type)),
                          diff_json_bytes(lb->media_type, strlen(lb->media_type)));
            }
        } else if (a->diff_ids[i][0] != '\0' && strcmp(a->diff_ids[i], b->diff_ids[i]) == 0) {
            emit_compression(o, where, la, lb, a->diff_ids[i]);
        } else if (compare_layer(o, where, sa, a, sb, b, i, err) < 0) {
            return -1;
        }
    }
    return 0;
}

int
image_diff_compare(const struct oci_source *a, const struct oci_descriptor *da,
                   const struct oci_source *b, const struct oci_descriptor *db,
                   struct image_diff *out, struct temper_err *err)
{
    struct image_diff diff = {0};
    struct diff_out o = {&diff, 0};
    struct image_doc doc_a = {0}, doc_b = {0};
    int rc;

    memcpy(diff.digest_a, da->digest, sizeof(diff.digest_a));
    memcpy(diff.digest_b, db->digest, sizeof(diff.digest_b));
    if (strcmp(da->digest, db->digest) == 0) {
        diff.identical = true;
        *out = diff;
        return 0;
    }
    rc = image_load(a, da, &doc_a, err);
    if (rc == 0)
        rc = image_load(b, db, &doc_b, err);
    if (rc == 0) {
        compare_manifests(&o, &doc_a, &doc_b);
        compare_configs(&o, &doc_a, &doc_b);
        rc = compare_layers(&o, a, &doc_a, b, &doc_b, err);
    }
    image_doc_release(&doc_a);
    image_doc_release(&doc_b);
    if (rc < 0) {
        image_diff_release(&diff);
        return -1;
    }
    diff.identical = diff.count == 0;
    *out = diff;
    return 0;
}
