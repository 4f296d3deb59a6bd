/*
 * temper gc [--dry-run] LAYOUT
 *
 * Removes from a layout what no tag reaches any more (oci_layout_gc): the blobs that rebuilds
 * left behind, and the signatures and attestations of images no tag names.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "oci/oci_layout.h"

static const char gc_usage[] =
    "usage: temper gc [--dry-run] [oci:]LAYOUT\n"
    "\n"
    "Removes what no tag of the layout reaches: blobs that rebuilds left behind (old\n"
    "configs, manifests and layers), and the signatures and attestations (sha256-<digest>.sig,\n"
    ".att) of images no tag names any more. Waits for a build writing into the layout;\n"
    "index.json is replaced before any blob goes, so a crash leaves a blob too many, never\n"
    "a tag without its blobs. A damaged layout is left as it is.\n"
    "\n"
    "  --dry-run   list what would be removed, and remove nothing\n";

int
cmd_gc(int argc, char **argv)
{
    static const struct option options[] = {
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct oci_layout *layout = NULL;
    struct oci_gc_result res;
    struct temper_err err;
    const char *dir, *tag;
    bool dry_run = false;
    char *arg, bytes[32];
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            dry_run = true;
            break;
        case 'h':
            fputs(gc_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("gc", "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("gc", "one LAYOUT, please");
    arg = argv[optind];
    cli_split_layout(arg, &dir, &tag);
    if (tag != NULL)
        return cli_usage_error("gc", "'%s:%s': gc works on a whole layout, not a tag", dir, tag);
    if (oci_layout_open(dir, false, &layout, &err) < 0 ||
        oci_layout_gc(layout, dry_run, &res, &err) < 0) {
        oci_layout_free(layout);
        return cli_error(&err);
    }
    for (size_t i = 0; i < res.ntags; i++)
        cli_line(stderr, "  %s tag %s", dry_run ? "would remove" : "removed", res.tags[i]);
    for (size_t i = 0; i < res.nblobs; i++)
        cli_line(stderr, "  %s blob %s", dry_run ? "would remove" : "removed", res.blobs[i]);
    cli_human_bytes(bytes, sizeof(bytes), res.bytes);
    cli_line(stderr,
             "temper: layout '%s': %s %zu blob%s (%s) and %zu tag%s of images no tag names; "
             "kept %zu blob%s",
             dir, dry_run ? "would remove" : "removed", res.nblobs, res.nblobs == 1 ? "" : "s",
             bytes, res.ntags, res.ntags == 1 ? "" : "s", res.kept, res.kept == 1 ? "" : "s");
    oci_gc_result_release(&res);
    oci_layout_free(layout);
    return CLI_EXIT_OK;
}
