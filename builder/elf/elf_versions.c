/*
 * Symbol versions, checked as ld.so checks them before it runs anything
 * (glibc 2.36, elf/dl-version.c, _dl_check_all_versions): for every object
 * loaded, in load order, every version its DT_VERNEED asks of a file must be
 * defined by the object loaded under that name, unless that object has no
 * DT_VERDEF at all (then ld.so takes any version as found) or the need is
 * weak. The object is found by name as _dl_name_match_p finds it: the name it
 * was loaded by, a DT_NEEDED name that led to it, its DT_SONAME, its path.
 * A version matches by hash and name, as match_symbol compares them.
 *
 * `temper resolve` and the loader prove that files exist; this proves they
 * fit: a library from an older root under a program built against a newer
 * one fails here, in ld.so's words, instead of at the first start.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "elf-internal.h"

#define SHOWN_MAX 5 /* versions not found named in one error; the rest are counted */

/* The versions of the file at `path` in the root, read once per resolver. */
static const struct elf_versions *
versions_of(struct elf_cache *cache, const char *path, struct temper_err *err)
{
    struct elf_versions *v = strmap_get(&cache->versions, path);
    const struct fs_path *fp;
    cleanup_close int fd = -1;
    struct stat st;

    if (v != NULL)
        return v;
    if (fs_resolve(cache->root, path, &fp, err) < 0)
        return NULL;
    fd = fs_open(cache->root, fp, O_RDONLY, err);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0) {
        temper_err_sys(err, TEMPER_E_IO, errno, "cannot stat '%s'", path);
        return NULL;
    }
    v = xcalloc(1, sizeof(*v));
    if (elf_versions_read(fd, (size_t)st.st_size, path, v, err) < 0) {
        free(v);
        return NULL;
    }
    strmap_put(&cache->versions, path, v);
    return v;
}

/* Whether load j answers to `name`, as _dl_name_match_p asks. */
static bool
answers_to(const struct elf_closure *c, size_t j, const char *name)
{
    const struct elf_load *l = &c->loads[j];

    if (strcmp(l->path, name) == 0 || strcmp(l->name, name) == 0 ||
        (l->object->soname != NULL && strcmp(l->object->soname, name) == 0))
        return true;
    for (size_t i = 0; i < c->nloads; i++)
        for (size_t e = 0; e < c->loads[i].nedges; e++)
            if (c->loads[i].edges[e].target == (long)j &&
                strcmp(c->loads[i].edges[e].name, name) == 0)
                return true;
    return false;
}

static bool
defines(const struct elf_versions *v, const struct elf_version_need *need)
{
    for (size_t d = 0; d < v->ndefs; d++)
        if (v->defs[d].hash == need->hash && strcmp(v->defs[d].name, need->version) == 0)
            return true;
    return false;
}

const struct elf_versions *
elf_resolver_versions(struct elf_resolver *r, const char *path, struct temper_err *err)
{
    return versions_of(elf_resolver_cache(r), path, err);
}

void
elf_versions_free(void *v)
{
    elf_versions_release(v);
    free(v);
}

int
elf_closure_check_versions(struct elf_resolver *r, const struct elf_closure *c,
                           struct temper_err *err)
{
    struct elf_cache *cache = elf_resolver_cache(r);
    char shown[768] = "";
    size_t used = 0, missing = 0;
    int rc = 0;

    for (size_t i = 0; i < c->nloads && rc == 0; i++) {
        const struct elf_versions *v = versions_of(cache, c->loads[i].path, err);

        if (v == NULL) {
            rc = -1;
            break;
        }
        for (size_t n = 0; n < v->nneeds && rc == 0; n++) {
            const struct elf_version_need *need = &v->needs[n];
            const struct elf_versions *dv;
            size_t j = 0;
            int k;

            while (j < c->nloads && !answers_to(c, j, need->file))
                j++;
            if (j == c->nloads) {
                rc = temper_err_set(err, TEMPER_E_ELF, 0,
                                    "'%s' needs version '%s' of '%s', which it does not load",
                                    c->loads[i].path, need->version, need->file);
                break;
            }
            dv = versions_of(cache, c->loads[j].path, err);
            if (dv == NULL) {
                rc = -1;
                break;
            }
            if (need->weak || (dv->has_verdef && defines(dv, need)) || ++missing > SHOWN_MAX)
                continue;
            /* Without DT_VERDEF, ld.so lets the check pass with a warning, then aborts binding
             * the first versioned symbol (dl-lookup.c: check_match's assertion). */
            if (dv->has_verdef)
                k = snprintf(shown + used, sizeof(shown) - used,
                             "%s%s: version `%s' not found (required by %s)", used ? "; " : "",
                             c->loads[j].path, need->version, c->loads[i].path);
            else
                k = snprintf(shown + used, sizeof(shown) - used,
                             "%s%s: no version information available (required by %s)",
                             used ? "; " : "", c->loads[j].path, c->loads[i].path);
            if (k > 0 && (size_t)k < sizeof(shown) - used)
                used += (size_t)k;
        }
    }
    if (rc < 0)
        return -1;
    if (missing > 0)
        return temper_err_set(err, TEMPER_E_ELF, 0,
                              "%s%s: ld.so would refuse to start '%s' (%zu symbol version%s "
                              "missing%s); take its libraries from the root it was built for, "
                              "or rebuild it against this one",
                              shown, missing > SHOWN_MAX ? "; ..." : "", c->input, missing,
                              missing == 1 ? "" : "s",
                              missing > SHOWN_MAX ? ", the first shown" : "");
    return 0;
}
