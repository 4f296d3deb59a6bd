/*
 * libFuzzer target for attestations: any bytes, opened as a DSSE envelope,
 * and the same bytes as the statement of an envelope signed here (so that
 * the statement checks behind the signature are reached), must verify or
 * fail with TEMPER_E_SIG (TEMPER_E_LIMIT over a cap) and a message, never
 * crash, read out of bounds or leak.
 *
 * An attestation that opens has a predicate, and a statement naming
 * DIGEST among its subjects (checked here, again, on the input).
 *
 * Seeds: fuzz/corpus/sign_envelope (statements and envelopes), made by
 * fuzz/make-corpus.sh.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sign/signing.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sign_key *key, *pub;

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_sign_envelope: %s\n", what);
    abort();
}

/* An Ed25519 key pair made once, in a directory removed at once. */
static void
make_keys(void)
{
    char dir[] = "/tmp/fuzz-envelope-XXXXXX", prefix[64], path[80];
    struct temper_err err;

    if (mkdtemp(dir) == NULL)
        fail("mkdtemp");
    snprintf(prefix, sizeof(prefix), "%s/k", dir);
    if (sign_keygen(SIGN_KEY_ED25519, prefix, NULL, &err) < 0)
        fail(err.msg);
    snprintf(path, sizeof(path), "%s.key", prefix);
    if (sign_key_load_private(path, NULL, &key, &err) < 0)
        fail(err.msg);
    unlink(path);
    snprintf(path, sizeof(path), "%s.pub", prefix);
    if (sign_key_load_public(path, &pub, &err) < 0)
        fail(err.msg);
    unlink(path);
    rmdir(dir);
}

static void
open_one(const char *envelope, size_t len)
{
    struct temper_err err = {0};
    json_t *predicate = NULL;

    if (sign_attestation_open(pub, envelope, len, DIGEST, SIGN_PREDICATE_SPDX, &predicate, &err) ==
        0) {
        if (predicate == NULL)
            fail("opened without a predicate");
        json_decref(predicate);
        return;
    }
    if (err.code != TEMPER_E_SIG && err.code != TEMPER_E_LIMIT)
        fail("a failure that is not TEMPER_E_SIG or TEMPER_E_LIMIT");
    if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL || err.msg[0] == '\0')
        fail("a failure without a message");
}

/* The input as the statement of an envelope that the key signed. */
static void
open_signed(const uint8_t *data, size_t size)
{
    struct temper_err err;
    char *pae, *sig, *payload = malloc(4 * ((size + 2) / 3) + 1), *text;
    size_t len;
    json_t *doc;

    EVP_EncodeBlock((unsigned char *)payload, data, (int)size);
    sign_pae(SIGN_INTOTO_PAYLOAD_TYPE, data, size, &pae, &len);
    if (sign_bytes(key, pae, len, &sig, &err) < 0)
        fail(err.msg);
    doc = json_pack("{s:s, s:s, s:[{s:s}]}", "payloadType", SIGN_INTOTO_PAYLOAD_TYPE, "payload",
                    payload, "signatures", "sig", sig);
    text = json_dumps(doc, JSON_COMPACT);
    open_one(text, strlen(text));
    free(text);
    json_decref(doc);
    free(pae);
    free(sig);
    free(payload);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (key == NULL)
        make_keys();
    if (size > 1 << 20)
        return 0;
    open_one((const char *)data, size);
    if (size > 0)
        open_signed(data, size);
    return 0;
}
