/*
 * Each difference twice: a text line a terminal may show (every string
 * from an image escaped with base/escape.h, values quoted, so a name cannot
 * forge a line or pass for another) and a JSON object (strings as they are
 * when they are UTF-8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "diff-internal.h"

json_t *
diff_must(json_t *j)
{
    if (j == NULL)
        abort(); /* jansson fails only when out of memory here */
    return j;
}

const char *
image_quote(const char *s, size_t len, char *out, size_t size)
{
    size_t n;

    out[0] = '"';
    escape_str(s, len, ESCAPE_QUOTE, out + 1, size - 2);
    n = strlen(out);
    out[n] = '"';
    out[n + 1] = '\0';
    return out;
}

/* "(N bytes, sha256:...)": what stands for the part of a long value that is not shown. */
static char *
value_summary(const char *s, size_t len)
{
    char digest[SHA256_DIGEST_STR_LEN];

    sha256_digest(s, len, digest);
    return xasprintf("(%zu bytes, %s)", len, digest);
}

char *
diff_quote(const char *s, size_t len)
{
    size_t shown = len > DIFF_VALUE_SHOWN_BYTES ? DIFF_VALUE_SHOWN_BYTES : len;
    size_t size = 4 * shown + 3;
    cleanup_free char *out = xmalloc(size), *summary = NULL;

    image_quote(s, shown, out, size);
    if (shown == len)
        return steal_pointer(&out);
    summary = value_summary(s, len);
    return xasprintf("%s... %s", out, summary);
}

json_t *
diff_json_value(const char *s, size_t len)
{
    char digest[SHA256_DIGEST_STR_LEN];

    if (len <= DIFF_VALUE_SHOWN_BYTES)
        return image_json_bytes(s, len);
    sha256_digest(s, len, digest);
    return diff_must(json_pack("{sosIss}", "head", image_json_bytes(s, DIFF_VALUE_SHOWN_BYTES),
                               "size", (json_int_t)len, "sha256", digest));
}

json_t *
image_json_bytes(const char *s, size_t len)
{
    json_t *j = memchr(s, '\0', len) == NULL ? json_stringn(s, len) : NULL;
    cleanup_free char *q = NULL;

    if (j != NULL)
        return j;
    q = diff_quote(s, len);
    q[strlen(q) - 1] = '\0';
    return diff_must(json_string(q + 1));
}

char *
diff_json_text(const json_t *value)
{
    cleanup_free char *text =
        json_dumps(value, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    cleanup_free char *summary = NULL;
    size_t len, shown;
    char *out;

    if (text == NULL)
        abort();
    len = strlen(text);
    shown = len > DIFF_VALUE_SHOWN_BYTES ? DIFF_VALUE_SHOWN_BYTES : len;
    out = xmalloc(shown + 8);
    memcpy(out, text, shown); /* ASCII: no character is cut */
    out[shown] = '\0';
    if (shown == len)
        return out;
    summary = value_summary(text, len);
    free(steal_pointer(&text));
    text = out; /* freed on return */
    return xasprintf("%s... %s", out, summary);
}

json_t *
diff_json_copy(const json_t *value)
{
    cleanup_free char *text = NULL;
    size_t len;

    if (value == NULL)
        return NULL;
    text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (text == NULL)
        abort();
    len = strlen(text);
    if (len <= DIFF_VALUE_SHOWN_BYTES)
        return diff_must(json_deep_copy(value));
    return diff_json_value(text, len);
}

/*
 * Keeps a difference while there is room: at most DIFF_MAX_ITEMS of them, and
 * DIFF_MAX_ITEM_BYTES of their lines and JSON text together. Once one does not
 * fit, no later one is kept, so that what is listed is a prefix of the report.
 */
static void
push(struct diff_out *o, char *line, json_t *json)
{
    struct image_diff *d = o->diff;
    size_t bytes = strlen(line) + json_dumpb(json, NULL, 0, JSON_COMPACT | JSON_ENSURE_ASCII) +
                   sizeof(struct image_diff_item) + 256; /* jansson's own nodes */

    d->count++;
    if (o->full || d->nitems == DIFF_MAX_ITEMS || bytes > DIFF_MAX_ITEM_BYTES - o->bytes) {
        o->full = true;
        free(line);
        json_decref(json);
        return;
    }
    o->bytes += bytes;
    if (d->nitems == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 64;
        d->items = xreallocarray(d->items, o->cap, sizeof(*d->items));
    }
    d->items[d->nitems++] = (struct image_diff_item){line, json};
}

void
diff_emit_line(struct diff_out *o, char *line, json_t *json)
{
    push(o, line, json);
}

void
diff_emit(struct diff_out *o, const char *where, const char *path, const char *field,
          const char *a_text, const char *b_text, json_t *a, json_t *b)
{
    cleanup_free char *shown = NULL;
    json_t *json = diff_must(json_object());
    char *line;

    json_object_set_new(json, "where", diff_must(json_string(where)));
    json_object_set_new(json, "field", diff_must(json_string(field)));
    json_object_set_new(json, "a", a ? a : json_null());
    json_object_set_new(json, "b", b ? b : json_null());
    if (path != NULL) {
        size_t len = strlen(path);

        shown = escape_dup(path, len, 0);
        json_object_set_new(json, "path", image_json_bytes(path, len));
        line = xasprintf("%s: %s: %s: %s -> %s", where, shown, field, a_text ? a_text : "absent",
                         b_text ? b_text : "absent");
    } else {
        line = xasprintf("%s: %s: %s -> %s", where, field, a_text ? a_text : "absent",
                         b_text ? b_text : "absent");
    }
    push(o, line, json);
}

void
image_diff_release(struct image_diff *diff)
{
    for (size_t i = 0; i < diff->nitems; i++) {
        free(diff->items[i].line);
        json_decref(diff->items[i].json);
    }
    free(diff->items);
    *diff = (struct image_diff){0};
}

static json_t *
side(const char *image, const char *digest)
{
    json_t *j = diff_must(json_object());

    json_object_set_new(j, "image", image_json_bytes(image, strlen(image)));
    json_object_set_new(j, "digest", diff_must(json_string(digest)));
    return j;
}

json_t *
image_diff_json(const struct image_diff *diff, const char *image_a, const char *image_b)
{
    json_t *doc = diff_must(json_object()), *list = diff_must(json_array());

    json_object_set_new(doc, "identical", json_boolean(diff->identical));
    json_object_set_new(doc, "a", side(image_a, diff->digest_a));
    json_object_set_new(doc, "b", side(image_b, diff->digest_b));
    for (size_t i = 0; i < diff->nitems; i++)
        json_array_append(list, diff->items[i].json);
    json_object_set_new(doc, "differences", list);
    if (diff->count > diff->nitems)
        json_object_set_new(doc, "omitted", json_integer((json_int_t)(diff->count - diff->nitems)));
    return doc;
}
