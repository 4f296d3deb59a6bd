/*
 * temper resolve [--root DIR] [--format list|ldd|json] [--allow-missing] [--versions] FILE...
 *
 * Prints what the dynamic loader would map for each FILE, read from the ELF
 * headers inside DIR: nothing is executed.
 */
#include <elf.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
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

/* JSON strings must be UTF-8; file names are bytes. The first one that is not is kept here. */
struct json_out {
    const char *invalid;
};

static json_t *
jstr(struct json_out *out, const char *s)
{
    json_t *j;

    if (s == NULL)
        return json_null();
    j = json_string(s);
    if (j == NULL) {
        if (out->invalid == NULL)
            out->invalid = s;
        return json_null();
    }
    return j;
}

/* What glibc opens with dlopen for the functions an object imports (elf_resolver.h). */
static json_t *
glibc_opens_json(const struct elf_versions *v)
{
    json_t *opens = json_array();

    if (v->imports & ELF_IMPORT_UNWIND)
        json_array_append_new(opens, json_string("libgcc_s.so.1"));
    if (v->imports & ELF_IMPORT_ICONV)
        json_array_append_new(opens, json_string("gconv"));
    return opens;
}

/* One object of a closure; `v`, its versions and imports, when --versions read them. */
static json_t *
object_json(struct json_out *out, const struct elf_closure *c, const struct elf_load *l,
            const struct elf_versions *v)
{
    const struct elf_object *o = l->object;
    json_t *needed = json_array(), *obj;

    for (size_t i = 0; i < l->nedges; i++) {
        const struct elf_edge *e = &l->edges[i];

        json_array_append_new(
            needed, json_pack("{s:o, s:o}", "name", jstr(out, e->name), "path",
                              jstr(out, e->target >= 0 ? c->loads[e->target].path : NULL)));
    }
    obj = json_pack(
        "{s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:{s:b, s:b, s:b}}", "path",
        jstr(out, l->path), "canonical", jstr(out, o->path), "name", jstr(out, l->name), "soname",
        jstr(out, o->soname), "class", o->elf_class == ELFCLASS64 ? "ELF64" : "ELF32", "data",
        o->data == ELFDATA2MSB ? "big-endian" : "little-endian", "machine",
        elf_machine_name(o->machine), "interpreter", jstr(out, o->interp), "rpath",
        jstr(out, o->rpath), "runpath", jstr(out, o->runpath), "needed", needed, "hardening", "pie",
        o->is_pie, "full_relro", o->has_relro && o->has_bind_now, "nx_stack", !o->has_exec_stack);
    if (v != NULL)
        json_object_set_new(obj, "glibc_opens", glibc_opens_json(v));
    return obj;
}

static json_t *
input_json(struct json_out *out, struct elf_resolver *r, const struct elf_closure *c, bool versions)
{
    json_t *objects = json_array(), *missing = json_array();
    struct temper_err ignored;

    /* With --versions every object's versions were read by the check: these are cached. */
    for (size_t k = 0; k < c->nloads; k++)
        json_array_append_new(
            objects,
            object_json(out, c, &c->loads[k],
                        versions ? elf_resolver_versions(r, c->loads[k].path, &ignored) : NULL));
    for (size_t k = 0; k < c->nmissing; k++)
        json_array_append_new(missing,
                              json_pack("{s:o, s:o}", "name", jstr(out, c->missing[k].name),
                                        "needed_by", jstr(out, c->missing[k].needed_by)));
    return json_pack("{s:o, s:o, s:o, s:o}", "path", jstr(out, c->input), "interpreter",
                     jstr(out, c->interp >= 0 ? c->loads[c->interp].path : NULL), "objects",
                     objects, "missing", missing);
}

static int
print_json(struct elf_resolver *r, const struct elf_closure *const *closures, size_t count,
           bool versions, struct temper_err *err)
{
    json_t *inputs = json_array(), *paths = json_array(), *top;
    struct json_out out = {NULL};
    struct elf_path *list;
    size_t n;
    int rc;

    for (size_t i = 0; i < count; i++)
        json_array_append_new(inputs, input_json(&out, r, closures[i], versions));
    elf_resolver_paths(r, &list, &n);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(paths, json_pack("{s:o, s:o}", "path", jstr(&out, list[i].path),
                                               "target", jstr(&out, list[i].target)));
    free(list);
    top = json_pack("{s:o, s:o}", "inputs", inputs, "paths", paths);
    if (out.invalid != NULL) {
        json_decref(top);
        return temper_err_set(err, TEMPER_E_IO, 0,
                              "'%s' is not valid UTF-8, which JSON cannot hold; use --format list",
                              out.invalid);
    }
    /* ASCII-only, as diff and inspect write it: the same strings, and nothing a terminal acts
     * on (a bidi control is "\u202e"). */
    rc = top == NULL ? -1
                     : json_dumpf(top, stdout, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(top);
    if (rc < 0)
        return temper_err_set(err, TEMPER_E_IO, 0, "cannot write the JSON output");
    putchar('\n');
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
