/*
 * libFuzzer target for the simple-signing payload reader: any bytes must
 * parse to an identity and a digest temper can rely on, or fail with
 * TEMPER_E_SIG (TEMPER_E_LIMIT over the cap) and a message, never crash,
 * read out of bounds or leak. The input is not NUL-terminated, so a read
 * past `size` is caught by ASan.
 *
 * On a payload that parses, the digest is sha256 in lowercase hex, and
 * writing the fields again with sign_payload_build gives a payload that
 * parses back to the same fields and, written once more, to the same bytes
 * (the writer is canonical).
 *
 * Seeds: fuzz/corpus/sign_payload, made by fuzz/make-corpus.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "sign/signing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_sign_payload: %s\n", what);
    abort();
}

static void
check_message(const struct temper_err *err)
{
    if (memchr(err->msg, '\0', sizeof(err->msg)) == NULL || err->msg[0] == '\0')
        fail("failure without a message");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sign_payload p = {0}, again = {0};
    struct temper_err err = {0};
    char *text = NULL;
    size_t len = 0;

    if (sign_payload_parse(data, size, &p, &err) != 0) {
        if (err.code != TEMPER_E_SIG && err.code != TEMPER_E_LIMIT)
            fail("parse failed with a code other than TEMPER_E_SIG or TEMPER_E_LIMIT");
        check_message(&err);
        if (p.identity != NULL || p.digest != NULL)
            fail("out-parameter set on failure");
        return 0;
    }
    if (p.identity == NULL || p.digest == NULL || !sha256_is_digest(p.digest))
        fail("parsed fields missing, or a digest that is not sha256");
    if (sign_payload_build(p.identity, p.digest, &text, &len, &err) != 0)
        fail("a parsed payload cannot be written again");
    if (strlen(text) != len)
        fail("built payload length is wrong");
    if (sign_payload_parse(text, len, &again, &err) != 0)
        fail("a built payload does not parse");
    if (strcmp(p.identity, again.identity) != 0 || strcmp(p.digest, again.digest) != 0)
        fail("fields changed on a round trip");
    /* The writer is canonical: what it wrote, read and written again, is the same bytes. */
    {
        char *text2 = NULL;
        size_t len2 = 0;

        if (sign_payload_build(again.identity, again.digest, &text2, &len2, &err) != 0 ||
            len2 != len || memcmp(text, text2, len) != 0)
            fail("the built payload is not stable");
        free(text2);
    }
    free(text);
    sign_payload_release(&p);
    sign_payload_release(&again);
    return 0;
}
