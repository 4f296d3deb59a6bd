/*
 * Image manifests and configs read back, as untrusted input: any bytes, from
 * a layout someone else may have written. Only what checking an image's
 * chain needs is taken out (descriptors, diff_ids), each value's type
 * checked before it is used; members temper does not know are ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "oci-internal.h"

static int
load(const char *buf, size_t len, json_t **out, struct temper_err *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);

    char shown[160];

    if (doc == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "line %d column %d: %s", jerr.line,
                              jerr.column, temper_printable(jerr.text, shown, sizeof(shown)));
    if (!json_is_object(doc)) {
        json_decref(doc);
        return temper_err_set(err, TEMPER_E_PARSE, 0, "not a JSON object");
    }
    if (oci_json_check_keys(doc, "the document", err) < 0) {
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

/* A digest temper can name a blob by; `what` says where it was found ("layers[2].digest"). */
static int
check_sha256(const char *digest, const char *what, struct temper_err *err)
{
    char shown[160];
    if (!sha256_is_digest(digest))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "%s '%s' is not 'sha256:' and 64 lowercase hex digits: temper reads "
                              "only sha256 digests",
                              what, temper_printable(digest, shown, sizeof(shown)));
    return 0;
}

/* {"mediaType": string, "digest": sha256, "size": integer >= 0}; `what` names it. */
static int
parse_descriptor(const json_t *obj, const char *what, struct oci_descriptor *out,
                 struct temper_err *err)
{
    const char *media_type = json_string_value(json_object_get(obj, "mediaType"));
    const char *digest = json_string_value(json_object_get(obj, "digest"));
    const json_t *size = json_object_get(obj, "size");
    char where[64];

    if (!json_is_object(obj))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s is not an object", what);
    if (media_type == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s.mediaType is not a string", what);
    if (strlen(media_type) >= sizeof(out->media_type))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s.mediaType is %zu bytes long", what,
                              strlen(media_type));
    if (digest == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s.digest is not a string", what);
    snprintf(where, sizeof(where), "%s.digest", what);
    if (check_sha256(digest, where, err) < 0)
        return -1;
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s.size is not an integer of at least 0",
                              what);
    snprintf(out->media_type, sizeof(out->media_type), "%s", media_type);
    snprintf(out->digest, sizeof(out->digest), "%s", digest);
    out->size = (uint64_t)json_integer_value(size);
    return 0;
}

static int
check_schema_version(const json_t *doc, struct temper_err *err)
{
    const json_t *version = json_object_get(doc, "schemaVersion");

    if (!json_is_integer(version) || json_integer_value(version) != 2)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "schemaVersion is not 2");
    return 0;
}

/* The manifest's own mediaType: absent, or one of the two image manifests. */
static int
parse_media_type(const json_t *doc, struct oci_manifest *m, struct temper_err *err)
{
    char shown[128];
    const json_t *media_type = json_object_get(doc, "mediaType");
    const char *value = json_string_value(media_type);

    if (media_type == NULL) {
        m->media_type[0] = '\0';
        return 0;
    }
    if (value == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "mediaType is not a string");
    if (strcmp(value, OCI_MEDIA_TYPE_MANIFEST) != 0 &&
        strcmp(value, OCI_MEDIA_TYPE_DOCKER_MANIFEST) != 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "mediaType '%s' is not an image manifest ('%s' or '%s')",
                              temper_printable(value, shown, sizeof(shown)),
                              OCI_MEDIA_TYPE_MANIFEST, OCI_MEDIA_TYPE_DOCKER_MANIFEST);
    snprintf(m->media_type, sizeof(m->media_type), "%s", value);
    return 0;
}

static int
parse_config_descriptor(const json_t *doc, struct oci_manifest *m, struct temper_err *err)
{
    char shown[128];
    const json_t *config = json_object_get(doc, "config");

    if (config == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "config is missing");
    if (parse_descriptor(config, "config", &m->config, err) < 0)
        return -1;
    if (strcmp(m->config.media_type, OCI_MEDIA_TYPE_CONFIG) != 0 &&
        strcmp(m->config.media_type, OCI_MEDIA_TYPE_DOCKER_CONFIG) != 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "config.mediaType '%s' is not an image config ('%s' or '%s')",
                              temper_printable(m->config.media_type, shown, sizeof(shown)),
                              OCI_MEDIA_TYPE_CONFIG, OCI_MEDIA_TYPE_DOCKER_CONFIG);
    return 0;
}

static int
parse_layers(const json_t *doc, struct oci_manifest *m, struct temper_err *err)
{
    const json_t *layers = json_object_get(doc, "layers");
    size_t n = json_array_size(layers);

    if (!json_is_array(layers))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "layers is not an array");
    if (n > OCI_MANIFEST_MAX_LAYERS)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "it has %zu layers, more than %d", n,
                              OCI_MANIFEST_MAX_LAYERS);
    m->layers = xcalloc(n > 0 ? n : 1, sizeof(*m->layers));
    m->nlayers = n;
    for (size_t i = 0; i < n; i++) {
        char what[32];

        snprintf(what, sizeof(what), "layers[%zu]", i);
        if (parse_descriptor(json_array_get(layers, i), what, &m->layers[i], err) < 0)
            return -1;
    }
    return 0;
}

int
oci_manifest_parse(const char *buf, size_t len, struct oci_manifest *out, struct temper_err *err)
{
    json_auto_t *doc = NULL;
    struct oci_manifest m = {.layers = NULL};

    if (load(buf, len, &doc, err) < 0 || check_schema_version(doc, err) < 0 ||
        parse_media_type(doc, &m, err) < 0 || parse_config_descriptor(doc, &m, err) < 0)
        return -1;
    if (parse_layers(doc, &m, err) < 0) {
        oci_manifest_release(&m);
        return -1;
    }
    *out = m;
    return 0;
}

void
oci_manifest_release(struct oci_manifest *manifest)
{
    if (manifest == NULL)
        return;
    free(manifest->layers);
    manifest->layers = NULL;
    manifest->nlayers = 0;
}

/* A platform member of `entry` ("platform.os"), at most `size` bytes with its NUL: a name of
 * letters, digits, '.', '_' and '-', as GOOS, GOARCH and their variants are (it is printed,
 * and written into tags and JSON). */
static int
platform_string(const json_t *platform, const char *key, bool required, const char *what, char *out,
                size_t size, struct temper_err *err)
{
    const json_t *value = json_object_get(platform, key);
    const char *s = json_string_value(value);
    char shown[64];

    if (value == NULL && !required) {
        out[0] = '\0';
        return 0;
    }
    if (s == NULL || (required && s[0] == '\0') || strlen(s) >= size)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "%s.platform.%s is not a string of %d to %zu bytes", what, key,
                              required ? 1 : 0, size - 1);
    if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(s))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s.platform.%s '%s' is not a name", what,
                              key, temper_printable(s, shown, sizeof(shown)));
    snprintf(out, size, "%s", s);
    return 0;
}

static int
parse_index_entry(const json_t *entry, size_t i, struct oci_platform_image *out,
                  struct temper_err *err)
{
    const json_t *platform = json_object_get(entry, "platform");
    char what[32], shown[128];

    snprintf(what, sizeof(what), "manifests[%zu]", i);
    if (parse_descriptor(entry, what, &out->manifest, err) < 0)
        return -1;
    if (!oci_is_image_manifest(out->manifest.media_type))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "%s '%s' is a '%s', not an image manifest: temper reads indexes "
                              "of images only",
                              what, out->manifest.digest,
                              temper_printable(out->manifest.media_type, shown, sizeof(shown)));
    if (!json_is_object(platform))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "%s '%s' has no platform: which image is for which machine is "
                              "not said",
                              what, out->manifest.digest);
    if (platform_string(platform, "os", true, what, out->os, sizeof(out->os), err) < 0 ||
        platform_string(platform, "architecture", true, what, out->architecture,
                        sizeof(out->architecture), err) < 0 ||
        platform_string(platform, "variant", false, what, out->variant, sizeof(out->variant), err) <
            0)
        return -1;
    return 0;
}

int
oci_index_images(const char *buf, size_t len, struct oci_platform_image **out, size_t *n,
                 struct temper_err *err)
{
    json_auto_t *doc = NULL;
    const json_t *manifests, *media_type;
    cleanup_free struct oci_platform_image *images = NULL;
    size_t count;

    if (load(buf, len, &doc, err) < 0 || check_schema_version(doc, err) < 0)
        return -1;
    media_type = json_object_get(doc, "mediaType");
    if (media_type != NULL &&
        !(json_is_string(media_type) && oci_is_image_index(json_string_value(media_type))))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "mediaType is not an image index's");
    manifests = json_object_get(doc, "manifests");
    if (!json_is_array(manifests))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "manifests is not an array");
    count = json_array_size(manifests);
    if (count == 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "it names no image");
    if (count > OCI_INDEX_MAX_IMAGES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "it names %zu images, more than %d", count,
                              OCI_INDEX_MAX_IMAGES);
    images = xcalloc(count, sizeof(*images));
    for (size_t i = 0; i < count; i++)
        if (parse_index_entry(json_array_get(manifests, i), i, &images[i], err) < 0)
            return -1;
    *out = steal_pointer(&images);
    *n = count;
    return 0;
}

/* The comment of each history entry that made a layer, leniently: history only informs (a
 * malformed one is as good as none, never an error of the config). */
static void
layer_comments(const json_t *history, struct oci_config *out)
{
    size_t n = json_array_size(history), k = 0;

    out->comments = NULL;
    out->ncomments = 0;
    if (n == 0 || n > 4 * OCI_MANIFEST_MAX_LAYERS)
        return;
    out->comments = xcalloc(n, sizeof(*out->comments));
    for (size_t i = 0; i < n; i++) {
        const json_t *entry = json_array_get(history, i);
        const char *comment = json_string_value(json_object_get(entry, "comment"));

        if (json_is_true(json_object_get(entry, "empty_layer")))
            continue;
        out->comments[k++] = comment != NULL && strlen(comment) < 4096 ? xstrdup(comment) : NULL;
    }
    out->ncomments = k;
}

int
oci_config_parse(const char *buf, size_t len, struct oci_config *out, struct temper_err *err)
{
    json_auto_t *doc = NULL;
    const json_t *rootfs, *diff_ids;
    const char *type;
    cleanup_free char(*ids)[LAYER_DIGEST_LEN] = NULL;
    size_t n;

    if (load(buf, len, &doc, err) < 0)
        return -1;
    rootfs = json_object_get(doc, "rootfs");
    if (!json_is_object(rootfs))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "rootfs is not an object");
    type = json_string_value(json_object_get(rootfs, "type"));
    if (type == NULL || strcmp(type, "layers") != 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "rootfs.type is not 'layers'");
    diff_ids = json_object_get(rootfs, "diff_ids");
    if (!json_is_array(diff_ids))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "rootfs.diff_ids is not an array");
    n = json_array_size(diff_ids);
    if (n > OCI_MANIFEST_MAX_LAYERS)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "it has %zu diff_ids, more than %d", n,
                              OCI_MANIFEST_MAX_LAYERS);
    ids = xcalloc(n > 0 ? n : 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_array_get(diff_ids, i));
        char what[40];

        if (id == NULL)
            return temper_err_set(err, TEMPER_E_PARSE, 0, "rootfs.diff_ids[%zu] is not a string",
                                  i);
        snprintf(what, sizeof(what), "rootfs.diff_ids[%zu]", i);
        if (check_sha256(id, what, err) < 0)
            return -1;
        snprintf(ids[i], sizeof(ids[i]), "%s", id);
    }
    out->diff_ids = steal_pointer(&ids);
    out->ndiff_ids = n;
    layer_comments(json_object_get(doc, "history"), out);
    return 0;
}

void
oci_config_release(struct oci_config *config)
{
    if (config == NULL)
        return;
    free(config->diff_ids);
    config->diff_ids = NULL;
    config->ndiff_ids = 0;
    for (size_t i = 0; i < config->ncomments; i++)
        free(config->comments[i]);
    free(config->comments);
    config->comments = NULL;
    config->ncomments = 0;
}
