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

/* The keys of `obj` that are neither in `first` nor in `skip`, sorted, into keys + *k. */
static void
add_other_keys(const json_t *obj, const char *const *first, const char *const *skip,
               const char **keys, size_t *k)
{
    size_t start = *k;
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)obj, key, value)
    {
        if (!is_listed(key, first) && !is_listed(key, skip))
            keys[(*k)++] = key;
    }
    qsort(keys + start, *k - start, sizeof(*keys), by_string);
}

/*
 * The keys of objects a and b (either may be NULL) to compare: those of
 * `first` in its order, then the others of both, sorted, without `skip`.
 * Each side's keys are sorted and the two lists merged (O(n log n): a config
 * may hold a hundred thousand labels).
 */
static const char **
ordered_keys(const json_t *a, const json_t *b, const char *const *first, const char *const *skip,
             size_t *n)
{
    size_t na = json_object_size(a), nb = json_object_size(b), k = 0, ka = 0, kb = 0, i, j;
    const char **keys = xcalloc(na + nb + 16, sizeof(*keys));
    cleanup_free const char **ak = xcalloc(na + 1, sizeof(*ak));
    cleanup_free const char **bk = xcalloc(nb + 1, sizeof(*bk));

    for (i = 0; first[i] != NULL; i++)
        if (json_object_get(a, first[i]) != NULL || json_object_get(b, first[i]) != NULL)
            keys[k++] = first[i];
    add_other_keys(a, first, skip, ak, &ka);
    add_other_keys(b, first, skip, bk, &kb);
    for (i = 0, j = 0; i < ka || j < kb;) {
        int c = i == ka ? 1 : j == kb ? -1 : strcmp(ak[i], bk[j]);

        if (c <= 0)
            keys[k++] = ak[i++];
        else
            keys[k++] = bk[j++];
        if (c == 0)
            j++;
    }
    *n = k;
    return keys;
}

static char *
value_text(const json_t *v)
{
    return v ? diff_json_text(v) : NULL;
}

static void
emit_value(struct diff_out *o, const char *where, const char *field, const json_t *a,
           const json_t *b)
{
    cleanup_free char *ta = value_text(a), *tb = value_text(b);

    diff_emit(o, where, NULL, field, ta, tb, diff_json_copy(a), diff_json_copy(b));
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
    return diff_must(json_pack("{sssIss}", "digest", d->digest, "size", (json_int_t)d->size,
                               "mediaType", d->media_type));
}

/* A layer on one side only: "layer 2: added: sha256:... (N bytes), diff_id sha256:...". */
static void
emit_lone_layer(struct diff_out *o, const char *where, const struct image_doc *doc, size_t i,
                bool added)
{
    const struct oci_descriptor *d = &doc->layers[i];
    json_t *j =
        diff_must(json_pack("{sssssoso}", "where", where, "field", added ? "added" : "removed",
                            added ? "b" : "a", blob_json(d), added ? "a" : "b", json_null()));

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
    json_t *j = diff_must(json_pack("{sssssoso}", "where", where, "field", "compression", "a",
                                    blob_json(a), "b", blob_json(b)));

    cleanup_free char *ta = diff_quote(a->media_type, strlen(a->media_type));
    cleanup_free char *tb = diff_quote(b->media_type, strlen(b->media_type));

    json_object_set_new(j, "diff_id", json_string(diff_id));
    diff_emit_line(o,
                   xasprintf("%s: same content, other compression: %s (%llu bytes, %s) -> %s "
                             "(%llu bytes, %s), diff_id %s",
                             where, a->digest, (unsigned long long)a->size, ta, b->digest,
                             (unsigned long long)b->size, tb, diff_id),
                   j);
}

/* "layer 1: B's config names diff_id sha256:X; its content is sha256:Y". */
static void
emit_claimed(struct diff_out *o, const char *where, const char *side, const char *claimed,
             const char *real)
{
    json_t *j;

    if (claimed[0] == '\0' || strcmp(claimed, real) == 0)
        return;
    j = json_pack("{ssssssssss}", "where", where, "field", "diff_id mismatch", "image", side,
                  "claimed", claimed, "real", real);
    diff_emit_line(o,
                   xasprintf("%s: %s's config names diff_id %s; the layer's content is %s", where,
                             strcmp(side, "a") == 0 ? "A" : "B", claimed, real),
                   diff_must(j));
}

/*
 * Two blobs: both streamed, their real diff_ids computed as they are read (a config's claim
 * is checked, never trusted). The same diff_id is a compression difference; otherwise the
 * entries are compared, and a layer whose entries all match but whose tar differs (records
 * temper does not compare) still counts, as its diff_id.
 */
/* One package of a layer's status.d against the other's: "package libssl3: V1 -> V2", or absent
 * on a side, with {"where", "package", "architecture", "field": "version", "a", "b"}. */
static void
emit_package(struct diff_out *o, const char *where, const struct image_package *pa,
             const struct image_package *pb)
{
    const struct image_package *pk = pa != NULL ? pa : pb;
    json_t *json = diff_must(json_object());

    json_object_set_new(json, "where", diff_must(json_string(where)));
    json_object_set_new(json, "package", diff_must(json_string(pk->name)));
    json_object_set_new(json, "architecture", diff_must(json_string(pk->architecture)));
    json_object_set_new(json, "field", diff_must(json_string("version")));
    json_object_set_new(json, "a", pa ? diff_must(json_string(pa->version)) : json_null());
    json_object_set_new(json, "b", pb ? diff_must(json_string(pb->version)) : json_null());
    diff_emit_line(o,
                   xasprintf("%s: package %s: %s -> %s", where, pk->name,
                             pa ? pa->version : "absent", pb ? pb->version : "absent"),
                   json);
}

/*
 * The packages the two layers name (their dpkg status.d: image_packages_add), by name and
 * architecture: a version changed, a package added or removed. Said before the file
 * differences they cause. Names and versions are printable tokens (diff_packages.c).
 */
static void
compare_packages(struct diff_out *o, const char *where, const struct image_layer_entries *a,
                 const struct image_layer_entries *b)
{
    struct image_packages pa, pb;
    size_t i = 0, j = 0;

    image_packages_init(&pa);
    image_packages_init(&pb);
    image_packages_add(&pa, a);
    image_packages_add(&pb, b);
    image_packages_finish(&pa);
    image_packages_finish(&pb);
    while (i < pa.n || j < pb.n) {
        int c = i == pa.n ? 1 : j == pb.n ? -1 : strcmp(pa.pkgs[i].name, pb.pkgs[j].name);

        if (c == 0)
            c = strcmp(pa.pkgs[i].architecture, pb.pkgs[j].architecture);
        if (c < 0) {
            emit_package(o, where, &pa.pkgs[i++], NULL);
        } else if (c > 0) {
            emit_package(o, where, NULL, &pb.pkgs[j++]);
        } else {
            if (strcmp(pa.pkgs[i].version, pb.pkgs[j].version) != 0)
                emit_package(o, where, &pa.pkgs[i], &pb.pkgs[j]);
            i++;
            j++;
        }
    }
    image_packages_release(&pa);
    image_packages_release(&pb);
}

static int
compare_layer(struct diff_out *o, const char *where, const struct oci_source *sa,
              const struct image_doc *a, const struct oci_source *sb, const struct image_doc *b,
              size_t i, struct temper_err *err)
{
    struct image_layer_entries ea, eb;
    size_t before;

    if (image_layer_load(sa, a, i, &ea, err) < 0)
        return -1;
    if (image_layer_load(sb, b, i, &eb, err) < 0) {
        image_layer_entries_release(&ea);
        return -1;
    }
    emit_claimed(o, where, "a", a->diff_ids[i], ea.diff_id);
    emit_claimed(o, where, "b", b->diff_ids[i], eb.diff_id);
    before = o->diff->count;
    if (strcmp(ea.diff_id, eb.diff_id) == 0) {
        emit_compression(o, where, &a->layers[i], &b->layers[i], ea.diff_id);
    } else {
        const json_t *ja = json_array_get(json_object_get(a->manifest, "layers"), i),
                     *jb = json_array_get(json_object_get(b->manifest, "layers"), i);
        static const char *const blob[] = {"mediaType", "size"};

        for (size_t k = 0; k < 2; k++) {
            const json_t *va = json_object_get(ja, blob[k]), *vb = json_object_get(jb, blob[k]);

            if (!json_equal(va, vb))
                emit_value(o, where, blob[k], va, vb);
        }
        before = o->diff->count;
        compare_packages(o, where, &ea, &eb);
        diff_entries(o, where, &ea, &eb);
        /* The tars differ in records temper does not compare (docs/internals/diff.md). */
        if (o->diff->count == before)
            diff_emit(o, where, NULL, "diff_id", ea.diff_id, eb.diff_id,
                      diff_must(json_string(ea.diff_id)), diff_must(json_string(eb.diff_id)));
    }
    image_layer_entries_release(&ea);
    image_layer_entries_release(&eb);
    return 0;
}

/*
 * Every member of the two layer descriptors (urls, annotations key by key, platform, any
 * other) but the digest, which the blobs' comparison names. For two blobs, mediaType and size
 * are said by the compression line or, when the contents differ, by compare_layer.
 */
static void
compare_descriptors(struct diff_out *o, const char *where, const json_t *a, const json_t *b,
                    bool same_blob)
{
    static const char *const first[] = {"mediaType", NULL};
    static const char *const none[] = {NULL};
    static const char *const skip_digest[] = {"digest", NULL};
    static const char *const skip_blob[] = {"digest", "size", "mediaType", NULL};

    compare_fields(o, where, a, b, same_blob ? first : none, same_blob ? skip_digest : skip_blob,
                   "annotations");
}

static int
compare_layers(struct diff_out *o, const struct oci_source *sa, const struct image_doc *a,
               const struct oci_source *sb, const struct image_doc *b, struct temper_err *err)
{
    size_t n = a->nlayers > b->nlayers ? a->nlayers : b->nlayers;
    const json_t *ja = json_object_get(a->manifest, "layers"),
                 *jb = json_object_get(b->manifest, "layers");

    for (size_t i = 0; i < n; i++) {
        const struct oci_descriptor *la = &a->layers[i], *lb = &b->layers[i];
        char where[32];

        snprintf(where, sizeof(where), "layer %zu", i + 1);
        if (i >= a->nlayers) {
            emit_lone_layer(o, where, b, i, true);
            continue;
        }
        if (i >= b->nlayers) {
            emit_lone_layer(o, where, a, i, false);
            continue;
        }
        compare_descriptors(o, where, json_array_get(ja, i), json_array_get(jb, i),
                            strcmp(la->digest, lb->digest) == 0);
        if (strcmp(la->digest, lb->digest) != 0 &&
            compare_layer(o, where, sa, a, sb, b, i, err) < 0)
            return -1;
    }
    return 0;
}

/* Whatever else differs, two manifests that are not the same JSON value are not identical:
 * say which part differs (the config descriptor, when the configs differ only in how their
 * JSON is written). */
static void
compare_whole(struct diff_out *o, const struct image_doc *a, const struct image_doc *b)
{
    const json_t *ca = json_object_get(a->manifest, "config"),
                 *cb = json_object_get(b->manifest, "config");

    if (o->diff->count != 0 || json_equal(a->manifest, b->manifest))
        return;
    if (!json_equal(ca, cb))
        emit_value(o, "manifest", "config", ca, cb);
    else
        emit_value(o, "manifest", "manifest", a->manifest, b->manifest);
}

int
image_diff_compare(const struct oci_source *a, const struct oci_descriptor *da,
                   const struct oci_source *b, const struct oci_descriptor *db,
                   struct image_diff *out, struct temper_err *err)
{
    struct image_diff diff = {0};
    struct diff_out o = {.diff = &diff};
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
        if (rc == 0)
            compare_whole(&o, &doc_a, &doc_b);
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
