/*
 * temper sbom --key PUB [--arch ARCH] [registry options]
 *             LAYOUT[:TAG] | REGISTRY/REPO[:TAG|@DIGEST]
 *
 * Prints the SPDX document attached to an image (temper build --sbom FILE
 * --key KEY attaches it; temper push carries it) once its attestation holds:
 * signed by PUB, and about this image's manifest digest; of an image index,
 * its image for ARCH (default: this machine's). The document is printed as
 * temper build --sbom wrote it, byte for byte.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/cleanup.h"
#include "cli.h"
#include "oci/oci_layout.h"
#include "registry/registry_client.h"
#include "sign/signing.h"

static const char sbom_usage[] =
    "usage: temper sbom --key PUB [--arch ARCH] [registry options]\n"
    "                   [oci:]LAYOUT[:TAG] | [docker://]REGISTRY/REPO[:TAG|@DIGEST]\n"
    "\n"
    "Prints the SPDX 2.3 document (JSON) attached to the image tagged TAG (default: the\n"
    "layout's only image, or the registry's tag latest), once its attestation holds: a DSSE\n"
    "envelope signed by the public key PUB whose in-toto statement is about this image. temper\n"
    "build --sbom FILE --key KEY attaches it, temper push pushes it; the output is FILE's\n"
    "bytes. Of an image index, each image has its own: the one for ARCH is printed. Exit 0\n"
    "when it holds.\n"
    "\n"
    "  --key PUB                 the public key (.pub)\n"
    "  --arch ARCH               of an image index, its image for ARCH (default: this\n"
    "                            machine's)\n"
    "\n"
    "Registry options:\n" CLI_REGISTRY_USAGE;

static int
print_sbom(const char *key_path, const char *image, const char *arch,
           const struct registry_options *opts)
{
    struct sign_key *key = NULL;
    json_t *predicate = NULL;
    struct cli_image img;
    struct temper_err err;
    char *text;
    int rc;

    if (sign_key_load_public(key_path, &key, &err) < 0)
        return cli_error(&err);
    rc = cli_image_open(image, opts, &img, &err);
    if (rc == 0 && (rc = cli_image_platform(&img, arch, &err)) < 0)
        cli_image_close(&img);
    if (rc == 0) {
        rc = sign_find_attestation(&img.source, img.desc.digest, key, SIGN_PREDICATE_SPDX,
                                   &predicate, &err);
        if (rc < 0)
            temper_err_prefix(&err, "%s: key '%s'", img.source.name, key_path);
        cli_image_close(&img);
    }
    sign_key_free(key);
    if (rc < 0)
        return cli_error(&err);
    /* as sbom_spdx writes it: so the output is the --sbom file */
    text = json_dumps(predicate, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(predicate);
    if (text == NULL) {
        temper_err_set(&err, TEMPER_E_PARSE, 0, "the attested SBOM cannot be written as JSON");
        return cli_error(&err);
    }
    printf("%s\n", text);
    free(text);
    return CLI_EXIT_OK;
}

int
cmd_sbom(int argc, char **argv)
{
    static const struct option options[] = {
        {"key", required_argument, NULL, 'k'},
        {"arch", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct registry_args registry = {0};
    struct registry_options opts;
    struct registry_login login;
    const char *key = NULL, *arch = NULL;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (cli_registry_option(opt, optarg, &registry))
            continue;
        switch (opt) {
        case 'k':
            key = optarg;
            break;
        case 'a':
            if ((rc = cli_arch_option("sbom", optarg, &arch)) >= 0)
                return rc;
            break;
        case 'h':
            fputs(sbom_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("sbom", "bad option");
        }
    }
    if (key == NULL)
        return cli_usage_error("sbom", "--key is required: the SBOM is printed only once its "
                                       "signature holds");
    if (argc - optind != 1)
        return cli_usage_error("sbom", "one LAYOUT[:TAG] or REGISTRY/REPO[:TAG|@DIGEST], please");
    rc = cli_registry_login("sbom", &registry, &opts, &login);
    if (rc >= 0)
        return rc;
    opts.read_only = true;
    rc = print_sbom(key, argv[optind], arch, &opts);
    cli_registry_logout(&login);
    return rc;
}
