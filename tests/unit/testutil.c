#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char testutil_dir[4096];

void
testutil_setup(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(testutil_dir, sizeof(testutil_dir), "%s/temper-test-XXXXXX", tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(testutil_dir));
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
testutil_teardown(void)
{
    nftw(testutil_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
testutil_path(const char *rel)
{
    static char buf[8192];

    snprintf(buf, sizeof(buf), "%s/%s", testutil_dir, rel[0] == '/' ? rel + 1 : rel);
    return buf;
}

static void
make_parents(const char *rel)
{
    char buf[8192];

    snprintf(buf, sizeof(buf), "%s", testutil_path(rel));
    for (char *p = buf + strlen(testutil_dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            ck_abort_msg("mkdir %s: %s", buf, strerror(errno));
        *p = '/';
    }
}

void
testutil_mkdir(const char *rel)
{
    make_parents(rel);
    if (mkdir(testutil_path(rel), 0755) < 0 && errno != EEXIST)
        ck_abort_msg("mkdir %s: %s", rel, strerror(errno));
}

void
testutil_write(const char *rel, const void *data, size_t len)
{
    FILE *f;

    make_parents(rel);
    f = fopen(testutil_path(rel), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

void
testutil_symlink(const char *target, const char *rel)
{
    make_parents(rel);
    if (symlink(target, testutil_path(rel)) < 0)
        ck_abort_msg("symlink %s: %s", rel, strerror(errno));
}

void
testutil_read(const char *host_path, char **out, size_t *len)
{
    FILE *f = fopen(host_path, "rb");
    char *buf;
    long size;

    ck_assert_msg(f != NULL, "open %s: %s", host_path, strerror(errno));
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    ck_assert_int_ge(size, 0);
    rewind(f);
    buf = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *out = buf;
    *len = (size_t)size;
}

void
testutil_copy(const char *host_path, const char *rel)
{
    char *buf;
    size_t len;

    testutil_read(host_path, &buf, &len);
    testutil_write(rel, buf, len);
    free(buf);
}

int
testutil_run(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
