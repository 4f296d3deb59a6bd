/*
 * oci-internal: what oci_layout.c, oci_json.c, oci_parse.c and oci_verify.c
 * share, and the seams the unit tests and the fuzzers use. Not for other
 * modules.
 *
 * The JSON side (oci_json.c, and oci_parse.c for manifests and configs read
 * back) builds and checks documents and never touches the file system; the
 * layout side (oci_layout.c) reads and writes files and never looks inside a
 * document except through these functions; oci_verify.c walks an image's
 * chain through both.
 */
#ifndef TEMPER_OCI_INTERNAL_H
#define TEMPER_OCI_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/limits.h"
#include "oci_layout.h"

/* Manifests and configs of Docker's image format (schema 2), which temper reads but never writes.
 */
#define OCI_MEDIA_TYPE_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MEDIA_TYPE_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define OCI_MEDIA_TYPE_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
/* The annotation that names an image in index.json. */
#define OCI_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
/* The last second RFC 3339 can write with four digits of year: 9999-12-31T23:59:59Z. */
#define OCI_EPOCH_MAX INT64_C(253402300799)
/* "YYYY-MM-DDTHH:MM:SSZ" and its NUL. */
#define OCI_TIME_LEN 21
/* Flags of every document temper writes: the canonical form. */
#define OCI_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

/* Writes `epoch` as "YYYY-MM-DDTHH:MM:SSZ"; TEMPER_E_USAGE outside 0..OCI_EPOCH_MAX. */
int oci_format_time(int64_t epoch, char out[OCI_TIME_LEN], struct temper_err *err);

/*
 * The image config of `spec` over `layers` (their diff_ids, one history
 * entry each). TEMPER_E_USAGE names the field when the spec is unusable: an
 * empty architecture or os, a time out of range, an env entry without '=',
 * a label given twice, a string that is not UTF-8.
 */
json_t *oci_config_new(const struct oci_image_spec *spec, const struct oci_layer_desc *layers,
                       size_t nlayers, struct temper_err *err);

/*
 * The image manifest of `spec` over `layers`, without its "config" member:
 * the caller adds it with oci_manifest_set_config once the config blob is
 * written, so that every check happens before anything is written.
 */
json_t *oci_manifest_new(const struct oci_image_spec *spec, const struct oci_layer_desc *layers,
                         size_t nlayers, struct temper_err *err);
void oci_manifest_set_config(json_t *manifest, const char *digest, uint64_t size);

/* Checks an `oci-layout` file: {"imageLayoutVersion":"1.0.0"}; TEMPER_E_PARSE otherwise. */
int oci_layout_file_check(const char *buf, size_t len, struct temper_err *err);

/* {"manifests":[],"mediaType":index,"schemaVersion":2} */
json_t *oci_index_new(void);

/*
 * Parses index.json (untrusted: any bytes, not NUL-terminated). Checks the
 * types temper relies on: an object with schemaVersion 2, an index
 * mediaType when there is one, and a manifests array of descriptors (string
 * mediaType and digest, integer size >= 0, annotations of strings). Members
 * it does not know are kept. TEMPER_E_PARSE says what is wrong.
 */
int oci_index_parse(const char *buf, size_t len, json_t **out, struct temper_err *err);

/* The descriptor tagged `tag` in a parsed index (see oci_layout_find_tag). */
int oci_index_find(const json_t *index, const char *tag, struct oci_descriptor *out,
                   struct temper_err *err);

/*
 * Points `tag` at `manifest` in a parsed index, with the platform of `spec`
 * (none when spec is NULL): the first entry of that tag is replaced in
 * place, later ones of the same tag are dropped, and a new tag goes at the
 * end; when the tag named an image index, that index's platform tags
 * (oci_platform_tag) are dropped too. Sets the index mediaType. Fails
 * (TEMPER_E_USAGE) only on strings that are not UTF-8.
 */
int oci_index_put(json_t *index, const char *tag, const struct oci_descriptor *manifest,
                  const struct oci_image_spec *spec, struct temper_err *err);

/*
 * The image index document of `images` (oci_index_commit's checks: at least
 * one, one per platform), or NULL with err set.
 */
json_t *oci_image_index_new(const struct oci_index_image *images, size_t nimages,
                            struct temper_err *err);

/* Appends to the manifests of index `to` a copy of the entry tagged `tag` in `index`, named
 * `ref` there instead (ref.name may hold a whole reference, "python:latest"). */
int oci_index_copy_entry(const json_t *index, const char *tag, const char *ref, json_t *to,
                         struct temper_err *err);

/* The images of an image index document (oci_source_index's checks). */
int oci_index_images(const char *buf, size_t len, struct oci_platform_image **out, size_t *n,
                     struct temper_err *err);

/* An image manifest as oci_manifest_parse reads it: what checking the image needs. */
struct oci_manifest {
    char media_type[OCI_MEDIA_TYPE_MAX]; /* its own mediaType, "" when it has none */
    struct oci_descriptor config;
    struct oci_descriptor *layers; /* nlayers (at most OCI_MANIFEST_MAX_LAYERS), in order */
    size_t nlayers;
};

/*
 * Parses an image manifest (untrusted: any bytes, not NUL-terminated;
 * duplicate keys refused): schemaVersion 2; a mediaType, when there is one,
 * of an OCI or a Docker v2 image manifest; a config descriptor of an OCI or
 * Docker image config; a layers array of descriptors (string mediaType,
 * sha256 digest, integer size >= 0). Members it does not know are ignored.
 * TEMPER_E_PARSE says what is wrong, TEMPER_E_LIMIT when there are more
 * than OCI_MANIFEST_MAX_LAYERS layers. *out is set only on success; release
 * it with oci_manifest_release.
 */
int oci_manifest_parse(const char *buf, size_t len, struct oci_manifest *out,
                       struct temper_err *err);
void oci_manifest_release(struct oci_manifest *manifest);

/* An image config as oci_config_parse reads it: its rootfs.diff_ids, and the history comment of
 * each layer (the entries not marked empty_layer, in order; NULL where there is none). */
struct oci_config {
    char (*diff_ids)[LAYER_DIGEST_LEN];
    size_t ndiff_ids; /* at most OCI_MANIFEST_MAX_LAYERS */
    char **comments;
    size_t ncomments;
};

/*
 * Parses an image config (untrusted, as above): an object whose rootfs has
 * type "layers" and an array of sha256 diff_ids. TEMPER_E_PARSE or
 * TEMPER_E_LIMIT as for manifests. Release *out with oci_config_release.
 */
int oci_config_parse(const char *buf, size_t len, struct oci_config *out, struct temper_err *err);
void oci_config_release(struct oci_config *config);

/*
 * Opens blob `digest` to be streamed: a regular file of blobs/sha256, opened
 * O_RDONLY|O_NOFOLLOW|O_CLOEXEC (and O_NONBLOCK, so that a fifo planted there
 * cannot hang the open). A missing blob is TEMPER_E_MISSING, a digest that is
 * not "sha256:<64 hex>" TEMPER_E_USAGE. The caller closes the descriptor.
 */
int oci_blob_open(struct oci_layout *layout, const char *digest, struct temper_err *err);

/* oci_blob_read without the digest check: for callers that say themselves what differs. */
int oci_blob_load(struct oci_layout *layout, const char *digest, size_t max_bytes, char **out,
                  size_t *len, struct temper_err *err);

/* The layout's directory as given to oci_layout_open, and its index.json as parsed. */
const char *oci_layout_path(const struct oci_layout *layout);
const json_t *oci_layout_index(const struct oci_layout *layout);

/*
 * Refuses a JSON document (index, manifest, config) in which one object has two keys that Go's
 * encoding/json would match to the same struct field (ASCII case folded, U+017F as 's',
 * U+212A as 'k'): jansson keeps the first and Go tools the last, so skopeo, podman or umoci
 * would read another document than the one temper checked. TEMPER_E_PARSE, naming `what`.
 */
int oci_json_check_keys(const json_t *json, const char *what, struct temper_err *err);
/* Test seam: the same, adding to *lookups one for each key looked up among its object's others
 * (each key is looked up once: the work is linear in the keys). */
int oci_json_check_keys_counted(const json_t *json, const char *what, uint64_t *lookups,
                                struct temper_err *err);

/* Serialises in canonical form; *out is NUL-terminated, freed with free(). */
void oci_json_dump(const json_t *json, char **out, size_t *len);

/* Test seam: write blobs through named temporaries, as where O_TMPFILE is unsupported. */
void oci_layout_force_named_tmp(struct oci_layout *layout);

/* For oci_gc.c: blobs/sha256 (*fd, a descriptor the layout keeps; -1 when there is none), and,
 * with the writers' lock held, index.json replaced as an image commit replaces it (the blob
 * names synced first, then an atomic rename; *index taken once renamed). */
int oci_layout_blobs_dir(struct oci_layout *layout, int *fd, struct temper_err *err);
int oci_layout_commit_index(struct oci_layout *layout, json_t **index, struct temper_err *err);
/* The ref.name (the tag) of a checked index.json manifests[] entry, or NULL. */
const char *oci_entry_ref_name(const json_t *entry);

/* The entry of index.json's manifests[] tagged `tag`, or NULL (the first, if several are). */
const json_t *oci_index_entry(const json_t *index, const char *tag);

/* When `tag` names an image index in `manifests` (index.json's), its platform tags go: they
 * name that index's images. */
void oci_index_drop_platform_tags(json_t *manifests, const char *tag);

#endif
