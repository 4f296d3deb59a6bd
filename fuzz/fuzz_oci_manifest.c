/*
 * libFuzzer target for the image manifest and image config readers that
 * oci_image_verify trusts: any bytes must parse to descriptors and diff_ids
 * temper may use as they are (sha256 digests, so a blob name can never leave
 * blobs/sha256; terminated media types; sizes that fit int64; counts under
 * the cap), or fail with TEMPER_E_PARSE or TEMPER_E_LIMIT and a message,
 * never crash, read out of bounds or leak. The input is not NUL-terminated,
 * so a read past `size` is caught by ASan. Every input goes to the three
 * readers (manifest, config, and the image index reader oci_index_images,
 * whose images must each be an image manifest with a named platform): a
 * manifest is a config that fails, and the other way round.
 *
 * Seeds: fuzz/corpus/oci_manifest, made by fuzz/make-corpus.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/sha256.h"
#include "oci/oci-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_oci_manifest: %s\n", what);
    abort();
}

static void
check_failure(const struct temper_err *err)
{
    if (err->code != TEMPER_E_PARSE && err->code != TEMPER_E_LIMIT)
        fail("failed with a code other than TEMPER_E_PARSE or TEMPER_E_LIMIT");
    if (memchr(err->msg, '\0', sizeof(err->msg)) == NULL || err->msg[0] == '\0')
        fail("failure without a message");
}

static void
check_descriptor(const struct oci_descriptor *d)
{
    if (memchr(d->media_type, '\0', sizeof(d->media_type)) == NULL)
        fail("media type unterminated");
    if (!sha256_is_digest(d->digest))
        fail("descriptor with a digest that is not sha256");
    if (d->size > INT64_MAX)
        fail("size beyond int64");
}

static void
manifest(const char *buf, size_t len)
{
    struct oci_manifest m = {.nlayers = 12345};
    struct temper_err err = {0};

    if (oci_manifest_parse(buf, len, &m, &err) != 0) {
        check_failure(&err);
        if (m.nlayers != 12345 || m.layers != NULL)
            fail("manifest out-parameter set on failure");
        return;
    }
    if (m.media_type[0] != '\0' && strcmp(m.media_type, OCI_MEDIA_TYPE_MANIFEST) != 0 &&
        strcmp(m.media_type, OCI_MEDIA_TYPE_DOCKER_MANIFEST) != 0)
        fail("accepted a manifest of another media type");
    check_descriptor(&m.config);
    if (strcmp(m.config.media_type, OCI_MEDIA_TYPE_CONFIG) != 0 &&
        strcmp(m.config.media_type, OCI_MEDIA_TYPE_DOCKER_CONFIG) != 0)
        fail("accepted a config descriptor of another media type");
    if (m.nlayers > OCI_MANIFEST_MAX_LAYERS)
        fail("more layers than the cap");
    for (size_t i = 0; i < m.nlayers; i++)
        check_descriptor(&m.layers[i]);
    oci_manifest_release(&m);
    if (m.layers != NULL || m.nlayers != 0)
        fail("release left layers behind");
}

static void
config(const char *buf, size_t len)
{
    struct oci_config c = {.ndiff_ids = 12345};
    struct temper_err err = {0};

    if (oci_config_parse(buf, len, &c, &err) != 0) {
        check_failure(&err);
        if (c.ndiff_ids != 12345 || c.diff_ids != NULL)
            fail("config out-parameter set on failure");
        return;
    }
    if (c.ndiff_ids > OCI_MANIFEST_MAX_LAYERS)
        fail("more diff_ids than the cap");
    for (size_t i = 0; i < c.ndiff_ids; i++) {
        if (!sha256_is_digest(c.diff_ids[i]))
            fail("diff_id that is not sha256");
    }
    oci_config_release(&c);
}

/* A platform name: terminated, not empty, of letters, digits, '.', '_' and '-' only (it is
 * printed as os/architecture, and written into tags and JSON). */
static void
check_name(const char *s, size_t size, bool may_be_empty)
{
    if (memchr(s, '\0', size) == NULL)
        fail("platform name unterminated");
    if ((!may_be_empty && s[0] == '\0') ||
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(s))
        fail("platform name empty or not a name");
}

static void
image_index(const char *buf, size_t len)
{
    struct oci_platform_image *images = NULL;
    struct temper_err err = {0};
    size_t n = 12345;

    if (oci_index_images(buf, len, &images, &n, &err) != 0) {
        check_failure(&err);
        if (n != 12345 || images != NULL)
            fail("index out-parameters set on failure");
        return;
    }
    if (n == 0 || n > OCI_INDEX_MAX_IMAGES)
        fail("an index of no images, or of more than the cap");
    for (size_t i = 0; i < n; i++) {
        check_descriptor(&images[i].manifest);
        if (!oci_is_image_manifest(images[i].manifest.media_type))
            fail("an index image that is not an image manifest");
        check_name(images[i].os, sizeof(images[i].os), false);
        check_name(images[i].architecture, sizeof(images[i].architecture), false);
        check_name(images[i].variant, sizeof(images[i].variant), true);
    }
    free(images);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    manifest((const char *)data, size);
    config((const char *)data, size);
    image_index((const char *)data, size);
    return 0;
}
