/*
 * What temper lock and temper build share for recipes built from packages:
 * the recipe's package sources as pkg's plain inputs, the lock's default
 * path, the cache directory, the architecture names, and the environment
 * pkg works in (gpgv, apt's sources and cache, the time).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "cli.h"
#include "pkg/pkg.h"
#include "recipe/recipe.h"

/* GOARCH (the recipe's and OCI's names) and Debian's names of one architecture. */
static const struct {
    const char *go, *debian, *machine;
} arch_names[] = {
    {"amd64", "amd64", "x86_64"},
    {"arm64", "arm64", "aarch64"},
    {"386", "i386", "i686"},
    {"arm", "armhf", "armv7l"},
    {"ppc64le", "ppc64el", "ppc64le"},
    {"s390x", "s390x", "s390x"},
    {"riscv64", "riscv64", "riscv64"},
    {"mips64le", "mips64el", "mips64"},
    {"loong64", "loong64", "loongarch64"},
};

const char *
cli_debian_arch(const char *go)
{
    for (size_t i = 0; i < sizeof(arch_names) / sizeof(arch_names[0]); i++) {
        if (strcmp(arch_names[i].go, go) == 0)
            return arch_names[i].debian;
    }
    return NULL;
}

const char *
cli_machine_arch(void)
{
    static struct utsname u;

    if (uname(&u) == 0) {
        for (size_t i = 0; i < sizeof(arch_names) / sizeof(arch_names[0]); i++) {
            if (strcmp(arch_names[i].machine, u.machine) == 0)
                return arch_names[i].go;
        }
    }
    return "amd64";
}

int
cli_packages_init(const struct recipe *r, struct cli_packages *p, struct temper_err *err)
{
    *p = (struct cli_packages){0};
    p->repos = xcalloc(r->nrepositories + 1, sizeof(*p->repos));
    p->components = xcalloc(r->nrepositories + 1, sizeof(*p->components));
    for (size_t i = 0; i < r->nrepositories; i++) {
        const struct recipe_repository *rr = &r->repositories[i];

        p->components[i] = xcalloc(rr->components.n + 1, sizeof(**p->components));
        for (size_t k = 0; k < rr->components.n; k++)
            p->components[i][k] = rr->components.items[k].value;
        p->repos[i] = (struct pkg_repository){rr->url.value, rr->suite.value, p->components[i],
                                              rr->components.n};
    }
    p->keyrings = xcalloc(r->keyring.n + 1, sizeof(*p->keyrings));
    for (size_t i = 0; i < r->keyring.n; i++)
        p->keyrings[i] = r->keyring.items[i].value;
    p->packages = xcalloc(r->packages.n + 1, sizeof(*p->packages));
    for (size_t i = 0; i < r->packages.n; i++)
        p->packages[i] = r->packages.items[i].value;
    p->exclude = xcalloc(r->exclude.n + 1, sizeof(*p->exclude));
    for (size_t i = 0; i < r->exclude.n; i++)
        p->exclude[i] = r->exclude.items[i].value;
    /* the architectures to lock: the recipe's, else this machine's */
    p->archs = xcalloc(r->architectures.n + 2, sizeof(*p->archs));
    if (r->architectures.n == 0) {
        p->archs[p->narchs++] = cli_debian_arch(cli_machine_arch());
    } else {
        for (size_t i = 0; i < r->architectures.n; i++) {
            const char *d = cli_debian_arch(r->architectures.items[i].value);

            if (d == NULL) {
                cli_packages_release(p);
                return temper_err_set(err, TEMPER_E_USAGE, 0,
                                      "architecture '%s' has no Debian port temper knows",
                                      r->architectures.items[i].value);
            }
            p->archs[p->narchs++] = d;
        }
    }
    p->inputs = (struct pkg_inputs){p->repos,    r->nrepositories, p->keyrings, r->keyring.n,
                                    p->packages, r->packages.n,    p->exclude,  r->exclude.n,
                                    p->archs,    p->narchs};
    return 0;
}

void
cli_packages_release(struct cli_packages *p)
{
    for (size_t i = 0; p->components != NULL && p->components[i] != NULL; i++)
        free(p->components[i]);
    free(p->components);
    free(p->repos);
    free(p->keyrings);
    free(p->packages);
    free(p->exclude);
    free(p->archs);
    *p = (struct cli_packages){0};
}

char *
cli_lock_path(const char *recipe_path, const struct recipe *r)
{
    const char *slash = strrchr(recipe_path, '/');

    if (slash == NULL)
        return xasprintf("%s.lock.json", r->name.value);
    return xasprintf("%.*s/%s.lock.json", (int)(slash - recipe_path), recipe_path, r->name.value);
}

int
cli_package_env(const char *cache_arg, bool offline, unsigned jobs, struct pkg_env *env,
                char **cache_dir, struct temper_err *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

    if (cache_arg != NULL)
        *cache_dir = xstrdup(cache_arg);
    else if (xdg != NULL && xdg[0] == '/')
        *cache_dir = xasprintf("%s/temper", xdg);
    else if (home != NULL && home[0] == '/')
        *cache_dir = xasprintf("%s/.cache/temper", home);
    else
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "no cache directory: set HOME or XDG_CACHE_HOME, or give --cache "
                              "DIR");
    *env = (struct pkg_env){
        .gpgv = "/usr/bin/gpgv",
        .apt_dir = "/etc/apt",
        .apt_archives = "/var/cache/apt/archives",
        .cache_dir = *cache_dir,
        .offline = offline,
        .jobs = jobs > 0 ? jobs : 4,
        .now = (int64_t)time(NULL),
    };
    return 0;
}

static void
show_download(void *arg, uint64_t done, uint64_t total)
{
    cli_progress_show(arg, done, total);
}

int
cli_package_root(const char *recipe_path, const struct recipe *r,
                 const struct cli_package_options *o, char **dir, const char **goarch,
                 struct temper_err *err)
{
    cleanup_free char *path = o->lock ? xstrdup(o->lock) : cli_lock_path(recipe_path, r);
    cleanup_free char *cache = NULL;
    const char *go = o->arch                 ? o->arch
                     : r->architecture.value ? r->architecture.value
                                             : cli_machine_arch();
    const char *arch = cli_debian_arch(go);
    struct pkg_lock *lock = NULL;
    struct cli_progress progress;
    struct cli_packages p;
    struct pkg_env env;
    int rc;

    if (arch == NULL)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "architecture '%s' has no Debian port temper knows", go);
    if (access(path, F_OK) < 0)
        return temper_err_set(err, TEMPER_E_MISSING, errno,
                              "recipe '%s' is built from packages and its lock '%s' is missing: "
                              "run temper lock %s",
                              recipe_path, path, recipe_path);
    if (pkg_lock_load(path, &lock, err) < 0)
        return -1;
    rc = cli_packages_init(r, &p, err);
    if (rc == 0)
        rc = pkg_lock_check(lock, &p.inputs, path, err);
    if (rc == 0)
        rc = cli_package_env(o->cache, o->offline, o->jobs, &env, &cache, err);
    env.timeout_ms = o->timeout_ms;
    if (cli_progress_start(&progress, "packages")) {
        env.progress = show_download;
        env.progress_arg = &progress;
    }
    if (rc == 0)
        rc = pkg_root_for(lock, arch, p.repos, p.inputs.nrepositories, &env, dir, err);
    if (rc == 0)
        *goarch = go;
    cli_progress_end(&progress);
    if (rc < 0)
        temper_err_prefix(err, "packages of '%s' (%s)", recipe_path, go);
    if (p.repos != NULL)
        cli_packages_release(&p);
    pkg_lock_free(lock);
    return rc;
}
