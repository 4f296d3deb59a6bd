/*
 * temper sign --key KEY [--identity REGISTRY/REPO] LAYOUT[:TAG]
 *
 * Signs the digest of the tagged manifest's exact bytes, and stores the
 * signature in the layout as a registry holds it (signing.h), so that push
 * carries it as it is. Signing again with another key adds a signature.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "cli.h"
#include "oci/oci_layout.h"
#include "sign/signing.h"

static const char sign_usage[] =
    "usage: temper sign --key KEY [--identity REGISTRY/REPO] LAYOUT[:TAG]\n"
    "\n"
    "Signs the image tagged TAG (default: the layout's only image) with the private key KEY\n"
    "(its password, if any, in TEMPER_KEY_PASSWORD), in cosign's simple-signing format, and\n"
    "stores the signature in the layout under the tag sha256-<digest>.sig.\n"
    "\n"
    "  --key KEY                 the private key (temper keygen writes one)\n"
    "  --identity REGISTRY/REPO  the repository the signature names (default: the layout\n"
    "                            directory's name); use the one the image will be pushed to\n";

/* The default identity of a layout: its directory's name ("out/python" -> "python"). */
char *
cli_default_identity(const char *layout)
{
    cleanup_free char *copy = xstrdup(layout);
    size_t len = strlen(copy);
    char *slash;

    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    slash = strrchr(copy, '/');
    return xstrdup(slash != NULL ? slash + 1 : copy);
}

/* Loads a private key with the password from the environment, which is wiped afterwards. */
int
cli_load_private_key(const char *path, struct sign_key **key, struct temper_err *err)
{
    char *password = cli_key_password();
    int rc = sign_key_load_private(path, password, key, err);

    cli_forget_password(password);
    return rc;
}

int
cmd_sign(int argc, char **argv)
{
    static const struct option options[] = {
        {"key", required_argument, NULL, 'k'},
        {"identity", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key_path = NULL, *identity = NULL, *dir, *tag;
    cleanup_free char *default_identity = NULL;
    struct sign_key *key = NULL;
    struct oci_layout *layout = NULL;
    struct oci_descriptor desc;
    struct temper_err err;
    char sig_tag[80];
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'k':
            key_path = optarg;
            break;
        case 'i':
            identity = optarg;
            break;
        case 'h':
            fputs(sign_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("sign", "bad option");
        }
    }
    if (key_path == NULL)
        return cli_usage_error("sign", "--key KEY is required");
    if (argc - optind != 1)
        return cli_usage_error("sign", "one LAYOUT[:TAG] to sign");
    cli_split_layout(argv[optind], &dir, &tag);
    if (tag != NULL && oci_tag_is_signature(tag))
        return cli_usage_error("sign", "'%s' holds signatures; name the image's own tag", tag);
    if (identity == NULL)
        identity = default_identity = cli_default_identity(dir);
    if (cli_load_private_key(key_path, &key, &err) < 0)
        return cli_error(&err);
    rc = oci_layout_open(dir, false, &layout, &err);
    if (rc == 0)
        rc = oci_layout_find_tag(layout, tag, &desc, &err);
    /* Only an image whose every byte is what its manifest says gets a signature. */
    if (rc == 0)
        rc = oci_image_verify(layout, &desc, &err);
    if (rc == 0)
        rc = sign_layout_sign(layout, desc.digest, key, identity, &err);
    oci_layout_free(layout);
    sign_key_free(key);
    if (rc < 0)
        return cli_error(&err);
    sign_tag_of(desc.digest, sig_tag);
    fprintf(stderr, "temper: signed %s for '%s' with '%s'\n", desc.digest, identity, key_path);
    printf("%s\n", sig_tag);
    return CLI_EXIT_OK;
}
