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
 *
 * pkg_root_*: .debs are built here with libarchive (an ar writer around a
 * tar writer), hostile ones for every refusal, and unpacked into a root in
 * the test's directory; the root is then checked on disk and through
 * pkg_root_owners. The TCase "pkg_root_debs" unpacks real packages fetched
 * with `apt-get download` from the machine's mirror, and compares the
 * generated CA bundle with the machine's own: CTest runs it apart
 * (test_pkg_debs, tag "mirror"), since it needs the mirror.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
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
    parse_fails_str("A: 1\r\n\rB: x\r\n", TEMPER_E_PARSE, "line 2: field name '\rB'");
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
    parse_fails_str("A\t: 1\n", TEMPER_E_PARSE, "line 1: field name 'A\t'");
    parse_fails_str("A: 1\n\nN\xc3\xa4me: x\n", TEMPER_E_PARSE, "line 3: field name 'N\303\244me'");
    parse_fails_str("A: 1\nB\x7f: x\n", TEMPER_E_PARSE, "line 2: field name 'B\x7f'");
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
    /* the message keeps the bytes: the cli escapes what it writes for a person */
    deps_fail("caf\xc3\xa9", TEMPER_E_PARSE, "bad package name 'caf\xc3\xa9'");
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

extern char **environ;

/* ---- .debs made here ---- */

/* One tar entry: 'f' file, 'd' directory, 'l' symlink, 'h' hard link, 'c' character device,
 * 'p' FIFO. `data` is a file's content or a link's target. */
struct tentry {
    const char *path;
    char type;
    unsigned mode;
    const char *data;
};

/* One ar member. */
struct member {
    const char *name;
    const void *data;
    size_t len;
};

/* A growing buffer that libarchive writes into. */
struct sink {
    char *buf;
    size_t len, cap;
};

static la_ssize_t
sink_write(struct archive *a, void *arg, const void *data, size_t len)
{
    struct sink *s = arg;

    (void)a;
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->buf = realloc(s->buf, s->cap);
        ck_assert_ptr_nonnull(s->buf);
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return (la_ssize_t)len;
}

static void
add_entry(struct archive *a, const struct tentry *e)
{
    struct archive_entry *ae = archive_entry_new();
    size_t len = e->type == 'f' && e->data ? strlen(e->data) : 0;

    archive_entry_set_pathname(ae, e->path);
    archive_entry_set_perm(ae, e->mode);
    archive_entry_set_mtime(ae, 1700000000, 0);
    archive_entry_set_filetype(ae, e->type == 'd'   ? AE_IFDIR
                                   : e->type == 'l' ? AE_IFLNK
                                   : e->type == 'c' ? AE_IFCHR
                                   : e->type == 'p' ? AE_IFIFO
                                                    : AE_IFREG);
    if (e->type == 'c')
        archive_entry_set_rdev(ae, makedev(1, 3));
    if (e->type == 'l')
        archive_entry_set_symlink(ae, e->data);
    if (e->type == 'h')
        archive_entry_set_hardlink(ae, e->data);
    archive_entry_set_size(ae, (la_int64_t)len);
    ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
    if (len > 0)
        ck_assert_int_eq(archive_write_data(a, e->data, len), (la_ssize_t)len);
    archive_entry_free(ae);
}

/* A tar (GNU format, as dpkg-deb writes) of `n` entries, compressed with `filter` ("xz", "zstd",
 * "gzip" or NULL). */
static struct sink
make_tar(const struct tentry *e, size_t n, const char *filter)
{
    struct archive *a = archive_write_new();
    struct sink s = {0};

    ck_assert_int_eq(archive_write_set_format_gnutar(a), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
    if (filter != NULL)
        ck_assert_int_eq(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_open(a, &s, NULL, sink_write, NULL), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++)
        add_entry(a, &e[i]);
    ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return s;
}

/* Writes an ar archive of `n` members at `rel` in the test directory. */
static void
write_ar(const char *rel, const struct member *m, size_t n)
{
    struct archive *a = archive_write_new();
    struct sink s = {0};

    ck_assert_int_eq(archive_write_set_format_ar_svr4(a), ARCHIVE_OK);
    /* No padding to a block after the last member: an ar archive ends with it. */
    ck_assert_int_eq(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_open(a, &s, NULL, sink_write, NULL), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();

        archive_entry_set_pathname(ae, m[i].name);
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_size(ae, (la_int64_t)m[i].len);
        ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
        if (m[i].len > 0)
            ck_assert_int_eq(archive_write_data(a, m[i].data, m[i].len), (la_ssize_t)m[i].len);
        archive_entry_free(ae);
    }
    ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    testutil_write(rel, s.buf, s.len);
    free(s.buf);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The control file of `package` (and an md5sums file), as dpkg-deb writes them into
 * control.tar. */
static struct sink
control_tar(const char *package, const char *filter)
{
    char text[512];
    const struct tentry control[] = {
        {"./control", 'f', 0644, text},
        {"./md5sums", 'f', 0644, "d41d8cd98f00b204e9800998ecf8427e  etc/x\n"}};

    snprintf(text, sizeof(text), "Package: %s\nVersion: 1.0\nArchitecture: all\n", package);
    return make_tar(control, N(control), filter);
}

/* An uncompressed control.tar member for `package` (made once per name; kept for the run). */
static struct member
control_member(const char *package)
{
    static struct {
        char name[64];
        struct sink tar;
    } made[8];

    for (size_t i = 0; i < N(made); i++) {
        if (made[i].name[0] == '\0') {
            snprintf(made[i].name, sizeof(made[i].name), "%s", package);
            made[i].tar = control_tar(package, NULL);
        }
        if (strcmp(made[i].name, package) == 0)
            return (struct member){"control.tar", made[i].tar.buf, made[i].tar.len};
    }
    ck_abort_msg("too many control members");
    return (struct member){0};
}

/* A .deb at `rel` whose control.tar.xz holds `c` (made by make_tar) and whose data.tar.xz holds
 * `e`; frees c. */
static void
write_deb(const char *rel, struct sink c, const struct tentry *e, size_t n)
{
    struct sink d = make_tar(e, n, "xz");
    struct member m[] = {{"debian-binary", "2.0\n", 4},
                         {"control.tar.xz", c.buf, c.len},
                         {"data.tar.xz", d.buf, d.len}};

    write_ar(rel, m, 3);
    free(c.buf);
    free(d.buf);
}

/* A .deb whose control.tar holds the entries `control`. */
static void
make_deb_of(const char *rel, const struct tentry *control, size_t ncontrol, const struct tentry *e,
            size_t n)
{
    write_deb(rel, make_tar(control, ncontrol, "xz"), e, n);
}

/* A well-formed .deb at `rel` for `package`, whose data.tar.xz holds `e`. */
static void
make_deb(const char *rel, const char *package, const struct tentry *e, size_t n)
{
    write_deb(rel, control_tar(package, "xz"), e, n);
}

/* Unpacks the .deb at `rel` into root as `package`. */
static int
unpack(struct pkg_root *root, const char *rel, const char *package, struct temper_err *err)
{
    int fd = open(testutil_path(rel), O_RDONLY | O_CLOEXEC);
    int rc;

    ck_assert_int_ge(fd, 0);
    rc = pkg_root_unpack(root, fd, package, err);
    close(fd);
    return rc;
}

static struct pkg_root *
new_root(void)
{
    struct pkg_root *root = NULL;
    struct temper_err err;

    ck_assert_msg(pkg_root_new(testutil_path("root"), &root, &err) == 0, "%s", err.msg);
    return root;
}

/* A new test directory (the last one removed) with a new root in it: for a test of several
 * cases. */
static struct pkg_root *
fresh_root(void)
{
    testutil_teardown();
    testutil_setup();
    return new_root();
}

/* Makes a .deb of `e` and unpacks it into root; the result of pkg_root_unpack. */
static int
unpack_entries(struct pkg_root *root, const char *package, const struct tentry *e, size_t n,
               struct temper_err *err)
{
    char rel[256];

    snprintf(rel, sizeof(rel), "%s.deb", package);
    make_deb(rel, package, e, n);
    return unpack(root, rel, package, err);
}

static void
assert_ok(int rc, const struct temper_err *err)
{
    ck_assert_msg(rc == 0, "unexpected error: %s", err->msg);
}

static void
assert_refused(int rc, const struct temper_err *err, enum temper_errc code, const char *part)
{
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(err->code == code, "code %d, not %d: %s", err->code, code, err->msg);
    ck_assert_msg(strstr(err->msg, part) != NULL, "'%s' is not in: %s", part, err->msg);
}

/* Whether root-relative `rel` is what lstat says: its mode (type and permission bits). */
static mode_t
mode_of(const char *rel)
{
    char path[8192];
    struct stat st;

    snprintf(path, sizeof(path), "root/%s", rel);
    ck_assert_msg(lstat(testutil_path(path), &st) == 0, "lstat %s: %s", rel, strerror(errno));
    return st.st_mode;
}

static bool
exists(const char *rel)
{
    char path[8192];
    struct stat st;

    snprintf(path, sizeof(path), "root/%s", rel);
    return lstat(testutil_path(path), &st) == 0;
}

static void
assert_content(const char *rel, const char *want)
{
    char path[8192], *text;
    size_t len;

    snprintf(path, sizeof(path), "root/%s", rel);
    testutil_read(testutil_path(path), &text, &len);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(text, want, len) == 0);
    free(text);
}

static void
assert_link(const char *rel, const char *want)
{
    char path[8192], target[4096];
    ssize_t n;

    snprintf(path, sizeof(path), "root/%s", rel);
    n = readlink(testutil_path(path), target, sizeof(target) - 1);
    ck_assert_msg(n >= 0, "readlink %s: %s", rel, strerror(errno));
    target[n] = '\0';
    ck_assert_str_eq(target, want);
}

/* pkg_root_owners into one "path package\n" text. */
struct owners {
    char *text;
    size_t len;
    size_t n;
};

static int
add_owner(const char *path, const char *package, void *arg)
{
    struct owners *o = arg;
    size_t more = strlen(path) + strlen(package) + 2;

    o->text = realloc(o->text, o->len + more + 1);
    ck_assert_ptr_nonnull(o->text);
    snprintf(o->text + o->len, more + 1, "%s %s\n", path, package);
    o->len += more;
    o->n++;
    return 0;
}

static struct owners
owners_of(const struct pkg_root *root)
{
    struct owners o = {0};

    o.text = strdup("");
    ck_assert_int_eq(pkg_root_owners(root, add_owner, &o), 0);
    return o;
}

/* ---- pkg_root_unpack ---- */

START_TEST(test_pkg_root_unpack_writes_entries_in_merged_form)
{
    static const struct tentry e[] = {
        {"./", 'd', 0755, NULL},
        {"./bin/", 'd', 0755, NULL},
        {"./bin/sh", 'f', 0755, "#!shell\n"},
        {"./lib/", 'd', 0755, NULL},
        {"./lib/x86_64-linux-gnu/", 'd', 0755, NULL},
        {"./lib/x86_64-linux-gnu/libz.so.1.2", 'f', 0644, "ELF"},
        {"./lib/x86_64-linux-gnu/libz.so.1", 'l', 0777, "libz.so.1.2"},
        {"./lib64/ld.so", 'l', 0777, "/lib/x86_64-linux-gnu/ld.so"},
        {"./usr/", 'd', 0755, NULL},
        {"./usr/share/doc/z/", 'd', 0755, NULL},
        {"./usr/share/doc/z/copyright", 'f', 0644, "free\n"},
    };
    struct pkg_root *root = new_root();
    struct temper_err err;
    struct owners o;

    assert_ok(unpack_entries(root, "z", e, N(e), &err), &err);
    assert_link("bin", "usr/bin");
    assert_link("lib", "usr/lib");
    assert_link("lib64", "usr/lib64");
    ck_assert(S_ISDIR(mode_of("usr/bin")));
    assert_content("usr/bin/sh", "#!shell\n");
    ck_assert_uint_eq(mode_of("usr/bin/sh") & 07777, 0755);
    ck_assert_uint_eq(mode_of("usr/lib/x86_64-linux-gnu/libz.so.1.2") & 07777, 0644);
    assert_link("usr/lib/x86_64-linux-gnu/libz.so.1", "libz.so.1.2");
    assert_link("usr/lib64/ld.so", "/lib/x86_64-linux-gnu/ld.so");
    assert_content("usr/share/doc/z/copyright", "free\n");
    ck_assert(!exists("sbin"));
    o = owners_of(root);
    ck_assert_str_eq(o.text, "bin (temper)\n"
                             "lib (temper)\n"
                             "lib64 (temper)\n"
                             "usr z\n"
                             "usr/bin z\n"
                             "usr/bin/sh z\n"
                             "usr/lib z\n"
                             "usr/lib/x86_64-linux-gnu z\n"
                             "usr/lib/x86_64-linux-gnu/libz.so.1 z\n"
                             "usr/lib/x86_64-linux-gnu/libz.so.1.2 z\n"
                             "usr/lib64 z\n"
                             "usr/lib64/ld.so z\n"
                             "usr/share z\n"
                             "usr/share/doc z\n"
                             "usr/share/doc/z z\n"
                             "usr/share/doc/z/copyright z\n");
    free(o.text);
    ck_assert_uint_eq(pkg_root_skipped(root), 0);
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_unpack_reads_every_compression)
{
    static const struct tentry e[] = {{"./etc/x", 'f', 0644, "x\n"}};
    static const char *const filters[] = {NULL, "gzip", "zstd", "xz"};
    static const char *const names[] = {"data.tar", "data.tar.gz", "data.tar.zst", "data.tar.xz"};

    for (size_t i = 0; i < N(filters); i++) {
        struct sink d = make_tar(e, N(e), filters[i]);
        struct member m[] = {
            {"debian-binary", "2.0\n", 4}, control_member("x"), {names[i], d.buf, d.len}};
        struct pkg_root *root;
        struct temper_err err;

        root = fresh_root();
        write_ar("x.deb", m, N(m));
        assert_ok(unpack(root, "x.deb", "x", &err), &err);
        assert_content("etc/x", "x\n");
        pkg_root_free(root);
        free(d.buf);
    }
}
END_TEST

START_TEST(test_pkg_root_unpack_refuses_bad_paths)
{
    static const struct {
        struct tentry e;
        const char *part;
    } bad[] = {
        {{"/etc/passwd", 'f', 0644, "x"}, "'/etc/passwd' is an absolute path"},
        {{"./a/../../etc/passwd", 'f', 0644, "x"}, "has a '..' component"},
        {{"../x", 'f', 0644, "x"}, "has a '..' component"},
        {{"./a//b", 'f', 0644, "x"}, "'./a//b' has an empty component"},
        {{"./a/./b", 'f', 0644, "x"}, "has a '.' component"},
    };

    for (size_t i = 0; i < N(bad); i++) {
        struct pkg_root *root = fresh_root();
        struct temper_err err;

        assert_refused(unpack_entries(root, "evil", &bad[i].e, 1, &err), &err, TEMPER_E_PARSE,
                       bad[i].part);
        ck_assert(strncmp(err.msg, "package 'evil': ", 16) == 0);
        pkg_root_free(root);
    }
}
END_TEST

START_TEST(test_pkg_root_unpack_never_follows_a_shipped_symlink)
{
    static const struct tentry e[] = {
        {"./a", 'l', 0777, "/etc"},
        {"./a/passwd", 'f', 0644, "root::0:0::/:/bin/sh\n"},
    };
    static const struct tentry up[] = {{"./up", 'l', 0777, "../../../../tmp"}};
    static const struct tentry through_up[] = {{"./up/x", 'f', 0644, "x"}};
    struct pkg_root *root = new_root();
    struct temper_err err;

    assert_refused(unpack_entries(root, "evil", e, N(e), &err), &err, TEMPER_E_POLICY,
                   "'a/passwd' goes through 'a', a symlink shipped by 'evil'");
    assert_link("a", "/etc");
    pkg_root_free(root);

    /* The target is kept as text, and a later package cannot go through it either. */
    root = fresh_root();
    assert_ok(unpack_entries(root, "up", up, N(up), &err), &err);
    assert_link("up", "../../../../tmp");
    assert_refused(unpack_entries(root, "other", through_up, N(through_up), &err), &err,
                   TEMPER_E_POLICY,
                   "package 'other': 'up/x' goes through 'up', a symlink shipped by 'up'");
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_unpack_keeps_merged_symlinks_as_debootstrap_makes_them)
{
    static const struct tentry good[] = {{"./lib", 'l', 0777, "usr/lib"},
                                         {"./lib/x", 'f', 0644, "x"}};
    static const struct tentry bad_target[] = {{"./lib", 'l', 0777, "/etc"}};
    static const struct tentry file[] = {{"./sbin", 'f', 0755, "x"}};
    struct pkg_root *root = new_root();
    struct temper_err err;
    struct owners o;

    assert_ok(unpack_entries(root, "base-files", good, N(good), &err), &err);
    assert_link("lib", "usr/lib");
    assert_content("usr/lib/x", "x");
    o = owners_of(root);
    ck_assert_str_eq(o.text, "lib base-files\nusr base-files\nusr/lib base-files\n"
                             "usr/lib/x base-files\n");
    free(o.text);
    pkg_root_free(root);

    root = fresh_root();
    assert_refused(unpack_entries(root, "evil", bad_target, N(bad_target), &err), &err,
                   TEMPER_E_POLICY, "'lib' is a merged-/usr symlink and must point to 'usr/lib'");
    pkg_root_free(root);

    root = fresh_root();
    assert_refused(unpack_entries(root, "evil", file, N(file), &err), &err, TEMPER_E_POLICY,
                   "'./sbin' is a merged-/usr directory");
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_unpack_clears_setuid_and_keeps_sticky_on_directories)
{
    static const struct tentry e[] = {
        {"./usr/bin/su", 'f', 04755, "su"},    {"./usr/bin/wall", 'f', 02755, "wall"},
        {"./usr/bin/sticky", 'f', 01755, "t"}, {"./var/mail/", 'd', 02775, NULL},
        {"./tmp/", 'd', 01777, NULL},
    };
    struct pkg_root *root = new_root();
    struct temper_err err;

    assert_ok(unpack_entries(root, "m", e, N(e), &err), &err);
    ck_assert_uint_eq(mode_of("usr/bin/su") & 07777, 0755);
    ck_assert_uint_eq(mode_of("usr/bin/wall") & 07777, 0755);
    ck_assert_uint_eq(mode_of("usr/bin/sticky") & 07777, 0755);
    ck_assert_uint_eq(mode_of("var/mail") & 07777, 0775);
    ck_assert_uint_eq(mode_of("tmp") & 07777, 01777);
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_unpack_skips_devices_and_fifos)
{
    static const struct tentry e[] = {
        {"./dev/", 'd', 0755, NULL},
        {"./dev/null", 'c', 0666, NULL},
        {"./run/initctl", 'p', 0600, NULL},
        {"./etc/x", 'f', 0644, "x"},
    };
    struct pkg_root *root = new_root();
    struct temper_err err;

    assert_ok(unpack_entries(root, "d", e, N(e), &err), &err);
    ck_assert(!exists("dev/null"));
    ck_assert(!exists("run/initctl"));
    ck_assert(S_ISDIR(mode_of("dev")));
    ck_assert_uint_eq(pkg_root_skipped(root), 2);
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_unpack_refuses_a_conflict_naming_both_packages)
{
    static const struct tentry a[] = {{"./bin/x", 'f', 0755, "from a"}};
    static const struct tentry b[] = {{"./usr/bin/x", 'f', 0755, "from b"}};
    static const struct tentry c[] = {{"./usr/bin/x", 'l', 0777, "y"}};
    static const struct tentry d[] = {{"./usr/bin/x", 'f', 0644, "from a"}};
    static const struct tentry twice[] = {{"./etc/t", 'f', 0644, "1"}, {"./etc/t", 'f', 0644, "2"}};
    struct pkg_root *root = new_root();
    struct temper_err err;

    assert_ok(unpack_entries(root, "a", a, N(a), &err), &err);
    /* Paths are compared merged: /bin/x and /usr/bin/x are one. */
    assert_refused(unpack_entries(root, "b", b, N(b), &err), &err, TEMPER_E_POLICY,
                   "'usr/bin/x' is shipped by 'a' and by 'b', with other content");
    pkg_root_free(root);

    root = fresh_root();
    assert_ok(unpack_entries(root, "a", a, N(a), &err), &err);
    assert_refused(unpack_entries(root, "c", c, N(c), &err), &err, TEMPER_E_POLICY,
                   "'usr/bin/x' is shipped by 'a' and by 'c', as a file and as a symlink");
    pkg_root_free(root);

    root = fresh_root();
    assert_ok(unpack_entries(root, "a", a, N(a), &err), &err);
    assert_refused(unpack_entries(root, "d", d, N(d), &err), &err, TEMPER_E_POLICY,
                   "shipped by 'a' and by 'd', with other modes (0755 and 0644)");
    pkg_root_free(root);

    root = fresh_root();
    assert_refused(unpack_entries(root, "t", twice, N(twice), &err), &err, TEMPER_E_POLICY,
                   "'etc/t' is shipped twice, with other content");
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_unpack_keeps_an_identical_file_once)
{
    static const struct tentry a[] = {{"./usr/share/doc/c/copyright", 'f', 0644, "same\n"},
                                      {"./usr/share/doc/", 'd', 0755, NULL}};
    static const struct tentry b[] = {{"./usr/share/doc/", 'd', 0700, NULL},
                                      {"./usr/share/doc/c/copyright", 'f', 0644, "same\n"},
                                      {"./usr/share/doc/c/link", 'l', 0777, "copyright"}};
    static const struct tentry c[] = {{"./usr/share/doc/c/link", 'l', 0777, "copyright"}};
    struct pkg_root *root = new_root();
    struct temper_err err;
    struct owners o;

    assert_ok(unpack_entries(root, "a", a, N(a), &err), &err);
    assert_ok(unpack_entries(root, "b", b, N(b), &err), &err);
    assert_ok(unpack_entries(root, "c", c, N(c), &err), &err);
    assert_content("usr/share/doc/c/copyright", "same\n");
    /* The directory a made for the file, then shipped, keeps a's mode: b's comes after. */
    ck_assert_uint_eq(mode_of("usr/share/doc") & 07777, 0755);
    o = owners_of(root);
    ck_assert_str_eq(o.text, "usr a\nusr/share a\nusr/share/doc a\nusr/share/doc/c a\n"
                             "usr/share/doc/c/copyright a\nusr/share/doc/c/link b\n");
    free(o.text);
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_unpack_links_hard_links_to_earlier_entries)
{
    static const struct tentry e[] = {
        {"./bin/bunzip2", 'f', 0755, "bzip2 program"},
        {"./bin/bzcat", 'h', 0755, "./bin/bunzip2"},
        {"./usr/bin/bzip2", 'h', 0755, "./bin/bunzip2"},
    };
    static const struct tentry missing[] = {{"./bin/x", 'h', 0755, "./bin/nothing"}};
    static const struct tentry other[] = {{"./bin/y", 'h', 0755, "./bin/bunzip2"}};
    static const struct tentry later[] = {{"./bin/z", 'h', 0755, "./bin/w"},
                                          {"./bin/w", 'f', 0755, "w"}};
    struct pkg_root *root = new_root();
    struct temper_err err;
    struct stat a, b;

    assert_ok(unpack_entries(root, "bzip2", e, N(e), &err), &err);
    ck_assert_int_eq(lstat(testutil_path("root/usr/bin/bunzip2"), &a), 0);
    ck_assert_int_eq(lstat(testutil_path("root/usr/bin/bzcat"), &b), 0);
    ck_assert_uint_eq(a.st_ino, b.st_ino);
    ck_assert_uint_eq(a.st_nlink, 3);
    assert_content("usr/bin/bzip2", "bzip2 program");
    /* A hard link may only name a file of its own package, shipped before it. */
    assert_refused(unpack_entries(root, "other", other, N(other), &err), &err, TEMPER_E_PARSE,
                   "'usr/bin/y' is a hard link to './bin/bunzip2', which is not a file of the "
                   "package before it");
    pkg_root_free(root);

    root = fresh_root();
    assert_refused(unpack_entries(root, "m", missing, N(missing), &err), &err, TEMPER_E_PARSE,
                   "'usr/bin/x' is a hard link to './bin/nothing'");
    pkg_root_free(root);

    root = fresh_root();
    assert_refused(unpack_entries(root, "l", later, N(later), &err), &err, TEMPER_E_PARSE,
                   "'usr/bin/z' is a hard link to './bin/w'");
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_unpack_refuses_a_broken_root)
{
    static const struct tentry bad[] = {{"/x", 'f', 0644, "x"}};
    static const struct tentry good[] = {{"./x", 'f', 0644, "x"}};
    struct pkg_root *root = new_root();
    struct temper_err err;

    assert_refused(unpack_entries(root, "bad", bad, N(bad), &err), &err, TEMPER_E_PARSE, "'/x'");
    assert_refused(unpack_entries(root, "good", good, N(good), &err), &err, TEMPER_E_USAGE,
                   "package 'good': the root is incomplete");
    assert_refused(pkg_root_generate(root, &err), &err, TEMPER_E_USAGE, "incomplete");
    pkg_root_free(root);
    /* pkg_root_new makes its directory: an existing one is refused. */
    ck_assert_int_eq(pkg_root_new(testutil_path("root"), &root, &err), -1);
    ck_assert_int_eq(err.sys_errno, EEXIST);
}
END_TEST

START_TEST(test_pkg_root_unpack_caps_paths_links_and_sizes)
{
    char *long_path = malloc(PKG_DEB_PATH_MAX_BYTES + 8), *long_target = malloc(5000);
    struct tentry path_e[1] = {{NULL, 'f', 0644, "x"}};
    struct tentry link_e[1] = {{"./l", 'l', 0777, NULL}};
    struct pkg_root *root;
    struct temper_err err;

    memset(long_path, 'a', PKG_DEB_PATH_MAX_BYTES + 7);
    memcpy(long_path, "./", 2);
    for (size_t i = 100; i < PKG_DEB_PATH_MAX_BYTES; i += 100)
        long_path[i] = '/';
    long_path[PKG_DEB_PATH_MAX_BYTES + 7] = '\0';
    path_e[0].path = long_path;
    root = new_root();
    assert_refused(unpack_entries(root, "p", path_e, 1, &err), &err, TEMPER_E_LIMIT,
                   "PKG_DEB_PATH_MAX_BYTES");
    pkg_root_free(root);

    memset(long_target, 'b', 4999);
    long_target[4999] = '\0';
    link_e[0].data = long_target;
    root = fresh_root();
    assert_refused(unpack_entries(root, "l", link_e, 1, &err), &err, TEMPER_E_LIMIT,
                   "PKG_DEB_LINK_MAX_BYTES");
    pkg_root_free(root);
    free(long_path);
    free(long_target);
}
END_TEST

/* A GNU tar header for a file of `size` bytes (base-256 size field), its data left out. */
static void
gnu_header(unsigned char h[512], const char *name, unsigned long long size)
{
    unsigned sum = 0;

    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    h[124] = 0x80;
    for (int i = 0; i < 8; i++)
        h[135 - i] = (unsigned char)(size >> (8 * i));
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = '0';
    memcpy(h + 257, "ustar  ", 8);
    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
}

START_TEST(test_pkg_root_unpack_refuses_a_bomb_before_reading_it)
{
    unsigned char tar[1024];
    struct member m[] = {
        {"debian-binary", "2.0\n", 4}, control_member("bomb"), {"data.tar", tar, sizeof(tar)}};
    struct pkg_root *root = new_root();
    struct temper_err err;

    /* An entry that says it holds 17 GiB: refused from its header, before a byte is written
     * (a real bomb's bytes are counted as they come, against the same cap). */
    gnu_header(tar, "./big", 17ULL << 30);
    memset(tar + 512, 0, 512);
    write_ar("bomb.deb", m, N(m));
    assert_refused(unpack(root, "bomb.deb", "bomb", &err), &err, TEMPER_E_LIMIT,
                   "package 'bomb': 'big': the package unpacks to over 16 GiB "
                   "(PKG_DEB_MAX_BYTES)");
    ck_assert(!exists("big"));
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_unpack_refuses_a_corrupt_or_truncated_deb)
{
    static const struct tentry e[] = {{"./etc/a", 'f', 0644, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
                                      {"./etc/b", 'f', 0644, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}};
    struct sink d = make_tar(e, N(e), "xz"), plain = make_tar(e, N(e), NULL);
    struct member m[] = {
        {"debian-binary", "2.0\n", 4}, control_member("x"), {"data.tar.xz", d.buf, d.len}};
    struct pkg_root *root;
    struct temper_err err;
    char *deb;
    size_t len;

    /* Cut inside data.tar.xz. */
    write_ar("x.deb", m, N(m));
    testutil_read(testutil_path("x.deb"), &deb, &len);
    testutil_write("cut.deb", deb, len - d.len / 2);
    root = new_root();
    assert_refused(unpack(root, "cut.deb", "x", &err), &err, TEMPER_E_PARSE,
                   "package 'x': 'data.tar.xz'");
    pkg_root_free(root);
    free(deb);

    /* Bytes changed in the middle of the xz stream: its checks fail. */
    d.buf[d.len / 2] ^= 0x55;
    d.buf[d.len / 2 + 1] ^= 0x55;
    root = fresh_root();
    write_ar("bad.deb", m, N(m));
    assert_refused(unpack(root, "bad.deb", "x", &err), &err, TEMPER_E_PARSE,
                   "package 'x': 'data.tar.xz'");
    pkg_root_free(root);

    /* A plain tar named data.tar.xz. */
    m[2].data = plain.buf;
    m[2].len = plain.len;
    root = fresh_root();
    write_ar("plain.deb", m, N(m));
    assert_refused(unpack(root, "plain.deb", "x", &err), &err, TEMPER_E_PARSE,
                   "'data.tar.xz' is not xz-compressed");
    pkg_root_free(root);

    /* Not an ar archive at all. */
    root = fresh_root();
    testutil_write("tar.deb", plain.buf, plain.len);
    assert_refused(unpack(root, "tar.deb", "tar", &err), &err, TEMPER_E_PARSE,
                   "package 'tar': not a Debian package");
    pkg_root_free(root);
    free(d.buf);
    free(plain.buf);
}
END_TEST

START_TEST(test_pkg_root_unpack_reads_members_as_dpkg_does)
{
    static const struct tentry e[] = {{"./etc/x", 'f', 0644, "x"}};
    struct sink d = make_tar(e, N(e), NULL);
    const struct member binary = {"debian-binary", "2.0\n", 4}, control = control_member("x"),
                        data = {"data.tar", d.buf, d.len}, ext = {"_gpgorigin", "sig", 3},
                        bz2 = {"data.tar.bz2", "BZh", 3}, odd = {"extra", "?", 1};
    static const struct {
        int members[6];
        const char *part; /* NULL: accepted */
        enum temper_errc code;
    } cases[] = {
        /* 0 binary, 1 control, 2 data, 3 "_gpgorigin", 4 "data.tar.bz2", 5 "extra"; -1 ends */
        {{0, 3, 1, 3, 2, -1}, NULL, TEMPER_E_NONE},
        {{0, 1, 2, 5, 3, -1}, NULL, TEMPER_E_NONE},
        {{0, 1, -1}, "no data.tar member", TEMPER_E_PARSE},
        {{0, 2, -1}, "member 'data.tar' is out of place (before control.tar)", TEMPER_E_PARSE},
        {{1, 2, -1}, "its first member is 'control.tar', not 'debian-binary'", TEMPER_E_PARSE},
        {{0, 1, 5, 2, -1}, "unknown member 'extra' before data.tar", TEMPER_E_PARSE},
        {{0, 1, 2, 2, -1}, "a second one, after data.tar", TEMPER_E_PARSE},
        {{0, 1, 1, 2, -1}, "(a second control.tar)", TEMPER_E_PARSE},
        {{0, 1, 4, -1},
         "member 'data.tar.bz2': temper reads data.tar, data.tar.gz",
         TEMPER_E_PARSE},
        {{-1}, "package 'x'", TEMPER_E_PARSE},
    };
    const struct member *all[] = {&binary, &control, &data, &ext, &bz2, &odd};

    for (size_t i = 0; i < N(cases); i++) {
        struct member m[6];
        size_t n = 0;
        struct pkg_root *root;
        struct temper_err err;

        while (n < 6 && cases[i].members[n] >= 0) {
            m[n] = *all[cases[i].members[n]];
            n++;
        }
        root = fresh_root();
        write_ar("x.deb", m, n);
        if (cases[i].part == NULL) {
            assert_ok(unpack(root, "x.deb", "x", &err), &err);
            assert_content("etc/x", "x");
        } else {
            assert_refused(unpack(root, "x.deb", "x", &err), &err, cases[i].code, cases[i].part);
        }
        pkg_root_free(root);
    }
    free(d.buf);
}
END_TEST

START_TEST(test_pkg_root_unpack_checks_debian_binary_and_member_caps)
{
    static const struct tentry e[] = {{"./etc/x", 'f', 0644, "x"}};
    struct sink d = make_tar(e, N(e), NULL);
    static const struct {
        const char *text;
        const char *part;
    } versions[] = {
        {"2.0\n", NULL},
        {"2.1\nsome future line\n", NULL},
        {"3.0\n", "'debian-binary' says format 3; temper reads format 2"},
        {"2.0", "not a format version and a newline"},
        {"!<arch>\n", "not a format version"},
    };
    struct member m[PKG_DEB_MEMBERS_MAX + 2];
    struct pkg_root *root;
    struct temper_err err;
    char *big;

    for (size_t i = 0; i < N(versions); i++) {
        m[0] = (struct member){"debian-binary", versions[i].text, strlen(versions[i].text)};
        m[1] = control_member("x");
        m[2] = (struct member){"data.tar", d.buf, d.len};
        root = fresh_root();
        write_ar("x.deb", m, 3);
        if (versions[i].part == NULL)
            assert_ok(unpack(root, "x.deb", "x", &err), &err);
        else
            assert_refused(unpack(root, "x.deb", "x", &err), &err, TEMPER_E_PARSE,
                           versions[i].part);
        pkg_root_free(root);
    }

    /* More members than any .deb has. */
    m[0] = (struct member){"debian-binary", "2.0\n", 4};
    for (size_t i = 1; i <= PKG_DEB_MEMBERS_MAX; i++)
        m[i] = (struct member){"_x", "", 0};
    m[PKG_DEB_MEMBERS_MAX + 1] = (struct member){"data.tar", d.buf, d.len};
    root = fresh_root();
    write_ar("many.deb", m, PKG_DEB_MEMBERS_MAX + 2);
    assert_refused(unpack(root, "many.deb", "many", &err), &err, TEMPER_E_LIMIT,
                   "PKG_DEB_MEMBERS_MAX");
    pkg_root_free(root);

    /* A control.tar bigger than any is refused, not skipped. */
    root = fresh_root();
    big = calloc(1, PKG_DEB_SKIP_MAX_BYTES + 1);
    ck_assert_ptr_nonnull(big);
    m[1] = (struct member){"control.tar", big, PKG_DEB_SKIP_MAX_BYTES + 1};
    m[2] = (struct member){"data.tar", d.buf, d.len};
    write_ar("big.deb", m, 3);
    free(big);
    assert_refused(unpack(root, "big.deb", "big", &err), &err, TEMPER_E_LIMIT,
                   "member 'control.tar' is over 64 MiB (PKG_DEB_SKIP_MAX_BYTES)");
    pkg_root_free(root);
    free(d.buf);
}
END_TEST

/* ---- pkg_root_generate ---- */

START_TEST(test_pkg_root_generate_writes_the_ca_bundle)
{
    static const struct tentry e[] = {
        {"./etc/ssl/certs/", 'd', 0755, NULL},
        {"./usr/share/ca-certificates/mozilla/b.crt", 'f', 0644, "B\n"},
        {"./usr/share/ca-certificates/mozilla/B_upper.crt", 'f', 0644, "U"},
        {"./usr/share/ca-certificates/mozilla/a.crt", 'f', 0644, "A"},
        {"./usr/share/ca-certificates/mozilla/readme", 'f', 0644, "not a certificate"},
        {"./usr/share/ca-certificates/local/c.crt", 'f', 0644, "C\n"},
        {"./usr/share/ca-certificates/mozilla/empty.crt", 'f', 0644, ""},
    };
    struct pkg_root *root = new_root();
    struct temper_err err;
    struct owners o;

    assert_ok(unpack_entries(root, "ca-certificates", e, N(e), &err), &err);
    assert_ok(pkg_root_generate(root, &err), &err);
    /* Bytewise by path: "local/" < "mozilla/", 'B' < 'a' < 'b' < 'e'. */
    assert_content("etc/ssl/certs/ca-certificates.crt", "C\nU\nA\nB\n");
    ck_assert_uint_eq(mode_of("etc/ssl/certs/ca-certificates.crt") & 07777, 0644);
    o = owners_of(root);
    ck_assert_msg(strstr(o.text, "etc/ssl/certs ca-certificates\n"
                                 "etc/ssl/certs/ca-certificates.crt (temper)\n") != NULL,
                  "%s", o.text);
    free(o.text);
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_generate_writes_the_dpkg_database)
{
    static const struct tentry libz_control[] = {
        {"./control", 'f', 0644,
         "Package: libz1\nVersion: 1:1.2.13-1\nArchitecture: amd64\nMulti-Arch: same\n"
         "Description: zlib\n the library\n"},
        {"./md5sums", 'f', 0644, "f6b61d2b1b7ba4f3d3bfbbe26d1a2c33  lib/x/libz.so.1\n"},
        {"./postinst", 'f', 0755, "#!/bin/sh\n"}};
    static const struct tentry libz[] = {{"./lib/x/libz.so.1", 'f', 0644, "z"},
                                         {"./usr/share/doc/libz1/", 'd', 0755, NULL}};
    static const struct tentry tools_control[] = {
        {"./control", 'f', 0644, "Package: tools\nVersion: 2\nArchitecture: all\n"}};
    static const struct tentry tools[] = {{"./usr/bin/tool", 'f', 0755, "t"},
                                          {"./usr/bin/t", 'l', 0777, "tool"}};
    struct pkg_root *root = new_root();
    struct temper_err err;
    struct owners o;

    make_deb_of("libz1.deb", libz_control, N(libz_control), libz, N(libz));
    make_deb_of("tools.deb", tools_control, N(tools_control), tools, N(tools));
    assert_ok(unpack(root, "tools.deb", "tools", &err), &err);
    assert_ok(unpack(root, "libz1.deb", "libz1", &err), &err);
    assert_ok(pkg_root_generate(root, &err), &err);
    /* by name, installed, Status after Package, as dpkg writes it */
    assert_content("var/lib/dpkg/status",
                   "Package: libz1\nStatus: install ok installed\nVersion: 1:1.2.13-1\n"
                   "Architecture: amd64\nMulti-Arch: same\nDescription: zlib\n the library\n\n"
                   "Package: tools\nStatus: install ok installed\nVersion: 2\n"
                   "Architecture: all\n\n");
    /* info files named as dpkg names them; paths in the form the root holds them */
    assert_content("var/lib/dpkg/info/libz1:amd64.list",
                   "/usr/lib/x/libz.so.1\n/usr/share/doc/libz1\n");
    assert_content("var/lib/dpkg/info/libz1:amd64.md5sums",
                   "f6b61d2b1b7ba4f3d3bfbbe26d1a2c33  lib/x/libz.so.1\n");
    assert_content("var/lib/dpkg/info/tools.list", "/usr/bin/t\n/usr/bin/tool\n");
    ck_assert(!exists("var/lib/dpkg/info/tools.md5sums"));
    ck_assert(!exists("var/lib/dpkg/info/libz1:amd64.postinst")); /* never kept, never run */
    ck_assert_uint_eq(mode_of("var/lib/dpkg/status") & 07777, 0644);
    o = owners_of(root);
    ck_assert_msg(strstr(o.text, "var/lib/dpkg/status (temper)\n") != NULL, "%s", o.text);
    free(o.text);
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_unpack_checks_the_control_file)
{
    static const struct tentry other[] = {{"./control", 'f', 0644, "Package: other\n"}};
    static const struct tentry two[] = {
        {"./control", 'f', 0644, "Package: x\nArchitecture: all\n\nPackage: x\n"}};
    static const struct tentry arch[] = {
        {"./control", 'f', 0644, "Package: x\nArchitecture: ../\n"}};
    static const struct tentry none[] = {{"./md5sums", 'f', 0644, ""}};
    static const struct tentry e[] = {{"./etc/x", 'f', 0644, "x"}};
    static const struct {
        const struct tentry *control;
        const char *part;
    } cases[] = {
        {other, "package 'x': the control file is not one stanza with 'Package: x'"},
        {two, "the control file is not one stanza"},
        {arch, "and an Architecture dpkg takes"},
        {none, "'control.tar.xz' has no control file"},
    };

    for (size_t i = 0; i < N(cases); i++) {
        struct pkg_root *root = fresh_root();
        struct temper_err err;

        make_deb_of("x.deb", cases[i].control, 1, e, N(e));
        assert_refused(unpack(root, "x.deb", "x", &err), &err, TEMPER_E_PARSE, cases[i].part);
        ck_assert(!exists("etc/x"));
        pkg_root_free(root);
    }
}
END_TEST

START_TEST(test_pkg_root_generate_needs_the_mozilla_directory)
{
    static const struct tentry none[] = {{"./usr/share/ca-certificates/x/a.crt", 'f', 0644, "A"}};
    static const struct tentry link[] = {
        {"./usr/share/ca-certificates/mozilla/", 'd', 0755, NULL},
        {"./usr/share/ca-certificates/mozilla/a.crt", 'l', 0777, "/etc/shadow"}};
    struct pkg_root *root = new_root();
    struct temper_err err;

    assert_ok(unpack_entries(root, "x", none, N(none), &err), &err);
    assert_ok(pkg_root_generate(root, &err), &err);
    ck_assert(!exists("etc"));
    pkg_root_free(root);

    root = fresh_root();
    assert_ok(unpack_entries(root, "evil", link, N(link), &err), &err);
    assert_refused(pkg_root_generate(root, &err), &err, TEMPER_E_POLICY,
                   "'usr/share/ca-certificates/mozilla/a.crt' (shipped by 'evil') is a symlink");
    ck_assert(!exists("etc/ssl/certs/ca-certificates.crt"));
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_generate_gives_narrow_directories_their_mode)
{
    static const struct tentry e[] = {
        {"./usr/share/ro/", 'd', 0555, NULL},
        {"./usr/share/ro/inner/", 'd', 0500, NULL},
        {"./usr/share/ro/inner/f", 'f', 0444, "f"},
    };
    static const struct tentry more[] = {{"./usr/share/ro/g", 'f', 0444, "g"}};
    struct pkg_root *root = new_root();
    struct temper_err err;

    assert_ok(unpack_entries(root, "ro", e, N(e), &err), &err);
    /* A later package can still write there, root or not. */
    ck_assert_uint_eq(mode_of("usr/share/ro") & 07777, 0755);
    assert_ok(unpack_entries(root, "more", more, N(more), &err), &err);
    assert_ok(pkg_root_generate(root, &err), &err);
    ck_assert_uint_eq(mode_of("usr/share/ro") & 07777, 0555);
    ck_assert_uint_eq(mode_of("usr/share/ro/inner") & 07777, 0500);
    ck_assert_uint_eq(mode_of("usr/share/ro/inner/f") & 07777, 0444);
    pkg_root_free(root);
}
END_TEST

/* ---- real packages from the machine's mirror ---- */

/* Runs argv in the test directory, standard output into `out_rel` (or /dev/null); its status. */
static int
run_in_test_dir(const char *const argv[], const char *out_rel)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, testutil_dir);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_rel ? testutil_path(out_rel) : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_eq(posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* `apt-get download`s the packages into the test directory. */
static void
download(const char *const *packages)
{
    const char *argv[16] = {"apt-get", "download", "-qq"};
    size_t n = 3;

    while (*packages != NULL && n < 15)
        argv[n++] = *packages++;
    argv[n] = NULL;
    ck_assert_msg(run_in_test_dir(argv, NULL) == 0,
                  "apt-get download failed: this test needs the machine's apt mirror "
                  "(apt-get update first)");
}

/* Unpacks the downloaded .deb of `package` (the only file named "<package>_*.deb"). */
static void
unpack_downloaded(struct pkg_root *root, const char *package)
{
    const char *argv[] = {"sh", "-c", "ls \"$0\"_*.deb", package, NULL};
    char *name;
    size_t len;
    struct temper_err err;

    ck_assert_int_eq(run_in_test_dir(argv, "name.txt"), 0);
    testutil_read(testutil_path("name.txt"), &name, &len);
    ck_assert_uint_gt(len, 1);
    name[len - 1] = '\0';
    ck_assert_msg(strchr(name, '\n') == NULL, "several .debs for %s: %s", package, name);
    ck_assert_msg(unpack(root, name, package, &err) == 0, "%s", err.msg);
    free(name);
}

struct owner_check {
    const char *last;
    size_t n;
    const char *libc_owner, *lib_owner, *doc_owner;
};

static int
check_owner(const char *path, const char *package, void *arg)
{
    struct owner_check *c = arg;

    ck_assert_msg(c->last == NULL || strcmp(c->last, path) < 0, "'%s' after '%s'", path, c->last);
    c->last = path;
    c->n++;
    if (strcmp(path, "usr/lib/x86_64-linux-gnu/libc.so.6") == 0)
        c->libc_owner = package;
    if (strcmp(path, "lib64") == 0)
        c->lib_owner = package;
    if (strcmp(path, "usr/share/doc/libgcc-s1") == 0)
        c->doc_owner = package;
    return 0;
}

START_TEST(test_pkg_root_unpack_real_debs_into_a_merged_usr_root)
{
    static const char *const packages[] = {"libc6",       "zlib1g",    "bzip2",
                                           "gcc-12-base", "libgcc-s1", "libzstd1",
                                           "base-files",  "tzdata",    NULL};
    struct pkg_root *root;
    struct temper_err err;
    struct owner_check c = {0};
    struct stat a, b;

    download(packages);
    root = new_root();
    for (size_t i = 0; packages[i] != NULL; i++)
        unpack_downloaded(root, packages[i]);
    assert_ok(pkg_root_generate(root, &err), &err);
    assert_link("lib", "usr/lib");
    assert_link("lib64", "usr/lib64");
    assert_link("bin", "usr/bin");
    assert_link("usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    ck_assert(S_ISREG(mode_of("usr/lib/x86_64-linux-gnu/libc.so.6")));
    ck_assert(S_ISREG(mode_of("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")));
    ck_assert(S_ISREG(mode_of("usr/lib/x86_64-linux-gnu/libgcc_s.so.1")));
    /* bzip2's hard links, shipped under /bin. */
    ck_assert_int_eq(lstat(testutil_path("root/usr/bin/bunzip2"), &a), 0);
    ck_assert_int_eq(lstat(testutil_path("root/usr/bin/bzcat"), &b), 0);
    ck_assert_uint_eq(a.st_ino, b.st_ino);
    /* libgcc-s1's doc directory is a symlink to gcc-12-base's. */
    assert_link("usr/share/doc/libgcc-s1", "gcc-12-base");
    ck_assert(S_ISDIR(mode_of("usr/share/doc/gcc-12-base")));
    assert_link("etc/os-release", "../usr/lib/os-release");
    ck_assert(S_ISREG(mode_of("usr/share/zoneinfo/Europe/Paris")));
    ck_assert(!exists("etc/ssl"));
    ck_assert_int_eq(pkg_root_owners(root, check_owner, &c), 0);
    ck_assert_uint_gt(c.n, 1000);
    ck_assert_str_eq(c.libc_owner, "libc6");
    ck_assert_str_eq(c.lib_owner, PKG_GENERATED);
    ck_assert_str_eq(c.doc_owner, "libgcc-s1");
    ck_assert_uint_eq(pkg_root_skipped(root), 0);
    pkg_root_free(root);
}
END_TEST

START_TEST(test_pkg_root_generate_matches_the_machines_ca_bundle)
{
    const char *const query[] = {"dpkg-query", "-W", "-f", "${Version}", "ca-certificates", NULL};
    char *version, *made, *host, spec[256];
    size_t len, made_len, host_len;
    const char *packages[] = {spec, NULL};
    struct pkg_root *root;
    struct temper_err err;

    /* The machine's own version: its bundle was made from those certificates. */
    ck_assert_int_eq(run_in_test_dir(query, "version.txt"), 0);
    testutil_read(testutil_path("version.txt"), &version, &len);
    snprintf(spec, sizeof(spec), "ca-certificates=%.*s", (int)len, version);
    free(version);
    download(packages);
    root = new_root();
    unpack_downloaded(root, "ca-certificates");
    assert_ok(pkg_root_generate(root, &err), &err);
    testutil_read(testutil_path("root/etc/ssl/certs/ca-certificates.crt"), &made, &made_len);
    testutil_read("/etc/ssl/certs/ca-certificates.crt", &host, &host_len);
    /* Debian's bundle is these certificates, in this order, then the machine's own from
     * /usr/local/share/ca-certificates, which a package root does not have. */
    ck_assert_uint_gt(made_len, 100000);
    ck_assert_uint_ge(host_len, made_len);
    ck_assert_msg(memcmp(made, host, made_len) == 0,
                  "the generated bundle is not the start of the machine's (is a certificate "
                  "deselected in /etc/ca-certificates.conf?)");
    free(made);
    free(host);
    pkg_root_free(root);
}
END_TEST

/* ---- pkg_release_parse ---- */

#define RELEASE_HEAD                                                                               \
    "Origin: Debian\n"                                                                             \
    "Suite: oldstable\n"                                                                           \
    "Codename: bookworm\n"                                                                         \
    "Date: Sat, 11 Jul 2026 10:16:37 UTC\n"

#define SUM_A "0000000000000000000000000000000000000000000000000000000000000001"
#define SUM_B "00000000000000000000000000000000000000000000000000000000000000b2"

START_TEST(test_pkg_release_parse_reads_what_a_lock_needs)
{
    static const char text[] = RELEASE_HEAD "Valid-Until: Sat, 18 Jul 2026 10:16:37 UTC\n"
                                            "Acquire-By-Hash: yes\n"
                                            "No-Support-for-Architecture-all: Packages\n"
                                            "Architectures: all amd64 arm64\n"
                                            "MD5Sum:\n"
                                            " 0ed6d4c8891eb86358b94bb35d9e4da4 1484322 x\n"
                                            "SHA256:\n"
                                            " " SUM_A "  8814000 main/binary-amd64/Packages.xz\n"
                                            " " SUM_B "       12 main/binary-arm64/Packages\n";
    struct pkg_release r;
    struct temper_err err;
    const struct pkg_release_file *f;

    ck_assert_msg(pkg_release_parse(text, strlen(text), "R", &r, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(r.codename, "bookworm");
    ck_assert_str_eq(r.suite, "oldstable");
    ck_assert_str_eq(r.date, "Sat, 11 Jul 2026 10:16:37 UTC");
    ck_assert_int_eq(r.date_s, 1783764997);
    ck_assert_int_eq(r.valid_until_s, 1784369797);
    ck_assert(r.by_hash);
    ck_assert(r.all_in_arch); /* No-Support-for-Architecture-all: Packages */
    ck_assert_uint_eq(r.nfiles, 2);
    f = pkg_release_find(&r, "main/binary-arm64/Packages");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->size, 12);
    ck_assert_str_eq(f->sha256, SUM_B);
    ck_assert_ptr_null(pkg_release_find(&r, "main/binary-amd64/Packages"));
    pkg_release_release(&r);
}
END_TEST

START_TEST(test_pkg_release_parse_decides_arch_all_as_apt_does)
{
    static const struct {
        const char *fields;
        bool all_in_arch;
    } cases[] = {
        {"Architectures: amd64 arm64\n", true}, /* no "all": in each binary-ARCH */
        {"Architectures: all amd64\n", false},  /* an index of its own */
        {"", true},                             /* nothing said */
        {"Architectures: all amd64\nNo-Support-for-Architecture-all: Packages\n", true},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        struct pkg_release r;
        struct temper_err err;

        snprintf(text, sizeof(text), RELEASE_HEAD "%sSHA256:\n " SUM_A " 1 main/x\n",
                 cases[i].fields);
        ck_assert_msg(pkg_release_parse(text, strlen(text), "R", &r, &err) == 0, "%s", err.msg);
        ck_assert_msg(r.all_in_arch == cases[i].all_in_arch, "case %zu", i);
        ck_assert_int_eq(r.valid_until_s, -1);
        ck_assert(!r.by_hash);
        pkg_release_release(&r);
    }
}
END_TEST

START_TEST(test_pkg_release_parse_refuses_what_is_not_a_release)
{
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"Suite: x\nSHA256:\n " SUM_A " 1 a\n", "has no Date that reads as a date"},
        {"Date: yesterday\nSHA256:\n " SUM_A " 1 a\n", "has no Date that reads as a date"},
        {RELEASE_HEAD, "has no SHA256 list"},
        {RELEASE_HEAD "SHA256:\n " SUM_A " x a\n", "a SHA256 line is not 'HEX SIZE PATH'"},
        {RELEASE_HEAD "SHA256:\n abc 1 a\n", "a SHA256 line is not 'HEX SIZE PATH'"},
        {RELEASE_HEAD "SHA256:\n " SUM_A " 1 a b\n", "a SHA256 line is not 'HEX SIZE PATH'"},
        {RELEASE_HEAD "Valid-Until: soon\nSHA256:\n " SUM_A " 1 a\n",
         "Valid-Until does not read as a date"},
        {RELEASE_HEAD "SHA256:\n " SUM_A " 1 a\n\nSuite: again\n", "more than one stanza"},
        {"", "is empty"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pkg_release r = {0};
        struct temper_err err = {0};

        ck_assert_msg(
            pkg_release_parse(bad[i].text, strlen(bad[i].text), "InRelease of 'x'", &r, &err) == -1,
            "took case %zu", i);
        ck_assert_int_eq(err.code, TEMPER_E_PARSE);
        ck_assert_msg(strstr(err.msg, bad[i].says) != NULL && strstr(err.msg, "InRelease of"),
                      "case %zu: %s", i, err.msg);
        ck_assert_ptr_null(r.files);
    }
}
END_TEST

/* ---- pkg_apt_url ---- */

static void
put_text(const char *rel, const char *text)
{
    testutil_write(rel, text, strlen(text));
}

START_TEST(test_pkg_apt_url_reads_sources_as_apt_does)
{
    struct temper_err err;
    char *url;

    put_text("apt/sources.list",
             "# a comment\n"
             "deb-src http://src.example/debian bookworm main\n"
             "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian/ bookworm main\n");
    put_text("apt/sources.list.d/b.sources", "Types: deb\n"
                                             "# http://other.example/debian\n"
                                             "URIs: file:/srv/mirror http://two.example/debian\n"
                                             "Suites: bookworm-updates trixie\n"
                                             "Components: main\n"
                                             "\n"
                                             "Enabled: no\n"
                                             "Types: deb\n"
                                             "URIs: http://disabled.example/debian\n"
                                             "Suites: sid\n"
                                             "\n"
                                             "Enabled: False\n" /* any case, as apt reads */
                                             "Types: deb\n"
                                             "URIs: http://off1.example/debian\n"
                                             "Suites: sid\n"
                                             "\n"
                                             "Types: deb\n"
                                             "Enabled: 0\n"
                                             "URIs: http://off2.example/debian\n"
                                             "Suites: sid\n"
                                             "\n"
                                             "Types: deb\n"
                                             "URIs: http://off3.example/debian\n"
                                             "Suites: sid\n"
                                             "Enabled: OFF\n"
                                             "\n"
                                             "Types: deb\n"
                                             "URIs: http://on.example/debian\n"
                                             "Suites: experimental\n"
                                             "Enabled: yes\n");
    put_text("apt/sources.list.d/a.list", "deb cdrom:[x]/ sid main\n");
    ck_assert_msg(pkg_apt_url(testutil_path("apt"), "bookworm", &url, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(url, "http://one.example/debian");
    free(url);
    /* a file: URI is passed over for the next of the same entry */
    ck_assert_int_eq(pkg_apt_url(testutil_path("apt"), "trixie", &url, &err), 0);
    ck_assert_str_eq(url, "http://two.example/debian");
    free(url);
    ck_assert_int_eq(pkg_apt_url(testutil_path("apt"), "experimental", &url, &err), 0);
    ck_assert_str_eq(url, "http://on.example/debian");
    free(url);
    /* disabled (no, False, 0, OFF), a cdrom, deb-src: not an archive to fetch from */
    ck_assert_int_eq(pkg_apt_url(testutil_path("apt"), "sid", &url, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_ptr_nonnull(strstr(err.msg, "suite 'sid'"));
    ck_assert_ptr_nonnull(strstr(err.msg, "give the repository's url in the recipe"));
}
END_TEST

/* ---- pkg_index_add and pkg_resolve ---- */

#define STANZA(name, version, extra)                                                               \
    "Package: " name "\nVersion: " version "\nArchitecture: amd64\n" extra "Filename: pool/" name  \
    "_" version ".deb\nSize: 10\nSHA256: " SUM_A "\n\n"

/* An index of two repositories: the second offers newer versions of some. */
static struct pkg_index *
test_index(void)
{
    static const char first[] = STANZA("app", "1.0",
                                       "Depends: libc6 (>= 2.36), mail-transport-agent | sendmail, "
                                       "debconf (>= 0.5) | debconf-2.0\nPre-Depends: dpkg\n")
        STANZA("libc6", "2.36-9", "Depends: libgcc-s1\n")
            STANZA("libgcc-s1", "12.2.0", "Source: gcc-12 (12.2.0-14)\nDepends: libc6 (>= 2.35)\n")
                STANZA("postfix", "3.7", "Provides: mail-transport-agent\n")
                    STANZA("exim4", "4.96", "Provides: mail-transport-agent\n")
                        STANZA("debconf", "1.5.82", "Provides: debconf-2.0\n")
                            STANZA("cdebconf", "0.270", "Provides: debconf-2.0\n")
                                STANZA("dpkg", "1.21.22", "") STANZA("py", "3.11",
                                                                     "Depends: py-abi (= 3.11)\n")
                                    STANZA("py-core", "3.11", "Provides: py-abi (= 3.11)\n") STANZA(
                                        "py-old", "3.9", "Provides: py-abi (= 3.9)\n")
                                        STANZA("needs-old", "1", "Depends: libc6 (<< 2.30)\n")
                                            STANZA("needs-ghost", "1", "Depends: ghost (>= 2)\n");
    static const char second[] =
        STANZA("libc6", "2.36-9+deb12u14", "Depends: libgcc-s1\n") STANZA("dpkg", "1.21.23", "");
    struct pkg_index *idx = pkg_index_new();
    struct temper_err err;

    ck_assert_msg(pkg_index_add(idx, strdup(first), strlen(first), 0, "first", &err) == 0, "%s",
                  err.msg);
    ck_assert_msg(pkg_index_add(idx, strdup(second), strlen(second), 1, "second", &err) == 0, "%s",
                  err.msg);
    ck_assert_uint_eq(pkg_index_count(idx), 15);
    return idx;
}

/* "name=version ..." of a choice, in order. */
static void
choice_text(const struct pkg_package **chosen, size_t n, char *out, size_t cap)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s=%s", i ? " " : "", chosen[i]->name,
                                 chosen[i]->version);
}

static void
resolve_ok(const struct pkg_index *idx, const struct pkg_request *req, const char *want)
{
    const struct pkg_package **chosen = NULL;
    struct temper_err err;
    char got[1024];
    size_t n;

    ck_assert_msg(pkg_resolve(idx, req, &chosen, &n, &err) == 0, "%s", err.msg);
    choice_text(chosen, n, got, sizeof(got));
    ck_assert_str_eq(got, want);
    free(chosen);
}

START_TEST(test_pkg_resolve_takes_the_closure_as_apt_would)
{
    struct pkg_index *idx = test_index();
    const char *app[] = {"app"};

    /* the newest libc6 and dpkg (the second repository's); the first real alternative that
     * exists (debconf, not the virtual debconf-2.0); for a virtual name alone, its first
     * provider by name (exim4) */
    resolve_ok(idx, &(struct pkg_request){app, 1, NULL, 0, NULL, NULL, 0},
               "app=1.0 debconf=1.5.82 dpkg=1.21.23 exim4=4.96 libc6=2.36-9+deb12u14 "
               "libgcc-s1=12.2.0");
    pkg_index_free(idx);
}
END_TEST

START_TEST(test_pkg_resolve_honours_exclude_keep_and_versioned_provides)
{
    struct pkg_index *idx = test_index();
    const char *app[] = {"app"}, *py[] = {"py"};
    const char *cut[] = {"debconf", "debconf-2.0", "dpkg", "exim4"};
    const char *keep_names[] = {"libc6"}, *keep_versions[] = {"2.36-9"};

    /* excluded names are passed over (exim4: postfix provides it too), and a dependency whose
     * every alternative is excluded is dropped (debconf | debconf-2.0; dpkg) */
    resolve_ok(idx, &(struct pkg_request){app, 1, cut, 4, NULL, NULL, 0},
               "app=1.0 libc6=2.36-9+deb12u14 libgcc-s1=12.2.0 postfix=3.7");
    /* a version to keep, offered still: kept */
    resolve_ok(idx, &(struct pkg_request){app, 1, cut, 4, keep_names, keep_versions, 1},
               "app=1.0 libc6=2.36-9 libgcc-s1=12.2.0 postfix=3.7");
    /* py-abi (= 3.11): only the provider of that version */
    resolve_ok(idx, &(struct pkg_request){py, 1, NULL, 0, NULL, NULL, 0}, "py=3.11 py-core=3.11");
    pkg_index_free(idx);
}
END_TEST

START_TEST(test_pkg_resolve_names_what_cannot_be_had)
{
    struct pkg_index *idx = test_index();
    const char *ghost[] = {"needs-ghost"}, *nothing[] = {"nothing"}, *old[] = {"app", "needs-old"};
    const char *both[] = {"dpkg"};
    const struct pkg_package **chosen = NULL;
    struct temper_err err;
    size_t n;

    ck_assert_int_eq(pkg_resolve(idx, &(struct pkg_request){ghost, 1, NULL, 0, NULL, NULL, 0},
                                 &chosen, &n, &err),
                     -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_str_eq(err.msg, "no repository offers 'ghost (>= 2)', which needs-ghost (1) <- "
                              "asked for depends on: add the suite that has it, or cut it with "
                              "contents.exclude");
    ck_assert_int_eq(pkg_resolve(idx, &(struct pkg_request){nothing, 1, NULL, 0, NULL, NULL, 0},
                                 &chosen, &n, &err),
                     -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_ptr_nonnull(strstr(err.msg, "no repository offers package 'nothing'"));
    /* libc6 chosen newest for app, then needs-old wants one before 2.30: never two versions */
    ck_assert_int_eq(
        pkg_resolve(idx, &(struct pkg_request){old, 2, NULL, 0, NULL, NULL, 0}, &chosen, &n, &err),
        -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_ptr_nonnull(strstr(err.msg, "'libc6 (<< 2.30)', which needs-old (1)"));
    ck_assert_int_eq(
        pkg_resolve(idx, &(struct pkg_request){both, 1, both, 1, NULL, NULL, 0}, &chosen, &n, &err),
        -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "both in contents.packages and in contents.exclude"));
    ck_assert_ptr_null(chosen);
    pkg_index_free(idx);
}
END_TEST

START_TEST(test_pkg_index_add_refuses_what_a_lock_cannot_pin)
{
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"Package: a\nVersion: 1\nArchitecture: all\nSize: 1\nSHA256: " SUM_A "\n",
         "has no Filename"},
        {STANZA("a", "one", ""), "invalid version"},
        {"Package: a\nVersion: 1\nArchitecture: all\nFilename: ../../etc/passwd\nSize: 1\n"
         "SHA256: " SUM_A "\n",
         "not a pool path"},
        {"Package: a\nVersion: 1\nArchitecture: all\nFilename: /etc/passwd\nSize: 1\n"
         "SHA256: " SUM_A "\n",
         "not a pool path"},
        {"Package: a\nVersion: 1\nArchitecture: all\nFilename: p/a.deb\nSize: -1\n"
         "SHA256: " SUM_A "\n",
         "no Size and SHA256"},
        {"Package: a\nVersion: 1\nArchitecture: all\nFilename: p/a.deb\nSize: 1\n"
         "SHA256: ABC\n",
         "no Size and SHA256"},
        {STANZA("a", "1", "Provides: bb (>= 1)\n"), "Provides takes single names"},
        {STANZA("a", "1", "Provides: bb | cc\n"), "Provides takes single names"},
        {STANZA("a", "1", "Source: src (\n"), "Source is not"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pkg_index *idx = pkg_index_new();
        struct temper_err err = {0};

        ck_assert_msg(
            pkg_index_add(idx, strdup(bad[i].text), strlen(bad[i].text), 0, "index X", &err) == -1,
            "took case %zu", i);
        ck_assert_int_eq(err.code, TEMPER_E_PARSE);
        ck_assert_msg(strstr(err.msg, bad[i].says) && strstr(err.msg, "index X"), "case %zu: %s", i,
                      err.msg);
        pkg_index_free(idx);
    }
}
END_TEST

/* ---- the lock ---- */

/* `text` with the first `from` replaced by `to`; owned. */
static char *
replace_once(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    size_t head, n;
    char *out;

    ck_assert_msg(at != NULL, "'%s' is not in the lock", from);
    head = (size_t)(at - text);
    n = strlen(text) - strlen(from) + strlen(to);
    out = malloc(n + 1);
    memcpy(out, text, head);
    memcpy(out + head, to, strlen(to));
    memcpy(out + head + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
    return out;
}

static struct pkg_lock *
small_lock(const char *inputs, const char *digest)
{
    struct pkg_lock *lock = calloc(1, sizeof(*lock));

    snprintf(lock->inputs_digest, sizeof(lock->inputs_digest), "%s", digest);
    lock->inputs = strdup(inputs);
    lock->repositories = calloc(1, sizeof(*lock->repositories));
    lock->nrepositories = 1;
    lock->repositories[0].suite = strdup("bookworm");
    lock->repositories[0].components = calloc(1, sizeof(char *));
    lock->repositories[0].components[0] = strdup("main");
    lock->repositories[0].ncomponents = 1;
    lock->repositories[0].date = strdup("Sat, 11 Jul 2026 10:16:37 UTC");
    snprintf(lock->repositories[0].inrelease, 72, "sha256:%s", SUM_A);
    lock->archs = calloc(1, sizeof(*lock->archs));
    lock->narchs = 1;
    lock->archs[0].name = strdup("amd64");
    lock->archs[0].packages = calloc(2, sizeof(struct pkg_locked));
    lock->archs[0].n = 2;
    for (size_t i = 0; i < 2; i++) {
        struct pkg_locked *p = &lock->archs[0].packages[i];

        p->name = strdup(i ? "zlib1g" : "libc6");
        p->version = strdup(i ? "1:1.2.13.dfsg-1" : "2.36-9");
        p->architecture = strdup("amd64");
        p->source = strdup(i ? "zlib" : "glibc");
        p->source_version = strdup(p->version);
        p->filename = strdup(i ? "pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_amd64.deb"
                               : "pool/main/g/glibc/libc6_2.36-9_amd64.deb");
        p->size = 100 + i;
        memcpy(p->sha256, SUM_B, 65);
    }
    return lock;
}

START_TEST(test_pkg_lock_round_trips_and_refuses_edits)
{
    char *keyring = strdup(testutil_path("k.gpg")); /* testutil_path's buffer is reused */
    const char *const keyrings[] = {keyring};
    const char *packages[] = {"zlib1g", "libc6"}, *const archs[] = {"amd64"};
    const char *const components[] = {"main"};
    const struct pkg_repository repo = {"apt", "bookworm", components, 1};
    struct pkg_inputs in = {&repo, 1, keyrings, 1, packages, 2, NULL, 0, archs, 1};
    struct pkg_lock *lock, *again = NULL;
    struct temper_err err;
    char *json, digest[72], *text;
    size_t len;

    testutil_write("k.gpg", "key bytes", 9);
    ck_assert_msg(pkg_inputs_canonical(&in, &json, digest, &err) == 0, "%s", err.msg);
    /* canonical: sorted lists, the keyring by its digest, no URL */
    ck_assert_ptr_nonnull(strstr(json, "\"packages\":[\"libc6\",\"zlib1g\"]"));
    ck_assert_ptr_null(strstr(json, "apt"));
    ck_assert_ptr_null(strstr(json, "k.gpg"));
    lock = small_lock(json, digest);
    ck_assert_msg(pkg_lock_save(lock, testutil_path("x.lock.json"), &err) == 0, "%s", err.msg);
    ck_assert_msg(pkg_lock_load(testutil_path("x.lock.json"), &again, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(again->archs[0].n, 2);
    ck_assert_str_eq(again->archs[0].packages[1].version, "1:1.2.13.dfsg-1");
    ck_assert_msg(pkg_lock_check(again, &in, "x.lock.json", &err) == 0, "%s", err.msg);
    pkg_lock_free(again);

    /* what changed is named */
    packages[1] = "tzdata";
    ck_assert_int_eq(pkg_lock_check(lock, &in, "x.lock.json", &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_POLICY);
    ck_assert_msg(strstr(err.msg, "packages: added tzdata; removed libc6") != NULL, "%s", err.msg);
    testutil_write("k.gpg", "other key", 9);
    packages[1] = "libc6";
    ck_assert_int_eq(pkg_lock_check(lock, &in, "x.lock.json", &err), -1);
    ck_assert_msg(strstr(err.msg, "keyrings: changed") != NULL, "%s", err.msg);

    /* a lock edited by hand is refused, naming the member */
    testutil_read(testutil_path("x.lock.json"), &text, &len);
    text = realloc(text, len + 1); /* read as bytes: a string from here on */
    text[len] = '\0';
    {
        static const struct {
            const char *from, *to, *says;
        } edits[] = {
            {SUM_B, "00", "is not 64 lowercase hex digits"},
            {"\"repository\": \"bookworm\"", "\"repository\": \"sid\"", "names no suite"},
            {"pool/main/g/glibc", "../../../etc", "is not a pool path"},
            {"\"lockfile_version\": 1", "\"lockfile_version\": 2", "lockfile_version 1"},
            {"\"version\": \"2.36-9\"", "\"version\": \"two\"", "is not a Debian version"},
        };

        for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
            char *edited = replace_once(text, edits[i].from, edits[i].to);

            testutil_write("edited.lock.json", edited, strlen(edited));
            ck_assert_int_eq(pkg_lock_load(testutil_path("edited.lock.json"), &again, &err), -1);
            ck_assert_int_eq(err.code, TEMPER_E_PARSE);
            ck_assert_msg(strstr(err.msg, edits[i].says) && strstr(err.msg, "temper lock"),
                          "edit %zu: %s", i, err.msg);
            free(edited);
        }
    }
    free(text);
    free(json);
    free(keyring);
    pkg_lock_free(lock);
}
END_TEST

struct change_log {
    char text[512];
    size_t used;
};

static void
log_change(void *arg, const char *arch, const char *name, const char *old_version,
           const char *new_version)
{
    struct change_log *l = arg;

    l->used +=
        (size_t)snprintf(l->text + l->used, sizeof(l->text) - l->used, "%s/%s:%s>%s ", arch, name,
                         old_version ? old_version : "-", new_version ? new_version : "-");
}

START_TEST(test_pkg_lock_changes_lists_versions_by_name)
{
    struct pkg_lock *a = small_lock("{}", "sha256:x"), *b = small_lock("{}", "sha256:x");
    struct change_log l = {"", 0};

    free(b->archs[0].packages[0].version);
    b->archs[0].packages[0].version = strdup("2.36-9+deb12u14");
    free(b->archs[0].packages[1].name);
    b->archs[0].packages[1].name = strdup("zstd");
    pkg_lock_changes(a, b, log_change, &l);
    ck_assert_str_eq(l.text, "amd64/libc6:2.36-9>2.36-9+deb12u14 amd64/zlib1g:1:1.2.13.dfsg-1>- "
                             "amd64/zstd:->1:1.2.13.dfsg-1 ");
    pkg_lock_free(a);
    pkg_lock_free(b);
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

    tc = tcase_create("pkg_root_unpack");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_pkg_root_unpack_writes_entries_in_merged_form);
    tcase_add_test(tc, test_pkg_root_unpack_reads_every_compression);
    tcase_add_test(tc, test_pkg_root_unpack_refuses_bad_paths);
    tcase_add_test(tc, test_pkg_root_unpack_never_follows_a_shipped_symlink);
    tcase_add_test(tc, test_pkg_root_unpack_keeps_merged_symlinks_as_debootstrap_makes_them);
    tcase_add_test(tc, test_pkg_root_unpack_clears_setuid_and_keeps_sticky_on_directories);
    tcase_add_test(tc, test_pkg_root_unpack_skips_devices_and_fifos);
    tcase_add_test(tc, test_pkg_root_unpack_refuses_a_conflict_naming_both_packages);
    tcase_add_test(tc, test_pkg_root_unpack_keeps_an_identical_file_once);
    tcase_add_test(tc, test_pkg_root_unpack_links_hard_links_to_earlier_entries);
    tcase_add_test(tc, test_pkg_root_unpack_refuses_a_broken_root);
    tcase_add_test(tc, test_pkg_root_unpack_caps_paths_links_and_sizes);
    tcase_add_test(tc, test_pkg_root_unpack_refuses_a_bomb_before_reading_it);
    tcase_add_test(tc, test_pkg_root_unpack_refuses_a_corrupt_or_truncated_deb);
    tcase_add_test(tc, test_pkg_root_unpack_reads_members_as_dpkg_does);
    tcase_add_test(tc, test_pkg_root_unpack_checks_debian_binary_and_member_caps);
    suite_add_tcase(s, tc);

    tc = tcase_create("pkg_release_parse");
    tcase_add_test(tc, test_pkg_release_parse_reads_what_a_lock_needs);
    tcase_add_test(tc, test_pkg_release_parse_decides_arch_all_as_apt_does);
    tcase_add_test(tc, test_pkg_release_parse_refuses_what_is_not_a_release);
    suite_add_tcase(s, tc);

    tc = tcase_create("pkg_apt_url");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_pkg_apt_url_reads_sources_as_apt_does);
    suite_add_tcase(s, tc);

    tc = tcase_create("pkg_resolve");
    tcase_add_test(tc, test_pkg_resolve_takes_the_closure_as_apt_would);
    tcase_add_test(tc, test_pkg_resolve_honours_exclude_keep_and_versioned_provides);
    tcase_add_test(tc, test_pkg_resolve_names_what_cannot_be_had);
    tcase_add_test(tc, test_pkg_index_add_refuses_what_a_lock_cannot_pin);
    suite_add_tcase(s, tc);

    tc = tcase_create("pkg_lock");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_pkg_lock_round_trips_and_refuses_edits);
    tcase_add_test(tc, test_pkg_lock_changes_lists_versions_by_name);
    suite_add_tcase(s, tc);

    tc = tcase_create("pkg_root_generate");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_pkg_root_generate_writes_the_ca_bundle);
    tcase_add_test(tc, test_pkg_root_generate_writes_the_dpkg_database);
    tcase_add_test(tc, test_pkg_root_unpack_checks_the_control_file);
    tcase_add_test(tc, test_pkg_root_generate_needs_the_mozilla_directory);
    tcase_add_test(tc, test_pkg_root_generate_gives_narrow_directories_their_mode);
    suite_add_tcase(s, tc);

    /* Needs the machine's apt mirror: CTest runs it as test_pkg_debs. */
    tc = tcase_create("pkg_root_debs");
    tcase_set_tags(tc, "mirror");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_pkg_root_unpack_real_debs_into_a_merged_usr_root);
    tcase_add_test(tc, test_pkg_root_generate_matches_the_machines_ca_bundle);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(pkg_suite());
}
