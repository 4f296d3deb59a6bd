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
 * revision is "" (which is how dpkg treats it: "1.0" == "0:1.0" == "1.0-").
 * Returns <0, 0 or >0. Both must be valid (pkg_version_is_valid).
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

/* Whether `version` satisfies "rel wanted" (PKG_REL_ANY: always). */
bool pkg_version_satisfies(const char *version, enum pkg_relation rel, const char *wanted);

/* ---- deb822 control text: Packages, Release, .sources (pkg_control.c) ---- */

/* One field of a stanza, pointing into the parsed text. */
struct pkg_field {
    const char *name; /* as written; compare without case */
    size_t name_len;
    /* From the first character after "Name:" and the blanks after it, to the end of the last
     * continuation line (its newline excluded); continuation lines are kept as they are, with
     * their newlines and leading blank. */
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
 * A final line without a newline is taken. Refused with TEMPER_E_PARSE
 * naming the line: a NUL byte, a line that is neither a field nor a
 * continuation, a continuation before any field, a field name that is empty
 * or holds other than printable ASCII, the same field twice in a stanza
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
 * does). Whitespace and continuation lines anywhere between tokens. An
 * empty value gives no items. Refused with TEMPER_E_PARSE naming `what`:
 * an empty item or alternative, a bad name ([a-z0-9][a-z0-9+.-]+), an
 * unknown operator, an invalid version, architecture restrictions "[...]"
 * or build profiles "<...>" (source fields, never in a binary index).
 * TEMPER_E_LIMIT over PKG_DEPS_MAX items or PKG_ALTS_MAX alternatives.
 * Release with pkg_deps_free.
 */
int pkg_deps_parse(const char *value, size_t len, const char *what, struct pkg_dep **out, size_t *n,
                   struct temper_err *err);
void pkg_deps_free(struct pkg_dep *deps, size_t n);

/* ---- a root unpacked from .deb files (pkg_deb.c, pkg_generate.c) ---- */

/*
 * A root being assembled in a directory: the data.tar of each package
 * unpacked into it, and a record of which package shipped each path.
 *
 * Debian 12 merges /usr (debootstrap makes /bin, /sbin, /lib, /lib64 ...
 * symlinks into usr/ before unpacking anything), and packages still ship
 * files under /lib and /bin: an entry under one of the merged top-level
 * directories is written under usr/, and the top-level symlink is made the
 * first time one is needed, so the root has the same shape as a debootstrap
 * root (and as the build machine's own /).
 *
 * Nothing from a package is trusted: entries are written through directory
 * descriptors with O_NOFOLLOW, never following a symlink (a path through a
 * symlink a package shipped is refused, naming package and path; symlink
 * targets are kept as text); absolute paths, ".", ".." and empty components
 * are refused; setuid and setgid bits are cleared, device nodes, FIFOs and
 * sockets are skipped (counted by pkg_root_skipped); maintainer scripts are
 * never run. The same path (compared in merged form) shipped by two
 * packages with other content, mode or target (or of another type) is an
 * error naming both; with the same ones it is kept once. Directories may be
 * shipped by any number of packages (the first one's mode stays). A hard
 * link must name a file its own package shipped before it.
 *
 * Every error leaves the root incomplete: later calls but pkg_root_free
 * refuse it (TEMPER_E_USAGE), and the directory is the caller's to remove.
 *
 * Usage:
 *     pkg_root_new(dir, &root, &err);
 *     for each package: pkg_root_unpack(root, fd, "libc6", &err);
 *     pkg_root_generate(root, &err);
 *     pkg_root_owners(root, ...)   (for the SBOM)
 *     pkg_root_free(root);
 */
struct pkg_root;

/* Makes directory `dir` (a host path that must not exist yet; its parent must) and starts a
 * root in it. */
int pkg_root_new(const char *dir, struct pkg_root **out, struct temper_err *err);
/*
 * Unpacks the data.tar (xz, zstd, gzip or none) of the .deb open on `fd` (an ar archive:
 * debian-binary, control.tar.*, data.tar.*; read with libarchive, checked as hostile input)
 * for `package` (its name, for messages and the record). Bounded by PKG_DEB_* caps (and the
 * root's contents by PKG_ROOT_MAX_BYTES): over one is TEMPER_E_LIMIT. A malformed archive or
 * path is TEMPER_E_PARSE, a path through a symlink or a conflict TEMPER_E_POLICY; every message
 * starts with "package '<package>'". The fd is read from where it is and not closed.
 */
int pkg_root_unpack(struct pkg_root *root, int fd, const char *package, struct temper_err *err);
/*
 * Writes what maintainer scripts would have made and images need, from the packages' own files,
 * deterministically: /etc/ssl/certs/ca-certificates.crt when the root has
 * usr/share/ca-certificates/mozilla (the certificates in bytewise order of their paths, each
 * followed by a newline when it lacks one: what update-ca-certificates writes with the
 * /etc/ca-certificates.conf that debconf writes at install: every .crt under
 * usr/share/ca-certificates, read as regular files only). Each generated path is recorded as
 * shipped by PKG_GENERATED, as are the merged-/usr symlinks unpacking made. Then gives
 * directories shipped without u+rwx their mode (unpacking keeps u+rwx on each directory so that
 * later packages can write into it without root). Call it once, after the last unpack.
 */
int pkg_root_generate(struct pkg_root *root, struct temper_err *err);
#define PKG_GENERATED "(temper)"
/* How many entries unpacking skipped: device nodes, FIFOs and sockets, never made. */
size_t pkg_root_skipped(const struct pkg_root *root);
/* Calls fn for every path recorded (relative, merged-/usr form, e.g. "usr/lib/x/libc.so.6"), in
 * bytewise order, with the package that shipped it first (a directory made for the entries under
 * it counts as shipped by their package; what temper made is PKG_GENERATED's). A non-zero return
 * from fn stops the walk and is returned. */
int pkg_root_owners(const struct pkg_root *root,
                    int (*fn)(const char *path, const char *package, void *arg), void *arg);
void pkg_root_free(struct pkg_root *root);

#endif
