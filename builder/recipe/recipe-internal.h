/*
 * recipe-internal: what the files of the recipe module share.
 *
 * recipe_yaml.c turns one file's bytes into a small tree of nodes (struct
 * ynode), rejecting what the vocabulary never needs (aliases, anchors, tags,
 * several documents); recipe_value.c checks single values (strings, paths,
 * integers, booleans); recipe_keys.c applies a file's keys onto the struct
 * recipe being composed, and recipe_packages.c the keys of package sources;
 * recipe.c reads files, follows includes and checks the whole;
 * recipe_glob.c matches exclude patterns.
 *
 * Every node, and every recipe_loc made from one, points at a file name owned
 * by the recipe (struct recipe_internal), so a node may be freed long before
 * the recipe and its locations stay valid.
 */
#ifndef TEMPER_RECIPE_INTERNAL_H
#define TEMPER_RECIPE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "recipe.h"

/* What the recipe owns besides its public fields. */
struct recipe_internal {
    char **files; /* every file name a recipe_loc points at */
    size_t nfiles;
    struct recipe_loc level_loc; /* where `level` was set, for the check against compression */
    struct recipe_loc compression_loc; /* where `compression` was set */
};

enum ynode_kind {
    YNODE_SCALAR,
    YNODE_LIST,
    YNODE_MAP,
};

/*
 * One YAML node. A scalar has its text (NUL-terminated, and `len` bytes long
 * since a double-quoted "\0" may put a NUL inside); a list has `n` items; a
 * map has `n` keys (scalars, distinct) and `n` values.
 */
struct ynode {
    enum ynode_kind kind;
    struct recipe_loc loc;
    char *text;
    size_t len;
    bool is_plain; /* a plain scalar, neither quoted nor a block scalar (| or >) */
    bool is_null;  /* a plain scalar spelled "", "~" or "null" (YAML 1.2 core schema) */
    struct ynode **items;
    struct ynode **keys;
    size_t n;
};

void ynode_free(struct ynode *node);

#define cleanup_ynode __attribute__((cleanup(ynode_freep)))
static inline void
ynode_freep(struct ynode **p)
{
    ynode_free(*p);
}

/*
 * Parses one YAML document of `len` bytes. `file` names it in every location
 * (it is retained: the caller keeps it alive as long as the nodes and any
 * location copied from them). *nodes_left is the node budget, shared with the
 * other files of a load (RECIPE_MAX_NODES); each node takes one. On success
 * *out is the root node, owned by the caller, or NULL for a stream without a
 * document.
 */
int recipe_yaml_parse(const char *text, size_t len, const char *file, size_t *nodes_left,
                      struct ynode **out, struct temper_err *err);

/*
 * Sets err to TEMPER_E_PARSE (or `code`) with the formatted message, then
 * prefixes loc as recipe_err_at does; returns -1.
 */
int recipe_fail(struct temper_err *err, const struct recipe_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int recipe_fail_code(struct temper_err *err, enum temper_errc code, const struct recipe_loc *loc,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Writes `len` bytes of s into out (`size` bytes) for quoting in a message:
 * control bytes and quotes escaped as \xNN, truncated with "..." past 80
 * bytes. Returns out.
 */
const char *recipe_show(char *out, size_t size, const char *s, size_t len);
#define RECIPE_SHOW_MAX 128

/* "a map", "a list", "a string" or "nothing" (a null scalar): for type errors. */
const char *ynode_kind_name(const struct ynode *node);

/*
 * Value checks of recipe_value.c. `what` names the key in messages
 * ("contents.binaries"). Each returns 0, or -1 with a message at the node.
 */
int recipe_need_kind(const struct ynode *node, enum ynode_kind kind, const char *what,
                     struct temper_err *err);
/* A non-null scalar without NUL bytes; *out borrows the node's text. */
int recipe_get_text(const struct ynode *node, const char *what, const char **out,
                    struct temper_err *err);
/* Frees what a test holds (not the test itself). */
void recipe_test_release(struct recipe_test *t);
/* Makes a recipe_str of a text value (a copy) at the node's location. */
void recipe_str_set(struct recipe_str *str, const struct ynode *node);
/* Appends a copy of a text node to a list; empties a list. */
void recipe_strlist_append(struct recipe_strlist *list, const struct ynode *node);
void recipe_strlist_clear(struct recipe_strlist *list);
/*
 * An absolute path: starts with '/', no empty, "." or ".." component, no
 * trailing slash (except "/" itself when allow_root), shorter than
 * TEMPER_PATH_MAX.
 */
int recipe_check_path(const struct ynode *node, const char *what, bool allow_root,
                      struct temper_err *err);
/* An unsigned decimal integer (plain scalar) of at most max. */
int recipe_get_uint(const struct ynode *node, const char *what, uint64_t max, uint64_t *out,
                    struct temper_err *err);
/* Permission bits: octal as 0o755 or 0755 (or 0), at most 07777. */
int recipe_get_mode(const struct ynode *node, const char *what, uint32_t *out,
                    struct temper_err *err);
/* true or false (plain scalars). */
int recipe_get_bool(const struct ynode *node, const char *what, bool *out, struct temper_err *err);

/*
 * Applies every key of a recipe file's root map but `include` onto r: scalars
 * replace, lists append, maps merge (recipe.h). Returns 0 or -1; on failure r
 * may hold part of the file's values, and is only fit for recipe_free.
 */
int recipe_apply_keys(struct recipe *r, const struct ynode *root, struct temper_err *err);

/* Checks that root is a map of known top-level keys; returns its `include` value or NULL. */
int recipe_root_includes(const struct ynode *root, const struct ynode **include,
                         struct temper_err *err);

/*
 * Checks that node is a map whose keys are all in `keys` (an unknown one is refused, naming
 * every allowed one, so that a typo is one look away from its fix), and sets vals[i] to the
 * value of keys[i], or NULL when absent. `what` names the map ("" for the top).
 */
int recipe_map_fields(const struct ynode *node, const char *what, const char *const *keys,
                      size_t nkeys, const struct ynode **vals, struct temper_err *err);

/* Grows an array of n elements of `size` bytes for one more, doubling at powers of two. */
void *recipe_grow(void *items, size_t n, size_t size);

/*
 * The package-source keys (recipe_packages.c): contents.repositories, contents.keyring,
 * contents.packages and contents.exclude (each value or NULL when absent; lists append, and a
 * package named twice counts once), and the top-level `architectures` (replaced by a later
 * file). recipe_check_packages checks the whole once every file is applied.
 */
int recipe_apply_package_contents(struct recipe *r, const struct ynode *repositories,
                                  const struct ynode *keyring, const struct ynode *packages,
                                  const struct ynode *exclude, struct temper_err *err);
int recipe_set_architectures(struct recipe *r, const struct ynode *node, struct temper_err *err);
int recipe_check_packages(const struct recipe *r, struct temper_err *err);
/* Whether `arch` is one of the GOARCH names OCI images are made for (the `architecture` key). */
bool recipe_is_architecture(const char *arch);

#endif
