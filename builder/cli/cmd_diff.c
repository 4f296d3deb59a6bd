/*
 * temper diff [--format text|json] [registry options] IMAGE_A IMAGE_B
 *
 * Exit 0 when the images are identical, 1 when they differ, 2 on an error
 * (a usage error, or an image that cannot be read: the message names which).
 * The comparison itself is the diff module's; this file prints it.
 */
#include <getopt.h>
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
    "Each IMAGE is LAYOUT[:TAG] or [docker://]REGISTRY/REPO[:TAG|@DIGEST].\n"
    "\n"
    "  --format F          text (default: one line per difference) or json\n"
    "\n"
    "Registry options:\n" CLI_REGISTRY_USAGE;

void
cli_diff_print(FILE *out, const struct image_diff *d)
{
    if (d->identical) {
        if (strcmp(d->digest_a, d->digest_b) == 0)
            fprintf(out, "images are identical: %s\n", d->digest_a);
        else
            fprintf(out,
                    "images are identical: %s and %s differ only in how their JSON is "
                    "written\n",
                    d->digest_a, d->digest_b);
        return;
    }
    fprintf(out, "images differ: %s -> %s\n", d->digest_a, d->digest_b);
    for (size_t i = 0; i < d->nitems; i++)
        fprintf(out, "%s\n", d->items[i].line);
    if (d->count > d->nitems)
        fprintf(out, "(%zu more differences not listed: over the limit of %zu)\n",
                d->count - d->nitems, d->nitems);
    fprintf(out, "%zu difference%s\n", d->count, d->count == 1 ? "" : "s");
}

struct diff_args {
    bool json;
    const char *image[2];
    struct registry_args registry;
};

/* Returns an exit code, or -1 to go on. */
static int
parse_args(int argc, char **argv, struct diff_args *a)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (cli_registry_option(opt, optarg, &a->registry))
            continue;
        switch (opt) {
        case 'f':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
                return cli_usage_error("diff", "--format wants text or json, not '%s'", optarg);
            a->json = strcmp(optarg, "json") == 0;
            break;
        case 'h':
            fputs(diff_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("diff", "bad option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("diff", "two images, please: IMAGE_A IMAGE_B (each LAYOUT[:TAG] "
                                       "or REGISTRY/REPO[:TAG|@DIGEST])");
    a->image[0] = argv[optind];
    a->image[1] = argv[optind + 1];
    return -1;
}

/* An image that cannot be read is an error of its own (exit 2), not a difference. */
static int
fail(struct temper_err *err)
{
    cli_error(err);
    return CLI_EXIT_USAGE;
}

static int
diff(const struct diff_args *a, const struct registry_options *opts)
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

        json_dumpf(doc, stdout, JSON_COMPACT | JSON_SORT_KEYS);
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
    struct diff_args a = {0};
    struct registry_options opts;
    struct registry_login login;
    int rc = parse_args(argc, argv, &a);

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
