/*
 * Unit tests for sbom: the SPDX document of a plan made by hand over a small root (its copyright
 * files and /etc/debian_version), read back with jansson.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "sbom/sbom.h"
#include "testutil.h"

static const char dep5[] =
    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    "Upstream-Name: zlib\n\n"
    "Files: *\nCopyright: someone\nLicense: Zlib\n\n"
    "Files: contrib/*\nCopyright: others\nLicense: GPL-2+ or Artistic\n\n"
    "Files: doc/*\nLicense: GPL-3+ with Bison-exception\n\n"
    "Files: more/*\nLicense: BSD-3-clause, and Expat\n\n"
    "License: Zlib\n The zlib license text.\n";

/* The image: etc/debian_version (base-files), a library (libz1, epoch and '+' in its version),
 * its copyright file, a symlink, and a file temper wrote. */
static struct rootfs_plan *
make_plan(void)
{
    struct rootfs_plan *plan = xcalloc(1, sizeof(*plan));
    static struct rootfs_entry entries[] = {
        {.path = "etc/debian_version",
         .type = ROOTFS_FILE,
         .source = "/etc/debian_version",
         .package = 1},
        {.path = "etc/passwd", .type = ROOTFS_FILE, .content = "root:x:0:0::/:/sbin/nologin\n"},
        {.path = "usr/lib/libz.so.1",
         .type = ROOTFS_SYMLINK,
         .target = "libz.so.1.3",
         .package = 2},
        {.path = "usr/lib/libz.so.1.3",
         .type = ROOTFS_FILE,
         .source = "/usr/lib/libz.so.1.3",
         .package = 2},
        {.path = "usr/share/doc/libz1/copyright",
         .type = ROOTFS_FILE,
         .source = "/usr/share/doc/libz1/copyright",
         .package = 2},
    };
    static struct rootfs_package packages[] = {
        {.name = "base-files",
         .version = "12.4+deb12u9",
         .architecture = "amd64",
         .source = "base-files",
         .source_version = "12.4+deb12u9"},
        {.name = "libz1",
         .version = "1:1.3.dfsg+really1.3.1-1+b1",
         .architecture = "amd64",
         .source = "zlib",
         .source_version = "1:1.3.dfsg+really1.3.1-1",
         .license_file = "usr/share/doc/libz1/copyright"},
    };

    plan->entries = entries;
    plan->n = sizeof(entries) / sizeof(entries[0]);
    plan->packages = packages;
    plan->npackages = 2;
    plan->architecture = "amd64";
    return plan;
}

static json_t *
spdx_of(const struct rootfs_plan *plan, char **text)
{
    struct layer_file_digest digests[5];
    struct sbom_image image = {"zimg", "v1",
                               "sha256:"
                               "0123456789abcdef0123456789abcdef"
                               "0123456789abcdef0123456789abcdef",
                               "temper-test", 1700000000};
    struct fs_root *root = NULL;
    struct temper_err err;
    json_error_t jerr;
    json_t *doc;

    for (size_t i = 0; i < 5; i++) {
        snprintf(digests[i].sha1, sizeof(digests[i].sha1), "%040zu", i);
        snprintf(digests[i].sha256, sizeof(digests[i].sha256), "%064zu", i);
    }
    testutil_write("root/etc/debian_version", "12.9\n", 5);
    testutil_write("root/usr/share/doc/libz1/copyright", dep5, strlen(dep5));
    ck_assert_int_eq(fs_root_open(testutil_path("root"), &root, &err), 0);
    ck_assert_msg(sbom_spdx(plan, digests, root, &image, text, &err) == 0, "%s", err.msg);
    fs_root_free(root);
    doc = json_loads(*text, 0, &jerr);
    ck_assert_msg(doc != NULL, "%s", jerr.text);
    return doc;
}

static json_t *
by_id(json_t *list, const char *id)
{
    size_t i;
    json_t *item;

    json_array_foreach(list, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "SPDXID")), id) == 0)
            return item;
    }
    ck_abort_msg("no %s", id);
    return NULL;
}

static const char *
str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static bool
related(json_t *doc, const char *from, const char *how, const char *to)
{
    size_t i;
    json_t *r;

    json_array_foreach(json_object_get(doc, "relationships"), i, r)
    {
        if (strcmp(str(r, "spdxElementId"), from) == 0 &&
            strcmp(str(r, "relationshipType"), how) == 0 &&
            strcmp(str(r, "relatedSpdxElement"), to) == 0)
            return true;
    }
    return false;
}

START_TEST(test_sbom_spdx_describes_packages_and_files)
{
    struct rootfs_plan *plan = make_plan();
    char *text = NULL, *again = NULL;
    json_t *doc = spdx_of(plan, &text), *packages = json_object_get(doc, "packages"), *z, *f;

    ck_assert_str_eq(str(doc, "spdxVersion"), "SPDX-2.3");
    ck_assert_str_eq(str(doc, "name"), "zimg:v1");
    ck_assert_str_eq(str(doc, "documentNamespace"),
                     "https://spdx.org/spdxdocs/temper-zimg-0123456789abcdef0123456789abcdef"
                     "0123456789abcdef0123456789abcdef");
    ck_assert_str_eq(str(json_object_get(doc, "creationInfo"), "created"), "2023-11-14T22:13:20Z");
    ck_assert_str_eq(str(by_id(packages, "SPDXRef-OperatingSystem"), "versionInfo"), "12.9");
    z = by_id(packages, "SPDXRef-Package-deb-2-libz1");
    ck_assert_str_eq(str(z, "versionInfo"), "1:1.3.dfsg+really1.3.1-1+b1");
    /* the version percent-encoded as purl-spec wants: ':' and '+' */
    ck_assert_str_eq(str(json_array_get(json_object_get(z, "externalRefs"), 0), "referenceLocator"),
                     "pkg:deb/debian/libz1@1%3A1.3.dfsg%2Breally1.3.1-1%2Bb1?arch=amd64"
                     "&distro=debian-12");
    ck_assert_str_eq(str(z, "sourceInfo"), "built package from: zlib 1:1.3.dfsg+really1.3.1-1");
    /* Debian's names as SPDX's, "or"/"and" as operators, an exception as one LicenseRef */
    ck_assert_str_eq(str(z, "licenseDeclared"),
                     "Zlib AND (GPL-2.0-or-later OR LicenseRef-Artistic) AND "
                     "LicenseRef-GPL-3-or-later-with-Bison-exception AND "
                     "(BSD-3-Clause AND MIT)");
    ck_assert_str_eq(str(by_id(packages, "SPDXRef-Package-deb-1-base-files"), "licenseDeclared"),
                     "NOASSERTION");
    /* regular files only, with both digests; symlinks are not SPDX files */
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "files")), 4);
    f = by_id(json_object_get(doc, "files"), "SPDXRef-File-4");
    ck_assert_str_eq(str(f, "fileName"), "./usr/lib/libz.so.1.3");
    ck_assert_str_eq(str(json_array_get(json_object_get(f, "checksums"), 1), "checksumValue"),
                     "0000000000000000000000000000000000000000000000000000000000000003");
    ck_assert(related(doc, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"));
    ck_assert(related(doc, "SPDXRef-Image", "CONTAINS", "SPDXRef-OperatingSystem"));
    ck_assert(related(doc, "SPDXRef-OperatingSystem", "CONTAINS", "SPDXRef-Package-deb-2-libz1"));
    ck_assert(related(doc, "SPDXRef-Package-deb-2-libz1", "CONTAINS", "SPDXRef-File-4"));
    ck_assert(related(doc, "SPDXRef-Image", "CONTAINS", "SPDXRef-File-2")); /* etc/passwd */
    json_decref(doc);
    /* the same bytes every time */
    doc = spdx_of(plan, &again);
    ck_assert_str_eq(text, again);
    json_decref(doc);
    free(text);
    free(again);
    free(plan);
}
END_TEST

static Suite *
sbom_suite(void)
{
    Suite *s = suite_create("sbom");
    TCase *tc = tcase_create("sbom_spdx");

    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_sbom_spdx_describes_packages_and_files);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(sbom_suite());
}
