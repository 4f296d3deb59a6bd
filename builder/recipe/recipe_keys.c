/*
 * The recipe vocabulary: which keys each map takes, and how a file's values
 * compose with what earlier files set (recipe.h): scalars replace, lists
 * append, maps merge key by key.
 *
 * Each map is read through map_fields, which refuses a key outside its table
 * (naming every allowed one, so a typo is one look away from its fix) and
 * hands back the values by table position.
 */
#include <inttypes.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/strmap.h"
#include "base/xalloc.h"
#include "recipe-internal.h"

#define NKEYS(table) (sizeof(table) / sizeof((table)[0]))

/* Longest recipe name, and longest user or group name (what shadow's useradd accepts). */
#define NAME_MAX_BYTES 128
#define ACCOUNT_NAME_MAX_BYTES 32
/* An OCI tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. */
#define TAG_MAX_BYTES 128

/* apko's keys that temper spells otherwise or leaves to another key: said when one is met. */
static const struct {
    const char *where, *key, *hint;
} apko_keys[] = {
    {"", "archs",
     "apko's 'archs' is temper's 'architectures' (GOARCH names: amd64, arm64; x86_64 and aarch64 "
     "are amd64 and arm64)"},
    {"", "vcs-url", "write apko's 'vcs-url' as the annotation org.opencontainers.image.source"},
    {"", "stop-signal", "temper writes no StopSignal: runtimes send SIGTERM"},
    {"", "volumes", "temper declares no volumes: mount them at run time"},
    {"entrypoint", "type", "temper runs no service supervisor: 'command' is the entrypoint"},
    {"entrypoint", "services", "temper runs no service supervisor: 'command' is the entrypoint"},
};

/* The hint for an unknown key, with a separator, or "". */
static const char *
apko_hint(const char *what, const char *key, char *out, size_t size)
{
    for (size_t i = 0; i < NKEYS(apko_keys); i++)
        if (strcmp(apko_keys[i].where, what) == 0 && strcmp(apko_keys[i].key, key) == 0) {
            snprintf(out, size, "; %s", apko_keys[i].hint);
            return out;
        }
    return "";
}

int
recipe_map_fields(const struct ynode *node, const char *what, const char *const *keys, size_t nkeys,
                  const struct ynode **vals, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX], allowed[512], hint[160];

    if (recipe_need_kind(node, YNODE_MAP, what, err) < 0)
        return -1;
    for (size_t k = 0; k < nkeys; k++)
        vals[k] = NULL;
    for (size_t i = 0; i < node->n; i++) {
        const struct ynode *key = node->keys[i];
        size_t k = 0, used = 0;

        while (k < nkeys && strcmp(key->text, keys[k]) != 0)
            k++;
        if (k < nkeys) {
            vals[k] = node->items[i];
            continue;
        }
        allowed[0] = '\0';
        for (size_t j = 0; j < nkeys && used < sizeof(allowed); j++) {
            int n =
                snprintf(allowed + used, sizeof(allowed) - used, "%s%s", j ? ", " : "", keys[j]);
            if (n > 0)
                used += (size_t)n;
        }
        recipe_show(shown, sizeof(shown), key->text, key->len);
        if (what[0] == '\0')
            return recipe_fail(err, &key->loc, "unknown key '%s' (allowed at the top: %s)%s", shown,
                               allowed, apko_hint(what, key->text, hint, sizeof(hint)));
        return recipe_fail(err, &key->loc, "unknown key '%s' in '%s' (allowed: %s)%s", shown, what,
                           allowed, apko_hint(what, key->text, hint, sizeof(hint)));
    }
    return 0;
}

static int
missing(const struct ynode *map, const char *what, const char *key, struct temper_err *err)
{
    return recipe_fail(err, &map->loc, "an entry of '%s' has no '%s': add it", what, key);
}

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * Whether s is a path component of an image reference, as the distribution spec writes it:
 * [a-z0-9]+ runs joined by one separator each, '.', '_', '__' or any number of '-'. Anything
 * else (say "a..b") would make an archive that podman and docker refuse to load.
 */
static bool
is_reference_component(const char *s, size_t len)
{
    size_t i = 0;

    for (;;) {
        size_t run = i;

        while (i < len && is_lower_alnum(s[i]))
            i++;
        if (i == run)
            return false; /* empty, or a separator at the start or after another */
        if (i == len)
            return true;
        if (s[i] == '.')
            i++;
        else if (s[i] == '_')
            i += i + 1 < len && s[i + 1] == '_' ? 2 : 1;
        else if (s[i] == '-')
            while (i < len && s[i] == '-')
                i++;
        else
            return false;
    }
}

/* Image name: a path component of an image reference, at most 128 bytes. */
static int
set_name(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];
    const char *s;

    if (recipe_get_text(node, "name", &s, err) < 0)
        return -1;
    if (node->len > NAME_MAX_BYTES || !is_reference_component(s, node->len))
        return recipe_fail(err, &node->loc,
                           "name '%s' is not valid: use lowercase letters and digits, joined by "
                           "'.', '_', '__' or dashes, at most %d bytes",
                           recipe_show(shown, sizeof(shown), s, node->len), NAME_MAX_BYTES);
    recipe_str_set(&r->name, node);
    return 0;
}

static int
set_tag(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];
    const char *s;
    bool ok;

    if (recipe_get_text(node, "tag", &s, err) < 0)
        return -1;
    ok = node->len > 0 && node->len <= TAG_MAX_BYTES && s[0] != '.' && s[0] != '-';
    for (size_t i = 0; ok && i < node->len; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
             (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-';
    if (!ok)
        return recipe_fail(err, &node->loc,
                           "tag '%s' is not a valid OCI tag: use letters, digits, '_', '.' and "
                           "'-', not starting with '.' or '-', at most %d bytes",
                           recipe_show(shown, sizeof(shown), s, node->len), TAG_MAX_BYTES);
    recipe_str_set(&r->tag, node);
    return 0;
}

/* Appends a list of absolute paths. */
static int
append_paths(struct recipe_strlist *list, const struct ynode *node, const char *what,
             bool allow_root, struct temper_err *err)
{
    if (recipe_need_kind(node, YNODE_LIST, what, err) < 0)
        return -1;
    for (size_t i = 0; i < node->n; i++) {
        if (recipe_check_path(node->items[i], what, allow_root, err) < 0)
            return -1;
        recipe_strlist_append(list, node->items[i]);
    }
    return 0;
}

/* A soname: one file name, looked up on the search path. */
static int
append_libraries(struct recipe_strlist *list, const struct ynode *node, struct temper_err *err)
{
    const char *what = "contents.libraries";
    char shown[RECIPE_SHOW_MAX];

    if (recipe_need_kind(node, YNODE_LIST, what, err) < 0)
        return -1;
    for (size_t i = 0; i < node->n; i++) {
        const struct ynode *item = node->items[i];
        const char *s;

        if (recipe_get_text(item, what, &s, err) < 0)
            return -1;
        recipe_show(shown, sizeof(shown), s, item->len);
        if (item->len == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
            return recipe_fail(err, &item->loc,
                               "library '%s' in '%s' is not a file name: write a soname such as "
                               "libnss_dns.so.2",
                               shown, what);
        if (strchr(s, '/') != NULL)
            return recipe_fail(err, &item->loc,
                               "library '%s' in '%s' has a '/': write the soname alone (a file "
                               "with its path goes in contents.files or contents.binaries)",
                               shown, what);
        if (item->len >= TEMPER_PATH_MAX)
            return recipe_fail_code(err, TEMPER_E_LIMIT, &item->loc,
                                    "library '%s' in '%s' is longer than %d bytes", shown, what,
                                    TEMPER_PATH_MAX - 1);
        recipe_strlist_append(list, item);
    }
    return 0;
}

/* A character set as iconv_open takes it ("ISO-8859-1", "EUC-JP", "ISO-10646/UCS2/"): letters,
 * digits and the punctuation glibc's names use, which keeps a name from reaching outside the
 * gconv directory. */
static int
append_gconv(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    const char *what = "contents.gconv";
    char shown[RECIPE_SHOW_MAX];

    if (recipe_need_kind(node, YNODE_LIST, what, err) < 0)
        return -1;
    r->has_gconv = true;
    for (size_t i = 0; i < node->n; i++) {
        const struct ynode *item = node->items[i];
        const char *s;
        size_t ok;

        if (recipe_get_text(item, what, &s, err) < 0)
            return -1;
        recipe_show(shown, sizeof(shown), s, item->len);
        ok = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:/()+");
        if (item->len == 0 || item->len > RECIPE_GCONV_NAME_MAX || ok != item->len ||
            strstr(s, "..") != NULL)
            return recipe_fail(
                err, &item->loc,
                "character set '%s' in '%s' is not a name iconv_open takes: write "
                "one such as ISO-8859-1 or EUC-JP (letters, digits and - _ . : / ( ) "
                "+, at most %d bytes)",
                shown, what, RECIPE_GCONV_NAME_MAX);
        recipe_strlist_append(&r->gconv, item);
    }
    return 0;
}

/* An exclude pattern: relative to its tree, no empty component. */
static int
check_pattern(const struct ynode *node, const char *what, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];
    const char *s;

    if (recipe_get_text(node, what, &s, err) < 0)
        return -1;
    recipe_show(shown, sizeof(shown), s, node->len);
    if (node->len == 0)
        return recipe_fail(err, &node->loc, "'%s' has an empty pattern: remove it", what);
    if (node->len >= TEMPER_PATH_MAX)
        return recipe_fail_code(err, TEMPER_E_LIMIT, &node->loc,
                                "pattern '%s' in '%s' is longer than %d bytes", shown, what,
                                TEMPER_PATH_MAX - 1);
    if (s[0] == '/')
        return recipe_fail(err, &node->loc,
                           "pattern '%s' in '%s' starts with '/': patterns are relative to the "
                           "tree's path, remove the '/'",
                           shown, what);
    if (strstr(s, "//") != NULL || s[node->len - 1] == '/')
        return recipe_fail(err, &node->loc,
                           "pattern '%s' in '%s' has an empty component: write 'dir' or 'dir/**' "
                           "without a stray '/'",
                           shown, what);
    return 0;
}

static int
append_tree(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"path", "exclude"};
    const char *what = "contents.trees";
    const struct ynode *v[NKEYS(keys)];
    struct recipe_tree *tree;

    if (recipe_map_fields(node, what, keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] == NULL)
        return missing(node, what, "path", err);
    if (recipe_check_path(v[0], "contents.trees.path", true, err) < 0)
        return -1;
    if (v[1] != NULL && recipe_need_kind(v[1], YNODE_LIST, "contents.trees.exclude", err) < 0)
        return -1;
    for (size_t i = 0; v[1] != NULL && i < v[1]->n; i++) {
        if (check_pattern(v[1]->items[i], "contents.trees.exclude", err) < 0)
            return -1;
    }
    r->trees = recipe_grow(r->trees, r->ntrees, sizeof(*r->trees));
    tree = &r->trees[r->ntrees++];
    *tree = (struct recipe_tree){0};
    recipe_str_set(&tree->path, v[0]);
    for (size_t i = 0; v[1] != NULL && i < v[1]->n; i++)
        recipe_strlist_append(&tree->exclude, v[1]->items[i]);
    return 0;
}

static int
apply_contents(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"binaries",     "files",          "trees",    "libraries",
                                       "repositories", "keyring",        "packages", "exclude",
                                       "gconv",        "ca-certificates"};
    const struct ynode *v[NKEYS(keys)];

    if (recipe_map_fields(node, "contents", keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (recipe_apply_package_contents(r, v[4], v[5], v[6], v[7], err) < 0)
        return -1;
    if (v[0] != NULL && append_paths(&r->binaries, v[0], "contents.binaries", false, err) < 0)
        return -1;
    if (v[1] != NULL && append_paths(&r->files, v[1], "contents.files", false, err) < 0)
        return -1;
    if (v[2] != NULL) {
        if (recipe_need_kind(v[2], YNODE_LIST, "contents.trees", err) < 0)
            return -1;
        for (size_t i = 0; i < v[2]->n; i++) {
            if (append_tree(r, v[2]->items[i], err) < 0)
                return -1;
        }
    }
    if (v[3] != NULL && append_libraries(&r->libraries, v[3], err) < 0)
        return -1;
    if (v[8] != NULL && append_gconv(r, v[8], err) < 0)
        return -1;
    if (v[9] != NULL &&
        append_paths(&r->ca_certificates, v[9], "contents.ca-certificates", false, err) < 0)
        return -1;
    return 0;
}

/*
 * A user or group name, as it goes into /etc/passwd and /etc/group: what
 * shadow's useradd accepts by default, so never a ':' or a newline.
 */
static int
check_account_name(const struct ynode *node, const char *what, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];
    const char *s;
    bool ok;

    if (recipe_get_text(node, what, &s, err) < 0)
        return -1;
    ok = node->len > 0 && node->len <= ACCOUNT_NAME_MAX_BYTES &&
         ((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_');
    for (size_t i = 1; ok && i < node->len; i++)
        ok = is_lower_alnum(s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.';
    if (!ok)
        return recipe_fail(err, &node->loc,
                           "'%s' value '%s' is not a valid account name: use lowercase letters, "
                           "digits, '_', '-' and '.', starting with a letter or '_', at most %d "
                           "bytes",
                           what, recipe_show(shown, sizeof(shown), s, node->len),
                           ACCOUNT_NAME_MAX_BYTES);
    return 0;
}

/* uid and gid: 0 to 4294967294; (uid_t)-1 means "no change" to chown and cannot own a file. */
static int
get_id(const struct ynode *node, const char *what, uint32_t *out, struct temper_err *err)
{
    uint64_t v;

    if (recipe_get_uint(node, what, UINT32_MAX - 1, &v, err) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int
append_group(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"groupname", "gid"};
    const char *what = "accounts.groups";
    const struct ynode *v[NKEYS(keys)];
    struct recipe_group g = {0};

    if (recipe_map_fields(node, what, keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] == NULL)
        return missing(node, what, "groupname", err);
    if (v[1] == NULL)
        return missing(node, what, "gid", err);
    if (check_account_name(v[0], "groupname", err) < 0 || get_id(v[1], "gid", &g.gid, err) < 0)
        return -1;
    recipe_str_set(&g.name, v[0]);
    r->groups = recipe_grow(r->groups, r->ngroups, sizeof(*r->groups));
    r->groups[r->ngroups++] = g;
    return 0;
}

/* home and shell go into /etc/passwd, where ':' and a newline would start a new field or line. */
static int
check_passwd_path(const struct ynode *node, const char *what, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];

    if (recipe_check_path(node, what, true, err) < 0)
        return -1;
    if (strpbrk(node->text, ":\n") != NULL)
        return recipe_fail(err, &node->loc,
                           "'%s' value '%s' has a ':' or a newline, which /etc/passwd cannot "
                           "hold: choose another path",
                           what, recipe_show(shown, sizeof(shown), node->text, node->len));
    return 0;
}

static void
set_default(struct recipe_str *str, const char *value, const struct recipe_loc *loc)
{
    str->value = xstrdup(value);
    str->loc = *loc;
}

static int
append_user(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"username", "uid", "gid", "home", "shell"};
    const char *what = "accounts.users";
    const struct ynode *v[NKEYS(keys)];
    struct recipe_user u = {0};
    char home[TEMPER_PATH_MAX];

    if (recipe_map_fields(node, what, keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] == NULL)
        return missing(node, what, "username", err);
    if (v[1] == NULL)
        return missing(node, what, "uid", err);
    if (check_account_name(v[0], "username", err) < 0 || get_id(v[1], "uid", &u.uid, err) < 0)
        return -1;
    u.gid = u.uid;
    if (v[2] != NULL && get_id(v[2], "gid", &u.gid, err) < 0)
        return -1;
    if (v[3] != NULL && check_passwd_path(v[3], "home", err) < 0)
        return -1;
    if (v[4] != NULL && check_passwd_path(v[4], "shell", err) < 0)
        return -1;
    recipe_str_set(&u.name, v[0]);
    if (v[3] != NULL) {
        recipe_str_set(&u.home, v[3]);
    } else {
        snprintf(home, sizeof(home), "/home/%s", u.name.value);
        set_default(&u.home, home, &node->loc);
    }
    if (v[4] != NULL)
        recipe_str_set(&u.shell, v[4]);
    else
        set_default(&u.shell, "/sbin/nologin", &node->loc);
    r->users = recipe_grow(r->users, r->nusers, sizeof(*r->users));
    r->users[r->nusers++] = u;
    return 0;
}

static int
apply_accounts(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"groups", "users", "run-as"};
    const struct ynode *v[NKEYS(keys)];
    const char *s;

    if (recipe_map_fields(node, "accounts", keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] != NULL) {
        if (recipe_need_kind(v[0], YNODE_LIST, "accounts.groups", err) < 0)
            return -1;
        for (size_t i = 0; i < v[0]->n; i++) {
            if (append_group(r, v[0]->items[i], err) < 0)
                return -1;
        }
    }
    if (v[1] != NULL) {
        if (recipe_need_kind(v[1], YNODE_LIST, "accounts.users", err) < 0)
            return -1;
        for (size_t i = 0; i < v[1]->n; i++) {
            if (append_user(r, v[1]->items[i], err) < 0)
                return -1;
        }
    }
    if (v[2] != NULL) {
        if (recipe_get_text(v[2], "accounts.run-as", &s, err) < 0)
            return -1;
        recipe_str_set(&r->run_as, v[2]);
    }
    return 0;
}

static void
path_release(struct recipe_path *p)
{
    free(p->path.value);
    free(p->content);
    free(p->target.value);
}

/* The parts of a `paths` entry that depend on its type. */
static int
path_by_type(struct recipe_path *p, const struct ynode *const *v, struct temper_err *err)
{
    /* v: path, type, uid, gid, permissions, content, target */
    static const char *const names[] = {"path",        "type",    "uid",   "gid",
                                        "permissions", "content", "target"};
    const char *type = v[1]->text, *target;

    if (p->type != RECIPE_PATH_FILE && v[5] != NULL)
        return recipe_fail(err, &v[5]->loc, "'content' is only for type file, not %s: remove it",
                           type);
    if (p->type != RECIPE_PATH_SYMLINK && v[6] != NULL)
        return recipe_fail(err, &v[6]->loc, "'target' is only for type symlink, not %s: remove it",
                           type);
    if (p->type == RECIPE_PATH_SYMLINK) {
        for (size_t k = 2; k <= 4; k++) {
            if (v[k] != NULL)
                return recipe_fail(err, &v[k]->loc,
                                   "'%s' is not for a symlink (links are owned by root, mode "
                                   "0777): remove it",
                                   names[k]);
        }
        if (v[6] == NULL)
            return recipe_fail(err, &v[1]->loc, "a symlink in 'paths' needs a 'target': add it");
        if (recipe_get_text(v[6], "paths.target", &target, err) < 0)
            return -1;
        if (v[6]->len == 0 || v[6]->len >= TEMPER_PATH_MAX)
            return recipe_fail(err, &v[6]->loc,
                               "'paths.target' must be 1 to %d bytes long, found %zu",
                               TEMPER_PATH_MAX - 1, v[6]->len);
        recipe_str_set(&p->target, v[6]);
        p->permissions = 0777;
        return 0;
    }
    if (v[5] != NULL) {
        if (recipe_need_kind(v[5], YNODE_SCALAR, "paths.content", err) < 0)
            return -1;
        p->content = xmalloc(v[5]->len + 1);
        memcpy(p->content, v[5]->text, v[5]->len + 1);
        p->content_len = v[5]->len;
    } else if (p->type == RECIPE_PATH_FILE) {
        p->content = xstrdup("");
    }
    p->permissions = p->type == RECIPE_PATH_DIRECTORY ? 0755 : 0644;
    if (v[2] != NULL && get_id(v[2], "uid", &p->uid, err) < 0)
        return -1;
    if (v[3] != NULL && get_id(v[3], "gid", &p->gid, err) < 0)
        return -1;
    if (v[4] != NULL) {
        if (recipe_get_mode(v[4], "permissions", &p->permissions, err) < 0)
            return -1;
        p->has_permissions = true;
    }
    return 0;
}

static int
append_path(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"path",        "type",    "uid",   "gid",
                                       "permissions", "content", "target"};
    static const char *const types[] = {"directory", "file", "symlink"};
    static const enum recipe_path_type type_values[] = {RECIPE_PATH_DIRECTORY, RECIPE_PATH_FILE,
                                                        RECIPE_PATH_SYMLINK};
    const struct ynode *v[NKEYS(keys)];
    struct recipe_path p = {0};
    char shown[RECIPE_SHOW_MAX];
    const char *type;
    size_t t = 0;

    if (recipe_map_fields(node, "paths", keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] == NULL)
        return missing(node, "paths", "path", err);
    if (v[1] == NULL)
        return missing(node, "paths", "type", err);
    if (recipe_check_path(v[0], "paths.path", false, err) < 0 ||
        recipe_get_text(v[1], "paths.type", &type, err) < 0)
        return -1;
    while (t < NKEYS(types) && strcmp(type, types[t]) != 0)
        t++;
    if (t == NKEYS(types))
        return recipe_fail(err, &v[1]->loc,
                           "unknown type '%s' in 'paths' (allowed: directory, file, symlink)",
                           recipe_show(shown, sizeof(shown), type, v[1]->len));
    p.type = type_values[t];
    if (path_by_type(&p, v, err) < 0) {
        path_release(&p);
        return -1;
    }
    recipe_str_set(&p.path, v[0]);
    r->paths = recipe_grow(r->paths, r->npaths, sizeof(*r->paths));
    r->paths[r->npaths++] = p;
    return 0;
}

static int
apply_paths(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    if (recipe_need_kind(node, YNODE_LIST, "paths", err) < 0)
        return -1;
    for (size_t i = 0; i < node->n; i++) {
        if (append_path(r, node->items[i], err) < 0)
            return -1;
    }
    return 0;
}

/* An argv: a string is one element (never split at spaces), a list is the whole vector. */
static int
set_argv(struct recipe_strlist *list, const struct ynode *node, const char *what,
         struct temper_err *err)
{
    const char *s;

    if (node->kind == YNODE_SCALAR) {
        if (recipe_get_text(node, what, &s, err) < 0)
            return -1;
        recipe_strlist_clear(list);
        recipe_strlist_append(list, node);
        return 0;
    }
    if (recipe_need_kind(node, YNODE_LIST, what, err) < 0)
        return -1;
    for (size_t i = 0; i < node->n; i++) {
        if (recipe_get_text(node->items[i], what, &s, err) < 0)
            return -1;
    }
    recipe_strlist_clear(list);
    for (size_t i = 0; i < node->n; i++)
        recipe_strlist_append(list, node->items[i]);
    return 0;
}

static int
apply_entrypoint(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"command"};
    const struct ynode *v[NKEYS(keys)];

    if (recipe_map_fields(node, "entrypoint", keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] == NULL)
        return recipe_fail(err, &node->loc, "'entrypoint' has no 'command': add it");
    return set_argv(&r->entrypoint, v[0], "entrypoint.command", err);
}

/* One entry of `tests`: {command, stdout, user, timeout, native-only}. */
static int
append_test(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"command", "stdout", "user", "timeout", "native-only"};
    const char *what = "tests";
    const struct ynode *v[NKEYS(keys)];
    struct recipe_test t = {.timeout_s = RECIPE_TEST_TIMEOUT_S, .loc = node->loc};
    char shown[RECIPE_SHOW_MAX];
    const char *s;
    uint64_t timeout;
    regex_t re;
    int rc;

    if (recipe_map_fields(node, what, keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] == NULL)
        return missing(node, what, "command", err);
    if (set_argv(&t.command, v[0], "tests.command", err) < 0)
        goto fail;
    if (t.command.n == 0) {
        recipe_fail(err, &v[0]->loc, "'tests.command' is empty: name the program to run");
        goto fail;
    }
    if (t.command.items[0].value[0] != '/') {
        recipe_fail(err, &v[0]->loc,
                    "'tests.command' '%s' is not an absolute path: the image has no shell "
                    "or PATH search to find it; write /usr/bin/...",
                    recipe_show(shown, sizeof(shown), t.command.items[0].value,
                                strlen(t.command.items[0].value)));
        goto fail;
    }
    if (v[1] != NULL) {
        if (recipe_get_text(v[1], "tests.stdout", &s, err) < 0)
            goto fail;
        rc = regcomp(&re, s, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
        if (rc != 0) {
            char why[128];

            regerror(rc, &re, why, sizeof(why));
            recipe_fail(err, &v[1]->loc,
                        "'tests.stdout' '%s' is not an extended regular expression (%s): "
                        "escape what is meant literally with a backslash",
                        recipe_show(shown, sizeof(shown), s, strlen(s)), why);
            goto fail;
        }
        regfree(&re);
        recipe_str_set(&t.output, v[1]);
    }
    if (v[2] != NULL) {
        if (recipe_get_text(v[2], "tests.user", &s, err) < 0)
            goto fail;
        recipe_str_set(&t.user, v[2]);
    }
    if (v[3] != NULL) {
        if (recipe_get_uint(v[3], "tests.timeout", 3600, &timeout, err) < 0)
            goto fail;
        if (timeout == 0) {
            recipe_fail(err, &v[3]->loc, "'tests.timeout' is 0: give seconds from 1 to 3600");
            goto fail;
        }
        t.timeout_s = (unsigned)timeout;
    }
    if (v[4] != NULL && recipe_get_bool(v[4], "tests.native-only", &t.native_only, err) < 0)
        goto fail;
    r->tests = recipe_grow(r->tests, r->ntests, sizeof(*r->tests));
    r->tests[r->ntests++] = t;
    return 0;
fail:
    recipe_test_release(&t);
    return -1;
}

static int
set_ld_cache(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    bool on;

    if (recipe_get_bool(node, "ld-so-cache", &on, err) < 0)
        return -1;
    r->omit_ld_cache = !on;
    return 0;
}

static int
apply_tests(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    if (recipe_need_kind(node, YNODE_LIST, "tests", err) < 0)
        return -1;
    for (size_t i = 0; i < node->n; i++) {
        if (append_test(r, node->items[i], err) < 0)
            return -1;
    }
    return 0;
}

/*
 * Merges node's keys into map: a key already there gets the new value in its
 * place. The index is built per merge, so a merge costs the size of the map
 * plus the new keys, never their product.
 */
static int
merge_map(struct recipe_map *map, const struct ynode *node, const char *what, bool is_env,
          struct temper_err *err)
{
    struct strmap index = STRMAP_INIT;
    char shown[RECIPE_SHOW_MAX], sub[192];
    const char *s;
    int rc = -1;

    if (recipe_need_kind(node, YNODE_MAP, what, err) < 0)
        return -1;
    for (size_t i = 0; i < map->n; i++)
        strmap_put(&index, map->keys[i].value, (void *)(uintptr_t)(i + 1));
    for (size_t i = 0; i < node->n; i++) {
        const struct ynode *key = node->keys[i];
        size_t at;

        recipe_show(shown, sizeof(shown), key->text, key->len);
        if (key->len == 0) {
            if (is_env)
                recipe_fail(err, &key->loc,
                            "environment variable name '' is empty: write NAME: value");
            else
                recipe_fail(err, &key->loc, "annotation key is empty: write key: value");
            goto out;
        }
        if (is_env && strchr(key->text, '=') != NULL) {
            recipe_fail(err, &key->loc,
                        "environment variable name '%s' has a '=': write NAME: value", shown);
            goto out;
        }
        snprintf(sub, sizeof(sub), "%s.%s", what, shown);
        if (recipe_get_text(node->items[i], sub, &s, err) < 0)
            goto out;
        at = (uintptr_t)strmap_get(&index, key->text);
        if (at == 0) {
            map->keys = recipe_grow(map->keys, map->n, sizeof(*map->keys));
            map->values = recipe_grow(map->values, map->n, sizeof(*map->values));
            map->keys[map->n] = (struct recipe_str){0};
            map->values[map->n] = (struct recipe_str){0};
            at = ++map->n;
            strmap_put(&index, key->text, (void *)(uintptr_t)at);
        }
        recipe_str_set(&map->keys[at - 1], key);
        recipe_str_set(&map->values[at - 1], node->items[i]);
    }
    rc = 0;
out:
    strmap_release(&index, NULL);
    return rc;
}

static int
apply_hardening(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"allow-setuid", "allow-shell", "require"};
    static const char *const reqs[] = {"pie", "relro", "nx"};
    static const unsigned bits[] = {RECIPE_REQUIRE_PIE, RECIPE_REQUIRE_RELRO, RECIPE_REQUIRE_NX};
    const struct ynode *v[NKEYS(keys)];
    char shown[RECIPE_SHOW_MAX];

    if (recipe_map_fields(node, "hardening", keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] != NULL && recipe_get_bool(v[0], "hardening.allow-setuid", &r->allow_setuid, err) < 0)
        return -1;
    if (v[1] != NULL && recipe_get_bool(v[1], "hardening.allow-shell", &r->allow_shell, err) < 0)
        return -1;
    if (v[2] == NULL)
        return 0;
    if (recipe_need_kind(v[2], YNODE_LIST, "hardening.require", err) < 0)
        return -1;
    for (size_t i = 0; i < v[2]->n; i++) {
        const struct ynode *item = v[2]->items[i];
        const char *s;
        size_t k = 0;

        if (recipe_get_text(item, "hardening.require", &s, err) < 0)
            return -1;
        while (k < NKEYS(reqs) && strcmp(s, reqs[k]) != 0)
            k++;
        if (k == NKEYS(reqs))
            return recipe_fail(err, &item->loc,
                               "unknown requirement '%s' in 'hardening.require' (allowed: pie, "
                               "relro, nx)",
                               recipe_show(shown, sizeof(shown), s, item->len));
        r->require |= bits[k];
    }
    return 0;
}

static int
apply_sbom(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"os-release", "copyright"};
    const struct ynode *v[NKEYS(keys)];
    bool on;

    if (recipe_map_fields(node, "sbom", keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] != NULL) {
        if (recipe_get_bool(v[0], "sbom.os-release", &on, err) < 0)
            return -1;
        r->omit_os_release = !on;
    }
    if (v[1] != NULL) {
        if (recipe_get_bool(v[1], "sbom.copyright", &on, err) < 0)
            return -1;
        r->omit_copyright = !on;
    }
    return 0;
}

static int
set_compression(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];
    const char *s;

    if (recipe_get_text(node, "compression", &s, err) < 0)
        return -1;
    if (strcmp(s, "gzip") == 0)
        r->compression = RECIPE_COMPRESSION_GZIP;
    else if (strcmp(s, "zstd") == 0)
        r->compression = RECIPE_COMPRESSION_ZSTD;
    else
        return recipe_fail(err, &node->loc, "unknown compression '%s' (allowed: gzip, zstd)",
                           recipe_show(shown, sizeof(shown), s, node->len));
    r->internal->compression_loc = node->loc;
    return 0;
}

static int
set_level(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    uint64_t v;

    if (recipe_get_uint(node, "level", 19, &v, err) < 0)
        return -1;
    if (v == 0)
        return recipe_fail(err, &node->loc,
                           "'level' must be 1 to 12 for gzip or 1 to 19 for zstd, found 0");
    r->level = (int)v;
    r->internal->level_loc = node->loc;
    return 0;
}

static int
set_epoch(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    uint64_t v;

    /* The last second an RFC 3339 time with a four-digit year can say: 9999-12-31T23:59:59Z. */
    if (recipe_get_uint(node, "epoch", 253402300799, &v, err) < 0)
        return -1;
    r->epoch = (int64_t)v;
    r->has_epoch = true;
    return 0;
}

/* layering: {strategy: single|includes}: a map, so that other strategies may take options. */
static int
apply_layering(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    static const char *const keys[] = {"strategy"};
    const struct ynode *v[NKEYS(keys)];
    char shown[RECIPE_SHOW_MAX];
    const char *s;

    if (recipe_map_fields(node, "layering", keys, NKEYS(keys), v, err) < 0)
        return -1;
    if (v[0] == NULL)
        return recipe_fail(err, &node->loc,
                           "'layering' needs a 'strategy': single (one layer) or includes (a "
                           "layer per included recipe)");
    if (recipe_get_text(v[0], "layering.strategy", &s, err) < 0)
        return -1;
    if (strcmp(s, "single") == 0)
        r->layering = RECIPE_LAYERING_SINGLE;
    else if (strcmp(s, "includes") == 0)
        r->layering = RECIPE_LAYERING_INCLUDES;
    else
        return recipe_fail(err, &v[0]->loc,
                           "unknown layering strategy '%s' (allowed: single, includes)",
                           recipe_show(shown, sizeof(shown), s, v[0]->len));
    return 0;
}

/* GOARCH names of the Linux architectures OCI images are made for. */
static const char *const architectures[] = {"386",     "amd64",   "arm",    "arm64",    "loong64",
                                            "mips",    "mipsle",  "mips64", "mips64le", "ppc64",
                                            "ppc64le", "riscv64", "s390x"};

bool
recipe_is_architecture(const char *arch)
{
    for (size_t i = 0; i < NKEYS(architectures); i++) {
        if (strcmp(arch, architectures[i]) == 0)
            return true;
    }
    return false;
}

static int
set_architecture(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    char shown[RECIPE_SHOW_MAX];
    const char *s;

    if (recipe_get_text(node, "architecture", &s, err) < 0)
        return -1;
    if (recipe_is_architecture(s)) {
        recipe_str_set(&r->architecture, node);
        return 0;
    }
    return recipe_fail(err, &node->loc,
                       "unknown architecture '%s' (allowed: 386, amd64, arm, arm64, loong64, "
                       "mips, mipsle, mips64, mips64le, ppc64, ppc64le, riscv64, s390x)",
                       recipe_show(shown, sizeof(shown), s, node->len));
}

static int
set_work_dir(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    if (recipe_check_path(node, "work-dir", true, err) < 0)
        return -1;
    recipe_str_set(&r->work_dir, node);
    return 0;
}

static int
apply_cmd(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    return set_argv(&r->cmd, node, "cmd", err);
}

static int
apply_environment(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    return merge_map(&r->environment, node, "environment", true, err);
}

static int
apply_annotations(struct recipe *r, const struct ynode *node, struct temper_err *err)
{
    return merge_map(&r->annotations, node, "annotations", false, err);
}

/* The top-level keys, in the order they apply; `include` is handled by recipe.c. */
static const char *const top_keys[] = {
    "name",     "include",      "contents",      "accounts",  "paths", "entrypoint",  "cmd",
    "work-dir", "environment",  "annotations",   "hardening", "sbom",  "compression", "level",
    "epoch",    "architecture", "architectures", "tag",       "tests", "ld-so-cache", "layering"};
typedef int (*apply_fn)(struct recipe *, const struct ynode *, struct temper_err *);
static const apply_fn top_apply[] = {set_name,
                                     NULL,
                                     apply_contents,
                                     apply_accounts,
                                     apply_paths,
                                     apply_entrypoint,
                                     apply_cmd,
                                     set_work_dir,
                                     apply_environment,
                                     apply_annotations,
                                     apply_hardening,
                                     apply_sbom,
                                     set_compression,
                                     set_level,
                                     set_epoch,
                                     set_architecture,
                                     recipe_set_architectures,
                                     set_tag,
                                     apply_tests,
                                     set_ld_cache,
                                     apply_layering};
_Static_assert(NKEYS(top_keys) == NKEYS(top_apply), "one function per top-level key");

int
recipe_root_includes(const struct ynode *root, const struct ynode **include, struct temper_err *err)
{
    const struct ynode *v[NKEYS(top_keys)];

    if (recipe_map_fields(root, "", top_keys, NKEYS(top_keys), v, err) < 0)
        return -1;
    *include = v[1];
    return 0;
}

int
recipe_apply_keys(struct recipe *r, const struct ynode *root, struct temper_err *err)
{
    const struct ynode *v[NKEYS(top_keys)];

    if (recipe_map_fields(root, "", top_keys, NKEYS(top_keys), v, err) < 0)
        return -1;
    for (size_t k = 0; k < NKEYS(top_keys); k++) {
        if (v[k] != NULL && top_apply[k] != NULL && top_apply[k](r, v[k], err) < 0)
            return -1;
    }
    return 0;
}
