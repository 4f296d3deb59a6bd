/*
 * An image named on the command line, local or remote: [oci:]LAYOUT[:TAG] or
 * [docker://]REGISTRY/REPO[:TAG|@DIGEST] (skopeo's transports), opened as an
 * oci_source so that the commands that read images (verify, diff, inspect)
 * read both alike.
 *
 * Telling them apart follows docker's rule for the first component of a
 * reference: an argument is a registry reference when it starts with
 * docker://, a layout when it starts with oci:; otherwise a registry
 * reference when its first component holds a '.' or a ':' or is
 * "localhost" (./out and /srv/images never are: they start with '.' or
 * '/'). One that has that shape and also names an existing directory is
 * refused as ambiguous rather than guessed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "cli.h"
#include "oci/oci_layout.h"
#include "registry/registry_client.h"

/* Whether `arg` has the shape of a registry reference: docker's rule for its first component. */
static bool
looks_remote(const char *arg)
{
    const char *slash = strchr(arg, '/');
    size_t first;

    if (slash == NULL || arg[0] == '.' || arg[0] == '/')
        return false;
    first = (size_t)(slash - arg);
    return memchr(arg, '.', first) != NULL || memchr(arg, ':', first) != NULL ||
           (first == 9 && strncmp(arg, "localhost", 9) == 0);
}

/* Whether the layout part of `arg` (before a ":TAG") is an existing directory. */
static bool
names_directory(const char *arg)
{
    char *dir = xstrdup(arg);
    const char *layout, *tag;
    struct stat st;
    bool exists;

    cli_split_layout(dir, &layout, &tag);
    exists = stat(layout, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    return exists;
}

int
cli_image_kind(const char *arg, bool *remote, struct temper_err *err)
{
    *remote = strncmp(arg, CLI_DOCKER_TRANSPORT, strlen(CLI_DOCKER_TRANSPORT)) == 0;
    if (*remote || strncmp(arg, CLI_OCI_TRANSPORT, strlen(CLI_OCI_TRANSPORT)) == 0)
        return 0;
    *remote = looks_remote(arg);
    /* never guess: a directory that happens to be named like a registry must not stand in for
     * it (a verify that never asked the registry), nor the registry for the directory */
    if (*remote && names_directory(arg))
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "'%s' names both a directory and a registry reference: write "
                              "oci:%s for the layout, or docker://%s for the registry",
                              arg, arg, arg);
    return 0;
}

static int
open_remote(const char *arg, const struct registry_options *opts, struct cli_image *img,
            struct temper_err *err)
{
    struct registry_ref ref = {0};
    int rc;

    if (registry_ref_parse(cli_registry_arg(arg), &ref, err) < 0)
        return -1;
    rc = registry_client_new(&ref, opts, &img->client, err);
    img->repository = xasprintf("%s/%s", ref.registry, ref.repository);
    registry_ref_release(&ref);
    if (rc < 0)
        return -1;
    registry_client_source(img->client, &img->source);
    return 0;
}

static int
open_local(const char *arg, struct cli_image *img, struct temper_err *err)
{
    const char *dir, *tag;

    img->arg = xstrdup(arg);
    cli_split_layout(img->arg, &dir, &tag);
    if (tag != NULL && oci_tag_is_attached(tag))
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "'%s' holds signatures or attestations; name the image's own tag",
                              tag);
    if (oci_layout_open(dir, false, &img->layout, err) < 0)
        return -1;
    img->tag = tag;
    oci_layout_source(img->layout, &img->source);
    return 0;
}

int
cli_image_open(const char *arg, const struct registry_options *opts, struct cli_image *img,
               struct temper_err *err)
{
    int rc;

    bool remote;

    *img = (struct cli_image){0};
    if (cli_image_kind(arg, &remote, err) < 0)
        return -1;
    if (remote)
        rc = open_remote(arg, opts, img, err);
    else
        rc = open_local(arg, img, err);
    if (rc == 0)
        rc = img->source.ops->find(img->source.arg, img->tag, &img->desc, err);
    if (rc < 0)
        cli_image_close(img);
    return rc;
}

int
cli_arch_option(const char *command, const char *value, const char **out)
{
    if (cli_debian_arch(value) == NULL)
        return cli_usage_error(command, "--arch '%s' is not an architecture (amd64, arm64, ...)",
                               value);
    *out = value;
    return -1;
}

int
cli_image_platform(struct cli_image *img, const char *arch, struct temper_err *err)
{
    cleanup_free struct oci_platform_image *images = NULL;
    const struct oci_platform_image *found;
    char have[256] = "";
    size_t n = 0, used = 0;

    if (!oci_is_image_index(img->desc.media_type))
        return 0;
    if (arch == NULL)
        arch = cli_machine_arch();
    if (oci_source_index(&img->source, &img->desc, &images, &n, err) < 0)
        return temper_err_prefix(err, "%s", img->source.name);
    found = oci_platform_find(images, n, arch);
    if (found == NULL) {
        for (size_t i = 0; i < n; i++) {
            int k = snprintf(have + used, sizeof(have) - used, "%s%s/%s", i > 0 ? ", " : "",
                             images[i].os, images[i].architecture);

            if (k < 0 || (size_t)k >= sizeof(have) - used)
                break;
            used += (size_t)k;
        }
        return temper_err_set(err, TEMPER_E_MISSING, 0,
                              "%s: image index '%s' has no image for linux/%s, only for %s: "
                              "name one with --arch",
                              img->source.name, img->desc.digest, arch, have);
    }
    cli_line(stderr, "temper: image index %s: the image for linux/%s, %s", img->desc.digest, arch,
             found->manifest.digest);
    img->desc = found->manifest;
    return 0;
}

void
cli_image_close(struct cli_image *img)
{
    registry_client_free(img->client);
    oci_layout_free(img->layout);
    free(img->arg);
    free(img->repository);
    *img = (struct cli_image){0};
}

int
cli_parse_image_args(int argc, char **argv, const char *usage, size_t nimages,
                     struct image_args *out)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"arch", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *command = argv[0];
    int opt, rc;

    *out = (struct image_args){0};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (cli_registry_option(opt, optarg, &out->registry))
            continue;
        switch (opt) {
        case 'f':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
                return cli_usage_error(command, "--format wants text or json, not '%s'", optarg);
            out->json = strcmp(optarg, "json") == 0;
            break;
        case 'a':
            if ((rc = cli_arch_option(command, optarg, &out->arch)) >= 0)
                return rc;
            break;
        case 'h':
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(command, "bad option");
        }
    }
    if ((size_t)(argc - optind) != nimages)
        return cli_usage_error(command, nimages == 1
                                            ? "one image, please: LAYOUT[:TAG] or "
                                              "REGISTRY/REPO[:TAG|@DIGEST]"
                                            : "two images, please: IMAGE_A IMAGE_B (each "
                                              "LAYOUT[:TAG] or REGISTRY/REPO[:TAG|@DIGEST])");
    for (size_t i = 0; i < nimages; i++)
        out->image[i] = argv[optind + (int)i];
    return -1;
}
