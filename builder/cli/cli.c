/*
 * What every temper program shares: printing errors, common arguments, and
 * the dispatch from `temper <command>` to a command.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/escape.h"
#include "base/xalloc.h"
#include "cli.h"

#ifndef TEMPER_VERSION
#define TEMPER_VERSION "0.0.0"
#endif

/* A byte that stands for itself in every escape: printable ASCII but backslash and quote. */
static bool
is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '\\' && c != '"';
}

void
cli_put(FILE *out, const char *s, unsigned flags)
{
    size_t len = strlen(s), run = 0;

    /* Runs of plain bytes go out as they are: a whole system's paths stay one fwrite each. */
    for (size_t i = 0; i < len;) {
        char e[ESCAPE_CHAR_MAX];

        if (is_plain((unsigned char)s[i])) {
            i++;
            continue;
        }
        fwrite(s + run, 1, i - run, out);
        i += escape_char(s + i, len - i, flags, e);
        fputs(e, out);
        run = i;
    }
    fwrite(s + run, 1, len - run, out);
}

static void __attribute__((format(printf, 2, 0)))
put_formatted(FILE *out, const char *fmt, va_list ap)
{
    char small[1024];
    cleanup_free char *big = NULL;
    va_list again;
    int n;

    va_copy(again, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n >= (int)sizeof(small)) {
        big = xmalloc((size_t)n + 1);
        vsnprintf(big, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    if (n >= 0)
        cli_put(out, big != NULL ? big : small, 0);
}

void
cli_text(FILE *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    put_formatted(out, fmt, ap);
    va_end(ap);
}

void
cli_line(FILE *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    put_formatted(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

int
cli_error(const struct temper_err *err)
{
    cli_line(stderr, "temper: %s", err->msg);
    return err->code == TEMPER_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
}

int
cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;

    cli_text(stderr, "temper %s: ", command);
    va_start(ap, fmt);
    put_formatted(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cli_line(stderr, "see 'temper %s --help'", command);
    return CLI_EXIT_USAGE;
}

unsigned
cli_online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (unsigned)n : 1;
}

int
cli_parse_jobs(const char *s, unsigned *out)
{
    char *end;
    unsigned long n;

    errno = 0;
    n = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < 1 || n > 64)
        return -1;
    *out = (unsigned)n;
    return 0;
}

void
cli_split_layout(char *arg, const char **layout, const char **tag)
{
    char *colon;

    if (strncmp(arg, CLI_OCI_TRANSPORT, strlen(CLI_OCI_TRANSPORT)) == 0)
        arg += strlen(CLI_OCI_TRANSPORT);
    colon = strrchr(arg, ':');

    *layout = arg;
    *tag = NULL;
    if (colon != NULL && colon != arg && strchr(colon, '/') == NULL) {
        *colon = '\0';
        *tag = colon + 1;
    }
}

void
cli_human_bytes(char *out, size_t size, uint64_t n)
{
    if (n >= 1000 * 1000)
        snprintf(out, size, "%.1f MB", (double)n / 1e6);
    else if (n >= 1000)
        snprintf(out, size, "%.1f kB", (double)n / 1e3);
    else
        snprintf(out, size, "%llu bytes", (unsigned long long)n);
}

const char *
cli_registry_arg(const char *arg)
{
    return strncmp(arg, CLI_DOCKER_TRANSPORT, strlen(CLI_DOCKER_TRANSPORT)) == 0
               ? arg + strlen(CLI_DOCKER_TRANSPORT)
               : arg;
}

char *
cli_key_password(void)
{
    char *password = getenv("TEMPER_KEY_PASSWORD");

    return password != NULL && password[0] != '\0' ? password : NULL;
}

void
cli_forget_password(char *password)
{
    if (password != NULL)
        explicit_bzero(password, strlen(password));
}

static void
usage(FILE *out, const struct cli_command *commands, size_t n)
{
    fprintf(out, "usage: temper <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'temper help <command>' or 'temper <command> --help' describes one command.\n");
}

int
cli_main(int argc, char **argv, const struct cli_command *commands, size_t n)
{
    if (argc < 2) {
        usage(stderr, commands, n);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 && argc > 2) {
        /* git's convention: `temper help build` is `temper build --help` */
        char flag[] = "--help";
        char *args[] = {argv[2], flag, NULL};

        for (size_t i = 0; i < n; i++)
            if (strcmp(argv[2], commands[i].name) == 0)
                return commands[i].run(2, args);
        cli_line(stderr, "temper: '%s' is not a temper command; see 'temper --help'", argv[2]);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout, commands, n);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("temper %s\n", TEMPER_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            int rc = commands[i].run(argc - 1, argv + 1);

            if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("temper: writing standard output");
                return CLI_EXIT_FAILURE;
            }
            return rc;
        }
    }
    cli_line(stderr, "temper: '%s' is not a temper command; see 'temper --help'", argv[1]);
    return CLI_EXIT_USAGE;
}
