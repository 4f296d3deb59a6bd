/* Unit tests of the base module: errors, the string map, paths inside a root. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/limits.h"
#include "base/strmap.h"
#include "testutil.h"

START_TEST(test_temper_err_prefix_puts_context_first)
{
    struct temper_err err;

    ck_assert_int_eq(temper_err_set(&err, TEMPER_E_IO, ENOENT, "cannot open '%s'", "a"), -1);
    ck_assert_int_eq(temper_err_prefix(&err, "recipe '%s'", "r.yaml"), -1);
    ck_assert_str_eq(err.msg, "recipe 'r.yaml': cannot open 'a'");
    ck_assert_int_eq(err.code, TEMPER_E_IO);
    ck_assert_int_eq(err.sys_errno, ENOENT);
}
END_TEST

START_TEST(test_temper_err_sys_appends_strerror)
{
    struct temper_err err;

    temper_err_sys(&err, TEMPER_E_IO, ENOENT, "cannot open '%s'", "x");
    ck_assert_str_eq(err.msg, "cannot open 'x': No such file or directory");
}
END_TEST

START_TEST(test_strmap_keeps_every_key_across_growth)
{
    struct strmap map = STRMAP_INIT;
    char key[32];

    for (long i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "key-%ld", i);
        strmap_put(&map, key, (void *)(i + 1));
    }
    ck_assert_uint_eq(map.count, 5000);
    for (long i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "key-%ld", i);
        ck_assert_ptr_eq(strmap_get(&map, key), (void *)(i + 1));
    }
    ck_assert_ptr_null(strmap_get(&map, "key-5000"));
    ck_assert_ptr_null(strmap_key(&map, "absent"));
    strmap_release(&map, NULL);
}
END_TEST

START_TEST(test_strmap_put_returns_a_stable_interned_key)
{
    struct strmap map = STRMAP_INIT;
    const char *a = strmap_put(&map, "libc.so.6", (void *)1);

    for (int i = 0; i < 1000; i++) {
        char key[16];

        snprintf(key, sizeof(key), "%d", i);
        strmap_put(&map, key, (void *)1);
    }
    ck_assert_ptr_eq(strmap_put(&map, "libc.so.6", (void *)2), a);
    ck_assert_ptr_eq(strmap_get(&map, "libc.so.6"), (void *)2);
    strmap_release(&map, NULL);
}
END_TEST

/* Opens the test directory as a root. */
static struct fs_root *
open_root(void)
{
    struct fs_root *root = NULL;
    struct temper_err err;

    ck_assert_msg(fs_root_open(testutil_dir, &root, &err) == 0, "%s", err.msg);
    return root;
}

START_TEST(test_fs_resolve_records_every_symlink_on_the_way)
{
    struct fs_root *root;
    const struct fs_path *p;
    struct temper_err err;

    testutil_write("usr/lib/x86_64-linux-gnu/ld.so.2", "x", 1);
    testutil_symlink("usr/lib", "lib");
    testutil_mkdir("usr/lib64");
    testutil_symlink("usr/lib64", "lib64");
    testutil_symlink("/lib/x86_64-linux-gnu/ld.so.2", "usr/lib64/ld.so.2");
    root = open_root();
    ck_assert_msg(fs_resolve(root, "/lib64/ld.so.2", &p, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(p->canon, "/usr/lib/x86_64-linux-gnu/ld.so.2");
    ck_assert_int_eq(p->kind, FS_KIND_FILE);
    ck_assert_uint_eq(p->nlinks, 3);
    ck_assert_str_eq(p->links[0], "/lib64");
    ck_assert_str_eq(p->links[1], "/usr/lib64/ld.so.2");
    ck_assert_str_eq(p->links[2], "/lib");
    ck_assert_str_eq(fs_root_link_target(root, "/lib64"), "usr/lib64");
    ck_assert_str_eq(fs_root_link_target(root, "/usr/lib64/ld.so.2"),
                     "/lib/x86_64-linux-gnu/ld.so.2");
    fs_root_free(root);
}
END_TEST

START_TEST(test_fs_resolve_takes_absolute_targets_inside_the_root)
{
    struct fs_root *root;
    const struct fs_path *p;
    struct temper_err err;

    /* /etc/hostname exists on the host, never in this root: the link must not reach it. */
    testutil_symlink("/etc/hostname", "escape");
    testutil_symlink("/etc/inside", "stays");
    testutil_write("etc/inside", "y", 1);
    root = open_root();
    ck_assert_int_eq(fs_resolve(root, "/escape", &p, &err), -1);
    ck_assert_int_eq(err.sys_errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "'/escape'"));
    ck_assert_int_eq(fs_resolve(root, "/stays", &p, &err), 0);
    ck_assert_str_eq(p->canon, "/etc/inside");
    fs_root_free(root);
}
END_TEST

START_TEST(test_fs_resolve_stops_dotdot_at_the_root)
{
    struct fs_root *root;
    const struct fs_path *p;
    struct temper_err err;

    testutil_write("target", "z", 1);
    testutil_symlink("../../../../../../../../target", "a/b/up");
    root = open_root();
    ck_assert_msg(fs_resolve(root, "/a/b/up", &p, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(p->canon, "/target");
    ck_assert_int_eq(fs_resolve(root, "/../../a/../target", &p, &err), 0);
    ck_assert_str_eq(p->canon, "/target");
    fs_root_free(root);
}
END_TEST

START_TEST(test_fs_resolve_ends_symlink_loops_with_eloop)
{
    struct fs_root *root;
    const struct fs_path *p;
    struct temper_err err;

    testutil_symlink("b", "a");
    testutil_symlink("a", "b");
    testutil_symlink("self/x", "self");
    root = open_root();
    ck_assert_int_eq(fs_resolve(root, "/a", &p, &err), -1);
    ck_assert_int_eq(err.sys_errno, ELOOP);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot resolve '/a'"));
    ck_assert_int_eq(fs_resolve(root, "/self/y", &p, &err), -1);
    ck_assert_int_eq(err.sys_errno, ELOOP);
    /* asked again, the same answer: failures are not half-cached */
    ck_assert_int_eq(fs_resolve(root, "/a", &p, &err), -1);
    ck_assert_int_eq(err.sys_errno, ELOOP);
    fs_root_free(root);
}
END_TEST

START_TEST(test_fs_resolve_takes_the_longest_paths_safely)
{
    char target[TEMPER_PATH_MAX];
    struct fs_root *root;
    const struct fs_path *p;
    struct temper_err err;

    /* "/" and 4,094 bytes: the longest path there is room for, as one component. */
    target[0] = '/';
    memset(target + 1, 'a', TEMPER_PATH_MAX - 2);
    target[TEMPER_PATH_MAX - 1] = '\0';
    testutil_symlink(target, "long");
    root = open_root();
    ck_assert_int_eq(fs_resolve(root, "/long", &p, &err), -1);
    ck_assert(err.sys_errno == ENOENT || err.sys_errno == ENAMETOOLONG);
    fs_root_free(root);
}
END_TEST

START_TEST(test_fs_resolve_counts_links_met_through_the_cache)
{
    struct fs_root *root;
    const struct fs_path *p;
    struct temper_err err;
    char link[32], target[64];

    /* /s(k+1) -> /sk/tk and /real/tk -> /sk: resolving /s(k+1) follows twice as many links as
     * /sk, most of them answered by the cache. The kernel's budget of 40 still applies. */
    testutil_mkdir("real");
    testutil_symlink("real", "s0");
    for (int k = 0; k < 12; k++) {
        snprintf(link, sizeof(link), "real/t%d", k);
        snprintf(target, sizeof(target), "/s%d", k);
        testutil_symlink(target, link);
        snprintf(link, sizeof(link), "s%d", k + 1);
        snprintf(target, sizeof(target), "/s%d/t%d", k, k);
        testutil_symlink(target, link);
    }
    root = open_root();
    for (int k = 0; k <= 12; k++) {
        snprintf(link, sizeof(link), "/s%d", k);
        if (fs_resolve(root, link, &p, &err) == 0) {
            ck_assert_str_eq(p->canon, "/real");
            ck_assert_uint_le(p->nlinks, TEMPER_SYMLINK_MAX);
        } else {
            ck_assert_msg(err.sys_errno == ELOOP, "%s", err.msg);
            ck_assert_int_ge(k, 4);
        }
    }
    ck_assert_int_eq(fs_resolve(root, "/s12", &p, &err), -1);
    ck_assert_int_eq(err.sys_errno, ELOOP);
    fs_root_free(root);
}
END_TEST

START_TEST(test_fs_resolve_counts_links_before_a_failure_the_cache_saw)
{
    struct fs_root *root;
    const struct fs_path *p;
    struct temper_err err;
    char link[32], target[32];

    /* /l/0 -> /l/1 -> ... -> /l/39 -> /real: 40 links, the most a walk may follow. Looking up
     * /l/0/missing fails with ENOENT; /a/missing, through one link more, must fail with ELOOP
     * as in the kernel, not with the answer cached for the first. */
    testutil_mkdir("real");
    for (int i = 0; i < 40; i++) {
        snprintf(link, sizeof(link), "l/%d", i);
        if (i == 39)
            snprintf(target, sizeof(target), "/real");
        else
            snprintf(target, sizeof(target), "/l/%d", i + 1);
        testutil_symlink(target, link);
    }
    testutil_symlink("/l/0/missing", "a");
    root = open_root();
    ck_assert_int_eq(fs_resolve(root, "/l/0/missing", &p, &err), -1);
    ck_assert_int_eq(err.sys_errno, ENOENT);
    ck_assert_int_eq(fs_resolve(root, "/a", &p, &err), -1);
    ck_assert_int_eq(err.sys_errno, ELOOP);
    fs_root_free(root);
}
END_TEST

START_TEST(test_fs_resolve_rejects_a_file_used_as_a_directory)
{
    struct fs_root *root;
    const struct fs_path *p;
    struct temper_err err;

    testutil_write("file", "z", 1);
    root = open_root();
    ck_assert_int_eq(fs_resolve(root, "/file/x", &p, &err), -1);
    ck_assert_int_eq(err.sys_errno, ENOTDIR);
    ck_assert_int_eq(fs_resolve(root, "relative", &p, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "'relative'"));
    fs_root_free(root);
}
END_TEST

START_TEST(test_fs_read_file_refuses_files_over_the_cap)
{
    struct fs_root *root;
    const struct fs_path *p;
    struct temper_err err;
    char *text = NULL;
    size_t len;

    testutil_write("etc/big", "0123456789", 10);
    root = open_root();
    ck_assert_int_eq(fs_resolve(root, "/etc/big", &p, &err), 0);
    ck_assert_int_eq(fs_read_file(root, p, 9, &text, &len, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_ptr_nonnull(strstr(err.msg, "'/etc/big'"));
    ck_assert_int_eq(fs_read_file(root, p, 10, &text, &len, &err), 0);
    ck_assert_uint_eq(len, 10);
    ck_assert_str_eq(text, "0123456789");
    free(text);
    fs_root_free(root);
}
END_TEST

START_TEST(test_fs_list_dir_is_sorted_and_capped)
{
    struct fs_root *root;
    const struct fs_path *p;
    struct temper_err err;
    char **names = NULL;

    testutil_write("d/b", "", 0);
    testutil_write("d/a", "", 0);
    testutil_write("d/c", "", 0);
    root = open_root();
    ck_assert_int_eq(fs_resolve(root, "/d", &p, &err), 0);
    ck_assert_int_eq(fs_list_dir(root, p, 3, &names, &err), 0);
    ck_assert_str_eq(names[0], "a");
    ck_assert_str_eq(names[1], "b");
    ck_assert_str_eq(names[2], "c");
    ck_assert_ptr_null(names[3]);
    fs_names_free(names);
    ck_assert_int_eq(fs_list_dir(root, p, 2, &names, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    fs_root_free(root);
}
END_TEST

START_TEST(test_fs_path_join_refuses_overlong_paths)
{
    char out[TEMPER_PATH_MAX];
    char *name = malloc(TEMPER_PATH_MAX);

    ck_assert_int_eq(fs_path_join(out, "/", "lib"), 0);
    ck_assert_str_eq(out, "/lib");
    ck_assert_int_eq(fs_path_join(out, "/usr", "lib"), 0);
    ck_assert_str_eq(out, "/usr/lib");
    memset(name, 'a', TEMPER_PATH_MAX - 1);
    name[TEMPER_PATH_MAX - 1] = '\0';
    ck_assert_int_eq(fs_path_join(out, "/usr", name), -1);
    free(name);
}
END_TEST

static Suite *
base_suite(void)
{
    Suite *s = suite_create("base");
    TCase *tc;

    tc = tcase_create("temper_err");
    tcase_add_test(tc, test_temper_err_prefix_puts_context_first);
    tcase_add_test(tc, test_temper_err_sys_appends_strerror);
    suite_add_tcase(s, tc);

    tc = tcase_create("strmap");
    tcase_add_test(tc, test_strmap_keeps_every_key_across_growth);
    tcase_add_test(tc, test_strmap_put_returns_a_stable_interned_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("fs_resolve");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_fs_resolve_records_every_symlink_on_the_way);
    tcase_add_test(tc, test_fs_resolve_takes_absolute_targets_inside_the_root);
    tcase_add_test(tc, test_fs_resolve_stops_dotdot_at_the_root);
    tcase_add_test(tc, test_fs_resolve_ends_symlink_loops_with_eloop);
    tcase_add_test(tc, test_fs_resolve_rejects_a_file_used_as_a_directory);
    tcase_add_test(tc, test_fs_resolve_takes_the_longest_paths_safely);
    tcase_add_test(tc, test_fs_resolve_counts_links_met_through_the_cache);
    tcase_add_test(tc, test_fs_resolve_counts_links_before_a_failure_the_cache_saw);
    suite_add_tcase(s, tc);

    tc = tcase_create("fs_read_file");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_fs_read_file_refuses_files_over_the_cap);
    suite_add_tcase(s, tc);

    tc = tcase_create("fs_list_dir");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_fs_list_dir_is_sorted_and_capped);
    suite_add_tcase(s, tc);

    tc = tcase_create("fs_path_join");
    tcase_add_test(tc, test_fs_path_join_refuses_overlong_paths);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(base_suite());
}
