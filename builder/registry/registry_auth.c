/*
 * Authentication inputs, all untrusted: the WWW-Authenticate header a
 * registry sends, and the docker config.json a user (or anyone who could
 * write it) left. Both are parsed with every length bounded, and no message
 * ever quotes a credential.
 */
#include <ctype.h>
#include <jansson.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "registry-internal.h"
#include "registry_client.h"

/* RFC 9110 token characters. */
static bool
is_tchar(int c)
{
    return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static size_t
skip_ows(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

/*
 * Reads a parameter value at s[*i]: a token, or a quoted string with
 * backslash escapes, into out (at most cap - 1 bytes). 0, or -1 with err.
 */
static int
read_value(const char *s, size_t len, size_t *i, char *out, size_t cap, const char *name,
           struct temper_err *err)
{
    size_t n = 0, j = *i;

    if (j < len && s[j] == '"') {
        for (j++; j < len && s[j] != '"'; j++) {
            unsigned char c;

            if (s[j] == '\\' && j + 1 < len)
                j++;
            c = (unsigned char)s[j];
            if (c < 0x20 || c == 0x7f)
                return temper_err_set(err, TEMPER_E_PARSE, 0,
                                      "WWW-Authenticate: a control character in '%s'", name);
            if (n + 1 >= cap)
                return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                      "WWW-Authenticate: '%s' is over %zu bytes", name, cap - 1);
            out[n++] = (char)c;
        }
        if (j >= len)
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "WWW-Authenticate: unterminated quoted '%s'", name);
        j++;
    } else {
        for (; j < len && is_tchar((unsigned char)s[j]); j++) {
            if (n + 1 >= cap)
                return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                      "WWW-Authenticate: '%s' is over %zu bytes", name, cap - 1);
            out[n++] = s[j];
        }
        /* token68-style padding ("abc==") is a value too */
        while (j < len && s[j] == '=' && n + 1 < cap)
            out[n++] = s[j++];
    }
    out[n] = '\0';
    *i = j;
    return 0;
}

/* Where a parameter's value goes: one of the challenge's fields, or a scratch buffer. */
static char *
field_of(struct registry_challenge *c, const char *name, size_t *cap, char *scratch,
         size_t scratch_cap)
{
    if (strcasecmp(name, "realm") == 0) {
        *cap = sizeof(c->realm);
        return c->realm;
    }
    if (strcasecmp(name, "service") == 0) {
        *cap = sizeof(c->service);
        return c->service;
    }
    if (strcasecmp(name, "scope") == 0) {
        *cap = sizeof(c->scope);
        return c->scope;
    }
    *cap = scratch_cap;
    return scratch;
}

static int
parse_scheme(const char *s, size_t len, size_t *i, struct registry_challenge *c,
             struct temper_err *err)
{
    size_t start = *i = skip_ows(s, 0, len), n;

    while (*i < len && is_tchar((unsigned char)s[*i]))
        (*i)++;
    n = *i - start;
    if (n == 5 && strncasecmp(s + start, "Basic", 5) == 0)
        memcpy(c->scheme, "Basic", 6);
    else if (n == 6 && strncasecmp(s + start, "Bearer", 6) == 0)
        memcpy(c->scheme, "Bearer", 7);
    else
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "WWW-Authenticate: not a Basic or Bearer challenge");
    if (*i < len && s[*i] != ' ' && s[*i] != '\t')
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "WWW-Authenticate: no space after the scheme");
    return 0;
}

/* One "name=value" at s[*i]; 1 when what follows is not a parameter (another challenge). */
static int
parse_param(const char *s, size_t len, size_t *i, struct registry_challenge *c,
            struct temper_err *err)
{
    char name[32], scratch[REGISTRY_CHALLENGE_MAX_BYTES];
    size_t j = *i, n = 0, cap;
    char *dst;

    while (j < len && is_tchar((unsigned char)s[j])) {
        if (n + 1 >= sizeof(name))
            return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                  "WWW-Authenticate: a parameter name over %zu bytes",
                                  sizeof(name) - 1);
        name[n++] = s[j++];
    }
    name[n] = '\0';
    j = skip_ows(s, j, len);
    if (n == 0 || j >= len || s[j] != '=')
        return n == 0 ? temper_err_set(err, TEMPER_E_PARSE, 0,
                                       "WWW-Authenticate: expected a parameter name")
                      : 1;
    j = skip_ows(s, j + 1, len);
    dst = field_of(c, name, &cap, scratch, sizeof(scratch));
    if (read_value(s, len, &j, dst, cap, name, err) < 0)
        return -1;
    *i = j;
    return 0;
}

int
registry_auth_parse(const char *header, size_t len, struct registry_challenge *out,
                    struct temper_err *err)
{
    struct registry_challenge c;
    size_t i;

    memset(&c, 0, sizeof(c));
    if (len > REGISTRY_CHALLENGE_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "WWW-Authenticate is over %d bytes",
                              REGISTRY_CHALLENGE_MAX_BYTES);
    if (memchr(header, '\0', len) != NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "WWW-Authenticate holds a NUL byte");
    if (parse_scheme(header, len, &i, &c, err) < 0)
        return -1;
    for (;;) {
        int rc;

        i = skip_ows(header, i, len);
        while (i < len && header[i] == ',')
            i = skip_ows(header, i + 1, len);
        if (i >= len)
            break;
        rc = parse_param(header, len, &i, &c, err);
        if (rc < 0)
            return -1;
        if (rc == 1)
            break; /* a second challenge: the first one is used */
        i = skip_ows(header, i, len);
        if (i < len && header[i] != ',')
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "WWW-Authenticate: expected ',' between parameters");
    }
    if (strcmp(c.scheme, "Bearer") == 0 && c.realm[0] == '\0')
        return temper_err_set(err, TEMPER_E_PARSE, 0, "WWW-Authenticate: Bearer without a realm");
    *out = c;
    return 0;
}

/* "https://host:port/v1/" -> "host:port" (in place); docker.io's old name -> "docker.io". */
static void
auth_key_host(const char *key, char *out, size_t cap)
{
    const char *p = strstr(key, "://");
    size_t n;

    p = p != NULL ? p + 3 : key;
    n = strcspn(p, "/");
    if (n >= cap)
        n = 0;
    memcpy(out, p, n);
    out[n] = '\0';
    if (strcmp(out, "index.docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0)
        snprintf(out, cap, "docker.io");
}

/* Decodes one "auth" value into username and password (owned). */
static int
decode_auth(const char *b64, const char *registry, char **username, char **password,
            struct temper_err *err)
{
    size_t n = strlen(b64), pad = 0;
    cleanup_free unsigned char *raw = NULL;
    char *colon;
    int got;

    if (n == 0 || n % 4 != 0 || n > REGISTRY_CREDENTIAL_MAX_BYTES * 2)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "docker config: the auth of '%s' is not base64 of user:password",
                              registry);
    raw = xmalloc(n / 4 * 3 + 1);
    got = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
    while (pad < 2 && b64[n - 1 - pad] == '=')
        pad++;
    if (got < 0 || (size_t)got < pad) {
        OPENSSL_cleanse(raw, n / 4 * 3);
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "docker config: the auth of '%s' is not base64 of user:password",
                              registry);
    }
    got -= (int)pad;
    raw[got] = '\0';
    colon = memchr(raw, ':', (size_t)got);
    if (colon == NULL || colon == (char *)raw || memchr(raw, '\0', (size_t)got) != NULL) {
        OPENSSL_cleanse(raw, (size_t)got);
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "docker config: the auth of '%s' is not base64 of user:password",
                              registry);
    }
    *colon = '\0';
    *username = xstrdup((char *)raw);
    *password = xstrdup(colon + 1);
    OPENSSL_cleanse(raw, (size_t)got);
    return 0;
}

/* The helper credHelpers names for `registry`, else credsStore's: 1 and *helper, 0, or -1. */
static int
find_helper(json_t *doc, const char *registry, char **helper, struct temper_err *err)
{
    json_t *helpers = json_object_get(doc, "credHelpers"),
           *store = json_object_get(doc, "credsStore");
    json_t *entry;
    const char *key;
    char host[256];

    if (helpers != NULL && !json_is_object(helpers))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'credHelpers' is not an object");
    json_object_foreach(helpers, key, entry)
    {
        auth_key_host(key, host, sizeof(host));
        if (strcmp(host, registry) != 0)
            continue;
        if (!json_is_string(entry) || json_string_length(entry) == 0)
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "the credHelpers entry of '%s' is not a helper's name", registry);
        *helper = xstrdup(json_string_value(entry));
        return 1;
    }
    if (store != NULL && !json_is_string(store))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'credsStore' is not a string");
    if (store != NULL && json_string_length(store) > 0) {
        *helper = xstrdup(json_string_value(store));
        return 1;
    }
    return 0;
}

int
registry_docker_auth_parse(const char *json, size_t len, const char *registry, char **username,
                           char **password, char **helper, struct temper_err *err)
{
    json_t *doc = NULL, *auths, *entry;
    const char *key;
    char host[256];
    int rc = 0;

    if (len > REGISTRY_DOCKER_CONFIG_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "docker config: over %d bytes",
                              REGISTRY_DOCKER_CONFIG_MAX_BYTES);
    doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return temper_err_set(err, TEMPER_E_PARSE, 0, "docker config: not a JSON object");
    }
    rc = find_helper(doc, registry, helper, err);
    if (rc != 0) {
        json_decref(doc);
        return rc < 0 ? temper_err_prefix(err, "docker config") : rc;
    }
    auths = json_object_get(doc, "auths");
    if (auths != NULL && !json_is_object(auths)) {
        json_decref(doc);
        return temper_err_set(err, TEMPER_E_PARSE, 0, "docker config: 'auths' is not an object");
    }
    json_object_foreach(auths, key, entry)
    {
        const char *b64;

        auth_key_host(key, host, sizeof(host));
        if (strcmp(host, registry) != 0)
            continue;
        b64 = json_string_value(json_object_get(entry, "auth"));
        if (b64 == NULL)
            continue;
        rc = decode_auth(b64, registry, username, password, err) < 0 ? -1 : 1;
        break;
    }
    json_decref(doc);
    return rc;
}
