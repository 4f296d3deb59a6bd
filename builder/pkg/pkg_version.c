/*
 * Debian versions, compared and checked as dpkg does: verrevcmp and
 * dpkg_version_compare (lib/dpkg/version.c) and parseversion
 * (lib/dpkg/parsehelp.c), deb-version(7), Debian policy 5.6.12.
 *
 * A version is compared in place, as spans of the caller's string, so that
 * sorting a Packages index by version allocates nothing. Only ASCII counts
 * as a digit or a letter (dpkg's c_isdigit and c_isalpha): the locale
 * never changes an order.
 */
#include "pkg.h"

#include <limits.h>
#include <string.h>

#include "base/limits.h"

/* A version split as dpkg splits it: the epoch before the first ':', the revision after the last
 * '-' of what follows. */
struct version_parts {
    unsigned long epoch;
    const char *upstream;
    size_t upstream_len;
    const char *revision;
    size_t revision_len;
};

static bool
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The weight of a character in verrevcmp: '~' before the end of the part, the end before
 * letters, letters before everything else. Digits never reach it except as "not a non-digit";
 * c is 0 past the end. */
static int
order(int c)
{
    if (is_digit(c))
        return 0;
    if (is_alpha(c))
        return c;
    if (c == '~')
        return -1;
    if (c != 0)
        return c + 256;
    return 0;
}

/* The byte at i, or 0 past the end: dpkg walks NUL-terminated strings, the spans here are not. */
static int
at(const char *s, size_t len, size_t i)
{
    return i < len ? (unsigned char)s[i] : 0;
}

/*
 * dpkg's verrevcmp over two spans: alternately a run of non-digits, compared character by
 * character with order(), and a run of digits, compared as a number (leading zeros dropped, the
 * longer run the larger, then the first differing digit).
 */
static int
verrevcmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, j = 0;

    while (i < alen || j < blen) {
        int first_diff = 0;

        /* Both sides advance together: when one is at a digit or at its end and the other is
         * not, their weights differ and the loop returns before stepping past that end. */
        while ((i < alen && !is_digit(a[i])) || (j < blen && !is_digit(b[j]))) {
            int ac = order(at(a, alen, i)), bc = order(at(b, blen, j));

            if (ac != bc)
                return ac - bc;
            i++;
            j++;
        }
        while (i < alen && a[i] == '0')
            i++;
        while (j < blen && b[j] == '0')
            j++;
        while (i < alen && j < blen && is_digit(a[i]) && is_digit(b[j])) {
            if (first_diff == 0)
                first_diff = a[i] - b[j];
            i++;
            j++;
        }
        if (i < alen && is_digit(a[i]))
            return 1;
        if (j < blen && is_digit(b[j]))
            return -1;
        if (first_diff != 0)
            return first_diff;
    }
    return 0;
}

/*
 * Splits v as parseversion does. The epoch saturates past INT_MAX, so that the split is total
 * even on a string pkg_version_is_valid refuses: pkg_version_compare never reads out of bounds
 * whatever it is given.
 */
static void
split(const char *v, struct version_parts *p)
{
    const char *colon = strchr(v, ':');
    const char *rest = v, *hyphen;

    p->epoch = 0;
    if (colon != NULL) {
        for (const char *c = v; c < colon && is_digit(*c); c++) {
            if (p->epoch <= (unsigned long)INT_MAX)
                p->epoch = p->epoch * 10 + (unsigned long)(*c - '0');
        }
        rest = colon + 1;
    }
    hyphen = strrchr(rest, '-');
    p->upstream = rest;
    if (hyphen != NULL) {
        p->upstream_len = (size_t)(hyphen - rest);
        p->revision = hyphen + 1;
        p->revision_len = strlen(hyphen + 1);
    } else {
        p->upstream_len = strlen(rest);
        p->revision = "";
        p->revision_len = 0;
    }
}

int
pkg_version_compare(const char *a, const char *b)
{
    struct version_parts pa, pb;
    int rc;

    split(a, &pa);
    split(b, &pb);
    if (pa.epoch != pb.epoch)
        return pa.epoch > pb.epoch ? 1 : -1;
    rc = verrevcmp(pa.upstream, pa.upstream_len, pb.upstream, pb.upstream_len);
    if (rc != 0)
        return rc;
    return verrevcmp(pa.revision, pa.revision_len, pb.revision, pb.revision_len);
}

/* Characters of a revision; the upstream part also takes '-' (and ':' after an epoch). */
static bool
is_revision_char(int c)
{
    return is_digit(c) || is_alpha(c) || c == '.' || c == '+' || c == '~';
}

bool
pkg_version_is_valid(const char *v)
{
    size_t len;
    const char *colon, *rest, *hyphen, *upstream_end;
    bool has_epoch;

    if (v == NULL)
        return false;
    len = strnlen(v, PKG_VERSION_MAX_BYTES + 1);
    if (len == 0 || len > PKG_VERSION_MAX_BYTES)
        return false;
    colon = strchr(v, ':');
    has_epoch = colon != NULL;
    rest = v;
    if (has_epoch) {
        unsigned long epoch = 0;

        /* Digits only: dpkg's strtol would also take a sign ("+1:", "-0:"), which no archive
         * writes and which pkg.h refuses. */
        if (colon == v)
            return false;
        for (const char *c = v; c < colon; c++) {
            if (!is_digit(*c))
                return false;
            epoch = epoch * 10 + (unsigned long)(*c - '0');
            if (epoch > INT_MAX)
                return false;
        }
        rest = colon + 1;
    }
    hyphen = strrchr(rest, '-');
    upstream_end = hyphen != NULL ? hyphen : v + len;
    if (hyphen != NULL) {
        /* dpkg refuses "1.0-" (revision number is empty) since 1.17.x. */
        if (hyphen[1] == '\0')
            return false;
        for (const char *c = hyphen + 1; *c != '\0'; c++) {
            if (!is_revision_char(*c))
                return false;
        }
    }
    if (upstream_end == rest || !is_digit(*rest))
        return false;
    for (const char *c = rest; c < upstream_end; c++) {
        if (!is_revision_char(*c) && *c != '-' && !(has_epoch && *c == ':'))
            return false;
    }
    return true;
}

bool
pkg_version_satisfies(const char *version, enum pkg_relation rel, const char *wanted)
{
    int rc;

    if (rel == PKG_REL_ANY)
        return true;
    /* An index or a recipe that names an invalid version satisfies nothing, rather than
     * comparing by accident. */
    if (!pkg_version_is_valid(version) || !pkg_version_is_valid(wanted))
        return false;
    rc = pkg_version_compare(version, wanted);
    switch (rel) {
    case PKG_REL_LT:
        return rc < 0;
    case PKG_REL_LE:
        return rc <= 0;
    case PKG_REL_EQ:
        return rc == 0;
    case PKG_REL_GE:
        return rc >= 0;
    case PKG_REL_GT:
        return rc > 0;
    case PKG_REL_ANY:
        break;
    }
    return false;
}
