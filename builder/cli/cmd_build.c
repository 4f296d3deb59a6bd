/*
 * temper build RECIPE [-o LAYOUT] [--root DIR] [--tag TAG] [--compression gzip|zstd]
 *              [--level N] [--epoch SECONDS] [--jobs N] [--archive FILE.tar]
 *              [--key KEY [--identity REGISTRY/REPO]]
 *              [--expect DIGEST|IMAGE [registry options]]
 *
 * recipe -> plan -> layer -> config, manifest, index: everything is decided
 * (and every recipe error reported) before the layout is touched. The
 * hardening summary goes to standard error, the manifest digest to standard
 * output, last.
 *
 * With --expect, the new image is then compared with the expected one (a
 * digest, or an image as temper diff takes it, opened before the build so
 * that a missing one fails first): a mismatch exits 1 with the explanation
 * of temper diff on standard error, the expected image as A and the build
 * as B.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "cli.h"
#include "diff/image_diff.h"
#include "layer/layer_writer.h"
#include "oci/oci_layout.h"
#include "recipe/recipe.h"
#include "registry/registry_client.h"
#include "rootfs/rootfs_plan.h"
#include "sbom/sbom.h"
#include "sign/signing.h"

static const char build_usage[] =
    "usage: temper build RECIPE [-o LAYOUT] [--root [ARCH=]DIR]... [--tag TAG]\n"
    "                    [--compression gzip|zstd] [--level N] [--epoch SECONDS]\n"
    "                    [--jobs N] [--archive FILE.tar] [--sbom FILE.spdx.json]\n"
    "                    [--key KEY [--identity REPO]]\n"
    "                    [--expect DIGEST|IMAGE [registry options]]\n"
    "                    [--lock FILE] [--arch ARCH[,ARCH...]|all] [--cache DIR] [--offline]\n"
    "                    [--skip-tests] [--verbose | --quiet] [--format text|json]\n"
    "\n"
    "Builds the image RECIPE describes from the files in DIR (or, for a recipe with\n"
    "contents.packages, from those packages as its lock pins them, unpacked) and writes it\n"
    "to the OCI layout LAYOUT under TAG. Prints a hardening summary on standard error and\n"
    "the manifest digest on standard output. The recipe's tests run in a sandbox\n"
    "(bubblewrap) on the image's own files before anything is written: a failing test\n"
    "fails the build and leaves LAYOUT as it was.\n"
    "\n"
    "With several architectures (--arch amd64,arm64 from packages, or --root ARCH=DIR once\n"
    "for each), one image is built for each, and TAG names an OCI image index of them, each\n"
    "with its platform; each image is also tagged TAG-ARCH (latest-arm64), never over a tag\n"
    "of the layout's own. The index digest is printed, and --key signs the index and each\n"
    "image.\n"
    "\n"
    "  -o, --output LAYOUT   the layout directory (default out/<name>)\n"
    "  --root DIR            the root the files come from (default /; not with packages)\n"
    "  --root ARCH=DIR       the root of the image for ARCH (amd64, arm64, ...); give one\n"
    "                        for each architecture of an image index\n"
    "  --lock FILE           the lock of a recipe with packages (default NAME.lock.json\n"
    "                        beside the recipe; temper lock writes it)\n"
    "  --arch ARCH           the architecture to build from packages (amd64, arm64, ...;\n"
    "                        default: the recipe's architecture, else this machine's); a\n"
    "                        comma-separated list, or all (the recipe's architectures),\n"
    "                        builds an image index\n"
    "  --cache DIR           the cache of packages and roots (default\n"
    "                        $XDG_CACHE_HOME/temper, else ~/.cache/temper)\n"
    "  --offline             fetch nothing: build from the cache (and apt's) alone\n"
    "  --tag TAG             the tag (default: the recipe's, else latest)\n"
    "  --compression C       gzip (default; every OCI consumer reads it) or zstd\n"
    "  --level N             compression level: gzip 1-12 (default 5), zstd 1-19 (default 3)\n"
    "  --epoch SECONDS       the time written everywhere (default SOURCE_DATE_EPOCH, then\n"
    "                        the recipe's epoch, then 946684800: 2000-01-01)\n"
    "  --jobs N              compression threads (default: the number of processors)\n"
    "  --archive FILE.tar    also write the layout as one tar for podman/docker load (an\n"
    "                        image index with all its images: podman takes its platform's)\n"
    "  --sbom FILE           also write the image's SPDX 2.3 document (JSON): its packages,\n"
    "                        every file with its digests, which package shipped it; with\n"
    "                        --key, also attach it to the image as a signed attestation\n"
    "                        (temper sbom and temper verify --attestation spdx read it); an\n"
    "                        index's images get one each, FILE-ARCH (sbom-arm64.spdx.json)\n"
    "  --key KEY             sign the image with this private key (as temper sign does)\n"
    "  --identity REPO       the repository the signature names (default: the recipe's name,\n"
    "                        which registry verifiers refuse once pushed: sign at push time\n"
    "                        with temper push --key, or name the repository here)\n"
    "  --skip-tests          do not run the recipe's tests (say so in the summary)\n"
    "  --verbose             also list every ELF file with its PIE, RELRO and NX flags\n"
    "  --quiet               no summary: only warnings and errors on standard error\n"
    "  --format F            what standard output gets: text (default: the manifest digest)\n"
    "                        or json (the digest, layout, tag, counts, what glibc opens at\n"
    "                        run time, packages, each ELF file's flags, the warnings and\n"
    "                        each layer; for an image index, those of each image under\n"
    "                        images)\n"
    "  --expect DIGEST|IMAGE after the build, compare with this manifest digest (sha256:...)\n"
    "                        or image (LAYOUT[:TAG] or REGISTRY/REPO[:TAG|@DIGEST]); a\n"
    "                        mismatch exits 1 and explains every difference on stderr\n"
    "\n"
    "Registry options (for --expect):\n" CLI_REGISTRY_USAGE;

/* How many --root ARCH=DIR a build takes. */
#define BUILD_ROOTS_MAX 16

struct build_args {
    const char *recipe;
    const char *output;
    const char *root;                   /* --root DIR, or NULL */
    const char *roots[BUILD_ROOTS_MAX]; /* --root ARCH=DIR: each DIR, for archs[i] */
    size_t nroots;
    const char *tag;
    const char *archive;
    const char *key;
    const char *identity;
    const char *compression;
    const char *expect; /* or NULL */
    const char *sbom;   /* or NULL */
    struct registry_args registry;
    struct cli_package_options packages;
    const char *arch_list; /* --arch as given: one GOARCH, several, or "all" */
    char **archs;          /* with several: an image index of one image each */
    size_t narchs;
    int level;
    bool has_epoch;
    int64_t epoch;
    unsigned jobs;
    bool skip_tests;
    int verbosity; /* -1 --quiet, 0, 1 --verbose */
    bool json;     /* --format json */
};

/* A decimal number of seconds since 1970 that gmtime can show as a year below 10000. */
static int
parse_epoch(const char *s, int64_t *out)
{
    char *end;
    long long n;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0 || n > 253402300799LL)
        return -1;
    *out = n;
    return 0;
}

static int
parse_level(const char *s, int *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < 1 || n > 19)
        return -1;
    *out = (int)n;
    return 0;
}

/* Whether the directory an --archive or --sbom goes to exists, so that a typo fails before the
 * build, not after the image is in the layout. */
static int
check_output_dir(const char *path)
{
    cleanup_free char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    struct stat st;

    if (slash == dir)
        dir[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    return stat(slash ? dir : ".", &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* --root DIR, or --root ARCH=DIR (ARCH a GOARCH temper knows): -1 after saying what is wrong. */
static int
parse_root(struct build_args *a, const char *arg)
{
    const char *eq = strchr(arg, '=');
    cleanup_free char *arch = eq ? xstrndup(arg, (size_t)(eq - arg)) : NULL;

    if (arch == NULL || cli_debian_arch(arch) == NULL) {
        if (a->root != NULL || a->nroots > 0) {
            cli_usage_error("build",
                            "--root '%s': one --root DIR, or --root ARCH=DIR for each "
                            "architecture",
                            arg);
            return -1;
        }
        a->root = arg;
        return 0;
    }
    if (a->root != NULL || a->nroots == BUILD_ROOTS_MAX || eq[1] == '\0') {
        cli_usage_error("build",
                        "--root '%s': one --root DIR, or --root ARCH=DIR (at most %d) "
                        "for each architecture",
                        arg, BUILD_ROOTS_MAX);
        return -1;
    }
    for (size_t i = 0; i < a->nroots; i++)
        if (strcmp(a->archs[i], arch) == 0) {
            cli_usage_error("build", "--root %s=... is given twice", arch);
            return -1;
        }
    if (a->archs == NULL)
        a->archs = xcalloc(BUILD_ROOTS_MAX, sizeof(*a->archs));
    a->archs[a->narchs++] = steal_pointer(&arch);
    a->roots[a->nroots++] = eq + 1;
    return 0;
}

static int
parse_args(int argc, char **argv, struct build_args *a)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"root", required_argument, NULL, 'r'},
        {"tag", required_argument, NULL, 't'},
        {"compression", required_argument, NULL, 'c'},
        {"level", required_argument, NULL, 'l'},
        {"epoch", required_argument, NULL, 'e'},
        {"jobs", required_argument, NULL, 'j'},
        {"archive", required_argument, NULL, 'a'},
        {"sbom", required_argument, NULL, 'B'},
        {"key", required_argument, NULL, 'k'},
        {"identity", required_argument, NULL, 'i'},
        {"expect", required_argument, NULL, 'x'},
        {"lock", required_argument, NULL, 'L'},
        {"arch", required_argument, NULL, 'A'},
        {"cache", required_argument, NULL, 'C'},
        {"offline", no_argument, NULL, 'O'},
        {"skip-tests", no_argument, NULL, 'S'},
        {"verbose", no_argument, NULL, 'V'},
        {"quiet", no_argument, NULL, 'q'},
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        if (cli_registry_option(opt, optarg, &a->registry))
            continue;
        switch (opt) {
        case 'o':
            a->output = optarg;
            break;
        case 'r':
            if (parse_root(a, optarg) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 't':
            a->tag = optarg;
            break;
        case 'c':
            a->compression = optarg;
            break;
        case 'B':
            a->sbom = optarg;
            break;
        case 'a':
            a->archive = optarg;
            break;
        case 'k':
            a->key = optarg;
            break;
        case 'i':
            a->identity = optarg;
            break;
        case 'x':
            a->expect = optarg;
            break;
        case 'L':
            a->packages.lock = optarg;
            break;
        case 'A':
            a->arch_list = optarg;
            break;
        case 'C':
            a->packages.cache = optarg;
            break;
        case 'O':
            a->packages.offline = true;
            break;
        case 'S':
            a->skip_tests = true;
            break;
        case 'F':
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0)
                return cli_usage_error("build", "--format wants text or json, not '%s'", optarg);
            a->json = strcmp(optarg, "json") == 0;
            break;
        case 'V':
        case 'q':
            if (a->verbosity != 0 && a->verbosity != (opt == 'V' ? 1 : -1))
                return cli_usage_error("build", "--verbose and --quiet: pick one");
            a->verbosity = opt == 'V' ? 1 : -1;
            break;
        case 'l':
            if (parse_level(optarg, &a->level) < 0)
                return cli_usage_error("build", "--level wants a number from 1 to 19, not '%s'",
                                       optarg);
            break;
        case 'e':
            if (parse_epoch(optarg, &a->epoch) < 0)
                return cli_usage_error("build",
                                       "--epoch wants seconds since 1970 (0 to 253402300799), "
                                       "not '%s'",
                                       optarg);
            a->has_epoch = true;
            break;
        case 'j':
            if (cli_parse_jobs(optarg, &a->jobs) < 0)
                return cli_usage_error("build", "--jobs wants a number from 1 to 64, not '%s'",
                                       optarg);
            a->packages.jobs = a->jobs; /* downloads at once, too */
            break;
        case 'h':
            fputs(build_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("build", "bad option");
        }
    }
    if (a->tag != NULL && !oci_tag_is_valid(a->tag))
        return cli_usage_error("build",
                               "--tag '%s' is not a tag: letters, digits, '_', '.' and '-', "
                               "at most 128, not starting with '.' or '-'",
                               a->tag);
    if (a->archive != NULL && check_output_dir(a->archive) < 0)
        return cli_usage_error("build", "--archive '%s': its directory does not exist", a->archive);
    if (a->sbom != NULL && check_output_dir(a->sbom) < 0)
        return cli_usage_error("build", "--sbom '%s': its directory is not there; make it first",
                               a->sbom);
    if (a->expect != NULL && strncmp(a->expect, "sha256:", 7) == 0 && !sha256_is_digest(a->expect))
        return cli_usage_error("build",
                               "--expect '%s' is not a digest: sha256: and 64 lowercase hex "
                               "digits, or name an image (LAYOUT[:TAG], REGISTRY/REPO[:TAG])",
                               a->expect);
    if (a->identity != NULL && a->key == NULL)
        return cli_usage_error("build", "--identity names what --key signs: give --key too");
    if (argc - optind != 1)
        return cli_usage_error("build", argc == optind ? "no RECIPE given"
                                                       : "one RECIPE at a time (it may include "
                                                         "others)");
    a->recipe = argv[optind];
    return -1;
}

/*
 * parse_args, choose_epoch and choose_layer return an exit code when the
 * command must stop there, or -1 to go on.
 *
 * The epoch: --epoch, else SOURCE_DATE_EPOCH (the reproducible-builds.org
 * convention), else the recipe's, else 2000-01-01T00:00:00Z: the "portable
 * mtime" of Bazel's rules_pkg, chosen for the same reason. zip stores MS-DOS
 * times, which begin in 1980, so with 0 every program that zips files of the
 * image (Python's zipfile, a wheel built from installed sources) fails. An
 * earlier epoch that was asked for is taken, with a warning.
 */
#define DEFAULT_EPOCH 946684800 /* 2000-01-01T00:00:00Z */
#define ZIP_EPOCH_MIN 315532800 /* 1980-01-01T00:00:00Z */

static int
choose_epoch(const struct build_args *a, const struct recipe *r, int64_t *out)
{
    const char *env = getenv("SOURCE_DATE_EPOCH");

    if (a->has_epoch) {
        *out = a->epoch;
    } else if (env != NULL && env[0] != '\0') {
        if (parse_epoch(env, out) < 0)
            return cli_usage_error("build",
                                   "SOURCE_DATE_EPOCH='%s' is not seconds since 1970; fix or "
                                   "unset it",
                                   env);
    } else if (r->has_epoch) {
        *out = r->epoch;
    } else {
        *out = DEFAULT_EPOCH;
        return -1;
    }
    if (*out < ZIP_EPOCH_MIN)
        cli_line(stderr,
                 "temper: warning: epoch %lld is before 1980-01-01, which zip cannot store: "
                 "programs that zip files of the image (Python's zipfile, wheels, jar) will "
                 "fail; without an epoch temper uses %d (2000-01-01)",
                 (long long)*out, DEFAULT_EPOCH);
    return -1;
}

static int
choose_layer(const struct build_args *a, const struct recipe *r, struct layer_options *lo)
{
    lo->compression =
        r->compression == RECIPE_COMPRESSION_ZSTD ? LAYER_COMPRESSION_ZSTD : LAYER_COMPRESSION_GZIP;
    if (a->compression != NULL && (layer_compression_parse(a->compression, &lo->compression) < 0 ||
                                   lo->compression == LAYER_COMPRESSION_NONE))
        return cli_usage_error("build", "--compression wants gzip or zstd, not '%s'",
                               a->compression);
    lo->level = a->level ? a->level : r->level;
    lo->jobs = a->jobs;
    /* Checked here, before anything is built: gzip is libdeflate's 1-12, zstd 1-19. */
    if (lo->level > (lo->compression == LAYER_COMPRESSION_ZSTD ? 19 : 12))
        return cli_usage_error("build", "level %d is over %d, the most for %s; lower it%s",
                               lo->level, lo->compression == LAYER_COMPRESSION_ZSTD ? 19 : 12,
                               lo->compression == LAYER_COMPRESSION_ZSTD ? "zstd" : "gzip",
                               lo->compression == LAYER_COMPRESSION_ZSTD
                                   ? ""
                                   : ", or use --compression zstd (levels up to 19)");
    return -1;
}

static const struct recipe_user *
run_as_user(const struct recipe *r)
{
    for (size_t i = 0; i < r->nusers; i++)
        if (strcmp(r->users[i].name.value, r->run_as.value) == 0)
            return &r->users[i];
    return NULL;
}

static void
print_list(const char *what, char **paths)
{
    for (size_t i = 0; paths != NULL && paths[i] != NULL; i++)
        cli_line(stderr, "  %s %s", what, paths[i]);
}

/* What the image holds, what was cleared, how many ELF files have each flag (with `verbose`,
 * each file's flags). */
static void
print_overview(const struct recipe *r, const char *tag, const struct rootfs_plan *plan,
               const struct recipe_user *user, bool verbose)
{
    const struct rootfs_summary *s = &plan->summary;
    size_t pie = 0, programs = 0, relro = 0, nx = 0;
    char bytes[32];

    cli_human_bytes(bytes, sizeof(bytes), s->bytes);
    for (size_t i = 0; i < s->nelves; i++) {
        programs += s->elves[i].is_executable;
        pie += s->elves[i].is_executable && s->elves[i].is_pie;
        relro += s->elves[i].has_full_relro;
        nx += s->elves[i].has_nx_stack;
    }
    cli_line(stderr, "temper: %s:%s (%s): %zu files, %s, %zu entries, %zu ELF files", r->name.value,
             tag, plan->architecture, s->files, bytes, s->entries, s->nelves);
    cli_line(stderr, "  user %s (%u:%u); setuid/setgid bits cleared: %zu; shells: %s",
             user->name.value, user->uid, user->gid, s->setid_cleared,
             s->shells ? "allowed by hardening.allow-shell" : "none");
    print_list("shell (allow-shell):", s->shells);
    print_list("setuid/setgid kept (allow-setuid):", s->setid_kept);
    for (size_t i = 0; i < s->nopened; i++)
        cli_line(stderr, "  glibc opens at run time: %s, %s", s->opened[i].path, s->opened[i].why);
    if (s->ca_bundle != NULL)
        cli_line(stderr, "  CA bundle: %s", s->ca_bundle);
    if (s->has_dpkg)
        cli_line(stderr,
                 "  packages: %zu (in /var/lib/dpkg/status.d); files and symlinks from no "
                 "package: %zu; changed since installed: %zu",
                 plan->npackages, s->unowned, s->modified);
    if (s->nelves > 0) {
        cli_line(stderr,
                 "  PIE %zu/%zu programs, full RELRO %zu/%zu, non-executable stack %zu/%zu%s", pie,
                 programs, relro, s->nelves, nx, s->nelves,
                 verbose ? "" : " (--verbose lists each file)");
    }
    if (s->nelves > 0 && verbose) {
        cli_line(stderr, "  %-4s %-6s %-3s %s", "PIE", "RELRO", "NX", "ELF file");
        for (size_t i = 0; i < s->nelves; i++) {
            const struct rootfs_elf *e = &s->elves[i];

            cli_line(stderr, "  %-4s %-6s %-3s %s",
                     !e->is_executable ? "-"
                     : e->is_pie       ? "yes"
                                       : "no",
                     e->has_full_relro ? "full" : "no", e->has_nx_stack ? "yes" : "no", e->path);
        }
    }
}

/* The hardening summary (verbosity -1: the warnings alone; 1: each ELF file's flags too). */
static void
print_summary(const struct recipe *r, const char *tag, const struct rootfs_plan *plan,
              const struct recipe_user *user, int verbosity)
{
    char **warnings = plan->summary.warnings;

    if (verbosity >= 0)
        print_overview(r, tag, plan, user, verbosity > 0);
    for (size_t i = 0; warnings != NULL && warnings[i] != NULL; i++)
        cli_line(stderr, "temper: warning: %s", warnings[i]);
}

static json_t *
json_text(const char *s)
{
    return s != NULL ? image_json_bytes(s, strlen(s)) : json_null();
}

/* --format json: the summary of one image for a program, on standard output (the text stays
 * on standard error). Counts of what the root's dpkg database says are null without one. */
static json_t *
image_json(const struct rootfs_plan *plan, const struct recipe_user *user, const char *digest,
           json_t *layers)
{
    const struct rootfs_summary *s = &plan->summary;
    json_t *top = json_object(), *opened = json_array(), *elves = json_array(),
           *warnings = json_array();

    for (size_t i = 0; i < s->nopened; i++)
        json_array_append_new(opened, json_pack("{soso}", "path", json_text(s->opened[i].path),
                                                "why", json_text(s->opened[i].why)));
    for (size_t i = 0; i < s->nelves; i++) {
        const struct rootfs_elf *e = &s->elves[i];

        json_array_append_new(elves,
                              json_pack("{sosbsbsbsb}", "path", json_text(e->path), "executable",
                                        e->is_executable, "pie", e->is_pie, "full_relro",
                                        e->has_full_relro, "nx_stack", e->has_nx_stack));
    }
    for (size_t i = 0; s->warnings != NULL && s->warnings[i] != NULL; i++)
        json_array_append_new(warnings, json_text(s->warnings[i]));
    json_object_set_new(top, "digest", json_string(digest));
    json_object_set_new(top, "architecture", json_text(plan->architecture));
    json_object_set_new(top, "files", json_integer((json_int_t)s->files));
    json_object_set_new(top, "entries", json_integer((json_int_t)s->entries));
    json_object_set_new(top, "bytes", json_integer((json_int_t)s->bytes));
    json_object_set_new(top, "user",
                        json_pack("{sosIsI}", "name", json_text(user->name.value), "uid",
                                  (json_int_t)user->uid, "gid", (json_int_t)user->gid));
    json_object_set_new(top, "setid_cleared", json_integer((json_int_t)s->setid_cleared));
    json_object_set_new(top, "glibc_opens", opened);
    json_object_set_new(top, "ca_bundle", json_text(s->ca_bundle));
    json_object_set_new(top, "packages",
                        s->has_dpkg ? json_integer((json_int_t)plan->npackages) : json_null());
    json_object_set_new(top, "unowned",
                        s->has_dpkg ? json_integer((json_int_t)s->unowned) : json_null());
    json_object_set_new(top, "modified",
                        s->has_dpkg ? json_integer((json_int_t)s->modified) : json_null());
    json_object_set_new(top, "elf", elves);
    json_object_set_new(top, "warnings", warnings);
    json_object_set_new(top, "layers", layers);
    return top;
}

/* --format json: `top` (an image's image_json, or an object holding an index's "images") gets
 * what names it and is printed; taken. */
static int
print_json(const struct recipe *r, const char *tag, const char *output, const char *digest,
           bool is_signed, json_t *top, struct temper_err *err)
{
    int rc;

    json_object_set_new(top, "digest", json_string(digest));
    json_object_set_new(top, "layout", json_text(output));
    json_object_set_new(top, "tag", json_text(tag));
    json_object_set_new(top, "name", json_text(r->name.value));
    json_object_set_new(top, "signed", json_boolean(is_signed));
    rc = json_dumpf(top, stdout, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(top);
    if (rc < 0)
        return temper_err_set(err, TEMPER_E_IO, 0, "cannot write the JSON output");
    putchar('\n');
    return 0;
}

/* Environment as "KEY=VALUE" and annotations as pairs, for the config. */
struct image_strings {
    char **env;
    struct oci_kv *annotations;
    const char **entrypoint, **cmd;
    char user[32];
    char created_by[256];
};

static void
image_strings_release(struct image_strings *is, const struct recipe *r)
{
    for (size_t i = 0; is->env != NULL && i < r->environment.n; i++)
        free(is->env[i]);
    free(is->env);
    free(is->annotations);
    free(is->entrypoint);
    free(is->cmd);
}

static const char **
strlist_values(const struct recipe_strlist *l)
{
    const char **v = xcalloc(l->n + 1, sizeof(*v));

    for (size_t i = 0; i < l->n; i++)
        v[i] = l->items[i].value;
    return v;
}

static void
make_spec(const struct recipe *r, const struct rootfs_plan *plan, const struct recipe_user *user,
          int64_t epoch, struct image_strings *is, struct oci_image_spec *spec)
{
    is->env = xcalloc(r->environment.n + 1, sizeof(*is->env));
    for (size_t i = 0; i < r->environment.n; i++)
        is->env[i] =
            xasprintf("%s=%s", r->environment.keys[i].value, r->environment.values[i].value);
    is->annotations = xcalloc(r->annotations.n + 1, sizeof(*is->annotations));
    for (size_t i = 0; i < r->annotations.n; i++)
        is->annotations[i] =
            (struct oci_kv){r->annotations.keys[i].value, r->annotations.values[i].value};
    is->entrypoint = strlist_values(&r->entrypoint);
    is->cmd = strlist_values(&r->cmd);
    /* Numeric, so that a runtime (and Kubernetes' runAsNonRoot) need not read /etc/passwd. */
    snprintf(is->user, sizeof(is->user), "%u:%u", user->uid, user->gid);
    /* Only what the recipe says: a path on the build machine would change the digest. */
    snprintf(is->created_by, sizeof(is->created_by), "temper build %s", r->name.value);
    *spec = (struct oci_image_spec){
        .architecture = plan->architecture,
        .variant = plan->variant,
        .os = "linux",
        .created = epoch,
        .user = is->user,
        .env = (const char *const *)is->env,
        .nenv = r->environment.n,
        .entrypoint = is->entrypoint,
        .nentrypoint = r->entrypoint.n,
        .cmd = is->cmd,
        .ncmd = r->cmd.n,
        .work_dir = r->work_dir.value,
        .labels = is->annotations,
        .nlabels = r->annotations.n,
        .annotations = is->annotations,
        .nannotations = r->annotations.n,
        .created_by = is->created_by,
    };
}

/* The tested layer's bytes, from its temporary file into the blob. */
static int
copy_staged(int from, int to, struct temper_err *err)
{
    char buf[256 * 1024];
    off_t at = 0;

    for (;;) {
        ssize_t n = pread(from, buf, sizeof(buf), at), done = 0;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read the tested layer");
        if (n == 0)
            return 0;
        while (done < n) {
            ssize_t w = write(to, buf + done, (size_t)(n - done));

            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return temper_err_sys(err, TEMPER_E_IO, errno, "cannot write the layer's blob");
            done += w;
        }
        at += n;
    }
}

/* Writes each layer as a blob of the layout (or copies the one the tests ran on), then the image
 * around them: tagged `tag` (*digest gets its manifest's), or with `tag` NULL untagged, for an
 * image index (*manifest gets its descriptor). */
static int
write_image(struct oci_layout *layout, struct cli_build_layer *layers, size_t nlayers,
            struct fs_root *root, const struct oci_image_spec *spec, const char *tag,
            char digest[LAYER_DIGEST_LEN], struct oci_descriptor *manifest, struct temper_err *err)
{
    cleanup_free struct oci_layer_desc *descs = xcalloc(nlayers, sizeof(*descs));

    for (size_t i = 0; i < nlayers; i++) {
        struct cli_build_layer *l = &layers[i];
        int fd;

        /* a layer taken from the layout stays as it is, unless temper gc removed it meanwhile:
         * then its bytes come from the descriptor opened when it was taken */
        if (!l->reused || !oci_blob_present(layout, l->res.digest, l->res.size)) {
            if ((fd = oci_blob_begin(layout, err)) < 0)
                return -1;
            if ((l->staged_fd >= 0 ? copy_staged(l->staged_fd, fd, err)
                                   : layer_write(l->plan, root, fd, &l->lo, &l->res, err)) < 0) {
                close(fd);
                return -1;
            }
            if (oci_blob_commit(layout, fd, l->res.digest, err) < 0)
                return -1;
        }
        descs[i] = (struct oci_layer_desc){layer_media_type(l->lo.compression), l->res.digest,
                                           l->res.size, l->res.diff_id, l->comment};
    }
    if (tag == NULL)
        return oci_image_put(layout, spec, descs, nlayers, manifest, err);
    return oci_image_commit(layout, spec, descs, nlayers, tag, digest, err);
}

/* --sbom FILE: the SPDX document of the image just written, replacing FILE whole; *json is the
 * caller's. */
static int
write_sbom(const char *path, const struct recipe *r, const char *tag,
           const struct rootfs_plan *plan, struct fs_root *root,
           const struct layer_file_digest *digests, const char *digest, int64_t epoch, char **json,
           struct temper_err *err)
{
    struct sbom_image image = {r->name.value, tag, digest, "temper-" TEMPER_VERSION, epoch};
    cleanup_free char *what = xasprintf("SBOM '%s'", path);

    if (sbom_spdx(plan, digests, root, &image, json, err) < 0)
        return -1;
    return fs_write_file_atomic(path, *json, strlen(*json), what, err);
}

/* Where --sbom FILE puts the document of an index's image for `arch`: "-ARCH" before the
 * ".spdx.json" or ".json" FILE ends with, else after it (sbom.spdx.json: sbom-arm64.spdx.json). */
static char *
sbom_path_for(const char *path, const char *arch)
{
    static const char *const suffixes[] = {".spdx.json", ".json"};
    size_t len = strlen(path);

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t n = strlen(suffixes[i]);

        if (len > n && strcmp(path + len - n, suffixes[i]) == 0)
            return xasprintf("%.*s-%s%s", (int)(len - n), path, arch, suffixes[i]);
    }
    return xasprintf("%s-%s", path, arch);
}

/* --sbom with --key: the document, signed, as the image's SPDX attestation in the layout. */
static int
attach_sbom(struct oci_layout *layout, const char *digest, const struct sign_key *key,
            const char *subject, const char *sbom, struct temper_err *err)
{
    cleanup_free char *envelope = NULL;
    size_t len;

    if (sign_attest(key, subject, digest, SIGN_PREDICATE_SPDX, sbom, strlen(sbom), &envelope, &len,
                    err) < 0)
        return -1;
    return sign_layout_add_attestation(layout, digest, envelope, len, SIGN_PREDICATE_SPDX, err);
}

/* The descriptor of manifest blob `digest` in the layout, if it is there (untagged, say, after
 * the build moved the tag on): 1 found, 0 not there, -1 on another error. */
static int
find_manifest_blob(struct oci_layout *layout, const char *digest, struct oci_descriptor *out,
                   struct temper_err *err)
{
    cleanup_free char *buf = NULL;
    json_t *doc, *media_type;
    size_t len;

    if (oci_blob_read(layout, digest, OCI_MANIFEST_MAX_BYTES, &buf, &len, err) < 0)
        return err->code == TEMPER_E_MISSING ? 0 : -1;
    *out = (struct oci_descriptor){.media_type = OCI_MEDIA_TYPE_MANIFEST, .size = len};
    memcpy(out->digest, digest, strlen(digest) + 1);
    doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    media_type = json_object_get(doc, "mediaType");
    if (json_is_string(media_type) && oci_is_image_manifest(json_string_value(media_type)))
        snprintf(out->media_type, sizeof(out->media_type), "%s", json_string_value(media_type));
    json_decref(doc);
    return 1;
}

/*
 * --expect: 0 when the new image is the expected one, 1 when not (explained on standard
 * error), -1 when the comparison failed.
 */
static int
compare_expected(const struct build_args *a, struct oci_layout *layout, const char *tag,
                 const char *digest, const char *output, const struct cli_image *expected,
                 struct temper_err *err)
{
    struct oci_source built_src;
    struct oci_descriptor built, want = {0};
    const struct oci_source *want_src = expected ? &expected->source : &built_src;
    struct image_diff d;
    int found;

    if (expected != NULL)
        want = expected->desc;
    else
        snprintf(want.digest, sizeof(want.digest), "%s", a->expect);
    if (strcmp(digest, want.digest) == 0) {
        cli_line(stderr, "temper: matches the expected image %s", digest);
        return 0;
    }
    cli_line(stderr, "temper: the build does not match the expected image: %s is not %s", digest,
             want.digest);
    if (a->narchs > 1) {
        cli_line(stderr,
                 "temper: %s is an image index, whose images are not compared one by one: "
                 "to see the differences, build each architecture alone (--arch ARCH) and "
                 "--expect its image",
                 digest);
        return 1;
    }
    oci_layout_source(layout, &built_src);
    if (oci_layout_find_tag(layout, tag, &built, err) < 0)
        return -1;
    if (expected == NULL) {
        found = find_manifest_blob(layout, a->expect, &want, err);
        if (found < 0)
            return -1;
        if (found == 0) {
            cli_line(stderr,
                     "temper: %s is not in layout '%s' either: without the expected image only "
                     "the digests can be compared; give --expect the image itself (LAYOUT[:TAG] "
                     "or REGISTRY/REPO[:TAG|@DIGEST]) to see every difference",
                     a->expect, output);
            return 1;
        }
        cli_line(stderr, "temper: %s is in layout '%s': comparing with it", a->expect, output);
    }
    if (image_diff_compare(want_src, &want, &built_src, &built, &d, err) < 0)
        return -1;
    cli_diff_print(stderr, &d);
    image_diff_release(&d);
    return 1;
}

/*
 * --arch: one architecture (a->packages.arch), or several, comma-separated, or "all" (the
 * recipe's `architectures`), for an image index of one image each (a->archs). An exit code
 * when it is wrong, else -1.
 */
static int
choose_archs(struct build_args *a, const struct recipe *r)
{
    cleanup_free char *list = NULL;
    char *next, *arch;

    if (a->nroots > 0 && a->arch_list != NULL)
        return cli_usage_error("build", "--arch is for packages; with --root ARCH=DIR the "
                                        "architectures are the roots'");
    if (a->arch_list == NULL)
        return -1;
    if (strcmp(a->arch_list, "all") == 0) {
        if (r->architectures.n == 0)
            return cli_usage_error("build",
                                   "--arch all: recipe '%s' names no 'architectures'; name them "
                                   "there, or list them (--arch amd64,arm64)",
                                   a->recipe);
        a->archs = xcalloc(r->architectures.n, sizeof(*a->archs));
        for (size_t i = 0; i < r->architectures.n; i++)
            a->archs[a->narchs++] = xstrdup(r->architectures.items[i].value);
    } else {
        list = xstrdup(a->arch_list);
        a->archs = xcalloc(strlen(list) / 2 + 1, sizeof(*a->archs));
        for (next = list; (arch = strsep(&next, ",")) != NULL;) {
            if (cli_debian_arch(arch) == NULL)
                return cli_usage_error("build",
                                       "--arch '%s': '%s' is not an architecture temper builds "
                                       "from packages (amd64, arm64, 386, arm, ppc64le, s390x, "
                                       "riscv64, ...)",
                                       a->arch_list, arch);
            for (size_t i = 0; i < a->narchs; i++)
                if (strcmp(a->archs[i], arch) == 0)
                    return cli_usage_error("build", "--arch '%s' names %s twice", a->arch_list,
                                           arch);
            a->archs[a->narchs++] = xstrdup(arch);
        }
    }
    if (a->narchs == 1) /* one image, as without --arch */
        a->packages.arch = a->archs[0];
    return -1;
}

/* The options of package sources go with a recipe that has packages, and --root without. */
static int
check_package_args(const struct build_args *a, const struct recipe *r)
{
    const struct cli_package_options *o = &a->packages;

    if (r->packages.n > 0 && (a->root != NULL || a->nroots > 0))
        return cli_usage_error("build",
                               "recipe '%s' is built from its packages (contents.packages), not "
                               "from a root: leave out --root",
                               a->recipe);
    if (r->packages.n == 0 && (o->lock || a->arch_list || o->cache || o->offline))
        return cli_usage_error("build",
                               "--lock, --arch, --cache and --offline are for a recipe with "
                               "contents.packages; '%s' has none",
                               a->recipe);
    return -1;
}

/* One architecture's image, from its root to its blobs: a build makes one, or one per
 * architecture of an image index. */
struct arch_image {
    const char *arch;     /* GOARCH asked for, or NULL: the recipe's, else this machine's */
    const char *root_dir; /* its --root ARCH=DIR, or NULL */
    char *package_root;   /* the root unpacked from the lock's packages, or NULL */
    struct fs_root *root;
    struct rootfs_plan *plan;
    struct rootfs_options plan_opts;
    struct layer_options lo;
    struct cli_layers layers;
    struct image_strings is;
    struct oci_image_spec spec;
    struct oci_descriptor manifest; /* once written */
};

static void
arch_image_release(struct arch_image *im, const struct recipe *r)
{
    cli_layers_release(&im->layers);
    rootfs_dpkg_owners_free(im->plan_opts.owners);
    image_strings_release(&im->is, r);
    rootfs_plan_free(im->plan);
    fs_root_free(im->root);
    free(im->package_root);
    free(im->lo.file_digests);
}

/* Plans image `im` and its layers, and runs the recipe's tests on them: everything before the
 * layout is opened, so that a failure leaves it as it was. */
static int
arch_image_prepare(const struct build_args *a, struct recipe *r, const char *tag,
                   const char *output, struct arch_image *im, struct temper_err *err)
{
    struct cli_package_options packages = a->packages;
    const char *root_dir, *goarch = NULL;
    int rc;

    if (im->arch != NULL)
        packages.arch = im->arch;
    if (r->packages.n > 0 &&
        cli_package_root(a->recipe, r, &packages, &im->package_root, &goarch, err) < 0)
        return -1;
    /* an image of packages is for the architecture they were taken for, ELF files or not; a
     * root's for the one it was given for (the plan checks its ELF files against it) */
    if (im->package_root != NULL && (r->architecture.value == NULL || im->arch != NULL)) {
        free(r->architecture.value);
        r->architecture.value = xstrdup(goarch);
    }
    im->plan_opts.root_architecture = im->root_dir != NULL ? im->arch : NULL;
    im->plan_opts.jobs = im->lo.jobs; /* the dpkg lists are read on as many threads */
    root_dir = im->package_root ? im->package_root
               : im->root_dir   ? im->root_dir
               : a->root        ? a->root
                                : "/";
    if (fs_root_open(root_dir, &im->root, err) < 0)
        return -1;
    /* the parts of a layered image are planned after the whole, over the same root */
    if (r->layering == RECIPE_LAYERING_INCLUDES)
        im->plan_opts.owners = rootfs_dpkg_owners_new();
    rc = rootfs_plan_build(r, im->root, &im->plan_opts, &im->plan, err);
    if (rc < 0 && im->package_root != NULL)
        return temper_err_prefix(err, "in the packages' root (its lock pins what is there)");
    if (rc < 0 && strcmp(root_dir, "/") != 0)
        return temper_err_prefix(err, "in root '%s'", root_dir);
    if (rc < 0)
        return -1;
    print_summary(r, tag, im->plan, run_as_user(r), a->verbosity);
    if (a->sbom != NULL)
        im->lo.file_digests = xcalloc(im->plan->n + 1, sizeof(*im->lo.file_digests));
    if (cli_layers_plan(a->recipe, r, im->plan, im->root, &im->plan_opts, &im->lo, &im->layers,
                        err) < 0 ||
        cli_layers_take(output, &im->layers, im->root, a->verbosity >= 0, err) < 0)
        return -1;
    make_spec(r, im->plan, run_as_user(r), im->lo.epoch, &im->is, &im->spec);
    if (r->ntests > 0 && a->skip_tests)
        cli_line(stderr, "tests: %zu skipped (--skip-tests)", r->ntests);
    else if (r->ntests > 0)
        return cli_build_tests(r, im->plan->architecture, im->layers.layers, im->layers.n, im->root,
                               im->spec.env, err);
    return 0;
}

/*
 * --sbom FILE: the SPDX document of each image just written: FILE for one image; for an index,
 * one per image, named by sbom_path_for and about that image (its digest, its platform tag).
 * sboms[i] gets image i's document.
 */
static int
write_sboms(const struct build_args *a, const struct recipe *r, const char *tag,
            struct arch_image *images, size_t n, const char *digest, int64_t epoch, char **sboms,
            struct temper_err *err)
{
    for (size_t i = 0; i < n; i++) {
        struct arch_image *im = &images[i];
        const char *arch = im->plan->architecture;
        char platform_tag[OCI_TAG_MAX + 1];
        cleanup_free char *path = n > 1 ? sbom_path_for(a->sbom, arch) : xstrdup(a->sbom);

        cli_layers_file_digests(&im->layers, im->lo.file_digests);
        if (n > 1)
            oci_platform_tag(tag, arch, platform_tag); /* checked before the index was written */
        if (write_sbom(path, r, n > 1 ? platform_tag : tag, im->plan, im->root, im->lo.file_digests,
                       n > 1 ? im->manifest.digest : digest, epoch, &sboms[i], err) < 0)
            return n > 1 ? temper_err_prefix(err, "the image for %s", arch) : -1;
        if (n > 1 && a->verbosity >= 0)
            cli_line(stderr, "SBOM for %s: %s", arch, path);
    }
    return 0;
}

/*
 * Writes the images into the layout and points `tag` at the one image, or at an image index of
 * them all (each image untagged, named by the index with its platform; with `say`, a line for
 * each); *digest gets what the tag names.
 */
static int
write_images(struct oci_layout *layout, struct arch_image *images, size_t n, const char *tag,
             bool say, char digest[LAYER_DIGEST_LEN], struct temper_err *err)
{
    cleanup_free struct oci_index_image *entries = NULL;

    if (n == 1)
        return write_image(layout, images[0].layers.layers, images[0].layers.n, images[0].root,
                           &images[0].spec, tag, digest, NULL, err);
    entries = xcalloc(n, sizeof(*entries));
    for (size_t i = 0; i < n; i++)
        entries[i].spec = &images[i].spec;
    /* refused before any blob is written */
    if (oci_index_check_tags(layout, entries, n, tag, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct arch_image *im = &images[i];

        if (write_image(layout, im->layers.layers, im->layers.n, im->root, &im->spec, NULL, NULL,
                        &im->manifest, err) < 0)
            return temper_err_prefix(err, "image for %s", im->plan->architecture);
        entries[i] = (struct oci_index_image){im->manifest, &im->spec};
        if (say)
            cli_line(stderr, "image for %s: %s", im->plan->architecture, im->manifest.digest);
    }
    return oci_index_commit(layout, entries, n, tag, digest, err);
}

static int
build(const struct build_args *a, struct recipe *r, const struct cli_image *expected,
      struct temper_err *err)
{
    struct oci_layout *layout = NULL;
    struct layer_options lo = {0};
    cleanup_free struct arch_image *images = NULL;
    struct oci_descriptor top; /* what the tag names */
    size_t nimages = 0;
    struct sign_key *key = NULL;
    const struct recipe_user *user = run_as_user(r);
    const char *tag = a->tag ? a->tag : r->tag.value;
    /* -o oci:DIR is skopeo's spelling of the layout DIR */
    cleanup_free char *output =
        a->output == NULL ? xasprintf("out/%s", r->name.value)
        : strncmp(a->output, CLI_OCI_TRANSPORT, strlen(CLI_OCI_TRANSPORT)) == 0
            ? xstrdup(a->output + strlen(CLI_OCI_TRANSPORT))
            : xstrdup(a->output);
    char digest[LAYER_DIGEST_LEN];
    cleanup_free char *identity = NULL;
    char **sboms = NULL; /* nimages, with --sbom */
    int64_t epoch = 0;
    int rc, mismatch = 0;
    bool added = false, is_signed;

    if ((rc = choose_epoch(a, r, &epoch)) >= 0 || (rc = choose_layer(a, r, &lo)) >= 0)
        return rc;
    lo.epoch = epoch;
    if (lo.jobs == 0)
        lo.jobs = cli_online_cpus();
    if (user == NULL) { /* recipe_load checks this; a recipe built another way might not */
        temper_err_set(err, TEMPER_E_PARSE, 0, "run-as user '%s' is not defined", r->run_as.value);
        return cli_error(err);
    }
    if (a->identity != NULL && cli_signed_identity(a->identity, &identity, err) < 0)
        return cli_error(err);
    if ((rc = check_package_args(a, r)) >= 0)
        return rc;
    /* The key first: a wrong password or a key open to others fails before anything is built. */
    if (a->key != NULL && cli_load_private_key(a->key, &key, err) < 0)
        return cli_error(err);
    /* several architectures: an image index; one (or none given): an image */
    images = xcalloc(a->narchs > 1 ? a->narchs : 1, sizeof(*images));
    do {
        images[nimages] =
            (struct arch_image){.arch = a->narchs > 1 || a->nroots > 0 ? a->archs[nimages] : NULL,
                                .root_dir = a->nroots > 0 ? a->roots[nimages] : NULL,
                                .lo = lo};
        rc = arch_image_prepare(a, r, tag, output, &images[nimages++], err);
    } while (rc == 0 && nimages < a->narchs && a->narchs > 1);
    if (rc == 0)
        rc = oci_layout_open(output, true, &layout, err);
    if (rc == 0 && write_images(layout, images, nimages, tag, a->verbosity >= 0, digest, err) < 0)
        rc = temper_err_prefix(err, "layout '%s'", output);
    if (rc == 0 && a->sbom != NULL) {
        sboms = xcalloc(nimages, sizeof(*sboms));
        rc = write_sboms(a, r, tag, images, nimages, digest, epoch, sboms, err);
        if (rc < 0)
            temper_err_prefix(err, "image %s is in '%s', but its SBOM is not", digest, output);
    }
    if (rc == 0 && key != NULL &&
        (oci_layout_find_tag(layout, tag, &top, err) < 0 ||
         cli_sign_image(layout, &top, key, identity ? identity : r->name.value, false, &added,
                        err) < 0))
        rc = temper_err_prefix(err, "image %s is in '%s' but not signed", digest, output);
    if (rc == 0 && key != NULL && !added)
        cli_line(stderr, "temper: %s was signed with this key already: no signature added", digest);
    for (size_t i = 0; rc == 0 && key != NULL && sboms != NULL && i < nimages; i++) {
        if (attach_sbom(layout, nimages > 1 ? images[i].manifest.digest : digest, key,
                        identity ? identity : r->name.value, sboms[i], err) < 0)
            rc = temper_err_prefix(err, "image %s is in '%s', signed, but its SBOM is not attached",
                                   digest, output);
    }
    if (rc == 0 && key != NULL && identity == NULL)
        cli_note_local_identity(r->name.value);
    if (rc == 0 && a->archive != NULL)
        rc = oci_layout_archive(layout, tag, r->name.value, epoch, a->archive, err);
    if (rc == 0 && a->expect != NULL) {
        mismatch = compare_expected(a, layout, tag, digest, output, expected, err);
        if (mismatch < 0)
            temper_err_prefix(err, "image %s is in '%s', but comparing it with '%s' failed", digest,
                              output, a->expect);
    }
    is_signed = key != NULL;
    sign_key_free(key);
    oci_layout_free(layout);
    if (rc == 0 && a->json && nimages == 1) {
        rc = print_json(
            r, tag, output, digest, is_signed,
            image_json(images[0].plan, user, digest, cli_layers_json(&images[0].layers)), err);
    } else if (rc == 0 && a->json) {
        json_t *list = json_array();

        for (size_t i = 0; i < nimages; i++)
            json_array_append_new(list, image_json(images[i].plan, user, images[i].manifest.digest,
                                                   cli_layers_json(&images[i].layers)));
        rc = print_json(r, tag, output, digest, is_signed, json_pack("{so}", "images", list), err);
    } else if (rc == 0)
        printf("%s\n", digest);
    for (size_t i = 0; i < nimages; i++) {
        arch_image_release(&images[i], r);
        if (sboms != NULL)
            free(sboms[i]);
    }
    free(sboms);
    if (rc < 0)
        return cli_error(err);
    if (mismatch < 0)
        return cli_error(err) == CLI_EXIT_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    return mismatch ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

/* --expect IMAGE: the image is opened (and found) before anything is built. */
static int
build_expecting(const struct build_args *a, struct recipe *r, struct temper_err *err)
{
    struct registry_options opts;
    struct registry_login login;
    struct cli_image expected;
    int rc = cli_registry_login("build", &a->registry, &opts, &login);

    if (rc >= 0)
        return rc;
    opts.read_only = true; /* --expect reads an image; build pushes nothing */
    if (cli_image_open(a->expect, &opts, &expected, err) < 0) {
        cli_registry_logout(&login);
        temper_err_prefix(err, "--expect '%s'", a->expect);
        return cli_error(err);
    }
    rc = build(a, r, &expected, err);
    cli_image_close(&expected);
    cli_registry_logout(&login);
    return rc;
}

int
cmd_build(int argc, char **argv)
{
    struct build_args a = {.jobs = 0};
    cleanup_recipe struct recipe *r = NULL;
    struct temper_err err;
    int rc = parse_args(argc, argv, &a);

    if (rc >= 0)
        return rc;
    if (recipe_load(a.recipe, &r, &err) < 0)
        return cli_error(&err);
    rc = choose_archs(&a, r);
    if (rc < 0 && (a.expect == NULL || strncmp(a.expect, "sha256:", 7) == 0))
        rc = build(&a, r, NULL, &err);
    else if (rc < 0)
        rc = build_expecting(&a, r, &err);
    for (size_t i = 0; i < a.narchs; i++)
        free(a.archs[i]);
    free(a.archs);
    return rc;
}
