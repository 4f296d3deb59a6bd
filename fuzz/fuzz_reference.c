/*
 * libFuzzer target for image references and signed identities: the input is
 * two strings, an image reference and a signature's identity (untrusted: a
 * payload's docker-reference comes from whoever wrote the signature),
 * separated by the first newline.
 *
 * oci_reference_parse must succeed or fail with TEMPER_E_USAGE and a
 * message, leaving its out-parameter untouched; a reference that parses has
 * a name of at most 255 bytes, and its string parses back to the same
 * reference. sign_identity_matches must answer for every rule without
 * crashing, matchRepository is symmetric, and whatever matchExact accepts,
 * matchRepository and matchRepoDigestOrExact accept too.
 *
 * Seeds: fuzz/corpus/reference, made by fuzz/make-corpus.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/oci_layout.h"
#include "sign/signing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_reference: %s\n", what);
    abort();
}

static bool
same(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static void
check_parse(const char *text)
{
    struct oci_reference ref = {0}, again = {0};
    struct temper_err err = {0};
    char *s;

    if (oci_reference_parse(text, OCI_REFERENCE_IPV6, &ref, &err) != 0) {
        if (err.code != TEMPER_E_USAGE || err.msg[0] == '\0')
            fail("a refusal without TEMPER_E_USAGE and a message");
        if (ref.name != NULL)
            fail("out-parameter set on failure");
        return;
    }
    if (strlen(ref.name) > 255 || ref.domain_len >= strlen(ref.name) ||
        ref.name[ref.domain_len] != '/')
        fail("a name over 255 bytes, or a registry that is not its first component");
    s = oci_reference_string(&ref);
    if (oci_reference_parse(s, OCI_REFERENCE_IPV6, &again, &err) != 0)
        fail("a parsed reference's string does not parse");
    if (strcmp(ref.name, again.name) != 0 || !same(ref.tag, again.tag) ||
        !same(ref.digest, again.digest) || ref.domain_len != again.domain_len)
        fail("a reference changed on a round trip");
    free(s);
    oci_reference_release(&ref);
    oci_reference_release(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *image, *identity, *newline;
    struct sign_identity_rule rule = {SIGN_MATCH_EXACT, NULL, NULL, NULL};
    bool exact, repository, reversed, repo_digest;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    image = text;
    newline = strchr(text, '\n');
    identity = newline != NULL ? newline + 1 : text;
    if (newline != NULL)
        *newline = '\0';
    check_parse(image);
    check_parse(identity);

    exact = sign_identity_matches(&rule, image, identity);
    rule.type = SIGN_MATCH_REPOSITORY;
    repository = sign_identity_matches(&rule, image, identity);
    reversed = sign_identity_matches(&rule, identity, image);
    rule.type = SIGN_MATCH_REPO_DIGEST_OR_EXACT;
    repo_digest = sign_identity_matches(&rule, image, identity);
    if (repository != reversed)
        fail("matchRepository is not symmetric");
    if (exact && (!repository || !repo_digest))
        fail("matchExact accepted what matchRepository or matchRepoDigestOrExact refused");
    rule = (struct sign_identity_rule){SIGN_REMAP_IDENTITY, NULL, "docker.io/library", image};
    (void)sign_identity_matches(&rule, "docker.io/library/busybox:latest", identity);
    rule = (struct sign_identity_rule){SIGN_EXACT_REPOSITORY, image, NULL, NULL};
    if (sign_identity_matches(&rule, NULL, identity) != repository)
        fail("exactRepository differs from matchRepository on the same reference");
    free(text);
    return 0;
}
