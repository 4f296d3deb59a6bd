/*
 * The search-path side of ld.so: ld.so.conf as ldconfig reads it, the default
 * directories, and dynamic string tokens.
 *
 * ld.so itself reads /etc/ld.so.cache, which ldconfig builds from the very
 * directories parsed here; reading the directories keeps temper right for a
 * root whose cache is stale or absent (a debootstrap tree before ldconfig ran,
 * a fixture), and the oracle test checks that both agree on a real system.
 */
#include <elf.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "elf-internal.h"

/*
 * The subdirectories ld.so tries in each search directory before the
 * directory itself, best first: glibc-hwcaps (glibc 2.33+), then the legacy
 * ones glibc 2.36 still searches (removed in 2.37): "tls", the platform
 * (AT_PLATFORM, or what glibc sets from the CPU: haswell, xeon_phi) and the
 * important hwcap names, tls first. Which of them a given CPU takes is not
 * known when an image is built, so the list holds every one a CPU could.
 */
static const char *const x86_64_subdirs[] = {"glibc-hwcaps/x86-64-v4",
                                             "glibc-hwcaps/x86-64-v3",
                                             "glibc-hwcaps/x86-64-v2",
                                             "tls/haswell/x86_64",
                                             "tls/haswell",
                                             "tls/xeon_phi/x86_64",
                                             "tls/xeon_phi",
                                             "tls/x86_64/avx512_1/x86_64",
                                             "tls/x86_64/avx512_1",
                                             "tls/x86_64/x86_64",
                                             "tls/x86_64",
                                             "tls/avx512_1/x86_64",
                                             "tls/avx512_1",
                                             "tls",
                                             "haswell/x86_64",
                                             "haswell",
                                             "xeon_phi/x86_64",
                                             "xeon_phi",
                                             "x86_64/avx512_1/x86_64",
                                             "x86_64/avx512_1",
                                             "x86_64/x86_64",
                                             "x86_64",
                                             "avx512_1/x86_64",
                                             "avx512_1",
                                             NULL};
static const char *const i386_subdirs[] = {"tls/i686/sse2", "tls/i686", "tls/sse2", "tls",
                                           "i686/sse2",     "i686",     "sse2",     NULL};
static const char *const ppc64le_subdirs[] = {"glibc-hwcaps/power10", "glibc-hwcaps/power9", "tls",
                                              NULL};
static const char *const s390x_subdirs[] = {
    "glibc-hwcaps/z16", "glibc-hwcaps/z15", "glibc-hwcaps/z14", "glibc-hwcaps/z13", "tls", NULL};
static const char *const other_subdirs[] = {"tls", NULL};

static const struct ld_machine machines[] = {
    {EM_X86_64, ELFCLASS64, "x86_64-linux-gnu", "x86_64", x86_64_subdirs},
    {EM_386, ELFCLASS32, "i386-linux-gnu", "i686", i386_subdirs},
    {EM_AARCH64, ELFCLASS64, "aarch64-linux-gnu", "aarch64", other_subdirs},
    {EM_ARM, ELFCLASS32, "arm-linux-gnueabihf", "v7l", other_subdirs},
    {EM_PPC64, ELFCLASS64, "powerpc64le-linux-gnu", "power8", ppc64le_subdirs},
    {EM_S390, ELFCLASS64, "s390x-linux-gnu", "z900", s390x_subdirs},
    {EM_RISCV, ELFCLASS64, "riscv64-linux-gnu", "riscv64", other_subdirs},
    {EM_MIPS, ELFCLASS64, "mips64el-linux-gnuabi64", "mips64", other_subdirs},
};

const struct ld_machine *
ld_machine_find(uint16_t machine, unsigned char elf_class)
{
    static const struct ld_machine unknown = {EM_NONE, ELFCLASSNONE, NULL, "", other_subdirs};

    for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++) {
        if (machines[i].machine == machine && machines[i].elf_class == elf_class)
            return &machines[i];
    }
    return &unknown;
}

void
ld_dirs_release(struct ld_dirs *dirs)
{
    free(dirs->dirs);
    strmap_release(&dirs->seen, NULL);
    memset(dirs, 0, sizeof(*dirs));
}

int
ld_dirs_add(struct ld_dirs *dirs, const char *dir, struct temper_err *err)
{
    if (strmap_get(&dirs->seen, dir) != NULL)
        return 0;
    if (dirs->count == LDCONF_MAX_DIRS)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "more than %d library directories at '%s'",
                              LDCONF_MAX_DIRS, dir);
    dirs->dirs = xreallocarray(dirs->dirs, dirs->count + 1, sizeof(*dirs->dirs));
    dirs->dirs[dirs->count++] = strmap_put(&dirs->seen, dir, dirs);
    return 0;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims blanks and trailing slashes (ldconfig's add_dir does the same); "/" stays "/". */
static void
trim(char *s)
{
    size_t len = strlen(s);

    while (len > 0 && is_space(s[len - 1]))
        len--;
    while (len > 1 && s[len - 1] == '/')
        len--;
    s[len] = '\0';
}

static int
parse_line(char *line, const char *name, size_t lineno, const char *conf_dir, struct ld_dirs *dirs,
           int (*on_include)(void *ctx, const char *pattern, struct temper_err *err), void *ctx,
           struct temper_err *err)
{
    char *hash = strchr(line, '#'), *eq;

    if (hash != NULL)
        *hash = '\0';
    while (is_space(*line))
        line++;
    trim(line);
    if (*line == '\0')
        return 0;
    /* As ldconfig's parse_conf: "include" and a blank, then patterns separated by blanks;
     * "hwcap" in any case, ignored. */
    if (strncmp(line, "include", 7) == 0 && is_blank(line[7])) {
        char *rest = line + 8, *pattern;

        while ((pattern = strsep(&rest, " \t")) != NULL) {
            char abs[TEMPER_PATH_MAX];
            int n;

            if (pattern[0] == '\0')
                continue;
            if (pattern[0] == '/')
                n = snprintf(abs, sizeof(abs), "%s", pattern);
            else
                n = snprintf(abs, sizeof(abs), "%s/%s", conf_dir, pattern);
            if (n < 0 || (size_t)n >= sizeof(abs))
                return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                      "'%s' line %zu: include path too long", name, lineno);
            if (on_include(ctx, abs, err) < 0)
                return -1;
        }
        return 0;
    }
    if (strncasecmp(line, "hwcap", 5) == 0 && is_blank(line[5]))
        return 0;
    /* libc5-era "dir=TYPE" annotations name the directory before '='. */
    eq = strchr(line, '=');
    if (eq != NULL) {
        *eq = '\0';
        trim(line);
    }
    if (line[0] != '/')
        return 0; /* ldconfig warns and ignores relative directories; so does ld.so's cache */
    return ld_dirs_add(dirs, line, err);
}

int
ld_conf_parse(const char *text, size_t len, const char *name, const char *conf_dir,
              struct ld_dirs *dirs,
              int (*on_include)(void *ctx, const char *pattern, struct temper_err *err), void *ctx,
              struct temper_err *err)
{
    size_t lineno = 0;

    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        cleanup_free char *line = NULL;

        lineno++;
        if (memchr(text + pos, '\0', end - pos) != NULL)
            return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' line %zu: NUL byte", name, lineno);
        if (end - pos >= TEMPER_PATH_MAX)
            return temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s' line %zu: line too long", name,
                                  lineno);
        line = xstrndup(text + pos, end - pos);
        if (parse_line(line, name, lineno, conf_dir, dirs, on_include, ctx, err) < 0)
            return -1;
        pos = end + 1;
    }
    return 0;
}

struct conf_loader {
    struct fs_root *root;
    struct ld_dirs *dirs;
    int depth;
    size_t bytes_left;   /* of LDCONF_TOTAL_MAX_BYTES, over every file read */
    size_t files_left;   /* of LDCONF_FILES_MAX */
    size_t entries_left; /* of LDCONF_GLOB_MAX, directory entries listed for every glob */
};

static int load_file(struct conf_loader *cl, const char *path, struct temper_err *err);

static bool
is_glob(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '*' || s[i] == '?' || s[i] == '[')
            return true;
    }
    return false;
}

/*
 * Expands a glob inside the root (glob(3) would open host paths), in sorted
 * order as glob(3) returns them, and loads each match. Literal components are
 * walked in a loop; only a component with a wildcard recurses, and
 * include_pattern caps how many a pattern may have.
 */
static int
expand_glob(struct conf_loader *cl, const char *dir, const char *rest, struct temper_err *err)
{
    char path[TEMPER_PATH_MAX], comp[TEMPER_PATH_MAX], next[TEMPER_PATH_MAX];
    const struct fs_path *d;
    char **names = NULL;
    const char *slash;
    size_t clen;
    int rc = 0;

    snprintf(path, sizeof(path), "%s", dir);
    for (;; rest = slash + 1) {
        slash = strchr(rest, '/');
        clen = slash ? (size_t)(slash - rest) : strlen(rest);
        if (is_glob(rest, clen))
            break;
        memcpy(comp, rest, clen);
        comp[clen] = '\0';
        if (clen > 0 && fs_path_join(next, path, comp) < 0)
            return 0;
        if (clen > 0)
            memcpy(path, next, sizeof(path));
        if (slash == NULL)
            return clen > 0 ? load_file(cl, path, err) : 0;
    }
    memcpy(comp, rest, clen);
    comp[clen] = '\0';
    /* A directory that is missing or unreadable matches nothing, as with glob(3). */
    if (fs_lookup(cl->root, path, &d) != 0 || d->kind != FS_KIND_DIR)
        return 0;
    if (fs_list_dir(cl->root, d, cl->entries_left, &names, err) < 0)
        return err->code != TEMPER_E_LIMIT
                   ? -1
                   : temper_err_prefix(err, "ld.so.conf includes list more than %d entries in all",
                                       LDCONF_GLOB_MAX);
    for (char **n = names; *n != NULL; n++)
        cl->entries_left--;
    for (char **n = names; *n != NULL && rc == 0; n++) {
        if (fnmatch(comp, *n, FNM_PERIOD) != 0 || fs_path_join(next, path, *n) < 0)
            continue;
        rc = slash ? expand_glob(cl, next, slash + 1, err) : load_file(cl, next, err);
    }
    fs_names_free(names);
    return rc;
}

static size_t
count_wildcard_components(const char *pattern)
{
    size_t count = 0;

    for (const char *c = pattern;;) {
        const char *end = strchr(c, '/');

        count += is_glob(c, end ? (size_t)(end - c) : strlen(c));
        if (end == NULL)
            return count;
        c = end + 1;
    }
}

static int
include_pattern(void *ctx, const char *pattern, struct temper_err *err)
{
    if (count_wildcard_components(pattern) > LDCONF_GLOB_COMPONENTS)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "include '%s' has more than %d components with wildcards", pattern,
                              LDCONF_GLOB_COMPONENTS);
    return expand_glob(ctx, "/", pattern + 1, err);
}

/* Loads one configuration file; one that does not exist adds nothing, as with ldconfig. */
static int
load_file(struct conf_loader *cl, const char *path, struct temper_err *err)
{
    cleanup_free char *text = NULL;
    char conf_dir[TEMPER_PATH_MAX];
    const struct fs_path *p;
    struct temper_err missing;
    size_t len;
    int rc;

    if (fs_resolve(cl->root, path, &p, &missing) < 0) {
        if (missing.sys_errno == ENOENT || missing.sys_errno == ENOTDIR)
            return 0;
        *err = missing;
        return -1;
    }
    if (p->kind != FS_KIND_FILE)
        return 0; /* ldconfig skips what is not a regular file */
    if (cl->files_left-- == 0)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "'%s': ld.so.conf includes more than %d files in all", path,
                              LDCONF_FILES_MAX);
    if (cl->depth >= LDCONF_INCLUDE_DEPTH)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "'%s': includes nest deeper than %d (an include cycle?)", path,
                              LDCONF_INCLUDE_DEPTH);
    if (fs_read_file(cl->root, p, LDCONF_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    if (len > cl->bytes_left)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "'%s': ld.so.conf and its includes exceed %d bytes in all", path,
                              LDCONF_TOTAL_MAX_BYTES);
    cl->bytes_left -= len;
    snprintf(conf_dir, sizeof(conf_dir), "%s", path);
    *strrchr(conf_dir, '/') = '\0';
    if (conf_dir[0] == '\0')
        snprintf(conf_dir, sizeof(conf_dir), "/");
    cl->depth++;
    rc = ld_conf_parse(text, len, path, conf_dir, cl->dirs, include_pattern, cl, err);
    cl->depth--;
    return rc;
}

int
ld_conf_load(struct fs_root *root, struct ld_dirs *dirs, struct temper_err *err)
{
    struct conf_loader cl = {root,           dirs, 0, LDCONF_TOTAL_MAX_BYTES, LDCONF_FILES_MAX,
                             LDCONF_GLOB_MAX};

    return load_file(&cl, "/etc/ld.so.conf", err);
}

int
ld_default_dirs(struct fs_root *root, const struct ld_machine *m, struct ld_dirs *dirs, char *lib,
                struct temper_err *err)
{
    char multiarch[TEMPER_PATH_MAX];
    const struct fs_path *p;

    /* ld.so's list is compiled in; the root's C library says which layout it was built for:
     * Debian's multiarch when libc lives in /usr/lib/<triplet> or /lib/<triplet>. */
    if (m->triplet != NULL) {
        char libc[TEMPER_PATH_MAX];

        snprintf(multiarch, sizeof(multiarch), "/usr/lib/%s", m->triplet);
        char lib_libc[TEMPER_PATH_MAX];

        snprintf(lib_libc, sizeof(lib_libc), "/lib/%s/libc.so.6", m->triplet);
        if ((fs_path_join(libc, multiarch, "libc.so.6") == 0 && fs_lookup(root, libc, &p) == 0 &&
             p->kind == FS_KIND_FILE) ||
            (fs_lookup(root, lib_libc, &p) == 0 && p->kind == FS_KIND_FILE)) {
            char dir[TEMPER_PATH_MAX];

            snprintf(lib, LD_LIB_MAX, "lib/%s", m->triplet);
            snprintf(dir, sizeof(dir), "/lib/%s", m->triplet);
            if (ld_dirs_add(dirs, dir, err) < 0 || ld_dirs_add(dirs, multiarch, err) < 0)
                return -1;
            return ld_dirs_add(dirs, "/lib", err) < 0 ? -1 : ld_dirs_add(dirs, "/usr/lib", err);
        }
    }
    if (m->elf_class == ELFCLASS64) {
        snprintf(lib, LD_LIB_MAX, "lib64");
        return ld_dirs_add(dirs, "/lib64", err) < 0 ? -1 : ld_dirs_add(dirs, "/usr/lib64", err);
    }
    snprintf(lib, LD_LIB_MAX, "lib");
    return ld_dirs_add(dirs, "/lib", err) < 0 ? -1 : ld_dirs_add(dirs, "/usr/lib", err);
}

/* Length of the token name starting at s (after '$'), and whether it was braced; 0 if unknown. */
static size_t
match_token(const char *s, const char *token, size_t *skip)
{
    size_t n = strlen(token);

    if (strncmp(s, token, n) == 0) {
        char c = s[n];

        /* "$ORIGINAL" is no token: the name must end at a non-identifier character. */
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
            return 0;
        *skip = n;
        return 1;
    }
    if (s[0] == '{' && strncmp(s + 1, token, n) == 0 && s[n + 1] == '}') {
        *skip = n + 2;
        return 1;
    }
    return 0;
}

int
ld_expand(const char *s, const char *origin, const char *lib, const char *platform, char *out)
{
    size_t o = 0;

    for (; *s; s++) {
        const char *value = NULL;
        size_t skip = 0, vlen;

        if (*s == '$') {
            if (match_token(s + 1, "ORIGIN", &skip))
                value = origin;
            else if (match_token(s + 1, "LIB", &skip))
                value = lib;
            else if (match_token(s + 1, "PLATFORM", &skip))
                value = platform;
        }
        if (value == NULL) {
            if (o + 1 >= TEMPER_PATH_MAX)
                return -1;
            out[o++] = *s;
            continue;
        }
        vlen = strlen(value);
        if (o + vlen >= TEMPER_PATH_MAX)
            return -1;
        memcpy(out + o, value, vlen);
        o += vlen;
        s += skip;
    }
    out[o] = '\0';
    return 0;
}
