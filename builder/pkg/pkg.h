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

/* ---- what indexes, locks and dpkg databases may name (pkg_index.c) ---- */

/* A package name as dpkg takes it: [A-Za-z0-9][A-Za-z0-9+.-]*, at most 256 bytes. */
bool pkg_is_package_name(const char *s);
/* An architecture: [a-z0-9][a-z0-9-]*, at most 32 bytes ("amd64", "all"). */
bool pkg_is_arch_name(const char *s);

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

/* ---- apt's own sources (pkg_sources.c) ---- */

/*
 * The http(s) URL of the archive this machine's apt sources name for
 * `suite` (`url: apt` in a recipe), read as apt reads them under `apt_dir`
 * ("/etc/apt"): sources.list, then the .list and .sources files of sources.list.d in
 * alphanumeric order, the first "deb" entry serving the suite. *url is
 * owned, without a trailing slash. TEMPER_E_MISSING when none does.
 */
int pkg_apt_url(const char *apt_dir, const char *suite, char **url, struct temper_err *err);

/* ---- the Release file of a suite (pkg_release.c) ---- */

/* One index a Release file lists, with its SHA-256. */
struct pkg_release_file {
    char *path; /* "main/binary-amd64/Packages.xz", relative to dists/SUITE/ */
    uint64_t size;
    char sha256[65]; /* lowercase hex */
};

struct pkg_release {
    char *suite;    /* Suite, or NULL */
    char *codename; /* Codename, or NULL */
    char *date;     /* Date, as written */
    int64_t date_s;
    int64_t valid_until_s; /* -1: no Valid-Until */
    bool by_hash;          /* Acquire-By-Hash: yes */
    bool all_in_arch;      /* arch "all" packages are in each binary-ARCH index */
    struct pkg_release_file *files;
    size_t nfiles;
};

/*
 * Checks the OpenPGP signature of an InRelease file (untrusted bytes) with
 * gpgv, exec'd from `gpgv` (an absolute path: "/usr/bin/gpgv") with a fixed
 * argument vector and never through a shell, against the keyrings (host
 * paths of OpenPGP keyrings): at least one good signature by a key of the
 * keyrings, and no bad one. *text gets the signed text as gpgv wrote it
 * (never the clearsigned file's own reading: text outside the signature
 * cannot slip in), NUL-terminated. TEMPER_E_SIG naming `what` with gpgv's
 * reason otherwise; TEMPER_E_LIMIT over PKG_RELEASE_MAX_BYTES.
 */
int pkg_release_verify(const char *gpgv, const char *inrelease, size_t len,
                       const char *const *keyrings, size_t nkeyrings, const char *what, char **text,
                       size_t *text_len, struct temper_err *err);

/*
 * Parses a Release text (signed: from pkg_release_verify): Date (RFC 2822, required),
 * Valid-Until, Acquire-By-Hash, Architectures and No-Support-for-Architecture-all (which decide
 * all_in_arch, as apt does), and the SHA256 list (required). TEMPER_E_PARSE naming `what`.
 */
int pkg_release_parse(const char *text, size_t len, const char *what, struct pkg_release *out,
                      struct temper_err *err);
void pkg_release_release(struct pkg_release *release);
/* The entry for `path`, or NULL. */
const struct pkg_release_file *pkg_release_find(const struct pkg_release *release,
                                                const char *path);

/* ---- the packages a suite offers (pkg_index.c) ---- */

/* One stanza of a Packages index: a binary package at one version. */
struct pkg_package {
    char *name;
    char *version;
    char *architecture;   /* "amd64", "all", ... */
    char *source;         /* the source package; the binary's own name when the index says none */
    char *source_version; /* the version in Source's "(...)", else the binary's */
    char *filename;       /* pool path, relative to the archive's root */
    uint64_t size;
    char sha256[65];
    bool essential;
    /* Pre-Depends and Depends as written: parsed when the package is chosen (most of an
     * index never is); spans into the index's text */
    const char *pre_depends, *depends;
    size_t pre_depends_len, depends_len;
    struct pkg_dep *provides; /* each one alternative */
    size_t nprovides;
    unsigned repository; /* the caller's number for the index it came from */
};

/* Every package of the Packages indexes of one architecture, with lookups by name and by what
 * they provide. Opaque. */
struct pkg_index;

struct pkg_index *pkg_index_new(void);
/*
 * Adds the packages of one Packages index (text: untrusted, already checked against the SHA-256
 * that a signed Release gives it; decompressed; `text` is taken, freed with the index).
 * Required fields: Package, Version, Architecture, Filename, Size, SHA256; a stanza without one,
 * with a name, architecture or Source not as dpkg takes them, an invalid version, a Filename
 * that is not a pool path (absolute, "..", other characters) or a Provides that does not parse
 * is TEMPER_E_PARSE naming `what` and the package. Depends and Pre-Depends stay text until
 * pkg_resolve chooses the package (an unparsable one is refused then, naming it). At most
 * PKG_INDEX_PACKAGES_MAX packages in all.
 */
int pkg_index_add(struct pkg_index *idx, char *text, size_t len, unsigned repository,
                  const char *what, struct temper_err *err);
void pkg_index_free(struct pkg_index *idx);
size_t pkg_index_count(const struct pkg_index *idx);

/* ---- choosing the packages (pkg_resolve.c) ---- */

struct pkg_request {
    const char *const *packages; /* asked for */
    size_t npackages;
    const char *const *exclude; /* never taken: a dependency on them is dropped */
    size_t nexclude;
    /* Versions to keep where the index still offers them and they still satisfy (an earlier
     * lock's): so that relocking moves only what must move. NULL for the newest everywhere. */
    const char *const *keep_names, *const *keep_versions;
    size_t nkeep;
};

/*
 * The closure of the packages asked for under Pre-Depends and Depends, as
 * apt would install it but never by itself adding Essential packages or
 * Recommends: for each dependency, the first alternative that a package
 * chosen already satisfies, else the first one the index offers (a real
 * package at the highest version that satisfies the relation, or a
 * package that provides the name, the first by name), honouring version
 * relations on both; an excluded name is passed over, and a dependency whose
 * every alternative is excluded is dropped. *out: the chosen packages sorted
 * by name (pointers into idx; the array is owned by the caller).
 * TEMPER_E_MISSING names the package nobody offers and the chain of
 * dependencies that asked for it; TEMPER_E_POLICY names two versions of one
 * package that the dependencies want at once.
 */
int pkg_resolve(const struct pkg_index *idx, const struct pkg_request *req,
                const struct pkg_package ***out, size_t *n, struct temper_err *err);

/* ---- the lock (pkg_lock.c) ---- */

/* A repository as the recipe names it. */
struct pkg_repository {
    const char *url; /* "http(s)://..." or "apt" */
    const char *suite;
    const char *const *components;
    size_t ncomponents;
};

/* What a lock answers: the recipe's package sources. Architectures are Debian's names. */
struct pkg_inputs {
    const struct pkg_repository *repositories;
    size_t nrepositories;
    const char *const *keyrings; /* host paths; what counts is their bytes */
    size_t nkeyrings;
    const char *const *packages;
    size_t npackages;
    const char *const *exclude;
    size_t nexclude;
    const char *const *architectures;
    size_t narchitectures;
};

/* One package pinned. */
struct pkg_locked {
    char *name, *version, *architecture, *source, *source_version;
    char *filename; /* pool path */
    uint64_t size;
    char sha256[65];
    size_t repository; /* index into pkg_lock.repositories */
};

/* A suite as it was when locked: no URL (a lock made through one mirror builds through any). */
struct pkg_lock_repository {
    char *suite;
    char **components;
    size_t ncomponents;
    char *date;         /* the Release file's Date */
    char inrelease[72]; /* "sha256:<hex>" of the InRelease file resolved from */
};

struct pkg_lock_arch {
    char *name;                  /* Debian's: "amd64", "arm64" */
    struct pkg_locked *packages; /* sorted by name */
    size_t n;
};

struct pkg_lock {
    char inputs_digest[72]; /* "sha256:<hex>" of the canonical inputs */
    char *inputs;           /* the canonical inputs (JSON), to say what changed */
    struct pkg_lock_repository *repositories;
    size_t nrepositories;
    struct pkg_lock_arch *archs;
    size_t narchs;
};

/*
 * The canonical inputs of a lock (JSON with sorted keys: repositories by suite and components
 * in order, the keyrings' SHA-256, packages, exclude and architectures sorted) and their
 * digest. Reads the keyrings (host files, at most PKG_KEYRING_MAX_BYTES each).
 */
int pkg_inputs_canonical(const struct pkg_inputs *in, char **json, char digest[72],
                         struct temper_err *err);

/*
 * Reads a lock file (untrusted: it may have been edited), refusing what does not hold
 * together: TEMPER_E_PARSE naming the file and the member.
 */
int pkg_lock_load(const char *path, struct pkg_lock **out, struct temper_err *err);
/* The same from memory (`path` names it in messages). */
int pkg_lock_parse(const char *text, size_t len, const char *path, struct pkg_lock **out,
                   struct temper_err *err);
/* Writes it (sorted keys, indented: reviewable in a diff) to a temporary beside `path`,
 * synced, renamed over it: a reader sees the old lock or the new one. */
int pkg_lock_save(const struct pkg_lock *lock, const char *path, struct temper_err *err);
void pkg_lock_free(struct pkg_lock *lock);
/*
 * Whether `lock` answers `in`: 0 when it does; else -1 with TEMPER_E_POLICY saying what changed
 * since it was written (packages added or removed, another keyring, ...) and to run temper
 * lock.
 */
int pkg_lock_check(const struct pkg_lock *lock, const struct pkg_inputs *in, const char *path,
                   struct temper_err *err);
/* The locked packages of one architecture, or NULL. */
const struct pkg_lock_arch *pkg_lock_arch(const struct pkg_lock *lock, const char *arch);
/* Calls fn for each package whose version differs between two locks (NULL: absent), by
 * architecture, then name. */
void pkg_lock_changes(const struct pkg_lock *old, const struct pkg_lock *new,
                      void (*fn)(void *arg, const char *arch, const char *name,
                                 const char *old_version, const char *new_version),
                      void *arg);

/* ---- the archive, the cache and the root (pkg_archive.c, pkg_fetch.c, pkg_cache.c) ---- */

/* Where and how a lock is made and a root assembled. */
struct pkg_env {
    const char *gpgv;         /* "/usr/bin/gpgv" */
    const char *apt_dir;      /* "/etc/apt": sources for `url: apt` */
    const char *apt_archives; /* "/var/cache/apt/archives": .deb files taken when their digest
                                 matches; NULL: none */
    const char *cache_dir;    /* temper's cache (made when missing) */
    bool offline;             /* never fetch: the cache (and apt's) alone */
    unsigned jobs;            /* downloads at once */
    long timeout_ms;          /* the whole command's time with the network; 0: one hour */
    long stall_timeout_ms;    /* a transfer slower than 1 byte/s for this long fails; 0: 30 s */
    int64_t now;              /* seconds since 1970: Valid-Until is checked against it */
    /* Called as bytes arrive (done, total over every download of a call), or NULL. */
    void (*progress)(void *arg, uint64_t done, uint64_t total);
    void *progress_arg;
};

/*
 * Makes the lock of `in`: for each repository its InRelease (checked with gpgv against the
 * keyrings; Valid-Until honoured), the Packages index of each component and architecture
 * (checked against InRelease's SHA-256), then each architecture's packages chosen
 * (pkg_resolve). With `previous` and not `update`, the versions it pins are kept where the
 * archive still offers them; with `previous` in any case, an InRelease older than the one it
 * was made from is refused (a replay), as is one naming another suite. Writes nothing.
 */
int pkg_lock_make(const struct pkg_inputs *in, const char *inputs_json, const char *inputs_digest,
                  const struct pkg_lock *previous, bool update, const struct pkg_env *env,
                  struct pkg_lock **out, struct temper_err *err);

/*
 * The root unpacked from the packages `lock` pins for `arch`, in the cache: made when missing
 * (each .deb taken from the cache, from apt's, or fetched through `repositories`, checked
 * against the lock's SHA-256 when written and when read; unpacked into a directory of its own
 * that is renamed into place only when whole). *dir is its path, owned by the caller.
 */
int pkg_root_for(const struct pkg_lock *lock, const char *arch,
                 const struct pkg_repository *repositories, size_t nrepositories,
                 const struct pkg_env *env, char **dir, struct temper_err *err);

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
