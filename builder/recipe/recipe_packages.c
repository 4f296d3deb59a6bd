/*
 * The keys of package sources: contents.repositories, contents.keyring,
 * contents.packages, contents.exclude and the top-level architectures
 * (recipe.h). Only the shape of each value is checked here; whether an
 * archive serves a suite, or a package exists, is the lock's business.
 */
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "recipe-internal.h"

#define NKEYS(table) (sizeof(table) / sizeof((table)[0]))

/* Longest suite, component or package name taken (Debian's are under 64 bytes). */
#define PACKAGE_TOKEN_MAX_BYTES 128
/* Longest repository URL. */
#define REPOSITORY_URL_MAX_BYTES 2048

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A Debian package name (deb-control(5)): [a-z0-9][a-z0-9+.-]+. */
static bool
is_package_name(const char *s, size_t len)
{
    if (len < 2 || len > PACKAGE_TOKEN_MAX_BYTES || !is_lower_alnum(s[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!is_lower_alnum(s[i]) && strchr("+.-", s[i]) == NULL)
            return false;
    }
    return true;
}

/* A suite or component: letters, digits, '.', '_', '-', and '/' between parts ("updates/main"),
 * never "..": it becomes a part of a URL path. */
static bool
is_archive_token(const char *s, size_t len)
{
    if (len == 0 || len > PACKAGE_TOKEN_MAX_BYTES || s[0] == '/' || s[len - 1] == '/' ||
        s[0] == '.' || strstr(s, "..") != NULL || strstr(s, "//") != NULL)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!is_lower_alnum(c) && !(c >= 'A' && c <= 'Z') && strchr("._-/", c) == NULL)
            return false;
    }
    return true;
}

/* A URL as an error shows it: a password someone wrote into it anyway stays out of the
 * terminal and the CI log (the user name and password become three stars). */
static void
show_url(char *shown, size_t size, const char *s, size_t len)
{
    const char *scheme = strstr(s, "://");
    const char *authority = scheme != NULL ? scheme + 3 : NULL;
    const char *at = NULL;
    char redacted[RECIPE_SHOW_MAX];

    for (const char *c = authority; c != NULL && c < s + len && *c != '/'; c++)
        at = *c == '@' ? c : at;
    if (at == NULL) {
        recipe_show(shown, size, s, len);
        return;
    }
    snprintf(redacted, sizeof(redacted), "%.*s***%.*s", (int)(authority - s), s,
             (int)(s + len - at), at);
    recipe_show(shown, size, redacted, strlen(redacted));
}

/* "apt", or an http(s) URL of printable ASCII without credentials, query or fragment. */
static int
check_url(const struct ynode *node, struct temper_err *err)
{
    const char *what = "contents.repositories.url";
    char shown[RECIPE_SHOW_MAX];
    const char *s, *host;
    size_t authority;

    if (recipe_get_text(node, what, &s, err) < 0)
        return -1;
    show_url(shown, sizeof(shown), s, node->len);
    if (strcmp(s, "apt") == 0)
        return 0;
    if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else
        return recipe_fail(err, &node->loc,
                           "'%s' in '%s' is not an archive: write an http:// or https:// URL, or "
                           "apt for the archive this machine's apt sources name for the suite",
                           shown, what);
    if (node->len > REPOSITORY_URL_MAX_BYTES)
        return recipe_fail_code(err, TEMPER_E_LIMIT, &node->loc,
                                "URL '%s' in '%s' is longer than %d bytes", shown, what,
                                REPOSITORY_URL_MAX_BYTES);
    for (size_t i = 0; i < node->len; i++) {
        if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '?' || s[i] == '#')
            return recipe_fail(err, &node->loc,
                               "URL '%s' in '%s' holds a space, a control character, a query or "
                               "a fragment: write the archive's base URL alone",
                               shown, what);
    }
    authority = strcspn(host, "/");
    if (authority == 0 || memchr(host, '@', authority) != NULL)
        return recipe_fail(err, &node->loc,
                           "URL '%s' in '%s' has %s: write the archive's host (credentials do not "
                           "belong in a recipe)",
                           shown, what, authority == 0 ? "no host" : "credentials");
    return 0;
}

/* A list of tokens checked by `ok`, appended to `list`; a token already there is not added
 * again when `once`. */
static int
append_tokens(struct recipe_strlist *list, const struct ynode *node, const char *what,
              bool (*ok)(const char *, size_t), const char *hint, bool once, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];

    if (recipe_need_kind(node, YNODE_LIST, what, err) < 0)
        return -1;
    for (size_t i = 0; i < node->n; i++) {
        const struct ynode *item = node->items[i];
        const char *s;
        bool seen = false;

        if (recipe_get_text(item, what, &s, err) < 0)
            return -1;
        if (!ok(s, item->len))
            return recipe_fail(err, &item->loc, "'%s' in '%s' is not %s",
                               recipe_show(shown, sizeof(shown), s, item->len), what, hint);
        /* lists of a few hundred names: a scan is cheaper than a map */
        for (size_t j = 0; once && j < list->n && !seen; j++)
            seen = strcmp(list->items[j].value, s) == 0;
        if (!seen)
            recipe_strlist_append(list, item);
    }
    return 0;
}

static int
append_repository(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"url", "suite", "components"};
    const char *what = "contents.repositories";
    const struct ynode *v[NKEYS(keys)];
    struct recipe_repository *repo;
    char shown[RECIPE_SHOW_MAX];
    const char *suite;

    if (recipe_map_fields(node, what, keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] == NULL || v[1] == NULL)
        return recipe_fail(err, &node->loc, "an entry of '%s' has no '%s': add it", what,
                           v[0] == NULL ? "url" : "suite");
    if (check_url(v[0], err) < 0 ||
        recipe_get_text(v[1], "contents.repositories.suite", &suite, err) < 0)
        return -1;
    if (!is_archive_token(suite, v[1]->len))
        return recipe_fail(err, &v[1]->loc,
                           "suite '%s' is not a suite name: letters, digits, '.', '_', '-' and "
                           "'/' between parts (bookworm, bookworm-security)",
                           recipe_show(shown, sizeof(shown), suite, v[1]->len));
    r->repositories = recipe_grow(r->repositories, r->nrepositories, sizeof(*r->repositories));
    repo = &r->repositories[r->nrepositories++];
    *repo = (struct recipe_repository){0};
    recipe_str_set(&repo->url, v[0]);
    recipe_str_set(&repo->suite, v[1]);
    if (v[2] == NULL) {
        /* components: [main] by default, located where the suite was */
        char text[] = "main";
        struct ynode main = {.kind = YNODE_SCALAR, .loc = v[1]->loc, .text = text, .len = 4};

        recipe_strlist_append(&repo->components, &main);
        return 0;
    }
    if (append_tokens(&repo->components, v[2], "contents.repositories.components", is_archive_token,
                      "a component name (main, contrib)", true, err) < 0)
        return -1;
    if (repo->components.n == 0)
        return recipe_fail(err, &v[2]->loc,
                           "'contents.repositories.components' is empty: name at least one "
                           "(main), or leave it out for main");
    return 0;
}

int
recipe_apply_package_contents(struct recipe *r, const struct ynode *repositories,
                              const struct ynode *keyring, const struct ynode *packages,
                              const struct ynode *exclude, struct temper_err *err)
{
    if (repositories != NULL) {
        if (recipe_need_kind(repositories, YNODE_LIST, "contents.repositories", err) < 0)
            return -1;
        for (size_t i = 0; i < repositories->n; i++) {
            if (append_repository(r, repositories->items[i], err) < 0)
                return -1;
        }
    }
    if (keyring != NULL) {
        if (recipe_need_kind(keyring, YNODE_LIST, "contents.keyring", err) < 0)
            return -1;
        for (size_t i = 0; i < keyring->n; i++) {
            if (recipe_check_path(keyring->items[i], "contents.keyring", false, err) < 0)
                return -1;
            recipe_strlist_append(&r->keyring, keyring->items[i]);
        }
    }
    if (packages != NULL &&
        append_tokens(&r->packages, packages, "contents.packages", is_package_name,
                      "a Debian package name ([a-z0-9][a-z0-9+.-]+)", true, err) < 0)
        return -1;
    if (exclude != NULL &&
        append_tokens(&r->exclude, exclude, "contents.exclude", is_package_name,
                      "a Debian package name ([a-z0-9][a-z0-9+.-]+)", true, err) < 0)
        return -1;
    return 0;
}

static bool
is_architecture(const char *s, size_t len)
{
    (void)len;
    return recipe_is_architecture(s);
}

int
recipe_set_architectures(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    struct recipe_strlist list = {0};
    int rc;

    rc = append_tokens(&list, node, "architectures", is_architecture,
                       "an architecture (amd64, arm64, 386, arm, ppc64le, s390x, riscv64, ...)",
                       true, err);
    if (rc == 0 && list.n == 0)
        rc = recipe_fail(err, &node->loc,
                         "'architectures' is empty: name at least one, or "
                         "leave it out for the build machine's");
    if (rc < 0) {
        recipe_strlist_clear(&list);
        return -1;
    }
    recipe_strlist_clear(&r->architectures);
    r->architectures = list;
    return 0;
}

int
recipe_check_packages(const struct recipe *r, struct temper_err *err)
{
    if (r->packages.n > 0 && r->nrepositories == 0)
        return recipe_fail(err, &r->packages.items[0].loc,
                           "'contents.packages' needs 'contents.repositories' to take them from: "
                           "add one ({url: apt, suite: bookworm} for this machine's apt sources)");
    if (r->packages.n > 0 && r->keyring.n == 0)
        return recipe_fail(err, &r->packages.items[0].loc,
                           "'contents.packages' needs 'contents.keyring', the keys the archive "
                           "signs with: add [/usr/share/keyrings/debian-archive-keyring.gpg] "
                           "for Debian");
    if (r->packages.n == 0 && (r->nrepositories > 0 || r->keyring.n > 0 || r->exclude.n > 0))
        return recipe_fail(err,
                           r->nrepositories > 0 ? &r->repositories[0].url.loc
                           : r->keyring.n > 0   ? &r->keyring.items[0].loc
                                                : &r->exclude.items[0].loc,
                           "package sources without 'contents.packages': name the packages the "
                           "image is built from, or remove them");
    if (r->architecture.value != NULL && r->architectures.n > 0) {
        bool listed = false;

        for (size_t i = 0; i < r->architectures.n && !listed; i++)
            listed = strcmp(r->architectures.items[i].value, r->architecture.value) == 0;
        if (!listed)
            return recipe_fail(err, &r->architecture.loc,
                               "architecture '%s' is not in 'architectures': add it there, or "
                               "leave 'architecture' out",
                               r->architecture.value);
    }
    return 0;
}
