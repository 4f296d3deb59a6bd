#include "escape.h"

#include <stdbool.h>
#include <string.h>

#include "xalloc.h"

size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    uint32_t v, min;
    size_t n;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, v = s[0] & 0x1fu, min = 0x80;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, v = s[0] & 0x0fu, min = 0x800;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, v = s[0] & 0x07u, min = 0x10000;
    else
        return 0;
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* C1 controls, bidi controls and the line and paragraph separators: shown as \uNNNN. */
static bool
is_hidden(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
           cp == 0x2029;
}

size_t
escape_char(const char *s, size_t len, unsigned flags, char out[ESCAPE_CHAR_MAX])
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    size_t n;

    if ((u[0] == '\\' && !(flags & ESCAPE_KEEP_BACKSLASH)) ||
        (u[0] == '"' && (flags & ESCAPE_QUOTE))) {
        out[0] = '\\', out[1] = s[0], out[2] = '\0';
        return 1;
    }
    if (u[0] == '\n' || u[0] == '\t' || u[0] == '\r') {
        out[0] = '\\', out[1] = u[0] == '\n' ? 'n' : u[0] == '\t' ? 't' : 'r', out[2] = '\0';
        return 1;
    }
    if (u[0] >= 0x20 && u[0] < 0x7f) {
        out[0] = s[0], out[1] = '\0';
        return 1;
    }
    n = u[0] >= 0x80 ? utf8_decode(u, len, &cp) : 0;
    if (n == 0) { /* a control, DEL, or a byte that starts no character */
        out[0] = '\\', out[1] = 'x', out[2] = hex[u[0] >> 4], out[3] = hex[u[0] & 15];
        out[4] = '\0';
        return 1;
    }
    if (is_hidden(cp)) {
        out[0] = '\\', out[1] = 'u';
        for (int i = 0; i < 4; i++)
            out[2 + i] = hex[(cp >> (12 - 4 * i)) & 15];
        out[6] = '\0';
        return n;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

const char *
escape_str(const char *s, size_t len, unsigned flags, char *out, size_t size)
{
    size_t o = 0, keep = 0; /* keep: the end of the last escape after which "..." fits */

    for (size_t i = 0; i < len;) {
        char e[ESCAPE_CHAR_MAX];
        size_t used = escape_char(s + i, len - i, flags, e), n = strlen(e);

        if (o + n >= size) {
            memcpy(out + keep, "...", 4);
            return out;
        }
        memcpy(out + o, e, n);
        o += n;
        if (o + 4 <= size)
            keep = o;
        i += used;
    }
    out[o] = '\0';
    return out;
}

char *
escape_dup(const char *s, size_t len, unsigned flags)
{
    char *out = xmalloc(ESCAPE_SIZE(len));

    escape_str(s, len, flags, out, ESCAPE_SIZE(len));
    return out;
}

size_t
utf8_cut(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = len, need;

    while (i > 0 && len - i < 3 && (u[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0 || u[i - 1] < 0xc0)
        return len;
    need = u[i - 1] >= 0xf0 ? 4 : u[i - 1] >= 0xe0 ? 3 : 2;
    return len - (i - 1) < need ? i - 1 : len;
}
