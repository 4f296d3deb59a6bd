/*
 * The arguments temper sign and temper verify share: --key KEY
 * [--identity REGISTRY/REPO] LAYOUT[:TAG].
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "oci/oci_layout.h"

int
cli_parse_key_args(int argc, char **argv, const char *usage, struct key_args *out)
{
    static const struct option options[] = {
        {"key", required_argument, NULL, 'k'},
        {"identity", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *command = argv[0];
    int opt;

    *out = (struct key_args){NULL, NULL, NULL, NULL};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'k':
            out->key = optarg;
            break;
        case 'i':
            out->identity = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(command, "bad option");
        }
    }
    if (out->key == NULL)
        return cli_usage_error(command, "--key is required");
    if (argc - optind != 1)
        return cli_usage_error(command, "one LAYOUT[:TAG], please");
    cli_split_layout(argv[optind], &out->layout, &out->tag);
    if (out->tag != NULL && oci_tag_is_attached(out->tag))
        return cli_usage_error(
            command, "'%s' holds signatures or attestations; name the image's own tag", out->tag);
    return -1;
}
