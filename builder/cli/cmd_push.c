/*
 * temper push [registry options] [--from REPO]... LAYOUT[:TAG] REGISTRY/REPO[:TAG]
 *
 * Pushes an image of a layout, and its signatures, to a registry. The
 * registry options and credentials are those of registry_args.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "cli.h"
#include "oci/oci_layout.h"
#include "registry/registry_client.h"

static const char push_usage[] =
    "usage: temper push [registry options] [--from REPO]... LAYOUT[:TAG] REGISTRY/REPO[:TAG]\n"
    "\n"
    "Pushes the image tagged TAG of the layout (default: its only image), and its signatures\n"
    "(the tag sha256-<digest>.sig, merged with those the registry has), to REGISTRY/REPO under\n"
    "TAG (default: by digest). Prints the manifest digest.\n"
    "\n"
    "  --from REPO         a repository of the same registry that may hold some of the\n"
    "                      blobs: they are mounted from it instead of uploaded (repeatable,\n"
    "                      tried in order; a blob it lacks is uploaded as usual)\n"
    "\n"
    "Registry options:\n" CLI_REGISTRY_USAGE;

struct push_args {
    struct registry_args registry;
    char *layout_arg;
    const char *target;
    const char *mount_from[REGISTRY_MOUNT_FROM_MAX];
    size_t mount_from_count;
};

static int
parse_args(int argc, char **argv, struct push_args *a)
{
    static const struct option options[] = {
        CLI_REGISTRY_LONG_OPTIONS,
        {"from", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (cli_registry_option(opt, optarg, &a->registry))
            continue;
        switch (opt) {
        case 'f':
            if (a->mount_from_count == REGISTRY_MOUNT_FROM_MAX)
                return cli_usage_error("push", "--from: at most %d repositories",
                                       REGISTRY_MOUNT_FROM_MAX);
            a->mount_from[a->mount_from_count++] = optarg;
            break;
        case 'h':
            fputs(push_usage, stdout);
            return 1;
        default:
            return cli_usage_error("push", "bad option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("push", "LAYOUT[:TAG] and REGISTRY/REPO[:TAG] are required");
    a->layout_arg = argv[optind];
    a->target = argv[optind + 1];
    return 0;
}

/* A progress line on a terminal, rewritten at most every 1% and at the end of each blob. */
static void
show_progress(void *arg, const char *digest, uint64_t sent, uint64_t total)
{
    unsigned *last = arg;
    unsigned pct = total ? (unsigned)(sent * 100 / total) : 100;

    if (pct == *last && sent != total)
        return;
    *last = pct;
    fprintf(stderr, "\rtemper: uploading %.19s %3u%% of %llu bytes", digest, pct,
            (unsigned long long)total);
    if (sent == total)
        fputc('\n', stderr);
}

static int
push(const struct push_args *a, const struct registry_options *opts)
{
    struct registry_ref ref = {0};
    struct registry_client *client = NULL;
    struct oci_layout *layout = NULL;
    struct registry_push_stats stats = {0};
    struct oci_descriptor desc;
    struct temper_err err;
    const char *dir, *tag;
    int rc;

    if (registry_ref_parse(a->target, &ref, &err) < 0)
        return cli_usage_error("push", "%s", err.msg);
    cli_split_layout(a->layout_arg, &dir, &tag);
    if (tag != NULL && oci_tag_is_signature(tag)) {
        registry_ref_release(&ref);
        return cli_usage_error("push", "'%s' holds signatures; name the image's own tag", tag);
    }
    rc = oci_layout_open(dir, false, &layout, &err);
    if (rc == 0)
        rc = oci_layout_find_tag(layout, tag, &desc, &err);
    if (rc == 0)
        rc = registry_client_new(&ref, opts, &client, &err);
    if (rc == 0)
        rc = registry_push(client, layout, &desc, &stats, &err);
    registry_client_free(client);
    oci_layout_free(layout);
    if (rc < 0) {
        registry_ref_release(&ref);
        return cli_error(&err);
    }
    cli_line(stderr,
             "temper: pushed %s to %s/%s%s%s: %zu blobs, %zu uploaded (%llu bytes), %zu "
             "mounted, %zu already present",
             desc.digest, ref.registry, ref.repository, ref.tag ? ":" : "", ref.tag ? ref.tag : "",
             stats.blobs, stats.blobs_uploaded, (unsigned long long)stats.bytes_uploaded,
             stats.blobs_mounted, stats.blobs - stats.blobs_uploaded - stats.blobs_mounted);
    printf("%s\n", desc.digest);
    registry_ref_release(&ref);
    return CLI_EXIT_OK;
}

int
cmd_push(int argc, char **argv)
{
    struct push_args a = {0};
    struct registry_options opts;
    struct registry_login login;
    unsigned last_pct = 101;
    int rc = parse_args(argc, argv, &a);

    if (rc != 0)
        return rc == 1 ? CLI_EXIT_OK : rc;
    rc = cli_registry_login("push", &a.registry, &opts, &login);
    if (rc >= 0)
        return rc;
    opts.mount_from = a.mount_from;
    opts.mount_from_count = a.mount_from_count;
    if (isatty(STDERR_FILENO)) {
        opts.progress = show_progress;
        opts.progress_arg = &last_pct;
    }
    rc = push(&a, &opts);
    cli_registry_logout(&login);
    return rc;
}
