/*
 * temper run [--network] [--user UID[:GID]] [registry options] IMAGE [-- COMMAND [ARG...]]
 *
 * Runs an image's entrypoint and cmd (or COMMAND) in a sandbox made from its layers
 * (run/sandbox.h): the quickest check of an image without a container engine, and the
 * sandbox recipe tests run in. The exit status is the command's.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "cli.h"
#include "diff/image_diff.h"
#include "registry/registry_client.h"
#include "run/sandbox.h"

static const char run_usage[] =
    "usage: temper run [--network] [--user UID[:GID]] [--arch ARCH] [registry options]\n"
    "                  [oci:]LAYOUT[:TAG] | [docker://]REGISTRY/REPO[:TAG|@DIGEST]\n"
    "                  [-- COMMAND [ARG...]]\n"
    "\n"
    "Runs the image's entrypoint and cmd, or COMMAND (a path inside the image), in a sandbox\n"
    "made from the image's layers with bubblewrap: the image's files as a read-only /, new\n"
    "user, mount, pid, ipc, uts and network namespaces, a private /tmp, the image's\n"
    "environment, working directory and user. Standard input, output and error are this\n"
    "terminal's. An image of another architecture runs under qemu-user (qemu-user-static).\n"
    "Exits with the command's exit status.\n"
    "\n"
    "  --network       share this machine's network (default: none)\n"
    "  --user U[:G]    run as uid U and gid G (default: the image's user)\n"
    "  --arch ARCH     of an image index, the image for ARCH (default: this machine's)\n"
    "\n"
    "Registry options:\n" CLI_REGISTRY_USAGE;

/* A config's array of strings, NULL-terminated (borrowed from the JSON); NULL when absent. */
static const char **
strings_of(const json_t *config, const char *key)
{
    const json_t *a = json_object_get(config, key);
    const char **v;
    size_t i, k = 0;
    json_t *item;

    if (!json_is_array(a))
        return NULL;
    v = xcalloc(json_array_size(a) + 1, sizeof(*v));
    json_array_foreach(a, i, item)
    {
        if (json_is_string(item))
            v[k++] = json_string_value(item);
    }
    return v;
}

/* "UID" or "UID:GID", decimal; gid defaults to the uid. */
static bool
parse_ids(const char *s, uint32_t *uid, uint32_t *gid)
{
    char *end;
    unsigned long u, g;

    if (s[0] < '0' || s[0] > '9')
        return false;
    u = strtoul(s, &end, 10);
    g = u;
    if (*end == ':') {
        if (end[1] < '0' || end[1] > '9')
            return false;
        g = strtoul(end + 1, &end, 10);
    }
    if (*end != '\0' || u > UINT32_MAX || g > UINT32_MAX)
        return false;
    *uid = (uint32_t)u;
    *gid = (uint32_t)g;
    return true;
}

/* The command: COMMAND when given, else the entrypoint followed by the cmd. */
static const char **
command_of(const json_t *config, char **given, size_t ngiven)
{
    const char **entry = strings_of(config, "Entrypoint"), **cmd = strings_of(config, "Cmd");
    const char **argv;
    size_t n = 0;

    argv =
        xcalloc(ngiven + 1 + (entry ? json_array_size(json_object_get(config, "Entrypoint")) : 0) +
                    (cmd ? json_array_size(json_object_get(config, "Cmd")) : 0),
                sizeof(*argv));
    if (ngiven > 0) {
        for (size_t i = 0; i < ngiven; i++)
            argv[n++] = given[i];
    } else {
        for (size_t i = 0; entry != NULL && entry[i] != NULL; i++)
            argv[n++] = entry[i];
        for (size_t i = 0; cmd != NULL && cmd[i] != NULL; i++)
            argv[n++] = cmd[i];
    }
    free(entry);
    free(cmd);
    return argv;
}

/* What temper run was asked, apart from the image. */
struct run_args {
    const char *user; /* or NULL: the image's */
    const char *arch; /* of an image index, or NULL: this machine's */
    bool network;
    char **given; /* the command after --, or NULL */
    size_t ngiven;
};

static int
run_image(const char *image, const struct registry_options *opts, const struct run_args *a)
{
    struct cli_image img;
    struct image_doc doc = {0};
    struct sandbox_tree *tree = NULL;
    struct sandbox_result res = {0};
    struct temper_err err;
    const json_t *config;
    const char **argv = NULL, **env = NULL, *work_dir, *config_user, *arch, *emulator = NULL;
    uint32_t uid = 0, gid = 0;
    int rc;

    if (cli_image_open(image, opts, &img, &err) < 0)
        return cli_error(&err);
    rc = cli_image_platform(&img, a->arch, &err);
    if (rc == 0)
        rc = image_load(&img.source, &img.desc, &doc, &err);
    config = json_object_get(doc.config, "config");
    config_user = json_string_value(json_object_get(config, "User"));
    if (rc == 0 && a->user == NULL && config_user != NULL && config_user[0] != '\0' &&
        !parse_ids(config_user, &uid, &gid))
        rc = temper_err_set(&err, TEMPER_E_USAGE, 0,
                            "%s: its user '%s' is a name: give --user UID[:GID] (temper run "
                            "does not read the image's /etc/passwd)",
                            img.source.name, config_user);
    if (rc == 0 && a->user != NULL && !parse_ids(a->user, &uid, &gid))
        rc = temper_err_set(&err, TEMPER_E_USAGE, 0, "--user '%s' is not UID or UID:GID", a->user);
    if (rc == 0) {
        argv = command_of(config, a->given, a->ngiven);
        if (argv[0] == NULL)
            rc = temper_err_set(&err, TEMPER_E_USAGE, 0,
                                "%s has no entrypoint or cmd: give the command after --",
                                img.source.name);
    }
    if (rc == 0)
        rc = sandbox_tree_new(&tree, &err);
    for (size_t i = 0; rc == 0 && i < doc.nlayers; i++) {
        struct temper_err closing;
        int fd = img.source.ops->open(img.source.arg, &doc.layers[i], &err);

        if (fd < 0) {
            rc = -1;
            break;
        }
        rc = sandbox_tree_add_layer(tree, fd, doc.layers[i].media_type, doc.layers[i].digest, &err);
        if (img.source.ops->close(img.source.arg, fd, &closing) < 0 && rc == 0) {
            err = closing;
            rc = -1;
        }
        if (rc < 0)
            temper_err_prefix(&err, "%s", img.source.name);
    }
    arch = json_string_value(json_object_get(doc.config, "architecture"));
    if (rc == 0 && arch != NULL && strcmp(arch, cli_machine_arch()) != 0 &&
        (emulator = cli_emulator_for(arch)) == NULL)
        rc = temper_err_set(&err, TEMPER_E_USAGE, 0,
                            "%s is for %s and this machine runs %s: install qemu-user-static to "
                            "run it under emulation",
                            img.source.name, arch, cli_machine_arch());
    if (rc == 0) {
        env = strings_of(config, "Env");
        work_dir = json_string_value(json_object_get(config, "WorkingDir"));
        rc = sandbox_run(tree,
                         &(struct sandbox_command){argv, env,
                                                   work_dir && work_dir[0] ? work_dir : NULL, uid,
                                                   gid, a->network, 0, -1, -1, emulator},
                         &res, &err);
    }
    sandbox_tree_free(tree);
    free(argv);
    free(env);
    image_doc_release(&doc);
    cli_image_close(&img);
    if (rc < 0)
        return cli_error(&err);
    return res.exit_status;
}

int
cmd_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"network", no_argument, NULL, 'n'},
        {"user", required_argument, NULL, 'u'},
        {"arch", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct registry_args registry = {0};
    struct registry_options opts;
    struct registry_login login;
    struct run_args a = {0};
    int opt, rc;

    optind = 1;
    /* "+": options end at the image, so that the command's own options are its own */
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        if (cli_registry_option(opt, optarg, &registry))
            continue;
        switch (opt) {
        case 'n':
            a.network = true;
            break;
        case 'u':
            a.user = optarg;
            break;
        case 'a':
            if ((rc = cli_arch_option("run", optarg, &a.arch)) >= 0)
                return rc;
            break;
        case 'h':
            fputs(run_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("run", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("run", "which image? LAYOUT[:TAG] or REGISTRY/REPO[:TAG]");
    if (optind + 1 < argc) {
        if (strcmp(argv[optind + 1], "--") != 0)
            return cli_usage_error("run",
                                   "'%s': put the command after --, as in temper run "
                                   "IMAGE -- /usr/bin/python3 -V",
                                   argv[optind + 1]);
        a.given = argv + optind + 2;
        a.ngiven = (size_t)(argc - optind - 2);
    }
    rc = cli_registry_login("run", &registry, &opts, &login);
    if (rc >= 0)
        return rc;
    opts.read_only = true;
    rc = run_image(argv[optind], &opts, &a);
    cli_registry_logout(&login);
    return rc;
}
