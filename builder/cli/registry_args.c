/*
 * What every command that speaks to a registry takes (push, verify, diff,
 * build --expect): --username with --password-stdin, --ca-file,
 * --plain-http, --insecure; and where the credentials come from when no
 * --username is given: TEMPER_REGISTRY_USERNAME and
 * TEMPER_REGISTRY_PASSWORD, else the docker config. Every copy of a
 * password is wiped once the client holds its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/limits.h"
#include "base/xalloc.h"
#include "cli.h"
#include "registry/registry_client.h"

bool
cli_registry_option(int opt, const char *arg, struct registry_args *a)
{
    switch (opt) {
    case CLI_OPT_USERNAME:
        a->username = arg;
        return true;
    case CLI_OPT_PASSWORD_STDIN:
        a->password_stdin = true;
        return true;
    case CLI_OPT_CA_FILE:
        a->ca_file = arg;
        return true;
    case CLI_OPT_PLAIN_HTTP:
        a->plain_http = true;
        return true;
    case CLI_OPT_INSECURE:
        a->insecure = true;
        return true;
    case CLI_OPT_STALL_TIMEOUT:
        a->stall_timeout = arg;
        return true;
    case CLI_OPT_TIMEOUT:
        a->timeout = arg;
        return true;
    default:
        return false;
    }
}

/*
 * One line of standard input (the password), without its newline; NULL when there is none or
 * it is too long. Read with read(2), byte by byte, so that no stdio buffer keeps a copy.
 */
static char *
read_password_line(void)
{
    char *buf = xcalloc(1, REGISTRY_CREDENTIAL_MAX_BYTES + 1);
    size_t n = 0;
    bool over = false;

    for (;;) {
        char ch;
        ssize_t got = read(STDIN_FILENO, &ch, 1);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || ch == '\n')
            break;
        if (n == REGISTRY_CREDENTIAL_MAX_BYTES) {
            over = true; /* stop: endless input (a device, a pipe) must not hang the read */
            break;
        }
        buf[n++] = ch;
        ch = 0;
    }
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0 || over) {
        OPENSSL_cleanse(buf, REGISTRY_CREDENTIAL_MAX_BYTES + 1);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Whole seconds, 1 to max. */
static int
parse_seconds(const char *text, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

static bool
is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/*
 * Where credentials are looked for, in containers-auth.json(5)'s order, as podman and skopeo
 * read them: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json (what `podman
 * login` writes); then $XDG_CONFIG_HOME/containers/auth.json (~/.config/...); then docker's
 * $DOCKER_CONFIG/config.json, else ~/.docker/config.json. The first file with an entry for the
 * registry wins.
 */
static void
auth_file_paths(char *out[4])
{
    const char *auth = getenv("REGISTRY_AUTH_FILE"), *run = getenv("XDG_RUNTIME_DIR");
    const char *config = getenv("XDG_CONFIG_HOME"), *docker = getenv("DOCKER_CONFIG");
    const char *home = getenv("HOME");
    size_t n = 0;

    if (is_set(auth))
        out[n++] = xstrdup(auth);
    else if (is_set(run))
        out[n++] = xasprintf("%s/containers/auth.json", run);
    if (is_set(config))
        out[n++] = xasprintf("%s/containers/auth.json", config);
    else if (is_set(home))
        out[n++] = xasprintf("%s/.config/containers/auth.json", home);
    if (is_set(docker))
        out[n++] = xasprintf("%s/config.json", docker);
    else if (is_set(home))
        out[n++] = xasprintf("%s/.docker/config.json", home);
    out[n] = NULL;
}

int
cli_registry_login(const char *command, const struct registry_args *a,
                   struct registry_options *opts, struct registry_login *login)
{
    const char *env_user = getenv("TEMPER_REGISTRY_USERNAME");
    long stall_s = 0, timeout_s = 0;

    *login = (struct registry_login){0};
    *opts = (struct registry_options){0};
    if ((a->username != NULL) != a->password_stdin)
        return cli_usage_error(command, "--username and --password-stdin go together");
    if (a->stall_timeout != NULL && parse_seconds(a->stall_timeout, 3600, &stall_s) < 0)
        return cli_usage_error(command, "--stall-timeout '%s': whole seconds, 1 to 3600",
                               a->stall_timeout);
    if (a->timeout != NULL && parse_seconds(a->timeout, 86400, &timeout_s) < 0)
        return cli_usage_error(command, "--timeout '%s': whole seconds, 1 to 86400", a->timeout);
    if (a->username != NULL) {
        login->password = read_password_line();
        if (login->password == NULL)
            return cli_usage_error(command,
                                   "--password-stdin: no password on standard input "
                                   "(one line, at most %d bytes)",
                                   REGISTRY_CREDENTIAL_MAX_BYTES);
        opts->username = a->username;
        opts->password = login->password;
    } else if (env_user != NULL && env_user[0] != '\0') {
        login->env_password = getenv("TEMPER_REGISTRY_PASSWORD");
        opts->username = env_user;
        opts->password = login->env_password != NULL ? login->env_password : "";
    } else {
        auth_file_paths(login->auth_files);
        opts->auth_files = (const char *const *)login->auth_files;
    }
    if (a->insecure)
        fputs("temper: warning: --insecure: the registry's TLS certificate is not verified\n",
              stderr);
    opts->ca_file = a->ca_file;
    opts->plain_http = a->plain_http;
    opts->insecure = a->insecure;
    opts->stall_timeout_ms = stall_s * 1000;
    opts->timeout_ms = timeout_s * 1000;
    return -1;
}

void
cli_registry_logout(struct registry_login *login)
{
    if (login->password != NULL) {
        OPENSSL_cleanse(login->password, strlen(login->password));
        free(login->password);
    }
    if (login->env_password != NULL)
        OPENSSL_cleanse(login->env_password, strlen(login->env_password));
    for (size_t i = 0; login->auth_files[i] != NULL; i++)
        free(login->auth_files[i]);
    *login = (struct registry_login){0};
}
