/*
 * The layers temper build writes: the whole plan as one, or (layering:
 * includes) one per file of the recipe that adds something, cut by
 * rootfs_plan_layers from the plans of the recipe's parts. A layer the
 * output layout holds already (an image over the same base built before)
 * is taken from it rather than compressed again, once proven the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "cli.h"
#include "diff/image_diff.h"
#include "oci/oci_layout.h"

void
cli_layers_release(struct cli_layers *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->layers[i].staged_fd >= 0)
            close(b->layers[i].staged_fd);
        if (b->cut != NULL)
            free(b->layers[i].lo.file_digests);
        free(b->comments ? b->comments[i] : NULL);
    }
    for (size_t i = 0; i < b->nplans; i++) {
        if (b->plans[i] != b->whole)
            rootfs_plan_free(b->plans[i]);
    }
    free(b->plans);
    free(b->files);
    free(b->comments);
    free(b->layers);
    rootfs_layers_free(b->cut, b->nplans);
    recipe_parts_free(b->parts, b->nparts);
}

/*
 * Whether part k brings something of its own into the image: files (binaries, files, trees,
 * libraries, gconv, ca-certificates, paths) or accounts. A file that only names the archive
 * (debian/bookworm.yaml) or sets scalars plans what the part below it does plus temper's own
 * files, which belong in the layer of the first file that brings something.
 */
static bool
brings(const struct recipe_part *parts, size_t k)
{
    const struct recipe *r = parts[k].recipe, *below = k > 0 ? parts[k - 1].recipe : NULL;

    if (below == NULL)
        return r->binaries.n + r->files.n + r->ntrees + r->libraries.n + r->gconv.n +
                   r->ca_certificates.n + r->npaths >
               0;
    return r->binaries.n != below->binaries.n || r->files.n != below->files.n ||
           r->ntrees != below->ntrees || r->libraries.n != below->libraries.n ||
           r->gconv.n != below->gconv.n || r->ca_certificates.n != below->ca_certificates.n ||
           r->npaths != below->npaths || r->nusers != below->nusers || r->ngroups != below->ngroups;
}

/* Plans each part of the recipe below the whole that brings something, and cuts the image
 * into layers. */
static int
plan_parts(const char *recipe, const struct recipe *r, struct rootfs_plan *plan,
           struct fs_root *root, const struct rootfs_options *opts, const struct layer_options *lo,
           struct cli_layers *b, struct temper_err *err)
{
    char compressor[128];

    if (recipe_load_parts(recipe, &b->parts, &b->nparts, err) < 0)
        return -1;
    b->plans = xcalloc(b->nparts, sizeof(*b->plans));
    b->files = xcalloc(b->nparts, sizeof(*b->files));
    b->whole = plan;
    for (size_t k = 0; k < b->nparts; k++) {
        struct recipe *part = b->parts[k].recipe;

        if (k + 1 < b->nparts && !brings(b->parts, k))
            continue;
        b->files[b->nplans] = b->parts[k].file;
        if (k + 1 == b->nparts) {
            b->plans[b->nplans++] = plan;
            break;
        }
        /* an image of packages is for the architecture they were taken for, in every layer */
        if (part->architecture.value == NULL && r->architecture.value != NULL)
            part->architecture.value = xstrdup(r->architecture.value);
        if (rootfs_plan_build(part, root, opts, &b->plans[b->nplans], err) < 0)
            return temper_err_prefix(err, "the layer of '%s'", b->files[b->nplans]);
        b->nplans++;
    }
    if (rootfs_plan_layers(b->plans, b->files, b->nplans, &b->cut, &b->n, err) < 0)
        return -1;
    b->layers = xcalloc(b->n, sizeof(*b->layers));
    b->comments = xcalloc(b->n, sizeof(*b->comments));
    layer_compressor(lo, compressor, sizeof(compressor));
    for (size_t i = 0; i < b->n; i++) {
        const char *file = b->files[b->cut[i].part], *slash = strrchr(file, '/');
        struct cli_build_layer *l = &b->layers[i];

        /* The file's name alone (the config must not depend on where the recipe was), and how
         * the layer is compressed: what lets a later build take this blob as it is. */
        b->comments[i] = xasprintf("layer of %s (%s)", slash ? slash + 1 : file, compressor);
        *l = (struct cli_build_layer){
            .plan = &b->cut[i].view, .lo = *lo, .comment = b->comments[i], .staged_fd = -1};
        if (lo->file_digests != NULL)
            l->lo.file_digests = xcalloc(b->cut[i].view.n + 1, sizeof(*l->lo.file_digests));
    }
    return 0;
}

int
cli_layers_plan(const char *recipe, const struct recipe *r, struct rootfs_plan *plan,
                struct fs_root *root, const struct rootfs_options *opts,
                const struct layer_options *lo, struct cli_layers *b, struct temper_err *err)
{
    if (r->layering != RECIPE_LAYERING_INCLUDES) {
        b->layers = xcalloc(1, sizeof(*b->layers));
        b->layers[0] = (struct cli_build_layer){.plan = plan, .lo = *lo, .staged_fd = -1};
        b->n = 1;
        return 0;
    }
    return plan_parts(recipe, r, plan, root, opts, lo, b, err);
}

/* A blob of the layout read back: its digest and what it decompresses to (on its own thread,
 * while the build makes the tar it must equal). */
struct blob_check {
    int fd;
    const char *media_type;
    struct layer_result got;
    int rc;
};

static void *
check_blob(void *arg)
{
    struct blob_check *c = arg;
    struct temper_err quiet;

    c->rc = layer_read_digests(c->fd, c->media_type, "layer", c->got.digest, c->got.diff_id,
                               &c->got.size, &quiet);
    return NULL;
}

/* Makes the layer's tar (written nowhere, hashed: its diff_id, and the file digests an SBOM
 * wants) while the first candidate blob is read back on another thread; another candidate of
 * the same diff_id, if that one is not it, after. A candidate is taken when it decompresses to
 * that tar. */
static int
find_made(struct oci_layout *layout, struct cli_build_layer *l, struct fs_root *root,
          const struct oci_layer_made *const *made, size_t n, struct temper_err *err)
{
    struct layer_options tar = l->lo;
    struct layer_result res;
    struct blob_check c = {.media_type = layer_media_type(l->lo.compression)};
    cleanup_close int sink = open("/dev/null", O_WRONLY | O_CLOEXEC);
    struct temper_err quiet;
    pthread_t thread;
    bool started;
    int rc;

    if (sink < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open /dev/null");
    c.fd = oci_blob_open_read(layout, made[0]->desc.digest, &quiet);
    started = c.fd >= 0 && pthread_create(&thread, NULL, check_blob, &c) == 0;
    tar.compression = LAYER_COMPRESSION_NONE;
    rc = layer_write(l->plan, root, sink, &tar, &res, err);
    if (started)
        pthread_join(thread, NULL);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (strcmp(made[i]->diff_id, res.diff_id) != 0)
            continue;
        if (i > 0 || !started) {
            if (c.fd >= 0)
                close(c.fd);
            c.fd = oci_blob_open_read(layout, made[i]->desc.digest, &quiet);
            if (c.fd < 0)
                continue;
            check_blob(&c);
        }
        if (c.rc == 0 && strcmp(c.got.digest, made[i]->desc.digest) == 0 &&
            strcmp(c.got.diff_id, res.diff_id) == 0 && lseek(c.fd, 0, SEEK_SET) == 0) {
            l->res = c.got;
            l->res.tar_size = res.tar_size;
            l->staged_fd = steal_fd(&c.fd);
            l->reused = true;
            return 0;
        }
    }
    if (c.fd >= 0)
        close(c.fd);
    return rc;
}

/* The layers `made` lists with the layer's comment and media type. */
static size_t
candidates(const struct cli_build_layer *l, const struct oci_layer_made *made, size_t n,
           const struct oci_layer_made **out)
{
    const char *media_type = layer_media_type(l->lo.compression);
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (strcmp(made[i].comment, l->comment) == 0 &&
            strcmp(made[i].desc.media_type, media_type) == 0)
            out[k++] = &made[i];
    return k;
}

int
cli_layers_take(const char *output, struct cli_layers *b, struct fs_root *root, bool say,
                struct temper_err *err)
{
    struct oci_layout *layout = NULL;
    struct temper_err quiet;
    int rc = 0;

    if (b->cut == NULL)
        return 0;
    /* no layout there yet (or not one: writing the image says so) */
    if (oci_layout_open(output, false, &layout, &quiet) == 0) {
        struct oci_layer_made *made = NULL;
        size_t n = oci_layout_layers_made(layout, &made);
        cleanup_free const struct oci_layer_made **some = xcalloc(n + 1, sizeof(*some));

        for (size_t i = 0; i < b->n && rc == 0; i++) {
            size_t k = candidates(&b->layers[i], made, n, some);

            rc = k > 0 ? find_made(layout, &b->layers[i], root, some, k, err) : 0;
        }
        oci_layers_made_free(made, n);
        oci_layout_free(layout);
    }
    for (size_t i = 0; i < b->n && rc == 0 && say; i++)
        cli_line(stderr, "  layer %zu: %zu entries, from %s%s", i + 1, b->cut[i].view.n,
                 b->files[b->cut[i].part],
                 b->layers[i].reused ? " (in the layout already: not compressed again)" : "");
    return rc;
}

json_t *
cli_layers_json(const struct cli_layers *b)
{
    json_t *out = json_array();

    for (size_t i = 0; i < b->n; i++) {
        const struct cli_build_layer *l = &b->layers[i];
        const char *from = b->cut != NULL ? b->files[b->cut[i].part] : NULL;

        json_array_append_new(out,
                              json_pack("{sssIsssIsosb}", "digest", l->res.digest, "size",
                                        (json_int_t)l->res.size, "diff_id", l->res.diff_id,
                                        "entries", (json_int_t)l->plan->n, "from",
                                        from ? image_json_bytes(from, strlen(from)) : json_null(),
                                        "reused", l->reused));
    }
    return out;
}

void
cli_layers_file_digests(const struct cli_layers *b, struct layer_file_digest *out)
{
    for (size_t i = 0; b->cut != NULL && i < b->n; i++) {
        for (size_t j = 0; j < b->cut[i].view.n; j++) {
            if (b->cut[i].final_index[j] != SIZE_MAX)
                out[b->cut[i].final_index[j]] = b->layers[i].lo.file_digests[j];
        }
    }
}
