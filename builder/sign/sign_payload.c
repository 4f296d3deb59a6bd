/*
 * The simple-signing payload: written byte for byte as cosign writes it, read
 * as strictly as containers/image reads it (signature/internal/
 * sigstore_payload.go: exact key sets at every level, case-sensitive names,
 * no duplicate keys, `optional` null or an object whose `creator` is a
 * string and `timestamp` an integer).
 *
 * cosign marshals the payload with Go's encoding/json, which escapes '<',
 * '>', '&', U+2028 and U+2029 as \u003c, \u003e, \u0026, \u2028 and \u2029;
 * the writer here does the same so that the bytes are cosign's for any
 * identity. Identities with control characters or invalid UTF-8 are refused
 * on both sides, so every payload that parses can be written again.
 */
#include "signing.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#define COSIGN_TYPE "cosign container image signature"

#define PAYLOAD_HEAD "{\"critical\":{\"identity\":{\"docker-reference\":\""
#define PAYLOAD_MID "\"},\"image\":{\"docker-manifest-digest\":\""
#define PAYLOAD_TAIL "\"},\"type\":\"" COSIGN_TYPE "\"},\"optional\":null}"

/*
 * Decodes one UTF-8 sequence at s (n bytes left), strictly: no overlong forms, no surrogates,
 * nothing above U+10FFFF. Returns its length, or 0 when it is not UTF-8.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c, min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2, c = s[0] & 0x1fu, min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3, c = s[0] & 0x0fu, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4, c = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3fu);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static bool
is_control(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/*
 * Checks an identity (critical.identity.docker-reference): not empty, at most
 * SIGN_IDENTITY_MAX_BYTES, UTF-8 without control characters. Returns NULL, or why not.
 */
static const char *
identity_problem(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c;

    if (len == 0)
        return "is empty";
    if (len > SIGN_IDENTITY_MAX_BYTES)
        return "is longer than " STR(SIGN_IDENTITY_MAX_BYTES) " bytes";
    for (size_t i = 0, n; i < len; i += n) {
        n = utf8_decode(u + i, len - i, &c);
        if (n == 0)
            return "is not UTF-8";
        if (is_control(c))
            return "has a control character";
    }
    return NULL;
}

/* Appends s as the inside of a JSON string, escaped as Go's encoding/json escapes it. */
static size_t
escape(char *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char b = u[i];

        if (b == '"' || b == '\\') {
            out[o++] = '\\';
            out[o++] = (char)b;
        } else if (b == '<' || b == '>' || b == '&') {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[b >> 4];
            out[o + 5] = hex[b & 0xf];
            o += 6;
        } else if (b == 0xe2 && i + 2 < len && u[i + 1] == 0x80 &&
                   (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
            memcpy(out + o, u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            o += 6;
            i += 2;
        } else {
            out[o++] = (char)b;
        }
    }
    return o;
}

int
sign_payload_build(const char *identity, const char *digest, char **out, size_t *len,
                   struct temper_err *err)
{
    const char *problem;
    size_t idlen, n = 0;
    char *text;

    if (identity == NULL)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "the signed identity is missing");
    idlen = strnlen(identity, SIGN_IDENTITY_MAX_BYTES + 1);
    problem = identity_problem(identity, idlen);
    if (problem != NULL)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "the signed identity %s", problem);
    if (digest == NULL || !sha256_is_digest(digest))
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "the signed digest is not 'sha256:' and 64 lowercase hex digits");

    /* Each byte of the identity takes at most 6 (\u003c); U+2028 takes 6 for 3. */
    text = xmalloc(sizeof(PAYLOAD_HEAD) + 6 * idlen + sizeof(PAYLOAD_MID) + SHA256_DIGEST_STR_LEN +
                   sizeof(PAYLOAD_TAIL));
    memcpy(text, PAYLOAD_HEAD, sizeof(PAYLOAD_HEAD) - 1);
    n += sizeof(PAYLOAD_HEAD) - 1;
    n += escape(text + n, identity, idlen);
    memcpy(text + n, PAYLOAD_MID, sizeof(PAYLOAD_MID) - 1);
    n += sizeof(PAYLOAD_MID) - 1;
    memcpy(text + n, digest, SHA256_DIGEST_STR_LEN - 1);
    n += SHA256_DIGEST_STR_LEN - 1;
    memcpy(text + n, PAYLOAD_TAIL, sizeof(PAYLOAD_TAIL));
    n += sizeof(PAYLOAD_TAIL) - 1;
    *out = text;
    *len = n;
    return 0;
}

/* ---- parsing ------------------------------------------------------------------------------- */

/*
 * Checks that `obj` (at `where`) is an object with exactly the keys `names`, compared
 * byte for byte: Go's encoding/json would match keys without regard to case, which is why
 * containers/image checks them itself.
 */
static int
exact_keys(const json_t *obj, const char *where, const char *const *names, size_t n,
           struct temper_err *err)
{
    const char *key;
    const json_t *value;
    char shown[72];

    if (!json_is_object(obj))
        return temper_err_set(err, TEMPER_E_SIG, 0, "payload: %s is not a JSON object", where);
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t i = 0;

        while (i < n && strcmp(key, names[i]) != 0)
            i++;
        if (i < n)
            continue;
        for (i = 0; i < n; i++)
            if (strcasecmp(key, names[i]) == 0)
                return temper_err_set(err, TEMPER_E_SIG, 0,
                                      "payload: %s has key '%s': key names are case-sensitive, "
                                      "it must be '%s'",
                                      where, temper_printable(key, shown, sizeof(shown)), names[i]);
        return temper_err_set(err, TEMPER_E_SIG, 0, "payload: %s has an unknown key '%s'", where,
                              temper_printable(key, shown, sizeof(shown)));
    }
    for (size_t i = 0; i < n; i++)
        if (json_object_get(obj, names[i]) == NULL)
            return temper_err_set(err, TEMPER_E_SIG, 0, "payload: %s has no '%s'", where, names[i]);
    return 0;
}

/* `optional`: null, or an object where only `creator` (a string) and `timestamp` (an integer)
 * have a meaning; other members are ignored, as containers/image ignores them. */
static int
check_optional(const json_t *optional, struct temper_err *err)
{
    const json_t *creator, *timestamp;

    if (json_is_null(optional))
        return 0;
    if (!json_is_object(optional))
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "payload: 'optional' is neither null nor an "
                              "object");
    creator = json_object_get(optional, "creator");
    if (creator != NULL && !json_is_string(creator))
        return temper_err_set(err, TEMPER_E_SIG, 0, "payload: 'optional.creator' is not a string");
    timestamp = json_object_get(optional, "timestamp");
    if (timestamp != NULL) {
        /* Numbers are read as doubles (JSON_DECODE_INT_AS_REAL), as Go reads them. */
        double t = json_is_real(timestamp) ? json_real_value(timestamp) : 0.5;

        if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0) || (double)(int64_t)t != t)
            return temper_err_set(err, TEMPER_E_SIG, 0,
                                  "payload: 'optional.timestamp' is not an integer");
    }
    return 0;
}

/* The one string member of a one-member object: critical.image and critical.identity. */
static const char *
single_string(const json_t *obj, const char *where, const char *name, struct temper_err *err)
{
    const char *names[] = {name};
    const json_t *value;

    if (exact_keys(obj, where, names, 1, err) < 0)
        return NULL;
    value = json_object_get(obj, name);
    if (!json_is_string(value)) {
        temper_err_set(err, TEMPER_E_SIG, 0, "payload: '%s' in %s is not a string", name, where);
        return NULL;
    }
    return json_string_value(value);
}

/* Copies jansson's message with anything not printable ASCII made '?' (it quotes the input). */
static void
json_problem(const json_error_t *jerr, struct temper_err *err)
{
    char text[JSON_ERROR_TEXT_LENGTH];
    size_t i = 0;

    for (; jerr->text[i] != '\0' && i + 1 < sizeof(text); i++)
        text[i] = jerr->text[i] >= 0x20 && jerr->text[i] < 0x7f ? jerr->text[i] : '?';
    text[i] = '\0';
    temper_err_set(err, TEMPER_E_SIG, 0, "payload is not JSON: line %d column %d: %s", jerr->line,
                   jerr->column, text);
}

int
sign_payload_parse(const void *buf, size_t len, struct sign_payload *out, struct temper_err *err)
{
    static const char *const top[] = {"critical", "optional"};
    static const char *const critical_keys[] = {"identity", "image", "type"};
    json_error_t jerr;
    json_auto_t *doc = NULL;
    const json_t *critical, *type;
    const char *identity, *digest, *problem;

    if (len > SIGN_PAYLOAD_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "payload is %zu bytes, over the cap of %d: not a signed payload", len,
                              SIGN_PAYLOAD_MAX_BYTES);
    doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
    if (doc == NULL) {
        json_problem(&jerr, err);
        return -1;
    }
    if (exact_keys(doc, "the top level", top, 2, err) < 0 ||
        check_optional(json_object_get(doc, "optional"), err) < 0)
        return -1;
    critical = json_object_get(doc, "critical");
    if (exact_keys(critical, "'critical'", critical_keys, 3, err) < 0)
        return -1;
    type = json_object_get(critical, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), COSIGN_TYPE) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "payload: 'critical.type' is not '" COSIGN_TYPE "'");
    digest = single_string(json_object_get(critical, "image"), "'critical.image'",
                           "docker-manifest-digest", err);
    if (digest == NULL)
        return -1;
    if (!sha256_is_digest(digest))
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "payload: 'critical.image.docker-manifest-digest' is not 'sha256:' "
                              "and 64 lowercase hex digits");
    identity = single_string(json_object_get(critical, "identity"), "'critical.identity'",
                             "docker-reference", err);
    if (identity == NULL)
        return -1;
    problem = identity_problem(identity, strlen(identity));
    if (problem != NULL)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "payload: 'critical.identity.docker-reference' %s", problem);
    out->identity = xstrdup(identity);
    out->digest = xstrdup(digest);
    return 0;
}

void
sign_payload_release(struct sign_payload *p)
{
    if (p == NULL)
        return;
    free(p->identity);
    free(p->digest);
    p->identity = NULL;
    p->digest = NULL;
}
