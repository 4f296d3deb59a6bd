/*
 * libFuzzer target for ld_conf_parse: any text, parsed as one ld.so.conf
 * file, must give a list of absolute, distinct directories or TEMPER_E_PARSE /
 * TEMPER_E_LIMIT, never a crash, an out-of-bounds read or a leak. The input is
 * not NUL-terminated, so a read past `len` is caught by ASan.
 *
 * Each input is parsed twice: against "/etc/ld.so.conf.d", and against a
 * configuration directory just short of TEMPER_PATH_MAX, so that relative
 * `include` lines reach the "include path too long" limit.
 *
 * Seeds: fuzz/corpus/ldconf, made by fuzz/make-corpus.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "elf/elf-internal.h"
#include "elf/elf_resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATTERN_MAX 4096

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_ldconf: %s\n", what);
    abort();
}

struct include_count {
    size_t n;
};

static int
on_include(void *ctx, const char *pattern, struct temper_err *err)
{
    struct include_count *count = ctx;

    (void)err;
    if (pattern == NULL || strnlen(pattern, PATTERN_MAX) >= PATTERN_MAX)
        fail("include pattern unterminated or longer than 4096 bytes");
    if (pattern[0] != '/')
        fail("include pattern is not absolute");
    count->n++;
    return 0;
}

static void
check_dirs(const struct ld_dirs *dirs)
{
    if (dirs->count > LDCONF_MAX_DIRS)
        fail("more directories than LDCONF_MAX_DIRS");
    for (size_t i = 0; i < dirs->count; i++) {
        const char *d = dirs->dirs[i];
        size_t len = strnlen(d, TEMPER_PATH_MAX);

        if (len >= TEMPER_PATH_MAX)
            fail("directory unterminated or too long");
        if (d[0] != '/')
            fail("relative directory listed");
        if (len > 1 && d[len - 1] == '/')
            fail("trailing slash kept");
        if (strchr(d, '#') != NULL || strchr(d, '\n') != NULL)
            fail("comment or newline kept in a directory");
        /* Quadratic, but dirs->count is bounded by the input's line count. */
        for (size_t j = 0; j < i; j++) {
            if (strcmp(dirs->dirs[j], d) == 0)
                fail("directory listed twice");
        }
    }
}

static void
parse_once(const char *text, size_t len, const char *conf_dir)
{
    struct ld_dirs dirs = {0};
    struct temper_err err = {0};
    struct include_count count = {0};
    int rc;

    rc = ld_conf_parse(text, len, "fuzz.conf", conf_dir, &dirs, on_include, &count, &err);
    if (rc == -1) {
        if (err.code != TEMPER_E_PARSE && err.code != TEMPER_E_LIMIT)
            fail("failure with an unexpected error code");
        if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL || err.msg[0] == '\0')
            fail("failure without a message");
    } else if (rc != 0) {
        fail("ld_conf_parse returned neither 0 nor -1");
    }
    check_dirs(&dirs);
    ld_dirs_release(&dirs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char long_dir[TEMPER_PATH_MAX - 8];

    if (long_dir[0] == '\0') {
        memset(long_dir, 'd', sizeof(long_dir) - 1);
        for (size_t i = 0; i < sizeof(long_dir) - 1; i += 64)
            long_dir[i] = '/';
    }
    parse_once((const char *)data, size, "/etc/ld.so.conf.d");
    parse_once((const char *)data, size, long_dir);
    return 0;
}
