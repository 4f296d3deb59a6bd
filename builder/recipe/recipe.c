/*
 * Loading a recipe: reading its files, following includes, checking the
 * composed whole and filling in defaults.
 *
 * Includes are followed depth first, each before the keys of the file that
 * names it (recipe.h). A file is loaded at most once per recipe_load, however
 * many files include it: a diamond (A includes B and C, both include D) takes
 * D's values once, where it is first reached, so D's users and paths are not
 * defined twice. Files are told apart by device and inode, so "d.yaml" and
 * "./d.yaml" are one file. A file included again while it is still being
 * loaded is a cycle, an error naming the chain.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/strmap.h"
#include "base/xalloc.h"
#include "recipe-internal.h"

#define DEFAULT_ID 65532u
#define DEFAULT_ACCOUNT "nonroot"

struct file_id {
    bool known; /* false for a recipe_parse text whose name is not a file */
    dev_t dev;
    ino_t ino;
    const char *name;
};

struct loader {
    struct recipe *r;
    struct file_id chain[RECIPE_INCLUDE_DEPTH + 1]; /* the files being loaded, outermost first */
    size_t depth;
    struct file_id *loaded; /* every file loaded so far */
    size_t nloaded;
    size_t nodes_left;
    size_t bytes_total;
    /* Files whose keys applied, in that order (an include's before its parent's), and how many
     * may apply: recipe_load_parts composes the first k of them. */
    const char **applied;
    size_t napplied;
    size_t stop_after;
};

int
recipe_err_at(struct temper_err *err, const struct recipe_loc *loc)
{
    if (loc == NULL || loc->file == NULL)
        return temper_err_prefix(err, "recipe");
    if (loc->line == 0)
        return temper_err_prefix(err, "%s", loc->file);
    return temper_err_prefix(err, "%s:%u:%u", loc->file, loc->line, loc->column);
}

/* Makes the recipe own `name` (a copy), for the locations that will point at it. */
static const char *
own_file_name(struct recipe *r, const char *name)
{
    struct recipe_internal *in = r->internal;

    in->files = recipe_grow(in->files, in->nfiles, sizeof(*in->files));
    in->files[in->nfiles] = xstrdup(name);
    return in->files[in->nfiles++];
}

static int
open_recipe(const char *path, struct stat *st, struct temper_err *err)
{
    /* O_NONBLOCK: a fifo named as a recipe must not hang the build; it is refused below. */
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open recipe '%s'", path);
    if (fstat(fd, st) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot stat recipe '%s'", path);
    if (!S_ISREG(st->st_mode))
        return temper_err_set(err, TEMPER_E_IO, S_ISDIR(st->st_mode) ? EISDIR : EINVAL,
                              "recipe '%s' is not a regular file", path);
    if (st->st_size > RECIPE_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "recipe '%s' is %jd bytes, over the limit of %d", path,
                              (intmax_t)st->st_size, RECIPE_MAX_BYTES);
    return steal_fd(&fd);
}

/* Reads the whole file, at most RECIPE_MAX_BYTES even if it grows while being read. */
static int
read_recipe(int fd, const char *path, off_t size, char **out, size_t *len, struct temper_err *err)
{
    size_t cap = (size_t)size + 1, n = 0;
    cleanup_free char *buf = xmalloc(cap);

    for (;;) {
        ssize_t got;

        if (n == cap) {
            if (cap > RECIPE_MAX_BYTES)
                return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                      "recipe '%s' is over the limit of %d bytes", path,
                                      RECIPE_MAX_BYTES);
            cap = cap * 2 > RECIPE_MAX_BYTES + 1 ? RECIPE_MAX_BYTES + 1 : cap * 2;
            buf = xreallocarray(buf, cap, 1);
        }
        got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read recipe '%s'", path);
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *out = steal_pointer(&buf);
    *len = n;
    return 0;
}

static bool
same_file(const struct file_id *a, const struct file_id *b)
{
    return a->known && b->known && a->dev == b->dev && a->ino == b->ino;
}

static int load_text(struct loader *ld, const char *name, const char *text, size_t len,
                     const struct file_id *id, struct temper_err *err);

/* "include cycle 'a.yaml' -> 'b.yaml' -> 'a.yaml'", from the chain entry `from` on. */
static int
cycle_error(const struct loader *ld, size_t from, const char *path, const struct recipe_loc *loc,
            struct temper_err *err)
{
    char chain[768];
    size_t used = 0;

    chain[0] = '\0';
    for (size_t i = from; i < ld->depth && used < sizeof(chain); i++) {
        int n = snprintf(chain + used, sizeof(chain) - used, "'%s' -> ", ld->chain[i].name);
        if (n > 0)
            used += (size_t)n;
    }
    return recipe_fail(err, loc, "include cycle %s'%s': remove one of these includes", chain, path);
}

/* Joins an include to the directory of the file that names it; absolute includes stay. */
static int
include_path(const char *parent, const struct ynode *item, char *out, struct temper_err *err)
{
    const char *slash = strrchr(parent, '/');
    size_t dir_len = item->text[0] == '/' || slash == NULL ? 0 : (size_t)(slash - parent) + 1;
    char shown[RECIPE_SHOW_MAX];

    if (dir_len + item->len >= TEMPER_PATH_MAX)
        return recipe_fail_code(
            err, TEMPER_E_LIMIT, &item->loc, "include '%s' makes a path longer than %d bytes",
            recipe_show(shown, sizeof(shown), item->text, item->len), TEMPER_PATH_MAX - 1);
    memcpy(out, parent, dir_len);
    memcpy(out + dir_len, item->text, item->len + 1);
    return 0;
}

static int
load_include(struct loader *ld, const char *parent, const struct ynode *item,
             struct temper_err *err)
{
    char path[TEMPER_PATH_MAX];
    cleanup_close int fd = -1;
    cleanup_free char *text = NULL;
    struct file_id id = {.known = true};
    struct stat st;
    const char *s;
    size_t len;

    if (recipe_get_text(item, "include", &s, err) < 0)
        return -1;
    if (item->len == 0)
        return recipe_fail(err, &item->loc, "'include' names an empty file name: remove it");
    if (include_path(parent, item, path, err) < 0)
        return -1;
    fd = open_recipe(path, &st, err);
    if (fd < 0)
        return recipe_err_at(err, &item->loc);
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    for (size_t i = 0; i < ld->depth; i++) {
        if (same_file(&ld->chain[i], &id))
            return cycle_error(ld, i, path, &item->loc, err);
    }
    for (size_t i = 0; i < ld->nloaded; i++) {
        if (same_file(&ld->loaded[i], &id))
            return 0;
    }
    if (ld->depth > RECIPE_INCLUDE_DEPTH)
        return recipe_fail_code(err, TEMPER_E_LIMIT, &item->loc,
                                "include '%s' nests more than %d levels deep", path,
                                RECIPE_INCLUDE_DEPTH);
    if (read_recipe(fd, path, st.st_size, &text, &len, err) < 0)
        return recipe_err_at(err, &item->loc);
    if (len > RECIPE_TOTAL_MAX_BYTES - ld->bytes_total)
        return recipe_fail_code(err, TEMPER_E_LIMIT, &item->loc,
                                "include '%s' takes the recipe over %d bytes in all", path,
                                RECIPE_TOTAL_MAX_BYTES);
    ld->bytes_total += len;
    id.name = own_file_name(ld->r, path);
    return load_text(ld, id.name, text, len, &id, err);
}

/* Parses one file, loads what it includes, then applies its own keys. */
static int
load_text(struct loader *ld, const char *name, const char *text, size_t len,
          const struct file_id *id, struct temper_err *err)
{
    cleanup_ynode struct ynode *root = NULL;
    const struct ynode *include = NULL;
    struct recipe_loc start = {name, 1, 1};
    int rc = 0;

    if (recipe_yaml_parse(text, len, name, &ld->nodes_left, &root, err) < 0)
        return -1;
    if (root == NULL)
        return recipe_fail(err, &start, "recipe is empty: write at least 'name: IMAGE'");
    if (root->kind != YNODE_MAP)
        return recipe_fail(err, &root->loc,
                           "a recipe must be a map of keys (name, contents, ...), found %s",
                           ynode_kind_name(root));
    if (recipe_root_includes(root, &include, err) < 0)
        return -1;
    if (ld->napplied == ld->stop_after)
        return 0;
    ld->loaded = recipe_grow(ld->loaded, ld->nloaded, sizeof(*ld->loaded));
    ld->loaded[ld->nloaded++] = *id;
    if (include != NULL) {
        if (include->kind == YNODE_SCALAR && !include->is_null) {
            ld->chain[ld->depth++] = *id;
            rc = load_include(ld, name, include, err);
            ld->depth--;
        } else if (recipe_need_kind(include, YNODE_LIST, "include", err) < 0) {
            return -1;
        }
        for (size_t i = 0; rc == 0 && include->kind == YNODE_LIST && i < include->n; i++) {
            ld->chain[ld->depth++] = *id;
            rc = load_include(ld, name, include->items[i], err);
            ld->depth--;
        }
        if (rc < 0)
            return -1;
    }
    if (ld->napplied == ld->stop_after)
        return 0;
    ld->applied = recipe_grow(ld->applied, ld->napplied, sizeof(*ld->applied));
    ld->applied[ld->napplied++] = name;
    return recipe_apply_keys(ld->r, root, err);
}

/* Reports the second of two entries with the same key, with where the first was. */
static int
check_unique(struct strmap *seen, const char *key, const struct recipe_loc *loc, const char *what,
             struct temper_err *err)
{
    const struct recipe_loc *first = strmap_get(seen, key);
    char shown[RECIPE_SHOW_MAX];

    if (first == NULL) {
        strmap_put(seen, key, (void *)loc);
        return 0;
    }
    return recipe_fail(err, loc, "duplicate %s '%s' (first at %s:%u:%u): remove one", what,
                       recipe_show(shown, sizeof(shown), key, strlen(key)), first->file,
                       first->line, first->column);
}

/* Duplicate groups, users and paths, across every file of the recipe. */
static int
check_duplicates(const struct recipe *r, struct temper_err *err)
{
    struct strmap names = STRMAP_INIT, ids = STRMAP_INIT, paths = STRMAP_INIT;
    struct strmap unames = STRMAP_INIT, uids = STRMAP_INIT;
    char id[16];
    int rc = -1;

    for (size_t i = 0; i < r->ngroups; i++) {
        const struct recipe_group *g = &r->groups[i];

        snprintf(id, sizeof(id), "%" PRIu32, g->gid);
        if (check_unique(&names, g->name.value, &g->name.loc, "group name", err) < 0 ||
            check_unique(&ids, id, &g->name.loc, "gid", err) < 0)
            goto out;
    }
    for (size_t i = 0; i < r->nusers; i++) {
        const struct recipe_user *u = &r->users[i];

        snprintf(id, sizeof(id), "%" PRIu32, u->uid);
        if (check_unique(&unames, u->name.value, &u->name.loc, "user name", err) < 0 ||
            check_unique(&uids, id, &u->name.loc, "uid", err) < 0)
            goto out;
    }
    for (size_t i = 0; i < r->npaths; i++) {
        if (check_unique(&paths, r->paths[i].path.value, &r->paths[i].path.loc, "path in 'paths'",
                         err) < 0)
            goto out;
    }
    rc = 0;
out:
    strmap_release(&names, NULL);
    strmap_release(&ids, NULL);
    strmap_release(&unames, NULL);
    strmap_release(&uids, NULL);
    strmap_release(&paths, NULL);
    return rc;
}

static void
set_default(struct recipe_str *str, const char *value, const struct recipe_loc *loc)
{
    free(str->value);
    str->value = xstrdup(value);
    str->loc = *loc;
}

/*
 * The non-root account of distroless images when the recipes define no user:
 * user nonroot (65532:65532), and group nonroot unless a group already has
 * that name or gid.
 */
static void
add_default_accounts(struct recipe *r, const struct recipe_loc *loc)
{
    bool has_group = false;

    for (size_t i = 0; i < r->ngroups; i++)
        has_group |=
            r->groups[i].gid == DEFAULT_ID || strcmp(r->groups[i].name.value, DEFAULT_ACCOUNT) == 0;
    if (!has_group) {
        r->groups = recipe_grow(r->groups, r->ngroups, sizeof(*r->groups));
        r->groups[r->ngroups] = (struct recipe_group){.gid = DEFAULT_ID};
        set_default(&r->groups[r->ngroups++].name, DEFAULT_ACCOUNT, loc);
    }
    r->users = xcalloc(1, sizeof(*r->users));
    r->nusers = 1;
    r->users[0].uid = r->users[0].gid = DEFAULT_ID;
    set_default(&r->users[0].name, DEFAULT_ACCOUNT, loc);
    set_default(&r->users[0].home, "/home/" DEFAULT_ACCOUNT, loc);
    set_default(&r->users[0].shell, "/sbin/nologin", loc);
}

static const struct recipe_user *
find_user(const struct recipe *r, const char *name)
{
    for (size_t i = 0; i < r->nusers; i++) {
        if (strcmp(r->users[i].name.value, name) == 0)
            return &r->users[i];
    }
    return NULL;
}

static int
check_run_as(struct recipe *r, const struct recipe_loc *top, struct temper_err *err)
{
    const struct recipe_loc start = {top->file, 1, 1};
    char shown[RECIPE_SHOW_MAX];

    if (r->run_as.value == NULL) {
        const struct recipe_user *u = r->nusers == 1 ? &r->users[0] : find_user(r, DEFAULT_ACCOUNT);
        if (u == NULL)
            return recipe_fail(err, &start,
                               "%zu users and no 'accounts.run-as': add run-as naming the one "
                               "that runs the entrypoint",
                               r->nusers);
        set_default(&r->run_as, u->name.value, top);
        return 0;
    }
    if (find_user(r, r->run_as.value) != NULL)
        return 0;
    /* apko takes a uid too ("run-as: 65532"): the user of accounts.users with that uid */
    if (r->run_as.value[0] != '\0' &&
        strspn(r->run_as.value, "0123456789") == strlen(r->run_as.value)) {
        for (size_t i = 0; i < r->nusers; i++) {
            char uid[16];

            snprintf(uid, sizeof(uid), "%u", r->users[i].uid);
            if (strcmp(uid, r->run_as.value) == 0) {
                free(r->run_as.value);
                r->run_as.value = xstrdup(r->users[i].name.value);
                return 0;
            }
        }
        return recipe_fail(
            err, &r->run_as.loc,
            "run-as uid %s is no user's of accounts.users: add a user with that "
            "uid, or name one that is there",
            recipe_show(shown, sizeof(shown), r->run_as.value, strlen(r->run_as.value)));
    }
    return recipe_fail(
        err, &r->run_as.loc,
        "run-as user '%s' is not defined: add it to accounts.users or run as one that is",
        recipe_show(shown, sizeof(shown), r->run_as.value, strlen(r->run_as.value)));
}

/* A test runs as a user the image has. */
static int
check_test_users(const struct recipe *r, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];

    for (size_t i = 0; i < r->ntests; i++) {
        const struct recipe_str *user = &r->tests[i].user;

        if (user->value != NULL && find_user(r, user->value) == NULL)
            return recipe_fail(
                err, &user->loc,
                "tests.user '%s' is not defined: add it to accounts.users or leave 'user' out "
                "to run as the run-as user",
                recipe_show(shown, sizeof(shown), user->value, strlen(user->value)));
    }
    return 0;
}

/* Checks what only the whole recipe shows, then fills in the defaults (recipe.h). */
static int
finish(struct recipe *r, const char *top_name, struct temper_err *err)
{
    const struct recipe_loc top = {top_name, 0, 0}, start = {top_name, 1, 1};
    const struct recipe_internal *in = r->internal;

    if (r->name.value == NULL)
        return recipe_fail(err, &start, "recipe has no 'name': add name: IMAGE");
    if (check_duplicates(r, err) < 0 || recipe_check_packages(r, err) < 0)
        return -1;
    if (r->nusers == 0)
        add_default_accounts(r, &top);
    if (check_run_as(r, &top, err) < 0 || check_test_users(r, err) < 0)
        return -1;
    if (r->tag.value == NULL)
        set_default(&r->tag, "latest", &top);
    if (r->level > 12 && r->compression != RECIPE_COMPRESSION_ZSTD)
        return recipe_fail(err, &in->level_loc,
                           "'level' %d is over 12, the most for gzip: lower it, or set "
                           "compression: zstd (levels up to 19)",
                           r->level);
    return 0;
}

/*
 * A part of a layered recipe: only what its plan reads has to be whole. The
 * package checks are the whole recipe's (a part may hold the repositories
 * without the packages), and a part takes the whole's name, architecture and
 * run-as user where it has none.
 */
static int
finish_part(struct recipe *r, const struct recipe *whole, const char *top_name,
            struct temper_err *err)
{
    const struct recipe_loc top = {top_name, 0, 0};

    if (r->name.value == NULL)
        set_default(&r->name, whole->name.value, &top);
    if (r->architecture.value == NULL && whole->architecture.value != NULL)
        set_default(&r->architecture, whole->architecture.value, &top);
    if (r->nusers == 0)
        add_default_accounts(r, &top);
    if (r->run_as.value == NULL && r->nusers > 1)
        set_default(&r->run_as, r->users[0].name.value, &top);
    return check_run_as(r, &top, err) < 0 || check_duplicates(r, err) < 0 ? -1 : 0;
}

/* Loads the text and what it includes, applying the keys of the first `stop_after` files; the
 * names of the files applied go to *applied (when not NULL), in order. */
static int
load_top(const char *text, size_t len, const char *name, const struct file_id *top_id,
         size_t stop_after, const struct recipe *whole, struct recipe **out, char ***applied,
         size_t *napplied, struct temper_err *err)
{
    cleanup_recipe struct recipe *r = xcalloc(1, sizeof(*r));
    struct loader ld = {
        .r = r, .nodes_left = RECIPE_MAX_NODES, .bytes_total = len, .stop_after = stop_after};
    struct file_id id = *top_id;
    int rc;

    r->internal = xcalloc(1, sizeof(*r->internal));
    id.name = own_file_name(r, name);
    rc = load_text(&ld, id.name, text, len, &id, err);
    free(ld.loaded);
    if (rc == 0)
        rc = whole ? finish_part(r, whole, id.name, err) : finish(r, id.name, err);
    if (rc == 0 && applied != NULL) {
        *applied = xcalloc(ld.napplied + 1, sizeof(**applied));
        for (size_t i = 0; i < ld.napplied; i++)
            (*applied)[i] = xstrdup(ld.applied[i]);
        *napplied = ld.napplied;
    }
    free(ld.applied);
    if (rc < 0)
        return -1;
    *out = steal_pointer(&r);
    return 0;
}

int
recipe_load(const char *path, struct recipe **out, struct temper_err *err)
{
    cleanup_close int fd = -1;
    cleanup_free char *text = NULL;
    struct file_id id = {.known = true};
    struct stat st;
    size_t len;

    fd = open_recipe(path, &st, err);
    if (fd < 0 || read_recipe(fd, path, st.st_size, &text, &len, err) < 0)
        return -1;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    return load_top(text, len, path, &id, SIZE_MAX, NULL, out, NULL, NULL, err);
}

void
recipe_parts_free(struct recipe_part *parts, size_t n)
{
    for (size_t i = 0; parts != NULL && i < n; i++) {
        recipe_free(parts[i].recipe);
        free(parts[i].file);
    }
    free(parts);
}

int
recipe_load_parts(const char *path, struct recipe_part **out, size_t *n, struct temper_err *err)
{
    cleanup_close int fd = -1;
    cleanup_free char *text = NULL;
    struct file_id id = {.known = true};
    struct recipe_part *parts = NULL;
    struct recipe *whole = NULL;
    char **files = NULL;
    struct stat st;
    size_t len, nfiles = 0;
    int rc;

    fd = open_recipe(path, &st, err);
    if (fd < 0 || read_recipe(fd, path, st.st_size, &text, &len, err) < 0)
        return -1;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    rc = load_top(text, len, path, &id, SIZE_MAX, NULL, &whole, &files, &nfiles, err);
    if (rc < 0)
        return -1;
    parts = xcalloc(nfiles, sizeof(*parts));
    for (size_t k = 0; k < nfiles; k++)
        parts[k].file = files[k];
    free(files);
    parts[nfiles - 1].recipe = whole;
    /* Part k is the recipe as far as file k: loaded again, each stopping one file further. */
    for (size_t k = 0; rc == 0 && k + 1 < nfiles; k++)
        rc = load_top(text, len, path, &id, k + 1, whole, &parts[k].recipe, NULL, NULL, err);
    if (rc < 0) {
        recipe_parts_free(parts, nfiles);
        return -1;
    }
    *out = parts;
    *n = nfiles;
    return 0;
}

int
recipe_parse(const char *text, size_t len, const char *name, struct recipe **out,
             struct temper_err *err)
{
    struct file_id id = {0};
    struct stat st;

    if (len > RECIPE_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "recipe '%s' is %zu bytes, over the limit of %d", name, len,
                              RECIPE_MAX_BYTES);
    /* When the name is a file, it is this text's file: including it again is a cycle. */
    if (stat(name, &st) == 0) {
        id.known = true;
        id.dev = st.st_dev;
        id.ino = st.st_ino;
    }
    return load_top(text, len, name, &id, SIZE_MAX, NULL, out, NULL, NULL, err);
}

static void
str_release(struct recipe_str *s)
{
    free(s->value);
}

static void
strlist_release(struct recipe_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].value);
    free(l->items);
}

static void
map_release(struct recipe_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i].value);
        free(m->values[i].value);
    }
    free(m->keys);
    free(m->values);
}

void
recipe_test_release(struct recipe_test *t)
{
    strlist_release(&t->command);
    str_release(&t->output);
    str_release(&t->user);
}

void
recipe_free(struct recipe *r)
{
    if (r == NULL)
        return;
    str_release(&r->name);
    str_release(&r->tag);
    strlist_release(&r->binaries);
    strlist_release(&r->files);
    for (size_t i = 0; i < r->ntrees; i++) {
        str_release(&r->trees[i].path);
        strlist_release(&r->trees[i].exclude);
    }
    free(r->trees);
    strlist_release(&r->libraries);
    strlist_release(&r->gconv);
    strlist_release(&r->ca_certificates);
    for (size_t i = 0; i < r->nrepositories; i++) {
        str_release(&r->repositories[i].url);
        str_release(&r->repositories[i].suite);
        strlist_release(&r->repositories[i].components);
    }
    free(r->repositories);
    strlist_release(&r->keyring);
    strlist_release(&r->packages);
    strlist_release(&r->exclude);
    strlist_release(&r->architectures);
    for (size_t i = 0; i < r->ngroups; i++)
        str_release(&r->groups[i].name);
    free(r->groups);
    for (size_t i = 0; i < r->nusers; i++) {
        str_release(&r->users[i].name);
        str_release(&r->users[i].home);
        str_release(&r->users[i].shell);
    }
    free(r->users);
    str_release(&r->run_as);
    for (size_t i = 0; i < r->npaths; i++) {
        str_release(&r->paths[i].path);
        free(r->paths[i].content);
        str_release(&r->paths[i].target);
    }
    free(r->paths);
    strlist_release(&r->entrypoint);
    strlist_release(&r->cmd);
    for (size_t i = 0; i < r->ntests; i++)
        recipe_test_release(&r->tests[i]);
    free(r->tests);
    str_release(&r->work_dir);
    map_release(&r->environment);
    map_release(&r->annotations);
    str_release(&r->architecture);
    if (r->internal != NULL) {
        for (size_t i = 0; i < r->internal->nfiles; i++)
            free(r->internal->files[i]);
        free(r->internal->files);
        free(r->internal);
    }
    free(r);
}
