/*
 * The layers a layout holds already, so that a build of another image over
 * the same base takes the base's blobs instead of compressing the same tar
 * again (oci_layout_layers_made in oci_layout.h).
 */
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "oci-internal.h"

/* The manifest and config of one index entry, parsed; -1 when they cannot be read or parsed. */
static int
load_image(struct oci_layout *layout, const json_t *entry, struct oci_manifest *m,
           struct oci_config *c)
{
    const char *digest = json_string_value(json_object_get(entry, "digest"));
    const char *media_type = json_string_value(json_object_get(entry, "mediaType"));
    const char *tag = oci_entry_ref_name(entry);
    cleanup_free char *text = NULL;
    struct temper_err err;
    size_t len;

    if (digest == NULL || media_type == NULL || !oci_is_image_manifest(media_type) ||
        (tag != NULL && oci_tag_is_attached(tag)))
        return -1;
    if (oci_blob_read(layout, digest, OCI_MANIFEST_MAX_BYTES, &text, &len, &err) < 0 ||
        oci_manifest_parse(text, len, m, &err) < 0)
        return -1;
    free(steal_pointer(&text));
    if (oci_blob_read(layout, m->config.digest, OCI_CONFIG_MAX_BYTES, &text, &len, &err) < 0 ||
        oci_config_parse(text, len, c, &err) < 0) {
        oci_manifest_release(m);
        return -1;
    }
    return 0;
}

bool
oci_blob_present(struct oci_layout *layout, const char *digest, uint64_t size)
{
    struct temper_err err;
    struct stat st;
    int fd = oci_blob_open(layout, digest, &err);
    bool ok;

    if (fd < 0)
        return false;
    ok = fstat(fd, &st) == 0 && (uint64_t)st.st_size == size;
    close(fd);
    return ok;
}

/* Whether `made` already lists blob `digest`: images over one base share it. */
static bool
listed(const struct oci_layer_made *made, size_t n, const char *digest)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(made[i].desc.digest, digest) == 0)
            return true;
    return false;
}

size_t
oci_layout_layers_made(struct oci_layout *layout, struct oci_layer_made **out)
{
    const json_t *manifests = json_object_get(oci_layout_index(layout), "manifests");
    struct oci_layer_made *made = NULL;
    size_t n = 0;

    for (size_t i = 0; i < json_array_size(manifests); i++) {
        struct oci_manifest m;
        struct oci_config c;

        if (load_image(layout, json_array_get(manifests, i), &m, &c) < 0)
            continue;
        for (size_t l = 0; l < m.nlayers && l < c.ndiff_ids && l < c.ncomments; l++) {
            if (c.comments[l] == NULL || listed(made, n, m.layers[l].digest) ||
                !oci_blob_present(layout, m.layers[l].digest, m.layers[l].size))
                continue;
            made = xreallocarray(made, n + 1, sizeof(*made));
            made[n] = (struct oci_layer_made){.desc = m.layers[l], .comment = c.comments[l]};
            c.comments[l] = NULL; /* now made[n]'s */
            memcpy(made[n++].diff_id, c.diff_ids[l], sizeof(c.diff_ids[l]));
        }
        oci_manifest_release(&m);
        oci_config_release(&c);
    }
    *out = made;
    return n;
}

void
oci_layers_made_free(struct oci_layer_made *made, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(made[i].comment);
    free(made);
}
