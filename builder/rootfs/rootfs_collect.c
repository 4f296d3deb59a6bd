/*
 * What the image takes from the root: the files a recipe names, the trees it
 * takes whole, every symlink on the way to each, and the ELF closure of
 * every binary, library and ELF file inside a tree. Facts only: modes are
 * recorded as the root has them, and rootfs_plan.c applies the rules.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "rootfs-internal.h"

/* A canonical absolute path ("/usr/bin/x") as an entry path ("usr/bin/x"). */
static const char *
relative(const char *canon)
{
    return canon[0] == '/' ? canon + 1 : canon;
}

static int
add_symlink(struct planner *p, const char *link, struct temper_err *err)
{
    const char *target = fs_root_link_target(p->root, link);
    struct rootfs_entry e = {.type = ROOTFS_SYMLINK, .mode = 0777};

    if (target == NULL)
        return temper_err_set(err, TEMPER_E_IO, 0, "symlink '%s' has no recorded target", link);
    e.path = xstrdup(relative(link));
    e.target = xstrdup(target);
    return planner_add(p, &e, ORIGIN_ROOT, p->current, err);
}

/* Adds a resolved path: every symlink on the way, then the file or directory itself. */
static int
add_resolved(struct planner *p, const struct fs_path *fp, struct temper_err *err)
{
    struct rootfs_entry e = {0};

    for (size_t i = 0; i < fp->nlinks; i++)
        if (add_symlink(p, fp->links[i], err) < 0)
            return -1;
    if (strcmp(fp->canon, "/") == 0)
        return 0;
    e.path = xstrdup(relative(fp->canon));
    e.mode = (uint32_t)fp->mode;
    if (fp->kind == FS_KIND_DIR) {
        e.type = ROOTFS_DIR;
    } else {
        e.type = ROOTFS_FILE;
        e.size = (uint64_t)fp->size;
        e.source = xstrdup(fp->canon);
    }
    return planner_add(p, &e, ORIGIN_ROOT, p->current, err);
}

/*
 * Whether a file is an ELF file the loader may map: one with the ELF magic whose e_type is not
 * ET_REL or ET_CORE. Relocatable objects (python.o in python's config-3.11 directory, for one)
 * and core files are never loaded, so they are data: taken as they are, with no closure.
 */
static int
is_elf(struct planner *p, const struct fs_path *fp, bool *out, struct temper_err *err)
{
    unsigned char head[EI_NIDENT + 2];
    cleanup_close int fd = -1;
    unsigned type;
    ssize_t n;

    *out = false;
    if (fp->size < SELFMAG)
        return 0;
    fd = fs_open(p->root, fp, O_RDONLY | O_NONBLOCK, err);
    if (fd < 0)
        return -1;
    do
        n = pread(fd, head, sizeof(head), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read '%s'", fp->canon);
    if (n < SELFMAG || memcmp(head, ELFMAG, SELFMAG) != 0)
        return 0;
    /* e_type, in the file's byte order; a file too short for it is ELF (and malformed) */
    type = n < (ssize_t)sizeof(head)      ? ET_NONE
           : head[EI_DATA] == ELFDATA2MSB ? (unsigned)head[EI_NIDENT] << 8 | head[EI_NIDENT + 1]
                                          : (unsigned)head[EI_NIDENT + 1] << 8 | head[EI_NIDENT];
    *out = type != ET_REL && type != ET_CORE;
    return 0;
}

static int
resolve_elf(struct planner *p, const char *path, struct temper_err *err)
{
    const struct elf_closure *c;

    if (elf_resolver_resolve(p->resolver, path, &c, err) < 0)
        return -1;
    planner_add_closure(p, c);
    if (p->like == NULL)
        p->like = c->loads[0].object->path;
    return 0;
}

/* Resolves a path the recipe names, as a file: errors point at where it was written. */
static const struct fs_path *
named_file(struct planner *p, const struct recipe_str *s, const char *list, struct temper_err *err)
{
    const struct fs_path *fp;

    if (fs_resolve(p->root, s->value, &fp, err) < 0) {
        temper_err_prefix(err, "%s '%s' is not in the root", list, s->value);
        recipe_err_at(err, &s->loc);
        return NULL;
    }
    if (fp->kind != FS_KIND_FILE) {
        temper_err_set(err, TEMPER_E_PARSE, 0, "%s '%s' is %s, not a regular file%s", list,
                       s->value, fp->kind == FS_KIND_DIR ? "a directory" : "a special file",
                       fp->kind == FS_KIND_DIR ? "; take it with contents.trees" : "");
        recipe_err_at(err, &s->loc);
        return NULL;
    }
    return fp;
}

static int
collect_binaries(struct planner *p, struct temper_err *err)
{
    for (size_t i = 0; i < p->recipe->binaries.n; i++) {
        const struct recipe_str *b = &p->recipe->binaries.items[i];
        const struct fs_path *fp = named_file(p, b, "binary", err);
        bool elf;

        p->current = &b->loc;
        if (fp == NULL || is_elf(p, fp, &elf, err) < 0)
            return fp == NULL ? -1 : recipe_err_at(err, &b->loc);
        if (!elf) {
            temper_err_set(err, TEMPER_E_PARSE, 0,
                           "binary '%s' is not an ELF program or shared library; list it under "
                           "contents.files",
                           b->value);
            return recipe_err_at(err, &b->loc);
        }
        if (add_resolved(p, fp, err) < 0 || resolve_elf(p, fp->canon, err) < 0)
            return recipe_err_at(err, &b->loc);
    }
    return 0;
}

static int
collect_files(struct planner *p, struct temper_err *err)
{
    for (size_t i = 0; i < p->recipe->files.n; i++) {
        const struct recipe_str *f = &p->recipe->files.items[i];
        const struct fs_path *fp = named_file(p, f, "file", err);
        bool elf;

        if (fp == NULL)
            return -1;
        if (is_elf(p, fp, &elf, err) < 0)
            return recipe_err_at(err, &f->loc);
        /* Taken as it is, an ELF file would escape its closure and every hardening check. */
        if (elf) {
            temper_err_set(err, TEMPER_E_PARSE, 0,
                           "file '%s' is an ELF file; list it under contents.binaries, so that "
                           "its libraries come too and the hardening checks see it",
                           f->value);
            return recipe_err_at(err, &f->loc);
        }
        p->current = &f->loc;
        if (add_resolved(p, fp, err) < 0)
            return -1;
    }
    return 0;
}

static bool
is_excluded(const struct recipe_tree *t, const char *rel)
{
    for (size_t i = 0; i < t->exclude.n; i++)
        if (recipe_glob_match(t->exclude.items[i].value, rel))
            return true;
    return false;
}

/* One entry found in a tree: `child` is its canonical location, `rel` its path in the tree. */
static int tree_entry(struct planner *p, const struct recipe_tree *t, const char *child,
                      const char *rel, struct temper_err *err);

/* Walks the canonical directory `dir`, `rel` being its path inside the tree ("" at the top). */
static int
walk_tree(struct planner *p, const struct recipe_tree *t, const struct fs_path *dir,
          const char *rel, struct temper_err *err)
{
    char **names = NULL;
    int rc = 0;

    if (fs_list_dir(p->root, dir, TREE_DIR_MAX_ENTRIES, &names, err) < 0)
        return -1;
    for (size_t i = 0; names[i] != NULL && rc == 0; i++) {
        cleanup_free char *child =
            xasprintf("%s/%s", strcmp(dir->canon, "/") == 0 ? "" : dir->canon, names[i]);
        cleanup_free char *child_rel = xasprintf("%s%s%s", rel, rel[0] ? "/" : "", names[i]);

        if (strlen(child) >= TEMPER_PATH_MAX) {
            rc = temper_err_set(err, TEMPER_E_LIMIT, ENAMETOOLONG, "'%s...' is too long",
                                dir->canon);
            break;
        }
        if (!is_excluded(t, child_rel))
            rc = tree_entry(p, t, child, child_rel, err);
    }
    fs_names_free(names);
    return rc;
}

static int
tree_entry(struct planner *p, const struct recipe_tree *t, const char *child, const char *rel,
           struct temper_err *err)
{
    const struct fs_path *fp;
    int sys_errno = fs_lookup(p->root, child, &fp);
    bool elf;

    if (sys_errno != 0) {
        /* A symlink whose target is not in the root: kept as it is, since the program may
         * never follow it (or a runtime may mount something there). */
        if (fs_root_link_target(p->root, child) != NULL) {
            strv_push(&p->plan->summary.warnings,
                      xasprintf("'%s' in tree '%s' is a symlink to '%s', which is not in the root",
                                child, t->path.value, fs_root_link_target(p->root, child)));
            return add_symlink(p, child, err);
        }
        return temper_err_sys(err, TEMPER_E_IO, sys_errno, "cannot look up '%s'", child);
    }
    if (fp->nlinks > 0 && strcmp(fp->links[0], child) == 0) {
        /* A symlink inside the tree: the link, and what it leads to (but not the contents of a
         * directory it leads to, which the recipe did not ask for). */
        if (fp->kind == FS_KIND_OTHER)
            return add_symlink(p, child, err);
        if (add_resolved(p, fp, err) < 0)
            return -1;
    } else if (fp->kind == FS_KIND_DIR) {
        if (add_resolved(p, fp, err) < 0)
            return -1;
        return walk_tree(p, t, fp, rel, err);
    } else if (fp->kind == FS_KIND_OTHER) {
        strv_push(&p->plan->summary.warnings,
                  xasprintf("'%s' in tree '%s' is a device, socket or fifo: left out", child,
                            t->path.value));
        return 0;
    } else if (add_resolved(p, fp, err) < 0) {
        return -1;
    }
    if (fp->kind != FS_KIND_FILE)
        return 0;
    if (is_elf(p, fp, &elf, err) < 0)
        return -1;
    return elf ? resolve_elf(p, fp->canon, err) : 0;
}

static int
collect_trees(struct planner *p, struct temper_err *err)
{
    for (size_t i = 0; i < p->recipe->ntrees; i++) {
        const struct recipe_tree *t = &p->recipe->trees[i];
        const struct fs_path *fp;

        p->current = &t->path.loc;
        if (fs_resolve(p->root, t->path.value, &fp, err) < 0) {
            temper_err_prefix(err, "tree '%s' is not in the root", t->path.value);
            return recipe_err_at(err, &t->path.loc);
        }
        if (fp->kind != FS_KIND_DIR) {
            temper_err_set(err, TEMPER_E_PARSE, 0,
                           "tree '%s' is not a directory; list it under contents.files",
                           t->path.value);
            return recipe_err_at(err, &t->path.loc);
        }
        if (add_resolved(p, fp, err) < 0 || walk_tree(p, t, fp, "", err) < 0) {
            temper_err_prefix(err, "tree '%s'", t->path.value);
            return recipe_err_at(err, &t->path.loc);
        }
    }
    return 0;
}

static int
collect_libraries(struct planner *p, struct temper_err *err)
{
    for (size_t i = 0; i < p->recipe->libraries.n; i++) {
        const struct recipe_str *l = &p->recipe->libraries.items[i];
        const struct elf_closure *c;

        if (p->like == NULL) {
            temper_err_set(err, TEMPER_E_PARSE, 0,
                           "library '%s' needs an ELF binary in the recipe to tell which "
                           "machine's libraries to search; add one under contents.binaries",
                           l->value);
            return recipe_err_at(err, &l->loc);
        }
        if (elf_resolver_resolve_library(p->resolver, l->value, p->like, &c, err) < 0)
            return recipe_err_at(err, &l->loc);
        planner_add_closure(p, c);
    }
    return 0;
}

int
rootfs_collect_closures(struct planner *p, struct temper_err *err)
{
    cleanup_free struct elf_path *paths = NULL;
    size_t n;

    elf_resolver_paths(p->resolver, &paths, &n);
    for (size_t i = 0; i < n; i++) {
        const struct fs_path *fp;

        if (paths[i].target != NULL) {
            if (add_symlink(p, paths[i].path, err) < 0)
                return -1;
            continue;
        }
        if (fs_resolve(p->root, paths[i].path, &fp, err) < 0 || add_resolved(p, fp, err) < 0)
            return -1;
    }
    return 0;
}

int
rootfs_collect_extra(struct planner *p, const char *path, bool *added, struct temper_err *err)
{
    const struct fs_path *fp;
    bool elf;

    *added = false;
    if (fs_lookup(p->root, path, &fp) != 0 || fp->kind != FS_KIND_FILE)
        return 0;
    if (is_elf(p, fp, &elf, err) < 0)
        return -1;
    if (elf)
        return 0;
    *added = true;
    return add_resolved(p, fp, err);
}

int
rootfs_collect(struct planner *p, struct temper_err *err)
{
    int rc = 0;

    if (collect_binaries(p, err) < 0 || collect_files(p, err) < 0 || collect_trees(p, err) < 0 ||
        collect_libraries(p, err) < 0)
        rc = -1;
    p->current = NULL; /* a closure's files have no recipe line of their own */
    return rc < 0 ? -1 : rootfs_collect_closures(p, err);
}
