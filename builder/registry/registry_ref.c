/*
 * References (REGISTRY/REPO[:TAG|@DIGEST]) and the URLs built from them, as
 * the distribution reference grammar and docker's defaults have them.
 */
#include <ctype.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "registry-internal.h"
#include "registry_client.h"

/* The distribution spec's limit on a repository name. */
#define REPOSITORY_MAX 255

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

static bool
is_valid_host(const char *s)
{
    size_t i;

    if (*s == '\0' || strlen(s) > 255)
        return false;
    for (i = 0; s[i] != '\0'; i++)
        if (!isalnum((unsigned char)s[i]) && strchr(".-:[]", s[i]) == NULL)
            return false;
    return true;
}

/* [a-z0-9]+ components joined by '/', each with single '.', '_', '-' (or "__") inside. */
static bool
is_valid_repository(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > REPOSITORY_MAX)
        return false;
    for (i = 0; i < n; i++) {
        bool alnum = islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]);
        bool first = i == 0 || s[i - 1] == '/', last = i + 1 == n || s[i + 1] == '/';

        if (alnum)
            continue;
        if (s[i] == '/' && !first && !last)
            continue;
        if (strchr("._-", s[i]) != NULL && !first && !last && s[i + 1] != '/' &&
            (strchr("._-", s[i - 1]) == NULL ||
             (s[i] == '_' && s[i - 1] == '_' && i >= 2 && strchr("._-", s[i - 2]) == NULL)))
            continue;
        return false;
    }
    return true;
}

static int
ref_error(struct temper_err *err, const char *text, const char *why)
{
    return temper_err_set(err, TEMPER_E_USAGE, 0, "'%.200s' is not a REGISTRY/REPO[:TAG]: %s", text,
                          why);
}

int
registry_ref_parse(const char *text, struct registry_ref *out, struct temper_err *err)
{
    cleanup_free char *copy = xstrdup(text), *repo = NULL;
    struct registry_ref ref = {0};
    char *name = copy, *at, *slash, *colon;

    at = strchr(copy, '@');
    if (at != NULL) {
        *at = '\0';
        if (!sha256_is_digest(at + 1))
            return ref_error(err, text, "the digest is not sha256:<64 lowercase hex>");
        ref.digest = xstrdup(at + 1);
    }
    slash = strchr(name, '/');
    if (slash != NULL && is_registry_component(name, (size_t)(slash - name))) {
        *slash = '\0';
        ref.registry = xstrdup(name);
        name = slash + 1;
    } else {
        ref.registry = xstrdup("docker.io");
    }
    colon = strrchr(name, ':');
    if (colon != NULL && strchr(colon, '/') == NULL) {
        *colon = '\0';
        if (!oci_tag_is_valid(colon + 1)) {
            registry_ref_release(&ref);
            return ref_error(err, text, "the tag is not [A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
        }
        ref.tag = xstrdup(colon + 1);
    }
    if (strcmp(ref.registry, "docker.io") == 0 && strchr(name, '/') == NULL)
        repo = xasprintf("library/%s", name);
    else
        repo = xstrdup(name);
    if (!is_valid_host(ref.registry) || !is_valid_repository(repo)) {
        registry_ref_release(&ref);
        return ref_error(err, text,
                         "the repository must be lowercase [a-z0-9] parts joined by '/', '.', "
                         "'_' or '-'");
    }
    ref.repository = steal_pointer(&repo);
    *out = ref;
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

char *
registry_upload_url(const char *base, const char *location, const char *digest)
{
    size_t i;

    if (location == NULL || location[0] == '\0')
        return NULL;
    for (i = 0; location[i] != '\0'; i++)
        if ((unsigned char)location[i] <= 0x20 || location[i] == 0x7f)
            return NULL;
    if (strncmp(location, "https://", 8) == 0 || strncmp(location, "http://", 7) == 0)
        return xasprintf("%s%cdigest=%s", location, strchr(location, '?') ? '&' : '?', digest);
    if (location[0] != '/' || location[1] == '/')
        return NULL; /* relative paths and scheme-relative URLs: not what registries send */
    return xasprintf("%s%s%cdigest=%s", base, location, strchr(location, '?') ? '&' : '?', digest);
}
