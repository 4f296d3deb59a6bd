/*
 * In-toto statements in DSSE envelopes: what `cosign attest --key` writes and
 * `cosign verify-attestation --key` checks (signing.h has the formats).
 *
 * The envelope's signature covers PAE(payloadType, payload), never the JSON
 * around it: so a verifier checks the signature over the decoded bytes
 * first, and reads the statement only once it holds. The payload is
 * standard base64, canonical only (sign_b64_decode), so an envelope's
 * statement has one spelling.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "sign-internal.h"
#include "signing.h"

#define STATEMENT_V01 "https://in-toto.io/Statement/v0.1"
#define STATEMENT_V1 "https://in-toto.io/Statement/v1"

void
sign_pae(const char *type, const void *body, size_t body_len, char **out, size_t *len)
{
    cleanup_free char *head = xasprintf("DSSEv1 %zu %s %zu ", strlen(type), type, body_len);
    size_t head_len = strlen(head);

    *len = head_len + body_len;
    *out = xmalloc(*len + 1);
    memcpy(*out, head, head_len);
    memcpy(*out + head_len, body, body_len);
    (*out)[*len] = '\0';
}

static char *
b64_encode(const void *bytes, size_t len)
{
    char *text = xmalloc(4 * ((len + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *)text, bytes, (int)len);
    return text;
}

int
sign_attest(const struct sign_key *key, const char *subject, const char *digest,
            const char *predicate_type, const char *predicate, size_t len, char **envelope,
            size_t *envelope_len, struct temper_err *err)
{
    cleanup_free char *statement = NULL, *pae = NULL, *payload = NULL, *sig = NULL;
    json_t *doc, *pred;
    size_t pae_len;
    char *text;

    if (!sha256_is_digest(digest))
        return temper_err_set(err, TEMPER_E_USAGE, 0, "'%s' is not a sha256 digest", digest);
    if (len > SIGN_ENVELOPE_MAX_BYTES / 2)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "the predicate is over %d MiB, more than an attestation takes "
                              "(SIGN_ENVELOPE_MAX_BYTES)",
                              SIGN_ENVELOPE_MAX_BYTES / 2 >> 20);
    pred = json_loadb(predicate, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(pred)) {
        json_decref(pred);
        return temper_err_set(err, TEMPER_E_USAGE, 0, "the predicate is not a JSON object");
    }
    /* cosign's field order */
    doc = json_pack("{s:s, s:s, s:[{s:s, s:{s:s}}], s:o}", "_type", STATEMENT_V01, "predicateType",
                    predicate_type, "subject", "name", subject, "digest", "sha256", digest + 7,
                    "predicate", pred);
    statement = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (statement == NULL)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "cannot write the statement for '%s' (not UTF-8?)", subject);
    sign_pae(SIGN_INTOTO_PAYLOAD_TYPE, statement, strlen(statement), &pae, &pae_len);
    if (sign_bytes(key, pae, pae_len, &sig, err) < 0)
        return -1;
    payload = b64_encode(statement, strlen(statement));
    doc = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payloadType", SIGN_INTOTO_PAYLOAD_TYPE,
                    "payload", payload, "signatures", "keyid", "", "sig", sig);
    text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL)
        abort(); /* only ASCII went in */
    *envelope = text;
    *envelope_len = strlen(text);
    return 0;
}

/* Whether a signature of the envelope holds for the key; else err says why the last failed. */
static bool
any_signature_holds(const struct sign_key *key, const json_t *signatures, const char *pae,
                    size_t pae_len, struct temper_err *err)
{
    const json_t *s;
    size_t i;

    json_array_foreach(signatures, i, s)
    {
        const char *sig = json_string_value(json_object_get(s, "sig"));

        if (!json_is_object(s) || sig == NULL) {
            temper_err_set(err, TEMPER_E_SIG, 0, "signature %zu of the envelope has no 'sig'",
                           i + 1);
            continue;
        }
        if (sign_verify_bytes(key, pae, pae_len, sig, err) == 0)
            return true;
    }
    return false;
}

/* The statement's subject that names `digest`, if any. */
static bool
names_digest(const json_t *subjects, const char *digest)
{
    const json_t *s;
    size_t i;

    json_array_foreach(subjects, i, s)
    {
        const char *hex =
            json_string_value(json_object_get(json_object_get(s, "digest"), "sha256"));

        if (hex != NULL && strcmp(hex, digest + 7) == 0)
            return true;
    }
    return false;
}

/* The checks on a statement whose signature holds. */
static int
check_statement(const char *text, size_t len, const char *digest, const char *predicate_type,
                json_t **predicate, struct temper_err *err)
{
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_string_value(json_object_get(doc, "_type"));
    const char *ptype = json_string_value(json_object_get(doc, "predicateType"));
    json_t *subjects = json_object_get(doc, "subject"), *pred = json_object_get(doc, "predicate");
    int rc = -1;

    if (!json_is_object(doc))
        temper_err_set(err, TEMPER_E_SIG, 0,
                       "the envelope's payload is not a JSON object (or has a key twice)");
    else if (type == NULL || (strcmp(type, STATEMENT_V01) != 0 && strcmp(type, STATEMENT_V1) != 0))
        temper_err_set(err, TEMPER_E_SIG, 0, "the payload is not an in-toto statement");
    else if (ptype == NULL || strcmp(ptype, predicate_type) != 0)
        temper_err_set(err, TEMPER_E_SIG, 0, "the statement's predicate is not of type '%s'",
                       predicate_type);
    else if (!json_is_array(subjects) || !names_digest(subjects, digest))
        temper_err_set(err, TEMPER_E_SIG, 0,
                       "the statement is about another image: no subject has digest '%s'", digest);
    else if (pred == NULL)
        temper_err_set(err, TEMPER_E_SIG, 0, "the statement has no predicate");
    else
        rc = 0;
    if (rc == 0)
        *predicate = json_incref(pred);
    json_decref(doc);
    return rc;
}

int
sign_attestation_open(const struct sign_key *key, const char *envelope, size_t len,
                      const char *digest, const char *predicate_type, json_t **predicate,
                      struct temper_err *err)
{
    json_t *doc;
    const char *type, *payload;
    const json_t *signatures;
    cleanup_free unsigned char *body = NULL;
    cleanup_free char *pae = NULL;
    size_t body_len = 0, pae_len;
    bool decoded = false;
    int rc = -1;

    if (len > SIGN_ENVELOPE_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "the envelope is over %d MiB (SIGN_ENVELOPE_MAX_BYTES)",
                              SIGN_ENVELOPE_MAX_BYTES >> 20);
    doc = json_loadb(envelope, len, JSON_REJECT_DUPLICATES, NULL);
    type = json_string_value(json_object_get(doc, "payloadType"));
    payload = json_string_value(json_object_get(doc, "payload"));
    signatures = json_object_get(doc, "signatures");
    if (payload != NULL) {
        body = xmalloc(strlen(payload) / 4 * 3 + 1);
        decoded = sign_b64_decode(payload, strlen(payload), body, &body_len) == 0;
    }
    if (!json_is_object(doc)) {
        temper_err_set(err, TEMPER_E_SIG, 0,
                       "the envelope is not a JSON object (or has a key twice)");
    } else if (type == NULL || strcmp(type, SIGN_INTOTO_PAYLOAD_TYPE) != 0) {
        temper_err_set(err, TEMPER_E_SIG, 0, "the envelope's payloadType is not '%s'",
                       SIGN_INTOTO_PAYLOAD_TYPE);
    } else if (!decoded) {
        temper_err_set(err, TEMPER_E_SIG, 0,
                       "the envelope's payload is not base64 (standard alphabet, padded)");
    } else if (!json_is_array(signatures) || json_array_size(signatures) == 0) {
        temper_err_set(err, TEMPER_E_SIG, 0, "the envelope has no signature");
    } else if (json_array_size(signatures) > SIGN_LAYERS_MAX) {
        temper_err_set(err, TEMPER_E_LIMIT, 0, "the envelope has over %d signatures",
                       SIGN_LAYERS_MAX);
    } else {
        sign_pae(type, body, body_len, &pae, &pae_len);
        if (any_signature_holds(key, signatures, pae, pae_len, err))
            rc = check_statement((const char *)body, body_len, digest, predicate_type, predicate,
                                 err);
    }
    json_decref(doc);
    return rc;
}

int
sign_find_attestation(const struct oci_source *src, const char *digest, const struct sign_key *key,
                      const char *predicate_type, json_t **predicate, struct temper_err *err)
{
    struct sign_entry *entries = NULL;
    char reasons[768] = "";
    size_t n = 0, used = 0, of_type = 0;
    int rc = -1;

    if (sign_list_attestations(src, digest, &entries, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n && rc < 0; i++) {
        const struct sign_entry *e = &entries[i];
        struct temper_err why;
        const char *reason;
        int k;

        /* the layer's annotation is a hint, not signed: another type is passed over unopened */
        if (e->signature[0] != '\0' && strcmp(e->signature, predicate_type) != 0)
            continue;
        of_type++;
        if (e->problem != NULL)
            reason = e->problem;
        else if ((rc = sign_attestation_open(key, e->payload, e->len, digest, predicate_type,
                                             predicate, &why)) == 0)
            break;
        else
            reason = why.msg;
        k = snprintf(reasons + used, sizeof(reasons) - used, "; attestation %zu: %s", i + 1,
                     reason);
        if (k > 0 && (size_t)k < sizeof(reasons) - used)
            used += (size_t)k;
    }
    sign_entries_free(entries, n);
    if (rc == 0)
        return 0;
    if (of_type == 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "image '%s' has no attestation of type '%s'%s; build it with "
                              "--sbom and --key (and push it with temper push)",
                              digest, predicate_type, n > 0 ? " (only of other types)" : "");
    return temper_err_set(err, TEMPER_E_SIG, 0,
                          "no attestation of type '%s' of image '%s' holds for this key%s",
                          predicate_type, digest, reasons);
}
