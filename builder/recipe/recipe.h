/*
 * recipe: a YAML recipe, with everything it includes, turned into plain data.
 *
 * The vocabulary mirrors apko's configuration (name, include, contents
 * with repositories, keyring and packages, accounts, paths, entrypoint, cmd,
 * work-dir, environment, annotations, architectures), plus what temper adds
 * (hardening, compression, epoch, architecture, contents.exclude).
 * recipes/README.md documents every key.
 *
 * Composition: `include` names other recipes, relative to the including
 * file's directory, loaded first and in order; then the including file's own
 * keys apply. A scalar key set later overrides an earlier one (entrypoint,
 * cmd, work-dir and architectures count as scalars); lists append (binaries,
 * files, trees, libraries, repositories, keyring, packages, exclude, groups,
 * users, paths); maps merge key by key, later values
 * winning (environment, annotations); hardening is a map too, and its
 * `require` a list (requirements add up). A file included twice (a diamond:
 * A includes B and C, both include D) is loaded once, where first reached. An
 * include cycle is an error.
 *
 * Validation happens here, before anything is read from a root: an unknown
 * key, a wrong type, a relative path or one with a "." or ".." component, a
 * duplicate user name or uid, a duplicate group name or gid, a duplicate
 * entry of `paths`, a run-as user that is not defined: each is
 * TEMPER_E_PARSE with "FILE:LINE:COLUMN: ..." at the start of the message
 * (lines and columns count from 1). Every value keeps where it was written
 * (struct recipe_loc), so that later stages can point at it too, e.g. for a
 * path missing from the root.
 *
 * Defaults applied by recipe_load when the recipes leave them out: the
 * group `nonroot` (gid 65532) and user `nonroot` (uid and gid 65532, home
 * /home/nonroot, shell /sbin/nologin) when no user is defined, run-as the
 * only user defined (or `nonroot`), tag "latest".
 *
 * The whole struct recipe is owned by the caller of recipe_load; every
 * string in it belongs to it and goes with recipe_free.
 */
#ifndef TEMPER_RECIPE_H
#define TEMPER_RECIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Where a value was written: file as the user named it (include paths joined to their parent's
 * directory), line and column from 1. A default value has the top recipe's file and line and
 * column 0. */
struct recipe_loc {
    const char *file;
    unsigned line;
    unsigned column;
};

/* A string value and where it was written. */
struct recipe_str {
    char *value;
    struct recipe_loc loc;
};

struct recipe_strlist {
    struct recipe_str *items;
    size_t n;
};

/* A key: value map, in the order keys were first set (a later value replaces an earlier one in
 * place). Keys are unique. */
struct recipe_map {
    struct recipe_str *keys;
    struct recipe_str *values;
    size_t n;
};

struct recipe_tree {
    struct recipe_str path;
    struct recipe_strlist exclude; /* glob patterns, relative to path: see recipe_glob_match */
};

/* An entry of contents.repositories: a Debian archive and one suite of it. */
struct recipe_repository {
    struct recipe_str url;            /* "http(s)://..." or "apt" (this machine's apt sources) */
    struct recipe_str suite;          /* "bookworm", "bookworm-security" */
    struct recipe_strlist components; /* default [main] */
};

struct recipe_group {
    struct recipe_str name;
    uint32_t gid;
};

struct recipe_user {
    struct recipe_str name;
    uint32_t uid;
    uint32_t gid;            /* default: the uid */
    struct recipe_str home;  /* default /home/<name> */
    struct recipe_str shell; /* default /sbin/nologin */
};

enum recipe_path_type {
    RECIPE_PATH_DIRECTORY,
    RECIPE_PATH_FILE,
    RECIPE_PATH_SYMLINK,
};

/* An entry of `paths`: something the image gets that the root does not provide. */
struct recipe_path {
    struct recipe_str path;
    enum recipe_path_type type;
    uint32_t uid, gid;    /* default 0 */
    uint32_t permissions; /* 0o7777 bits; default 0755 for directories, 0644 for files; 0777 for
                             symlinks, which take no uid, gid or permissions */
    bool has_permissions;
    char *content; /* file: its bytes (may hold NUL), content_len of them, then a NUL; else NULL */
    size_t content_len;
    struct recipe_str target; /* symlink: the target text as written; else value NULL */
};

/* `layering.strategy`: how the image is cut into layers. */
enum recipe_layering {
    RECIPE_LAYERING_SINGLE,   /* one layer (the default) */
    RECIPE_LAYERING_INCLUDES, /* a layer per recipe file, innermost include first */
};

enum recipe_compression {
    RECIPE_COMPRESSION_UNSET,
    RECIPE_COMPRESSION_GZIP,
    RECIPE_COMPRESSION_ZSTD,
};

/* Bits of recipe.hardening.require. */
enum {
    RECIPE_REQUIRE_PIE = 1u << 0,   /* every ELF executable is position-independent */
    RECIPE_REQUIRE_RELRO = 1u << 1, /* every ELF file has full RELRO (PT_GNU_RELRO + BIND_NOW) */
    RECIPE_REQUIRE_NX = 1u << 2,    /* every ELF file has a non-executable stack */
};

/* One of `tests`: a command run in the image before the build writes it (run/sandbox.h). */
struct recipe_test {
    struct recipe_strlist command; /* argv: an absolute path, then its arguments */
    struct recipe_str output;      /* `stdout`: an extended regular expression (regex(7)) the
                                    * standard output must match somewhere; value NULL: any */
    struct recipe_str user;        /* a user of accounts.users; value NULL: the run-as user */
    unsigned timeout_s;            /* 1..3600, default RECIPE_TEST_TIMEOUT_S */
    /* `native-only`: not run under qemu-user, where a program of the image cannot start another
     * one (that needs binfmt_misc): a test of what a subprocess answers, such as find_library. */
    bool native_only;
    struct recipe_loc loc;
};

#define RECIPE_TEST_TIMEOUT_S 60
/* The longest character set name of contents.gconv (glibc's longest is under 40 bytes). */
#define RECIPE_GCONV_NAME_MAX 64

struct recipe {
    struct recipe_str name; /* required: [a-z0-9] with . _ - inside, at most 128 bytes */
    struct recipe_str tag;  /* default "latest" */

    struct recipe_strlist binaries; /* contents.binaries: ELF files, with closure */
    struct recipe_strlist files;    /* contents.files: taken as they are */
    struct recipe_tree *trees;      /* contents.trees */
    size_t ntrees;
    struct recipe_strlist libraries; /* contents.libraries: sonames, found on the search path */
    /* contents.gconv: character sets whose gconv modules iconv_open may load; has_gconv tells an
     * empty list ("none") from no key (a warning when a file imports iconv_open). */
    struct recipe_strlist gconv;
    bool has_gconv;
    /* contents.ca-certificates: PEM files of the root trusted besides the ca-certificates
     * package's own, appended to the bundle temper makes (rootfs_cabundle.c) */
    struct recipe_strlist ca_certificates;

    /* Package sources: with packages, the root of the build is these packages unpacked (their
     * dependency closure, as the lock pins it), never the host. */
    struct recipe_repository *repositories; /* contents.repositories */
    size_t nrepositories;
    struct recipe_strlist keyring;       /* contents.keyring: host paths of OpenPGP keyrings */
    struct recipe_strlist packages;      /* contents.packages: Debian package names, each once */
    struct recipe_strlist exclude;       /* contents.exclude: packages cut from the closure */
    struct recipe_strlist architectures; /* `architectures`: GOARCH names to lock; empty: unset */

    struct recipe_group *groups;
    size_t ngroups;
    struct recipe_user *users;
    size_t nusers;
    struct recipe_str run_as; /* a user name from users */

    struct recipe_path *paths;
    size_t npaths;

    struct recipe_strlist entrypoint; /* entrypoint.command: a string is one element */
    struct recipe_strlist cmd;
    struct recipe_str work_dir; /* value NULL when unset */
    struct recipe_test *tests;  /* `tests`, from the includes first */
    size_t ntests;
    struct recipe_map environment;
    struct recipe_map annotations;

    bool allow_setuid;
    bool allow_shell;
    unsigned require; /* RECIPE_REQUIRE_* bits */

    /* `sbom`: what scanners and auditors read in the image, each on unless set to false:
     * `os-release` (/etc/os-release, /etc/debian_version), `copyright` (each package's). */
    bool omit_os_release;
    bool omit_copyright;
    /* `ld-so-cache: false`: no /etc/ld.so.cache (rootfs_ldcache.c) */
    bool omit_ld_cache;

    enum recipe_layering layering;
    enum recipe_compression compression;
    int level; /* compression level, 0 when unset */
    bool has_epoch;
    int64_t epoch;                  /* seconds since 1970, >= 0 */
    struct recipe_str architecture; /* OCI name ("amd64", "arm64", ...); value NULL when unset */

    /* What recipe_load keeps besides: the file names every loc points at. NULL in a recipe
     * built by hand, which recipe_free accepts too. */
    struct recipe_internal *internal;
};

/*
 * Loads the recipe at `path` (a host path) and everything it includes. At
 * most RECIPE_MAX_BYTES per file and RECIPE_INCLUDE_DEPTH levels. On success
 * *out is owned by the caller.
 */
int recipe_load(const char *path, struct recipe **out, struct temper_err *err);

/*
 * The same from memory: `name` stands for the file in messages and is the
 * base for relative includes (which are read from disk).
 */
int recipe_parse(const char *text, size_t len, const char *name, struct recipe **out,
                 struct temper_err *err);

void recipe_free(struct recipe *recipe);

/* One file of a recipe and what the files up to it compose. */
struct recipe_part {
    struct recipe *recipe;
    char *file; /* the file's name, as recipe_loc names it */
};

/*
 * The recipe at `path` part by part, for an image layered by its includes:
 * one part per file, in the order their keys apply (the innermost include
 * first, the file at `path` last). Part k is the recipe files 0..k compose,
 * so that it does not depend on what comes after it; the last is the whole
 * recipe, loaded and checked as recipe_load does. A part is checked as far
 * as its plan needs (rootfs_plan_build) and takes the whole's name and
 * architecture where it sets none. Release with recipe_parts_free.
 */
int recipe_load_parts(const char *path, struct recipe_part **out, size_t *n,
                      struct temper_err *err);
void recipe_parts_free(struct recipe_part *parts, size_t n);

/*
 * Whether `path` (relative to a tree, no leading slash) matches the exclude
 * pattern `pattern`: `*` matches within one component, `?` one byte,
 * `**` any number of whole components (so "**" + "/__pycache__" matches
 * __pycache__ at any depth and "test/" + "**" everything under test), and a
 * pattern that matches a directory excludes everything under it.
 */
bool recipe_glob_match(const char *pattern, const char *path);

/* Formats "FILE:LINE:COLUMN" of loc ("FILE" when line is 0) into err's message as a prefix, as
 * temper_err_prefix does; returns -1. */
int recipe_err_at(struct temper_err *err, const struct recipe_loc *loc);

#define cleanup_recipe __attribute__((cleanup(recipe_freep)))
static inline void
recipe_freep(struct recipe **p)
{
    recipe_free(*p);
}

#endif
