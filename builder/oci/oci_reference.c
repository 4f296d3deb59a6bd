/*
 * Image references (NAME[:TAG][@DIGEST]) as docker's reference grammar
 * parses and normalizes them. containers/image compares signed identities
 * only after this normalization (ParseNormalizedNamed of its
 * docker/reference package, a copy of docker/distribution's), so temper must
 * normalize exactly as it does, or a signature temper accepts would be
 * refused by podman, CRI-O and skopeo, or the other way round.
 *
 * The grammar (docker/distribution reference.go):
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain '/'] component ['/' component]*
 *   domain     := host-part ['.' host-part]* [':' port]
 *   host-part  := /[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]/
 *   component  := /[a-z0-9]+/ (separator /[a-z0-9]+/)*
 *   separator  := '.' | '_' | '__' | '-' repeated, or nothing
 *   tag        := /[\w][\w.-]{0,127}/
 * written by hand rather than with regcomp(3): POSIX regexps are not RE2's,
 * and each rule here is a few lines that the tests check one by one.
 */
#include <stdbool.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "oci_layout.h"

/* docker/distribution's NameTotalLengthMax: the whole normalized name, domain included. */
#define NAME_MAX_BYTES 255

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* component := [a-z0-9]+ ((`.` | `_` | `__` | `-`*) [a-z0-9]+)* */
static bool
is_path_component(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t run = 0, after_run;

        while (i < n && is_lower_alnum(s[i]))
            i++, run++;
        if (run == 0)
            return false;
        if (i == n)
            return true;
        /* a separator, then another run of [a-z0-9] must follow */
        after_run = i;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
        } else {
            while (i < n && s[i] == '-')
                i++;
        }
        if (i == after_run || i == n)
            return false;
    }
    return false;
}

/* host-part ('.' host-part)*: letters of either case, digits, '-' inside a part. */
static bool
is_host_name(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t start = i;

        while (i < n && (is_alnum(s[i]) || s[i] == '-'))
            i++;
        if (i == start || s[start] == '-' || s[i - 1] == '-')
            return false;
        if (i == n)
            return true;
        if (s[i] != '.' || ++i == n)
            return false;
    }
    return false;
}

/* "[" hex and ':' "]": the bracketed IPv6 literal of distribution/reference 0.6 and later. */
static bool
is_ipv6_literal(const char *s, size_t n)
{
    if (n < 3 || s[0] != '[' || s[n - 1] != ']')
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_digit(s[i]) && !((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f') && s[i] != ':')
            return false;
    return true;
}

/* domain := (host | [ipv6]) [':' [0-9]+] */
static bool
is_domain(const char *s, size_t n, unsigned flags)
{
    size_t host = n;

    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);

        if (close == NULL || !(flags & OCI_REFERENCE_IPV6))
            return false;
        host = (size_t)(close - s) + 1;
        if (!is_ipv6_literal(s, host))
            return false;
    } else {
        const char *colon = memchr(s, ':', n);

        host = colon != NULL ? (size_t)(colon - s) : n;
        if (!is_host_name(s, host))
            return false;
    }
    if (host == n)
        return true;
    if (s[host] != ':' || host + 1 == n)
        return false;
    for (size_t i = host + 1; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* component ('/' component)* */
static bool
are_components(const char *s, size_t n)
{
    for (size_t i = 0; i <= n;) {
        const char *next = memchr(s + i, '/', n - i);
        size_t len = next != NULL ? (size_t)(next - (s + i)) : n - i;

        if (!is_path_component(s + i, len))
            return false;
        i += len + 1;
    }
    return true;
}

/* The whole name: components only, or a domain and then at least one component. */
static bool
is_name(const char *s, size_t n, unsigned flags)
{
    const char *slash = memchr(s, '/', n);
    size_t first;

    if (are_components(s, n))
        return true;
    if (slash == NULL)
        return false;
    first = (size_t)(slash - s);
    return is_domain(s, first, flags) && are_components(s + first + 1, n - first - 1);
}

/* The digests containers/image can check: sha256, sha384, sha512, in lowercase hex. */
static bool
is_digest(const char *s)
{
    static const struct {
        const char *algorithm;
        size_t hex;
    } known[] = {{"sha256:", 64}, {"sha384:", 96}, {"sha512:", 128}};

    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
        size_t a = strlen(known[k].algorithm), i;

        if (strncmp(s, known[k].algorithm, a) != 0 || strlen(s + a) != known[k].hex)
            continue;
        for (i = a; s[i] != '\0'; i++)
            if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
                return false;
        return true;
    }
    return false;
}

static bool
is_hex64(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    return i == 64;
}

static bool
has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return true;
    return false;
}

static int
bad_reference(struct temper_err *err, const char *text, const char *why)
{
    return temper_err_set(err, TEMPER_E_USAGE, 0, "'%.300s' is not an image reference: %s", text,
                          why);
}

int
oci_reference_parse(const char *text, unsigned flags, struct oci_reference *out,
                    struct temper_err *err)
{
    cleanup_free char *full = NULL;
    const char *slash, *remainder;
    char *at, *colon, *last_slash;
    struct oci_reference ref = {0};
    size_t domain_len, remote_len;

    if (text == NULL || text[0] == '\0')
        return bad_reference(err, "", "it is empty");
    if (strlen(text) > OCI_REFERENCE_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "an image reference of over %d bytes is not one",
                              OCI_REFERENCE_MAX_BYTES);
    if (is_hex64(text))
        return bad_reference(err, text, "64 hex digits name an image id, not a repository");
    /* splitDockerDomain: the first component is a domain only with a '.' or ':', or as
     * "localhost"; docker.io's old name is docker.io, whose single names are library/'s */
    slash = strchr(text, '/');
    if (slash != NULL && (memchr(text, '.', (size_t)(slash - text)) != NULL ||
                          memchr(text, ':', (size_t)(slash - text)) != NULL ||
                          (slash - text == 9 && memcmp(text, "localhost", 9) == 0))) {
        domain_len = (size_t)(slash - text);
        remainder = slash + 1;
    } else {
        domain_len = 0;
        remainder = text;
    }
    if (domain_len == 0 || (domain_len == 15 && memcmp(text, "index.docker.io", 15) == 0))
        full = xasprintf("docker.io/%s%s", strchr(remainder, '/') ? "" : "library/", remainder);
    else if (domain_len == 9 && memcmp(text, "docker.io", 9) == 0 && !strchr(remainder, '/'))
        full = xasprintf("docker.io/library/%s", remainder);
    else
        full = xstrdup(text);
    domain_len = (size_t)(strchr(full, '/') - full);
    remote_len = strcspn(full + domain_len + 1, ":");
    if (has_upper(full + domain_len + 1, remote_len))
        return bad_reference(err, text, "the repository must be lowercase");

    /* name [":" tag] ["@" digest]: no part but the digest holds '@', and the tag is after the
     * last ':' that follows the last '/' (a name's ':' is only a domain's port) */
    at = strchr(full, '@');
    if (at != NULL) {
        *at = '\0';
        if (!is_digest(at + 1))
            return bad_reference(err, text,
                                 "the digest is not sha256, sha384 or sha512 in lowercase hex");
    }
    last_slash = strrchr(full, '/');
    colon = strrchr(last_slash, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (!oci_tag_is_valid(colon + 1))
            return bad_reference(err, text, "the tag is not [A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
    }
    if (!is_name(full, strlen(full), flags))
        return bad_reference(err, text,
                             "a repository is lowercase [a-z0-9] parts joined by '/', '.', '_', "
                             "'__' or '-', after a registry host[:port]");
    if (strlen(full) > NAME_MAX_BYTES)
        return bad_reference(err, text, "the name is over 255 bytes");
    ref.tag = colon != NULL ? xstrdup(colon + 1) : NULL;
    ref.digest = at != NULL ? xstrdup(at + 1) : NULL;
    ref.domain_len = domain_len;
    ref.name = steal_pointer(&full);
    *out = ref;
    return 0;
}

void
oci_reference_release(struct oci_reference *ref)
{
    if (ref == NULL)
        return;
    free(ref->name);
    free(ref->tag);
    free(ref->digest);
    memset(ref, 0, sizeof(*ref));
}

char *
oci_reference_string(const struct oci_reference *ref)
{
    return xasprintf("%s%s%s%s%s", ref->name, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                     ref->digest ? "@" : "", ref->digest ? ref->digest : "");
}
