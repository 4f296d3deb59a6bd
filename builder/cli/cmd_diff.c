/*
 * temper diff [--format text|json] [registry options] IMAGE_A IMAGE_B
 *
 * Exit 0 when the images are identical, 1 when they differ, 2 on an error
 * (a usage error, or an image that cannot be read: the message names which).
 * The comparison itself is the diff module's; this file prints it.
 */
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "cli.h"
#include "diff/image_diff.h"
#include "oci/oci_layout.h"
#include "registry/registry_client.h"

static const char diff_usage[] =
    "usage: temper diff [--format text|json] [--arch ARCH] [registry options] IMAGE_A IMAGE_B\n"
    "\n"
    "Compares two images and reports every difference, from the top down: manifest fields\n"
    "and annotations, config fields (created, architecture, User, Env, Entrypoint, Cmd,\n"
    "WorkingDir, Labels, history, rootfs), layers that differ only in compression, and in\n"
    "layers that differ, the files added, removed and changed (content, mode, owner, mtime,\n"
    "link target, type, entry order, pax records). Layers are streamed, never unpacked.\n"
    "Two image indexes are compared platform by platform, each image of A with B's image\n"
    "of the same platform; a platform that only one has is a difference. An index and an\n"
    "image: the index's image for the image's architecture (or ARCH) is compared.\n"
    "Exit 0 when identical, 1 when different, 2 on an error.\n"
    "\n"
    "Each IMAGE is [oci:]LAYOUT[:TAG] or [docker://]REGISTRY/REPO[:TAG|@DIGEST].\n"
    "\n"
    "  --format F          text (default: one line per difference) or json\n"
    "  --arch ARCH         compare only the images for ARCH of an image index\n"
    "\n"
    "Registry options:\n" CLI_REGISTRY_USAGE;

void
cli_diff_print(FILE *out, const struct image_diff *d)
{
    if (d->identical) {
        if (strcmp(d->digest_a, d->digest_b) == 0)
            cli_line(out, "images are identical: %s", d->digest_a);
        else
            cli_line(out,
                     "images are identical: %s and %s differ only in how their JSON is "
                     "written",
                     d->digest_a, d->digest_b);
        return;
    }
    cli_line(out, "images differ: %s -> %s", d->digest_a, d->digest_b);
    /* The diff module escaped what each line quotes (image_diff.h): what is left is a net. */
    for (size_t i = 0; i < d->nitems; i++) {
        cli_put(out, d->items[i].line, ESCAPE_KEEP_BACKSLASH);
        fputc('\n', out);
    }
    if (d->count > d->nitems)
        cli_line(out,
                 "(%zu more differences not listed: the first %zu are all temper keeps, "
                 "DIFF_MAX_ITEMS and DIFF_MAX_ITEM_BYTES)",
                 d->count - d->nitems, d->nitems);
    cli_line(out, "%zu difference%s", d->count, d->count == 1 ? "" : "s");
}

/* An image that cannot be read is an error of its own (exit 2), not a difference. */
static int
fail(struct temper_err *err)
{
    cli_error(err);
    return CLI_EXIT_USAGE;
}

/* One comparison, as text or as JSON; `platform` names an index's pair of images, or NULL. */
static void
print_one(const struct image_args *a, const struct image_diff *d, const char *platform,
          json_t *platforms)
{
    json_t *doc;

    if (!a->json) {
        if (platform != NULL)
            cli_line(stdout, "%s:", platform);
        cli_diff_print(stdout, d);
        return;
    }
    doc = image_diff_json(d, a->image[0], a->image[1]);
    if (platforms == NULL) {
        json_dumpf(doc, stdout, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(doc);
        return;
    }
    json_object_set_new(doc, "platform", json_string(platform));
    json_array_append_new(platforms, doc);
}

/* A platform only one index has. */
static void
print_alone(const struct image_args *a, const struct oci_platform_image *p, const char *side,
            const char *platform, json_t *platforms)
{
    if (a->json)
        json_array_append_new(platforms,
                              json_pack("{sssssssb}", "platform", platform, "only_in", side,
                                        "digest", p->manifest.digest, "identical", 0));
    else
        cli_line(stdout, "%s: only in %s: %s", platform, side, p->manifest.digest);
}

/*
 * Two image indexes, platform by platform: A's images in A's order, each against B's image of
 * its platform, then the platforms B alone has. Returns the exit code.
 */
static int
diff_indexes(const struct image_args *a, struct cli_image img[2], struct temper_err *err)
{
    cleanup_free struct oci_platform_image *ia = NULL, *ib = NULL;
    json_t *platforms = a->json ? json_array() : NULL;
    size_t na = 0, nb = 0, differ = 0;

    if (oci_source_index(&img[0].source, &img[0].desc, &ia, &na, err) < 0 ||
        oci_source_index(&img[1].source, &img[1].desc, &ib, &nb, err) < 0) {
        json_decref(platforms);
        return fail(err);
    }
    for (size_t i = 0; i < na + nb; i++) {
        const struct oci_platform_image *p = i < na ? &ia[i] : &ib[i - na];
        const struct oci_platform_image *other =
            oci_platform_find(i < na ? ib : ia, i < na ? nb : na, p->architecture);
        char platform[80];
        struct image_diff d;

        snprintf(platform, sizeof(platform), "%s/%s", p->os, p->architecture);
        if (i >= na && other != NULL)
            continue; /* compared with A's */
        if (other == NULL) {
            print_alone(a, p, i < na ? "A" : "B", platform, platforms);
            differ++;
            continue;
        }
        if (image_diff_compare(&img[0].source, &p->manifest, &img[1].source, &other->manifest, &d,
                               err) < 0) {
            json_decref(platforms);
            temper_err_prefix(err, "%s", platform);
            return fail(err);
        }
        print_one(a, &d, platform, platforms);
        differ += d.identical ? 0 : 1;
        image_diff_release(&d);
    }
    if (a->json) {
        json_t *doc = json_pack("{sbsososo}", "identical", differ == 0, "index_a",
                                json_string(img[0].desc.digest), "index_b",
                                json_string(img[1].desc.digest), "platforms", platforms);

        json_dumpf(doc, stdout, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(doc);
    } else if (differ == 0 && strcmp(img[0].desc.digest, img[1].desc.digest) == 0) {
        cli_line(stdout, "image indexes are identical: %s", img[0].desc.digest);
    } else if (differ == 0) {
        cli_line(stdout, "image indexes %s and %s name identical images", img[0].desc.digest,
                 img[1].desc.digest);
    } else {
        cli_line(stdout, "image indexes differ: %s -> %s (%zu platform%s)", img[0].desc.digest,
                 img[1].desc.digest, differ, differ == 1 ? "" : "s");
    }
    return differ == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* The architecture of an image (not an index), from its config, in `arch`; NULL when it has
 * none or the config cannot be read (the comparison then says what is wrong with it). */
static const char *
image_arch(const struct cli_image *img, char arch[32])
{
    struct image_doc doc = {0};
    struct temper_err err;
    const char *s;

    if (oci_is_image_index(img->desc.media_type) ||
        image_load(&img->source, &img->desc, &doc, &err) < 0)
        return NULL;
    s = json_string_value(json_object_get(doc.config, "architecture"));
    snprintf(arch, 32, "%s", s != NULL && strlen(s) < 32 ? s : "");
    image_doc_release(&doc);
    return arch[0] != '\0' ? arch : NULL;
}

static int
diff(const struct image_args *a, const struct registry_options *opts)
{
    struct cli_image img[2];
    struct image_diff d;
    struct temper_err err;
    char arch[2][32];
    int rc;

    if (cli_image_open(a->image[0], opts, &img[0], &err) < 0) {
        temper_err_prefix(&err, "image A '%s'", a->image[0]);
        return fail(&err);
    }
    if (cli_image_open(a->image[1], opts, &img[1], &err) < 0) {
        temper_err_prefix(&err, "image B '%s'", a->image[1]);
        cli_image_close(&img[0]);
        return fail(&err);
    }
    if (a->arch == NULL && oci_is_image_index(img[0].desc.media_type) &&
        oci_is_image_index(img[1].desc.media_type)) {
        rc = diff_indexes(a, img, &err);
        cli_image_close(&img[0]);
        cli_image_close(&img[1]);
        return rc;
    }
    rc = cli_image_platform(&img[0], a->arch ? a->arch : image_arch(&img[1], arch[1]), &err);
    if (rc == 0)
        rc = cli_image_platform(&img[1], a->arch ? a->arch : image_arch(&img[0], arch[0]), &err);
    if (rc == 0)
        rc = image_diff_compare(&img[0].source, &img[0].desc, &img[1].source, &img[1].desc, &d,
                                &err);
    cli_image_close(&img[0]);
    cli_image_close(&img[1]);
    if (rc < 0)
        return fail(&err);
    print_one(a, &d, NULL, NULL);
    rc = d.identical ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
    image_diff_release(&d);
    return rc;
}

int
cmd_diff(int argc, char **argv)
{
    struct image_args a;
    struct registry_options opts;
    struct registry_login login;
    int rc = cli_parse_image_args(argc, argv, diff_usage, 2, &a);

    if (rc >= 0)
        return rc;
    rc = cli_registry_login("diff", &a.registry, &opts, &login);
    if (rc >= 0)
        return rc;
    opts.read_only = true;
    rc = diff(&a, &opts);
    cli_registry_logout(&login);
    return rc;
}
