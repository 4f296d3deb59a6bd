/*
 * Checks of single recipe values: the rules every key of one kind shares.
 *
 * Integers follow YAML 1.2's core schema, not 1.1's: `0755` is octal only for
 * permissions (where apko and chmod users write it so), and a decimal with a
 * leading zero is refused elsewhere rather than read one of two ways. An
 * integer or boolean must be a plain scalar: "65532" in quotes is a string,
 * and saying so beats guessing. Booleans are `true` and `false` only; YAML
 * 1.1's yes/no/on/off are refused with a message, as are quoted numbers.
 */
#define _GNU_SOURCE /* strchrnul */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/xalloc.h"
#include "recipe-internal.h"

static int __attribute__((format(printf, 4, 0)))
vfail(struct temper_err *err, enum temper_errc code, const struct recipe_loc *loc, const char *fmt,
      va_list ap)
{
    temper_err_vset(err, code, 0, fmt, ap);
    return recipe_err_at(err, loc);
}

int
recipe_fail(struct temper_err *err, const struct recipe_loc *loc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(err, TEMPER_E_PARSE, loc, fmt, ap);
    va_end(ap);
    return -1;
}

int
recipe_fail_code(struct temper_err *err, enum temper_errc code, const struct recipe_loc *loc,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(err, code, loc, fmt, ap);
    va_end(ap);
    return -1;
}

const char *
recipe_show(char *out, size_t size, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, shown = len > 80 ? 80 : len;

    for (size_t i = 0; i < shown && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f || c == '\'') {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0xF];
        } else {
            out[o++] = (char)c;
        }
    }
    if (shown < len && o + 4 <= size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

void *
recipe_grow(void *items, size_t n, size_t size)
{
    /* The capacity is the smallest power of two >= n, so it needs no field of its own. */
    if ((n & (n - 1)) == 0)
        return xreallocarray(items, n == 0 ? 1 : 2 * n, size);
    return items;
}

static const char *
kind_wanted(enum ynode_kind kind)
{
    switch (kind) {
    case YNODE_SCALAR:
        return "a string";
    case YNODE_LIST:
        return "a list";
    case YNODE_MAP:
        return "a map";
    }
    return "?";
}

int
recipe_need_kind(const struct ynode *node, enum ynode_kind kind, const char *what,
                 struct temper_err *err)
{
    if (node->kind == kind && !(kind == YNODE_SCALAR && node->is_null))
        return 0;
    return recipe_fail(err, &node->loc, "'%s' must be %s, found %s", what, kind_wanted(kind),
                       ynode_kind_name(node));
}

int
recipe_get_text(const struct ynode *node, const char *what, const char **out,
                struct temper_err *err)
{
    if (recipe_need_kind(node, YNODE_SCALAR, what, err) < 0)
        return -1;
    if (memchr(node->text, '\0', node->len) != NULL)
        return recipe_fail(err, &node->loc, "'%s' contains a NUL byte", what);
    *out = node->text;
    return 0;
}

void
recipe_str_set(struct recipe_str *str, const struct ynode *node)
{
    free(str->value);
    str->value = xstrndup(node->text, node->len);
    str->loc = node->loc;
}

void
recipe_strlist_append(struct recipe_strlist *list, const struct ynode *node)
{
    list->items = recipe_grow(list->items, list->n, sizeof(*list->items));
    list->items[list->n] = (struct recipe_str){0};
    recipe_str_set(&list->items[list->n++], node);
}

void
recipe_strlist_clear(struct recipe_strlist *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i].value);
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

int
recipe_check_path(const struct ynode *node, const char *what, bool allow_root,
                  struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];
    const char *path, *p;

    if (recipe_get_text(node, what, &path, err) < 0)
        return -1;
    recipe_show(shown, sizeof(shown), path, node->len);
    if (node->len == 0)
        return recipe_fail(err, &node->loc, "'%s' is an empty path: write an absolute path", what);
    if (node->len >= TEMPER_PATH_MAX)
        return recipe_fail_code(err, TEMPER_E_LIMIT, &node->loc,
                                "path '%s' in '%s' is %zu bytes long, over the limit of %d", shown,
                                what, node->len, TEMPER_PATH_MAX - 1);
    if (path[0] != '/')
        return recipe_fail(err, &node->loc,
                           "path '%s' in '%s' is relative: write it from the root, '/%s'", shown,
                           what, shown);
    if (node->len == 1) {
        if (allow_root)
            return 0;
        return recipe_fail(err, &node->loc,
                           "path '/' in '%s' is the root itself: name a path below it", what);
    }
    for (p = path + 1;; p++) {
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);

        if (n == 0 && *end == '\0')
            return recipe_fail(err, &node->loc, "path '%s' in '%s' ends with '/': remove it", shown,
                               what);
        if (n == 0)
            return recipe_fail(err, &node->loc,
                               "path '%s' in '%s' has an empty component ('//'): remove the "
                               "extra '/'",
                               shown, what);
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return recipe_fail(err, &node->loc,
                               "path '%s' in '%s' has a '%.*s' component: write it without '.' "
                               "or '..'",
                               shown, what, (int)n, p);
        if (*end == '\0')
            return 0;
        p = end;
    }
}

/* The checks every integer shares: a plain, non-null scalar. */
static int
int_text(const struct ynode *node, const char *what, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];

    if (recipe_need_kind(node, YNODE_SCALAR, what, err) < 0)
        return -1;
    if (!node->is_plain)
        return recipe_fail(err, &node->loc,
                           "'%s' must be an integer, found the quoted string '%s': remove the "
                           "quotes",
                           what, recipe_show(shown, sizeof(shown), node->text, node->len));
    if (node->text[0] == '-' && node->len > 1 &&
        strspn(node->text + 1, "0123456789") == node->len - 1)
        return recipe_fail(err, &node->loc, "'%s' must not be negative, found '%s'", what,
                           recipe_show(shown, sizeof(shown), node->text, node->len));
    return 0;
}

/* Reads digits of `base` (8 or 10) into *out; false on a stray byte, or a value over max. */
static bool
parse_digits(const char *s, size_t len, unsigned base, uint64_t max, uint64_t *out, bool *over)
{
    uint64_t v = 0;

    *over = false;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');

        if (s[i] < '0' || s[i] > '9' || d >= base)
            return false;
        if (v > (max - d) / base) {
            *over = true;
            return false;
        }
        v = v * base + d;
    }
    *out = v;
    return true;
}

int
recipe_get_uint(const struct ynode *node, const char *what, uint64_t max, uint64_t *out,
                struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];
    bool over;

    if (int_text(node, what, err) < 0)
        return -1;
    recipe_show(shown, sizeof(shown), node->text, node->len);
    if (parse_digits(node->text, node->len, 10, max, out, &over)) {
        if (node->len > 1 && node->text[0] == '0')
            return recipe_fail(err, &node->loc,
                               "'%s' value '%s' has a leading zero, which YAML 1.1 reads as "
                               "octal: write the decimal number without it",
                               what, shown);
        return 0;
    }
    if (over)
        return recipe_fail(err, &node->loc, "'%s' value '%s' is out of range (at most %llu)", what,
                           shown, (unsigned long long)max);
    return recipe_fail(err, &node->loc, "'%s' must be a decimal integer, found '%s'", what, shown);
}

int
recipe_get_mode(const struct ynode *node, const char *what, uint32_t *out, struct temper_err *err)
{
    const char *s = node->text;
    char shown[RECIPE_SHOW_MAX];
    uint64_t v = 0;
    bool over, ok;

    if (int_text(node, what, err) < 0)
        return -1;
    recipe_show(shown, sizeof(shown), s, node->len);
    if (node->len > 2 && s[0] == '0' && s[1] == 'o')
        ok = parse_digits(s + 2, node->len - 2, 8, 07777, &v, &over);
    else if (s[0] == '0')
        ok = parse_digits(s, node->len, 8, 07777, &v, &over);
    else if (strspn(s, "01234567") == node->len)
        return recipe_fail(err, &node->loc,
                           "'%s' value '%s' is decimal: write octal permissions as 0o%s", what,
                           shown, shown);
    else
        ok = parse_digits(s, node->len, 10, 07777, &v, &over) || over;
    if (ok && s[0] != '0')
        return recipe_fail(err, &node->loc,
                           "'%s' value '%s' is decimal: write octal permissions, e.g. 0o755", what,
                           shown);
    if (over)
        return recipe_fail(err, &node->loc, "'%s' value '%s' is out of range (at most 0o7777)",
                           what, shown);
    if (!ok)
        return recipe_fail(err, &node->loc,
                           "'%s' must be octal permissions such as 0o755, found '%s'", what, shown);
    *out = (uint32_t)v;
    return 0;
}

int
recipe_get_bool(const struct ynode *node, const char *what, bool *out, struct temper_err *err)
{
    static const char *const yaml11[] = {"yes", "no",  "on",   "off",   "y",    "n",    "Yes",
                                         "No",  "On",  "Off",  "Y",     "N",    "YES",  "NO",
                                         "ON",  "OFF", "True", "False", "TRUE", "FALSE"};
    char shown[RECIPE_SHOW_MAX];

    if (recipe_need_kind(node, YNODE_SCALAR, what, err) < 0)
        return -1;
    recipe_show(shown, sizeof(shown), node->text, node->len);
    if (!node->is_plain)
        return recipe_fail(err, &node->loc,
                           "'%s' must be true or false, found the quoted string '%s': remove "
                           "the quotes",
                           what, shown);
    if (strcmp(node->text, "true") == 0 || strcmp(node->text, "false") == 0) {
        *out = node->text[0] == 't';
        return 0;
    }
    for (size_t i = 0; i < sizeof(yaml11) / sizeof(yaml11[0]); i++) {
        if (strcmp(node->text, yaml11[i]) == 0)
            return recipe_fail(err, &node->loc,
                               "'%s' must be true or false, found '%s' (a YAML 1.1 spelling): "
                               "write true or false",
                               what, shown);
    }
    return recipe_fail(err, &node->loc, "'%s' must be true or false, found '%s'", what, shown);
}
