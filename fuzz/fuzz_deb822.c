/*
 * libFuzzer target for deb822 control text and the relationship fields in
 * it: any bytes through pkg_control_parse, and every Depends, Pre-Depends,
 * Provides and Breaks field through pkg_deps_parse. Never a crash, a read
 * out of bounds or a leak; the input is not NUL-terminated, so a read past
 * `size` is caught by ASan.
 *
 * On a refusal: TEMPER_E_PARSE or TEMPER_E_LIMIT, a message, and for the
 * control text the line it names. On a stanza: between 1 and
 * PKG_STANZA_FIELDS_MAX fields, in text order, each name and value inside
 * the input, the name graphic ASCII without ':', no two names alike, the
 * value without NUL, blanks at either end or a line that would have ended
 * the field (every newline in it starts a continuation line that is not
 * blank), and pkg_stanza_field finding each name. On relationships: items
 * and alternatives within their caps, names as policy has them, versions
 * valid exactly when there is a relation, and what is written back from
 * them parsing to the same. Versions compare antisymmetrically.
 *
 * Seeds: fuzz/corpus/deb822, made by fuzz/make-corpus.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/limits.h"
#include "pkg/pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    const char *text;
    size_t len;
    size_t last_line;
};

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_deb822: %s\n", what);
    abort();
}

static void
check_failure(const struct temper_err *err)
{
    if (err->code != TEMPER_E_PARSE && err->code != TEMPER_E_LIMIT)
        fail("failure with a code other than TEMPER_E_PARSE or TEMPER_E_LIMIT");
    if (memchr(err->msg, '\0', sizeof(err->msg)) == NULL || err->msg[0] == '\0')
        fail("failure without a message");
}

static bool
inside(const struct input *in, const char *p, size_t len)
{
    return p >= in->text && len <= in->len && (size_t)(p - in->text) <= in->len - len;
}

/* pkg_control.c's blanks: '\r' is one, only space and tab indent a continuation. */
static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static void
check_value(const struct pkg_field *f)
{
    const char *v = f->value;
    size_t len = f->value_len;

    if (len > PKG_FIELD_MAX_BYTES)
        fail("a value over PKG_FIELD_MAX_BYTES");
    if (memchr(v, '\0', len) != NULL)
        fail("a value with a NUL byte");
    if (len > 0 && (is_blank(v[len - 1]) || v[len - 1] == '\n'))
        fail("a value ending in a blank or a newline");
    if (len > 0 && is_blank(v[0]))
        fail("a value starting with a blank");
    /* Every line after the first is a continuation: it starts with a space or a tab and holds
     * more than blanks, or it would have ended the stanza. */
    for (const char *nl = memchr(v, '\n', len); nl != NULL;
         nl = memchr(nl + 1, '\n', len - (size_t)(nl + 1 - v))) {
        const char *s = nl + 1, *end = v + len, *e;
        bool content = false;

        if (s == end || (*s != ' ' && *s != '\t'))
            fail("a newline in a value not followed by a continuation line");
        e = memchr(s, '\n', (size_t)(end - s));
        if (e == NULL)
            e = end;
        for (const char *c = s; c < e; c++)
            content |= !is_blank(*c);
        if (!content)
            fail("a blank line inside a value");
    }
}

/* Writes deps back as a value ("a (>= 1) | b, c") and checks that it parses to the same. */
static void
check_round_trip(const struct pkg_dep *deps, size_t n)
{
    static const char *ops[] = {"", "<<", "<=", "=", ">=", ">>"};
    size_t cap = 64, len = 0;
    char *text = malloc(cap);
    struct pkg_dep *again;
    size_t n_again;
    struct temper_err err;

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < deps[i].n; j++) {
            const struct pkg_dep_alt *a = &deps[i].alts[j];
            size_t need = strlen(a->name) + (a->version ? strlen(a->version) : 0) + 16;

            if (len + need >= cap) {
                cap = (len + need) * 2;
                text = realloc(text, cap);
            }
            len += (size_t)snprintf(text + len, cap - len, "%s%s", i > 0 && j == 0 ? ", " : "",
                                    j > 0 ? " | " : "");
            if (a->rel == PKG_REL_ANY)
                len += (size_t)snprintf(text + len, cap - len, "%s", a->name);
            else
                len += (size_t)snprintf(text + len, cap - len, "%s (%s %s)", a->name, ops[a->rel],
                                        a->version);
        }
    }
    if (pkg_deps_parse(text, len, "Depends", &again, &n_again, &err) != 0)
        fail("relationships written back do not parse");
    if (n_again != n)
        fail("relationships written back give another count of items");
    for (size_t i = 0; i < n; i++) {
        if (again[i].n != deps[i].n)
            fail("relationships written back give another count of alternatives");
        for (size_t j = 0; j < deps[i].n; j++) {
            const struct pkg_dep_alt *a = &deps[i].alts[j], *b = &again[i].alts[j];

            if (strcmp(a->name, b->name) != 0 || a->rel != b->rel ||
                (a->version != NULL) != (b->version != NULL) ||
                (a->version != NULL && strcmp(a->version, b->version) != 0))
                fail("relationships written back parse to something else");
        }
    }
    pkg_deps_free(again, n_again);
    free(text);
}

static void
check_deps(const struct pkg_field *f, const char *what)
{
    struct pkg_dep *deps = (struct pkg_dep *)&deps;
    size_t n = SIZE_MAX;
    struct temper_err err = {0};
    const char *prev = NULL;

    if (pkg_deps_parse(f->value, f->value_len, what, &deps, &n, &err) != 0) {
        check_failure(&err);
        if (strstr(err.msg, what) == NULL)
            fail("a relationship refusal not naming the field");
        if (deps != (struct pkg_dep *)&deps || n != SIZE_MAX)
            fail("out-parameters set on failure");
        return;
    }
    if (n > PKG_DEPS_MAX || (n == 0) != (deps == NULL))
        fail("item count over the cap, or items without an array");
    for (size_t i = 0; i < n; i++) {
        if (deps[i].n == 0 || deps[i].n > PKG_ALTS_MAX)
            fail("an item without alternatives, or with too many");
        for (size_t j = 0; j < deps[i].n; j++) {
            const struct pkg_dep_alt *a = &deps[i].alts[j];
            size_t len = strlen(a->name);

            if (len < 2 || !is_lower_alnum(a->name[0]) ||
                strspn(a->name, "abcdefghijklmnopqrstuvwxyz0123456789+.-") != len)
                fail("a package name policy refuses");
            if ((a->rel == PKG_REL_ANY) != (a->version == NULL))
                fail("a version without a relation, or a relation without a version");
            if (a->version != NULL && !pkg_version_is_valid(a->version))
                fail("an invalid version taken");
            if (a->version != NULL && pkg_version_compare(a->version, a->version) != 0)
                fail("a version unequal to itself");
            if (a->version != NULL && prev != NULL) {
                int ab = pkg_version_compare(prev, a->version);
                int ba = pkg_version_compare(a->version, prev);

                if ((ab < 0) != (ba > 0) || (ab == 0) != (ba == 0))
                    fail("version comparison not antisymmetric");
            }
            if (a->version != NULL)
                prev = a->version;
        }
    }
    check_round_trip(deps, n);
    pkg_deps_free(deps, n);
}

static int
on_stanza(const struct pkg_stanza *stanza, void *arg, struct temper_err *err)
{
    static const char *relationships[] = {"Depends", "Pre-Depends", "Provides", "Breaks"};
    struct input *in = arg;

    (void)err;
    if (stanza->n == 0 || stanza->n > PKG_STANZA_FIELDS_MAX)
        fail("a stanza with no fields or too many");
    if (stanza->line <= in->last_line)
        fail("stanzas not in increasing line order");
    in->last_line = stanza->line;
    for (size_t i = 0; i < stanza->n; i++) {
        const struct pkg_field *f = &stanza->fields[i];

        if (!inside(in, f->name, f->name_len) || !inside(in, f->value, f->value_len))
            fail("a field outside the input");
        if (i > 0 && f->name <= stanza->fields[i - 1].value)
            fail("fields not in text order");
        if (f->name_len == 0 || f->name[0] == '#' || f->name[f->name_len] != ':')
            fail("a name that is empty, a comment, or not followed by ':'");
        for (size_t k = 0; k < f->name_len; k++) {
            if (f->name[k] <= ' ' || f->name[k] > '~' || f->name[k] == ':')
                fail("a name with a character other than graphic ASCII");
        }
        for (size_t j = 0; j < i; j++) {
            if (stanza->fields[j].name_len == f->name_len &&
                strncasecmp(stanza->fields[j].name, f->name, f->name_len) == 0)
                fail("a field given twice");
        }
        check_value(f);
    }
    for (size_t i = 0; i < sizeof(relationships) / sizeof(relationships[0]); i++) {
        const struct pkg_field *f = pkg_stanza_field(stanza, relationships[i]);

        if (f != NULL)
            check_deps(f, relationships[i]);
    }
    /* The version of a Packages stanza, when it is one, is equal to itself. */
    {
        const struct pkg_field *f = pkg_stanza_field(stanza, "Version");
        char v[PKG_VERSION_MAX_BYTES + 1];

        if (f != NULL && f->value_len <= PKG_VERSION_MAX_BYTES) {
            memcpy(v, f->value, f->value_len);
            v[f->value_len] = '\0';
            if (pkg_version_is_valid(v) && pkg_version_compare(v, v) != 0)
                fail("a version unequal to itself");
        }
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {(const char *)data, size, 0};
    struct temper_err err = {0};

    if (pkg_control_parse(in.text, size, on_stanza, &in, &err) != 0) {
        check_failure(&err);
        if (strncmp(err.msg, "line ", 5) != 0)
            fail("a control-text refusal that names no line");
    }
    return 0;
}
