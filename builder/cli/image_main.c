/*
 * temper-image: the commands of temper that build (and later sign and push)
 * images, with the libraries they need. temper execs it with the user's
 * arguments; see main.c for why it is a program of its own.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "layer/layer_writer.h"

/* Sorted by name; every one is also in main.c's table, as run_in_helper. */
static const struct cli_command commands[] = {
    {"build", cmd_build, "build a hardened, reproducible OCI image from a recipe"},
    {"diff", cmd_diff, "compare two images and explain every difference"},
    {"gc", cmd_gc, "remove what no tag of a layout reaches: old blobs, orphaned signatures"},
    {"inspect", cmd_inspect, "show an image's digests, config, hardening and every file"},
    {"keygen", cmd_keygen, "write a new signing key pair"},
    {"lock", cmd_lock, "pin the Debian packages a recipe is built from"},
    {"push", cmd_push, "push an image of a layout, and its signatures, to a registry"},
    {"run", cmd_run, "run a command of an image in a sandbox (bubblewrap), without an engine"},
    {"sbom", cmd_sbom, "print the SPDX document attached to an image, once it verifies"},
    {"sign", cmd_sign, "sign an image in a layout, as cosign signs"},
    {"verify", cmd_verify, "check an image's signature and every byte it covers"},
};

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        char libs[256];

        /* what a rebuild elsewhere must match for the same digest (docs/ci.md) */
        layer_library_versions(libs, sizeof(libs));
        printf("temper %s\nimage bytes from: %s, jansson %s\n", TEMPER_VERSION, libs,
               jansson_version_str());
        return CLI_EXIT_OK;
    }
    return cli_main(argc, argv, commands, sizeof(commands) / sizeof(commands[0]));
}
