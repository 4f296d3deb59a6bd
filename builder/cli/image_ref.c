/*
 * An image named on the command line, local or remote: LAYOUT[:TAG] or
 * REGISTRY/REPO[:TAG|@DIGEST], opened as an oci_source so that the
 * commands that read images (verify, diff, inspect) read both alike.
 *
 * Telling them apart follows docker's rule for the first component of a
 * reference, with the local directory winning: an argument is a registry
 * reference when it starts with docker://, or when no directory of that
 * name exists and its first component holds a '.' or a ':' or is
 * "localhost" (./out and /srv/images never are: they start with '.' or '/').
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/xalloc.h"
#include "cli.h"
#include "oci/oci_layout.h"
#include "registry/registry_client.h"

#define DOCKER_TRANSPORT "docker://"

bool
cli_image_is_remote(const char *arg)
{
    const char *slash = strchr(arg, '/');
    size_t first;
    struct stat st;
    char *dir;
    const char *layout, *tag;
    bool exists;

    if (strncmp(arg, DOCKER_TRANSPORT, strlen(DOCKER_TRANSPORT)) == 0)
        return true;
    if (slash == NULL || arg[0] == '.' || arg[0] == '/')
        return false;
    dir = xstrdup(arg);
    cli_split_layout(dir, &layout, &tag);
    exists = stat(layout, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    if (exists)
        return false;
    first = (size_t)(slash - arg);
    return memchr(arg, '.', first) != NULL || memchr(arg, ':', first) != NULL ||
           (first == 9 && strncmp(arg, "localhost", 9) == 0);
}

static int
open_remote(const char *arg, const struct registry_options *opts, struct cli_image *img,
            struct temper_err *err)
{
    struct registry_ref ref = {0};
    int rc;

    if (strncmp(arg, DOCKER_TRANSPORT, strlen(DOCKER_TRANSPORT)) == 0)
        arg += strlen(DOCKER_TRANSPORT);
    if (registry_ref_parse(arg, &ref, err) < 0)
        return -1;
    rc = registry_client_new(&ref, opts, &img->client, err);
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
    if (tag != NULL && oci_tag_is_signature(tag))
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "'%s' holds signatures; name the image's own tag", tag);
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

    *img = (struct cli_image){0};
    if (cli_image_is_remote(arg))
        rc = open_remote(arg, opts, img, err);
    else
        rc = open_local(arg, img, err);
    if (rc == 0)
        rc = img->source.ops->find(img->source.arg, img->tag, &img->desc, err);
    if (rc < 0)
        cli_image_close(img);
    return rc;
}

void
cli_image_close(struct cli_image *img)
{
    registry_client_free(img->client);
    oci_layout_free(img->layout);
    free(img->arg);
    *img = (struct cli_image){0};
}
