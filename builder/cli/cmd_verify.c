/*
 * temper verify --key PUB [--identity REGISTRY/REPO] LAYOUT[:TAG]
 *
 * Exit 0 only when at least one signature by PUB covers the image's
 * manifest digest, with a well-formed payload naming the expected identity,
 * and the whole chain below it holds (oci_image_verify). Otherwise each
 * signature's reason is reported.
 */
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "cli.h"
#include "oci/oci_layout.h"
#include "sign/signing.h"

static const char verify_usage[] =
    "usage: temper verify --key PUB [--identity REGISTRY/REPO] LAYOUT[:TAG]\n"
    "\n"
    "Checks that a signature by the public key PUB covers the image tagged TAG (default: the\n"
    "layout's only image), and that every byte of the image is what that signature covers:\n"
    "the manifest's digest, the config's and every layer's digest and size, and every\n"
    "layer's uncompressed digest against the config's diff_ids. Exit 0 when all hold.\n"
    "\n"
    "  --key PUB                 the public key (.pub)\n"
    "  --identity REGISTRY/REPO  the repository the signature must name (default: not checked)\n";

/* Why one signature does not count, or NULL when it does. */
static const char *
judge(const struct sign_entry *e, const struct sign_key *key, const char *digest,
      const char *identity, struct temper_err *why)
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
    else if (identity != NULL && strcmp(p.identity, identity) != 0)
        temper_err_set(why, TEMPER_E_SIG, 0, "its payload names '%s', not '%s'",
                       temper_printable(p.identity, shown, sizeof(shown)), identity);
    else
        ok = true;
    sign_payload_release(&p);
    return ok ? NULL : why->msg;
}

/* Finds a signature that holds; else err lists each one's reason. */
static int
check_signatures(struct oci_layout *layout, const struct oci_descriptor *desc,
                 const struct sign_key *key, const char *key_path, const char *identity,
                 struct temper_err *err)
{
    struct sign_entry *entries = NULL;
    char reasons[768] = "";
    size_t n = 0, used = 0;
    int found = -1;

    if (sign_layout_list(layout, desc->digest, &entries, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n && found < 0; i++) {
        struct temper_err why;
        const char *reason = judge(&entries[i], key, desc->digest, identity, &why);
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
                              "image '%s' has no signature in the layout; sign it with temper "
                              "sign",
                              desc->digest);
    if (found < 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "no signature of image '%s' holds for key '%s'%s", desc->digest,
                              key_path, reasons);
    return 0;
}

int
cmd_verify(int argc, char **argv)
{
    struct sign_key *key = NULL;
    struct oci_layout *layout = NULL;
    struct oci_descriptor desc;
    struct temper_err err;
    struct key_args a;
    int rc = cli_parse_key_args(argc, argv, verify_usage, &a);

    if (rc >= 0)
        return rc;
    if (sign_key_load_public(a.key, &key, &err) < 0)
        return cli_error(&err);
    rc = oci_layout_open(a.layout, false, &layout, &err);
    if (rc == 0)
        rc = oci_layout_find_tag(layout, a.tag, &desc, &err);
    if (rc == 0)
        rc = check_signatures(layout, &desc, key, a.key, a.identity, &err);
    if (rc == 0)
        rc = oci_image_verify(layout, &desc, &err);
    oci_layout_free(layout);
    sign_key_free(key);
    if (rc < 0)
        return cli_error(&err);
    fprintf(stderr, "temper: verified %s: signed with '%s'%s%s%s, every blob as signed\n",
            desc.digest, a.key, a.identity ? " for '" : "", a.identity ? a.identity : "",
            a.identity ? "'" : "");
    printf("%s\n", desc.digest);
    return CLI_EXIT_OK;
}
