/*
 * temper gc: a layout keeps every blob a build wrote, and rebuilds under one tag leave the old
 * config, manifest and layer behind. What stays is what index.json reaches: each entry's
 * manifest, its config and layers (and, for an image index, the manifests it names and theirs),
 * once the signatures and attestations of images no tag names any more (nor an image index a
 * tag names) are dropped: cosign's sha256-<hex>.sig and .att tags, whose subject is the manifest
 * sha256:<hex>.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/strmap.h"
#include "base/xalloc.h"
#include "oci-internal.h"
#include "oci_layout.h"

#define ATTACHED_PREFIX "sha256-"
#define HEX_LEN 64
/* An image index may name image indexes (multi-platform images of images); real ones are one
 * level deep. */
#define GC_INDEX_DEPTH_MAX 4

/* The subject "sha256:<hex>" of an attached tag (sha256-<hex>.sig), into out. */
static bool
attached_subject(const char *tag, char out[LAYER_DIGEST_LEN])
{
    if (tag == NULL || !oci_tag_is_attached(tag) ||
        strncmp(tag, ATTACHED_PREFIX, strlen(ATTACHED_PREFIX)) != 0 ||
        strlen(tag) < strlen(ATTACHED_PREFIX) + HEX_LEN)
        return false;
    memcpy(out, "sha256:", 7);
    memcpy(out + 7, tag + strlen(ATTACHED_PREFIX), HEX_LEN);
    out[7 + HEX_LEN] = '\0';
    return true;
}

/* Whether an entry of index.json is what is attached to an image (its signatures or
 * attestations), not an image. */
static bool
is_attached_entry(const json_t *entry)
{
    const char *tag = oci_entry_ref_name(entry);

    return tag != NULL && oci_tag_is_attached(tag);
}

/* The entries of index.json that stay: every one but the attached tags whose subject is not
 * `live`: neither an image a tag names nor one an image index of those names. */
static json_t *
kept_entries(const json_t *index, const struct strmap *live, struct oci_gc_result *out)
{
    const json_t *manifests = json_object_get(index, "manifests");
    json_t *kept = json_deep_copy(index), *entries = json_array();

    if (kept == NULL || entries == NULL)
        abort(); /* out of memory */
    for (size_t i = 0; i < json_array_size(manifests); i++) {
        json_t *e = json_array_get(manifests, i);
        char subject[LAYER_DIGEST_LEN];

        if (attached_subject(oci_entry_ref_name(e), subject) && strmap_get(live, subject) == NULL)
            strv_append(&out->tags, &out->ntags, xstrdup(oci_entry_ref_name(e)));
        else
            json_array_append(entries, e);
    }
    json_object_set_new(kept, "manifests", entries);
    return kept;
}

static void mark(struct oci_layout *layout, struct strmap *live, const char *digest, unsigned depth,
                 struct temper_err *err, int *rc);

/* Marks what the manifest blob `digest` names: an image manifest's config and layers, an image
 * index's manifests. */
static void
mark_manifest(struct oci_layout *layout, struct strmap *live, const char *digest, unsigned depth,
              struct temper_err *err, int *rc)
{
    cleanup_free char *text = NULL;
    struct oci_manifest m;
    json_auto_t *doc = NULL;
    const json_t *manifests;
    size_t len;

    if (oci_blob_read(layout, digest, OCI_MANIFEST_MAX_BYTES, &text, &len, err) < 0) {
        *rc = -1;
        return;
    }
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    manifests = json_object_get(doc, "manifests");
    if (json_is_array(manifests)) {
        if (depth >= GC_INDEX_DEPTH_MAX) {
            *rc = temper_err_set(err, TEMPER_E_LIMIT, 0, "image index '%s' nests over %d levels",
                                 digest, GC_INDEX_DEPTH_MAX);
            return;
        }
        for (size_t i = 0; i < json_array_size(manifests) && *rc == 0; i++) {
            const char *d =
                json_string_value(json_object_get(json_array_get(manifests, i), "digest"));

            if (d == NULL) {
                *rc = temper_err_set(err, TEMPER_E_PARSE, 0,
                                     "image index '%s': an entry has no digest", digest);
                return;
            }
            mark(layout, live, d, depth + 1, err, rc);
        }
        return;
    }
    if (oci_manifest_parse(text, len, &m, err) < 0) {
        *rc = temper_err_prefix(err, "manifest '%s'", digest);
        return;
    }
    strmap_put(live, m.config.digest, (void *)1);
    for (size_t i = 0; i < m.nlayers; i++)
        strmap_put(live, m.layers[i].digest, (void *)1);
    oci_manifest_release(&m);
}

static void
mark(struct oci_layout *layout, struct strmap *live, const char *digest, unsigned depth,
     struct temper_err *err, int *rc)
{
    if (strmap_get(live, digest) != NULL)
        return;
    strmap_put(live, digest, (void *)1);
    mark_manifest(layout, live, digest, depth, err, rc);
}

static bool
is_blob_name(const char *name)
{
    return strlen(name) == HEX_LEN && strspn(name, "0123456789abcdef") == HEX_LEN;
}

/* The blobs of blobs/sha256 that `live` does not hold, with their sizes. */
static int
find_dead(int dirfd, const struct strmap *live, struct oci_gc_result *out, struct temper_err *err)
{
    int fd = dup(dirfd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *d;

    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot list blobs/sha256");
    }
    rewinddir(dir);
    while ((errno = 0, d = readdir(dir)) != NULL) {
        char digest[LAYER_DIGEST_LEN];
        struct stat st;

        /* temporaries (".tmp-...") are a writer's, and go when a writer takes the lock */
        if (!is_blob_name(d->d_name))
            continue;
        memcpy(digest, "sha256:", 7);
        memcpy(digest + 7, d->d_name, HEX_LEN + 1); /* is_blob_name: HEX_LEN bytes and a NUL */
        if (strmap_get(live, digest) != NULL) {
            out->kept++;
            continue;
        }
        if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            out->bytes += (uint64_t)st.st_size;
        strv_append(&out->blobs, &out->nblobs, xstrdup(digest));
    }
    if (errno != 0) {
        int e = errno;

        closedir(dir);
        return temper_err_sys(err, TEMPER_E_IO, e, "cannot list blobs/sha256");
    }
    closedir(dir);
    return 0;
}

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
oci_layout_gc(struct oci_layout *layout, bool dry_run, struct oci_gc_result *out,
              struct temper_err *err)
{
    json_t *kept = NULL;
    const json_t *entries;
    struct strmap live;
    int dirfd = -1, rc = 0;

    *out = (struct oci_gc_result){0};
    /* the lock (which also removes a killed writer's temporaries) only to change something */
    if (!dry_run && oci_layout_lock(layout, err) < 0)
        return -1;
    /* the images first, through their indexes: what an attached tag may be about */
    strmap_init(&live);
    entries = json_object_get(oci_layout_index(layout), "manifests");
    for (size_t i = 0; i < json_array_size(entries) && rc == 0; i++) {
        const json_t *e = json_array_get(entries, i);
        const char *d = json_string_value(json_object_get(e, "digest"));

        if (d != NULL && !is_attached_entry(e))
            mark(layout, &live, d, 0, err, &rc);
    }
    kept = kept_entries(oci_layout_index(layout), &live, out);
    entries = json_object_get(kept, "manifests");
    for (size_t i = 0; i < json_array_size(entries) && rc == 0; i++) {
        const json_t *e = json_array_get(entries, i);
        const char *d = json_string_value(json_object_get(e, "digest"));

        if (d != NULL && is_attached_entry(e))
            mark(layout, &live, d, 0, err, &rc);
    }
    if (rc < 0)
        temper_err_prefix(err, "layout '%s' is damaged, so nothing was removed",
                          oci_layout_path(layout));
    if (rc == 0)
        rc = oci_layout_blobs_dir(layout, &dirfd, err);
    if (rc == 0 && dirfd >= 0)
        rc = find_dead(dirfd, &live, out, err);
    strmap_release(&live, NULL);
    if (out->blobs != NULL)
        qsort(out->blobs, out->nblobs, sizeof(*out->blobs), compare_strings);
    if (rc == 0 && !dry_run && out->ntags > 0)
        rc = oci_layout_commit_index(layout, &kept, err);
    json_decref(kept);
    for (size_t i = 0; rc == 0 && !dry_run && i < out->nblobs; i++)
        if (unlinkat(dirfd, out->blobs[i] + 7, 0) < 0 && errno != ENOENT)
            rc = temper_err_sys(err, TEMPER_E_IO, errno, "cannot remove blob '%s'", out->blobs[i]);
    if (rc == 0 && !dry_run && out->nblobs > 0 && fsync(dirfd) < 0)
        rc = temper_err_sys(err, TEMPER_E_IO, errno, "cannot sync blobs/sha256");
    if (rc < 0)
        oci_gc_result_release(out);
    return rc;
}

void
oci_gc_result_release(struct oci_gc_result *result)
{
    for (size_t i = 0; i < result->ntags; i++)
        free(result->tags[i]);
    for (size_t i = 0; i < result->nblobs; i++)
        free(result->blobs[i]);
    free(result->tags);
    free(result->blobs);
    *result = (struct oci_gc_result){0};
}
