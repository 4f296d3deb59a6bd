/*
 * temper resolve [--root DIR] [--format list|ldd|json] [--allow-missing] [--versions] FILE...
 *
 * Prints what the dynamic loader would map for each FILE, read from the ELF
 * headers inside DIR: nothing is executed.
 */
#include <elf.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/escape.h"
#include "base/xalloc.h"
#include "cli.h"
#include "elf/elf_resolver.h"

enum format { FORMAT_LIST, FORMAT_LDD, FORMAT_JSON };

static const char resolve_usage[] =
    "usage: temper resolve [--root DIR] [--format list|ldd|json] [--allow-missing] [--versions]\n"
    "                      [--jobs N] FILE...\n"
    "\n"
    "Resolves the shared-library closure of each FILE (an absolute path inside DIR)\n"
    "the way glibc's dynamic loader would, without running anything.\n"
    "\n"
    "  --root DIR        the root the files live in (default /)\n"
    "  --format list     every path an image needs, symlinks as 'PATH -> TARGET' (default)\n"
    "  --format ldd      for each FILE, 'NAME => PATH' lines and the interpreter, like ldd\n"
    "  --format json     the whole graph: objects, what each DT_NEEDED resolved to, paths\n"
    "  --allow-missing   report libraries that cannot be found instead of failing\n"
    "  --versions        also check symbol versions as ld.so does before it starts a\n"
    "                    program: fail, in its words, when one a file needs is not defined\n"
    "                    by the library that file loads (temper build always checks);\n"
    "                    with --format json, each object also says what glibc opens\n"
    "                    for the functions it imports (glibc_opens: libgcc_s.so.1, gconv)\n"
    "  --jobs N          read files on N threads (default: the number of processors)\n"
    "\n"
    "list and ldd show names escaped: a backslash as \\\\, a newline as \\n, other controls\n"
    "and bytes that are not UTF-8 as \\xNN, bidi controls as \\uNNNN. JSON is exact.\n";

/*
 * The text formats show names escaped (cli_put, base/escape.h): a newline is "\n", a
 * backslash "\\", and so on, so a name cannot forge a line or reach the terminal raw, and
 * every name has one spelling. In the list, " -> " separates a symlink from its target: a name
 * holding it would be read two ways, so such a root is refused before anything is printed.
 */
static int
check_arrow(const char *s, struct temper_err *err)
{
    if (s != NULL && strstr(s, " -> ") != NULL)
        return temper_err_set(err, TEMPER_E_IO, 0,
                              "'%s' holds ' -> ', which the list format cannot show; use "
                              "--format json",
                              s);
    return 0;
}

static int
print_list(const struct elf_resolver *r, struct temper_err *err)
{
    struct elf_path *paths;
    size_t n;

    elf_resolver_paths(r, &paths, &n);
    for (size_t i = 0; i < n; i++) {
        if (check_arrow(paths[i].path, err) < 0 || check_arrow(paths[i].target, err) < 0) {
            free(paths);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        cli_put(stdout, paths[i].path, 0);
        if (paths[i].target != NULL) {
            fputs(" -> ", stdout);
            cli_put(stdout, paths[i].target, 0);
        }
        putchar('\n');
    }
    free(paths);
    return 0;
}

static void
print_ldd(const struct elf_closure *const *closures, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct elf_closure *c = closures[i];

        if (count > 1)
            cli_line(stdout, "%s:", c->input);
        if (c->nloads == 1 && c->nmissing == 0 && c->loads[0].object->nneeded == 0) {
            printf("\tstatically linked\n");
            continue;
        }
        for (size_t k = 1; k < c->nloads; k++) {
            if ((long)k == c->interp)
                continue;
            putchar('\t');
            cli_line(stdout, "%s => %s", c->loads[k].name, c->loads[k].path);
        }
        for (size_t k = 0; k < c->nmissing; k++) {
            putchar('\t');
            cli_line(stdout, "%s => not found", c->missing[k].name);
        }
        if (c->interp >= 0) {
            putchar('\t');
            cli_line(stdout, "%s", c->loads[c->interp].path);
        }
    }
}

/*
 * --format json is written as it goes, never built as a tree: for the 826 programs of /usr/bin
 * a jansson tree took 9 times as long as the whole resolve (145 ms against 15.5 ms of --format
 * list), to make, sort and dump 6 MB. The bytes are those jansson's json_dumpf writes with
 * JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII (each object's keys are written here in
 * that order), so the output is what it was. The document is gone through twice: first only to
 * find a string that is not UTF-8, which JSON must be (such a name fails the command with
 * nothing printed), then to write it through a buffer of JW_BUFFER bytes.
 */
#define JW_DEPTH_MAX 8
#define JW_BUFFER (256 * 1024)
#define JW_CHECKED 4096 /* a power of two */

struct json_writer {
    FILE *out; /* or NULL: nothing is written, the strings are only checked */
    char *buf; /* JW_BUFFER bytes */
    size_t len;
    bool failed; /* a write to out failed */
    unsigned depth;
    bool empty[JW_DEPTH_MAX]; /* the container open at each depth holds nothing yet */
    const char *invalid;      /* the first string that is not UTF-8, or NULL */
    /* For the check: strings found to be UTF-8, by address. The same library's path is in
     * every closure that loads it, and the resolver keeps one copy of it. */
    const char **checked; /* JW_CHECKED of them */
};

static void
jw_flush(struct json_writer *w)
{
    if (w->len > 0 && fwrite(w->buf, 1, w->len, w->out) != w->len)
        w->failed = true;
    w->len = 0;
}

static void
jw_put(struct json_writer *w, const char *s, size_t n)
{
    if (w->out == NULL)
        return;
    if (JW_BUFFER - w->len < n)
        jw_flush(w);
    if (n > JW_BUFFER) { /* not from a name of at most ELF_STRING_MAX bytes, but still */
        if (fwrite(s, 1, n, w->out) != n)
            w->failed = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* A new line, indented two spaces a level, as JSON_INDENT(2) writes, after a comma when
 * `comma`. */
static void
jw_newline(struct json_writer *w, unsigned depth, bool comma)
{
    static const char line[] = ",\n                ";

    jw_put(w, comma ? line : line + 1, (comma ? 2 : 1) + 2 * depth);
}

/* Before a value of the open container: a comma after the one before it, then a new line. */
static void
jw_next(struct json_writer *w)
{
    if (w->depth == 0)
        return;
    jw_newline(w, w->depth, !w->empty[w->depth - 1]);
    w->empty[w->depth - 1] = false;
}

static void
jw_open(struct json_writer *w, char c)
{
    jw_put(w, &c, 1);
    w->empty[w->depth++] = true;
}

static void
jw_close(struct json_writer *w, char c)
{
    if (!w->empty[--w->depth])
        jw_newline(w, w->depth, false);
    jw_put(w, &c, 1);
}

/* Whether the string s is UTF-8 (utf8_decode's rules, which are jansson's); names are nearly
 * all ASCII, which one loop skips. */
static bool
utf8_valid(const unsigned char *s)
{
    for (;;) {
        uint32_t cp;
        size_t n;

        while (*s != '\0' && *s < 0x80)
            s++;
        if (*s == '\0')
            return true;
        if ((n = utf8_decode(s, strlen((const char *)s), &cp)) == 0)
            return false;
        s += n;
    }
}

/* The bytes a JSON string holds as they are: printable ASCII but '"' and '\\'. */
static const bool jw_plain[256] = {
    [' '] = true, ['!'] = true, ['#' ... '['] = true, [']' ... '~'] = true, [0x7f] = true};

/* A string as jansson writes it with JSON_ENSURE_ASCII: '"', '\\' and the C0 controls escaped
 * (\b \f \n \r \t by name, the rest \u00XX), every character beyond ASCII as \uXXXX (a UTF-16
 * surrogate pair beyond the BMP), uppercase hex; NULL as null. */
static void
jw_string(struct json_writer *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (s == NULL) {
        jw_put(w, "null", 4);
        return;
    }
    if (w->out == NULL) { /* the check alone */
        size_t slot =
            (size_t)(((uintptr_t)s >> 3) * UINT64_C(0x9E3779B97F4A7C15) >> 52) & (JW_CHECKED - 1);

        if (w->checked[slot] == s)
            return;
        if (utf8_valid(p))
            w->checked[slot] = s;
        else if (w->invalid == NULL)
            w->invalid = s;
        return;
    }
    for (size_t run = 0;; run++) { /* nearly every name: all of it as it is, in one piece */
        if (!jw_plain[p[run]]) {
            if (p[run] != '\0' || run + 2 > JW_BUFFER)
                break;
            if (JW_BUFFER - w->len < run + 2)
                jw_flush(w);
            w->buf[w->len] = '"';
            memcpy(w->buf + w->len + 1, p, run);
            w->buf[w->len + 1 + run] = '"';
            w->len += run + 2;
            return;
        }
    }
    jw_put(w, "\"", 1);
    for (;;) {
        size_t run = 0, n;
        uint32_t cp;
        char seq[16];

        while (jw_plain[p[run]]) /* not the NUL */
            run++;
        jw_put(w, (const char *)p, run);
        p += run;
        if (*p == '\0')
            break;
        n = utf8_decode(p, strlen((const char *)p), &cp);
        if (n == 0) {
            if (w->invalid == NULL)
                w->invalid = s;
            n = 1;
            cp = 0xFFFD;
        }
        switch (cp) {
        case '"':
            jw_put(w, "\\\"", 2);
            break;
        case '\\':
            jw_put(w, "\\\\", 2);
            break;
        case '\b':
            jw_put(w, "\\b", 2);
            break;
        case '\f':
            jw_put(w, "\\f", 2);
            break;
        case '\n':
            jw_put(w, "\\n", 2);
            break;
        case '\r':
            jw_put(w, "\\r", 2);
            break;
        case '\t':
            jw_put(w, "\\t", 2);
            break;
        default:
            if (cp < 0x10000)
                snprintf(seq, sizeof(seq), "\\u%04X", (unsigned)cp);
            else
                snprintf(seq, sizeof(seq), "\\u%04X\\u%04X",
                         (unsigned)(0xD800 | ((cp - 0x10000) >> 10)),
                         (unsigned)(0xDC00 | ((cp - 0x10000) & 0x3FF)));
            jw_put(w, seq, strlen(seq));
        }
        p += n;
    }
    jw_put(w, "\"", 1);
}

/* "key": and the value's start, as a member of the open object; `key` is a string literal of
 * this file, plain ASCII (jw_key). */
static void
jw_key_n(struct json_writer *w, const char *key, size_t len)
{
    jw_next(w);
    jw_put(w, "\"", 1);
    jw_put(w, key, len);
    jw_put(w, "\": ", 3);
}
#define jw_key(w, key) jw_key_n(w, key, sizeof(key) - 1)

static void
jw_member_string_n(struct json_writer *w, const char *key, size_t len, const char *value)
{
    jw_key_n(w, key, len);
    jw_string(w, value);
}
#define jw_member_string(w, key, value) jw_member_string_n(w, key, sizeof(key) - 1, value)

static void
jw_member_bool_n(struct json_writer *w, const char *key, size_t len, bool value)
{
    jw_key_n(w, key, len);
    jw_put(w, value ? "true" : "false", value ? 4 : 5);
}
#define jw_member_bool(w, key, value) jw_member_bool_n(w, key, sizeof(key) - 1, value)

/* An object of two string members, keys in order: {"name": ..., "path": ...} and the like. */
static void
jw_pair_n(struct json_writer *w, const char *k1, size_t n1, const char *v1, const char *k2,
          size_t n2, const char *v2)
{
    jw_next(w);
    jw_open(w, '{');
    jw_member_string_n(w, k1, n1, v1);
    jw_member_string_n(w, k2, n2, v2);
    jw_close(w, '}');
}
#define jw_pair(w, k1, v1, k2, v2) jw_pair_n(w, k1, sizeof(k1) - 1, v1, k2, sizeof(k2) - 1, v2)

/* One object of a closure; `v`, its versions and imports, when --versions read them. */
static void
object_json(struct json_writer *w, const struct elf_closure *c, const struct elf_load *l,
            const struct elf_versions *v)
{
    const struct elf_object *o = l->object;

    jw_next(w);
    jw_open(w, '{');
    jw_member_string(w, "canonical", o->path);
    jw_member_string(w, "class", o->elf_class == ELFCLASS64 ? "ELF64" : "ELF32");
    jw_member_string(w, "data", o->data == ELFDATA2MSB ? "big-endian" : "little-endian");
    if (v != NULL) { /* what glibc opens with dlopen for the functions it imports */
        jw_key(w, "glibc_opens");
        jw_open(w, '[');
        if (v->imports & ELF_IMPORT_UNWIND) {
            jw_next(w);
            jw_string(w, "libgcc_s.so.1");
        }
        if (v->imports & ELF_IMPORT_ICONV) {
            jw_next(w);
            jw_string(w, "gconv");
        }
        jw_close(w, ']');
    }
    jw_key(w, "hardening");
    jw_open(w, '{');
    jw_member_bool(w, "full_relro", o->has_relro && o->has_bind_now);
    jw_member_bool(w, "nx_stack", !o->has_exec_stack);
    jw_member_bool(w, "pie", o->is_pie);
    jw_close(w, '}');
    jw_member_string(w, "interpreter", o->interp);
    jw_member_string(w, "machine", elf_machine_name(o->machine));
    jw_member_string(w, "name", l->name);
    jw_key(w, "needed");
    jw_open(w, '[');
    for (size_t i = 0; i < l->nedges; i++) {
        const struct elf_edge *e = &l->edges[i];

        jw_pair(w, "name", e->name, "path", e->target >= 0 ? c->loads[e->target].path : NULL);
    }
    jw_close(w, ']');
    jw_member_string(w, "path", l->path);
    jw_member_string(w, "rpath", o->rpath);
    jw_member_string(w, "runpath", o->runpath);
    jw_member_string(w, "soname", o->soname);
    jw_close(w, '}');
}

static void
input_json(struct json_writer *w, struct elf_resolver *r, const struct elf_closure *c,
           bool versions)
{
    struct temper_err ignored;

    jw_next(w);
    jw_open(w, '{');
    jw_member_string(w, "interpreter", c->interp >= 0 ? c->loads[c->interp].path : NULL);
    jw_key(w, "missing");
    jw_open(w, '[');
    for (size_t k = 0; k < c->nmissing; k++)
        jw_pair(w, "name", c->missing[k].name, "needed_by", c->missing[k].needed_by);
    jw_close(w, ']');
    jw_key(w, "objects");
    jw_open(w, '[');
    /* With --versions every object's versions were read by the check: these are cached. */
    for (size_t k = 0; k < c->nloads; k++)
        object_json(w, c, &c->loads[k],
                    versions ? elf_resolver_versions(r, c->loads[k].path, &ignored) : NULL);
    jw_close(w, ']');
    jw_member_string(w, "path", c->input);
    jw_close(w, '}');
}

static void
write_json(struct json_writer *w, struct elf_resolver *r, const struct elf_closure *const *closures,
           size_t count, bool versions)
{
    struct elf_path *list;
    size_t n;

    jw_open(w, '{');
    jw_key(w, "inputs");
    jw_open(w, '[');
    for (size_t i = 0; i < count; i++)
        input_json(w, r, closures[i], versions);
    jw_close(w, ']');
    jw_key(w, "paths");
    jw_open(w, '[');
    elf_resolver_paths(r, &list, &n);
    for (size_t i = 0; i < n; i++)
        jw_pair(w, "path", list[i].path, "target", list[i].target);
    free(list);
    jw_close(w, ']');
    jw_close(w, '}');
    jw_put(w, "\n", 1);
}

static int
print_json(struct elf_resolver *r, const struct elf_closure *const *closures, size_t count,
           bool versions, struct temper_err *err)
{
    struct json_writer check = {.out = NULL}, w = {.out = stdout};

    check.checked = xcalloc(JW_CHECKED, sizeof(*check.checked));
    write_json(&check, r, closures, count, versions);
    free(check.checked);
    if (check.invalid != NULL)
        return temper_err_set(err, TEMPER_E_IO, 0,
                              "'%s' is not valid UTF-8, which JSON cannot hold; use --format "
                              "list",
                              check.invalid);
    /* ASCII-only, as diff and inspect write it: the same strings, and nothing a terminal acts
     * on (a bidi control is "\u202e"). */
    w.buf = xmalloc(JW_BUFFER);
    write_json(&w, r, closures, count, versions);
    jw_flush(&w);
    free(w.buf);
    if (w.failed)
        return temper_err_set(err, TEMPER_E_IO, 0, "cannot write the JSON output");
    return 0;
}

static int
parse_format(const char *s, enum format *out)
{
    if (strcmp(s, "list") == 0)
        *out = FORMAT_LIST;
    else if (strcmp(s, "ldd") == 0)
        *out = FORMAT_LDD;
    else if (strcmp(s, "json") == 0)
        *out = FORMAT_JSON;
    else
        return -1;
    return 0;
}

int
cmd_resolve(int argc, char **argv)
{
    static const struct option options[] = {
        {"root", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'},
        {"allow-missing", no_argument, NULL, 'm'},
        {"jobs", required_argument, NULL, 'j'},
        {"versions", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct elf_resolver_options opts = {0};
    const char *root_dir = "/";
    enum format format = FORMAT_LIST;
    unsigned jobs = cli_online_cpus();
    struct fs_root *root = NULL;
    struct elf_resolver *r = NULL;
    cleanup_free const struct elf_closure **closures = NULL;
    struct temper_err err;
    int opt, rc = CLI_EXIT_FAILURE, count;
    bool versions = false;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        switch (opt) {
        case 'r':
            root_dir = optarg;
            break;
        case 'f':
            if (parse_format(optarg, &format) < 0)
                return cli_usage_error("resolve", "unknown format '%s' (use list, ldd or json)",
                                       optarg);
            break;
        case 'm':
            opts.allow_missing = true;
            break;
        case 'v':
            versions = true;
            break;
        case 'j':
            if (cli_parse_jobs(optarg, &jobs) < 0)
                return cli_usage_error("resolve", "--jobs wants a number from 1 to 64, not '%s'",
                                       optarg);
            break;
        case 'h':
            fputs(resolve_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("resolve", "bad option");
        }
    }
    count = argc - optind;
    if (count == 0)
        return cli_usage_error("resolve", "no FILE given");
    for (int i = optind; i < argc; i++) {
        if (argv[i][0] != '/')
            return cli_usage_error("resolve", "'%s' is not an absolute path inside the root",
                                   argv[i]);
    }
    if (fs_root_open(root_dir, &root, &err) < 0)
        return cli_error(&err);
    if (elf_resolver_new(root, &opts, &r, &err) < 0) {
        rc = cli_error(&err);
        goto out;
    }
    elf_resolver_preload(r, argv + optind, (size_t)count, jobs);
    closures = xcalloc((size_t)count, sizeof(*closures));
    for (int i = 0; i < count; i++) {
        if (elf_resolver_resolve(r, argv[optind + i], &closures[i], &err) < 0 ||
            (versions && elf_closure_check_versions(r, closures[i], &err) < 0)) {
            /* Paths in messages are inside the root: say which root when it is not "/". */
            if (strcmp(root_dir, "/") != 0)
                temper_err_prefix(&err, "in root '%s'", root_dir);
            rc = cli_error(&err);
            goto out;
        }
    }
    if (format == FORMAT_LDD)
        print_ldd(closures, (size_t)count);
    else if ((format == FORMAT_LIST && print_list(r, &err) < 0) ||
             (format == FORMAT_JSON &&
              print_json(r, closures, (size_t)count, versions, &err) < 0)) {
        rc = cli_error(&err);
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    CLI_FREE_AT_EXIT(elf_resolver_free(r));
    CLI_FREE_AT_EXIT(fs_root_free(root));
    return rc;
}
