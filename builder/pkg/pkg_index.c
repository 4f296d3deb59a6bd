/*
 * Packages indexes, read into a table of packages with lookups by name and
 * by what each provides. An index is large (bookworm main amd64: 63,000
 * stanzas, 45 MB) and a lock takes a few dozen of its packages, so only
 * what every package needs for the choice is copied out (name, version,
 * pool path, digest, Provides); Depends and Pre-Depends stay spans of the
 * text, parsed for the packages that are chosen.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

struct pkg_index *
pkg_index_new(void)
{
    struct pkg_index *idx = xcalloc(1, sizeof(*idx));

    strmap_init(&idx->by_name);
    strmap_init(&idx->by_provides);
    return idx;
}

static void
free_list(void *p)
{
    struct pkg_list *l = p;

    if (l != NULL)
        free(l->items);
    free(l);
}

static void
package_release(struct pkg_package *p)
{
    free(p->name);
    free(p->version);
    free(p->architecture);
    free(p->source);
    free(p->source_version);
    free(p->filename);
    pkg_deps_free(p->provides, p->nprovides);
}

void
pkg_index_free(struct pkg_index *idx)
{
    if (idx == NULL)
        return;
    for (size_t i = 0; i < idx->n; i++)
        package_release(&idx->packages[i]);
    free(idx->packages);
    for (size_t i = 0; i < idx->ntexts; i++)
        free(idx->texts[i]);
    free(idx->texts);
    strmap_release(&idx->by_name, free_list);
    strmap_release(&idx->by_provides, free_list);
    free(idx);
}

size_t
pkg_index_count(const struct pkg_index *idx)
{
    return idx->n;
}

const struct pkg_list *
pkg_index_named(const struct pkg_index *idx, const char *name)
{
    return strmap_get(&idx->by_name, name);
}

const struct pkg_list *
pkg_index_providers(const struct pkg_index *idx, const char *name)
{
    return strmap_get(&idx->by_provides, name);
}

static void
list_add(struct strmap *map, const char *name, size_t item)
{
    struct pkg_list *l = strmap_get(map, name);

    if (l == NULL) {
        l = xcalloc(1, sizeof(*l));
        strmap_put(map, name, l);
    }
    /* doubling at powers of two */
    if ((l->n & (l->n - 1)) == 0)
        l->items = xreallocarray(l->items, l->n == 0 ? 1 : 2 * l->n, sizeof(*l->items));
    l->items[l->n++] = item;
}

struct add_state {
    struct pkg_index *idx;
    unsigned repository;
    const char *what;
};

static char *
value_dup(const struct pkg_field *f)
{
    return f != NULL ? xstrndup(f->value, f->value_len) : NULL;
}

bool
pkg_is_hex64(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return i == 64;
}

bool
pkg_is_pool_path(const char *s)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789+-._~/%:";

    if (s[0] == '\0' || s[0] == '/' || strlen(s) > 1024 || strspn(s, allowed) != strlen(s))
        return false;
    for (const char *part = s; part != NULL;) {
        const char *slash = strchr(part, '/');
        size_t n = slash != NULL ? (size_t)(slash - part) : strlen(part);

        if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.'))
            return false;
        part = slash != NULL ? slash + 1 : NULL;
    }
    return true;
}

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* dpkg's rule (pkg_name_is_illegal): an alphanumeric, then alphanumerics and "+-."; capped,
 * as nothing in an archive comes near. */
bool
pkg_is_package_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool alnum = is_lower_alnum(s[i]) || (s[i] >= 'A' && s[i] <= 'Z');

        if (!alnum && (i == 0 || strchr("+.-", s[i]) == NULL))
            return false;
    }
    return true;
}

bool
pkg_is_arch_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 32 || !is_lower_alnum(s[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

/* Source: "name" or "name (version)". */
static int
read_source(struct pkg_package *p, const struct pkg_field *f, const char *what,
            struct temper_err *err)
{
    const char *v, *open, *close;
    size_t n;

    if (f == NULL) {
        p->source = xstrdup(p->name);
        p->source_version = xstrdup(p->version);
        return 0;
    }
    v = f->value;
    n = f->value_len;
    open = memchr(v, '(', n);
    if (open == NULL) {
        p->source = xstrndup(v, n);
        p->source_version = xstrdup(p->version);
        if (!pkg_is_package_name(p->source))
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "%s: package '%s': Source is not a package name", what, p->name);
    } else {
        size_t name_len = (size_t)(open - v);

        close = memchr(open, ')', n - (size_t)(open - v));
        while (name_len > 0 && v[name_len - 1] == ' ')
            name_len--;
        if (close == NULL || name_len == 0)
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "%s: package '%s': Source is not "
                                  "'NAME (VERSION)'",
                                  what, p->name);
        p->source = xstrndup(v, name_len);
        p->source_version = xstrndup(open + 1, (size_t)(close - open - 1));
        if (!pkg_is_package_name(p->source) || !pkg_version_is_valid(p->source_version))
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "%s: package '%s': Source is not 'NAME (VERSION)'", what,
                                  p->name);
    }
    return 0;
}

static int
check_provides(struct pkg_package *p, const char *what, struct temper_err *err)
{
    for (size_t i = 0; i < p->nprovides; i++) {
        const struct pkg_dep *d = &p->provides[i];

        if (d->n != 1 || (d->alts[0].rel != PKG_REL_ANY && d->alts[0].rel != PKG_REL_EQ))
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "%s: package '%s': Provides takes single names, each with an "
                                  "optional (= version)",
                                  what, p->name);
    }
    return 0;
}

static int
read_package(const struct pkg_stanza *st, struct add_state *s, struct pkg_package *p,
             struct temper_err *err)
{
    static const char *const required[] = {"Package",  "Version", "Architecture",
                                           "Filename", "Size",    "SHA256"};
    const struct pkg_field *f[6], *pre, *dep, *prov;
    cleanup_free char *size = NULL, *sha = NULL;
    char shown[96];
    char *end;

    for (size_t i = 0; i < 6; i++) {
        f[i] = pkg_stanza_field(st, required[i]);
        if (f[i] == NULL)
            return temper_err_set(err, TEMPER_E_PARSE, 0, "%s: the stanza at line %zu has no %s",
                                  s->what, st->line, required[i]);
    }
    p->name = value_dup(f[0]);
    p->version = value_dup(f[1]);
    p->architecture = value_dup(f[2]);
    p->filename = value_dup(f[3]);
    size = value_dup(f[4]);
    sha = value_dup(f[5]);
    p->repository = s->repository;
    temper_printable(p->name, shown, sizeof(shown));
    if (!pkg_is_package_name(p->name) || !pkg_is_arch_name(p->architecture))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "%s: the stanza at line %zu names no package and architecture as "
                              "Debian writes them ('%s')",
                              s->what, st->line, shown);
    if (!pkg_version_is_valid(p->version))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s: package '%s' has an invalid version",
                              s->what, shown);
    if (!pkg_is_pool_path(p->filename))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "%s: package '%s' has a Filename that is not a pool path", s->what,
                              shown);
    p->size = strtoull(size, &end, 10);
    if (size[0] < '0' || size[0] > '9' || *end != '\0' || p->size > (uint64_t)INT64_MAX ||
        !pkg_is_hex64(sha))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "%s: package '%s' has no Size and SHA256 that read as such", s->what,
                              shown);
    memcpy(p->sha256, sha, 65);
    if (read_source(p, pkg_stanza_field(st, "Source"), s->what, err) < 0)
        return -1;
    {
        const struct pkg_field *e = pkg_stanza_field(st, "Essential");

        p->essential = e != NULL && e->value_len == 3 && memcmp(e->value, "yes", 3) == 0;
    }
    pre = pkg_stanza_field(st, "Pre-Depends");
    dep = pkg_stanza_field(st, "Depends");
    if (pre != NULL) {
        p->pre_depends = pre->value;
        p->pre_depends_len = pre->value_len;
    }
    if (dep != NULL) {
        p->depends = dep->value;
        p->depends_len = dep->value_len;
    }
    prov = pkg_stanza_field(st, "Provides");
    if (prov != NULL && (pkg_deps_parse(prov->value, prov->value_len, "Provides", &p->provides,
                                        &p->nprovides, err) < 0 ||
                         check_provides(p, s->what, err) < 0))
        return temper_err_prefix(err, "%s: package '%s'", s->what, shown);
    return 0;
}

static int
on_package(const struct pkg_stanza *st, void *arg, struct temper_err *err)
{
    struct add_state *s = arg;
    struct pkg_index *idx = s->idx;
    struct pkg_package *p;

    if (idx->n == PKG_INDEX_PACKAGES_MAX)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "%s: over %d packages in all", s->what,
                              PKG_INDEX_PACKAGES_MAX);
    if (idx->n == idx->cap) {
        idx->cap = idx->cap ? 2 * idx->cap : 1024;
        idx->packages = xreallocarray(idx->packages, idx->cap, sizeof(*idx->packages));
    }
    p = &idx->packages[idx->n];
    *p = (struct pkg_package){0};
    if (read_package(st, s, p, err) < 0) {
        package_release(p);
        return -1;
    }
    list_add(&idx->by_name, p->name, idx->n);
    for (size_t i = 0; i < p->nprovides; i++)
        list_add(&idx->by_provides, p->provides[i].alts[0].name, idx->n);
    idx->n++;
    return 0;
}

int
pkg_index_add(struct pkg_index *idx, char *text, size_t len, unsigned repository, const char *what,
              struct temper_err *err)
{
    struct add_state s = {idx, repository, what};

    /* kept whatever happens: the packages added before a failure point into it */
    idx->texts = xreallocarray(idx->texts, idx->ntexts + 1, sizeof(*idx->texts));
    idx->texts[idx->ntexts++] = text;
    return pkg_control_parse(text, len, on_package, &s, err) != 0 ? -1 : 0;
}
