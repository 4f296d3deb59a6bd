/*
 * Choosing packages: the closure of the ones asked for under Pre-Depends
 * and Depends (pkg.h says the rules). It is greedy, as rules_distroless's
 * resolver is and as apt is for a consistent archive: each dependency is
 * settled once, in the order the packages are reached (breadth first), by
 * the first alternative that holds; there is no backtracking. What it
 * cannot settle is an error that names the chain of packages that led
 * there, so that `exclude` or another alternative can be chosen by a
 * person, never silently by temper.
 */
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

struct chosen {
    const struct pkg_package *pkg;
    size_t parent; /* index in the chosen array of what pulled it in; SIZE_MAX: asked for */
};

struct resolver {
    const struct pkg_index *idx;
    const struct pkg_request *req;
    struct chosen *chosen;
    size_t n;
    struct strmap by_name;     /* name -> the chosen package of that name (pointer into idx) */
    struct strmap by_provides; /* name -> a chosen package providing it (the first) */
    struct strmap excluded;    /* name -> non-NULL */
    struct strmap keep;        /* name -> version to keep */
};

static bool
provides_satisfying(const struct pkg_package *p, const struct pkg_dep_alt *alt)
{
    for (size_t i = 0; i < p->nprovides; i++) {
        const struct pkg_dep_alt *pr = &p->provides[i].alts[0];

        if (strcmp(pr->name, alt->name) != 0)
            continue;
        /* a versioned dependency is met only by a versioned Provides (deb-control(5)) */
        if (alt->rel == PKG_REL_ANY)
            return true;
        if (pr->version != NULL && pkg_version_satisfies(pr->version, alt->rel, alt->version))
            return true;
    }
    return false;
}

/* Whether a package chosen already meets `alt`. */
static bool
is_met(const struct resolver *r, const struct pkg_dep_alt *alt)
{
    const struct pkg_package *p = strmap_get(&r->by_name, alt->name);
    const struct pkg_list *providers;

    if (p != NULL && pkg_version_satisfies(p->version, alt->rel, alt->version))
        return true;
    if (strmap_get(&r->by_provides, alt->name) == NULL)
        return false;
    /* some chosen package provides the name; one of them may satisfy the version */
    providers = pkg_index_providers(r->idx, alt->name);
    for (size_t i = 0; providers != NULL && i < providers->n; i++) {
        const struct pkg_package *q = &r->idx->packages[providers->items[i]];

        if (strmap_get(&r->by_name, q->name) == q && provides_satisfying(q, alt))
            return true;
    }
    return false;
}

/*
 * The package of that name to take for `alt`: the version to keep when it satisfies, else the
 * highest that does (the first index wins a tie); NULL when none does.
 */
static const struct pkg_package *
best_named(const struct resolver *r, const struct pkg_dep_alt *alt)
{
    const struct pkg_list *l = pkg_index_named(r->idx, alt->name);
    const char *keep = strmap_get(&r->keep, alt->name);
    const struct pkg_package *best = NULL;

    for (size_t i = 0; l != NULL && i < l->n; i++) {
        const struct pkg_package *p = &r->idx->packages[l->items[i]];

        if (!pkg_version_satisfies(p->version, alt->rel, alt->version))
            continue;
        if (keep != NULL && strcmp(p->version, keep) == 0)
            return p;
        if (best == NULL || pkg_version_compare(p->version, best->version) > 0)
            best = p;
    }
    return best;
}

/* A provider of `alt`, the first by name (then the highest version), never an excluded one. */
static const struct pkg_package *
best_provider(const struct resolver *r, const struct pkg_dep_alt *alt)
{
    const struct pkg_list *l = pkg_index_providers(r->idx, alt->name);
    const struct pkg_package *best = NULL;

    for (size_t i = 0; l != NULL && i < l->n; i++) {
        const struct pkg_package *p = &r->idx->packages[l->items[i]];
        int by_name;

        if (strmap_get(&r->excluded, p->name) != NULL || !provides_satisfying(p, alt))
            continue;
        by_name = best == NULL ? -1 : strcmp(p->name, best->name);
        if (by_name < 0 || (by_name == 0 && pkg_version_compare(p->version, best->version) > 0))
            best = p;
    }
    return best;
}

/* "a (1.0) <- b (2.0) <- asked for", from chosen entry `at`, into out. */
static void
chain(const struct resolver *r, size_t at, char *out, size_t cap)
{
    size_t used = 0, depth = 0;

    out[0] = '\0';
    while (at != SIZE_MAX && depth++ < 8 && used < cap) {
        const struct pkg_package *p = r->chosen[at].pkg;
        int k =
            snprintf(out + used, cap - used, "%s%s (%s)", used ? " <- " : "", p->name, p->version);

        if (k < 0)
            break;
        used += (size_t)k;
        at = r->chosen[at].parent;
    }
    if (used < cap)
        snprintf(out + used, cap - used, at == SIZE_MAX ? " <- asked for" : " <- ...");
}

static int
choose(struct resolver *r, const struct pkg_package *p, size_t parent, struct temper_err *err)
{
    const struct pkg_package *had = strmap_get(&r->by_name, p->name);

    if (had == p)
        return 0;
    if (had != NULL)
        return temper_err_set(err, TEMPER_E_POLICY, 0,
                              "'%s' is wanted at %s and at %s at once: exclude one of the "
                              "packages that want it, or lock an archive where they agree",
                              p->name, had->version, p->version);
    if (r->n == PKG_CHOSEN_MAX)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "over %d packages chosen", PKG_CHOSEN_MAX);
    r->chosen = xreallocarray(r->chosen, r->n + 1, sizeof(*r->chosen));
    r->chosen[r->n++] = (struct chosen){p, parent};
    strmap_put(&r->by_name, p->name, (void *)p);
    for (size_t i = 0; i < p->nprovides; i++) {
        if (strmap_get(&r->by_provides, p->provides[i].alts[0].name) == NULL)
            strmap_put(&r->by_provides, p->provides[i].alts[0].name, (void *)p);
    }
    return 0;
}

static void
alt_text(const struct pkg_dep *d, char *out, size_t cap)
{
    static const char *const ops[] = {"", "<<", "<=", "=", ">=", ">>"};
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < d->n && used < cap; i++) {
        const struct pkg_dep_alt *a = &d->alts[i];
        int k = a->rel == PKG_REL_ANY
                    ? snprintf(out + used, cap - used, "%s%s", i ? " | " : "", a->name)
                    : snprintf(out + used, cap - used, "%s%s (%s %s)", i ? " | " : "", a->name,
                               ops[a->rel], a->version);

        if (k < 0)
            break;
        used += (size_t)k;
    }
}

/* Settles one dependency of chosen entry `at`. */
static int
settle(struct resolver *r, size_t at, const struct pkg_dep *d, struct temper_err *err)
{
    char wanted[512], path[768];
    bool all_excluded = true;

    for (size_t i = 0; i < d->n; i++) {
        if (strmap_get(&r->excluded, d->alts[i].name) == NULL && is_met(r, &d->alts[i]))
            return 0;
    }
    for (size_t i = 0; i < d->n; i++) {
        const struct pkg_dep_alt *alt = &d->alts[i];
        const struct pkg_package *p;

        if (strmap_get(&r->excluded, alt->name) != NULL)
            continue;
        all_excluded = false;
        p = best_named(r, alt);
        if (p == NULL)
            p = best_provider(r, alt);
        if (p != NULL)
            return choose(r, p, at, err);
    }
    if (all_excluded)
        return 0;
    alt_text(d, wanted, sizeof(wanted));
    chain(r, at, path, sizeof(path));
    return temper_err_set(err, TEMPER_E_MISSING, 0,
                          "no repository offers '%s', which %s depends on: add the suite that "
                          "has it, or cut it with contents.exclude",
                          wanted, path);
}

static int
settle_field(struct resolver *r, size_t at, const char *text, size_t len, const char *what,
             struct temper_err *err)
{
    struct pkg_dep *deps = NULL;
    size_t n = 0;
    int rc;

    if (text == NULL)
        return 0;
    if (pkg_deps_parse(text, len, what, &deps, &n, err) < 0)
        return temper_err_prefix(err, "package '%s' (%s)", r->chosen[at].pkg->name,
                                 r->chosen[at].pkg->version);
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = settle(r, at, &deps[i], err);
    pkg_deps_free(deps, n);
    return rc;
}

static int
ask(struct resolver *r, const char *name, struct temper_err *err)
{
    struct pkg_dep_alt alt = {(char *)name, PKG_REL_ANY, NULL};
    const struct pkg_package *p;

    if (strmap_get(&r->excluded, name) != NULL)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "'%s' is both in contents.packages and in contents.exclude: "
                              "remove it from one",
                              name);
    p = best_named(r, &alt);
    if (p == NULL)
        p = best_provider(r, &alt);
    if (p == NULL)
        return temper_err_set(err, TEMPER_E_MISSING, 0,
                              "no repository offers package '%s': check its name, or add the "
                              "suite or component that has it",
                              name);
    return choose(r, p, SIZE_MAX, err);
}

static int
by_name(const void *a, const void *b)
{
    const struct pkg_package *pa = *(const struct pkg_package *const *)a;
    const struct pkg_package *pb = *(const struct pkg_package *const *)b;

    return strcmp(pa->name, pb->name);
}

static void
resolver_release(struct resolver *r)
{
    free(r->chosen);
    strmap_release(&r->by_name, NULL);
    strmap_release(&r->by_provides, NULL);
    strmap_release(&r->excluded, NULL);
    strmap_release(&r->keep, NULL);
}

int
pkg_resolve(const struct pkg_index *idx, const struct pkg_request *req,
            const struct pkg_package ***out, size_t *n, struct temper_err *err)
{
    struct resolver r = {.idx = idx, .req = req};
    const struct pkg_package **list;
    int rc = 0;

    strmap_init(&r.by_name);
    strmap_init(&r.by_provides);
    strmap_init(&r.excluded);
    strmap_init(&r.keep);
    for (size_t i = 0; i < req->nexclude; i++)
        strmap_put(&r.excluded, req->exclude[i], (void *)req->exclude[i]);
    for (size_t i = 0; i < req->nkeep; i++)
        strmap_put(&r.keep, req->keep_names[i], (void *)req->keep_versions[i]);
    for (size_t i = 0; i < req->npackages && rc == 0; i++)
        rc = ask(&r, req->packages[i], err);
    /* breadth first: r.n grows as dependencies are chosen */
    for (size_t at = 0; at < r.n && rc == 0; at++) {
        const struct pkg_package *p = r.chosen[at].pkg;

        rc = settle_field(&r, at, p->pre_depends, p->pre_depends_len, "Pre-Depends", err);
        if (rc == 0)
            rc = settle_field(&r, at, p->depends, p->depends_len, "Depends", err);
    }
    if (rc < 0) {
        resolver_release(&r);
        return -1;
    }
    list = xcalloc(r.n + 1, sizeof(*list));
    for (size_t i = 0; i < r.n; i++)
        list[i] = r.chosen[i].pkg;
    qsort(list, r.n, sizeof(*list), by_name);
    *out = list;
    *n = r.n;
    resolver_release(&r);
    return 0;
}
