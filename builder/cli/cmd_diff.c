/*
 * temper diff [--format text|json] [registry options] IMAGE_A IMAGE_B
 *
 * Exit 0 when the images are identical, 1 when they differ, 2 on an error
 * (a usage error, or an image that cannot be read: the message names which).
 * The comparison itself is the diff module's; this file prints it.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "diff/image_diff.h"
#include "registry/registry_client.h"

static const char diff_usage[] =
    "usage: temper diff [--format text|json] [registry options] IMAGE_A IMAGE_B\n"
    "\n"
    "Compares two images and reports every difference, from the top down: manifest fields\n"
    "and annotations, config fields (created, architecture, User, Env, Entrypoint, Cmd,\n"
    "WorkingDir, Labels, history, rootfs), layers that differ only in compression, and in\n"
    "layers that differ, the files added, removed and changed (content, mode, owner, mtime,\n"
    "link target, type, entry order, pax records). Layers are streamed, never unpacked.\n"
    "Exit 0 when identical, 1 when different, 2 on an error.\n"
    "\n"
    "Each IMAGE is [oci:]LAYOUT[:TAG] or [docker://]REGISTRY/REPO[:TAG|@DIGEST].\n"
    "\n"
    "  --format F          text (default: one line per difference) or json\n"
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

static int
diff(const struct image_args *a, const struct registry_options *opts)
{
    struct cli_image img[2];
    struct image_diff d;
    struct temper_err err;
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
    rc = image_diff_compare(&img[0].source, &img[0].desc, &img[1].source, &img[1].desc, &d, &err);
    cli_image_close(&img[0]);
    cli_image_close(&img[1]);
    if (rc < 0)
        return fail(&err);
    if (a->json) {
        json_t *doc = image_diff_json(&d, a->image[0], a->image[1]);

        json_dumpf(doc, stdout, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        cli_diff_print(stdout, &d);
    }
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
