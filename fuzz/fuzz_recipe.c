/*
 * libFuzzer target for recipe_parse: any bytes, parsed as a recipe, must give
 * a recipe that keeps the module's promises or TEMPER_E_PARSE / _LIMIT / _IO
 * with a located message, never a crash, an out-of-bounds read, a leak or a
 * hang. The input is not NUL-terminated, so a read past `len` is caught by
 * ASan.
 *
 * The recipe is named "DIR/fuzz.yaml" in a directory made once per run (and
 * removed at exit), which holds the only files a relative include can reach:
 * a valid fragment (inc.yaml), one in a subdirectory that includes it
 * (sub/deep.yaml), and one that includes itself (cycle.yaml). fuzz.yaml itself
 * does not exist, so including it fails cleanly. An absolute include may read
 * a host file; the module opens it read-only and non-blocking, and refuses
 * anything but a regular file of at most RECIPE_MAX_BYTES.
 *
 * The same bytes, split at the first newline, are also a pattern and a path
 * for recipe_glob_match, which must answer without exponential backtracking.
 *
 * Seeds: fuzz/corpus/recipe, made by fuzz/make-corpus.sh.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/limits.h"
#include "recipe/recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char top[128];

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_recipe: %s\n", what);
    abort();
}

static void
write_file(const char *rel, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        fail("cannot write an include file");
}

static void
remove_dir(void)
{
    static const char *const files[] = {"inc.yaml", "cycle.yaml", "sub/deep.yaml", "sub", ""};
    char path[256];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        remove(path);
    }
}

static void
make_dir(void)
{
    char sub[128];

    snprintf(dir, sizeof(dir), "/tmp/fuzz-recipe-XXXXXX");
    if (mkdtemp(dir) == NULL)
        fail("mkdtemp");
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    if (mkdir(sub, 0755) != 0)
        fail("mkdir");
    write_file("inc.yaml", "name: inc\n"
                           "contents: {binaries: [/usr/bin/x], libraries: [libm.so.6]}\n"
                           "accounts: {users: [{username: app, uid: 1000}]}\n"
                           "environment: {A: b}\n");
    write_file("sub/deep.yaml", "include: [../inc.yaml]\ntag: deep\n");
    write_file("cycle.yaml", "include: [cycle.yaml]\n");
    snprintf(top, sizeof(top), "%s/fuzz.yaml", dir);
    atexit(remove_dir);
}

static bool
is_absolute_path(const struct recipe_str *s)
{
    return s->value != NULL && s->value[0] == '/' && strlen(s->value) < TEMPER_PATH_MAX;
}

static void
check_loc(const struct recipe_loc *loc)
{
    /* The top recipe and every relative include are under dir; other includes are absolute. */
    if (loc->file == NULL || loc->file[0] != '/')
        fail("a location without a file");
}

static void
check_strlist(const struct recipe_strlist *l, bool paths)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].value == NULL)
            fail("NULL string in a list");
        if (paths && !is_absolute_path(&l->items[i]))
            fail("relative path kept");
        check_loc(&l->items[i].loc);
    }
}

/* A pattern without wildcards is a path, and must match itself. */
static void
check_patterns(const struct recipe_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const char *p = l->items[i].value;

        if (p[0] == '/' || p[0] == '\0')
            fail("absolute or empty pattern kept");
        if (strpbrk(p, "*?") == NULL && !recipe_glob_match(p, p))
            fail("a literal pattern does not match itself");
    }
}

static void
check_recipe(const struct recipe *r)
{
    bool run_as_found = false;

    if (r->name.value == NULL || r->name.value[0] == '\0' || r->tag.value == NULL)
        fail("no name or no tag");
    check_loc(&r->name.loc);
    check_strlist(&r->binaries, true);
    check_strlist(&r->files, true);
    check_strlist(&r->libraries, false);
    check_strlist(&r->entrypoint, false);
    check_strlist(&r->cmd, false);
    for (size_t i = 0; i < r->ntrees; i++) {
        if (!is_absolute_path(&r->trees[i].path))
            fail("relative tree path kept");
        check_patterns(&r->trees[i].exclude);
    }
    if (r->nusers == 0 || r->run_as.value == NULL)
        fail("no user, or no run-as");
    for (size_t i = 0; i < r->nusers; i++) {
        if (r->users[i].uid == UINT32_MAX || r->users[i].gid == UINT32_MAX)
            fail("uid or gid (uid_t)-1 kept");
        if (!is_absolute_path(&r->users[i].home) || !is_absolute_path(&r->users[i].shell))
            fail("user without an absolute home or shell");
        if (strpbrk(r->users[i].home.value, ":\n") || strchr(r->users[i].name.value, ':'))
            fail("a ':' or newline would reach /etc/passwd");
        run_as_found |= strcmp(r->users[i].name.value, r->run_as.value) == 0;
    }
    if (!run_as_found)
        fail("run-as names no user");
    for (size_t i = 0; i < r->npaths; i++) {
        const struct recipe_path *p = &r->paths[i];

        if (!is_absolute_path(&p->path) || p->permissions > 07777)
            fail("bad paths entry");
        if ((p->type == RECIPE_PATH_FILE) != (p->content != NULL))
            fail("content on a non-file, or a file without content");
        if ((p->type == RECIPE_PATH_SYMLINK) != (p->target.value != NULL))
            fail("target on a non-symlink, or a symlink without target");
        for (size_t j = 0; j < i; j++) {
            if (strcmp(r->paths[j].path.value, p->path.value) == 0)
                fail("duplicate paths entry kept");
        }
    }
    for (size_t i = 0; i < r->environment.n; i++) {
        if (r->environment.keys[i].value[0] == '\0' ||
            strchr(r->environment.keys[i].value, '=') != NULL)
            fail("bad environment name kept");
    }
    if (r->level < 0 || r->level > 19 || (r->has_epoch && r->epoch < 0))
        fail("level or epoch out of range");
}

static void
fuzz_glob(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    char *pattern, *path;
    size_t plen;

    if (nl == NULL || size > 4096)
        return;
    plen = (size_t)(nl - data);
    pattern = strndup((const char *)data, plen);
    path = strndup((const char *)nl + 1, size - plen - 1);
    if (pattern == NULL || path == NULL)
        fail("out of memory");
    (void)recipe_glob_match(pattern, path);
    free(pattern);
    free(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct recipe *r = NULL;
    struct temper_err err = {0};
    int rc;

    if (dir[0] == '\0')
        make_dir();
    rc = recipe_parse((const char *)data, size, top, &r, &err);
    if (rc == 0) {
        if (r == NULL)
            fail("success without a recipe");
        check_recipe(r);
        recipe_free(r);
    } else if (rc == -1) {
        if (r != NULL)
            fail("failure that set *out");
        if (err.code != TEMPER_E_PARSE && err.code != TEMPER_E_LIMIT && err.code != TEMPER_E_IO)
            fail("failure with an unexpected error code");
        if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL || err.msg[0] == '\0')
            fail("failure without a message");
        /* Every message starts with its location, but the one about the top file's size. */
        if (err.msg[0] != '/' && strncmp(err.msg, "recipe '", 8) != 0)
            fail("failure without a location");
    } else {
        fail("recipe_parse returned neither 0 nor -1");
    }
    fuzz_glob(data, size);
    return 0;
}
