/*
 * pkg: Debian packages as the source of a build's root.
 *
 * A recipe with `contents.packages` is built not from the host but from a
 * root unpacked from pinned .deb files. This module takes it from the
 * archive to that root:
 *
 *   repositories (url, suite, components) + keyring
 *     -> InRelease, checked by gpgv against the keyring (pkg_release.c)
 *     -> Packages indexes, checked against InRelease's SHA-256 (pkg_index.c)
 *     -> the dependency closure of the packages asked for (pkg_resolve.c)
 *     -> the lock: every package pinned by version, pool path, size, SHA-256 (pkg_lock.c)
 *     -> .deb files fetched into a content-addressed cache (pkg_fetch.c)
 *     -> data.tar of each unpacked into a fresh root, never a maintainer script run
 *        (pkg_deb.c), plus what those scripts would have made that images need
 *        (pkg_generate.c)
 *
 * Parsers take (buf, len) and treat every byte as hostile: an archive, a
 * mirror or a proxy may serve anything, and only what InRelease's signature
 * covers (and the SHA-256 chain below it) is trusted. Every buffer that
 * grows from input has a cap in base/limits.h.
 *
 * The module sits below cli and beside the resolver's users: it only makes
 * a root directory, which the build then reads like any other root.
 */
#ifndef TEMPER_PKG_PKG_H
#define TEMPER_PKG_PKG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* ---- versions (pkg_version.c) ---- */

/*
 * Compares two Debian versions ([epoch:]upstream[-revision]) as dpkg does
 * (deb-version(7)): the epoch numerically, then upstream and revision by
 * dpkg's verrevcmp, where '~' sorts before everything, even the end, and
 * letters before other characters. A missing epoch is 0 and a missing
 * revision is "" ("1.0" == "0:1.0"; "1.0-", which dpkg and
 * pkg_version_is_valid refuse, compares as "1.0", as Dpkg::Version does).
 * Returns <0, 0 or >0. Both should be valid (pkg_version_is_valid); any two
 * strings still compare, without reading past their ends.
 */
int pkg_version_compare(const char *a, const char *b);

/*
 * Whether `v` is a version dpkg accepts: not empty, no whitespace, an
 * epoch (when there is a ':') of digits only that fits an int, an upstream
 * part that starts with a digit and holds only [A-Za-z0-9.+~-] (and ':'
 * when there is an epoch), a revision (after the last '-') of
 * [A-Za-z0-9.+~] and not empty; at most PKG_VERSION_MAX_BYTES.
 */
bool pkg_version_is_valid(const char *v);

enum pkg_relation {
    PKG_REL_ANY, /* no version given */
    PKG_REL_LT,  /* << */
    PKG_REL_LE,  /* <= */
    PKG_REL_EQ,  /* = */
    PKG_REL_GE,  /* >= */
    PKG_REL_GT,  /* >> */
};

/* Whether `version` satisfies "rel wanted" (PKG_REL_ANY: always; otherwise
 * never when either is invalid). */
bool pkg_version_satisfies(const char *version, enum pkg_relation rel, const char *wanted);

/* ---- deb822 control text: Packages, Release, .sources (pkg_control.c) ---- */

/* One field of a stanza, pointing into the parsed text. */
struct pkg_field {
    const char *name; /* as written; compare without case */
    size_t name_len;
    /* From the first character after "Name:" and the blanks after it, to the end of the last
     * continuation line (its line end and trailing blanks, '\r' among them, excluded, as
     * policy 5.1 has it);
     * continuation lines are kept as they are, with their newlines and leading blank. A value
     * that starts on the next line ("SHA256:\n ...") starts with that newline. */
    const char *value;
    size_t value_len;
};

struct pkg_stanza {
    const struct pkg_field *fields;
    size_t n;
    size_t line; /* of its first field, counted from 1 */
};

/* Called for each stanza in order; a non-zero return stops the parse with that value (and
 * what the callback put in err). */
typedef int (*pkg_stanza_fn)(const struct pkg_stanza *stanza, void *arg, struct temper_err *err);

/*
 * Parses deb822 text (RFC 822-like control data: "Name: value" fields,
 * continuation lines starting with a space or tab, stanzas separated by one
 * or more blank lines, a line holding only blanks being blank) and calls
 * `fn` for each stanza. Lines starting with '#' are comments (deb822(5)).
 * A final line without a newline is taken. '\r' counts as a blank, so
 * "\r\n" ends a line as "\n" does, as apt reads Packages and Release
 * (only space and tab start a continuation). The text is what a signature
 * covered: an InRelease's clearsigned armour is gpgv's to take off. Refused
 * with TEMPER_E_PARSE naming the line: a NUL byte, a line that is neither a
 * field nor a continuation, a continuation before any field or right after
 * a comment line (a value is one span of the text, so it cannot leave the
 * comment out), a field name that is empty or holds other than graphic
 * ASCII (space and controls refused), the same field twice in a stanza
 * (compared without case). TEMPER_E_LIMIT: more than PKG_STANZA_FIELDS_MAX
 * fields in a stanza, a field over PKG_FIELD_MAX_BYTES.
 */
int pkg_control_parse(const char *text, size_t len, pkg_stanza_fn fn, void *arg,
                      struct temper_err *err);

/* The field of that name (compared without case), or NULL. */
const struct pkg_field *pkg_stanza_field(const struct pkg_stanza *stanza, const char *name);

/* ---- relationships: Depends, Pre-Depends, Provides (pkg_control.c) ---- */

/* One alternative of a dependency: "name[:arch] [(op version)]". */
struct pkg_dep_alt {
    char *name;
    enum pkg_relation rel;
    char *version; /* NULL with PKG_REL_ANY */
};

/* One comma-separated item: its alternatives, separated by '|', in order. */
struct pkg_dep {
    struct pkg_dep_alt *alts;
    size_t n;
};

/*
 * Parses a relationship field's value (deb-control(5)): items separated by
 * ',', alternatives by '|', each "name" with an optional ":arch" qualifier
 * (":any", ":native" or an architecture; dropped: a binary archive of one
 * architecture satisfies them by name) and an optional "(op version)", op
 * one of << <= = >= >> (and the obsolete < and >, read as <= and >= as dpkg
 * does). Whitespace and continuation lines anywhere between tokens
 * ("name:arch" is one token). An empty value gives no items. Refused with
 * TEMPER_E_PARSE naming `what`: an empty item or alternative (a trailing
 * ',' too), a bad name ([a-z0-9][a-z0-9+.-]+) or architecture, an unknown
 * operator (also none: dpkg's "implicit exact match" "(1.0)" is refused),
 * an invalid version, architecture restrictions "[...]" or build profiles
 * "<...>" (source fields, never in a binary index).
 * TEMPER_E_LIMIT over PKG_DEPS_MAX items or PKG_ALTS_MAX alternatives.
 * Release with pkg_deps_free.
 */
int pkg_deps_parse(const char *value, size_t len, const char *what, struct pkg_dep **out, size_t *n,
                   struct temper_err *err);
void pkg_deps_free(struct pkg_dep *deps, size_t n);

#endif
