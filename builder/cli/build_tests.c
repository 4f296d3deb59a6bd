/*
 * A recipe's tests: the layer is written to a private temporary file, unpacked from those
 * bytes into a private tree, and each test runs there in the sandbox (run/sandbox.h) before
 * the layout is opened, so that a failing test leaves the layout as it was. The build then
 * copies the tested bytes into the layout: what was tested is what ships.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "cli.h"
#include "run/sandbox.h"

/* What a test's output is matched against, and what a failure shows of each stream. */
#define TEST_OUTPUT_MAX_BYTES (64 * 1024)
#define TEST_SHOWN_BYTES 2048

/* An unnamed file in $TMPDIR (else /tmp): gone with its last descriptor. */
static int
private_file(struct temper_err *err)
{
    const char *tmp = getenv("TMPDIR");
    const char *dir = tmp != NULL && tmp[0] == '/' ? tmp : "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno,
                              "cannot make a temporary file in '%s' for the tests", dir);
    return fd;
}

/* Up to max bytes of fd from its start, NUL-terminated (a NUL in them ends the text). */
static char *
read_start(int fd, size_t max, size_t *len)
{
    char *buf = xmalloc(max + 1);
    ssize_t n = pread(fd, buf, max, 0);

    *len = n > 0 ? (size_t)n : 0;
    buf[*len] = '\0';
    return buf;
}

/* The last TEST_SHOWN_BYTES of a stream, for a person. */
static void
show_tail(const char *what, int fd)
{
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > TEST_SHOWN_BYTES ? end - TEST_SHOWN_BYTES : 0;
    char buf[TEST_SHOWN_BYTES + 1];
    ssize_t n = end > 0 ? pread(fd, buf, TEST_SHOWN_BYTES, from) : 0;

    if (n <= 0)
        return;
    buf[n] = '\0';
    cli_line(stderr, "  %s%s:", what, from > 0 ? " (its end)" : "");
    for (char *line = buf, *nl; line < buf + n; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(buf + n - line));
        if (nl == NULL)
            nl = buf + n;
        *nl = '\0';
        cli_line(stderr, "    %s", line);
    }
}

const char *
cli_emulator_for(const char *arch)
{
    static const struct {
        const char *go, *qemu;
    } names[] = {
        {"amd64", "/usr/bin/qemu-x86_64-static"},    {"arm64", "/usr/bin/qemu-aarch64-static"},
        {"386", "/usr/bin/qemu-i386-static"},        {"arm", "/usr/bin/qemu-arm-static"},
        {"ppc64le", "/usr/bin/qemu-ppc64le-static"}, {"s390x", "/usr/bin/qemu-s390x-static"},
        {"riscv64", "/usr/bin/qemu-riscv64-static"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(arch, names[i].go) == 0)
            return access(names[i].qemu, X_OK) == 0 ? names[i].qemu : NULL;
    }
    return NULL;
}

static const struct recipe_user *
user_of(const struct recipe *r, const struct recipe_test *t)
{
    const char *name = t->user.value != NULL ? t->user.value : r->run_as.value;

    for (size_t i = 0; i < r->nusers; i++) {
        if (strcmp(r->users[i].name.value, name) == 0)
            return &r->users[i];
    }
    return NULL; /* recipe_load refuses such a recipe */
}

/* Runs test i; 1 when it passed, 0 when it failed (said on stderr), -1 on error. */
static int
run_test(const struct recipe *r, size_t i, const struct sandbox_tree *tree, const char *const *env,
         const char *emulator, struct temper_err *err)
{
    const struct recipe_test *t = &r->tests[i];
    const struct recipe_user *user = user_of(r, t);
    const char **argv = xcalloc(t->command.n + 1, sizeof(*argv));
    cleanup_close int out = -1, errs = -1;
    struct sandbox_result res;
    cleanup_free char *text = NULL;
    char why[256] = "";
    size_t len;
    int rc = -1;

    for (size_t k = 0; k < t->command.n; k++)
        argv[k] = t->command.items[k].value;
    if (user == NULL || (out = private_file(err)) < 0 || (errs = private_file(err)) < 0)
        goto done;
    if (sandbox_run(tree,
                    &(struct sandbox_command){argv, env, r->work_dir.value, user->uid, user->gid,
                                              false, t->timeout_s, out, errs, emulator},
                    &res, err) < 0)
        goto done;
    text = read_start(out, TEST_OUTPUT_MAX_BYTES, &len);
    if (res.timed_out) {
        snprintf(why, sizeof(why), "still running after %u s (timeout), killed", t->timeout_s);
    } else if (res.exit_status != 0) {
        snprintf(why, sizeof(why), "exit status %d", res.exit_status);
    } else if (t->output.value != NULL) {
        regex_t re;

        if (regcomp(&re, t->output.value, REG_EXTENDED | REG_NOSUB | REG_NEWLINE) != 0)
            abort(); /* recipe_load compiled it */
        if (regexec(&re, text, 0, NULL, 0) != 0)
            snprintf(why, sizeof(why), "its standard output does not match '%s'", t->output.value);
        regfree(&re);
    }
    rc = why[0] == '\0';
    if (rc == 0) {
        cli_line(stderr, "temper: test %zu of %zu (%s:%u:%u) failed: %s", i + 1, r->ntests,
                 t->loc.file, t->loc.line, t->loc.column, why);
        cli_text(stderr, "  command:");
        for (size_t k = 0; k < t->command.n; k++)
            cli_text(stderr, " %s", argv[k]);
        cli_line(stderr, "%s", "");
        show_tail("stdout", out);
        show_tail("stderr", errs);
    }
done:
    free(argv);
    return rc;
}

/* Writes each layer to a temporary file and unpacks it over the ones before. */
static int
stage_layers(struct cli_build_layer *layers, size_t nlayers, struct fs_root *root,
             struct sandbox_tree *tree, struct temper_err *err)
{
    for (size_t i = 0; i < nlayers; i++) {
        struct cli_build_layer *l = &layers[i];

        if (!l->reused && ((l->staged_fd = private_file(err)) < 0 ||
                           layer_write(l->plan, root, l->staged_fd, &l->lo, &l->res, err) < 0))
            return -1;
        if (lseek(l->staged_fd, 0, SEEK_SET) < 0 ||
            sandbox_tree_add_layer(tree, l->staged_fd, layer_media_type(l->lo.compression),
                                   l->res.digest, err) < 0)
            return -1;
    }
    return 0;
}

static void
unstage(struct cli_build_layer *layers, size_t nlayers)
{
    for (size_t i = 0; i < nlayers; i++) {
        if (layers[i].staged_fd >= 0)
            close(layers[i].staged_fd);
        layers[i].staged_fd = -1;
    }
}

int
cli_build_tests(const struct recipe *r, const char *architecture, struct cli_build_layer *layers,
                size_t nlayers, struct fs_root *root, const char *const *env,
                struct temper_err *err)
{
    struct sandbox_tree *tree = NULL;
    const char *emulator = NULL;
    struct timespec t0, t1;
    size_t passed = 0, not_run = 0;
    int rc = 0;

    if (strcmp(architecture, cli_machine_arch()) != 0 &&
        (emulator = cli_emulator_for(architecture)) == NULL) {
        cli_line(stderr,
                 "tests: %zu not run: the image is for %s, this machine runs %s and has no "
                 "qemu-user for it (apt-get install qemu-user-static)",
                 r->ntests, architecture, cli_machine_arch());
        return 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (sandbox_tree_new(&tree, err) < 0 || stage_layers(layers, nlayers, root, tree, err) < 0) {
        temper_err_prefix(err, "tests");
        sandbox_tree_free(tree);
        unstage(layers, nlayers);
        return -1;
    }
    for (size_t i = 0; i < r->ntests && rc >= 0; i++) {
        if (emulator != NULL && r->tests[i].native_only) {
            not_run++;
            continue;
        }
        rc = run_test(r, i, tree, env, emulator, err);
        passed += rc == 1;
    }
    sandbox_tree_free(tree);
    if (rc < 0 || passed + not_run < r->ntests) {
        unstage(layers, nlayers);
        if (rc >= 0)
            temper_err_set(err, TEMPER_E_POLICY, 0,
                           "%zu of %zu tests failed: nothing was written (fix the image or the "
                           "test, then build again)",
                           r->ntests - not_run - passed, r->ntests - not_run);
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cli_line(stderr, "tests: %zu passed (%.1f s%s%s)", passed,
             (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
             emulator ? ", under " : "", emulator ? emulator : "");
    if (not_run > 0)
        cli_line(stderr,
                 "tests: %zu native-only not run: under qemu-user a program of the image cannot "
                 "start another one (binfmt_misc is not used)",
                 not_run);
    return 0;
}
