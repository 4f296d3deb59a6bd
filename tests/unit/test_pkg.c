/*
 * Unit tests of the pkg module.
 *
 * Versions: the vectors of dpkg's own tests (lib/dpkg/t/t-version.c for
 * parseversion and dpkg_version_compare, scripts/t/Dpkg_Version.t for the
 * order), so that temper orders and refuses versions as dpkg does.
 * deb822: real stanzas of bookworm's main amd64 Packages, an apt .sources
 * file and a Release head, then each rule and each refusal (its code and
 * the line it names). Relationships: the grammar of deb-control(5) and its
 * refusals, each naming the field.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "pkg/pkg.h"
#include "testutil.h"

static void
check_err(const struct temper_err *err, enum temper_errc code, const char *part)
{
    ck_assert_msg(err->code == code, "code %d, not %d: '%s'", err->code, code, err->msg);
    ck_assert_msg(strstr(err->msg, part) != NULL, "'%s' does not say '%s'", err->msg, part);
}

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

/* ---- pkg_control_parse ---- */

/* Five stanzas of bookworm's main amd64 Packages, as the archive serves them. */
static const char packages_excerpt[] =
    "Package: acme-tiny\n"
    "Version: 1:5.0.1-1\n"
    "Installed-Size: 41\n"
    "Maintainer: Debian Let's Encrypt Team <team+letsencrypt@tracker.debian.org>\n"
    "Architecture: all\n"
    "Depends: openssl (>= 1.0.1k), python3-pkg-resources, python3:any\n"
    "Description: letsencrypt tiny Python client\n"
    "Homepage: https://github.com/diafygi/acme-tiny\n"
    "Description-md5: 5085d7a0169e6f77012dffd350070b68\n"
    "Section: utils\n"
    "Priority: optional\n"
    "Filename: pool/main/a/acme-tiny/acme-tiny_5.0.1-1_all.deb\n"
    "Size: 14148\n"
    "MD5sum: 49d34b88614facc0edfa199ce7136a25\n"
    "SHA256: 74ac07af76a1c693b831cec937de38474728667d6fdceb3ce5ec36d2fe453cf8\n"
    "\n"
    "Package: bash\n"
    "Source: bash (5.2.15-2)\n"
    "Version: 5.2.15-2+b13\n"
    "Essential: yes\n"
    "Installed-Size: 7164\n"
    "Maintainer: Matthias Klose <doko@debian.org>\n"
    "Architecture: amd64\n"
    "Replaces: bash-completion (<< 20060301-0), bash-doc (<= 2.05-1)\n"
    "Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)\n"
    "Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)\n"
    "Recommends: bash-completion (>= 20060301-0)\n"
    "Suggests: bash-doc\n"
    "Conflicts: bash-completion (<< 20060301-0)\n"
    "Description: GNU Bourne Again SHell\n"
    "Multi-Arch: foreign\n"
    "Homepage: http://tiswww.case.edu/php/chet/bash/bashtop.html\n"
    "Description-md5: 3522aa7b4374048d6450e348a5bb45d9\n"
    "Tag: admin::TODO, devel::TODO, devel::interpreter, implemented-in::c,\n"
    " interface::shell, interface::text-mode, role::program,\n"
    " scope::application, suite::gnu, uitoolkit::ncurses\n"
    "Section: shells\n"
    "Priority: required\n"
    "Filename: pool/main/b/bash/bash_5.2.15-2+b13_amd64.deb\n"
    "Size: 1490652\n"
    "MD5sum: f973a067908f9c7579d30deddd8301ed\n"
    "SHA256: 82130bb6a560cd2a7234d8018baf73f188f5dd56413d5aa0accc987b2197a6a1\n"
    "\n"
    "Package: dash\n"
    "Version: 0.5.12-2\n"
    "Essential: yes\n"
    "Installed-Size: 191\n"
    "Maintainer: Andrej Shadura <andrewsh@debian.org>\n"
    "Architecture: amd64\n"
    "Depends: debianutils (>= 5.6-0.1), dpkg (>= 1.19.1)\n"
    "Pre-Depends: libc6 (>= 2.34)\n"
    "Description: POSIX-compliant shell\n"
    "Multi-Arch: foreign\n"
    "Homepage: http://gondor.apana.org.au/~herbert/dash/\n"
    "Description-md5: 8d4d9c32c6b2b70328f7f774a0cc1248\n"
    "Tag: implemented-in::c, interface::shell, role::program, scope::utility\n"
    "Section: shells\n"
    "Priority: required\n"
    "Filename: pool/main/d/dash/dash_0.5.12-2_amd64.deb\n"
    "Size: 91848\n"
    "MD5sum: 4f19daace3f998b7e719575ff5e5b316\n"
    "SHA256: 33ea40061da2f1a861ec46212b2b6a34f0776a049b1a3f0abce2fb8cb994258f\n"
    "\n"
    "Package: libc6\n"
    "Source: glibc\n"
    "Version: 2.36-9+deb12u14\n"
    "Installed-Size: 13001\n"
    "Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n"
    "Architecture: amd64\n"
    "Replaces: libc6-amd64\n"
    "Depends: libgcc-s1\n"
    "Recommends: libidn2-0 (>= 2.0.5~)\n"
    "Suggests: glibc-doc, debconf | debconf-2.0, libc-l10n, locales, libnss-nis, libnss-nisplus\n"
    "Breaks: aide (<< 0.17.3-4+b3), busybox (<< 1.30.1-6), chrony (<< 4.2-3~), fakechroot (<< "
    "2.19-3.5), firefox (<< 91~), firefox-esr (<< 91~), gnumach-image-1.8-486 (<< "
    "2:1.8+git20210923~), hurd (<< 1:0.9.git20220301-2), ioquake3 (<< "
    "1.36+u20200211.f2c61c1~dfsg-2~), locales (<< 2.36), nscd (<< 2.36), openssh-server (<< "
    "1:8.1p1-5), valgrind (<< 1:3.19.0-1~), wcc (<< 0.0.2+dfsg-3)\n"
    "Description: GNU C Library: Shared libraries\n"
    "Multi-Arch: same\n"
    "Homepage: https://www.gnu.org/software/libc/libc.html\n"
    "Description-md5: fc3001b0b90a1c8e6690b283a619d57f\n"
    "Tag: role::shared-lib\n"
    "Section: libs\n"
    "Priority: optional\n"
    "Filename: pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb\n"
    "Size: 2759320\n"
    "MD5sum: 8d98f0c882f269aaee8437bcfe89346e\n"
    "SHA256: ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf\n"
    "\n"
    "Package: python3\n"
    "Source: python3-defaults (3.11.2-1)\n"
    "Version: 3.11.2-1+b1\n"
    "Installed-Size: 81\n"
    "Maintainer: Matthias Klose <doko@debian.org>\n"
    "Architecture: amd64\n"
    "Replaces: python3-minimal (<< 3.1.2-2)\n"
    "Provides: python3-profiler, python3-supported-max (= 3.11), python3-supported-min (= 3.11)\n"
    "Depends: python3.11 (>= 3.11.2-1~), libpython3-stdlib (= 3.11.2-1+b1)\n"
    "Pre-Depends: python3-minimal (= 3.11.2-1+b1)\n"
    "Suggests: python3-doc (>= 3.11.2-1+b1), python3-tk (>= 3.11.2-1~), python3-venv (>= "
    "3.11.2-1+b1)\n"
    "Description: interactive high-level object-oriented language (default python3 version)\n"
    "Multi-Arch: allowed\n"
    "Homepage: https://www.python.org/\n"
    "Description-md5: 7e57783fdb3703b27f408a029b7b786f\n"
    "Tag: devel::interpreter, devel::lang:python, devel::library,\n"
    " implemented-in::c, implemented-in::python, role::devel-lib,\n"
    " role::program, role::shared-lib\n"
    "Section: python\n"
    "Priority: optional\n"
    "Filename: pool/main/p/python3-defaults/python3_3.11.2-1+b1_amd64.deb\n"
    "Size: 26300\n"
    "MD5sum: 48ebc2dc2cb4fa44aaa2780f8141bbe1\n"
    "SHA256: 33f6dafbd1a6902d9063172ec7dbd4b2225e12009e0d7ec5c933a72c2f5f3b74\n";

/* What a parse saw: each stanza's first line, field count and a few values, copied out. */
#define SEEN_MAX 16
struct seen {
    size_t n;
    size_t line[SEEN_MAX];
    size_t fields[SEEN_MAX];
    char first_name[SEEN_MAX][32];
    char first_value[SEEN_MAX][256];
    const char *wanted; /* a field whose value is also kept */
    char wanted_value[SEEN_MAX][512];
    int stop_at; /* a stanza (from 1) whose callback fails with 7, or 0 */
};

static void
copy_span(char *out, size_t size, const char *s, size_t len)
{
    ck_assert_uint_lt(len, size);
    memcpy(out, s, len);
    out[len] = '\0';
}

static int
record(const struct pkg_stanza *stanza, void *arg, struct temper_err *err)
{
    struct seen *seen = arg;
    size_t i = seen->n++;

    ck_assert_uint_lt(i, SEEN_MAX);
    ck_assert_uint_gt(stanza->n, 0);
    seen->line[i] = stanza->line;
    seen->fields[i] = stanza->n;
    copy_span(seen->first_name[i], sizeof(seen->first_name[i]), stanza->fields[0].name,
              stanza->fields[0].name_len);
    copy_span(seen->first_value[i], sizeof(seen->first_value[i]), stanza->fields[0].value,
              stanza->fields[0].value_len);
    seen->wanted_value[i][0] = '\0';
    if (seen->wanted != NULL) {
        const struct pkg_field *f = pkg_stanza_field(stanza, seen->wanted);

        if (f != NULL)
            copy_span(seen->wanted_value[i], sizeof(seen->wanted_value[i]), f->value, f->value_len);
    }
    if (seen->stop_at == (int)seen->n) {
        temper_err_set(err, TEMPER_E_USAGE, 0, "stopped at stanza %zu", seen->n);
        return 7;
    }
    return 0;
}

static void
parse_ok(const char *text, size_t len, struct seen *seen)
{
    struct temper_err err = {0};

    ck_assert_msg(pkg_control_parse(text, len, record, seen, &err) == 0, "%s", err.msg);
}

static void
parse_str(const char *text, struct seen *seen)
{
    parse_ok(text, strlen(text), seen);
}

static void
parse_fails(const char *text, size_t len, enum temper_errc code, const char *part)
{
    struct seen seen = {0};
    struct temper_err err = {0};

    ck_assert_int_eq(pkg_control_parse(text, len, record, &seen, &err), -1);
    check_err(&err, code, part);
}

static void
parse_fails_str(const char *text, enum temper_errc code, const char *part)
{
    parse_fails(text, strlen(text), code, part);
}

START_TEST(test_pkg_control_parse_reads_real_packages_stanzas)
{
    struct seen seen = {.wanted = "tag"};
    static const char *packages[] = {"acme-tiny", "bash", "dash", "libc6", "python3"};
    static const size_t lines[] = {1, 17, 44, 64, 87};
    static const size_t fields[] = {15, 24, 19, 22, 22};

    parse_str(packages_excerpt, &seen);
    ck_assert_uint_eq(seen.n, 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(seen.first_name[i], "Package");
        ck_assert_str_eq(seen.first_value[i], packages[i]);
        ck_assert_uint_eq(seen.line[i], lines[i]);
        ck_assert_uint_eq(seen.fields[i], fields[i]);
    }
    /* Continuation lines kept as they are, with their newlines and leading blank. */
    ck_assert_str_eq(seen.wanted_value[1],
                     "admin::TODO, devel::TODO, devel::interpreter, implemented-in::c,\n"
                     " interface::shell, interface::text-mode, role::program,\n"
                     " scope::application, suite::gnu, uitoolkit::ncurses");
    ck_assert_str_eq(seen.wanted_value[0], "");
    ck_assert_str_eq(seen.wanted_value[3], "role::shared-lib");
}
END_TEST

/* Every relationship field of the excerpt, as the resolver will read them. */
static int
check_relationships(const struct pkg_stanza *stanza, void *arg, struct temper_err *err)
{
    static const char *names[] = {"Depends",  "Pre-Depends", "Provides",   "Breaks",
                                  "Replaces", "Suggests",    "Recommends", "Conflicts"};
    size_t *items = arg;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct pkg_field *f = pkg_stanza_field(stanza, names[i]);
        struct pkg_dep *deps;
        size_t n;

        if (f == NULL)
            continue;
        if (pkg_deps_parse(f->value, f->value_len, names[i], &deps, &n, err) < 0)
            return -1;
        *items += n;
        pkg_deps_free(deps, n);
    }
    return 0;
}

START_TEST(test_pkg_control_parse_gives_relationships_that_parse)
{
    struct temper_err err = {0};
    size_t items = 0;

    ck_assert_msg(pkg_control_parse(packages_excerpt, strlen(packages_excerpt), check_relationships,
                                    &items, &err) == 0,
                  "%s", err.msg);
    /* acme-tiny 3; bash 2 + 2 + 2 + 1 + 1 + 1; dash 2 + 1; libc6 1 + 1 + 1 + 6 + 14; python3
     * 1 + 3 + 2 + 1 + 3. */
    ck_assert_uint_eq(items, 3 + 9 + 3 + 23 + 10);
}
END_TEST

START_TEST(test_pkg_control_parse_reads_apt_sources_with_comments)
{
    /* /etc/apt/sources.list.d/debian.sources of a Debian container image, its hosts renamed. */
    static const char sources[] =
        "Types: deb\n"
        "# http://snapshot.example/archive/debian/20250520T000000Z\n"
        "URIs: http://mirror.example/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        "\n"
        "Types: deb\n"
        "# http://snapshot.example/archive/debian-security/20250520T000000Z\n"
        "URIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";
    struct seen seen = {.wanted = "suites"};

    parse_str(sources, &seen);
    ck_assert_uint_eq(seen.n, 2);
    ck_assert_uint_eq(seen.fields[0], 5);
    ck_assert_uint_eq(seen.line[1], 8);
    ck_assert_str_eq(seen.wanted_value[0], "bookworm bookworm-updates");
    ck_assert_str_eq(seen.wanted_value[1], "bookworm-security");
}
END_TEST

START_TEST(test_pkg_control_parse_reads_a_release_head)
{
    /* The head of bookworm's Release: a field whose value starts on the next line. */
    static const char release[] =
        "Origin: Debian\n"
        "Label: Debian\n"
        "Suite: oldstable\n"
        "Version: 12.15\n"
        "Codename: bookworm\n"
        "Acquire-By-Hash: yes\n"
        "No-Support-for-Architecture-all: Packages\n"
        "Architectures: all amd64 arm64 armel armhf i386 mips64el mipsel ppc64el s390x\n"
        "Components: main contrib non-free-firmware non-free\n"
        "Description: Debian 12.15 Released 11 July 2026\n"
        "MD5Sum:\n"
        " 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all\n"
        " d0a0325a97c42fd5f66a8c3e29bcea64    98581 contrib/Contents-all.gz\n"
        "SHA256:\n"
        " 3957f28db16e3f28c7b34ae84f1c929c567de6970f3f1b95dac9b498dd80fe63   738242 "
        "contrib/Contents-all\n";
    struct seen seen = {.wanted = "md5sum"};

    parse_str(release, &seen);
    ck_assert_uint_eq(seen.n, 1);
    ck_assert_uint_eq(seen.fields[0], 12);
    ck_assert_str_eq(seen.wanted_value[0],
                     "\n 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all\n"
                     " d0a0325a97c42fd5f66a8c3e29bcea64    98581 contrib/Contents-all.gz");
}
END_TEST

START_TEST(test_pkg_control_parse_separates_stanzas_by_blank_lines)
{
    struct seen seen = {.wanted = "b"};

    /* Leading blank lines, several blank lines, lines of blanks only, a tab continuation. */
    parse_str("\n \n\nA: 1\nB: x\n\ty\n \t\n\n\t\nA: 2\n\n\n", &seen);
    ck_assert_uint_eq(seen.n, 2);
    ck_assert_uint_eq(seen.line[0], 4);
    ck_assert_uint_eq(seen.line[1], 10);
    ck_assert_str_eq(seen.first_value[0], "1");
    ck_assert_str_eq(seen.wanted_value[0], "x\n\ty");
    ck_assert_str_eq(seen.first_value[1], "2");
}
END_TEST

START_TEST(test_pkg_control_parse_takes_a_last_line_without_newline)
{
    struct seen seen = {.wanted = "b"};

    parse_str("A: 1\nB: 2\n more", &seen);
    ck_assert_uint_eq(seen.n, 1);
    ck_assert_str_eq(seen.wanted_value[0], "2\n more");
    memset(&seen, 0, sizeof(seen));
    parse_str("A: 1", &seen);
    ck_assert_uint_eq(seen.n, 1);
    ck_assert_str_eq(seen.first_value[0], "1");
}
END_TEST

START_TEST(test_pkg_control_parse_trims_blanks_around_values)
{
    struct seen seen = {.wanted = "b"};

    /* Policy 5.1: blanks before and after a value are not part of it; an empty value is. */
    parse_str("A:value  \t\nB: \t x y \t\n\nA:\nB:   \n", &seen);
    ck_assert_uint_eq(seen.n, 2);
    ck_assert_str_eq(seen.first_value[0], "value");
    ck_assert_str_eq(seen.wanted_value[0], "x y");
    ck_assert_str_eq(seen.first_value[1], "");
    ck_assert_str_eq(seen.wanted_value[1], "");
}
END_TEST

START_TEST(test_pkg_control_parse_reads_crlf_as_apt_does)
{
    struct seen seen = {.wanted = "b"};

    /* apt's pkgTagSection: "\r\n" on its own ends a stanza, a value loses its final '\r'.
     * Here '\r' is a blank wherever blanks count: " \r\t" is a blank line too, "\rB: x" no
     * continuation. */
    parse_str("A: 1\r\nB: x \r\n y\r\n\r\nA: 2\r\n \t\r\nA: 3\r\n \r\t\nA:\r4 \r", &seen);
    ck_assert_uint_eq(seen.n, 4);
    ck_assert_str_eq(seen.first_value[0], "1");
    ck_assert_str_eq(seen.wanted_value[0], "x \r\n y");
    ck_assert_str_eq(seen.first_value[1], "2");
    ck_assert_str_eq(seen.first_value[2], "3");
    ck_assert_uint_eq(seen.line[2], 7);
    ck_assert_str_eq(seen.first_value[3], "4");
    ck_assert_uint_eq(seen.line[3], 9);
    parse_fails_str("A: 1\r\n\rB: x\r\n", TEMPER_E_PARSE, "line 2: field name '?B'");
}
END_TEST

START_TEST(test_pkg_control_parse_skips_comments)
{
    struct seen seen = {.wanted = "b"};

    /* Comment lines anywhere outside a value; a stanza of comments only is none. */
    parse_str("# head\n\n#only\n#comments\n\nA: 1\n#c\nB: 2\n x\n#tail\n", &seen);
    ck_assert_uint_eq(seen.n, 1);
    ck_assert_uint_eq(seen.line[0], 6);
    ck_assert_uint_eq(seen.fields[0], 2);
    ck_assert_str_eq(seen.wanted_value[0], "2\n x");
}
END_TEST

START_TEST(test_pkg_control_parse_stops_when_the_callback_fails)
{
    struct seen seen = {.stop_at = 2};
    struct temper_err err = {0};

    ck_assert_int_eq(pkg_control_parse("A: 1\n\nA: 2\n\nA: 3\n", 17, record, &seen, &err), 7);
    check_err(&err, TEMPER_E_USAGE, "stopped at stanza 2");
    ck_assert_uint_eq(seen.n, 2);
}
END_TEST

START_TEST(test_pkg_control_parse_refuses_malformed_lines)
{
    parse_fails("A: 1\nB: x\0y\n", 12, TEMPER_E_PARSE, "line 2: NUL byte");
    parse_fails("A: 1\n#\0\n", 8, TEMPER_E_PARSE, "line 2: NUL byte");
    parse_fails_str("A: 1\nnot a field\n", TEMPER_E_PARSE,
                    "line 2: 'not a field' is neither a field nor a continuation line");
    parse_fails_str("-----BEGIN PGP SIGNED MESSAGE-----\n", TEMPER_E_PARSE,
                    "line 1: '-----BEGIN PGP SIGNED MESSAGE-----' is neither");
    parse_fails_str(" x: 1\n", TEMPER_E_PARSE, "line 1: continuation line before any field");
    parse_fails_str("A: 1\n\n\n x\n", TEMPER_E_PARSE, "line 4: continuation line before any field");
    parse_fails_str("A: 1\n#c\n x\n", TEMPER_E_PARSE,
                    "line 3: continuation line after a comment line");
    parse_fails_str("A: 1\n: x\n", TEMPER_E_PARSE, "line 2: empty field name");
    parse_fails_str("A: 1\nB C: x\n", TEMPER_E_PARSE,
                    "line 2: field name 'B C' holds a character other than printable ASCII");
    parse_fails_str("A\t: 1\n", TEMPER_E_PARSE, "line 1: field name 'A?'");
    parse_fails_str("A: 1\n\nN\xc3\xa4me: x\n", TEMPER_E_PARSE, "line 3: field name 'N??me'");
    parse_fails_str("A: 1\nB\x7f: x\n", TEMPER_E_PARSE, "line 2: field name 'B?'");
}
END_TEST

START_TEST(test_pkg_control_parse_refuses_a_repeated_field)
{
    char text[PKG_STANZA_FIELDS_MAX * 16];
    size_t len = 0;

    parse_fails_str("A: 1\nB: 2\na: 3\n", TEMPER_E_PARSE, "line 3: field 'a' repeats line 1");
    /* A repeat in the second stanza is counted from the start of the text. */
    parse_fails_str("A: 1\n\nPackage: x\nB: 2\nPACKAGE: y\n", TEMPER_E_PARSE,
                    "line 5: field 'PACKAGE' repeats line 3");
    /* Of several repeats the earliest line is named, whatever the names sort as. */
    parse_fails_str("Z: 1\nA: 1\nz: 2\na: 2\n", TEMPER_E_PARSE, "line 3: field 'z' repeats line 1");
    parse_fails_str("Z: 1\nA: 1\nA: 2\nz: 2\nA: 3\n", TEMPER_E_PARSE,
                    "line 3: field 'A' repeats line 2");
    /* Among a full stanza: the names sort far apart from where they are. */
    for (int i = 0; i < PKG_STANZA_FIELDS_MAX - 1; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "F%03d: v\n", 254 - i);
    len += (size_t)snprintf(text + len, sizeof(text) - len, "f100: v\n");
    parse_fails(text, len, TEMPER_E_PARSE, "line 256: field 'f100' repeats line 155");
}
END_TEST

static int
check_big(const struct pkg_stanza *stanza, void *arg, struct temper_err *err)
{
    (void)arg;
    (void)err;
    ck_assert_uint_eq(stanza->n, 1);
    ck_assert_uint_eq(stanza->fields[0].value_len, PKG_FIELD_MAX_BYTES);
    return 0;
}

START_TEST(test_pkg_control_parse_caps_fields_and_values)
{
    size_t len = PKG_FIELD_MAX_BYTES + 64, at = 0;
    char *text = malloc(len);
    struct seen seen = {0};
    struct temper_err err = {0};

    /* PKG_STANZA_FIELDS_MAX fields are taken, one more is not. */
    for (int i = 0; i < PKG_STANZA_FIELDS_MAX; i++)
        at += (size_t)snprintf(text + at, len - at, "F%d: v\n", i);
    parse_ok(text, at, &seen);
    ck_assert_uint_eq(seen.fields[0], PKG_STANZA_FIELDS_MAX);
    at += (size_t)snprintf(text + at, len - at, "Over: v\n");
    parse_fails(text, at, TEMPER_E_LIMIT, "line 257: more than 256 fields in a stanza");

    /* A value of PKG_FIELD_MAX_BYTES is taken, one byte more is not, whether on its first line
     * or grown by continuation lines. */
    memcpy(text, "Big: ", 5);
    memset(text + 5, 'x', PKG_FIELD_MAX_BYTES + 1);
    ck_assert_int_eq(pkg_control_parse(text, 5 + PKG_FIELD_MAX_BYTES, check_big, NULL, &err), 0);
    parse_fails(text, 6 + PKG_FIELD_MAX_BYTES, TEMPER_E_LIMIT,
                "line 1: field 'Big' is longer than 4194304 bytes");
    memcpy(text + 5 + PKG_FIELD_MAX_BYTES - 3, "\n x", 3);
    text[5 + PKG_FIELD_MAX_BYTES] = 'y';
    parse_fails(text, 6 + PKG_FIELD_MAX_BYTES, TEMPER_E_LIMIT,
                "line 2: field 'Big' is longer than 4194304 bytes");
    free(text);
}
END_TEST

/* ---- pkg_stanza_field ---- */

static int
find_fields(const struct pkg_stanza *stanza, void *arg, struct temper_err *err)
{
    (void)arg;
    (void)err;
    ck_assert_ptr_eq(pkg_stanza_field(stanza, "depends"), &stanza->fields[1]);
    ck_assert_ptr_eq(pkg_stanza_field(stanza, "DEPENDS"), &stanza->fields[1]);
    ck_assert_ptr_eq(pkg_stanza_field(stanza, "Pre-Depends"), &stanza->fields[2]);
    ck_assert_ptr_null(pkg_stanza_field(stanza, "Depend"));
    ck_assert_ptr_null(pkg_stanza_field(stanza, "Depends-X"));
    ck_assert_ptr_null(pkg_stanza_field(stanza, ""));
    ck_assert_ptr_null(pkg_stanza_field(stanza, "Provides"));
    return 0;
}

START_TEST(test_pkg_stanza_field_finds_names_without_case)
{
    static const char text[] = "Package: a\nDepends: b\nPre-Depends: c\n";
    struct temper_err err = {0};

    ck_assert_int_eq(pkg_control_parse(text, strlen(text), find_fields, NULL, &err), 0);
}
END_TEST

/* ---- pkg_deps_parse ---- */

static struct pkg_dep *
deps_ok(const char *value, size_t *n)
{
    struct pkg_dep *deps = NULL;
    struct temper_err err = {0};

    ck_assert_msg(pkg_deps_parse(value, strlen(value), "Depends", &deps, n, &err) == 0, "'%s': %s",
                  value, err.msg);
    return deps;
}

static void
deps_fail(const char *value, enum temper_errc code, const char *part)
{
    struct pkg_dep *deps = (struct pkg_dep *)&deps; /* must stay as it is */
    size_t n = 99;
    struct temper_err err = {0};

    ck_assert_msg(pkg_deps_parse(value, strlen(value), "Pre-Depends", &deps, &n, &err) == -1,
                  "'%s' taken", value);
    check_err(&err, code, part);
    check_err(&err, code, "'Pre-Depends': ");
    ck_assert_ptr_eq(deps, (struct pkg_dep *)&deps);
    ck_assert_uint_eq(n, 99);
}

static void
check_alt(const struct pkg_dep_alt *alt, const char *name, enum pkg_relation rel,
          const char *version)
{
    ck_assert_str_eq(alt->name, name);
    ck_assert_int_eq(alt->rel, rel);
    if (version == NULL)
        ck_assert_ptr_null(alt->version);
    else
        ck_assert_str_eq(alt->version, version);
}

START_TEST(test_pkg_deps_parse_reads_items_and_alternatives)
{
    size_t n;
    struct pkg_dep *deps = deps_ok("libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, zlib1g", &n);

    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(deps[0].n, 1);
    check_alt(&deps[0].alts[0], "libc6", PKG_REL_GE, "2.34");
    ck_assert_uint_eq(deps[1].n, 2);
    check_alt(&deps[1].alts[0], "debconf", PKG_REL_GE, "0.5");
    check_alt(&deps[1].alts[1], "debconf-2.0", PKG_REL_ANY, NULL);
    check_alt(&deps[2].alts[0], "zlib1g", PKG_REL_ANY, NULL);
    pkg_deps_free(deps, n);
}
END_TEST

START_TEST(test_pkg_deps_parse_reads_each_operator)
{
    size_t n;
    struct pkg_dep *deps = deps_ok(
        "a0 (<< 1), a1 (<= 1:1), a2 (= 1-1), a3 (>= 1~), a4 (>> 1+b1), a5 (< 1), a6 (> 1)", &n);
    static const enum pkg_relation rels[] = {PKG_REL_LT, PKG_REL_LE, PKG_REL_EQ, PKG_REL_GE,
                                             PKG_REL_GT, PKG_REL_LE, PKG_REL_GE};
    static const char *versions[] = {"1", "1:1", "1-1", "1~", "1+b1", "1", "1"};

    ck_assert_uint_eq(n, 7);
    for (size_t i = 0; i < n; i++) {
        char name[24];

        snprintf(name, sizeof(name), "a%zu", i);
        ck_assert_uint_eq(deps[i].n, 1);
        check_alt(&deps[i].alts[0], name, rels[i], versions[i]);
    }
    pkg_deps_free(deps, n);
}
END_TEST

START_TEST(test_pkg_deps_parse_drops_architecture_qualifiers)
{
    size_t n;
    struct pkg_dep *deps = deps_ok("python3:any, gcc-12:native (>= 12), libc6:amd64 | "
                                   "libc6:arm64, python3:any(>= 3.11)",
                                   &n);

    ck_assert_uint_eq(n, 4);
    check_alt(&deps[0].alts[0], "python3", PKG_REL_ANY, NULL);
    check_alt(&deps[1].alts[0], "gcc-12", PKG_REL_GE, "12");
    check_alt(&deps[2].alts[0], "libc6", PKG_REL_ANY, NULL);
    check_alt(&deps[2].alts[1], "libc6", PKG_REL_ANY, NULL);
    check_alt(&deps[3].alts[0], "python3", PKG_REL_GE, "3.11");
    pkg_deps_free(deps, n);
}
END_TEST

START_TEST(test_pkg_deps_parse_takes_whitespace_between_tokens)
{
    size_t n;
    /* Continuation lines (as pkg_control_parse gives them, with CRLF too), tabs, no blank at
     * all. */
    struct pkg_dep *deps = deps_ok(" \n aa (\t>=\n 1.0 )\r\n |bb(=2),cc\t,\n dd|ee (<<3)  \n", &n);

    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(deps[0].n, 2);
    check_alt(&deps[0].alts[0], "aa", PKG_REL_GE, "1.0");
    check_alt(&deps[0].alts[1], "bb", PKG_REL_EQ, "2");
    check_alt(&deps[1].alts[0], "cc", PKG_REL_ANY, NULL);
    ck_assert_uint_eq(deps[2].n, 2);
    check_alt(&deps[2].alts[0], "dd", PKG_REL_ANY, NULL);
    check_alt(&deps[2].alts[1], "ee", PKG_REL_LT, "3");
    pkg_deps_free(deps, n);
}
END_TEST

START_TEST(test_pkg_deps_parse_gives_no_items_for_an_empty_value)
{
    size_t n = 99;
    struct pkg_dep *deps = (struct pkg_dep *)&n;
    struct temper_err err = {0};

    ck_assert_int_eq(pkg_deps_parse("", 0, "Depends", &deps, &n, &err), 0);
    ck_assert_ptr_null(deps);
    ck_assert_uint_eq(n, 0);
    deps = deps_ok(" \n\t ", &n);
    ck_assert_ptr_null(deps);
    ck_assert_uint_eq(n, 0);
    pkg_deps_free(NULL, 0);
}
END_TEST

START_TEST(test_pkg_deps_parse_refuses_malformed_values)
{
    deps_fail(", aa", TEMPER_E_PARSE, "empty item");
    deps_fail("aa,, bb", TEMPER_E_PARSE, "empty item");
    deps_fail("aa, bb,", TEMPER_E_PARSE, "empty item");
    deps_fail("aa, bb, \n ", TEMPER_E_PARSE, "empty item");
    deps_fail("aa |", TEMPER_E_PARSE, "empty alternative");
    deps_fail("| aa", TEMPER_E_PARSE, "empty alternative");
    deps_fail("aa || bb", TEMPER_E_PARSE, "empty alternative");
    deps_fail("aa |, bb", TEMPER_E_PARSE, "empty alternative");
    deps_fail("Foo", TEMPER_E_PARSE, "bad package name 'Foo'");
    deps_fail("aa, b_c", TEMPER_E_PARSE, "bad package name 'b_c'");
    deps_fail("x", TEMPER_E_PARSE, "bad package name 'x'");
    deps_fail("-ab", TEMPER_E_PARSE, "bad package name '-ab'");
    deps_fail("caf\xc3\xa9", TEMPER_E_PARSE,
              "bad package name 'caf?"
              "?'");
    deps_fail("(>= 1)", TEMPER_E_PARSE, "'(>= 1)' where a package name was due");
    deps_fail("ab:", TEMPER_E_PARSE, "bad architecture qualifier '' of 'ab'");
    deps_fail("ab:Any", TEMPER_E_PARSE, "bad architecture qualifier 'Any' of 'ab'");
    deps_fail("ab :any", TEMPER_E_PARSE, "unexpected ':any' after 'ab'");
    deps_fail("ab (1.0)", TEMPER_E_PARSE, "unknown operator '1.' for 'ab'");
    deps_fail("ab (!= 1.0)", TEMPER_E_PARSE, "unknown operator '!=' for 'ab'");
    deps_fail("ab (<> 1.0)", TEMPER_E_PARSE, "unknown operator '<>' for 'ab'");
    deps_fail("ab (=> 1.0)", TEMPER_E_PARSE, "unknown operator '=>' for 'ab'");
    deps_fail("ab (== 1.0)", TEMPER_E_PARSE, "unknown operator '==' for 'ab'");
    deps_fail("ab (", TEMPER_E_PARSE, "unknown operator '' for 'ab'");
    deps_fail("ab (>= )", TEMPER_E_PARSE, "no version for 'ab'");
    deps_fail("ab (>= 1.0-)", TEMPER_E_PARSE, "invalid version '1.0-' for 'ab'");
    deps_fail("ab (= a1)", TEMPER_E_PARSE, "invalid version 'a1' for 'ab'");
    deps_fail("ab (>= 1.0, cd", TEMPER_E_PARSE, "invalid version '1.0,' for 'ab'");
    deps_fail("ab (>= 1.0", TEMPER_E_PARSE, "version of 'ab' not closed by ')'");
    deps_fail("ab (>= 1.0 2)", TEMPER_E_PARSE, "version of 'ab' not closed by ')'");
    deps_fail("ab [amd64]", TEMPER_E_PARSE, "architecture restriction after 'ab'");
    deps_fail("ab (>= 1) [!i386]", TEMPER_E_PARSE, "architecture restriction after 'ab'");
    deps_fail("ab <!nocheck>", TEMPER_E_PARSE, "build profile after 'ab'");
    deps_fail("ab cd", TEMPER_E_PARSE, "unexpected 'cd' after 'ab'");
    deps_fail("ab (>= 1) (<< 2)", TEMPER_E_PARSE, "unexpected '(<< 2)' after 'ab'");
    deps_fail("ab)", TEMPER_E_PARSE, "unexpected ')' after 'ab'");
}
END_TEST

START_TEST(test_pkg_deps_parse_refuses_an_overlong_version)
{
    char value[PKG_VERSION_MAX_BYTES + 16];
    size_t n;
    struct pkg_dep *deps;

    memcpy(value, "ab (= ", 6);
    memset(value + 6, '1', PKG_VERSION_MAX_BYTES);
    snprintf(value + 6 + PKG_VERSION_MAX_BYTES, 2, ")");
    deps = deps_ok(value, &n);
    ck_assert_uint_eq(strlen(deps[0].alts[0].version), PKG_VERSION_MAX_BYTES);
    pkg_deps_free(deps, n);
    memset(value + 6, '1', PKG_VERSION_MAX_BYTES + 1);
    snprintf(value + 7 + PKG_VERSION_MAX_BYTES, 2, ")");
    deps_fail(value, TEMPER_E_PARSE, "invalid version '1111");
}
END_TEST

START_TEST(test_pkg_deps_parse_caps_items_and_alternatives)
{
    size_t len = (PKG_DEPS_MAX + 1) * 4 + 1, at = 0, n;
    char *value = malloc(len);
    struct pkg_dep *deps;

    for (int i = 0; i < PKG_DEPS_MAX; i++)
        at += (size_t)snprintf(value + at, len - at, "%sab", i > 0 ? ", " : "");
    deps = deps_ok(value, &n);
    ck_assert_uint_eq(n, PKG_DEPS_MAX);
    pkg_deps_free(deps, n);
    snprintf(value + at, len - at, ",ab");
    deps_fail(value, TEMPER_E_LIMIT, "more than 4096 items");

    at = 0;
    for (int i = 0; i < PKG_ALTS_MAX; i++)
        at += (size_t)snprintf(value + at, len - at, "%sab", i > 0 ? "|" : "");
    deps = deps_ok(value, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(deps[0].n, PKG_ALTS_MAX);
    pkg_deps_free(deps, n);
    snprintf(value + at, len - at, "|ab, cd");
    deps_fail(value, TEMPER_E_LIMIT, "more than 64 alternatives in an item");
    free(value);
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

    tc = tcase_create("pkg_control_parse");
    tcase_add_test(tc, test_pkg_control_parse_reads_real_packages_stanzas);
    tcase_add_test(tc, test_pkg_control_parse_gives_relationships_that_parse);
    tcase_add_test(tc, test_pkg_control_parse_reads_apt_sources_with_comments);
    tcase_add_test(tc, test_pkg_control_parse_reads_a_release_head);
    tcase_add_test(tc, test_pkg_control_parse_separates_stanzas_by_blank_lines);
    tcase_add_test(tc, test_pkg_control_parse_takes_a_last_line_without_newline);
    tcase_add_test(tc, test_pkg_control_parse_trims_blanks_around_values);
    tcase_add_test(tc, test_pkg_control_parse_reads_crlf_as_apt_does);
    tcase_add_test(tc, test_pkg_control_parse_skips_comments);
    tcase_add_test(tc, test_pkg_control_parse_stops_when_the_callback_fails);
    tcase_add_test(tc, test_pkg_control_parse_refuses_malformed_lines);
    tcase_add_test(tc, test_pkg_control_parse_refuses_a_repeated_field);
    tcase_add_test(tc, test_pkg_control_parse_caps_fields_and_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("pkg_stanza_field");
    tcase_add_test(tc, test_pkg_stanza_field_finds_names_without_case);
    suite_add_tcase(s, tc);

    tc = tcase_create("pkg_deps_parse");
    tcase_add_test(tc, test_pkg_deps_parse_reads_items_and_alternatives);
    tcase_add_test(tc, test_pkg_deps_parse_reads_each_operator);
    tcase_add_test(tc, test_pkg_deps_parse_drops_architecture_qualifiers);
    tcase_add_test(tc, test_pkg_deps_parse_takes_whitespace_between_tokens);
    tcase_add_test(tc, test_pkg_deps_parse_gives_no_items_for_an_empty_value);
    tcase_add_test(tc, test_pkg_deps_parse_refuses_malformed_values);
    tcase_add_test(tc, test_pkg_deps_parse_refuses_an_overlong_version);
    tcase_add_test(tc, test_pkg_deps_parse_caps_items_and_alternatives);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(pkg_suite());
}
