/*
 * deb822 control text (Packages indexes, Release files, apt .sources) and
 * the relationship fields of a binary index (Depends, Pre-Depends,
 * Provides, Breaks...).
 *
 * The parser walks the text once, line by line, and hands out fields as
 * spans of it: a 50 MB Packages index costs no copy and one pass. Each
 * stanza is checked for repeated fields once it is complete, by sorting at
 * most PKG_STANZA_FIELDS_MAX names, so the whole parse stays linear in the
 * input (times log 256).
 *
 * Carriage returns follow apt's reading of Packages and Release files
 * (apt-pkg/tagfile.cc, pkgTagSection::Scan and Find): a line of "\r\n" ends
 * a stanza like "\n", and a value's trailing whitespace, a final '\r'
 * included, is not part of it. Here '\r' is simply a blank wherever blanks
 * count (a blank line, the ends of a value), only space and tab indent a
 * continuation line. dpkg takes '\r' as an ordinary byte, but no archive
 * writes one, and apt is what reads what temper reads.
 */
#include "pkg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"

/* A field's name for a message: untrusted bytes, shown printable and cut. */
#define SHOWN_MAX 64

static const char *
shown_span(const char *s, size_t len, char out[SHOWN_MAX])
{
    char copy[SHOWN_MAX];
    size_t n = len < SHOWN_MAX - 1 ? len : SHOWN_MAX - 1;

    memcpy(copy, s, n);
    copy[n] = '\0';
    /* A name cut here ends in "..." like one temper_printable cuts. */
    if (n < len && n >= 3)
        memcpy(copy + n - 3, "...", 3);
    return temper_printable(copy, out, SHOWN_MAX);
}

/* What a blank line holds and a value is trimmed of. */
static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* What starts a continuation line. */
static bool
is_indent(char c)
{
    return c == ' ' || c == '\t';
}

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Compares two names without case; the shorter of two equal prefixes first. */
static int
name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;

    for (size_t i = 0; i < n; i++) {
        int d = lower((unsigned char)a[i]) - lower((unsigned char)b[i]);

        if (d != 0)
            return d;
    }
    return alen < blen ? -1 : alen > blen;
}

/* ---- deb822 ---- */

struct name_ref {
    const char *name;
    size_t len;
    size_t index; /* in the stanza: orders equal names by position */
};

struct parser {
    struct pkg_field fields[PKG_STANZA_FIELDS_MAX];
    size_t field_line[PKG_STANZA_FIELDS_MAX];
    struct name_ref refs[PKG_STANZA_FIELDS_MAX];
    size_t n;
    size_t stanza_line;
    /* A comment line came after the last field: a continuation line cannot follow it, since the
     * value is one span of the text and cannot leave the comment out. */
    bool after_comment;
};

static int
ref_cmp(const void *pa, const void *pb)
{
    const struct name_ref *a = pa, *b = pb;
    int rc = name_cmp(a->name, a->len, b->name, b->len);

    if (rc != 0)
        return rc;
    return a->index < b->index ? -1 : a->index > b->index;
}

/*
 * Refuses a field given twice. Sorting the names puts each repeat next to its first occurrence;
 * of all repeats, the one on the earliest line is named, as a parser reading top down would.
 */
static int
check_repeats(struct parser *p, struct temper_err *err)
{
    size_t worst = 0, first = 0;
    char shown[SHOWN_MAX];

    for (size_t i = 0; i < p->n; i++)
        p->refs[i] = (struct name_ref){p->fields[i].name, p->fields[i].name_len, i};
    qsort(p->refs, p->n, sizeof(p->refs[0]), ref_cmp);
    for (size_t i = 1; i < p->n; i++) {
        const struct name_ref *prev = &p->refs[i - 1], *cur = &p->refs[i];

        /* Only the second of a run matters: a third is on a later line. */
        if (name_cmp(prev->name, prev->len, cur->name, cur->len) != 0 ||
            (i >= 2 && name_cmp(p->refs[i - 2].name, p->refs[i - 2].len, cur->name, cur->len) == 0))
            continue;
        if (worst == 0 || p->field_line[cur->index] < p->field_line[worst]) {
            worst = cur->index;
            first = prev->index;
        }
    }
    if (worst == 0)
        return 0;
    return temper_err_set(
        err, TEMPER_E_PARSE, 0, "line %zu: field '%s' repeats line %zu", p->field_line[worst],
        shown_span(p->fields[worst].name, p->fields[worst].name_len, shown), p->field_line[first]);
}

/* Ends the stanza being read, if it has fields: its last value loses its trailing blanks. */
static int
finish_stanza(struct parser *p, pkg_stanza_fn fn, void *arg, struct temper_err *err)
{
    struct pkg_stanza stanza;
    int rc;

    if (p->n == 0)
        return 0;
    if (check_repeats(p, err) < 0)
        return -1;
    stanza = (struct pkg_stanza){p->fields, p->n, p->stanza_line};
    rc = fn(&stanza, arg, err);
    p->n = 0;
    p->after_comment = false;
    return rc;
}

/* Drops the trailing blanks of the last field's value (policy 5.1: they are not part of it). */
static void
trim_last(struct parser *p)
{
    struct pkg_field *f;

    if (p->n == 0)
        return;
    f = &p->fields[p->n - 1];
    while (f->value_len > 0 && is_blank(f->value[f->value_len - 1]))
        f->value_len--;
}

static int
check_value_size(const struct pkg_field *f, size_t line, struct temper_err *err)
{
    char shown[SHOWN_MAX];

    if (f->value_len <= PKG_FIELD_MAX_BYTES)
        return 0;
    return temper_err_set(err, TEMPER_E_LIMIT, 0, "line %zu: field '%s' is longer than %zu bytes",
                          line, shown_span(f->name, f->name_len, shown),
                          (size_t)PKG_FIELD_MAX_BYTES);
}

/* A line "Name: value": starts a field. [s, end) is the line without its line end. */
static int
start_field(struct parser *p, const char *s, const char *end, size_t line, struct temper_err *err)
{
    const char *colon = memchr(s, ':', (size_t)(end - s));
    char shown[SHOWN_MAX];
    struct pkg_field *f;
    const char *v;

    if (colon == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "line %zu: '%s' is neither a field nor a continuation line", line,
                              shown_span(s, (size_t)(end - s), shown));
    if (colon == s)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "line %zu: empty field name", line);
    for (const char *c = s; c < colon; c++) {
        /* deb822(5): US-ASCII without control characters, space and colon. */
        if (*c <= ' ' || *c > '~')
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "line %zu: field name '%s' holds a character other than "
                                  "printable ASCII",
                                  line, shown_span(s, (size_t)(colon - s), shown));
    }
    if (p->n == PKG_STANZA_FIELDS_MAX)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "line %zu: more than %zu fields in a stanza",
                              line, (size_t)PKG_STANZA_FIELDS_MAX);
    trim_last(p);
    if (p->n == 0)
        p->stanza_line = line;
    for (v = colon + 1; v < end && is_blank(*v); v++)
        ;
    f = &p->fields[p->n];
    *f = (struct pkg_field){s, (size_t)(colon - s), v, (size_t)(end - v)};
    p->field_line[p->n++] = line;
    p->after_comment = false;
    return check_value_size(f, line, err);
}

/* A line starting with a blank that is not blank throughout: extends the last field. */
static int
continue_field(struct parser *p, const char *end, size_t line, struct temper_err *err)
{
    struct pkg_field *f;

    if (p->n == 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "line %zu: continuation line before any field", line);
    if (p->after_comment)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "line %zu: continuation line after a comment line", line);
    f = &p->fields[p->n - 1];
    f->value_len = (size_t)(end - f->value);
    return check_value_size(f, line, err);
}

static bool
is_blank_line(const char *s, const char *end)
{
    for (; s < end; s++) {
        if (!is_blank(*s))
            return false;
    }
    return true;
}

int
pkg_control_parse(const char *text, size_t len, pkg_stanza_fn fn, void *arg, struct temper_err *err)
{
    cleanup_free struct parser *p = xcalloc(1, sizeof(*p));
    size_t pos = 0, line = 0;
    int rc;

    while (pos < len) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        const char *end = nl != NULL ? nl : text + len;

        line++;
        pos = (size_t)(end - text) + (nl != NULL);
        if (memchr(s, '\0', (size_t)(end - s)) != NULL)
            return temper_err_set(err, TEMPER_E_PARSE, 0, "line %zu: NUL byte", line);
        if (is_blank_line(s, end)) {
            trim_last(p);
            rc = finish_stanza(p, fn, arg, err);
            if (rc != 0)
                return rc;
        } else if (*s == '#') {
            p->after_comment = p->n > 0;
        } else if (is_indent(*s)) {
            if (continue_field(p, end, line, err) < 0)
                return -1;
        } else if (start_field(p, s, end, line, err) < 0) {
            return -1;
        }
    }
    trim_last(p);
    return finish_stanza(p, fn, arg, err);
}

const struct pkg_field *
pkg_stanza_field(const struct pkg_stanza *stanza, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < stanza->n; i++) {
        const struct pkg_field *f = &stanza->fields[i];

        if (name_cmp(f->name, f->name_len, name, len) == 0)
            return f;
    }
    return NULL;
}

/* ---- relationships ---- */

struct cursor {
    const char *s;
    size_t len;
    size_t pos;
    const char *what;
};

/* Whitespace between tokens: blanks, and the line ends of continuation lines. */
static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
skip_space(struct cursor *c)
{
    while (c->pos < c->len && is_space(c->s[c->pos]))
        c->pos++;
}

static int
peek(const struct cursor *c)
{
    return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

/* The end of a name or architecture token: whitespace or a character of the grammar. */
static bool
ends_token(char c)
{
    return is_space(c) || strchr(",|()[]<>:=", c) != NULL;
}

static size_t
token_len(const struct cursor *c)
{
    size_t n = 0;

    while (c->pos + n < c->len && !ends_token(c->s[c->pos + n]))
        n++;
    return n;
}

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Policy 5.6.1: [a-z0-9][a-z0-9+.-]+ */
static bool
is_package_name(const char *s, size_t len)
{
    if (len < 2 || !is_lower_alnum(s[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '+' && s[i] != '.' && s[i] != '-')
            return false;
    }
    return true;
}

/* An architecture as dpkg takes one ([a-z0-9][a-z0-9-]*), "any" and "native" among them. */
static bool
is_arch_name(const char *s, size_t len)
{
    if (len == 0 || !is_lower_alnum(s[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

/* Refuses what is found where a separator (',' or '|') or the end was due. */
static int
unexpected(const struct cursor *c, const char *after, struct temper_err *err)
{
    char shown[SHOWN_MAX], name[SHOWN_MAX];
    int ch = peek(c);

    if (ch == '[')
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s': architecture restriction after '%s' (a source field's)",
                              c->what, temper_printable(after, name, sizeof(name)));
    if (ch == '<')
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s': build profile after '%s' (a source field's)", c->what,
                              temper_printable(after, name, sizeof(name)));
    return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': unexpected '%s' after '%s'", c->what,
                          shown_span(c->s + c->pos, c->len - c->pos, shown),
                          temper_printable(after, name, sizeof(name)));
}

/* "<<", "<=", "=", ">=", ">>", and the obsolete "<" and ">" (dpkg reads them as "<=", ">="). */
static int
parse_op(struct cursor *c, const char *name, enum pkg_relation *rel, struct temper_err *err)
{
    char shown[SHOWN_MAX], shown_name[SHOWN_MAX];
    int c1 = peek(c);
    int c2 = c->pos + 1 < c->len ? (unsigned char)c->s[c->pos + 1] : -1;

    if (c1 == '<' || c1 == '>') {
        bool lt = c1 == '<';

        if (c2 == c1) {
            *rel = lt ? PKG_REL_LT : PKG_REL_GT;
            c->pos += 2;
            return 0;
        }
        if (c2 == '=') {
            *rel = lt ? PKG_REL_LE : PKG_REL_GE;
            c->pos += 2;
            return 0;
        }
        if (c2 != '<' && c2 != '>') {
            *rel = lt ? PKG_REL_LE : PKG_REL_GE;
            c->pos += 1;
            return 0;
        }
    } else if (c1 == '=' && c2 != '<' && c2 != '>' && c2 != '=') {
        *rel = PKG_REL_EQ;
        c->pos += 1;
        return 0;
    }
    return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': unknown operator '%s' for '%s'", c->what,
                          shown_span(c->s + c->pos, c1 < 0 ? 0 : (c2 < 0 ? 1 : 2), shown),
                          temper_printable(name, shown_name, sizeof(shown_name)));
}

/* "(op version)", the cursor on the '('. */
static int
parse_restriction(struct cursor *c, struct pkg_dep_alt *alt, struct temper_err *err)
{
    char shown[SHOWN_MAX], name[SHOWN_MAX];
    size_t start, n = 0;

    c->pos++;
    skip_space(c);
    if (parse_op(c, alt->name, &alt->rel, err) < 0)
        return -1;
    skip_space(c);
    start = c->pos;
    while (c->pos < c->len && !is_space(c->s[c->pos]) && c->s[c->pos] != ')') {
        c->pos++;
        n++;
    }
    if (n == 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': no version for '%s'", c->what,
                              temper_printable(alt->name, name, sizeof(name)));
    if (n <= PKG_VERSION_MAX_BYTES)
        alt->version = xstrndup(c->s + start, n);
    if (alt->version == NULL || !pkg_version_is_valid(alt->version))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': invalid version '%s' for '%s'",
                              c->what, shown_span(c->s + start, n, shown),
                              temper_printable(alt->name, name, sizeof(name)));
    skip_space(c);
    if (peek(c) != ')')
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': version of '%s' not closed by ')'",
                              c->what, temper_printable(alt->name, name, sizeof(name)));
    c->pos++;
    return 0;
}

/*
 * One alternative, the cursor past any whitespace: "name[:arch] [(op version)]". `first` says
 * whether it opens an item, for the message when it is missing. Fills alt, which the caller
 * frees either way.
 */
static int
parse_alt(struct cursor *c, bool first, struct pkg_dep_alt *alt, struct temper_err *err)
{
    char shown[SHOWN_MAX], name[SHOWN_MAX];
    size_t n = token_len(c);

    if (n == 0) {
        int ch = peek(c);

        if (ch == -1 || ch == ',' || ch == '|')
            return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': empty %s", c->what,
                                  first && ch != '|' ? "item" : "alternative");
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': '%s' where a package name was due",
                              c->what, shown_span(c->s + c->pos, c->len - c->pos, shown));
    }
    if (!is_package_name(c->s + c->pos, n))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': bad package name '%s'", c->what,
                              shown_span(c->s + c->pos, n, shown));
    alt->name = xstrndup(c->s + c->pos, n);
    alt->rel = PKG_REL_ANY;
    c->pos += n;
    /* The qualifier is checked and dropped: one architecture's index satisfies it by name. */
    if (peek(c) == ':') {
        c->pos++;
        n = token_len(c);
        if (!is_arch_name(c->s + c->pos, n))
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "'%s': bad architecture qualifier '%s' of '%s'", c->what,
                                  shown_span(c->s + c->pos, n, shown),
                                  temper_printable(alt->name, name, sizeof(name)));
        c->pos += n;
    }
    skip_space(c);
    if (peek(c) == '(')
        return parse_restriction(c, alt, err);
    return 0;
}

static void
alts_free(struct pkg_dep_alt *alts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(alts[i].name);
        free(alts[i].version);
    }
    free(alts);
}

void
pkg_deps_free(struct pkg_dep *deps, size_t n)
{
    if (deps == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        alts_free(deps[i].alts, deps[i].n);
    free(deps);
}

/* One item: alternatives separated by '|', up to a ',' or the end. */
static int
parse_item(struct cursor *c, struct pkg_dep *dep, struct temper_err *err)
{
    size_t cap = 0;

    for (;;) {
        struct pkg_dep_alt *alt;

        if (dep->n == PKG_ALTS_MAX)
            return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                  "'%s': more than %zu alternatives in an item", c->what,
                                  (size_t)PKG_ALTS_MAX);
        if (dep->n == cap) {
            cap = cap == 0 ? 2 : cap * 2;
            dep->alts = xreallocarray(dep->alts, cap, sizeof(dep->alts[0]));
        }
        alt = &dep->alts[dep->n++];
        *alt = (struct pkg_dep_alt){0};
        skip_space(c);
        if (parse_alt(c, dep->n == 1, alt, err) < 0)
            return -1;
        skip_space(c);
        if (peek(c) == -1 || peek(c) == ',')
            return 0;
        if (peek(c) != '|')
            return unexpected(c, alt->name, err);
        c->pos++;
    }
}

int
pkg_deps_parse(const char *value, size_t len, const char *what, struct pkg_dep **out, size_t *n,
               struct temper_err *err)
{
    struct cursor c = {value, len, 0, what};
    struct pkg_dep *deps = NULL;
    size_t count = 0, cap = 0;

    skip_space(&c);
    while (c.pos < c.len) {
        if (count == PKG_DEPS_MAX) {
            pkg_deps_free(deps, count);
            return temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s': more than %zu items", what,
                                  (size_t)PKG_DEPS_MAX);
        }
        if (count == cap) {
            cap = cap == 0 ? 8 : cap * 2;
            deps = xreallocarray(deps, cap, sizeof(deps[0]));
        }
        deps[count] = (struct pkg_dep){0};
        if (parse_item(&c, &deps[count++], err) < 0) {
            pkg_deps_free(deps, count);
            return -1;
        }
        /* parse_item stopped at a ',' or the end; after a ',' another item is due. */
        if (c.pos < c.len) {
            c.pos++;
            skip_space(&c);
            if (c.pos == c.len) {
                pkg_deps_free(deps, count);
                return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s': empty item", what);
            }
        }
    }
    *out = deps;
    *n = count;
    return 0;
}
