/*
 * temper keygen [--type ecdsa-p256|ed25519] -o PREFIX
 *
 * Writes PREFIX.key (private, PKCS#8 PEM, mode 0600, encrypted when
 * TEMPER_KEY_PASSWORD is set) and PREFIX.pub (PEM PUBLIC KEY). Never
 * overwrites a file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sign/signing.h"

static const char keygen_usage[] =
    "usage: temper keygen [--type ecdsa-p256|ed25519] -o PREFIX\n"
    "\n"
    "Writes a new key pair: PREFIX.key (private, mode 0600; encrypted with the password in\n"
    "TEMPER_KEY_PASSWORD when it is set) and PREFIX.pub (public). Existing files are never\n"
    "overwritten.\n"
    "\n"
    "  --type T        ecdsa-p256 (default: what every cosign verifier takes) or ed25519\n"
    "  -o PREFIX       where to write the two files\n";

int
cmd_keygen(int argc, char **argv)
{
    static const struct option options[] = {
        {"type", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum sign_key_type type = SIGN_KEY_ECDSA_P256;
    const char *prefix = NULL;
    struct temper_err err;
    char *password;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        switch (opt) {
        case 't':
            if (sign_key_type_parse(optarg, &type) < 0)
                return cli_usage_error("keygen", "--type wants ecdsa-p256 or ed25519, not '%s'",
                                       optarg);
            break;
        case 'o':
            prefix = optarg;
            break;
        case 'h':
            fputs(keygen_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("keygen", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("keygen", "unexpected argument '%s'", argv[optind]);
    if (prefix == NULL || prefix[0] == '\0')
        return cli_usage_error("keygen", "-o PREFIX is required");
    if (getenv("TEMPER_KEY_PASSWORD") != NULL && cli_key_password() == NULL)
        return cli_usage_error("keygen",
                               "TEMPER_KEY_PASSWORD is set but empty: set a password to encrypt "
                               "the key, or unset it for a key without one");
    password = cli_key_password();
    rc = sign_keygen(type, prefix, password, &err);
    cli_forget_password(password);
    if (rc < 0)
        return cli_error(&err);
    cli_line(stderr, "temper: wrote %s.key (private%s; keep it secret) and %s.pub (public)", prefix,
             password ? ", encrypted" : "", prefix);
    return CLI_EXIT_OK;
}
