/*
 * temper verify --key PUB [--identity REGISTRY/REPO | --attestation TYPE]
 *               [registry options] LAYOUT[:TAG] | REGISTRY/REPO[:TAG|@DIGEST]
 *
 * Exit 0 only when at least one signature by PUB covers the image's
 * manifest digest, with a well-formed payload naming the expected identity
 * (with --attestation: an attestation of that type by PUB whose statement
 * names the digest), and the whole chain below it holds (oci_source_verify).
 * Otherwise each signature's reason is reported. A layout and a registry are read through
 * the same oci_source, so both are checked alike; from a registry every
 * blob is streamed and hashed, never stored.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "cli.h"
#include "oci/oci_layout.h"
#include "registry/registry_client.h"
#include "sign/signing.h"

static const char verify_usage[] =
    "usage: temper verify --key PUB [--identity REGISTRY/REPO | --attestation TYPE]\n"
    "                     [registry options]\n"
    "                     [oci:]LAYOUT[:TAG] | [docker://]REGISTRY/REPO[:TAG|@DIGEST]\n"
    "\n"
    "Checks that a signature by the public key PUB covers the image tagged TAG (default: the\n"
    "layout's only image, or the registry's tag latest), and that every byte of the image is\n"
    "what that signature covers: the manifest's digest, the config's and every layer's digest\n"
    "and size, and every layer's uncompressed digest against the config's diff_ids. From a\n"
    "registry, the signatures come from its sha256-<digest>.sig tag, and every blob is\n"
    "streamed and hashed, never stored. An image index is checked with each image it names:\n"
    "the index's signature, each image's own signature (a runtime checks the one of the\n"
    "platform it pulls) and every blob; with --attestation, each image's own attestation\n"
    "(an SBOM is of one image's files). Exit 0 when all hold.\n"
    "\n"
    "An argument is a layout when it starts with oci:, a registry reference when it starts\n"
    "with docker://, or when no directory of that name exists and its first component\n"
    "holds a '.' or ':' or is localhost.\n"
    "\n"
    "  --key PUB                 the public key (.pub)\n"
    "  --identity REGISTRY/REPO  the repository the signature must name, compared as\n"
    "                            containers/image compares them (default: for a registry\n"
    "                            image, the repository it is read from; for a layout, any)\n"
    "  --attestation TYPE        check an attestation instead of a signature, as cosign\n"
    "                            verify-attestation does: a DSSE envelope signed by PUB\n"
    "                            (sha256-<digest>.att) whose in-toto statement is about this\n"
    "                            image; TYPE is spdx (https://spdx.dev/Document) or the\n"
    "                            predicate type's URI\n"
    "\n"
    "Registry options:\n" CLI_REGISTRY_USAGE;

/* Why one signature does not count, or NULL when it does. `rule` NULL: any identity counts. */
static const char *
judge(const struct sign_entry *e, const struct sign_key *key, const char *digest,
      const struct sign_identity_rule *rule, const char *image, struct temper_err *why)
{
    struct sign_payload p;
    char shown[160];
    bool ok;

    if (e->problem != NULL)
        return e->problem;
    if (sign_verify_bytes(key, e->payload, e->len, e->signature, why) < 0)
        return why->msg;
    if (sign_payload_parse(e->payload, e->len, &p, why) < 0)
        return why->msg;
    ok = false;
    if (strcmp(p.digest, digest) != 0)
        temper_err_set(why, TEMPER_E_SIG, 0, "its payload names another image, '%s'", p.digest);
    else if (rule != NULL && !sign_identity_matches(rule, image, p.identity))
        temper_err_set(why, TEMPER_E_SIG, 0, "its payload names '%s', not '%s'",
                       temper_printable(p.identity, shown, sizeof(shown)),
                       rule->reference ? rule->reference : image);
    else
        ok = true;
    sign_payload_release(&p);
    return ok ? NULL : why->msg;
}

/* Finds a signature that holds; else err lists each one's reason. */
static int
check_signatures(const struct oci_source *src, const struct oci_descriptor *desc,
                 const struct sign_key *key, const char *key_path,
                 const struct sign_identity_rule *rule, const char *image, struct temper_err *err)
{
    struct sign_entry *entries = NULL;
    char reasons[768] = "";
    size_t n = 0, used = 0;
    int found = -1;

    if (sign_list(src, desc->digest, &entries, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n && found < 0; i++) {
        struct temper_err why;
        const char *reason = judge(&entries[i], key, desc->digest, rule, image, &why);
        int k;

        if (reason == NULL) {
            found = (int)i;
            break;
        }
        k = snprintf(reasons + used, sizeof(reasons) - used, "; signature %zu: %s", i + 1, reason);
        if (k > 0 && (size_t)k < sizeof(reasons) - used)
            used += (size_t)k;
    }
    sign_entries_free(entries, n);
    if (n == 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "image '%s' has no signature; sign it with temper sign (and "
                              "push it with temper push)",
                              desc->digest);
    if (found < 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "no signature of image '%s' holds for key '%s'%s", desc->digest,
                              key_path, reasons);
    return 0;
}

/* An attestation of `type` by the key about the image. */
static int
check_attestation(const struct oci_source *src, const struct oci_descriptor *desc,
                  const struct sign_key *key, const char *key_path, const char *type,
                  struct temper_err *err)
{
    json_t *predicate = NULL;

    if (sign_find_attestation(src, desc->digest, key, type, &predicate, err) < 0)
        return temper_err_prefix(err, "key '%s'", key_path);
    json_decref(predicate);
    return 0;
}

struct verify_args {
    const char *key;
    const char *identity;    /* or NULL */
    const char *attestation; /* the predicate type, or NULL */
    const char *image;
    struct registry_args registry;
};

/* --attestation's TYPE: "spdx" as cosign names it, or a predicate type's URI; NULL for neither. */
static const char *
predicate_type(const char *given)
{
    if (strcmp(given, "spdx") == 0 || strcmp(given, "spdxjson") == 0)
        return SIGN_PREDICATE_SPDX;
    if (strncmp(given, "https://", 8) == 0 && strlen(given) < 256)
        return given;
    return NULL;
}

/* Returns an exit code, or -1 to go on. */
static int
parse_args(int argc, char **argv, struct verify_args *a)
{
    static const struct option options[] = {
        {"key", required_argument, NULL, 'k'},
        {"identity", required_argument, NULL, 'i'},
        {"attestation", required_argument, NULL, 'a'},
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
        case 'k':
            a->key = optarg;
            break;
        case 'i':
            a->identity = optarg;
            break;
        case 'a':
            a->attestation = predicate_type(optarg);
            if (a->attestation == NULL)
                return cli_usage_error("verify",
                                       "--attestation '%s': say spdx, or a predicate type's "
                                       "https:// URI",
                                       optarg);
            break;
        case 'h':
            fputs(verify_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("verify", "bad option");
        }
    }
    if (a->key == NULL)
        return cli_usage_error("verify", "--key is required");
    if (a->identity != NULL && a->attestation != NULL)
        return cli_usage_error("verify", "--identity is what a signature names; an attestation "
                                         "names its image by digest: give one of them");
    if (argc - optind != 1)
        return cli_usage_error("verify", "one LAYOUT[:TAG] or REGISTRY/REPO[:TAG|@DIGEST], please");
    a->image = argv[optind];
    return -1;
}

/* Anything that is neither an image nor an image index: said once its bytes are known to be the
 * ones named (a registry could call anything anything). */
static int
not_an_image(const struct oci_source *src, const struct oci_descriptor *desc,
             struct temper_err *err)
{
    cleanup_free char *bytes = NULL;
    char shown[128];
    size_t len;

    if (oci_source_read(src, "manifest", desc, OCI_MANIFEST_MAX_BYTES, &bytes, &len, err) < 0)
        return -1;
    return temper_err_set(err, TEMPER_E_PARSE, 0,
                          "'%s' is '%s', neither an image manifest nor an image index",
                          desc->digest, temper_printable(desc->media_type, shown, sizeof(shown)));
}

/*
 * The images of an image index whose own signature holds: each with a signature of its own by
 * the key for the same identity (a runtime pulls one platform's manifest by its digest and
 * checks that one's signature, as containers/image does), or with --attestation an attestation
 * of its own (temper build --sbom writes one document per image), and every blob below.
 */
static int
check_images(const struct verify_args *a, const struct cli_image *img, const struct sign_key *key,
             const struct sign_identity_rule *rule, struct temper_err *err)
{
    cleanup_free struct oci_platform_image *images = NULL;
    size_t n = 0;

    if (oci_source_index(&img->source, &img->desc, &images, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct oci_descriptor *m = &images[i].manifest;

        if ((a->attestation == NULL &&
             check_signatures(&img->source, m, key, a->key, rule, img->repository, err) < 0) ||
            (a->attestation != NULL &&
             check_attestation(&img->source, m, key, a->key, a->attestation, err) < 0) ||
            oci_source_verify(&img->source, m, err) < 0)
            return temper_err_prefix(err, "the image for %s/%s", images[i].os,
                                     images[i].architecture);
        cli_line(stderr, "temper: verified the image for %s/%s%s%s, %s", images[i].os,
                 images[i].architecture, images[i].variant[0] ? "/" : "", images[i].variant,
                 m->digest);
    }
    return 0;
}

/*
 * Which identities count: with --identity, that repository (exactRepository); for a registry
 * image, the repository it is read from (matchRepository, as podman, CRI-O and skopeo check a
 * cosign signature); for a layout, which has no such name, any.
 */
static const struct sign_identity_rule *
identity_rule(const struct verify_args *a, const struct cli_image *img,
              struct sign_identity_rule *rule)
{
    if (a->identity != NULL)
        *rule = (struct sign_identity_rule){SIGN_EXACT_REPOSITORY, a->identity, NULL, NULL};
    else if (img->repository != NULL)
        *rule = (struct sign_identity_rule){SIGN_MATCH_REPOSITORY, NULL, NULL, NULL};
    else
        return NULL;
    return rule;
}

static int
verify(const struct verify_args *a, const struct registry_options *opts)
{
    struct sign_key *key = NULL;
    struct sign_identity_rule rule;
    const struct sign_identity_rule *checked;
    cleanup_free char *identity = NULL;
    struct cli_image img;
    struct temper_err err;
    bool index;
    int rc;

    if (a->identity != NULL && cli_signed_identity(a->identity, &identity, &err) < 0)
        return cli_error(&err);
    if (sign_key_load_public(a->key, &key, &err) < 0)
        return cli_error(&err);
    rc = cli_image_open(a->image, opts, &img, &err);
    if (rc < 0) {
        sign_key_free(key);
        return cli_error(&err);
    }
    checked = identity_rule(a, &img, &rule);
    index = oci_is_image_index(img.desc.media_type);
    if (!index && !oci_is_image_manifest(img.desc.media_type))
        rc = not_an_image(&img.source, &img.desc, &err);
    else if (a->attestation != NULL && index)
        rc = 0; /* an index's images have their own, which check_images checks */
    else if (a->attestation != NULL)
        rc = check_attestation(&img.source, &img.desc, key, a->key, a->attestation, &err);
    else
        rc = check_signatures(&img.source, &img.desc, key, a->key, checked, img.repository, &err);
    if (rc == 0 && index)
        rc = check_images(a, &img, key, checked, &err);
    else if (rc == 0)
        rc = oci_source_verify(&img.source, &img.desc, &err);
    if (rc < 0) {
        temper_err_prefix(&err, "%s", img.source.name);
    } else if (a->attestation != NULL) {
        cli_line(stderr,
                 "temper: verified %s%s in %s: an attestation of type '%s' signed with '%s' is "
                 "about %s, every blob as signed",
                 index ? "the image index " : "", img.desc.digest, img.source.name, a->attestation,
                 a->key, index ? "each of its images" : "it");
        printf("%s\n", img.desc.digest);
    } else {
        cli_line(stderr,
                 "temper: verified %s%s in %s: signed with '%s'%s%s%s%s, every blob as signed",
                 index ? "the image index " : "", img.desc.digest, img.source.name, a->key,
                 checked ? " for '" : "", checked ? (identity ? identity : img.repository) : "",
                 checked ? "'" : "", index ? ", and each of its images" : "");
        printf("%s\n", img.desc.digest);
    }
    cli_image_close(&img);
    sign_key_free(key);
    return rc < 0 ? cli_error(&err) : CLI_EXIT_OK;
}

int
cmd_verify(int argc, char **argv)
{
    struct verify_args a = {0};
    struct registry_options opts;
    struct registry_login login;
    int rc = parse_args(argc, argv, &a);

    if (rc >= 0)
        return rc;
    rc = cli_registry_login("verify", &a.registry, &opts, &login);
    if (rc >= 0)
        return rc;
    opts.read_only = true;
    rc = verify(&a, &opts);
    cli_registry_logout(&login);
    return rc;
}
