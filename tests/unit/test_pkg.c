/*
 * Unit tests of the pkg module.
 *
 * Versions: the vectors of dpkg's own tests (lib/dpkg/t/t-version.c for
 * parseversion and dpkg_version_compare, scripts/t/Dpkg_Version.t for the
 * order), so that temper orders and refuses versions as dpkg does.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "pkg/pkg.h"
#include "testutil.h"

static int
sign(int rc)
{
    return rc < 0 ? -1 : rc > 0;
}

/* ---- pkg_version_compare ---- */

/* scripts/t/Dpkg_Version.t: a, b, and the sign of a cmp b. Some of them ("0foo-", "-0.6.5")
 * are versions pkg_version_is_valid refuses: the order is still dpkg's, since comparing never
 * depends on validity. */
static const struct {
    const char *a, *b;
    int cmp;
} dpkg_order[] = {
    {"1.0-1", "2.0-2", -1},
    {"2.2~rc-4", "2.2-1", -1},
    {"2.2-1", "2.2~rc-4", 1},
    {"1.0000-1", "1.0-1", 0},
    {"1", "0:1", 0},
    {"0", "0:0-0", 0},
    {"2:2.5", "1:7.5", 1},
    {"1:0foo", "0foo", 1},
    {"0:0foo", "0foo", 0},
    {"0foo", "0foo", 0},
    {"0foo-", "0foo", 0},
    {"0foo-", "0foo-0", 0},
    {"0foo", "0fo", 1},
    {"0foo-", "0foo+", -1},
    {"0foo~1", "0foo", -1},
    {"0foo~foo+Bar", "0foo~foo+bar", -1},
    {"0foo~~", "0foo~", -1},
    {"1~", "1", -1},
    {"12345+that-really-is-some-ver-0", "12345+that-really-is-some-ver-10", -1},
    {"0foo-0", "0foo-01", -1},
    {"0foo.bar", "0foobar", 1},
    {"0foo.bar", "0foo1bar", 1},
    {"0foo.bar", "0foo0bar", 1},
    {"0foo1bar-1", "0foobar-1", -1},
    {"0foo2.0", "0foo2", 1},
    {"0foo2.0.0", "0foo2.10.0", -1},
    {"0foo2.0", "0foo2.0.0", -1},
    {"0foo2.0", "0foo2.10", -1},
    {"0foo2.1", "0foo2.10", -1},
    {"1.09", "1.9", 0},
    {"1.0.8+nmu1", "1.0.8", 1},
    {"3.11", "3.10+nmu1", 1},
    {"0.9j-20080306-4", "0.9i-20070324-2", 1},
    {"1.2.0~b7-1", "1.2.0~b6-1", 1},
    {"1.011-1", "1.06-2", 1},
    {"0.0.9+dfsg1-1", "0.0.8+dfsg1-3", 1},
    {"4.6.99+svn6582-1", "4.6.99+svn6496-1", 1},
    {"53", "52", 1},
    {"0.9.9~pre122-1", "0.9.9~pre111-1", 1},
    {"2:2.3.2-2+lenny2", "2:2.3.2-2", 1},
    {"1:3.8.1-1", "3.8.GA-1", 1},
    {"1.0.1+gpl-1", "1.0.1-2", 1},
    {"1a", "1000a", -1},
    {"-0.6.5", "0.9.1", -1},
};

START_TEST(test_pkg_version_compare_orders_as_dpkg_does)
{
    for (size_t i = 0; i < sizeof(dpkg_order) / sizeof(dpkg_order[0]); i++) {
        const char *a = dpkg_order[i].a, *b = dpkg_order[i].b;

        ck_assert_msg(sign(pkg_version_compare(a, b)) == dpkg_order[i].cmp, "%s cmp %s: %d", a, b,
                      pkg_version_compare(a, b));
        ck_assert_msg(sign(pkg_version_compare(b, a)) == -dpkg_order[i].cmp, "%s cmp %s", b, a);
    }
}
END_TEST

/* lib/dpkg/t/t-version.c test_version_compare, its (epoch, version, revision) triples written
 * as strings. */
START_TEST(test_pkg_version_compare_takes_dpkg_c_vectors)
{
    ck_assert_int_eq(pkg_version_compare("0:0-0", "0:0-0"), 0);
    ck_assert_int_eq(pkg_version_compare("0:0-00", "0:00-0"), 0);
    ck_assert_int_eq(pkg_version_compare("1:2-3", "1:2-3"), 0);
    ck_assert_int_lt(pkg_version_compare("0:0-0", "1:0-0"), 0);
    ck_assert_int_gt(pkg_version_compare("1:0-0", "0:0-0"), 0);
    ck_assert_int_lt(pkg_version_compare("0:a-0", "0:b-0"), 0);
    ck_assert_int_gt(pkg_version_compare("0:b-0", "0:a-0"), 0);
    ck_assert_int_lt(pkg_version_compare("0:0-a", "0:0-b"), 0);
    ck_assert_int_gt(pkg_version_compare("0:0-b", "0:0-a"), 0);
    ck_assert_int_ne(pkg_version_compare("1:1-1", "2:1-1"), 0);
    ck_assert_int_ne(pkg_version_compare("0:1-1", "0:2-1"), 0);
    ck_assert_int_ne(pkg_version_compare("0:1-1", "0:1-2"), 0);
    /* parseversion's splits: the epoch at the first ':', the revision at the last '-'. */
    ck_assert_int_eq(sign(pkg_version_compare("0:0:0-0-0", "0:0-0:0-0")), 1);
    ck_assert_int_eq(pkg_version_compare("0:0-0-0", "0-0-0"), 0);
    ck_assert_int_lt(pkg_version_compare("0:0-0-0", "0:0-0-1"), 0);
}
END_TEST

START_TEST(test_pkg_version_compare_reads_epochs_and_revisions_as_numbers)
{
    /* What pkg.h promises, and the corner cases of the orders. */
    ck_assert_int_eq(pkg_version_compare("1.0", "0:1.0"), 0);
    ck_assert_int_eq(pkg_version_compare("1.0", "1.0-"), 0);
    ck_assert_int_eq(pkg_version_compare("007:1", "7:1"), 0);
    ck_assert_int_gt(pkg_version_compare("10:1", "9:99"), 0);
    ck_assert_int_gt(pkg_version_compare("2147483647:0", "2147483646:9"), 0);
    ck_assert_int_lt(pkg_version_compare("1.0~rc1", "1.0"), 0);
    ck_assert_int_lt(pkg_version_compare("1.0", "1.0a"), 0);
    ck_assert_int_lt(pkg_version_compare("1.0a", "1.0+"), 0);
    ck_assert_int_lt(pkg_version_compare("1.0-1", "1.0-1.1"), 0);
    ck_assert_int_lt(pkg_version_compare("1.0-9", "1.0-10"), 0);
    ck_assert_int_gt(pkg_version_compare("1.0-1+b1", "1.0-1"), 0);
    ck_assert_int_lt(pkg_version_compare("1.0-1~bpo12+1", "1.0-1"), 0);
    ck_assert_int_gt(pkg_version_compare("99999999999999999999999", "99999999999999999999998"), 0);
    ck_assert_int_gt(pkg_version_compare("2.36-9+deb12u14", "2.36-9+deb12u9"), 0);
}
END_TEST

/* ---- pkg_version_is_valid ---- */

START_TEST(test_pkg_version_is_valid_takes_what_dpkg_parses)
{
    /* lib/dpkg/t/t-version.c test_version_parse: the versions parseversion takes. */
    static const char *valid[] = {
        "0",
        "0:0",
        "0:0-0",
        "0:0.0-0.0",
        "1:0",
        "5:1",
        "0:0-0-0",
        "0:0-0-0-0",
        "0:0:0-0",
        "0:0:0:0-0",
        "0:0:0-0-0",
        "0:0-0:0-0",
        "0:09azAZ.-+~:-0",
        "0:0-azAZ09.+~",
        /* And real ones, the epoch's bound, leading zeros. */
        "2.36-9+deb12u14",
        "1:5.0.1-1",
        "2147483647:1",
        "00:1",
        "1.0~rc1+dfsg-1~bpo12+1",
    };

    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        ck_assert_msg(pkg_version_is_valid(valid[i]), "'%s' refused", valid[i]);
}
END_TEST

START_TEST(test_pkg_version_is_valid_refuses_what_dpkg_refuses)
{
    /* t-version.c's errors and warnings, Dpkg_Version.t's invalid versions. */
    static const char *invalid[] = {
        "",
        ":1.0",
        "0:",
        "1.0-",
        "0:0 0-1",
        "-1:0-1",
        "999999999999999999999999:0-1",
        "a:0-0",
        "A:0-0",
        "-0",
        "0:-0",
        "0:abc3-0",
        "0:0-0:0",
        "10a:5.2",
        "5.2@3-2",
        "foo5.2",
        "0:foo5.2",
    };
    char v[8];

    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        ck_assert_msg(!pkg_version_is_valid(invalid[i]), "'%s' taken", invalid[i]);
    /* Each character dpkg refuses in the upstream part, and in the revision. */
    for (const char *p = "!#@$%&/|\\<>()[]{};,_=*^'"; *p != '\0'; p++) {
        snprintf(v, sizeof(v), "0:0a-0");
        v[3] = *p;
        ck_assert_msg(!pkg_version_is_valid(v), "'%s' taken", v);
    }
    for (const char *p = "!#@$%&/|\\<>()[]{}:;,_=*^'"; *p != '\0'; p++) {
        snprintf(v, sizeof(v), "0:0-0");
        v[4] = *p;
        ck_assert_msg(!pkg_version_is_valid(v), "'%s' taken", v);
    }
}
END_TEST

START_TEST(test_pkg_version_is_valid_refuses_more_than_dpkg)
{
    char long_version[PKG_VERSION_MAX_BYTES + 2];

    /* parseversion strips blanks around a version and lets strtol take a signed epoch; pkg.h
     * wants neither, since no archive writes them. */
    ck_assert(!pkg_version_is_valid("  \t0:0-1"));
    ck_assert(!pkg_version_is_valid("0:0-1\t  "));
    ck_assert(!pkg_version_is_valid("+1:0"));
    ck_assert(!pkg_version_is_valid("-0:0"));
    ck_assert(!pkg_version_is_valid("2147483648:1"));
    ck_assert(!pkg_version_is_valid("1.0\n"));
    ck_assert(!pkg_version_is_valid("1.0\xc3\xa9"));
    ck_assert(!pkg_version_is_valid(NULL));
    memset(long_version, '1', sizeof(long_version) - 1);
    long_version[PKG_VERSION_MAX_BYTES] = '\0';
    ck_assert(pkg_version_is_valid(long_version));
    long_version[PKG_VERSION_MAX_BYTES] = '1';
    long_version[PKG_VERSION_MAX_BYTES + 1] = '\0';
    ck_assert(!pkg_version_is_valid(long_version));
}
END_TEST

/* ---- pkg_version_satisfies ---- */

START_TEST(test_pkg_version_satisfies_each_relation)
{
    /* t-version.c test_version_relate, for each relation: 1-1 against 1-1, 2-1 and 1-1 against
     * each other. */
    static const struct {
        const char *a, *b;
        bool lt, le, eq, ge, gt;
    } cases[] = {
        {"1-1", "1-1", false, true, true, true, false},
        {"1-1", "2-1", true, true, false, false, false},
        {"2-1", "1-1", false, false, false, true, true},
        {"1.0", "0:1.0", false, true, true, true, false},
        {"1.0~rc1", "1.0", true, true, false, false, false},
        {"1:0.1", "2.0", false, false, false, true, true},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *a = cases[i].a, *b = cases[i].b;

        ck_assert_msg(pkg_version_satisfies(a, PKG_REL_LT, b) == cases[i].lt, "%s << %s", a, b);
        ck_assert_msg(pkg_version_satisfies(a, PKG_REL_LE, b) == cases[i].le, "%s <= %s", a, b);
        ck_assert_msg(pkg_version_satisfies(a, PKG_REL_EQ, b) == cases[i].eq, "%s = %s", a, b);
        ck_assert_msg(pkg_version_satisfies(a, PKG_REL_GE, b) == cases[i].ge, "%s >= %s", a, b);
        ck_assert_msg(pkg_version_satisfies(a, PKG_REL_GT, b) == cases[i].gt, "%s >> %s", a, b);
        ck_assert(pkg_version_satisfies(a, PKG_REL_ANY, b));
    }
}
END_TEST

START_TEST(test_pkg_version_satisfies_nothing_with_an_invalid_version)
{
    ck_assert(pkg_version_satisfies("1.0", PKG_REL_ANY, NULL));
    ck_assert(pkg_version_satisfies("x", PKG_REL_ANY, "y"));
    ck_assert(!pkg_version_satisfies("1.0-", PKG_REL_GE, "1.0"));
    ck_assert(!pkg_version_satisfies("1.0", PKG_REL_LE, "1.0-"));
    ck_assert(!pkg_version_satisfies("1.0", PKG_REL_EQ, NULL));
    ck_assert(!pkg_version_satisfies("abc", PKG_REL_EQ, "abc"));
    ck_assert(!pkg_version_satisfies("1.0", (enum pkg_relation)42, "1.0"));
}
END_TEST

static Suite *
pkg_suite(void)
{
    Suite *s = suite_create("pkg");
    TCase *tc;

    tc = tcase_create("pkg_version_compare");
    tcase_add_test(tc, test_pkg_version_compare_orders_as_dpkg_does);
    tcase_add_test(tc, test_pkg_version_compare_takes_dpkg_c_vectors);
    tcase_add_test(tc, test_pkg_version_compare_reads_epochs_and_revisions_as_numbers);
    suite_add_tcase(s, tc);

    tc = tcase_create("pkg_version_is_valid");
    tcase_add_test(tc, test_pkg_version_is_valid_takes_what_dpkg_parses);
    tcase_add_test(tc, test_pkg_version_is_valid_refuses_what_dpkg_refuses);
    tcase_add_test(tc, test_pkg_version_is_valid_refuses_more_than_dpkg);
    suite_add_tcase(s, tc);

    tc = tcase_create("pkg_version_satisfies");
    tcase_add_test(tc, test_pkg_version_satisfies_each_relation);
    tcase_add_test(tc, test_pkg_version_satisfies_nothing_with_an_invalid_version);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return testutil_run(pkg_suite());
}
