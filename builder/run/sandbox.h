/*
 * sandbox: an image's tree, unpacked into a private directory, and commands run in it with
 * bubblewrap, as a container engine would run them but without one: recipe tests at build
 * time and `temper run`.
 *
 * The tree is made from the layers themselves (each one's bytes hashed on the way and checked
 * against its digest before anything runs), never from the build machine's files: what runs is
 * what the image holds. Unpacking refuses what a tree of an image needs not and a hostile layer
 * might use: absolute names, "..", writing through a symlink, device nodes and fifos, and
 * whiteouts (temper's images have none); setuid and setgid bits are dropped, so that no file
 * of the private copy can raise anyone's privileges.
 *
 * A command runs under bwrap(1) with the tree as a read-only "/", new user, mount, pid, ipc,
 * uts and network namespaces (the network one unless asked to share the host's), a fresh /proc,
 * a minimal /dev, a private tmpfs on /tmp, the image's environment and no other, its working
 * directory and a uid and gid of the image. bwrap maps that one uid to the invoking user, who
 * owns every file of the private tree: in the sandbox all files belong to the command's user
 * (and none can be written: "/" is read-only). bwrap's --die-with-parent and a timeout end
 * every process the command started. Nothing is executed outside the sandbox.
 */
#ifndef TEMPER_RUN_SANDBOX_H
#define TEMPER_RUN_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

struct sandbox_tree;

/* Where bubblewrap is: Debian's path, never searched for in $PATH (SECURITY.md). */
#define SANDBOX_BWRAP "/usr/bin/bwrap"

/* A new empty tree: a directory "temper-run-XXXXXX" of mode 0700 in $TMPDIR (else /tmp). */
int sandbox_tree_new(struct sandbox_tree **out, struct temper_err *err);

/*
 * Unpacks one layer read from fd (to its end) over the tree: `media_type` one of the OCI and
 * Docker layer types (tar, gzip, zstd), `digest` "sha256:<hex>" that the bytes must hash to
 * (TEMPER_E_SIG when they do not: the tree is then unfit to run). Layers go in order.
 */
int sandbox_tree_add_layer(struct sandbox_tree *t, int fd, const char *media_type,
                           const char *digest, struct temper_err *err);

/* The directory, for messages. */
const char *sandbox_tree_dir(const struct sandbox_tree *t);

/* Removes the directory and everything in it (NULL-safe). */
void sandbox_tree_free(struct sandbox_tree *t);

struct sandbox_command {
    const char *const *argv; /* NULL-terminated; argv[0] a path inside the image */
    const char *const *env;  /* NULL-terminated "KEY=VALUE" strings: all the command gets */
    const char *work_dir;    /* inside the image; NULL: "/" */
    uint32_t uid, gid;       /* inside the sandbox */
    bool network;            /* share the host's network (temper run --network) */
    unsigned timeout_s;      /* 0: none */
    int out_fd, err_fd;      /* the command's standard output and error; -1: this process's */
    /* A qemu-user program of this machine (an absolute path) that runs argv, for an image of
     * another architecture: bound read-only into the sandbox at SANDBOX_EMULATOR; or NULL. */
    const char *emulator;
};

#define SANDBOX_EMULATOR "/.temper-emulator"

struct sandbox_result {
    int exit_status; /* the command's exit status; 128 + N when signal N ended it */
    bool timed_out;  /* killed at the timeout (exit_status is then 128 + SIGKILL) */
};

/*
 * Runs the command in the tree and waits for it. -1 (TEMPER_E_MISSING) when bwrap is not
 * installed or cannot start; a command that fails is a result, not an error.
 */
int sandbox_run(const struct sandbox_tree *t, const struct sandbox_command *cmd,
                struct sandbox_result *out, struct temper_err *err);

#endif
