/*
 * temper lock RECIPE [-o LOCKFILE] [--update] [--timeout SECONDS]
 *
 * Pins the packages a recipe is built from: every package of the closure,
 * per architecture, by version, pool path, size and SHA-256, each suite by
 * its InRelease digest and Date (pkg.h). Without --update, the versions an
 * existing lock pins are kept where the archive still offers them, so that
 * a changed recipe moves only what it must; --update takes the archive's
 * newest. What changed is printed, one package a line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "cli.h"
#include "pkg/pkg.h"
#include "recipe/recipe.h"

static const char lock_usage[] =
    "usage: temper lock RECIPE [-o LOCKFILE] [--update] [--timeout SECONDS]\n"
    "\n"
    "Resolves the packages of RECIPE (contents.packages and their dependencies) against the\n"
    "archives of contents.repositories, checks every index against the suite's InRelease\n"
    "and InRelease against contents.keyring, and writes the lock: each package's version,\n"
    "pool path, size and SHA-256, per architecture. temper build needs it for a recipe with\n"
    "packages. Prints what changed.\n"
    "\n"
    "  -o, --output LOCKFILE  where to write it (default NAME.lock.json beside RECIPE)\n"
    "  --update               take the newest versions the archives offer (security fixes);\n"
    "                         without it, versions already locked are kept where offered\n"
    "  --timeout SECONDS      the command's whole time with the network (default 3600)\n";

struct lock_args {
    const char *recipe;
    const char *output;
    bool update;
    long timeout_ms;
};

static int
parse_args(int argc, char **argv, struct lock_args *a)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"update", no_argument, NULL, 'u'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            a->output = optarg;
            break;
        case 'u':
            a->update = true;
            break;
        case 'T': {
            char *end;
            long s = strtol(optarg, &end, 10);

            if (*end != '\0' || s < 1 || s > 86400)
                return cli_usage_error("lock", "--timeout '%s': whole seconds, 1 to 86400", optarg);
            a->timeout_ms = s * 1000;
            break;
        }
        case 'h':
            fputs(lock_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("lock", "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("lock", "one RECIPE, please");
    a->recipe = argv[optind];
    return -1;
}

struct changes {
    size_t n;
    bool had_lock;
};

static void
print_change(void *arg, const char *arch, const char *name, const char *old_version,
             const char *new_version)
{
    struct changes *c = arg;

    c->n++;
    if (!c->had_lock)
        return; /* a first lock: every package would be a line */
    /* names and versions come from the archive: escaped like every text for a person */
    if (old_version == NULL)
        cli_line(stderr, "  %s %s: added, %s", arch, name, new_version);
    else if (new_version == NULL)
        cli_line(stderr, "  %s %s: removed (was %s)", arch, name, old_version);
    else
        cli_line(stderr, "  %s %s: %s -> %s", arch, name, old_version, new_version);
}

static void
show_download(void *arg, uint64_t done, uint64_t total)
{
    cli_progress_show(arg, done, total);
}

static int
lock(const struct lock_args *a, const struct recipe *r, struct temper_err *err)
{
    cleanup_free char *path = a->output ? xstrdup(a->output) : cli_lock_path(a->recipe, r);
    cleanup_free char *json = NULL, *cache = NULL;
    struct pkg_lock *previous = NULL, *made = NULL;
    struct cli_packages p;
    struct cli_progress progress;
    struct changes changes = {0, false};
    struct pkg_env env;
    char digest[72];
    int rc;

    if (cli_packages_init(r, &p, err) < 0)
        return cli_error(err);
    rc = cli_package_env(NULL, false, 0, &env, &cache, err);
    if (rc == 0)
        rc = pkg_inputs_canonical(&p.inputs, &json, digest, err);
    if (rc == 0 && access(path, F_OK) == 0) {
        struct temper_err why;

        if (pkg_lock_load(path, &previous, &why) < 0)
            cli_line(stderr, "temper: note: %s; making a new one", why.msg);
    }
    env.timeout_ms = a->timeout_ms;
    if (cli_progress_start(&progress, "indexes")) {
        env.progress = show_download;
        env.progress_arg = &progress;
    }
    if (rc == 0)
        rc = pkg_lock_make(&p.inputs, json, digest, previous, a->update, &env, &made, err);
    cli_progress_end(&progress);
    if (rc == 0) {
        changes.had_lock = previous != NULL;
        pkg_lock_changes(previous, made, print_change, &changes);
        rc = pkg_lock_save(made, path, err);
    }
    if (rc == 0) {
        cli_text(stderr, "temper: locked '%s':", path);
        for (size_t i = 0; i < made->narchs; i++)
            cli_text(stderr, "%s %s %zu packages", i ? "," : "", made->archs[i].name,
                     made->archs[i].n);
        if (previous != NULL)
            cli_text(stderr, "; %zu changed%s", changes.n,
                     changes.n == 0 ? " (the lock was up to date)" : "");
        fputc('\n', stderr);
        printf("%s\n", path);
    }
    pkg_lock_free(previous);
    pkg_lock_free(made);
    cli_packages_release(&p);
    return rc < 0 ? cli_error(err) : CLI_EXIT_OK;
}

int
cmd_lock(int argc, char **argv)
{
    struct lock_args a = {0};
    cleanup_recipe struct recipe *r = NULL;
    struct temper_err err;
    int rc = parse_args(argc, argv, &a);

    if (rc >= 0)
        return rc;
    if (recipe_load(a.recipe, &r, &err) < 0)
        return cli_error(&err);
    if (r->packages.n == 0)
        return cli_usage_error("lock",
                               "recipe '%s' names no contents.packages: there is nothing to lock "
                               "(it is built from a root, --root or /)",
                               a.recipe);
    return lock(&a, r, &err);
}
