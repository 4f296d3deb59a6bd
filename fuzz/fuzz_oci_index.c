/*
 * libFuzzer target for the index.json reader: any bytes must parse to an
 * index whose types temper may rely on, or fail with TEMPER_E_PARSE and a
 * message, never crash, read out of bounds or leak. The input is not
 * NUL-terminated, so a read past `size` is caught by ASan.
 *
 * On an index that parses, each lookup answers 0 with a sha256 descriptor or
 * -1 with one of the documented codes; tagging a new image into it keeps it
 * valid, the new tag then finds exactly that image, and its canonical form
 * parses back to the same bytes.
 *
 * Seeds: fuzz/corpus/oci_index, made by fuzz/make-corpus.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "oci/oci-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_oci_index: %s\n", what);
    abort();
}

static void
check_message(const struct temper_err *err)
{
    if (memchr(err->msg, '\0', sizeof(err->msg)) == NULL || err->msg[0] == '\0')
        fail("failure without a message");
}

static void
find(const json_t *index, const char *tag)
{
    struct oci_descriptor desc;
    struct temper_err err = {0};

    if (oci_index_find(index, tag, &desc, &err) == 0) {
        if (!sha256_is_digest(desc.digest))
            fail("descriptor with a digest that is not sha256");
        if (memchr(desc.media_type, '\0', sizeof(desc.media_type)) == NULL)
            fail("media type unterminated");
        if (desc.size > INT64_MAX)
            fail("size beyond int64");
        return;
    }
    if (err.code != TEMPER_E_PARSE && err.code != TEMPER_E_MISSING && err.code != TEMPER_E_USAGE)
        fail("lookup failed with an unexpected code");
    check_message(&err);
}

/* Tags a new image into the index and checks what the layout would write. */
static void
put_and_reread(const json_t *index)
{
    static const struct oci_image_spec spec = {.architecture = "amd64", .os = "linux"};
    struct oci_descriptor desc = {.media_type = OCI_MEDIA_TYPE_MANIFEST, .size = 42};
    struct oci_descriptor found;
    struct temper_err err = {0};
    json_t *copy = json_deep_copy(index), *again = NULL;
    char *text, *text2;
    size_t len, len2;

    if (copy == NULL)
        fail("json_deep_copy failed");
    sha256_digest("fuzz", 4, desc.digest);
    if (oci_index_put(copy, "fuzz", &desc, &spec, &err) != 0)
        fail("oci_index_put failed on a parsed index");
    if (oci_index_find(copy, "fuzz", &found, &err) != 0 || strcmp(found.digest, desc.digest) != 0 ||
        strcmp(found.media_type, desc.media_type) != 0 || found.size != desc.size)
        fail("the new tag does not find the new image");
    oci_json_dump(copy, &text, &len);
    if (oci_index_parse(text, len, &again, &err) != 0)
        fail("the index written does not parse back");
    oci_json_dump(again, &text2, &len2);
    if (len != len2 || memcmp(text, text2, len) != 0)
        fail("the canonical form changed on a round trip");
    free(text);
    free(text2);
    json_decref(again);
    json_decref(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct temper_err err = {0};
    json_t *index = NULL;
    const char *first_tag;

    if (oci_index_parse((const char *)data, size, &index, &err) != 0) {
        if (err.code != TEMPER_E_PARSE)
            fail("parse failed with a code other than TEMPER_E_PARSE");
        check_message(&err);
        if (index != NULL)
            fail("out-parameter set on failure");
        return 0;
    }
    if (!json_is_array(json_object_get(index, "manifests")))
        fail("accepted an index without a manifests array");
    find(index, NULL);
    find(index, "latest");
    first_tag = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(index, "manifests"), 0), "annotations"),
        OCI_ANNOTATION_REF_NAME));
    if (first_tag != NULL)
        find(index, first_tag);
    put_and_reread(index);
    json_decref(index);
    return 0;
}
