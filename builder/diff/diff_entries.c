/*
 * The entries of two layers, compared by path. Entries are paired by path
 * (the k-th entry of a path in A with the k-th of it in B, since a tar may
 * hold a path twice), in the byte order of the paths; a path only in A is
 * removed, only in B added. For each pair, every way it differs is one
 * difference.
 *
 * Entry order: one added entry shifts the position of every later one, and
 * reporting each shift would drown what changed. An entry is reported as
 * moved only when its order relative to the others changed: the pairs that
 * keep their relative order are a longest increasing subsequence of B's
 * positions taken in A's order; the others moved.
 *
 * Another epoch moves every mtime from one time to another: when every pair whose mtime differs
 * moved from the same time to the same other time, and there are at least two, that is one
 * difference with the count ("layer 1: mtime of 1362 entries: 0 -> 946684800"), not one per
 * entry, so that what else changed is not lost among them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "base/xalloc.h"
#include "diff-internal.h"

struct event {
    const struct image_entry *a, *b; /* either may be NULL, not both */
    bool moved;
};

static int
by_path(const void *x, const void *y)
{
    const struct image_entry *a = *(const struct image_entry *const *)x;
    const struct image_entry *b = *(const struct image_entry *const *)y;
    int c = strcmp(a->path, b->path);

    if (c != 0)
        return c;
    return a->position < b->position ? -1 : a->position > b->position;
}

static const struct image_entry **
sorted(const struct image_layer_entries *l)
{
    const struct image_entry **v = xcalloc(l->n + 1, sizeof(*v));

    for (size_t i = 0; i < l->n; i++)
        v[i] = &l->entries[i];
    qsort(v, l->n, sizeof(*v), by_path);
    return v;
}

/* Merges both sides in path order; *n gets the number of events. */
static struct event *
pair_up(const struct image_layer_entries *la, const struct image_layer_entries *lb, size_t *n)
{
    cleanup_free const struct image_entry **a = sorted(la);
    cleanup_free const struct image_entry **b = sorted(lb);
    struct event *ev = xcalloc(la->n + lb->n + 1, sizeof(*ev));
    size_t i = 0, j = 0, k = 0;

    while (i < la->n || j < lb->n) {
        int c = i == la->n ? 1 : j == lb->n ? -1 : strcmp(a[i]->path, b[j]->path);

        if (c < 0)
            ev[k++] = (struct event){a[i++], NULL, false};
        else if (c > 0)
            ev[k++] = (struct event){NULL, b[j++], false};
        else
            ev[k++] = (struct event){a[i++], b[j++], false};
    }
    *n = k;
    return ev;
}

static int
by_a_position(const void *x, const void *y)
{
    const struct event *a = *(const struct event *const *)x;
    const struct event *b = *(const struct event *const *)y;

    return a->a->position < b->a->position ? -1 : a->a->position > b->a->position;
}

/* Marks the pairs outside one longest increasing subsequence of B positions as moved. */
static void
mark_moved(struct event *ev, size_t n)
{
    cleanup_free struct event **pairs = xcalloc(n + 1, sizeof(*pairs));
    cleanup_free size_t *tail = NULL, *prev = NULL;
    cleanup_free bool *keep = NULL;
    size_t m = 0, len = 0;

    for (size_t i = 0; i < n; i++)
        if (ev[i].a != NULL && ev[i].b != NULL)
            pairs[m++] = &ev[i];
    if (m < 2)
        return;
    qsort(pairs, m, sizeof(*pairs), by_a_position);
    tail = xcalloc(m, sizeof(*tail)); /* tail[l]: index ending an increasing run of length l+1 */
    prev = xcalloc(m, sizeof(*prev));
    keep = xcalloc(m, sizeof(*keep));
    for (size_t i = 0; i < m; i++) {
        size_t lo = 0, hi = len, pos = pairs[i]->b->position;

        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (pairs[tail[mid]]->b->position < pos)
                lo = mid + 1;
            else
                hi = mid;
        }
        prev[i] = lo > 0 ? tail[lo - 1] : SIZE_MAX;
        tail[lo] = i;
        if (lo == len)
            len++;
    }
    for (size_t i = tail[len - 1];; i = prev[i]) {
        keep[i] = true;
        if (prev[i] == SIZE_MAX)
            break;
    }
    for (size_t i = 0; i < m; i++)
        pairs[i]->moved = !keep[i];
}

static char *
mode_text(unsigned mode)
{
    return xasprintf("%04o", mode);
}

static char *
owner_text(const struct image_entry *e)
{
    return xasprintf("%" PRId64 ":%" PRId64, e->uid, e->gid);
}

static void
emit_strings(struct diff_out *o, const char *where, const char *path, const char *field, char *a,
             char *b)
{
    diff_emit(o, where, path, field, a, b, diff_must(json_string(a)), diff_must(json_string(b)));
    free(a);
    free(b);
}

static json_t *
mtime_json(const struct image_entry *e, const char *text)
{
    return e->mtime_nsec == 0 ? json_integer(e->mtime) : diff_must(json_string(text));
}

static char *
mtime_text(const struct image_entry *e)
{
    if (e->mtime_nsec == 0)
        return xasprintf("%" PRId64, e->mtime);
    return xasprintf("%" PRId64 ".%09ld", e->mtime, e->mtime_nsec);
}

static char *
quoted_or_null(const char *s)
{
    return s ? diff_quote(s, strlen(s)) : NULL;
}

static json_t *
bytes_or_null(const char *s)
{
    return s ? image_json_bytes(s, strlen(s)) : NULL;
}

static void
compare_content(struct diff_out *o, const char *where, const struct image_entry *a,
                const struct image_entry *b)
{
    cleanup_free char *ta = NULL, *tb = NULL;
    json_t *ja, *jb;

    if (a->sha256[0] == '\0' || b->sha256[0] == '\0' ||
        (a->size == b->size && strcmp(a->sha256, b->sha256) == 0))
        return;
    ta = xasprintf("%" PRIu64 " bytes %s", a->size, a->sha256);
    tb = xasprintf("%" PRIu64 " bytes %s", b->size, b->sha256);
    ja = diff_must(json_pack("{sIss}", "size", (json_int_t)a->size, "sha256", a->sha256));
    jb = diff_must(json_pack("{sIss}", "size", (json_int_t)b->size, "sha256", b->sha256));
    diff_emit(o, where, a->path, "content", ta, tb, ja, jb);
}

static void
compare_link(struct diff_out *o, const char *where, const struct image_entry *a,
             const struct image_entry *b)
{
    cleanup_free char *ta = NULL, *tb = NULL;

    if (a->link == b->link || (a->link && b->link && strcmp(a->link, b->link) == 0))
        return;
    ta = quoted_or_null(a->link);
    tb = quoted_or_null(b->link);
    diff_emit(o, where, a->path, "link target", ta, tb, bytes_or_null(a->link),
              bytes_or_null(b->link));
}

static void
compare_device(struct diff_out *o, const char *where, const struct image_entry *a,
               const struct image_entry *b)
{
    if (a->devmajor == b->devmajor && a->devminor == b->devminor)
        return;
    emit_strings(o, where, a->path, "device",
                 xasprintf("%" PRIu64 ",%" PRIu64, a->devmajor, a->devminor),
                 xasprintf("%" PRIu64 ",%" PRIu64, b->devmajor, b->devminor));
}

static void
emit_pax(struct diff_out *o, const char *where, const char *path, const char *key,
         const struct image_pax *a, const struct image_pax *b)
{
    cleanup_free char *field = NULL, *ta = NULL, *tb = NULL;
    char *shown = escape_dup(key, strlen(key), 0);

    field = xasprintf("pax %s", shown);
    free(shown);
    ta = a ? diff_quote(a->value, a->len) : NULL;
    tb = b ? diff_quote(b->value, b->len) : NULL;
    diff_emit(o, where, path, field, ta, tb, a ? diff_json_value(a->value, a->len) : NULL,
              b ? diff_json_value(b->value, b->len) : NULL);
}

static bool
pax_equal(const struct image_pax *a, const struct image_pax *b)
{
    return a->len == b->len && memcmp(a->value, b->value, a->len) == 0;
}

/* Both lists are sorted by key: merge them. */
static void
compare_pax(struct diff_out *o, const char *where, const struct image_entry *a,
            const struct image_entry *b)
{
    size_t i = 0, j = 0;

    while (i < a->npax || j < b->npax) {
        int c = i == a->npax ? 1 : j == b->npax ? -1 : strcmp(a->pax[i].key, b->pax[j].key);

        if (c < 0) {
            emit_pax(o, where, a->path, a->pax[i].key, &a->pax[i], NULL);
            i++;
        } else if (c > 0) {
            emit_pax(o, where, a->path, b->pax[j].key, NULL, &b->pax[j]);
            j++;
        } else {
            if (!pax_equal(&a->pax[i], &b->pax[j]))
                emit_pax(o, where, a->path, a->pax[i].key, &a->pax[i], &b->pax[j]);
            i++, j++;
        }
    }
}

static bool
same_mtime(const struct image_entry *a, const struct image_entry *b)
{
    return a->mtime == b->mtime && a->mtime_nsec == b->mtime_nsec;
}

/* The pair whose mtime change every other one repeats (*count of them), or NULL: none, one, or
 * changes that differ. */
static const struct event *
uniform_mtime(const struct event *ev, size_t n, size_t *count)
{
    const struct event *first = NULL;

    *count = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].a == NULL || ev[i].b == NULL || same_mtime(ev[i].a, ev[i].b))
            continue;
        if (first == NULL)
            first = &ev[i];
        else if (!same_mtime(first->a, ev[i].a) || !same_mtime(first->b, ev[i].b))
            return NULL;
        ++*count;
    }
    return *count >= 2 ? first : NULL;
}

static void
emit_uniform_mtime(struct diff_out *o, const char *where, const struct event *ev, size_t count)
{
    cleanup_free char *ta = mtime_text(ev->a), *tb = mtime_text(ev->b);
    json_t *doc = diff_must(json_pack("{sssssIsoso}", "where", where, "field", "mtime", "entries",
                                      (json_int_t)count, "a", mtime_json(ev->a, ta), "b",
                                      mtime_json(ev->b, tb)));

    json_object_set_new(doc, "path", json_null());
    diff_emit_line(o, xasprintf("%s: mtime of %zu entries: %s -> %s", where, count, ta, tb), doc);
}

static void
compare_pair(struct diff_out *o, const char *where, const struct event *ev, bool said_mtime)
{
    const struct image_entry *a = ev->a, *b = ev->b;

    compare_content(o, where, a, b);
    if (a->mode != b->mode)
        emit_strings(o, where, a->path, "mode", mode_text(a->mode), mode_text(b->mode));
    if (a->uid != b->uid || a->gid != b->gid)
        emit_strings(o, where, a->path, "owner", owner_text(a), owner_text(b));
    if (!said_mtime && !same_mtime(a, b)) {
        cleanup_free char *ta = mtime_text(a), *tb = mtime_text(b);

        diff_emit(o, where, a->path, "mtime", ta, tb, mtime_json(a, ta), mtime_json(b, tb));
    }
    compare_link(o, where, a, b);
    if (a->type != b->type)
        emit_strings(o, where, a->path, "type", xstrdup(image_entry_type_name(a->type)),
                     xstrdup(image_entry_type_name(b->type)));
    compare_device(o, where, a, b);
    if (ev->moved) {
        cleanup_free char *ta = xasprintf("%zu", a->position), *tb = xasprintf("%zu", b->position);

        diff_emit(o, where, a->path, "position", ta, tb, json_integer((json_int_t)a->position),
                  json_integer((json_int_t)b->position));
    }
    compare_pax(o, where, a, b);
}

/* "file 0644 0:0 5 bytes", "symlink 0777 0:0 -> \"x\"", "directory 0755 0:0". */
static void
emit_lone(struct diff_out *o, const char *where, const struct image_entry *e, bool added)
{
    cleanup_free char *what = NULL, *link = quoted_or_null(e->link);
    size_t len = strlen(e->path);
    char *shown = escape_dup(e->path, len, 0);
    char mode[16];
    json_t *j, *doc;

    snprintf(mode, sizeof(mode), "%04o", e->mode);
    j = diff_must(json_pack("{sssssIsIsI}", "type", image_entry_type_name(e->type), "mode", mode,
                            "uid", (json_int_t)e->uid, "gid", (json_int_t)e->gid, "size",
                            (json_int_t)e->size));
    what = xasprintf("%s %s %" PRId64 ":%" PRId64, image_entry_type_name(e->type), mode, e->uid,
                     e->gid);
    if (e->link != NULL)
        json_object_set_new(j, "link", image_json_bytes(e->link, strlen(e->link)));
    doc = diff_must(json_pack("{ssssso}", "where", where, "field", added ? "added" : "removed",
                              added ? "b" : "a", j));
    json_object_set_new(doc, added ? "a" : "b", json_null());
    json_object_set_new(doc, "path", image_json_bytes(e->path, len));
    if (image_entry_is_whiteout(e)) {
        bool opaque;
        cleanup_free char *target = image_whiteout_target(e->path, &opaque);
        cleanup_free char *target_shown = escape_dup(target, strlen(target), 0);

        json_object_set_new(doc, "whiteout", image_json_bytes(target, strlen(target)));
        diff_emit_line(o,
                       xasprintf("%s: %s: %s: %swhiteout of %s", where, shown,
                                 added ? "added" : "removed", opaque ? "opaque " : "",
                                 target_shown),
                       doc);
    } else if (e->link != NULL)
        diff_emit_line(o,
                       xasprintf("%s: %s: %s: %s -> %s", where, shown, added ? "added" : "removed",
                                 what, link),
                       doc);
    else if (e->type == IMAGE_ENTRY_FILE || e->size > 0)
        diff_emit_line(o,
                       xasprintf("%s: %s: %s: %s %" PRIu64 " bytes", where, shown,
                                 added ? "added" : "removed", what, e->size),
                       doc);
    else
        diff_emit_line(
            o, xasprintf("%s: %s: %s: %s", where, shown, added ? "added" : "removed", what), doc);
    free(shown);
}

void
diff_entries(struct diff_out *o, const char *where, const struct image_layer_entries *a,
             const struct image_layer_entries *b)
{
    size_t n, count;
    cleanup_free struct event *ev = pair_up(a, b, &n);
    const struct event *uniform = uniform_mtime(ev, n, &count);

    mark_moved(ev, n);
    if (uniform != NULL)
        emit_uniform_mtime(o, where, uniform, count);
    for (size_t i = 0; i < n; i++) {
        if (ev[i].a == NULL)
            emit_lone(o, where, ev[i].b, true);
        else if (ev[i].b == NULL)
            emit_lone(o, where, ev[i].a, false);
        else
            compare_pair(o, where, &ev[i], uniform != NULL);
    }
}
