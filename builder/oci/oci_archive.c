/*
 * One image of a layout as a single tar that `podman load` and `docker load`
 * take: an OCI layout holding that image alone (oci-layout, index.json,
 * its blobs), plus the `manifest.json` of Docker's archive format naming it
 * REPOSITORY:TAG. The tar is written by the layer writer, uncompressed, from
 * a plan of those files, so its bytes follow the same rules as a layer's
 * and depend only on the image: not on other tags in the layout, not on the
 * machine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "layer/layer_writer.h"
#include "oci-internal.h"

/* The files of the archive, as a plan (sorted by path, as the layer writer wants it). */
struct archive_plan {
    struct rootfs_plan plan;
    size_t cap;
};

static void
plan_add(struct archive_plan *a, struct rootfs_entry e)
{
    if (a->plan.n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 16;
        a->plan.entries = xreallocarray(a->plan.entries, a->cap, sizeof(*a->plan.entries));
    }
    a->plan.entries[a->plan.n++] = e;
}

static void
plan_add_text(struct archive_plan *a, const char *path, char *text, size_t len)
{
    plan_add(a, (struct rootfs_entry){.path = xstrdup(path),
                                      .type = ROOTFS_FILE,
                                      .mode = 0644,
                                      .size = len,
                                      .content = text});
}

static void
plan_add_blob(struct archive_plan *a, const char *digest, uint64_t size)
{
    char *path = xasprintf("blobs/sha256/%s", digest + 7);

    for (size_t i = 0; i < a->plan.n; i++) {
        if (strcmp(a->plan.entries[i].path, path) == 0) { /* a config that is also a layer */
            free(path);
            return;
        }
    }
    plan_add(a, (struct rootfs_entry){.path = path,
                                      .type = ROOTFS_FILE,
                                      .mode = 0644,
                                      .size = size,
                                      .source = xasprintf("/%s", path)});
}

static int
compare_entries(const void *a, const void *b)
{
    return strcmp(((const struct rootfs_entry *)a)->path, ((const struct rootfs_entry *)b)->path);
}

static void
plan_release(struct archive_plan *a)
{
    for (size_t i = 0; i < a->plan.n; i++) {
        free(a->plan.entries[i].path);
        free(a->plan.entries[i].source);
        free(a->plan.entries[i].content);
    }
    free(a->plan.entries);
}

/* A descriptor member of a manifest: its sha256 digest and size, checked. */
static int
descriptor_of(const json_t *d, const char *what, const char **digest, uint64_t *size,
              struct temper_err *err)
{
    const json_t *jd = json_object_get(d, "digest"), *js = json_object_get(d, "size");

    if (!json_is_string(jd) || !sha256_is_digest(json_string_value(jd)) || !json_is_integer(js) ||
        json_integer_value(js) < 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "the manifest's %s has no sha256 digest and size: the layout is "
                              "damaged",
                              what);
    *digest = json_string_value(jd);
    *size = (uint64_t)json_integer_value(js);
    return 0;
}

/*
 * Adds the blobs of image manifest `desc` (itself, its config, its layers) to the plan, and its
 * entry to Docker's manifest.json (`docker`), named `repo_tag` (or nameless when NULL).
 */
static int
plan_manifest(struct oci_layout *layout, const struct oci_descriptor *desc, const char *repo_tag,
              struct archive_plan *a, json_t *docker, struct temper_err *err)
{
    cleanup_free char *raw = NULL;
    json_auto_t *manifest = NULL, *layer_paths = json_array();
    json_t *layers, *entry, *layer;
    const char *digest;
    uint64_t size;
    size_t len, i;

    if (oci_blob_read(layout, desc->digest, OCI_MANIFEST_MAX_BYTES, &raw, &len, err) < 0)
        return -1;
    manifest = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
    layers = json_object_get(manifest, "layers");
    if (!json_is_object(manifest) || !json_is_array(layers))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "manifest '%s' is not an image manifest: the layout is damaged",
                              desc->digest);
    plan_add_blob(a, desc->digest, desc->size);
    if (descriptor_of(json_object_get(manifest, "config"), "config", &digest, &size, err) < 0)
        return -1;
    plan_add_blob(a, digest, size);
    entry = json_pack("{s:s+}", "Config", "blobs/sha256/", digest + 7);
    json_object_set_new(entry, "RepoTags", repo_tag ? json_pack("[s]", repo_tag) : json_array());
    json_array_append_new(docker, entry);
    json_array_foreach(layers, i, layer)
    {
        if (descriptor_of(layer, "layer", &digest, &size, err) < 0)
            return -1;
        plan_add_blob(a, digest, size);
        json_array_append_new(layer_paths, json_sprintf("blobs/sha256/%s", digest + 7));
    }
    json_object_set(entry, "Layers", layer_paths);
    return 0;
}

/*
 * The plan of the archive of `desc` tagged `tag`: an image, or an image index with each of its
 * images. Docker's manifest.json names an image REPOSITORY:TAG; the images of an index it
 * lists without a name, since which one the tag is for depends on the machine that loads it
 * (podman load, and docker's containerd store, read index.json and take their platform's).
 */
static int
plan_image(struct oci_layout *layout, const struct oci_descriptor *desc, const char *tag,
           const char *repository, struct archive_plan *a, struct temper_err *err)
{
    cleanup_free char *ref = xasprintf("%s:%s", repository, tag);
    cleanup_free struct oci_platform_image *images = NULL;
    json_auto_t *docker = json_array(), *index = NULL;
    struct oci_source src;
    size_t n = 0, len;
    char *text;

    if (oci_is_image_index(desc->media_type)) {
        oci_layout_source(layout, &src);
        if (oci_source_index(&src, desc, &images, &n, err) < 0)
            return -1;
        plan_add_blob(a, desc->digest, desc->size);
        for (size_t i = 0; i < n; i++)
            if (plan_manifest(layout, &images[i].manifest, NULL, a, docker, err) < 0)
                return -1;
    } else if (plan_manifest(layout, desc, ref, a, docker, err) < 0) {
        return -1;
    }
    oci_json_dump(docker, &text, &len);
    plan_add_text(a, "manifest.json", text, len);
    /* In the archive the image is named by its whole reference: podman takes ref.name as the
     * image's name, and would call a bare tag "localhost/<tag>". */
    index = oci_index_new();
    if (oci_index_copy_entry(oci_layout_index(layout), tag, ref, index, err) < 0)
        return -1;
    oci_json_dump(index, &text, &len);
    plan_add_text(a, "index.json", text, len);
    text = xstrdup("{\"imageLayoutVersion\":\"1.0.0\"}");
    plan_add_text(a, "oci-layout", text, strlen(text));
    plan_add(a, (struct rootfs_entry){.path = xstrdup("blobs"), .type = ROOTFS_DIR, .mode = 0755});
    plan_add(a, (struct rootfs_entry){
                    .path = xstrdup("blobs/sha256"), .type = ROOTFS_DIR, .mode = 0755});
    qsort(a->plan.entries, a->plan.n, sizeof(*a->plan.entries), compare_entries);
    return 0;
}

/*
 * Gives the unnamed file `fd` the name `base` in directory `dirfd`, replacing what is there:
 * linked under a fresh temporary name, then renamed over `base`, so a reader sees the old
 * archive or the new one; only a kill between those two steps can leave the temporary.
 */
static int
publish(int dirfd, int fd, const char *base, const char *path, struct temper_err *err)
{
    char proc[64], tmp[TEMPER_PATH_MAX];

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    for (unsigned attempt = 0;; attempt++) {
        unsigned rnd = 0;

        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
            rnd = (unsigned)getpid() * 2654435761u + attempt;
        if (snprintf(tmp, sizeof(tmp), ".%s.tmp-%08x", base, rnd) >= (int)sizeof(tmp))
            return temper_err_set(err, TEMPER_E_LIMIT, ENAMETOOLONG, "'%s' is too long", path);
        if (linkat(AT_FDCWD, proc, dirfd, tmp, AT_SYMLINK_FOLLOW) == 0)
            break;
        if (errno != EEXIST || attempt == 100)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot create '%s'", path);
    }
    if (renameat(dirfd, tmp, dirfd, base) < 0) {
        int saved = errno;

        unlinkat(dirfd, tmp, 0);
        return temper_err_sys(err, TEMPER_E_IO, saved, "cannot replace '%s'", path);
    }
    return 0;
}

/* Writes the tar to an unnamed file beside `path`, then puts it in place (see publish). */
static int
write_archive(struct oci_layout *layout, const struct archive_plan *a, int64_t epoch,
              const char *path, struct temper_err *err)
{
    struct layer_options lo = {.compression = LAYER_COMPRESSION_NONE, .jobs = 1, .epoch = epoch};
    cleanup_free char *dir = xstrdup(path);
    cleanup_close int dirfd = -1, fd = -1;
    struct layer_result res;
    struct fs_root *root = NULL;
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    int rc;

    if (slash == dir)
        dir[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    if (base[0] == '\0')
        return temper_err_set(err, TEMPER_E_USAGE, 0, "'%s' names a directory, not a file", path);
    dirfd = open(slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open the directory of '%s'", path);
    fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno,
                              "cannot create an unnamed file beside '%s' (its file system needs "
                              "O_TMPFILE)",
                              path);
    if (fs_root_open(oci_layout_path(layout), &root, err) < 0)
        return -1;
    lo.out_name = path;
    rc = layer_write(&a->plan, root, fd, &lo, &res, err);
    fs_root_free(root);
    if (rc == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
        rc = temper_err_sys(err, TEMPER_E_IO, errno, "cannot write '%s'", path);
    return rc < 0 ? -1 : publish(dirfd, fd, base, path, err);
}

int
oci_layout_archive(struct oci_layout *layout, const char *tag, const char *repository,
                   int64_t epoch, const char *path, struct temper_err *err)
{
    struct archive_plan a = {.cap = 0};
    struct oci_descriptor desc;
    int rc;

    if (oci_layout_find_tag(layout, tag, &desc, err) < 0)
        return temper_err_prefix(err, "archive '%s'", path);
    rc = plan_image(layout, &desc, tag, repository, &a, err);
    if (rc == 0)
        rc = write_archive(layout, &a, epoch, path, err);
    plan_release(&a);
    return rc < 0 ? temper_err_prefix(err, "archive '%s'", path) : 0;
}
