/*
 * Signatures and attestations in an OCI layout, as cosign stores them in a
 * registry: an OCI manifest tagged "sha256-<hex>.sig" (".att"), one layer per
 * signature (attestation), each layer the payload blob (the DSSE envelope)
 * with the base64 signature (the predicate type) in an annotation, and a
 * config whose diff_ids are the layers' digests (what cosign writes, so that
 * tools that walk configs find nothing odd). Adding one rewrites that
 * manifest with one more layer; earlier ones stay.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "oci/oci_layout.h"
#include "signing.h"

/* What a kind of attached manifest holds: its tag's suffix, its layers' media type, the
 * annotation an entry's `signature` comes from, and what an error calls the manifest. */
struct attached {
    const char *suffix, *media_type, *annotation, *what;
    size_t max_bytes; /* of a layer's blob */
};

static const struct attached signatures = {".sig", SIGN_PAYLOAD_MEDIA_TYPE, SIGN_ANNOTATION,
                                           "signatures", SIGN_PAYLOAD_MAX_BYTES};
static const struct attached attestations = {".att", SIGN_ENVELOPE_MEDIA_TYPE,
                                             SIGN_PREDICATE_ANNOTATION, "attestations",
                                             SIGN_ENVELOPE_MAX_BYTES};

void
sign_entries_free(struct sign_entry *entries, size_t n)
{
    for (size_t i = 0; entries != NULL && i < n; i++) {
        free(entries[i].payload);
        free(entries[i].signature);
        free(entries[i].blob_digest);
        free(entries[i].problem);
    }
    free(entries);
}

static void
tag_of(const struct attached *kind, const char *digest, char tag[80])
{
    snprintf(tag, 80, "sha256-%s%s", digest + 7, kind->suffix);
}

void
sign_tag_of(const char *digest, char tag[80])
{
    tag_of(&signatures, digest, tag);
}

void
sign_attestation_tag_of(const char *digest, char tag[80])
{
    tag_of(&attestations, digest, tag);
}

/* The layers of the manifest of `kind` attached to `digest`, or NULL (and 0) when there is none. */
static int
read_attached(const struct oci_source *src, const struct attached *kind, const char *digest,
              json_t **layers, struct temper_err *err)
{
    struct oci_descriptor desc;
    cleanup_free char *raw = NULL;
    json_t *manifest;
    char tag[80];
    size_t len;

    *layers = NULL;
    tag_of(kind, digest, tag);
    if (src->ops->find(src->arg, tag, &desc, err) < 0)
        return err->code == TEMPER_E_MISSING ? 0 : -1;
    if (oci_source_read(src, "manifest", &desc, SIGN_MANIFEST_MAX_BYTES, &raw, &len, err) < 0)
        return temper_err_prefix(err, "%s '%s'", kind->what, tag);
    manifest = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(manifest) || !json_is_array(json_object_get(manifest, "layers"))) {
        json_decref(manifest);
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s '%s' in %s: the manifest has no list of layers", kind->what, tag,
                              src->name);
    }
    *layers = json_incref(json_object_get(manifest, "layers"));
    json_decref(manifest);
    return 0;
}

/* One layer of an attached manifest as an entry; 1 when it is not of its kind (skipped). */
static int
read_entry(const struct oci_source *src, const struct attached *kind, const json_t *layer,
           struct sign_entry *e, struct temper_err *err)
{
    const char *media = json_string_value(json_object_get(layer, "mediaType"));
    const char *digest = json_string_value(json_object_get(layer, "digest"));
    const json_t *size = json_object_get(layer, "size");
    const char *sig =
        json_string_value(json_object_get(json_object_get(layer, "annotations"), kind->annotation));
    struct oci_descriptor desc = {0};

    if (media == NULL || strcmp(media, kind->media_type) != 0 ||
        (sig == NULL && kind == &signatures))
        return 1;
    e->signature = xstrdup(sig != NULL ? sig : "");
    if (digest == NULL || !sha256_is_digest(digest)) {
        e->problem = xstrdup("its layer names no sha256 payload digest");
        return 0;
    }
    if (!json_is_integer(size) || json_integer_value(size) < 0) {
        e->problem = xstrdup("its layer gives no size for its payload");
        return 0;
    }
    e->blob_digest = xstrdup(digest);
    snprintf(desc.media_type, sizeof(desc.media_type), "%s", kind->media_type);
    snprintf(desc.digest, sizeof(desc.digest), "%s", digest);
    desc.size = (uint64_t)json_integer_value(size);
    if (oci_source_read(src, kind == &signatures ? "payload" : "envelope", &desc, kind->max_bytes,
                        &e->payload, &e->len, err) == 0)
        return 0;
    /* a payload that is not there, or not itself, cannot count; one that could not be fetched
     * says nothing about the signature: then the whole listing fails */
    if (err->code == TEMPER_E_NET || err->code == TEMPER_E_AUTH || err->code == TEMPER_E_IO)
        return -1;
    e->problem = xstrdup(err->msg);
    return 0;
}

static int
list_attached(const struct oci_source *src, const struct attached *kind, const char *digest,
              struct sign_entry **out, size_t *n, struct temper_err *err)
{
    struct sign_entry *entries = NULL;
    json_t *layers, *layer;
    size_t count = 0, i;
    int rc = 0;

    if (read_attached(src, kind, digest, &layers, err) < 0)
        return -1;
    if (json_array_size(layers) > SIGN_LAYERS_MAX) {
        json_decref(layers);
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "more than %d %s of '%s'", SIGN_LAYERS_MAX,
                              kind->what, digest);
    }
    entries = xcalloc(json_array_size(layers) + 1, sizeof(*entries));
    json_array_foreach(layers, i, layer)
    {
        rc = read_entry(src, kind, layer, &entries[count], err);
        if (rc < 0)
            break;
        if (rc == 0)
            count++;
        rc = 0;
    }
    json_decref(layers);
    if (rc < 0) {
        sign_entries_free(entries, count + 1);
        return -1;
    }
    *out = entries;
    *n = count;
    return 0;
}

int
sign_list(const struct oci_source *src, const char *digest, struct sign_entry **out, size_t *n,
          struct temper_err *err)
{
    return list_attached(src, &signatures, digest, out, n, err);
}

int
sign_list_attestations(const struct oci_source *src, const char *digest, struct sign_entry **out,
                       size_t *n, struct temper_err *err)
{
    return list_attached(src, &attestations, digest, out, n, err);
}

static json_t *
sign_signature_config(const json_t *layers)
{
    json_t *diff_ids = json_array(), *history = json_array(), *layer;
    size_t i;

    json_array_foreach(layers, i, layer)
    {
        json_array_append(diff_ids, json_object_get(layer, "digest"));
        json_array_append_new(history, json_pack("{s:s}", "created", "0001-01-01T00:00:00Z"));
    }
    return json_pack("{s:s, s:{}, s:s, s:o, s:s, s:{s:s, s:o}}", "architecture", "", "config",
                     "created", "0001-01-01T00:00:00Z", "history", history, "os", "", "rootfs",
                     "type", "layers", "diff_ids", diff_ids);
}

json_t *
sign_signature_layer(const char *payload, size_t len, const char *b64)
{
    char digest[LAYER_DIGEST_LEN];

    sha256_digest(payload, len, digest);
    return json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", SIGN_PAYLOAD_MEDIA_TYPE, "digest",
                     digest, "size", (json_int_t)len, "annotations", SIGN_ANNOTATION, b64);
}

json_t *
sign_attestation_layer(const char *envelope, size_t len, const char *predicate_type)
{
    char digest[LAYER_DIGEST_LEN];

    /* cosign's: an empty signature annotation (the signature is in the envelope), and the
     * predicate type, by which `cosign download attestation` picks */
    sha256_digest(envelope, len, digest);
    return json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", SIGN_ENVELOPE_MEDIA_TYPE,
                     "digest", digest, "size", (json_int_t)len, "annotations", SIGN_ANNOTATION, "",
                     SIGN_PREDICATE_ANNOTATION, predicate_type);
}

bool
sign_has_layer(const json_t *layers, const json_t *layer)
{
    const char *d = json_string_value(json_object_get(layer, "digest"));
    const char *s =
        json_string_value(json_object_get(json_object_get(layer, "annotations"), SIGN_ANNOTATION));
    const json_t *l;
    size_t i;

    json_array_foreach(layers, i, l)
    {
        const char *d2 = json_string_value(json_object_get(l, "digest"));
        const char *s2 =
            json_string_value(json_object_get(json_object_get(l, "annotations"), SIGN_ANNOTATION));

        if (d && d2 && strcmp(d, d2) == 0 && ((!s && !s2) || (s && s2 && strcmp(s, s2) == 0)))
            return true;
    }
    return false;
}

int
sign_signature_manifest(json_t *layers, char **config, char **manifest, struct temper_err *err)
{
    cleanup_free char *config_text = NULL;
    char config_digest[LAYER_DIGEST_LEN];
    json_t *doc;

    doc = sign_signature_config(layers);
    config_text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    if (config_text == NULL)
        return temper_err_set(err, TEMPER_E_IO, 0, "cannot write a signature config's JSON");
    sha256_digest(config_text, strlen(config_text), config_digest);
    doc = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
                    OCI_MEDIA_TYPE_MANIFEST, "config", "mediaType", OCI_MEDIA_TYPE_CONFIG, "digest",
                    config_digest, "size", (json_int_t)strlen(config_text), "layers", layers);
    *manifest = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    if (*manifest == NULL)
        return temper_err_set(err, TEMPER_E_IO, 0, "cannot write a signature manifest's JSON");
    *config = steal_pointer(&config_text);
    return 0;
}

/* Adds `layer` (taken), whose blob is `payload`, to the manifest of `kind` attached to `digest`. */
static int
add_attached(struct oci_layout *layout, const struct attached *kind, const char *digest,
             const char *payload, size_t len, json_t *layer, struct temper_err *err)
{
    char payload_digest[LAYER_DIGEST_LEN], config_digest[LAYER_DIGEST_LEN];
    char manifest_digest[LAYER_DIGEST_LEN], tag[80];
    cleanup_free char *config = NULL, *manifest = NULL;
    json_t *layers = NULL;
    struct oci_source src;
    int rc = -1;

    if (!sha256_is_digest(digest)) {
        temper_err_set(err, TEMPER_E_USAGE, 0, "'%s' is not a sha256 digest", digest);
        goto out;
    }
    /* two signers at once: neither signature is lost */
    oci_layout_source(layout, &src);
    if (oci_layout_lock(layout, err) < 0 || read_attached(&src, kind, digest, &layers, err) < 0)
        goto out;
    if (layers == NULL)
        layers = json_array();
    if (sign_has_layer(layers, layer)) { /* there already, with these very bytes */
        rc = 0;
        goto out;
    }
    if (json_array_size(layers) >= SIGN_LAYERS_MAX) {
        temper_err_set(err, TEMPER_E_LIMIT, 0, "more than %d %s of '%s'", SIGN_LAYERS_MAX,
                       kind->what, digest);
        goto out;
    }
    json_array_append(layers, layer);
    if (sign_signature_manifest(layers, &config, &manifest, err) < 0 ||
        oci_blob_put(layout, payload, len, payload_digest, err) < 0 ||
        oci_blob_put(layout, config, strlen(config), config_digest, err) < 0)
        goto out;
    tag_of(kind, digest, tag);
    rc = oci_manifest_put(layout, tag, OCI_MEDIA_TYPE_MANIFEST, manifest, strlen(manifest),
                          manifest_digest, err);
out:
    json_decref(layer);
    json_decref(layers);
    return rc;
}

int
sign_layout_add(struct oci_layout *layout, const char *digest, const char *payload, size_t len,
                const char *b64, struct temper_err *err)
{
    return add_attached(layout, &signatures, digest, payload, len,
                        sign_signature_layer(payload, len, b64), err);
}

int
sign_layout_add_attestation(struct oci_layout *layout, const char *digest, const char *envelope,
                            size_t len, const char *predicate_type, struct temper_err *err)
{
    return add_attached(layout, &attestations, digest, envelope, len,
                        sign_attestation_layer(envelope, len, predicate_type), err);
}

/* Whether the layout holds a signature of `payload` that `key` made (it verifies with it). */
static int
signed_already(struct oci_layout *layout, const char *digest, const struct sign_key *key,
               const char *payload, size_t len, bool *out, struct temper_err *err)
{
    struct sign_entry *entries = NULL;
    struct oci_source src;
    size_t n = 0;

    *out = false;
    oci_layout_source(layout, &src);
    if (sign_list(&src, digest, &entries, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n && !*out; i++) {
        struct temper_err ignored;

        *out = entries[i].problem == NULL && entries[i].len == len &&
               memcmp(entries[i].payload, payload, len) == 0 &&
               sign_verify_bytes(key, payload, len, entries[i].signature, &ignored) == 0;
    }
    sign_entries_free(entries, n);
    return 0;
}

int
sign_layout_sign(struct oci_layout *layout, const char *digest, const struct sign_key *key,
                 const char *identity, bool *added, struct temper_err *err)
{
    cleanup_free char *payload = NULL, *b64 = NULL;
    bool there;
    size_t len;

    if (added != NULL)
        *added = false;
    if (sign_payload_build(identity, digest, &payload, &len, err) < 0 ||
        signed_already(layout, digest, key, payload, len, &there, err) < 0)
        return -1;
    /* An ECDSA signature is new each time: signing again would add one per build, forever. */
    if (there)
        return 0;
    if (sign_bytes(key, payload, len, &b64, err) < 0 ||
        sign_layout_add(layout, digest, payload, len, b64, err) < 0)
        return -1;
    if (added != NULL)
        *added = true;
    return 0;
}
