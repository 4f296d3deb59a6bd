/*
 * docker's credential helpers: `docker-credential-NAME get`, found through PATH as docker finds
 * it, reads the server on standard input and answers {"ServerURL", "Username", "Secret"} on
 * standard output, or says "credentials not found in native keychain" and exits 1
 * (docker-credential-helpers' protocol). A helper is a program the user's own config names; it
 * is run with the user's environment, and what it answers is untrusted like any input: its
 * output is bounded, its time too, and the secret is never part of a message.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "registry-internal.h"

extern char **environ;

#define HELPER_OUTPUT_MAX (64 * 1024)
#define HELPER_TIMEOUT_MS 60000
#define HELPER_NAME_MAX 64
#define NOT_FOUND "credentials not found"

/* A name that can only be a file name after "docker-credential-": nothing that moves through
 * directories or reads as an option. */
static bool
valid_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > HELPER_NAME_MAX || name[0] == '.' || name[0] == '-')
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Writes the server to the helper's standard input and closes it; a helper that exited without
 * reading it makes EPIPE here, not a SIGPIPE that would end temper. */
static void
send_server(int fd, const char *server)
{
    sigset_t pipe_set, old;
    const struct timespec zero = {0, 0};
    size_t len = strlen(server), done = 0;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    while (done < len) {
        ssize_t n = write(fd, server + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    while (sigtimedwait(&pipe_set, NULL, &zero) >= 0)
        ; /* the SIGPIPE the write may have raised */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(fd);
}

/* Reads the helper's standard output until it closes, at most HELPER_OUTPUT_MAX bytes and
 * HELPER_TIMEOUT_MS: 0, or -1 with *why set. */
static int
read_answer(int fd, char *buf, size_t *len, const char **why)
{
    long deadline = registry_now_ms() + HELPER_TIMEOUT_MS;

    *len = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        long left = deadline - registry_now_ms();
        ssize_t n;
        int ready;

        if (left <= 0) {
            *why = "gave no answer within 60 seconds";
            return -1;
        }
        ready = poll(&p, 1, (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            continue; /* the deadline, checked above */
        n = read(fd, buf + *len, HELPER_OUTPUT_MAX + 1 - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        *len += (size_t)n;
        if (*len > HELPER_OUTPUT_MAX) {
            *why = "answered more than 64 KiB";
            return -1;
        }
    }
}

/* Waits for the helper to end, until `deadline`; then it is killed. */
static void
reap(pid_t pid, long deadline, int *status)
{
    struct timespec pause = {0, 10 * 1000 * 1000};

    for (;;) {
        pid_t got = waitpid(pid, status, WNOHANG);

        if (got == pid || (got < 0 && errno != EINTR))
            return;
        if (got == 0 && registry_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
            return;
        }
        nanosleep(&pause, NULL);
    }
}

/* The first line of what a failing helper said, for the message (never its answer on success:
 * that holds the secret). */
static void
first_line(const char *buf, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    while (n < len && n + 1 < cap && buf[n] != '\n' && buf[n] != '\0')
        n++;
    memcpy(out, buf, n);
    out[n] = '\0';
}

static int
parse_answer(const char *program, const char *buf, size_t len, char **username, char **password,
             struct temper_err *err)
{
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    const char *user = json_string_value(json_object_get(doc, "Username"));
    const char *secret = json_string_value(json_object_get(doc, "Secret"));
    int rc = -1;

    if (user == NULL || secret == NULL)
        temper_err_set(err, TEMPER_E_PARSE, 0,
                       "credential helper '%s' answered what is not its protocol "
                       "(a JSON object with string Username and Secret)",
                       program);
    else if (strcmp(user, "<token>") == 0)
        temper_err_set(err, TEMPER_E_AUTH, 0,
                       "credential helper '%s' answered an identity token, which temper cannot "
                       "exchange; give a username and password (--username, --password-stdin)",
                       program);
    else if (strlen(user) > REGISTRY_CREDENTIAL_MAX_BYTES ||
             strlen(secret) > REGISTRY_CREDENTIAL_MAX_BYTES)
        temper_err_set(err, TEMPER_E_LIMIT, 0,
                       "credential helper '%s' answered a username or secret over %d bytes",
                       program, REGISTRY_CREDENTIAL_MAX_BYTES);
    else {
        *username = xstrdup(user);
        *password = xstrdup(secret);
        rc = 1;
    }
    if (secret != NULL)
        OPENSSL_cleanse((char *)secret, strlen(secret));
    json_decref(doc);
    return rc;
}

int
registry_credential_helper(const char *name, const char *server, char **username, char **password,
                           struct temper_err *err)
{
    char program[sizeof("docker-credential-") + HELPER_NAME_MAX], said[200];
    char *argv[] = {program, "get", NULL};
    int in[2] = {-1, -1}, out[2] = {-1, -1}, status = 0, rc = -1, spawned;
    cleanup_free char *buf = NULL;
    posix_spawn_file_actions_t actions;
    const char *why = NULL;
    size_t len = 0;
    pid_t pid;

    if (!valid_name(name))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "credential helper name '%s' is not a program name (letters, "
                              "digits, '.', '_', '-')",
                              name);
    snprintf(program, sizeof(program), "docker-credential-%s", name);
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        temper_err_sys(err, TEMPER_E_IO, errno, "cannot run credential helper '%s'", program);
        goto out;
    }
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    spawned = posix_spawnp(&pid, program, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]), close(out[1]);
    in[0] = out[1] = -1;
    if (spawned != 0) {
        temper_err_sys(err, TEMPER_E_IO, spawned, "cannot run credential helper '%s'%s", program,
                       spawned == ENOENT ? " (not on PATH: install it, or take it out of the "
                                           "auth file)"
                                         : "");
        goto out;
    }
    send_server(in[1], server);
    in[1] = -1;
    buf = xmalloc(HELPER_OUTPUT_MAX + 1);
    if (read_answer(out[0], buf, &len, &why) < 0)
        kill(pid, SIGKILL);
    reap(pid, registry_now_ms() + 1000, &status); /* a helper that closed its output ends soon */
    if (why != NULL)
        temper_err_set(err, TEMPER_E_AUTH, 0, "credential helper '%s' %s", program, why);
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        rc = parse_answer(program, buf, len, username, password, err);
    else if (memmem(buf, len, NOT_FOUND, strlen(NOT_FOUND)) != NULL)
        rc = 0;
    else {
        first_line(buf, len, said, sizeof(said));
        temper_err_set(err, TEMPER_E_AUTH, 0, "credential helper '%s' failed (%s %d)%s%s", program,
                       WIFEXITED(status) ? "exit status" : "signal",
                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                       said[0] ? ": " : "", said);
    }
out:
    if (buf != NULL)
        OPENSSL_cleanse(buf, HELPER_OUTPUT_MAX + 1);
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    return rc;
}
