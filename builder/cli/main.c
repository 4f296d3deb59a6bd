/*
 * temper: the command users run. It links only what `temper resolve` needs
 * (libelf, jansson), so that resolving starts in a millisecond; the commands
 * that build, sign and push run in temper-image, a helper program with
 * libarchive, libzstd, libdeflate, libyaml and OpenSSL, which this one
 * execs. (Linking those here would load 22 shared libraries, ICU among them
 * through libarchive's libxml2, and take 4 ms before main: a fifth of a
 * whole `temper resolve` over a system.) git keeps its HTTP client in a
 * helper for the same reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "cli.h"

/* Where temper-image is, relative to this program: installed, then in the build tree. */
static const char *const helper_places[] = {"../libexec/temper/temper-image", "temper-image"};

/*
 * Runs `temper <command> ...` in temper-image, found beside this program's
 * own file (never through $PATH), with the same arguments.
 */
static int
run_in_helper(int argc, char **argv)
{
    char self[PATH_MAX], dir[PATH_MAX], helper[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash, **args;

    if (n < 0) {
        cli_line(stderr, "temper: cannot find its own program file: %s", strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    self[n] = '\0';
    memcpy(dir, self, (size_t)n + 1);
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    args = xcalloc((size_t)argc + 2, sizeof(*args));
    args[0] = "temper";
    memcpy(args + 1, argv, (size_t)argc * sizeof(*args));
    for (size_t i = 0; i < sizeof(helper_places) / sizeof(helper_places[0]); i++) {
        snprintf(helper, sizeof(helper), "%s/%s", dir, helper_places[i]);
        if (access(helper, X_OK) == 0) {
            execv(helper, args);
            cli_line(stderr, "temper: cannot run '%s': %s", helper, strerror(errno));
            free(args);
            return CLI_EXIT_FAILURE;
        }
    }
    cli_line(stderr,
             "temper: 'temper %s' runs in temper-image, which is not installed beside '%s' "
             "(looked for %s/%s and %s/%s); reinstall temper",
             argv[0], self, dir, helper_places[0], dir, helper_places[1]);
    free(args);
    return CLI_EXIT_FAILURE;
}

/* Sorted by name. */
static const struct cli_command commands[] = {
    {"build", run_in_helper, "build a hardened, reproducible OCI image from a recipe"},
    {"diff", run_in_helper, "compare two images and explain every difference"},
    {"gc", run_in_helper, "remove what no tag of a layout reaches: old blobs, orphaned signatures"},
    {"inspect", run_in_helper, "show an image's digests, config, hardening and every file"},
    {"keygen", run_in_helper, "write a new signing key pair"},
    {"lock", run_in_helper, "pin the Debian packages a recipe is built from"},
    {"push", run_in_helper, "push an image of a layout, and its signatures, to a registry"},
    {"resolve", cmd_resolve,
     "list the shared-library closure of ELF files, as ld.so would load it"},
    {"run", run_in_helper,
     "run a command of an image in a sandbox (bubblewrap), without an engine"},
    {"sbom", run_in_helper, "print the SPDX document attached to an image, once it verifies"},
    {"sign", run_in_helper, "sign an image in a layout, as cosign signs"},
    {"verify", run_in_helper, "check an image's signature and every byte it covers"},
};

int
main(int argc, char **argv)
{
    /* the versions of the libraries that decide an image's bytes are temper-image's to say */
    if (argc == 2 && strcmp(argv[1], "--version") == 0)
        return run_in_helper(argc - 1, argv + 1);
    return cli_main(argc, argv, commands, sizeof(commands) / sizeof(commands[0]));
}
