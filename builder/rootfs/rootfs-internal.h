/*
 * Shared inside rootfs/: the table of entries being planned. rootfs_plan.c
 * owns the table and the hardening rules; rootfs_collect.c fills it from the
 * root (binaries, files, trees, libraries and their ELF closures).
 */
#ifndef TEMPER_ROOTFS_INTERNAL_H
#define TEMPER_ROOTFS_INTERNAL_H

#include "base/strmap.h"
#include "elf/elf_resolver.h"
#include "rootfs_plan.h"

/* Where an entry came from decides which of two claims on one path wins. */
enum rootfs_origin {
    ORIGIN_ROOT,      /* copied from the root: a binary, file, tree or closure */
    ORIGIN_PARENT,    /* a directory added because something lives under it */
    ORIGIN_GENERATED, /* written by temper: /etc/passwd, /tmp, home directories */
    ORIGIN_RECIPE,    /* an entry of `paths` */
};

struct planner {
    const struct recipe *recipe;
    struct fs_root *root;
    struct elf_resolver *resolver;
    struct rootfs_plan *plan;
    struct strmap index;               /* entry path -> index + 1, cast to a pointer */
    enum rootfs_origin *origins;       /* parallel to plan->entries */
    const struct recipe_loc **locs;    /* parallel too: where the recipe asked for it, or NULL */
    const struct recipe_loc *current;  /* the recipe item being collected, or NULL */
    unsigned jobs;                     /* threads a step may use */
    struct rootfs_dpkg_owners *owners; /* rootfs_options.owners */
    const char *root_architecture;     /* rootfs_options.root_architecture */
    size_t cap;
    const char *like;                    /* an ELF input, for the machine of contents.libraries */
    const struct elf_closure **closures; /* every closure resolved, owned by the resolver */
    size_t nclosures;
    char **by_cache_only; /* paths of libraries only ld.so.conf finds, NULL-terminated */
};

/*
 * Adds an entry (path relative, no leading slash), taking ownership of its
 * strings. A second claim on a path: the same thing from the root again is
 * dropped; temper's own directory, or an entry of `paths`, replaces one of
 * the same type; anything else is an error naming the path and the recipe
 * locations of both claims. `loc` (may be NULL) is where the recipe asked
 * for the entry; it must outlive the planner.
 */
int planner_add(struct planner *p, struct rootfs_entry *e, enum rootfs_origin origin,
                const struct recipe_loc *loc, struct temper_err *err);

/* Keeps a closure for the hardening report and the machine check. */
void planner_add_closure(struct planner *p, const struct elf_closure *c);

/* Fills the plan from the root: contents.binaries, files, trees and libraries, with closures. */
int rootfs_collect(struct planner *p, struct temper_err *err);

/* Adds every file and symlink that the closures resolved so far need (again: what is already in
 * the plan is dropped). */
int rootfs_collect_closures(struct planner *p, struct temper_err *err);

/*
 * Adds what glibc opens with dlopen for the image's files and configuration (rootfs_dlopen.c):
 * libgcc_s.so.1, nsswitch.conf's modules, contents.gconv's modules. Call it after
 * rootfs_collect, before the versions are checked and the dpkg records read.
 */
int rootfs_dlopen(struct planner *p, struct temper_err *err);

/*
 * Makes the /etc/ssl/certs/ca-certificates.crt the image takes from the root out of the root's
 * /usr/share/ca-certificates and contents.ca-certificates (rootfs_cabundle.c), so that no
 * certificate added on the build machine is trusted unnamed. Call it after rootfs_collect.
 */
int rootfs_ca_bundle(struct planner *p, struct temper_err *err);

/*
 * Adds `path` (absolute, in the root) and every symlink on the way to it, as a file the recipe
 * did not name: what the dpkg records take (os-release, copyright files). *added is false, and
 * nothing is added, when the root has no regular file there that is not an ELF file.
 */
int rootfs_collect_extra(struct planner *p, const char *path, bool *added, struct temper_err *err);

/* Adds a file temper writes, with `content` (taken; a NUL-terminated text). */
int planner_add_text(struct planner *p, const char *path, char *content, struct temper_err *err);
/* The same for `len` bytes that may hold NULs (content taken). */
int planner_add_bytes(struct planner *p, const char *path, char *content, size_t len,
                      struct temper_err *err);

/* /etc/ld.so.cache of an image with glibc, as ldconfig -r would write it (rootfs_ldcache.c). */
int rootfs_ld_cache(struct planner *p, struct temper_err *err);

/*
 * Says which package of the root's dpkg database shipped each file and symlink taken from the
 * root (rootfs_dpkg.c), adds what scanners read (status.d, os-release, copyright files) and
 * fills plan->packages. Call it after rootfs_collect, before the parents are added.
 */
int rootfs_dpkg(struct planner *p, struct temper_err *err);

/* The entry at `path` (relative, as in the plan), or NULL. */
const struct rootfs_entry *planner_entry(const struct planner *p, const char *path);

/*
 * The canonical path (relative, "" for the root) of `path` (absolute or relative to the root)
 * in the image, every symlink followed; NULL when a component is missing or links loop. Free
 * it.
 */
char *planner_resolve(const struct planner *p, const char *path);

/* Appends a NULL-terminated list entry. */

#endif
