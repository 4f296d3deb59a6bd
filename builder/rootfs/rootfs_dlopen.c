/*
 * What glibc 2.36 opens by itself, with dlopen, that no DT_NEEDED names; a closure without it
 * starts and then fails at the first call that needs it:
 *  - libgcc_s.so.1, to unwind a thread that is cancelled or exits and for backtrace
 *    (misc/unwind-link.c); nptl aborts the program without it ("libgcc_s.so.1 must be installed
 *    for pthread_cancel to work");
 *  - libnss_NAME.so.2 for each service the image's /etc/nsswitch.conf names, beyond files and
 *    dns, which are part of libc since 2.34 (without its module a service answers nothing:
 *    getpwuid returns NULL);
 *  - the gconv modules of the character sets iconv_open is asked for, unless built into libc.
 * Derived from the image itself (the functions its ELF files import, read with their symbol
 * versions, and its own nsswitch.conf) or, for gconv, named by the recipe, since no file says
 * which character sets a program converts. Each addition is resolved as contents.libraries is,
 * with its closure, and said in the summary; one that the root lacks fails the build.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "recipe/recipe.h"
#include "rootfs-internal.h"

/* The files of the image that import one kind of function: the first, and how many. */
struct importers {
    const char *first;
    size_t n;
};

/* Fills imp[0] (ELF_IMPORT_UNWIND) and imp[1] (ELF_IMPORT_ICONV) from every object loaded. */
static int
find_importers(struct planner *p, struct importers imp[2], struct temper_err *err)
{
    struct strmap seen;
    int rc = 0;

    strmap_init(&seen);
    for (size_t i = 0; i < p->nclosures && rc == 0; i++) {
        const struct elf_closure *c = p->closures[i];

        for (size_t j = 0; j < c->nloads; j++) {
            const char *path = c->loads[j].path;
            const struct elf_versions *v;

            if (strmap_get(&seen, path) != NULL)
                continue;
            strmap_put(&seen, path, (void *)1);
            v = elf_resolver_versions(p->resolver, path, err);
            if (v == NULL) {
                rc = -1;
                break;
            }
            for (size_t k = 0; k < 2; k++) {
                if ((v->imports & (k == 0 ? ELF_IMPORT_UNWIND : ELF_IMPORT_ICONV)) == 0)
                    continue;
                if (imp[k].n++ == 0 || strcmp(path, imp[k].first) < 0)
                    imp[k].first = path;
            }
        }
    }
    strmap_release(&seen, NULL);
    return rc;
}

/* "'/usr/bin/x'" or "'/usr/bin/x' and 3 more files", for messages. */
static char *
name_importers(const struct importers *imp)
{
    if (imp->n == 1)
        return xasprintf("'%s'", imp->first);
    return xasprintf("'%s' and %zu more file%s", imp->first, imp->n - 1, imp->n == 2 ? "" : "s");
}

/* Resolves `soname` as dlopen finds it for `like`, with its closure, and says why in the
 * summary ("PATH, WHY"); `why` is taken. When the root lacks it, the error says why it is needed
 * and what to do (`fix`). */
/* Notes an addition for the summary; takes both strings. */
static void
add_opened(struct planner *p, char *path, char *why)
{
    struct rootfs_summary *s = &p->plan->summary;

    s->opened = xreallocarray(s->opened, s->nopened + 1, sizeof(*s->opened));
    s->opened[s->nopened++] = (struct rootfs_opened){path, why};
}

static int
add_library(struct planner *p, const char *soname, const char *like, char *why, const char *fix,
            struct temper_err *err)
{
    const struct elf_closure *c;
    char was[sizeof(err->msg)];

    if (elf_resolver_resolve_library(p->resolver, soname, like, &c, err) < 0) {
        snprintf(was, sizeof(was), "%s", err->msg);
        temper_err_set(err, err->code, err->sys_errno,
                       "glibc opens %s %s, and the root has none "
                       "(%s); %s",
                       soname, why, was, fix);
        free(why);
        return -1;
    }
    planner_add_closure(p, c);
    add_opened(p, xstrdup(c->loads[0].path), why);
    return 0;
}

static int
add_unwinder(struct planner *p, const struct importers *imp, struct temper_err *err)
{
    cleanup_free char *who = NULL;

    if (imp->n == 0)
        return 0;
    who = name_importers(imp);
    return add_library(p, "libgcc_s.so.1", imp->first,
                       xasprintf("to unwind threads (pthread_cancel, pthread_exit or backtrace, "
                                 "which %s import%s; without it they abort)",
                                 who, imp->n == 1 ? "s" : ""),
                       "add it to the root (Debian: libgcc-s1)", err);
}

/* ---- NSS ---- */

/* The libc.so.6 that the closures load, or NULL (a static image). */
static const char *
find_libc(const struct planner *p)
{
    for (size_t i = 0; i < p->nclosures; i++)
        for (size_t j = 0; j < p->closures[i]->nloads; j++) {
            const struct elf_load *l = &p->closures[i]->loads[j];

            if (l->object->soname != NULL && strcmp(l->object->soname, "libc.so.6") == 0)
                return l->path;
        }
    return NULL;
}

/* Whether the libc at `path` has nss_files and nss_dns inside (glibc 2.34 and later). */
static int
libc_has_builtin_nss(struct planner *p, const char *path, bool *out, struct temper_err *err)
{
    const struct elf_versions *v = elf_resolver_versions(p->resolver, path, err);

    if (v == NULL)
        return -1;
    *out = false;
    for (size_t i = 0; i < v->ndefs && !*out; i++)
        *out = strcmp(v->defs[i].name, "GLIBC_2.34") == 0;
    return 0;
}

/* The recipe's own /etc/nsswitch.conf (an entry of `paths`), or NULL: temper's, whose services
 * are files and dns alone. */
static const struct recipe_path *
recipe_nsswitch(const struct recipe *r)
{
    for (size_t i = 0; i < r->npaths; i++)
        if (r->paths[i].type == RECIPE_PATH_FILE &&
            strcmp(r->paths[i].path.value, "/etc/nsswitch.conf") == 0)
            return &r->paths[i];
    return NULL;
}

/* One service of a line: glibc opens libnss_NAME.so.2 for it (nss/nss_module.c). */
static int
add_service(struct planner *p, const struct recipe_path *conf, const char *name, size_t len,
            size_t line, bool builtin, struct strmap *done, struct temper_err *err)
{
    char service[NSS_SERVICE_MAX + 1], soname[NSS_SERVICE_MAX + 16];

    if (len > NSS_SERVICE_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") < len) {
        temper_err_set(
            err, TEMPER_E_PARSE, 0,
            "/etc/nsswitch.conf, line %zu: service '%.*s' is not a module name (letters, "
            "digits, - and _, at most %d bytes)",
            line, (int)(len > NSS_SERVICE_MAX ? NSS_SERVICE_MAX : len), name, NSS_SERVICE_MAX);
        return recipe_err_at(err, &conf->path.loc);
    }
    memcpy(service, name, len);
    service[len] = '\0';
    if ((builtin && (strcmp(service, "files") == 0 || strcmp(service, "dns") == 0)) ||
        strmap_get(done, service) != NULL)
        return 0;
    strmap_put(done, service, (void *)1);
    snprintf(soname, sizeof(soname), "libnss_%s.so.2", service);
    if (add_library(p, soname, p->like,
                    xasprintf("for service '%s' of /etc/nsswitch.conf, line %zu", service, line),
                    "add the module to the root, or take the service out of nsswitch.conf",
                    err) < 0)
        return recipe_err_at(err, &conf->path.loc);
    return 0;
}

static int
add_nss(struct planner *p, struct temper_err *err)
{
    const struct recipe_path *conf = recipe_nsswitch(p->recipe);
    const char *libc = find_libc(p), *at, *end;
    struct strmap done;
    bool builtin;
    size_t line = 0;
    int rc = 0;

    if (conf == NULL || libc == NULL || p->like == NULL)
        return 0;
    if (memchr(conf->content, '\0', conf->content_len) != NULL) {
        temper_err_set(err, TEMPER_E_PARSE, 0,
                       "/etc/nsswitch.conf holds a NUL byte, which glibc takes for the end of a "
                       "line; take it out");
        return recipe_err_at(err, &conf->path.loc);
    }
    if (libc_has_builtin_nss(p, libc, &builtin, err) < 0)
        return -1;
    strmap_init(&done);
    for (at = conf->content, end = at + conf->content_len; at < end && rc == 0;) {
        const char *nl = memchr(at, '\n', (size_t)(end - at)), *hash, *colon;

        line++;
        nl = nl != NULL ? nl : end;
        hash = memchr(at, '#', (size_t)(nl - at));
        hash = hash != NULL ? hash : nl;
        colon = memchr(at, ':', (size_t)(hash - at));
        /* "database: service [STATUS=action] service ...", as nss_database.c reads it */
        for (at = colon != NULL ? colon + 1 : hash; at < hash && rc == 0;) {
            size_t len;

            if (isspace((unsigned char)*at)) {
                at++;
            } else if (*at == '[') {
                const char *close = memchr(at, ']', (size_t)(hash - at));

                at = close != NULL ? close + 1 : hash;
            } else {
                len = strcspn(at, " \t\r\v\f[#\n");
                len = len < (size_t)(hash - at) ? len : (size_t)(hash - at);
                rc = add_service(p, conf, at, len, line, builtin, &done, err);
                at += len;
            }
        }
        at = nl < end ? nl + 1 : end;
    }
    strmap_release(&done, NULL);
    return rc;
}

/* ---- gconv ---- */

/* The character sets built into glibc 2.36's libc (iconv/gconv_builtin.h), as normalized. */
static const char *const builtin_charsets[] = {
    "INTERNAL",
    "ISO-10646/UCS4/",
    "UCS4//",
    "UCS-4//",
    "UCS-4BE//",
    "CSUCS4//",
    "ISO-10646//",
    "10646-1:1993//",
    "10646-1:1993/UCS4/",
    "OSF00010104//",
    "OSF00010105//",
    "OSF00010106//",
    "UCS-4LE//",
    "WCHAR_T//",
    "ISO-10646/UTF8/",
    "UTF8//",
    "UTF-8//",
    "ISO-IR-193//",
    "OSF05010001//",
    "ISO-10646/UTF-8/",
    "ISO-10646/UCS2/",
    "UCS2//",
    "UCS-2//",
    "OSF00010100//",
    "OSF00010101//",
    "OSF00010102//",
    "ANSI_X3.4-1968//",
    "ANSI_X3.4//",
    "ISO-IR-6//",
    "ANSI_X3.4-1986//",
    "ISO_646.IRV:1991//",
    "ASCII//",
    "ISO646-US//",
    "US-ASCII//",
    "US//",
    "IBM367//",
    "CP367//",
    "CSASCII//",
    "OSF00010020//",
    "UNICODEBIG//",
    "UCS-2BE//",
    "UNICODELITTLE//",
    "UCS-2LE//",
};

/* What gconv-modules files say: aliases, and which module file converts a set either way. */
struct gconv_conf {
    struct strmap alias;  /* name -> the name it stands for (a string it owns) */
    struct strmap module; /* name -> the module files for it, "A\nB" (owned) */
};

/* Whether the lines of `list` ("a\nb") hold `line`. */
static bool
has_line(const char *list, const char *line)
{
    size_t len = strlen(line);

    for (const char *at = list;;) {
        if (strncmp(at, line, len) == 0 && (at[len] == '\n' || at[len] == '\0'))
            return true;
        at = strchr(at, '\n');
        if (at == NULL)
            return false;
        at++;
    }
}

/* Reads one gconv-modules file: "alias FROM TO" and "module FROM TO FILE [COST]" lines,
 * upper-cased as gconv_conf.c reads them; `dir` makes a relative FILE absolute. */
static void
gconv_conf_parse(struct gconv_conf *g, char *text, const char *dir)
{
    char *save = NULL;

    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *word[4] = {NULL}, *wsave = NULL, *hash = strchr(line, '#');
        size_t n = 0;

        if (hash != NULL)
            *hash = '\0';
        for (char *w = strtok_r(line, " \t\r", &wsave); w != NULL && n < 4;
             w = strtok_r(NULL, " \t\r", &wsave))
            word[n++] = w;
        for (size_t i = 1; i < 3 && i < n; i++)
            for (char *c = word[i]; *c; c++)
                *c = (char)toupper((unsigned char)*c);
        if (n >= 3 && strcmp(word[0], "alias") == 0 && strmap_get(&g->alias, word[1]) == NULL) {
            strmap_put(&g->alias, word[1], xstrdup(word[2]));
        } else if (n == 4 && strcmp(word[0], "module") == 0 && strchr(word[3], '/') == NULL) {
            size_t len = strlen(word[3]);
            cleanup_free char *file =
                xasprintf("%s/%s%s", dir, word[3],
                          len > 3 && strcmp(word[3] + len - 3, ".so") == 0 ? "" : ".so");

            for (size_t i = 1; i < 3; i++) {
                char *had = strmap_get(&g->module, word[i]);

                /* one file usually converts a set both ways: listed once */
                if (strcmp(word[i], "INTERNAL") == 0 || (had != NULL && has_line(had, file)))
                    continue;
                strmap_put(&g->module, word[i],
                           had == NULL ? xstrdup(file) : xasprintf("%s\n%s", had, file));
                free(had);
            }
        }
    }
}

/* Takes a configuration file of the gconv directory into the image and reads it. */
static int
gconv_conf_take(struct planner *p, struct gconv_conf *g, const char *path, const char *dir,
                struct temper_err *err)
{
    const struct fs_path *fp;
    cleanup_free char *text = NULL;
    size_t len;
    bool added;

    if (fs_lookup(p->root, path, &fp) != 0 || fp->kind != FS_KIND_FILE)
        return 0;
    if (rootfs_collect_extra(p, path, &added, err) < 0 ||
        fs_read_file(p->root, fp, GCONV_CONF_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    if (memchr(text, '\0', len) == NULL)
        gconv_conf_parse(g, text, dir);
    return 0;
}

/* "iso-8859-1" as iconv_open looks it up: upper case, with "//" when it has no '/'. */
static char *
normalize_charset(const char *name)
{
    char *s = xasprintf("%s%s", name, strchr(name, '/') != NULL ? "" : "//");

    for (char *c = s; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    return s;
}

static bool
is_builtin_charset(const char *name)
{
    for (size_t i = 0; i < sizeof(builtin_charsets) / sizeof(builtin_charsets[0]); i++)
        if (strcmp(builtin_charsets[i], name) == 0)
            return true;
    return false;
}

/* The modules of one character set of contents.gconv, with their closures. */
static int
add_charset(struct planner *p, struct gconv_conf *g, const struct recipe_str *want, const char *dir,
            struct temper_err *err)
{
    cleanup_free char *name = normalize_charset(want->value), *files = NULL;
    const char *alias = strmap_get(&g->alias, name), *real = alias != NULL ? alias : name;
    const char *listed = strmap_get(&g->module, real);

    if (is_builtin_charset(real))
        return 0;
    if (listed == NULL) {
        temper_err_set(err, TEMPER_E_MISSING, 0,
                       "character set '%s' is neither built into glibc nor in the gconv-modules "
                       "of '%s': check its name (iconv --list on the root's system lists them)",
                       want->value, dir);
        return recipe_err_at(err, &want->loc);
    }
    files = xstrdup(listed);
    for (char *save = NULL, *f = strtok_r(files, "\n", &save); f != NULL;
         f = strtok_r(NULL, "\n", &save)) {
        const struct elf_closure *c;

        if (elf_resolver_resolve(p->resolver, f, &c, err) < 0) {
            temper_err_prefix(err, "gconv module of '%s'", want->value);
            return recipe_err_at(err, &want->loc);
        }
        planner_add_closure(p, c);
        add_opened(p, xstrdup(f),
                   xasprintf("the gconv module of %s (contents.gconv)", want->value));
    }
    return 0;
}

static void
gconv_conf_release(struct gconv_conf *g)
{
    strmap_release(&g->alias, free);
    strmap_release(&g->module, free);
}

static int
add_gconv(struct planner *p, const struct importers *imp, struct temper_err *err)
{
    const struct recipe *r = p->recipe;
    const char *libc = find_libc(p), *slash;
    cleanup_free char *dir = NULL, *modules = NULL, *confd = NULL, *cache = NULL;
    struct gconv_conf g;
    const struct fs_path *fp;
    char **names = NULL;
    int rc = 0;

    if (!r->has_gconv) {
        cleanup_free char *who = imp->n > 0 ? name_importers(imp) : NULL;

        if (who != NULL)
            strv_push(&p->plan->summary.warnings,
                      xasprintf("%s import%s iconv_open, for which glibc opens a gconv module "
                                "per character set (all but UTF-8, ASCII, UCS-2 and UCS-4 are "
                                "modules): name the sets in contents.gconv, or write `gconv: []` "
                                "when there are none",
                                who, imp->n == 1 ? "s" : ""));
        return 0;
    }
    if (r->gconv.n == 0)
        return 0;
    if (libc == NULL) {
        temper_err_set(err, TEMPER_E_PARSE, 0,
                       "contents.gconv: the image loads no libc.so.6, whose iconv_open would "
                       "use the modules");
        return recipe_err_at(err, &r->gconv.items[0].loc);
    }
    /* glibc's GCONV_PATH default: the directory of its libraries, then gconv. */
    slash = strrchr(libc, '/');
    dir = xasprintf("%.*s/gconv", (int)(slash - libc), libc);
    modules = xasprintf("%s/gconv-modules", dir);
    confd = xasprintf("%s/gconv-modules.d", dir);
    cache = xasprintf("%s/gconv-modules.cache", dir);
    strmap_init(&g.alias);
    strmap_init(&g.module);
    rc = gconv_conf_take(p, &g, modules, dir, err);
    if (rc == 0 && fs_lookup(p->root, confd, &fp) == 0 && fp->kind == FS_KIND_DIR)
        rc = fs_list_dir(p->root, fp, GCONV_CONF_FILES_MAX, &names, err);
    for (size_t i = 0; rc == 0 && names != NULL && names[i] != NULL; i++) {
        size_t n = strlen(names[i]);
        cleanup_free char *path = xasprintf("%s/%s", confd, names[i]);

        /* gconv_parseconfdir: *.conf only, in directory order; the order does not change the
         * modules taken here. */
        if (n > 5 && strcmp(names[i] + n - 5, ".conf") == 0)
            rc = gconv_conf_take(p, &g, path, dir, err);
    }
    fs_names_free(names);
    if (rc == 0 && fs_lookup(p->root, cache, &fp) == 0 && fp->kind == FS_KIND_FILE) {
        bool added;

        rc = rootfs_collect_extra(p, cache, &added, err);
    }
    for (size_t i = 0; i < r->gconv.n && rc == 0; i++)
        rc = add_charset(p, &g, &r->gconv.items[i], dir, err);
    gconv_conf_release(&g);
    return rc;
}

int
rootfs_dlopen(struct planner *p, struct temper_err *err)
{
    struct importers imp[2] = {{NULL, 0}, {NULL, 0}};

    if (find_importers(p, imp, err) < 0 || add_unwinder(p, &imp[0], err) < 0 ||
        add_nss(p, err) < 0 || add_gconv(p, &imp[1], err) < 0)
        return -1;
    return rootfs_collect_closures(p, err);
}
