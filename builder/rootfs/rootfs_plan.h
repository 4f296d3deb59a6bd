/*
 * rootfs: the plan of an image's root filesystem, every entry it will hold,
 * decided before a byte is written (bubblewrap's "parse first, act later").
 *
 * rootfs_plan_build takes a recipe and a root: it resolves the ELF closure
 * of every binary, library and ELF file inside a tree, keeps every symlink
 * on the way (directory symlinks included), adds the parents of everything,
 * the files the recipe writes itself (/etc/passwd, /etc/group,
 * /etc/nsswitch.conf, `paths` entries) and /tmp, and applies the hardening
 * rules:
 *  - owner 0:0 unless `paths` says otherwise;
 *  - write bits of group and other cleared; setuid and setgid cleared
 *    unless the recipe allows them (then kept and listed);
 *  - nothing world-writable but /tmp (1777);
 *  - modes normalised: directories 0755, files 0644 or 0755 (any execute bit
 *    in the root gives 0755), symlinks 0777, unless `paths` sets them;
 *  - a shell (sh, bash, dash, busybox, ...) fails the build unless
 *    allowed; `hardening.require` demands PIE, full RELRO or a
 *    non-executable stack of every ELF file and fails naming the offenders.
 * Hard links in the root become separate files (the bytes do not depend on
 * how the root was made).
 *
 * The plan is plain data, sorted by path bytes (so parents come before
 * their children), owned by the caller, free of pointers into the recipe or
 * the resolver.
 */
#ifndef TEMPER_ROOTFS_PLAN_H
#define TEMPER_ROOTFS_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/fs.h"
#include "recipe/recipe.h"

enum rootfs_type {
    ROOTFS_DIR,
    ROOTFS_FILE,
    ROOTFS_SYMLINK,
};

struct rootfs_entry {
    char *path; /* relative to the image root, no leading or trailing slash: "usr/bin/python3" */
    enum rootfs_type type;
    uint32_t mode; /* permission bits (07777), after hardening */
    uint32_t uid, gid;
    uint64_t size; /* file: its size in bytes; else 0 */
    char *source;  /* file copied from the root: its canonical path there ("/usr/bin/python3.11") */
    char *content; /* file written by temper: its `size` bytes; NULL for a file from the root */
    char *target;  /* symlink: the target text */
    size_t package; /* file or symlink: 1 + its index in rootfs_plan.packages; 0: no package's */
};

/*
 * A package of the root's dpkg database that ships at least one file or symlink of the image
 * (a package whose files the closure left out is not one). What scanners read of it goes into
 * the image as /var/lib/dpkg/status.d/<name> (the control fields, as distroless writes them)
 * and <name>.md5sums (of its files in the image).
 */
struct rootfs_package {
    char *name, *version, *architecture;
    char *source, *source_version; /* Source's name and version (the package's when unset) */
    char *license_file;            /* "usr/share/doc/<name>/copyright" when the image holds it */
    size_t entries;                /* files and symlinks of the image it shipped */
};

/* What the hardening summary says of one ELF file. */
struct rootfs_elf {
    char *path;         /* as in rootfs_entry.path */
    bool is_executable; /* ET_EXEC, or PT_INTERP without DT_SONAME: a program, not a library */
    bool is_pie;
    bool has_full_relro;
    bool has_nx_stack;
};

/* A library added for what glibc opens at run time (rootfs_dlopen.c). */
struct rootfs_opened {
    char *path; /* in the image, absolute */
    char *why;  /* "to unwind threads (...)", "the gconv module of ISO-8859-1 (contents.gconv)" */
};

struct rootfs_summary {
    size_t files;         /* regular files */
    size_t entries;       /* all entries */
    uint64_t bytes;       /* bytes of file content */
    size_t setid_cleared; /* files whose setuid or setgid bit was cleared */
    char **setid_kept;    /* paths that kept setuid/setgid (allow-setuid), NULL-terminated */
    char **shells;        /* shells present (allow-shell), NULL-terminated */
    char **warnings;      /* things a user should know, NULL-terminated */
    struct rootfs_opened *opened; /* each library added for what glibc opens at run time */
    size_t nopened;
    char *ca_bundle; /* what the image's CA bundle was made from (rootfs_cabundle.c), or NULL */
    /* From the root's dpkg database: files and symlinks of the image no package shipped (what
     * temper writes is not counted), and files whose bytes are not what their package
     * installed (its md5sums), which count as no package's. */
    size_t unowned;
    size_t modified;
    bool has_dpkg; /* whether the root has a dpkg database (var/lib/dpkg/status) */
    struct rootfs_elf *elves;
    size_t nelves;
};

struct rootfs_plan {
    struct rootfs_entry *entries; /* sorted by path bytes */
    size_t n;
    const char *architecture; /* OCI architecture: "amd64", "arm64", ... (static string) */
    const char *variant;      /* OCI variant ("v7" for 32-bit arm), or NULL */
    struct rootfs_summary summary;
    struct rootfs_package *packages; /* sorted by name, then architecture */
    size_t npackages;
};

/* Which package of the root's dpkg database owns each path, kept between the plans of one root
 * (the parts of a layered image) so that the lists are read once (rootfs_dpkg.c). */
struct rootfs_dpkg_owners;
struct rootfs_dpkg_owners *rootfs_dpkg_owners_new(void);
void rootfs_dpkg_owners_free(struct rootfs_dpkg_owners *owners);

struct rootfs_options {
    unsigned jobs; /* threads reading the dpkg lists and hashing the files they name; 0: one */
    /* NULL, or shared by plans of one root: the first plan reads the lists and keeps what they
     * say of its paths, the later ones look their own up, so the first must hold every path of
     * the later ones (the whole recipe's plan, before its parts'). */
    struct rootfs_dpkg_owners *owners;
    /* The architecture the root was given for (temper build --root ARCH=DIR), or NULL: the
     * image's when the recipe names none, and its ELF files must be for it. */
    const char *root_architecture;
};

/*
 * Plans the image of `recipe` from the files in `root` (borrowed, used
 * only during the call). Errors name the recipe location of the value at
 * fault ("python.yaml:4:14: '/usr/bin/pyton3' is not in the root"), or the
 * offending files; nothing is written anywhere.
 */
int rootfs_plan_build(const struct recipe *recipe, struct fs_root *root,
                      const struct rootfs_options *opts, struct rootfs_plan **out,
                      struct temper_err *err);

void rootfs_plan_free(struct rootfs_plan *plan);

/*
 * An image layered by the files of its recipe (layering: includes): the
 * plans of its parts (recipe_load_parts), the whole recipe's last, over one
 * root, cut into layers (rootfs_layers.c). Layer k holds what part k plans
 * that the layers below do not hold the same way (an entry of another
 * type, mode, owner, size, source, content or target replaces the lower one
 * when the layers are applied), with every directory above it, as part k
 * plans them, so that each layer extracts on its own. A part that adds
 * nothing gets no layer. The bottom layer is thus the first part's plan
 * whole, whatever the parts above it: images that include the same base
 * recipe over the same root share its bytes. A part that leaves out what a
 * part below it plans is TEMPER_E_POLICY naming the path and both files: no
 * layer removes anything, so none needs a whiteout.
 */
struct rootfs_layer {
    struct rootfs_plan view; /* entries and n only, the entries borrowed from the parts' plans */
    size_t part;             /* the index of the part it came from */
    /* Per entry: its index in the whole's plan when the image keeps it (no higher layer
     * replaces it), else SIZE_MAX. */
    size_t *final_index;
};

int rootfs_plan_layers(struct rootfs_plan *const *plans, const char *const *files, size_t n,
                       struct rootfs_layer **out, size_t *nout, struct temper_err *err);
void rootfs_layers_free(struct rootfs_layer *layers, size_t n);

/* Whether the last component of `path` is a shell's name (sh, bash, dash, busybox, ...): what
 * hardening refuses without allow-shell, and what temper inspect reports. */
bool rootfs_is_shell(const char *path);

#define cleanup_rootfs_plan __attribute__((cleanup(rootfs_plan_freep)))
static inline void
rootfs_plan_freep(struct rootfs_plan **p)
{
    rootfs_plan_free(*p);
}

#endif
