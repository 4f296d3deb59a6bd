/* Unit tests of the base module: errors, the escape of untrusted text, the string map, paths
 * inside a root. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/escape.h"
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

START_TEST(test_escape_str_shows_every_byte_one_way)
{
    static const struct {
        const char *in;
        size_t len;
        const char *shown;
    } cases[] = {
        {"usr/lib/libc.so.6", 17, "usr/lib/libc.so.6"},
        {"a\\nb", 4, "a\\\\nb"}, /* a backslash and an n ... */
        {"a\nb", 3, "a\\nb"},    /* ... and a newline look different */
        {"\t\r", 2, "\\t\\r"},
        {"\x1b]0;t\x07", 6, "\\x1b]0;t\\x07"},
        {"\x1b[2J\x7f", 5, "\\x1b[2J\\x7f"},
        {"a\0b", 3, "a\\x00b"},
        {"caf\xc3\xa9 \xf0\x9f\x98\x80", 10, "caf\xc3\xa9 \xf0\x9f\x98\x80"}, /* UTF-8 stays */
        {"\xc2\x85\xc2\x9b", 4, "\\u0085\\u009b"},                            /* C1 */
        {"\xd8\x9c\xe2\x80\x8e\xe2\x80\x8f", 8, "\\u061c\\u200e\\u200f"},
        {"\xe2\x80\xaa\xe2\x80\xae", 6, "\\u202a\\u202e"},
        {"\xe2\x81\xa6\xe2\x81\xa9", 6, "\\u2066\\u2069"},
        {"\xe2\x80\xa8\xe2\x80\xa9", 6, "\\u2028\\u2029"},
        {"\xe2\x80\xad\xe2\x80\xaf", 6, "\\u202d\xe2\x80\xaf"}, /* U+202F is a space */
        {"\x85", 1, "\\x85"},                                   /* a byte, not U+0085 */
        {"\xff\xfe", 2, "\\xff\\xfe"},                          /* never UTF-8 */
        {"\xc3", 1, "\\xc3"},                                   /* a character cut short */
        {"\xe2\x80", 2, "\\xe2\\x80"},                          /* ... */
        {"\xc0\xaf", 2, "\\xc0\\xaf"},                          /* overlong '/' */
        {"\xed\xa0\x80", 3, "\\xed\\xa0\\x80"},                 /* a surrogate */
        {"\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80"},        /* over U+10FFFF */
    };
    char out[128];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(escape_str(cases[i].in, cases[i].len, 0, out, sizeof(out)),
                         cases[i].shown);
    ck_assert_str_eq(escape_str("say \"\\\"", 7, ESCAPE_QUOTE, out, sizeof(out)),
                     "say \\\"\\\\\\\"");
    ck_assert_str_eq(escape_str("say \"hi\"", 8, 0, out, sizeof(out)), "say \"hi\"");
    /* text already escaped: backslashes kept, anything a terminal acts on still escaped */
    ck_assert_str_eq(
        escape_str("a\\nb\x1b\xe2\x80\xae", 8, ESCAPE_KEEP_BACKSLASH, out, sizeof(out)),
        "a\\nb\\x1b\\u202e");
}
END_TEST

/* Reads an escape back; returns its length, or -1 when `shown` is not one escape_str writes. */
static long
unescape(const char *shown, char *out)
{
    static const char hex[] = "0123456789abcdef";
    long n = 0;

    for (const char *p = shown; *p != '\0';) {
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        p++;
        if (*p == '\\' || *p == 'n' || *p == 't' || *p == 'r') {
            out[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : '\\';
            p++;
        } else if (*p == 'x' && p[1] && p[2] && strchr(hex, p[1]) && strchr(hex, p[2])) {
            out[n++] = (char)((strchr(hex, p[1]) - hex) << 4 | (strchr(hex, p[2]) - hex));
            p += 3;
        } else if (*p == 'u' && strspn(p + 1, hex) >= 4) {
            unsigned long cp = strtoul((char[]){p[1], p[2], p[3], p[4], '\0'}, NULL, 16);

            if (cp < 0x800) {
                out[n++] = (char)(0xc0 | cp >> 6);
            } else {
                out[n++] = (char)(0xe0 | cp >> 12);
                out[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
            }
            out[n++] = (char)(0x80 | (cp & 0x3f));
            p += 5;
        } else {
            return -1;
        }
    }
    return n;
}

/* Random bytes, heavy on the ones that matter: the escape is safe to show and reads back. */
START_TEST(test_escape_str_is_safe_and_reads_back)
{
    static const unsigned char pool[] = {'a',  '/',  '\\', 'n',  'x',  'u',  '"',  '\n', '\t',
                                         0x1b, 0x00, 0x7f, 0x80, 0x85, 0x9b, 0xc2, 0xc3, 0xa9,
                                         0xd8, 0x9c, 0xe2, 0x80, 0x81, 0xa6, 0xae, 0xa8, 0xed,
                                         0xa0, 0xf0, 0x9f, 0x98, 0xf4, 0x90, 0xff};
    unsigned seed = 17;

    for (int round = 0; round < 20000; round++) {
        char in[24], out[ESCAPE_SIZE(sizeof(in))], back[sizeof(in)];
        size_t len;

        seed = seed * 1103515245u + 12345u;
        len = (seed >> 16) % sizeof(in);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = (char)pool[(seed >> 16) % sizeof(pool)];
        }
        escape_str(in, len, 0, out, sizeof(out));
        for (const unsigned char *p = (const unsigned char *)out; *p != '\0'; p++)
            ck_assert_msg(*p >= 0x20 && *p != 0x7f, "control byte %#x in '%s'", *p, out);
        /* valid UTF-8 with nothing hidden: escaping it again changes only backslashes */
        {
            char again[ESCAPE_SIZE(sizeof(out))];

            ck_assert_str_eq(
                escape_str(out, strlen(out), ESCAPE_KEEP_BACKSLASH, again, sizeof(again)), out);
        }
        ck_assert_int_eq(unescape(out, back), (long)len);
        ck_assert_msg(memcmp(back, in, len) == 0, "'%s' does not read back", out);
    }
}
END_TEST

START_TEST(test_escape_str_cuts_between_escapes)
{
    char out[10];

    ck_assert_str_eq(escape_str("\x1b\x1b\x1b", 3, 0, out, sizeof(out)), "\\x1b...");
    ck_assert_str_eq(escape_str("abcdefghi", 9, 0, out, sizeof(out)), "abcdefghi");
    ck_assert_str_eq(escape_str("abcdefghij", 10, 0, out, sizeof(out)), "abcdef...");
    ck_assert_str_eq(
        escape_str("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10, 0, out, sizeof(out)),
        "\xc3\xa9\xc3\xa9\xc3\xa9...");
    ck_assert_str_eq(escape_str("ab\xe2\x80\xae", 5, 0, out, sizeof(out)), "ab\\u202e");
    ck_assert_str_eq(escape_str("abcd\xe2\x80\xae", 7, 0, out, sizeof(out)), "abcd...");
}
END_TEST

START_TEST(test_utf8_cut_keeps_whole_characters)
{
    ck_assert_uint_eq(utf8_cut("abc", 3), 3);
    ck_assert_uint_eq(utf8_cut("abc\xe2\x80", 5), 3);
    ck_assert_uint_eq(utf8_cut("abc\xe2\x80\xae", 6), 6);
    ck_assert_uint_eq(utf8_cut("ab\xf0\x9f\x98", 5), 2);
    ck_assert_uint_eq(utf8_cut("ab\xc3", 3), 2);
    ck_assert_uint_eq(utf8_cut("\x80\x80\x80\x80", 4), 4); /* no character to keep whole */
    ck_assert_uint_eq(utf8_cut("", 0), 0);
}
END_TEST

START_TEST(test_temper_printable_keeps_bytes_and_cuts_whole_characters)
{
    char out[8];

    /* bytes kept: cli escapes the message, so "a\nb" and "a?b" stay apart */
    ck_assert_str_eq(temper_printable("a\nb\x1b", out, sizeof(out)), "a\nb\x1b");
    ck_assert_str_eq(temper_printable("a?b", out, sizeof(out)), "a?b");
    ck_assert_str_eq(temper_printable("abcdefgh", out, sizeof(out)), "abcd...");
    ck_assert_str_eq(temper_printable("ab\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae", out, sizeof(out)),
                     "ab...");
}
END_TEST

/* A message longer than the buffer ends in "..." after a whole character, and nothing follows. */
START_TEST(test_temper_err_cut_ends_after_a_whole_character)
{
    struct temper_err err;
    char name[2000];
    size_t len;

    for (size_t i = 0; i + 3 < sizeof(name); i += 3)
        memcpy(name + i, "\xe2\x80\xae", 3); /* the cut falls inside one at some offset */
    name[sizeof(name) - 2] = '\0';
    for (int lead = 0; lead < 3; lead++) {
        temper_err_sys(&err, TEMPER_E_IO, ENOENT, "%.*scannot open '%s'", lead, "xx", name);
        len = strlen(err.msg);
        ck_assert_uint_lt(len, sizeof(err.msg));
        ck_assert_str_eq(err.msg + len - 3, "...");
        ck_assert_uint_eq(utf8_cut(err.msg, len - 3), len - 3);
        ck_assert_ptr_null(strstr(err.msg, "No such file"));
        temper_err_set(&err, TEMPER_E_IO, 0, "short");
        temper_err_prefix(&err, "%.*s%s", lead, "xx", name);
        len = strlen(err.msg);
        ck_assert_str_eq(err.msg + len - 3, "...");
        ck_assert_uint_eq(utf8_cut(err.msg, len - 3), len - 3);
        ck_assert_ptr_null(strstr(err.msg, "short"));
    }
    /* a prefix that fits, before a message cut earlier: the cut stays at the end */
    temper_err_set(&err, TEMPER_E_IO, 0, "%s", name);
    temper_err_prefix(&err, "layout '%s'", "x");
    ck_assert_str_eq(err.msg + strlen(err.msg) - 3, "...");
    ck_assert_ptr_nonnull(strstr(err.msg, "layout 'x': "));
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
    tcase_add_test(tc, test_temper_err_cut_ends_after_a_whole_character);
    tcase_add_test(tc, test_temper_printable_keeps_bytes_and_cuts_whole_characters);
    suite_add_tcase(s, tc);

    tc = tcase_create("escape_str");
    tcase_add_test(tc, test_escape_str_shows_every_byte_one_way);
    tcase_add_test(tc, test_escape_str_is_safe_and_reads_back);
    tcase_add_test(tc, test_escape_str_cuts_between_escapes);
    tcase_add_test(tc, test_utf8_cut_keeps_whole_characters);
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
