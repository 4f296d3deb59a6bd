/*
 * elf_resolver: the shared-library closure of ELF files inside a root, found
 * the way glibc's dynamic loader (ld.so) would find it, without running
 * anything.
 *
 * Two levels, both plain data:
 *  - struct elf_object is what one file says of itself (class, machine,
 *    PT_INTERP, DT_NEEDED, DT_RPATH, DT_RUNPATH, hardening flags). It is
 *    parsed once per run, however many inputs need it, and is owned by the
 *    resolver.
 *  - struct elf_closure is what the loader would map for one input: the
 *    objects in load order (breadth-first, as _dl_map_object_deps does), the
 *    path each was opened by, and what each DT_NEEDED name resolved to.
 *
 * The rules followed are glibc 2.36's (elf/dl-load.c): a name with a slash
 * is a path; otherwise an object already loaded under that name or soname
 * is reused; then DT_RPATH of the requesting object and of each object that
 * loaded it (for objects that have no DT_RUNPATH, and only when the
 * requesting object has none), DT_RUNPATH of the requesting object, the
 * directories of /etc/ld.so.conf inside the root as ld.so.cache holds them,
 * then the default directories of the machine type (DF_1_NODEFLIB keeps
 * only the cache's entries outside them). In each directory the machine's
 * subdirectories come first (glibc-hwcaps, tls, platform). $ORIGIN, $LIB
 * and $PLATFORM expand. A candidate of another class or machine is skipped;
 * one of another byte order, or not ELF at all, is an error.
 *
 * Every file is reached through fs.h, so nothing outside the root is opened.
 *
 * Usage:
 *     elf_resolver_new(root, &opts, &r, &err);
 *     for each input: elf_resolver_resolve(r, "/usr/bin/python3", &closure, &err);
 *     elf_resolver_paths(r, &paths, &n);    -- everything the inputs need
 *     elf_resolver_free(r);
 */
#ifndef TEMPER_ELF_RESOLVER_H
#define TEMPER_ELF_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/fs.h"

struct elf_object {
    const char *path;           /* canonical path inside the root */
    unsigned char elf_class;    /* ELFCLASS32 or ELFCLASS64 */
    unsigned char data;         /* ELFDATA2LSB or ELFDATA2MSB */
    uint16_t machine;           /* e_machine */
    uint32_t flags;             /* e_flags: the ABI variant on some machines (32-bit arm's float) */
    uint16_t type;              /* ET_EXEC or ET_DYN */
    char *interp;               /* PT_INTERP, or NULL */
    const char *interp_problem; /* why PT_INTERP cannot be used (a static string), or NULL */
    char *soname;               /* DT_SONAME, or NULL */
    char *rpath;                /* DT_RPATH, NULL when absent or when DT_RUNPATH is present */
    char *runpath;              /* DT_RUNPATH, or NULL */
    char **needed;              /* DT_NEEDED names, in file order */
    size_t nneeded;
    bool is_dynamic; /* has PT_DYNAMIC */
    bool nodeflib;   /* DF_1_NODEFLIB: no ld.so.conf, no default directories */
    /* Hardening facts, read from the same headers. */
    bool is_pie;         /* position-independent executable */
    bool has_relro;      /* PT_GNU_RELRO */
    bool has_bind_now;   /* DF_BIND_NOW, DF_1_NOW or DT_BIND_NOW: with relro, "full RELRO" */
    bool has_exec_stack; /* PT_GNU_STACK with PF_X, or no PT_GNU_STACK at all */
    /* GNU_PROPERTY_X86_ISA_1_NEEDED of an x86 file's PT_GNU_PROPERTY, read by ldconfig's rules
     * (elf/readelflib.c), or 0: ldconfig writes its highest bit into a glibc-hwcaps entry. */
    uint32_t x86_isa_needed;
};

/*
 * Parses one ELF image of `len` bytes. `name` is used in error messages and
 * kept as out->path (copied). Every offset, size and string is checked
 * against `len` and the caps of limits.h; malformed input is TEMPER_E_ELF.
 * The image is only read. On success out owns its strings: release them with
 * elf_object_release.
 */
int elf_object_parse(const void *image, size_t len, const char *name, struct elf_object *out,
                     struct temper_err *err);
/* The start of a file as ld.so reads it first, before deciding to skip or refuse it. */
struct elf_ident {
    bool valid; /* the start could be read (the file may be short or not ELF) */
    size_t len; /* the file's size */
    unsigned char
        bytes[24]; /* e_ident, e_type, e_machine and e_version as stored; zeros past len */
};

/*
 * The same from an open file of `len` bytes, reading only the bytes it needs.
 * `ident` (may be NULL) is filled whenever the file's start could be read, on
 * failure too, so that a caller can skip a file of another class or machine
 * before caring why it is malformed, as ld.so does (elf_ident_verdict).
 */
int elf_object_read(int fd, size_t len, const char *name, struct elf_object *out,
                    struct elf_ident *ident, struct temper_err *err);
void elf_object_release(struct elf_object *obj);

/*
 * The symbol versions an object needs (DT_VERNEED: of which file, by name and hash, weak or
 * not) and defines (DT_VERDEF: each definition's first name and its hash), read as ld.so reads
 * them at start (elf/dl-version.c) and bounded by ELF_VERSION_BYTES_MAX and ELF_VERSIONS_MAX.
 * Malformed records are TEMPER_E_ELF, in ld.so's words where it has some ("unsupported version
 * 2 of Verneed record").
 */
struct elf_version_need {
    char *file;    /* vn_file: the name of the object that must define it ("libc.so.6") */
    char *version; /* "GLIBC_2.34" */
    uint32_t hash;
    bool weak; /* VER_FLG_WEAK: a missing one is no error */
};

struct elf_version_def {
    char *name;
    uint32_t hash;
};

/*
 * Functions an object imports (undefined in its DT_SYMTAB) for which glibc 2.36 opens a library
 * that no DT_NEEDED names: to unwind a thread that is cancelled or exits, and for backtrace,
 * libgcc_s.so.1 (nptl/pthread_cancel.c aborts the program without it); for iconv_open, the gconv
 * module of each character set that is not built in.
 */
enum {
    ELF_IMPORT_UNWIND = 1 << 0, /* pthread_cancel, pthread_exit, thrd_exit, backtrace */
    ELF_IMPORT_ICONV = 1 << 1,  /* iconv_open */
};

struct elf_versions {
    struct elf_version_need *needs;
    size_t nneeds;
    struct elf_version_def *defs;
    size_t ndefs;
    bool has_verdef;  /* without DT_VERDEF, ld.so takes any version as found */
    unsigned imports; /* ELF_IMPORT_* bits, read with the versions from the same headers */
};

int elf_versions_parse(const void *image, size_t len, const char *name, struct elf_versions *out,
                       struct temper_err *err);
int elf_versions_read(int fd, size_t len, const char *name, struct elf_versions *out,
                      struct temper_err *err);
void elf_versions_release(struct elf_versions *v);

/*
 * What ld.so's open_verify (glibc 2.36, as the Debian 12 loader behaves) makes
 * of a candidate whose start is `id`, for a program of class, byte order and
 * machine `main`: 1 to take it, 0 to skip it (another class or machine: "not
 * a fatal error"), -1 to refuse it, with err naming `path` and saying why.
 * The order matters and is the loader's: a file too short for an ELF header
 * or without the magic is refused; then another class, or another machine
 * (read in the program's byte order), is skipped; only then are another byte
 * order and bad identification fields refused. parse_error, when not NULL,
 * is why the rest of the file is malformed, refused last.
 */
int elf_ident_verdict(const struct elf_ident *id, const struct elf_object *main, const char *path,
                      const struct temper_err *parse_error, struct temper_err *err);

/* "x86_64", "i386", "aarch64", ... or "unknown". */
const char *elf_machine_name(uint16_t machine);

struct elf_edge {
    const char *name; /* the DT_NEEDED name as written */
    long target;      /* index into elf_closure.loads, or -1 when not found */
};

struct elf_load {
    const struct elf_object *object;
    const char *path;       /* the path the loader opens, e.g. "/lib/x86_64-linux-gnu/libc.so.6" */
    const char *name;       /* the name it was first asked for by: DT_NEEDED, PT_INTERP or input */
    long loader;            /* index of the object that first needed it, -1 for the input */
    struct elf_edge *edges; /* one per DT_NEEDED of object, in order */
    size_t nedges;
    /* Found through ld.so.conf in a directory that is not a default one: at run time ld.so
     * finds it only through /etc/ld.so.cache. */
    bool by_cache_only;
};

struct elf_missing {
    const char *name;      /* the DT_NEEDED name that was not found */
    const char *needed_by; /* path of the object that needed it */
};

struct elf_closure {
    const char *input;      /* the path as given */
    long interp;            /* index into loads of the interpreter, -1 for a static file */
    struct elf_load *loads; /* loads[0] is the input; then load order */
    size_t nloads;
    struct elf_missing *missing;
    size_t nmissing;
};

struct elf_resolver_options {
    /* Go on when a DT_NEEDED name is not found, recording it in elf_closure.missing. */
    bool allow_missing;
};

struct elf_resolver;

/* `root` is retained (borrowed): it must outlive the resolver. Reads /etc/ld.so.conf inside it. */
int elf_resolver_new(struct fs_root *root, const struct elf_resolver_options *opts,
                     struct elf_resolver **out, struct temper_err *err);
void elf_resolver_free(struct elf_resolver *r);

/*
 * Resolves the closure of `path` (absolute inside the root). The closure is
 * owned by the resolver and lives until elf_resolver_free. A name that cannot
 * be found is TEMPER_E_MISSING naming the object that needed it and the
 * directories searched, unless allow_missing is set.
 */
int elf_resolver_resolve(struct elf_resolver *r, const char *path, const struct elf_closure **out,
                         struct temper_err *err);

/*
 * Resolves a library that a program opens with dlopen by bare name (a
 * soname such as "libnss_dns.so.2"): found as ld.so finds it for an object
 * of the class and machine of the ELF file `like` (a path inside the root)
 * that has no DT_RPATH or DT_RUNPATH -- ld.so.conf as ld.so.cache holds it,
 * then the default directories -- and then resolved like an input.
 * TEMPER_E_MISSING names the directories searched when it is not there.
 */
int elf_resolver_resolve_library(struct elf_resolver *r, const char *name, const char *like,
                                 const struct elf_closure **out, struct temper_err *err);

/*
 * Checks a closure's symbol versions as ld.so does before it starts the program
 * (elf_versions.c): every version an object needs must be defined by the object loaded under
 * the name it names. A missing one is TEMPER_E_ELF in ld.so's words, "PATH: version `V' not
 * found (required by PATH)", the first few of them named; reading a file's versions can fail
 * too (TEMPER_E_ELF, TEMPER_E_IO).
 */
int elf_closure_check_versions(struct elf_resolver *r, const struct elf_closure *c,
                               struct temper_err *err);

/* The versions and imports of the ELF file at `path` in the root, read once per resolver and
 * owned by it; NULL when the file cannot be read (err says why). */
const struct elf_versions *elf_resolver_versions(struct elf_resolver *r, const char *path,
                                                 struct temper_err *err);

/*
 * Optional, before resolving many files: parses the inputs and the libraries
 * they most likely need on up to `jobs` threads, so that resolving them
 * afterwards mostly finds parsed objects. Changes no result; errors are
 * reported when the file is resolved.
 */
void elf_resolver_preload(struct elf_resolver *r, char *const *paths, size_t n, unsigned jobs);

struct elf_path {
    const char *path;   /* canonical location inside the root */
    const char *target; /* the symlink's target text, or NULL for a file */
};

/*
 * Everything the closures resolved so far need in an image: every file, and
 * every symlink on the way to one (directory symlinks included), sorted by
 * path bytes. Plain directories are not listed. *out is owned by the caller
 * (free it); the strings in it belong to the resolver.
 */
void elf_resolver_paths(const struct elf_resolver *r, struct elf_path **out, size_t *n);

#endif
