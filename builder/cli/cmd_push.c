/*
 * temper push [--username U --password-stdin] [--ca-file F] [--plain-http]
 *             [--insecure] [--from REPO]... [--stall-timeout S]
 *             LAYOUT[:TAG] REGISTRY/REPO[:TAG]
 *
 * Pushes an image of a layout, and its signatures, to a registry. The
 * credentials come from --username with the password on standard input,
 * else TEMPER_REGISTRY_USERNAME and TEMPER_REGISTRY_PASSWORD, else the
 * docker config; each copy is wiped once the client holds its own.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "cli.h"
#include "oci/oci_layout.h"
#include "registry/registry_client.h"

static const char push_usage[] =
    "usage: temper push [--username U --password-stdin] [--ca-file F] [--plain-http]\n"
    "                   [--insecure] [--from REPO]... [--stall-timeout S]\n"
    "                   LAYOUT[:TAG] REGISTRY/REPO[:TAG]\n"
    "\n"
    "Pushes the image tagged TAG of the layout (default: its only image), and its signatures\n"
    "(the tag sha256-<digest>.sig, merged with those the registry has), to REGISTRY/REPO under\n"
    "TAG (default: by digest). Prints the manifest digest.\n"
    "\n"
    "  --username U        log in as U; the password is read from the first line of stdin\n"
    "  --password-stdin    (required with --username)\n"
    "  --ca-file F         trust the CA certificates in F as well as the system's\n"
    "  --plain-http        speak plain HTTP to a registry that is not on loopback\n"
    "  --insecure          do not verify the registry's TLS certificate\n"
    "  --from REPO         a repository of the same registry that may hold some of the\n"
    "                      blobs: they are mounted from it instead of uploaded (repeatable,\n"
    "                      tried in order; a blob it lacks is uploaded as usual)\n"
    "  --stall-timeout S   fail a request (then try it again) when no byte moved for S\n"
    "                      seconds (default 30)\n"
    "\n"
    "Without --username: TEMPER_REGISTRY_USERNAME and TEMPER_REGISTRY_PASSWORD, else the\n"
    "`auths` of $DOCKER_CONFIG/config.json or ~/.docker/config.json.\n";

struct push_args {
    const char *username;
    bool password_stdin;
    const char *ca_file;
    bool plain_http;
    bool insecure;
    char *layout_arg;
    const char *target;
    const char *mount_from[REGISTRY_MOUNT_FROM_MAX];
    size_t mount_from_count;
    long stall_timeout_s;
};

/* Whole seconds, 1 to 3600. */
static int
parse_seconds(const char *text, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > 3600)
        return -1;
    *out = v;
    return 0;
}

static int
parse_args(int argc, char **argv, struct push_args *a)
{
    static const struct option options[] = {
        {"username", required_argument, NULL, 'u'},
        {"password-stdin", no_argument, NULL, 'p'},
        {"ca-file", required_argument, NULL, 'c'},
        {"plain-http", no_argument, NULL, 'P'},
        {"insecure", no_argument, NULL, 'k'},
        {"from", required_argument, NULL, 'f'},
        {"stall-timeout", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'u':
            a->username = optarg;
            break;
        case 'p':
            a->password_stdin = true;
            break;
        case 'c':
            a->ca_file = optarg;
            break;
        case 'P':
            a->plain_http = true;
            break;
        case 'k':
            a->insecure = true;
            break;
        case 'f':
            if (a->mount_from_count == REGISTRY_MOUNT_FROM_MAX)
                return cli_usage_error("push", "--from: at most %d repositories",
                                       REGISTRY_MOUNT_FROM_MAX);
            a->mount_from[a->mount_from_count++] = optarg;
            break;
        case 's':
            if (parse_seconds(optarg, &a->stall_timeout_s) < 0)
                return cli_usage_error("push", "--stall-timeout '%s': whole seconds, 1 to 3600",
                                       optarg);
            break;
        case 'h':
            fputs(push_usage, stdout);
            return 1;
        default:
            return cli_usage_error("push", "bad option");
        }
    }
    if ((a->username != NULL) != a->password_stdin)
        return cli_usage_error("push", "--username and --password-stdin go together");
    if (argc - optind != 2)
        return cli_usage_error("push", "LAYOUT[:TAG] and REGISTRY/REPO[:TAG] are required");
    a->layout_arg = argv[optind];
    a->target = argv[optind + 1];
    return 0;
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

static void
wipe(char *s)
{
    if (s != NULL)
        OPENSSL_cleanse(s, strlen(s));
}

/* $DOCKER_CONFIG/config.json, else ~/.docker/config.json, else NULL. Owned. */
static char *
docker_config_path(void)
{
    const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");

    if (dir != NULL && dir[0] != '\0')
        return xasprintf("%s/config.json", dir);
    if (home != NULL && home[0] != '\0')
        return xasprintf("%s/.docker/config.json", home);
    return NULL;
}

/* A progress line on a terminal, rewritten at most every 1% and at the end of each blob. */
static void
show_progress(void *arg, const char *digest, uint64_t sent, uint64_t total)
{
    unsigned *last = arg;
    unsigned pct = total ? (unsigned)(sent * 100 / total) : 100;

    if (pct == *last && sent != total)
        return;
    *last = pct;
    fprintf(stderr, "\rtemper: uploading %.19s %3u%% of %llu bytes", digest, pct,
            (unsigned long long)total);
    if (sent == total)
        fputc('\n', stderr);
}

static int
push(const struct push_args *a, const struct registry_options *opts)
{
    struct registry_ref ref = {0};
    struct registry_client *client = NULL;
    struct oci_layout *layout = NULL;
    struct registry_push_stats stats = {0};
    struct oci_descriptor desc;
    struct temper_err err;
    const char *dir, *tag;
    int rc;

    if (registry_ref_parse(a->target, &ref, &err) < 0)
        return cli_usage_error("push", "%s", err.msg);
    cli_split_layout(a->layout_arg, &dir, &tag);
    if (tag != NULL && oci_tag_is_signature(tag)) {
        registry_ref_release(&ref);
        return cli_usage_error("push", "'%s' holds signatures; name the image's own tag", tag);
    }
    rc = oci_layout_open(dir, false, &layout, &err);
    if (rc == 0)
        rc = oci_layout_find_tag(layout, tag, &desc, &err);
    if (rc == 0)
        rc = registry_client_new(&ref, opts, &client, &err);
    if (rc == 0)
        rc = registry_push(client, layout, &desc, &stats, &err);
    registry_client_free(client);
    oci_layout_free(layout);
    if (rc < 0) {
        registry_ref_release(&ref);
        return cli_error(&err);
    }
    fprintf(stderr,
            "temper: pushed %s to %s/%s%s%s: %zu blobs, %zu uploaded (%llu bytes), %zu "
            "mounted, %zu already present\n",
            desc.digest, ref.registry, ref.repository, ref.tag ? ":" : "", ref.tag ? ref.tag : "",
            stats.blobs, stats.blobs_uploaded, (unsigned long long)stats.bytes_uploaded,
            stats.blobs_mounted, stats.blobs - stats.blobs_uploaded - stats.blobs_mounted);
    printf("%s\n", desc.digest);
    registry_ref_release(&ref);
    return CLI_EXIT_OK;
}

int
cmd_push(int argc, char **argv)
{
    struct push_args a = {0};
    struct registry_options opts = {0};
    cleanup_free char *config = NULL;
    char *password = NULL, *env_password = NULL;
    const char *env_user = getenv("TEMPER_REGISTRY_USERNAME");
    unsigned last_pct = 101;
    int rc = parse_args(argc, argv, &a);

    if (rc != 0)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (a.username != NULL) {
        password = read_password_line();
        if (password == NULL)
            return cli_usage_error("push",
                                   "--password-stdin: no password on standard input "
                                   "(one line, at most %d bytes)",
                                   REGISTRY_CREDENTIAL_MAX_BYTES);
        opts.username = a.username;
        opts.password = password;
    } else if (env_user != NULL && env_user[0] != '\0') {
        env_password = getenv("TEMPER_REGISTRY_PASSWORD");
        opts.username = env_user;
        opts.password = env_password != NULL ? env_password : "";
    } else {
        config = docker_config_path();
        opts.docker_config = config;
    }
    if (a.insecure)
        fputs("temper: warning: --insecure: the registry's TLS certificate is not verified\n",
              stderr);
    opts.ca_file = a.ca_file;
    opts.plain_http = a.plain_http;
    opts.insecure = a.insecure;
    opts.mount_from = a.mount_from;
    opts.mount_from_count = a.mount_from_count;
    opts.stall_timeout_ms = a.stall_timeout_s * 1000;
    if (isatty(STDERR_FILENO)) {
        opts.progress = show_progress;
        opts.progress_arg = &last_pct;
    }
    rc = push(&a, &opts);
    if (password != NULL) {
        wipe(password);
        free(password);
    }
    wipe(env_password);
    return rc;
}
