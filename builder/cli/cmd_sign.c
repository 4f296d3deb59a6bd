/*
 * temper sign --key KEY [--identity REGISTRY/REPO] LAYOUT[:TAG]
 *
 * Signs the digest of the tagged manifest's exact bytes, and stores the
 * signature in the layout as a registry holds it (signing.h), so that push
 * carries it as it is. Signing again with another key adds a signature.
 */
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "cli.h"
#include "oci/oci_layout.h"
#include "sign/signing.h"

static const char sign_usage[] =
    "usage: temper sign --key KEY [--identity REGISTRY/REPO] [oci:]LAYOUT[:TAG]\n"
    "\n"
    "Signs the image tagged TAG (default: the layout's only image) with the private key KEY\n"
    "(its password, if any, in TEMPER_KEY_PASSWORD), in cosign's simple-signing format, and\n"
    "stores the signature in the layout under the tag sha256-<digest>.sig. An image index is\n"
    "signed with each image it names: cosign signs the index a tag names, and a runtime checks\n"
    "the signature of the platform's image it pulls. Each image is verified before it is signed.\n"
    "\n"
    "  --key KEY                 the private key (temper keygen writes one)\n"
    "  --identity REGISTRY/REPO  the repository the signature names, normalized as docker\n"
    "                            normalizes it (python: docker.io/library/python); use the one\n"
    "                            the image will be pushed to (default: the layout directory's\n"
    "                            name, which registry verifiers refuse once pushed)\n";

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

/* Loads private keys with the password from the environment, which is wiped afterwards. */
int
cli_load_private_keys(const char *const *paths, size_t n, struct sign_key **keys,
                      struct temper_err *err)
{
    char *password = cli_key_password();
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++)
        rc = sign_key_load_private(paths[i], password, &keys[i], err);
    cli_forget_password(password);
    for (size_t k = 0; rc < 0 && k + 1 < i; k++) { /* keys[i - 1] failed */
        sign_key_free(keys[k]);
        keys[k] = NULL;
    }
    return rc;
}

int
cli_load_private_key(const char *path, struct sign_key **key, struct temper_err *err)
{
    return cli_load_private_keys(&path, 1, key, err);
}

int
cli_signed_identity(const char *given, char **out, struct temper_err *err)
{
    struct oci_reference ref;

    if (oci_reference_parse(given, 0, &ref, err) < 0)
        return temper_err_prefix(err, "--identity");
    *out = oci_reference_string(&ref);
    oci_reference_release(&ref);
    return 0;
}

void
cli_note_local_identity(const char *identity)
{
    cli_line(stderr,
             "temper: note: the signature names '%s', not a registry's repository: once pushed, "
             "registry verifiers (podman, CRI-O, skopeo) refuse it; sign at push time with "
             "temper push --key, or give --identity REGISTRY/REPO",
             identity);
}

int
cli_sign_image(struct oci_layout *layout, const struct oci_descriptor *desc,
               const struct sign_key *key, const char *identity, bool check, bool *added,
               struct temper_err *err)
{
    cleanup_free struct oci_platform_image *images = NULL;
    struct oci_source src;
    size_t n = 0;
    bool top = false;

    *added = false;
    if (oci_is_image_index(desc->media_type)) {
        oci_layout_source(layout, &src);
        if (oci_source_index(&src, desc, &images, &n, err) < 0)
            return -1;
    } else if (check && oci_image_verify(layout, desc, err) < 0) {
        return -1;
    }
    /* every image checked before any is signed: a damaged one leaves the layout as it was */
    for (size_t i = 0; check && i < n; i++)
        if (oci_image_verify(layout, &images[i].manifest, err) < 0)
            return temper_err_prefix(err, "the image for %s/%s", images[i].os,
                                     images[i].architecture);
    for (size_t i = 0; i < n; i++) {
        bool one = false;

        if (sign_layout_sign(layout, images[i].manifest.digest, key, identity, &one, err) < 0)
            return temper_err_prefix(err, "the image for %s/%s", images[i].os,
                                     images[i].architecture);
        *added = *added || one;
    }
    if (sign_layout_sign(layout, desc->digest, key, identity, &top, err) < 0)
        return -1;
    *added = *added || top;
    if (n > 0)
        cli_line(stderr, "temper: image index %s: its %zu images are signed too", desc->digest, n);
    return 0;
}

int
cmd_sign(int argc, char **argv)
{
    cleanup_free char *default_identity = NULL, *given_identity = NULL;
    struct sign_key *key = NULL;
    struct oci_layout *layout = NULL;
    struct oci_descriptor desc;
    struct temper_err err;
    struct key_args a;
    const char *identity;
    char sig_tag[80];
    bool added = false;
    int rc = cli_parse_key_args(argc, argv, sign_usage, &a);

    if (rc >= 0)
        return rc;
    if (a.identity != NULL && cli_signed_identity(a.identity, &given_identity, &err) < 0)
        return cli_error(&err);
    identity =
        given_identity ? given_identity : (default_identity = cli_default_identity(a.layout));
    if (cli_load_private_key(a.key, &key, &err) < 0)
        return cli_error(&err);
    rc = oci_layout_open(a.layout, false, &layout, &err);
    if (rc == 0)
        rc = oci_layout_find_tag(layout, a.tag, &desc, &err);
    /* Only an image whose every byte is what its manifest says gets a signature. */
    if (rc == 0)
        rc = cli_sign_image(layout, &desc, key, identity, true, &added, &err);
    oci_layout_free(layout);
    sign_key_free(key);
    if (rc < 0)
        return cli_error(&err);
    sign_tag_of(desc.digest, sig_tag);
    if (added)
        cli_line(stderr, "temper: signed %s for '%s' with '%s'", desc.digest, identity, a.key);
    else
        cli_line(stderr,
                 "temper: %s is signed for '%s' with '%s' already: no signature added (a "
                 "second one would verify the same)",
                 desc.digest, identity, a.key);
    if (given_identity == NULL)
        cli_note_local_identity(identity);
    printf("%s\n", sig_tag);
    return CLI_EXIT_OK;
}
