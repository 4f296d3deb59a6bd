/*
 * escape: how bytes from outside are shown to a person.
 *
 * What temper writes for a person (error messages, warnings, notes, the build summary, the text
 * formats of resolve, diff and inspect) holds names and values read from roots, ELF files,
 * layers, layouts and registries, which may hold any byte. Written through this escape, such
 * text is shown by a terminal, never acted on (no escape sequence, no forged line, no text
 * reordered by a bidi control), and two different byte strings never look the same:
 *
 *   printable ASCII           itself, but a backslash is "\\"
 *   newline, tab, CR          "\n", "\t", "\r"
 *   other C0 controls, DEL    "\xNN" (two lowercase hex digits)
 *   a valid UTF-8 character   itself (shortest form, no surrogate, at most U+10FFFF), but
 *                             "\uNNNN" for the C1 controls U+0080..U+009F, the bidi controls
 *                             U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069, and the
 *                             separators U+2028, U+2029
 *   any other byte            "\xNN": a byte that starts no valid character
 *
 * Read back: "\\" is a backslash, "\xNN" the byte NN, "\uNNNN" that character in UTF-8, and
 * every other character itself. The output is valid UTF-8 and at most 4 bytes per input byte.
 *
 * Where it is applied: cli escapes each message whole (cli_error and the other writers in
 * cli.c), so modules put untrusted text into messages as it is, never pre-escaped. Text that
 * quotes values itself (the lines of temper diff, JSON text shown in temper inspect) escapes
 * its untrusted parts with ESCAPE_QUOTE or none, and is written with ESCAPE_KEEP_BACKSLASH,
 * which escapes everything but backslashes: whatever a module forgot, nothing a terminal acts on
 * gets through.
 */
#ifndef TEMPER_BASE_ESCAPE_H
#define TEMPER_BASE_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

enum {
    ESCAPE_QUOTE = 1,          /* '"' as "\"" too: for a value written between double quotes */
    ESCAPE_KEEP_BACKSLASH = 2, /* a backslash as it is: for text already escaped */
};

/* The longest escape of one character ("\u202e", "\x1b") and its NUL. */
#define ESCAPE_CHAR_MAX 7
/* What escape_str needs to escape `len` bytes whole, the NUL included. */
#define ESCAPE_SIZE(len) (4 * (len) + 1)

/*
 * Writes the escape of the character that starts at s (len > 0 bytes readable) into out,
 * NUL-terminated, and returns how many bytes of s it stands for (1 to 4).
 */
size_t escape_char(const char *s, size_t len, unsigned flags, char out[ESCAPE_CHAR_MAX]);

/*
 * Writes the escape of s[0..len) into out (size at least 8): all of it, or the escapes that fit
 * followed by "..." (never a part of one escape). Returns out.
 */
const char *escape_str(const char *s, size_t len, unsigned flags, char *out, size_t size);

/* The escape of s[0..len), allocated (xmalloc); the caller frees it. */
char *escape_dup(const char *s, size_t len, unsigned flags);

/*
 * The length of the valid UTF-8 character at s (len > 0 bytes readable) and its code point, or
 * 0 when s does not start one: overlong forms, surrogates, code points over U+10FFFF and a
 * character cut short by len are not characters (RFC 3629, as Python and glibc decode).
 */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/*
 * Where to cut s[0..len) so that what is kept does not end inside a UTF-8 character: len, or
 * less by the bytes of a character that starts but does not end before len.
 */
size_t utf8_cut(const char *s, size_t len);

#endif
