/*
 * An image's chain checked link by link, from the manifest descriptor down:
 *
 *   descriptor ──digest, size──> manifest ──digest, size──> config ── diff_ids ─┐
 *                                   └──────digest, size──> layer blobs ──gunzip──┘
 *
 * Each link is checked where it is first reached, and each failure says
 * which blob, which number and what differs. Of a blob's digest and size
 * the digest is checked first: when the bytes are not the ones named, their
 * length is beside the point. Documents are read whole under a cap; layers
 * are streamed (layer_read_digests), never held.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "oci-internal.h"

bool
oci_is_image_manifest(const char *media_type)
{
    return strcmp(media_type, OCI_MEDIA_TYPE_MANIFEST) == 0 ||
           strcmp(media_type, OCI_MEDIA_TYPE_DOCKER_MANIFEST) == 0;
}

bool
oci_is_image_index(const char *media_type)
{
    return strcmp(media_type, OCI_MEDIA_TYPE_INDEX) == 0 ||
           strcmp(media_type, OCI_MEDIA_TYPE_DOCKER_LIST) == 0;
}

int
oci_source_index(const struct oci_source *src, const struct oci_descriptor *desc,
                 struct oci_platform_image **out, size_t *n, struct temper_err *err)
{
    cleanup_free char *bytes = NULL;
    size_t len;

    if (oci_source_read(src, "image index", desc, OCI_INDEX_MAX_BYTES, &bytes, &len, err) < 0)
        return -1;
    if (oci_index_images(bytes, len, out, n, err) < 0)
        return temper_err_prefix(err, "image index '%s'", desc->digest);
    return 0;
}

const struct oci_platform_image *
oci_platform_find(const struct oci_platform_image *images, size_t n, const char *architecture)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(images[i].os, "linux") == 0 && strcmp(images[i].architecture, architecture) == 0)
            return &images[i];
    return NULL;
}

static int
digest_differs(const char *what, const char *digest, const char *got, struct temper_err *err)
{
    return temper_err_set(err, TEMPER_E_SIG, 0, "%s '%s': its bytes hash to '%s'", what, digest,
                          got);
}

static int
size_differs(const char *what, const char *digest, uint64_t got, uint64_t said,
             struct temper_err *err)
{
    return temper_err_set(err, TEMPER_E_SIG, 0,
                          "%s '%s' is %" PRIu64 " bytes, its descriptor says %" PRIu64, what,
                          digest, got, said);
}

int
oci_source_read(const struct oci_source *src, const char *what, const struct oci_descriptor *desc,
                size_t max_bytes, char **out, size_t *len, struct temper_err *err)
{
    cleanup_free char *buf = NULL;
    char got[LAYER_DIGEST_LEN];
    size_t n;

    if (desc->size > max_bytes)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "%s '%s' is %" PRIu64 " bytes by its descriptor, more than the %zu "
                              "temper reads",
                              what, desc->digest, desc->size, max_bytes);
    if (src->ops->load(src->arg, desc, max_bytes, &buf, &n, err) < 0)
        return temper_err_prefix(err, "%s", what);
    sha256_digest(buf, n, got);
    if (strcmp(got, desc->digest) != 0)
        return digest_differs(what, desc->digest, got, err);
    if (n != desc->size)
        return size_differs(what, desc->digest, n, desc->size, err);
    *out = steal_pointer(&buf);
    *len = n;
    return 0;
}

/* The manifest's own mediaType (when it has one) is the one its descriptor gives. */
static int
check_manifest_type(const struct oci_descriptor *desc, const struct oci_manifest *m,
                    struct temper_err *err)
{
    char shown[2][128];

    if (m->media_type[0] != '\0' && strcmp(m->media_type, desc->media_type) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "manifest '%s' says its mediaType is '%s', its descriptor says '%s'",
                              desc->digest, temper_printable(m->media_type, shown[0], 128),
                              temper_printable(desc->media_type, shown[1], 128));
    /* A Docker v2 manifest always names its type; one without is an OCI manifest. */
    if (m->media_type[0] == '\0' && strcmp(desc->media_type, OCI_MEDIA_TYPE_MANIFEST) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "manifest '%s' has no mediaType, so it is not the '%s' its "
                              "descriptor says",
                              desc->digest, temper_printable(desc->media_type, shown[0], 128));
    return 0;
}

static int
read_manifest(const struct oci_source *src, const struct oci_descriptor *desc,
              struct oci_manifest *m, struct temper_err *err)
{
    cleanup_free char *text = NULL;
    char shown[128];
    size_t len;

    if (!oci_is_image_manifest(desc->media_type))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' is '%s', not an image manifest: temper verifies OCI and "
                              "Docker v2 image manifests",
                              desc->digest,
                              temper_printable(desc->media_type, shown, sizeof(shown)));
    if (oci_source_read(src, "manifest", desc, OCI_MANIFEST_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    if (oci_manifest_parse(text, len, m, err) < 0)
        return temper_err_prefix(err, "manifest '%s'", desc->digest);
    if (check_manifest_type(desc, m, err) < 0) {
        oci_manifest_release(m);
        return -1;
    }
    return 0;
}

static int
read_config(const struct oci_source *src, const struct oci_manifest *m, struct oci_config *c,
            struct temper_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;

    if (oci_source_read(src, "config", &m->config, OCI_CONFIG_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    if (oci_config_parse(text, len, c, err) < 0)
        return temper_err_prefix(err, "config '%s'", m->config.digest);
    if (c->ndiff_ids != m->nlayers) {
        temper_err_set(err, TEMPER_E_SIG, 0,
                       "config '%s' has %zu diff_ids, the manifest has %zu layers",
                       m->config.digest, c->ndiff_ids, m->nlayers);
        oci_config_release(c);
        return -1;
    }
    return 0;
}

/*
 * A layer that does not decompress: if its bytes are not the ones the manifest names, that is
 * the failure to report (a changed byte breaks the stream too); if they are, the image was made
 * with a broken layer, and `why` says how.
 */
static int
broken_layer(const char *what, const struct oci_descriptor *desc, const char *digest, uint64_t size,
             const struct temper_err *why, struct temper_err *err)
{
    if (strcmp(digest, desc->digest) != 0)
        return digest_differs(what, desc->digest, digest, err);
    if (size != desc->size)
        return size_differs(what, desc->digest, size, desc->size, err);
    *err = *why;
    err->code = TEMPER_E_SIG;
    return temper_err_prefix(err, "%s", what);
}

static int
verify_layer(const struct oci_source *src, size_t i, const struct oci_descriptor *desc,
             const char *diff_id, struct temper_err *err)
{
    char digest[LAYER_DIGEST_LEN], got[LAYER_DIGEST_LEN], what[32];
    struct temper_err inner, transfer;
    uint64_t size;
    int fd, rc;

    snprintf(what, sizeof(what), "layer %zu", i + 1);
    fd = src->ops->open(src->arg, desc, err);
    if (fd < 0)
        return temper_err_prefix(err, "%s", what);
    rc = layer_read_digests(fd, desc->media_type, desc->digest, digest, got, &size, &inner);
    /* a transfer that broke off explains whatever the reader saw */
    if (src->ops->close(src->arg, fd, &transfer) < 0) {
        *err = transfer;
        return temper_err_prefix(err, "%s", what);
    }
    if (rc < 0 && inner.code == TEMPER_E_PARSE)
        return broken_layer(what, desc, digest, size, &inner, err);
    if (rc < 0 && inner.code == TEMPER_E_USAGE)
        inner.code = TEMPER_E_SIG; /* a layer type temper cannot read: nothing vouches for it */
    if (rc < 0) {
        *err = inner;
        return temper_err_prefix(err, "%s", what);
    }
    if (strcmp(digest, desc->digest) != 0)
        return digest_differs(what, desc->digest, digest, err);
    if (size != desc->size)
        return size_differs(what, desc->digest, size, desc->size, err);
    if (strcmp(got, diff_id) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s '%s' decompresses to '%s', the config's diff_id is '%s'", what,
                              desc->digest, got, diff_id);
    return 0;
}

int
oci_source_verify(const struct oci_source *src, const struct oci_descriptor *manifest,
                  struct temper_err *err)
{
    struct oci_manifest m;
    struct oci_config c;
    int rc = -1;

    if (read_manifest(src, manifest, &m, err) < 0)
        return -1;
    if (read_config(src, &m, &c, err) < 0)
        goto out;
    for (size_t i = 0; i < m.nlayers; i++) {
        if (verify_layer(src, i, &m.layers[i], c.diff_ids[i], err) < 0)
            goto release;
    }
    rc = 0;
release:
    oci_config_release(&c);
out:
    oci_manifest_release(&m);
    return rc;
}

int
oci_image_verify(struct oci_layout *layout, const struct oci_descriptor *manifest,
                 struct temper_err *err)
{
    struct oci_source src;

    oci_layout_source(layout, &src);
    return oci_source_verify(&src, manifest, err);
}
