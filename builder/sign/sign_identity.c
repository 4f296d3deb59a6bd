/*
 * Whether a signature's identity (critical.identity.docker-reference) is
 * accepted for an image, by the rules of containers-policy.json(5)'s
 * signedIdentity, as containers/image's signature/policy_reference_match.go
 * implements them: both sides are normalized (oci_reference_parse), then
 * compared as exact strings, either the names (registry/repository) or the
 * whole references (name[:tag][@digest]). A side that does not parse
 * matches nothing, even an identical one.
 */
#include <string.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "oci/oci_layout.h"
#include "signing.h"

static bool
is_name_only(const struct oci_reference *r)
{
    return r->tag == NULL && r->digest == NULL;
}

static bool
same_string(const struct oci_reference *a, const struct oci_reference *b)
{
    return strcmp(a->name, b->name) == 0 &&
           (a->tag == NULL ? b->tag == NULL : b->tag != NULL && strcmp(a->tag, b->tag) == 0) &&
           (a->digest == NULL ? b->digest == NULL
                              : b->digest != NULL && strcmp(a->digest, b->digest) == 0);
}

/* matchExact and exactReference: neither side name-only, and the same String(). */
static bool
match_exact(const struct oci_reference *intended, const struct oci_reference *signed_ref)
{
    return !is_name_only(intended) && !is_name_only(signed_ref) &&
           same_string(intended, signed_ref);
}

/* matchRepoDigestOrExact: a tagged image wants its exact reference signed, an image by digest
 * any signature of its repository (the digest itself is checked against the payload's). */
static bool
match_repo_digest_or_exact(const struct oci_reference *intended,
                           const struct oci_reference *signed_ref)
{
    if (is_name_only(signed_ref))
        return false;
    if (intended->tag != NULL)
        return same_string(intended, signed_ref);
    if (intended->digest != NULL)
        return strcmp(intended->name, signed_ref->name) == 0;
    return false;
}

/* remapIdentity's prefix test, on the name alone: the whole name, or the name up to a '/'. */
static bool
has_prefix(const struct oci_reference *r, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(r->name, prefix, n) == 0 && (r->name[n] == '\0' || r->name[n] == '/');
}

/*
 * remapIdentity: an image under `prefix` is taken as if it were under `signed_prefix` (its
 * String() with the prefix replaced, which must parse as a canonical reference: ParseNamed),
 * then matchRepoDigestOrExact.
 */
static bool
match_remapped(const struct sign_identity_rule *rule, const struct oci_reference *intended,
               const struct oci_reference *signed_ref)
{
    cleanup_free char *text = NULL, *rewritten = NULL, *canonical = NULL;
    struct oci_reference remapped;
    struct temper_err err;
    bool ok;

    if (rule->prefix == NULL || rule->signed_prefix == NULL)
        return false;
    if (!has_prefix(intended, rule->prefix))
        return match_repo_digest_or_exact(intended, signed_ref);
    text = oci_reference_string(intended);
    rewritten = xasprintf("%s%s", rule->signed_prefix, text + strlen(rule->prefix));
    if (oci_reference_parse(rewritten, 0, &remapped, &err) < 0)
        return false;
    canonical = oci_reference_string(&remapped);
    ok = strcmp(canonical, rewritten) == 0 && match_repo_digest_or_exact(&remapped, signed_ref);
    oci_reference_release(&remapped);
    return ok;
}

bool
sign_identity_matches(const struct sign_identity_rule *rule, const char *image,
                      const char *signed_identity)
{
    struct oci_reference intended, signed_ref;
    struct temper_err err;
    const char *intended_text;
    bool ok = false;

    switch (rule->type) {
    case SIGN_EXACT_REFERENCE:
    case SIGN_EXACT_REPOSITORY:
        intended_text = rule->reference; /* the policy's, whatever the image */
        break;
    case SIGN_MATCH_EXACT:
    case SIGN_MATCH_REPO_DIGEST_OR_EXACT:
    case SIGN_MATCH_REPOSITORY:
    case SIGN_REMAP_IDENTITY:
    default:
        intended_text = image;
        break;
    }
    if (intended_text == NULL || signed_identity == NULL)
        return false;
    if (oci_reference_parse(intended_text, 0, &intended, &err) < 0)
        return false;
    if (oci_reference_parse(signed_identity, 0, &signed_ref, &err) < 0) {
        oci_reference_release(&intended);
        return false;
    }
    switch (rule->type) {
    case SIGN_MATCH_EXACT:
    case SIGN_EXACT_REFERENCE:
        ok = match_exact(&intended, &signed_ref);
        break;
    case SIGN_MATCH_REPO_DIGEST_OR_EXACT:
        ok = match_repo_digest_or_exact(&intended, &signed_ref);
        break;
    case SIGN_MATCH_REPOSITORY:
    case SIGN_EXACT_REPOSITORY:
        ok = strcmp(intended.name, signed_ref.name) == 0;
        break;
    case SIGN_REMAP_IDENTITY:
        ok = match_remapped(rule, &intended, &signed_ref);
        break;
    default:
        ok = false;
        break;
    }
    oci_reference_release(&intended);
    oci_reference_release(&signed_ref);
    return ok;
}
