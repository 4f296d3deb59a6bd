/*
 * An image cut into layers by the files of its recipe (layering: includes):
 * see rootfs_plan_layers in rootfs_plan.h.
 *
 * Each part's plan is complete on its own (its closures, its /etc/passwd, its
 * ld.so.cache), and part k+1's plan holds part k's, since a recipe only adds
 * to what it includes. Layer k is then what part k plans differently from the
 * layers below: an entry the lower layers hold the same way (same type, mode,
 * owner, size, source, content or target) stays where it is, and a changed
 * one (the ld.so.cache of more libraries, /etc/passwd with more users) is
 * written again higher up, replacing the lower one as layers are applied. A
 * layer that would remove an entry needs a whiteout: a part cannot remove
 * what its includes planned, so this is an error, never a whiteout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/strmap.h"
#include "base/xalloc.h"
#include "rootfs_plan.h"

/* What the layers so far hold at a path: the entry and the layer that wrote it last. */
struct held {
    const struct rootfs_entry *entry;
    size_t layer;
};

static bool
same_text(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether two entries at one path write the same bytes into a layer. */
static bool
same_entry(const struct rootfs_entry *a, const struct rootfs_entry *b)
{
    if (a->type != b->type || a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
        a->size != b->size || !same_text(a->source, b->source) || !same_text(a->target, b->target))
        return false;
    if ((a->content == NULL) != (b->content == NULL))
        return false;
    return a->content == NULL || memcmp(a->content, b->content, a->size) == 0;
}

/* The index of `path` in a plan (sorted by path bytes), or SIZE_MAX. */
static size_t
find(const struct rootfs_plan *plan, const char *path)
{
    size_t lo = 0, hi = plan->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(plan->entries[mid].path, path);

        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* Marks the directories above `path` in plan, so that the layer extracts on its own. */
static void
take_parents(const struct rootfs_plan *plan, const char *path, bool *take)
{
    char buf[TEMPER_PATH_MAX];
    char *slash;

    snprintf(buf, sizeof(buf), "%s", path);
    while ((slash = strrchr(buf, '/')) != NULL) {
        size_t at;

        *slash = '\0';
        at = find(plan, buf);
        if (at == SIZE_MAX || take[at])
            return; /* the plan has every parent; one already taken has its own */
        take[at] = true;
    }
}

/* A path the layers below hold and part k's plan does not: the error that names it. */
static int
check_removed(struct rootfs_plan *const *plans, const char *const *files, size_t k,
              const struct held *held, size_t nheld, struct temper_err *err)
{
    for (size_t i = 0; i < nheld; i++) {
        if (find(plans[k], held[i].entry->path) == SIZE_MAX)
            return temper_err_set(
                err, TEMPER_E_POLICY, 0,
                "layering: '/%s' is in the layer of '%s' but not in what '%s' plans (a part "
                "takes out what it includes): a layer cannot remove it; take it out of '%s' "
                "too, or build one layer (layering: {strategy: single})",
                held[i].entry->path, files[held[i].layer], files[k], files[held[i].layer]);
    }
    return 0;
}

int
rootfs_plan_layers(struct rootfs_plan *const *plans, const char *const *files, size_t n,
                   struct rootfs_layer **out, size_t *nout, struct temper_err *err)
{
    const struct rootfs_plan *whole = plans[n - 1];
    struct rootfs_layer *layers = xcalloc(n, sizeof(*layers));
    struct strmap at = STRMAP_INIT; /* path -> 1 + its index in held */
    size_t nheld = 0, nlayers = 0, most = 1;
    struct held *held;
    int rc = 0;

    for (size_t k = 0; k < n; k++)
        most += plans[k]->n;
    held = xcalloc(most, sizeof(*held));
    for (size_t k = 0; k < n; k++) {
        const struct rootfs_plan *plan = plans[k];
        cleanup_free bool *take = xcalloc(plan->n + 1, sizeof(*take));
        struct rootfs_layer *l = &layers[nlayers];
        size_t taken = 0;

        if (nheld > 0 && (rc = check_removed(plans, files, k, held, nheld, err)) < 0)
            break;
        for (size_t i = 0; i < plan->n; i++) {
            const struct rootfs_entry *e = &plan->entries[i];
            uintptr_t h = (uintptr_t)strmap_get(&at, e->path);

            if (h != 0 && same_entry(held[h - 1].entry, e))
                continue;
            if (h == 0) {
                h = ++nheld;
                strmap_put(&at, e->path, (void *)h);
            }
            held[h - 1] = (struct held){e, nlayers};
            take[i] = true;
            take_parents(plan, e->path, take);
        }
        for (size_t i = 0; i < plan->n; i++)
            taken += take[i];
        if (taken == 0)
            continue;
        l->part = k;
        l->view.entries = xcalloc(taken, sizeof(*l->view.entries));
        for (size_t i = 0; i < plan->n; i++) {
            if (take[i])
                l->view.entries[l->view.n++] = plan->entries[i];
        }
        nlayers++;
    }
    /* Which entry of each layer the image keeps: the one no higher layer replaced. */
    for (size_t k = 0; k < nlayers && rc == 0; k++) {
        struct rootfs_layer *l = &layers[k];

        l->final_index = xcalloc(l->view.n + 1, sizeof(*l->final_index));
        for (size_t i = 0; i < l->view.n; i++) {
            const struct held *h = &held[(uintptr_t)strmap_get(&at, l->view.entries[i].path) - 1];

            l->final_index[i] = h->layer == k ? find(whole, l->view.entries[i].path) : SIZE_MAX;
        }
    }
    strmap_release(&at, NULL);
    free(held);
    if (rc < 0) {
        rootfs_layers_free(layers, n);
        return -1;
    }
    *out = layers;
    *nout = nlayers;
    return 0;
}

void
rootfs_layers_free(struct rootfs_layer *layers, size_t n)
{
    for (size_t i = 0; layers != NULL && i < n; i++) {
        free(layers[i].view.entries);
        free(layers[i].final_index);
    }
    free(layers);
}
