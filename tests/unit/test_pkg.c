/*
 * Unit tests of the pkg module.
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

/* A well-formed .deb at `rel` whose data.tar.xz holds `e`. */
static void
make_deb(const char *rel, const struct tentry *e, size_t n)
{
    static const struct tentry control[] = {{"./control", 'f', 0644, "Package: x\n"}};
    struct sink c = make_tar(control, 1, "xz"), d = make_tar(e, n, "xz");
    struct member m[] = {{"debian-binary", "2.0\n", 4},
                         {"control.tar.xz", c.buf, c.len},
                         {"data.tar.xz", d.buf, d.len}};

    write_ar(rel, m, 3);
    free(c.buf);
    free(d.buf);
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
    make_deb(rel, e, n);
    return unpack(root, rel, package, err);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

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
            {"debian-binary", "2.0\n", 4}, {"control.tar", "", 0}, {names[i], d.buf, d.len}};
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
        {"debian-binary", "2.0\n", 4}, {"control.tar", "", 0}, {"data.tar", tar, sizeof(tar)}};
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
        {"debian-binary", "2.0\n", 4}, {"control.tar", "", 0}, {"data.tar.xz", d.buf, d.len}};
    struct pkg_root *root;
    struct temper_err err;
    char *deb;
    size_t len;

    /* Cut inside data.tar.xz. */
    write_ar("x.deb", m, N(m));
    testutil_read(testutil_path("x.deb"), &deb, &len);
    testutil_write("cut.deb", deb, len - d.len / 2);
    root = new_root();
    assert_refused(unpack(root, "cut.deb", "cut", &err), &err, TEMPER_E_PARSE, "package 'cut'");
    pkg_root_free(root);
    free(deb);

    /* Bytes changed in the middle of the xz stream: its checks fail. */
    d.buf[d.len / 2] ^= 0x55;
    d.buf[d.len / 2 + 1] ^= 0x55;
    root = fresh_root();
    write_ar("bad.deb", m, N(m));
    assert_refused(unpack(root, "bad.deb", "bad", &err), &err, TEMPER_E_PARSE,
                   "package 'bad': 'data.tar.xz'");
    pkg_root_free(root);

    /* A plain tar named data.tar.xz. */
    m[2].data = plain.buf;
    m[2].len = plain.len;
    root = fresh_root();
    write_ar("plain.deb", m, N(m));
    assert_refused(unpack(root, "plain.deb", "plain", &err), &err, TEMPER_E_PARSE,
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
    const struct member binary = {"debian-binary", "2.0\n", 4}, control = {"control.tar", "", 0},
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
        m[1] = (struct member){"control.tar", "", 0};
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

static Suite *
pkg_suite(void)
{
    Suite *s = suite_create("pkg");
    TCase *tc = tcase_create("pkg_root_unpack");

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

    tc = tcase_create("pkg_root_generate");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_pkg_root_generate_writes_the_ca_bundle);
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
