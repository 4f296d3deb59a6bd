/*
 * oci: an OCI image layout on disk (image-layout spec 1.0): `oci-layout`,
 * `index.json` and content-addressed `blobs/sha256/<hex>`.
 *
 * Everything is written so that a failed or interrupted build leaves the
 * layout as it was:
 *  - a blob is written to an anonymous file (O_TMPFILE) in blobs/sha256 and
 *    linked under its digest only when complete and synced; a blob that is
 *    already there is kept as it is (same name, same bytes);
 *  - index.json is written last, to a temporary name, synced and renamed
 *    over the old one, so a reader sees the old index or the new one;
 *  - a directory that oci_layout_open created is removed again by
 *    oci_layout_free when no image was committed into it.
 * A tag already in the index is replaced; other tags are kept.
 *
 * JSON is written by jansson with sorted keys and no insignificant
 * whitespace, so the same image gives the same bytes.
 */
#ifndef TEMPER_OCI_LAYOUT_H
#define TEMPER_OCI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "layer/layer_writer.h"

#define OCI_MEDIA_TYPE_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_TYPE_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_TYPE_INDEX "application/vnd.oci.image.index.v1+json"

struct oci_layout;

/*
 * Opens the layout in directory `dir` (a host path). With `create`, a
 * missing directory is made (parents too); an existing directory must be
 * empty or hold a layout (an `oci-layout` file with imageLayoutVersion
 * 1.0.0), so that temper never writes into some other directory's files.
 */
int oci_layout_open(const char *dir, bool create, struct oci_layout **out, struct temper_err *err);
void oci_layout_free(struct oci_layout *layout);

/* Starts a blob: returns a descriptor to write it to (an unnamed file in the layout). */
int oci_blob_begin(struct oci_layout *layout, struct temper_err *err);
/*
 * Gives the blob written to `fd` its name `digest` ("sha256:<hex>", which the
 * caller computed while writing it) and closes fd, on failure too.
 */
int oci_blob_commit(struct oci_layout *layout, int fd, const char *digest, struct temper_err *err);
/* Writes `len` bytes as a blob; *digest gets its "sha256:<hex>". */
int oci_blob_put(struct oci_layout *layout, const void *bytes, size_t len,
                 char digest[LAYER_DIGEST_LEN], struct temper_err *err);

struct oci_kv {
    const char *key;
    const char *value;
};

/* What the config and manifest of an image say, apart from its layers. */
struct oci_image_spec {
    const char *architecture; /* "amd64", ... */
    const char *variant;      /* or NULL */
    const char *os;           /* "linux" */
    int64_t created;          /* seconds since 1970; written as RFC 3339 UTC */
    const char *user;         /* config.User, or NULL */
    const char *const *env;   /* "KEY=VALUE" strings */
    size_t nenv;
    const char *const *entrypoint;
    size_t nentrypoint;
    const char *const *cmd;
    size_t ncmd;
    const char *work_dir;        /* or NULL */
    const struct oci_kv *labels; /* config.Labels */
    size_t nlabels;
    const struct oci_kv *annotations; /* manifest annotations */
    size_t nannotations;
    const char *created_by; /* history[].created_by, e.g. "temper build python.yaml" */
};

struct oci_layer_desc {
    const char *media_type;
    const char *digest;
    uint64_t size;
    const char *diff_id;
};

/*
 * Writes the config and manifest blobs of an image made of `layers` (already
 * committed blobs), then index.json with the manifest under `tag`
 * (annotation org.opencontainers.image.ref.name), and oci-layout.
 * *manifest_digest gets the manifest's "sha256:<hex>".
 */
int oci_image_commit(struct oci_layout *layout, const struct oci_image_spec *spec,
                     const struct oci_layer_desc *layers, size_t nlayers, const char *tag,
                     char manifest_digest[LAYER_DIGEST_LEN], struct temper_err *err);

/*
 * Writes the whole layout as one deterministic tar at `path` (a host path,
 * replaced atomically), with a `manifest.json` naming each tagged image
 * `repository:tag`, so that `podman load` and `docker load` take it.
 */
int oci_layout_archive(struct oci_layout *layout, const char *repository, const char *path,
                       struct temper_err *err);

#endif
