/*
 * Exclude patterns of contents.trees, matched by hand: fnmatch(3) has no
 * `**` (glibc's FNM_PATHNAME makes `*` stop at '/', but nothing matches whole
 * components), and glob(3) walks the host's directories, where temper needs a
 * pure function of two strings that it can test and fuzz.
 *
 * Two levels of the same greedy algorithm: components against components,
 * where `**` is the star, and bytes against bytes within one component, where
 * `*` is. Remembering only the last star and retrying from one step further is
 * enough for patterns whose other elements each match exactly one element, so
 * a match costs at most the product of the two lengths, never exponential
 * backtracking. `[` and `\` have no special meaning.
 */
#define _GNU_SOURCE /* strchrnul */
#include <stdint.h>
#include <string.h>

#include "recipe.h"

/* Whether s[0..slen) matches the component pattern p[0..plen). */
static bool
match_component(const char *p, size_t plen, const char *s, size_t slen)
{
    size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;

    while (si < slen) {
        if (pi < plen && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < plen && (p[pi] == '?' || p[pi] == s[si])) {
            pi++;
            si++;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}

static size_t
comp_len(const char *c)
{
    return (size_t)(strchrnul(c, '/') - c);
}

/* The component after the one at c, or the terminating NUL. */
static const char *
next_comp(const char *c)
{
    const char *end = strchrnul(c, '/');

    return *end == '/' ? end + 1 : end;
}

static bool
is_globstar(const char *c)
{
    return c[0] == '*' && c[1] == '*' && (c[2] == '/' || c[2] == '\0');
}

/*
 * Matches the pattern against the path's components. The pattern matches a
 * directory when it has run out while the path has not: it then excludes all
 * under it, as if it ended in another `**`.
 */
bool
recipe_glob_match(const char *pattern, const char *path)
{
    const char *p = pattern, *s = path, *star = NULL, *mark = NULL;

    if (*pattern == '\0' || *path == '\0')
        return false;
    while (*s != '\0') {
        if (*p == '\0' && p != pattern)
            return true;
        if (is_globstar(p)) {
            star = p;
            p = next_comp(p);
            mark = s;
        } else if (*p != '\0' && match_component(p, comp_len(p), s, comp_len(s))) {
            p = next_comp(p);
            s = next_comp(s);
        } else if (star != NULL) {
            p = next_comp(star);
            mark = next_comp(mark);
            s = mark;
        } else {
            return false;
        }
    }
    while (is_globstar(p))
        p = next_comp(p);
    return *p == '\0';
}
