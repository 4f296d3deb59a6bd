/*
 * References (REGISTRY/REPO[:TAG|@DIGEST]) and the URLs built from them, as
 * the distribution reference grammar and docker's defaults have them.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "base/cleanup.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "registry-internal.h"
#include "registry_client.h"

void
registry_ref_release(struct registry_ref *ref)
{
    if (ref == NULL)
        return;
    free(ref->registry);
    free(ref->repository);
    free(ref->tag);
    free(ref->digest);
    memset(ref, 0, sizeof(*ref));
}

/* The first component names a registry when it has a '.' or a ':' or is "localhost" (docker). */
static bool
is_registry_component(const char *s, size_t n)
{
    return memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
           (n == 9 && memcmp(s, "localhost", 9) == 0);
}

int
registry_ref_parse(const char *text, struct registry_ref *out, struct temper_err *err)
{
    struct oci_reference parsed;

    /* docker's grammar, so that the repository pushed to is the one a signature names; and a
     * bracketed IPv6 host, which a client can reach even if containers/image cannot name it */
    if (oci_reference_parse(text, OCI_REFERENCE_IPV6, &parsed, err) < 0)
        return -1;
    if (parsed.digest != NULL && !sha256_is_digest(parsed.digest)) {
        oci_reference_release(&parsed);
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "'%.300s': a registry is asked for sha256 digests only", text);
    }
    out->registry = xstrndup(parsed.name, parsed.domain_len);
    out->repository = xstrdup(parsed.name + parsed.domain_len + 1);
    out->tag = steal_pointer(&parsed.tag);
    out->digest = steal_pointer(&parsed.digest);
    oci_reference_release(&parsed);
    return 0;
}

bool
registry_host_is_loopback(const char *host)
{
    char h[256];
    size_t n = strlen(host);
    unsigned a, b, c, d;
    char tail;

    if (n >= sizeof(h))
        return false;
    memcpy(h, host, n + 1);
    if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
        memmove(h, h + 1, n - 2);
        h[n - 2] = '\0';
    }
    if (strcasecmp(h, "localhost") == 0 || strcmp(h, "::1") == 0)
        return true;
    return sscanf(h, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b <= 255 &&
           c <= 255 && d <= 255;
}

/* A URL as libcurl parses it (the parse libcurl will act on): each part owned, or NULL. */
struct url_parts {
    char *scheme, *host, *port; /* lowercase scheme; port made explicit for http(s) */
    bool has_userinfo;
};

static void
url_parts_release(struct url_parts *u)
{
    curl_free(u->scheme);
    curl_free(u->host);
    curl_free(u->port);
    memset(u, 0, sizeof(*u));
}

/* An '@' between "://" and the path: userinfo, even one libcurl would read as empty. */
static bool
has_at_in_authority(const char *url)
{
    const char *p = strstr(url, "://");

    if (p == NULL)
        return false;
    p += 3;
    return memchr(p, '@', strcspn(p, "/?#")) != NULL;
}

/* Splits an absolute URL with curl_url(); false when libcurl would not take it. */
static bool
url_split(const char *url, struct url_parts *out)
{
    CURLU *h = curl_url();
    char *user = NULL, *password = NULL;
    struct url_parts u = {0};
    bool ok;

    if (h == NULL)
        return false;
    ok = curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
         curl_url_get(h, CURLUPART_SCHEME, &u.scheme, 0) == CURLUE_OK &&
         curl_url_get(h, CURLUPART_HOST, &u.host, 0) == CURLUE_OK &&
         curl_url_get(h, CURLUPART_PORT, &u.port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    /* "http://127.0.0.1:x@evil/": a user, a password, or only an '@' */
    u.has_userinfo = curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK ||
                     curl_url_get(h, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK ||
                     has_at_in_authority(url);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(h);
    if (!ok) {
        url_parts_release(&u);
        return false;
    }
    *out = u;
    return true;
}

static bool
is_scheme(const struct url_parts *u, const char *scheme)
{
    return strcasecmp(u->scheme, scheme) == 0;
}

bool
registry_is_same_origin(const char *base, const char *url)
{
    struct url_parts b, u;
    bool same;

    if (!url_split(base, &b))
        return false;
    if (!url_split(url, &u)) {
        url_parts_release(&b);
        return false;
    }
    same = !u.has_userinfo && strcasecmp(b.scheme, u.scheme) == 0 &&
           strcasecmp(b.host, u.host) == 0 && strcmp(b.port, u.port) == 0;
    url_parts_release(&b);
    url_parts_release(&u);
    return same;
}

int
registry_realm_check(const char *base, const char *registry, const char *realm,
                     struct temper_err *err)
{
    char shown[320];
    struct url_parts r, b = {0};
    const char *why = NULL;

    temper_printable(realm, shown, sizeof(shown));
    if (!url_split(realm, &r))
        return temper_err_set(err, TEMPER_E_AUTH, 0,
                              "registry '%s': token realm '%s' is not an http(s) URL", registry,
                              shown);
    if (!is_scheme(&r, "https") && !is_scheme(&r, "http"))
        why = "is not an http(s) URL";
    else if (r.has_userinfo)
        why = "holds a user name or password: refusing to send credentials there";
    else if (is_scheme(&r, "http") && !registry_host_is_loopback(r.host) &&
             !(url_split(base, &b) && is_scheme(&b, "http") && strcasecmp(b.host, r.host) == 0))
        why = "is plain http: refusing to send credentials there";
    url_parts_release(&r);
    url_parts_release(&b);
    if (why != NULL)
        return temper_err_set(err, TEMPER_E_AUTH, 0, "registry '%s': token realm '%s' %s", registry,
                              shown, why);
    return 0;
}

/* An absolute Location is refused when it takes an https registry down to plain http. */
static bool
is_downgrade(const char *base, const char *location)
{
    struct url_parts b, l;
    bool down;

    if (!url_split(location, &l))
        return true;
    if (!url_split(base, &b)) {
        url_parts_release(&l);
        return true;
    }
    /* a loopback registry that fell back to http has an http base already */
    down = is_scheme(&b, "https") && is_scheme(&l, "http") &&
           !(registry_host_is_loopback(l.host) && registry_host_is_loopback(b.host));
    url_parts_release(&b);
    url_parts_release(&l);
    return down;
}

char *
registry_resolve_location(const char *base, const char *location)
{
    size_t i;

    if (location == NULL || location[0] == '\0')
        return NULL;
    /* a URL is ASCII: no control character, no space, and no byte of 0x80 and above (C1
     * controls, which would reach a terminal in a message) */
    for (i = 0; location[i] != '\0'; i++)
        if ((unsigned char)location[i] <= 0x20 || (unsigned char)location[i] >= 0x7f)
            return NULL;
    if (strchr(location, '#') != NULL)
        return NULL; /* a query added after the fragment would never be sent */
    if (strncasecmp(location, "https://", 8) == 0 || strncasecmp(location, "http://", 7) == 0)
        return is_downgrade(base, location) ? NULL : xstrdup(location);
    if (location[0] != '/' || location[1] == '/')
        return NULL; /* relative paths and scheme-relative URLs: not what registries send */
    return xasprintf("%s%s", base, location);
}

char *
registry_upload_url(const char *base, const char *location, const char *digest)
{
    cleanup_free char *url = registry_resolve_location(base, location);

    if (url == NULL)
        return NULL;
    return xasprintf("%s%cdigest=%s", url, strchr(url, '?') ? '&' : '?', digest);
}

int
registry_mount_source(const struct registry_ref *target, const char *from, char **out,
                      struct temper_err *err)
{
    size_t host_len = strlen(target->registry);
    const char *slash = strchr(from, '/');
    cleanup_free char *text = NULL;
    struct registry_ref src = {0};

    /* "REGISTRY/REPO": the registry must be the target's; "REPO" is on the target's */
    if (slash != NULL && is_registry_component(from, (size_t)(slash - from))) {
        if ((size_t)(slash - from) != host_len || strncmp(from, target->registry, host_len) != 0)
            return temper_err_set(err, TEMPER_E_USAGE, 0,
                                  "cannot mount from '%.200s': it is not on registry '%s' (blobs "
                                  "mount only within one registry); name a repository there",
                                  from, target->registry);
        text = xstrdup(from);
    } else {
        text = xasprintf("%s/%s", target->registry, from);
    }
    if (registry_ref_parse(text, &src, err) < 0)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "cannot mount from '%.200s': not a repository (lowercase [a-z0-9] "
                              "parts joined by '/', '.', '_' or '-')",
                              from);
    if (src.tag != NULL || src.digest != NULL) {
        registry_ref_release(&src);
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "cannot mount from '%.200s': name a repository, without a tag or "
                              "digest",
                              from);
    }
    *out = steal_pointer(&src.repository);
    registry_ref_release(&src);
    return 0;
}

long
registry_retry_after_s(const char *value, time_t now)
{
    size_t i, n = strlen(value);
    time_t when;

    /* delay-seconds: 1*DIGIT; a number too long for a long is far over any cap anyway */
    for (i = 0; i < n && value[i] >= '0' && value[i] <= '9'; i++)
        ;
    if (n > 0 && i == n)
        return n > 9 ? 999999999L : strtol(value, NULL, 10);
    /* an HTTP-date names a day: at least "Sun, 06 Nov 1994 08:49:37 GMT" has letters */
    when = curl_getdate(value, NULL);
    if (when < 0 || i > 0)
        return -1;
    return when <= now ? 0 : (when - now > 999999999L ? 999999999L : (long)(when - now));
}
