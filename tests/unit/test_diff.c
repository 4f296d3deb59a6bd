/*
 * Unit tests of the diff module: layouts made here from tars written with
 * libarchive (and from hand-made tar headers for what libarchive would not
 * write), compared with image_diff_compare. Each kind of difference has its
 * line; a comparison goes on past the first difference; hostile layers
 * (absurd sizes, control characters and ../ in names, huge pax records,
 * truncated tar, gzip garbage, bytes other than the manifest names) fail
 * with their own error or are shown escaped.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/limits.h"
#include "base/sha256.h"
#include "diff/diff-internal.h"
#include "diff/image_diff.h"
#include "oci/oci_layout.h"
#include "testutil.h"

#define TAR_TYPE "application/vnd.oci.image.layer.v1.tar"
#define GZIP_TYPE "application/vnd.oci.image.layer.v1.tar+gzip"
#define TAR_CAP (4 * 1024 * 1024)

/* One tar entry: type 'f' file, 'd' directory, 'l' symlink, 'h' hard link. */
struct tentry {
    const char *path;
    char type;
    unsigned mode;
    int uid, gid;
    long mtime;
    const char *data; /* content, or link target */
    const char *xattr, *xattr_value;
};

static const struct tentry base_entries[] = {
    {"etc/", 'd', 0755, 0, 0, 100, NULL, NULL, NULL},
    {"etc/passwd", 'f', 0644, 0, 0, 100, "root:x:0:0::/root:/sbin/nologin\n", NULL, NULL},
    {"etc/gone", 'f', 0644, 0, 0, 100, "bye\n", NULL, NULL},
    {"usr/bin/x", 'f', 0755, 0, 0, 100, "program", NULL, NULL},
    {"usr/bin/py", 'l', 0777, 0, 0, 100, "python3.11", NULL, NULL},
    {"usr/bin/hard", 'h', 0755, 0, 0, 100, "usr/bin/x", NULL, NULL},
    {"usr/bin/kind", 'f', 0644, 0, 0, 100, "a file", NULL, NULL},
    {"usr/lib/attr", 'f', 0644, 0, 0, 100, "x", "user.k", "v1"},
};

/* Writes entries as a tar (gzip-compressed when asked) into a malloc'd buffer. */
static size_t
make_tar(const struct tentry *e, size_t n, bool gzip, char **out)
{
    struct archive *a = archive_write_new();
    char *buf = malloc(TAR_CAP);
    size_t used = 0;

    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(archive_write_set_format_pax(a), ARCHIVE_OK);
    if (gzip) {
        ck_assert_int_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
        ck_assert_int_eq(archive_write_set_filter_option(a, "gzip", "timestamp", NULL), ARCHIVE_OK);
    }
    ck_assert_int_eq(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_open_memory(a, buf, TAR_CAP, &used), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        size_t len = e[i].data && e[i].type == 'f' ? strlen(e[i].data) : 0;

        archive_entry_set_pathname(ae, e[i].path);
        archive_entry_set_perm(ae, e[i].mode);
        archive_entry_set_uid(ae, e[i].uid);
        archive_entry_set_gid(ae, e[i].gid);
        archive_entry_set_mtime(ae, e[i].mtime, 0);
        archive_entry_set_filetype(ae, e[i].type == 'd'   ? AE_IFDIR
                                       : e[i].type == 'l' ? AE_IFLNK
                                                          : AE_IFREG);
        if (e[i].type == 'l')
            archive_entry_set_symlink(ae, e[i].data);
        if (e[i].type == 'h')
            archive_entry_set_hardlink(ae, e[i].data);
        archive_entry_set_size(ae, (la_int64_t)len);
        if (e[i].xattr != NULL)
            archive_entry_xattr_add_entry(ae, e[i].xattr, e[i].xattr_value,
                                          strlen(e[i].xattr_value));
        ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
        if (len > 0)
            ck_assert_int_eq(archive_write_data(a, e[i].data, len), (la_ssize_t)len);
        archive_entry_free(ae);
    }
    ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    *out = buf;
    return used;
}

struct image_opts {
    const char *entrypoint;
    const char *user;
    long created;
    const char *annotation;
    bool gzip;
};

/* A layout at `dir` with one image (tag latest) of one layer holding `e`. */
static void
make_image_of_tar(const char *dir, const char *tar, size_t tar_len, const char *blob,
                  size_t blob_len, const char *media_type, const struct image_opts *o)
{
    struct oci_layout *layout;
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN], diff_id[LAYER_DIGEST_LEN], manifest[LAYER_DIGEST_LEN];
    const char *entrypoint[] = {o->entrypoint ? o->entrypoint : "/usr/bin/x"};
    struct oci_kv annotations[] = {{"org.example.note", o->annotation}};
    struct oci_image_spec spec = {
        .architecture = "amd64",
        .os = "linux",
        .created = o->created ? o->created : 1700000000,
        .user = o->user ? o->user : "65532:65532",
        .entrypoint = entrypoint,
        .nentrypoint = 1,
        .annotations = annotations,
        .nannotations = o->annotation ? 1 : 0,
        .created_by = "test",
    };
    struct oci_layer_desc desc;

    ck_assert_msg(oci_layout_open(testutil_path(dir), true, &layout, &err) == 0, "%s", err.msg);
    ck_assert_msg(oci_blob_put(layout, blob, blob_len, digest, &err) == 0, "%s", err.msg);
    sha256_digest(tar, tar_len, diff_id);
    desc = (struct oci_layer_desc){media_type, digest, blob_len, diff_id, NULL};
    ck_assert_msg(oci_image_commit(layout, &spec, &desc, 1, "latest", manifest, &err) == 0, "%s",
                  err.msg);
    oci_layout_free(layout);
}

static void
make_image(const char *dir, const struct tentry *e, size_t n, const struct image_opts *o)
{
    char *tar, *blob;
    size_t tar_len = make_tar(e, n, false, &tar), blob_len = tar_len;

    blob = tar;
    if (o->gzip)
        blob_len = make_tar(e, n, true, &blob);
    make_image_of_tar(dir, tar, tar_len, blob, blob_len, o->gzip ? GZIP_TYPE : TAR_TYPE, o);
    if (blob != tar)
        free(blob);
    free(tar);
}

/* Compares the images tagged latest in layouts a and b. */
static int
compare(const char *a, const char *b, struct image_diff *out, struct temper_err *err)
{
    struct oci_layout *la, *lb;
    struct oci_source sa, sb;
    struct oci_descriptor da, db;
    int rc;

    ck_assert_msg(oci_layout_open(testutil_path(a), false, &la, err) == 0, "%s", err->msg);
    ck_assert_msg(oci_layout_open(testutil_path(b), false, &lb, err) == 0, "%s", err->msg);
    oci_layout_source(la, &sa);
    oci_layout_source(lb, &sb);
    ck_assert_int_eq(oci_layout_find_tag(la, "latest", &da, err), 0);
    ck_assert_int_eq(oci_layout_find_tag(lb, "latest", &db, err), 0);
    rc = image_diff_compare(&sa, &da, &sb, &db, out, err);
    oci_layout_free(la);
    oci_layout_free(lb);
    return rc;
}

static bool
has_line(const struct image_diff *d, const char *line)
{
    for (size_t i = 0; i < d->nitems; i++)
        if (strcmp(d->items[i].line, line) == 0)
            return true;
    return false;
}

static bool
has_prefix(const struct image_diff *d, const char *prefix)
{
    for (size_t i = 0; i < d->nitems; i++)
        if (strncmp(d->items[i].line, prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

static void
dump(const struct image_diff *d)
{
    for (size_t i = 0; i < d->nitems; i++)
        fprintf(stderr, "  %s\n", d->items[i].line);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(test_image_diff_compare_finds_same_digest_identical)
{
    struct image_diff d;
    struct temper_err err;
    struct image_opts o = {0};

    make_image("a", base_entries, N(base_entries), &o);
    ck_assert_msg(compare("a", "a", &d, &err) == 0, "%s", err.msg);
    ck_assert(d.identical);
    ck_assert_uint_eq(d.count, 0);
    ck_assert_str_eq(d.digest_a, d.digest_b);
    image_diff_release(&d);
}
END_TEST

START_TEST(test_image_diff_compare_names_config_and_manifest_fields)
{
    struct image_diff d;
    struct temper_err err;
    struct image_opts oa = {.annotation = "one"};
    struct image_opts ob = {.entrypoint = "/usr/bin/python3",
                            .user = "0:0",
                            .created = 1600000000,
                            .annotation = "two"};

    make_image("a", base_entries, N(base_entries), &oa);
    make_image("b", base_entries, N(base_entries), &ob);
    ck_assert_msg(compare("a", "b", &d, &err) == 0, "%s", err.msg);
    dump(&d);
    ck_assert(!d.identical);
    ck_assert(has_line(&d, "manifest: annotations[\"org.example.note\"]: \"one\" -> \"two\""));
    ck_assert(
        has_line(&d, "config: created: \"2023-11-14T22:13:20Z\" -> \"2020-09-13T12:26:40Z\""));
    ck_assert(has_line(&d, "config: User: \"65532:65532\" -> \"0:0\""));
    ck_assert(has_line(&d, "config: Entrypoint: [\"/usr/bin/x\"] -> [\"/usr/bin/python3\"]"));
    ck_assert(has_prefix(&d, "config: history: "));
    /* Same layer: no layer line at all. */
    ck_assert(!has_prefix(&d, "layer 1"));
    ck_assert_uint_eq(d.count, 5);
    image_diff_release(&d);
}
END_TEST

START_TEST(test_image_diff_compare_names_every_entry_difference)
{
    struct tentry b[N(base_entries) + 1];
    struct image_diff d;
    struct temper_err err;
    struct image_opts o = {0};

    /* B: passwd content, x mode/owner/mtime, py link, hard link target, kind type, gone
     * removed, extra added, attr xattr changed; the first two files swapped in order. */
    memcpy(b, base_entries, sizeof(base_entries));
    b[1].data = "root:x:0:0::/root:/bin/sh\n";
    b[2] = (struct tentry){"etc/extra", 'f', 0600, 0, 0, 100, "hello", NULL, NULL};
    b[3].mode = 0775, b[3].uid = 65532, b[3].gid = 65532, b[3].mtime = 200;
    b[4].data = "python3.12";
    b[5].data = "usr/bin/kind";
    b[6] = (struct tentry){"usr/bin/kind", 'l', 0777, 0, 0, 100, "x", NULL, NULL};
    b[7].xattr_value = "v2";
    b[8] = (struct tentry){"./var/new", 'd', 0755, 0, 0, 100, NULL, NULL, NULL};
    make_image("a", base_entries, N(base_entries), &o);
    make_image("b", b, N(b), &o);
    ck_assert_msg(compare("a", "b", &d, &err) == 0, "%s", err.msg);
    dump(&d);
    ck_assert(has_prefix(&d, "layer 1: /etc/passwd: content: 32 bytes sha256:"));
    ck_assert(has_prefix(&d, "config: rootfs: "));
    ck_assert(has_line(&d, "layer 1: /etc/gone: removed: file 0644 0:0 4 bytes"));
    ck_assert(has_line(&d, "layer 1: /etc/extra: added: file 0600 0:0 5 bytes"));
    ck_assert(has_line(&d, "layer 1: /usr/bin/x: mode: 0755 -> 0775"));
    ck_assert(has_line(&d, "layer 1: /usr/bin/x: owner: 0:0 -> 65532:65532"));
    ck_assert(has_line(&d, "layer 1: /usr/bin/x: mtime: 100 -> 200"));
    ck_assert(has_line(&d, "layer 1: /usr/bin/py: link target: \"python3.11\" -> \"python3.12\""));
    ck_assert(
        has_line(&d, "layer 1: /usr/bin/hard: link target: \"/usr/bin/x\" -> \"/usr/bin/kind\""));
    ck_assert(has_line(&d, "layer 1: /usr/bin/kind: type: file -> symlink"));
    ck_assert(has_line(&d, "layer 1: /usr/lib/attr: pax SCHILY.xattr.user.k: \"v1\" -> \"v2\""));
    ck_assert(has_line(&d, "layer 1: /var/new: added: directory 0755 0:0"));
    /* Nothing moved relative to the others: the swap put gone/extra in one slot. */
    ck_assert(!has_prefix(&d, "layer 1: /usr/bin/x: position"));
    ck_assert_uint_eq(d.count, d.nitems);
    ck_assert_uint_ge(d.count, 13);
    image_diff_release(&d);
}
END_TEST

/* Another epoch: every mtime moved from 100 to 300 is one difference with its count, and the
 * other differences still come; a second, other change of mtime brings back one line each. */
START_TEST(test_image_diff_compare_says_a_uniform_mtime_change_once)
{
    struct tentry b[N(base_entries)];
    struct image_diff d;
    struct temper_err err;
    struct image_opts o = {0};

    memcpy(b, base_entries, sizeof(base_entries));
    for (size_t i = 0; i < N(b); i++)
        b[i].mtime = 300;
    b[3].mode = 0700;
    make_image("a", base_entries, N(base_entries), &o);
    make_image("b", b, N(b), &o);
    ck_assert_msg(compare("a", "b", &d, &err) == 0, "%s", err.msg);
    dump(&d);
    ck_assert(has_line(&d, "layer 1: mtime of 8 entries: 100 -> 300"));
    ck_assert(has_line(&d, "layer 1: /usr/bin/x: mode: 0755 -> 0700"));
    ck_assert(!has_prefix(&d, "layer 1: /etc/passwd: mtime"));
    image_diff_release(&d);

    b[7].mtime = 400;
    make_image("c", b, N(b), &o);
    ck_assert_msg(compare("a", "c", &d, &err) == 0, "%s", err.msg);
    ck_assert(has_line(&d, "layer 1: /etc/passwd: mtime: 100 -> 300"));
    ck_assert(has_line(&d, "layer 1: /usr/lib/attr: mtime: 100 -> 400"));
    ck_assert(!has_prefix(&d, "layer 1: mtime of"));
    image_diff_release(&d);
}
END_TEST

START_TEST(test_image_diff_compare_reports_moves_not_shifts)
{
    const struct tentry a[] = {
        {"a", 'f', 0644, 0, 0, 1, "1", NULL, NULL},
        {"b", 'f', 0644, 0, 0, 1, "2", NULL, NULL},
        {"c", 'f', 0644, 0, 0, 1, "3", NULL, NULL},
        {"d", 'f', 0644, 0, 0, 1, "4", NULL, NULL},
    };
    /* A new first entry shifts all; d moving before b is the one change of order. */
    const struct tentry b[] = {
        {"0", 'f', 0644, 0, 0, 1, "0", NULL, NULL}, {"a", 'f', 0644, 0, 0, 1, "1", NULL, NULL},
        {"d", 'f', 0644, 0, 0, 1, "4", NULL, NULL}, {"b", 'f', 0644, 0, 0, 1, "2", NULL, NULL},
        {"c", 'f', 0644, 0, 0, 1, "3", NULL, NULL},
    };
    struct image_diff d;
    struct temper_err err;
    struct image_opts o = {0};

    make_image("a", a, N(a), &o);
    make_image("b", b, N(b), &o);
    ck_assert_msg(compare("a", "b", &d, &err) == 0, "%s", err.msg);
    dump(&d);
    ck_assert(has_line(&d, "layer 1: /0: added: file 0644 0:0 1 bytes"));
    ck_assert(has_line(&d, "layer 1: /d: position: 4 -> 3"));
    ck_assert(!has_prefix(&d, "layer 1: /a: position"));
    ck_assert(!has_prefix(&d, "layer 1: /b: position"));
    ck_assert(!has_prefix(&d, "layer 1: /c: position"));
    image_diff_release(&d);
}
END_TEST

START_TEST(test_image_diff_compare_names_a_compression_difference)
{
    struct image_diff d;
    struct temper_err err;
    struct image_opts oa = {0}, ob = {.gzip = true};

    make_image("a", base_entries, N(base_entries), &oa);
    make_image("b", base_entries, N(base_entries), &ob);
    ck_assert_msg(compare("a", "b", &d, &err) == 0, "%s", err.msg);
    dump(&d);
    ck_assert_uint_eq(d.count, 1);
    ck_assert(has_prefix(&d, "layer 1: same content, other compression: sha256:"));
    ck_assert_str_eq(json_string_value(json_object_get(d.items[0].json, "field")), "compression");
    ck_assert_ptr_nonnull(json_object_get(d.items[0].json, "diff_id"));
    image_diff_release(&d);
}
END_TEST

START_TEST(test_image_diff_compare_checks_a_claimed_diff_id)
{
    const struct tentry good[] = {{"usr/bin/app", 'f', 0755, 0, 0, 1, "good program", NULL, NULL}};
    const struct tentry evil[] = {{"usr/bin/app", 'f', 04755, 0, 0, 1, "evil program", NULL, NULL}};
    char *ta, *tb;
    size_t la = make_tar(good, 1, false, &ta), lb = make_tar(evil, 1, false, &tb);
    struct image_diff d;
    struct temper_err err;
    struct image_opts o = {0};

    make_image_of_tar("a", ta, la, ta, la, TAR_TYPE, &o);
    make_image_of_tar("b", ta, la, tb, lb, TAR_TYPE, &o); /* B's config names A's diff_id */
    ck_assert_msg(compare("a", "b", &d, &err) == 0, "%s", err.msg);
    dump(&d);
    ck_assert(!d.identical);
    ck_assert(!has_prefix(&d, "layer 1: same content"));
    ck_assert(has_prefix(&d, "layer 1: B's config names diff_id sha256:"));
    ck_assert(has_line(&d, "layer 1: /usr/bin/app: mode: 0755 -> 4755"));
    image_diff_release(&d);
    free(ta);
    free(tb);
}
END_TEST

START_TEST(test_image_diff_compare_normalises_paths)
{
    const struct tentry a[] = {{"./etc/x", 'f', 0644, 0, 0, 1, "1", NULL, NULL}};
    const struct tentry b[] = {{"etc//x", 'f', 0644, 0, 0, 1, "1", NULL, NULL}};
    struct image_diff d;
    struct temper_err err;
    struct image_opts o = {0};

    make_image("a", a, N(a), &o);
    make_image("b", b, N(b), &o);
    ck_assert_msg(compare("a", "b", &d, &err) == 0, "%s", err.msg);
    dump(&d);
    /* The same entry; the tars differ in bytes only, which the diff_id line says. */
    ck_assert(!has_prefix(&d, "layer 1: /etc/x"));
    ck_assert(has_prefix(&d, "layer 1: diff_id: sha256:"));
    image_diff_release(&d);
}
END_TEST

START_TEST(test_image_diff_compare_escapes_hostile_names)
{
    const struct tentry a[] = {{"etc/a", 'f', 0644, 0, 0, 1, "1", NULL, NULL}};
    const struct tentry b[] = {
        {"etc/a\nlayer 1: /forged: added", 'f', 0644, 0, 0, 1, "1", NULL, NULL},
        {"../../etc/shadow", 'f', 0644, 0, 0, 1, "2", NULL, NULL},
        {"etc/link", 'l', 0777, 0, 0, 1, "\x1b[31mred\n", NULL, NULL},
        {"etc/a\\nb", 'f', 0644, 0, 0, 1, "3", NULL, NULL},
    };
    struct image_diff d;
    struct temper_err err;
    struct image_opts o = {0};
    json_t *doc;
    char *text;

    make_image("a", a, N(a), &o);
    make_image("b", b, N(b), &o);
    ck_assert_msg(compare("a", "b", &d, &err) == 0, "%s", err.msg);
    dump(&d);
    for (size_t i = 0; i < d.nitems; i++)
        for (const char *p = d.items[i].line; *p; p++)
            ck_assert_msg(*p >= 0x20 && *p < 0x7f, "unprintable byte in '%s'", d.items[i].line);
    /* Escaped once, each name one way (base/escape.h): a newline and a backslash-n differ. */
    ck_assert(
        has_line(&d, "layer 1: /etc/a\\nlayer 1: /forged: added: added: file 0644 0:0 1 bytes"));
    ck_assert(has_line(&d, "layer 1: /etc/a\\\\nb: added: file 0644 0:0 1 bytes"));
    ck_assert(has_line(&d, "layer 1: /../../etc/shadow: added: file 0644 0:0 1 bytes"));
    ck_assert(has_line(&d, "layer 1: /etc/link: added: symlink 0777 0:0 -> \"\\x1b[31mred\\n\""));
    /* JSON keeps the exact bytes. */
    doc = image_diff_json(&d, "a", "b");
    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_ptr_nonnull(strstr(text, "\"path\":\"/etc/a\\nlayer 1: /forged: added\""));
    ck_assert_ptr_nonnull(strstr(text, "\"identical\":false"));
    free(text);
    json_decref(doc);
    image_diff_release(&d);
}
END_TEST

START_TEST(test_image_diff_json_has_the_contract_keys)
{
    struct tentry b[N(base_entries)];
    struct image_diff d;
    struct temper_err err;
    struct image_opts o = {0};
    json_t *doc, *diffs, *mode = NULL, *added = NULL, *content = NULL;
    size_t i;
    json_t *item;

    memcpy(b, base_entries, sizeof(base_entries));
    b[3].mode = 0700;
    b[2] = (struct tentry){"etc/new", 'f', 0644, 0, 0, 100, "12345", NULL, NULL};
    b[1].data = "changed";
    make_image("a", base_entries, N(base_entries), &o);
    make_image("b", b, N(b), &o);
    ck_assert_msg(compare("a", "b", &d, &err) == 0, "%s", err.msg);
    doc = image_diff_json(&d, "out/a", "out/b:latest");
    ck_assert(json_is_false(json_object_get(doc, "identical")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "a"), "image")),
                     "out/a");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "b"), "digest")),
                     d.digest_b);
    diffs = json_object_get(doc, "differences");
    ck_assert_uint_eq(json_array_size(diffs), d.count);
    json_array_foreach(diffs, i, item)
    {
        const char *field = json_string_value(json_object_get(item, "field"));

        ck_assert_ptr_nonnull(json_object_get(item, "where"));
        ck_assert_ptr_nonnull(json_object_get(item, "a"));
        ck_assert_ptr_nonnull(json_object_get(item, "b"));
        if (strcmp(field, "mode") == 0)
            mode = item;
        if (strcmp(field, "added") == 0)
            added = item;
        if (strcmp(field, "content") == 0)
            content = item;
    }
    ck_assert_ptr_nonnull(mode);
    ck_assert_str_eq(json_string_value(json_object_get(mode, "path")), "/usr/bin/x");
    ck_assert_str_eq(json_string_value(json_object_get(mode, "a")), "0755");
    ck_assert_str_eq(json_string_value(json_object_get(mode, "b")), "0700");
    ck_assert_ptr_nonnull(added);
    ck_assert(json_is_null(json_object_get(added, "a")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(added, "b"), "size")), 5);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(added, "b"), "type")),
                     "file");
    ck_assert_ptr_nonnull(content);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(content, "b"), "size")), 7);
    json_decref(doc);
    image_diff_release(&d);
}
END_TEST

/* ---- hostile layers, read directly ---- */

static int
read_bytes(const void *bytes, size_t len, const struct oci_descriptor *desc,
           struct image_layer_entries *out, struct temper_err *err)
{
    int fd;
    int rc;

    testutil_write("layer", bytes, len);
    fd = open(testutil_path("layer"), O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    rc = image_layer_read(fd, desc, "layer 1 'x'", out, err);
    close(fd);
    return rc;
}

/* Writes a ustar header's checksum. */
static void
ustar_header_sum(char h[512])
{
    unsigned sum = 0;

    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
}

/* A ustar header for a file of `size` (octal text) bytes, checksummed. */
static void
ustar_header(char h[512], const char *name, const char *size_octal)
{
    memset(h, 0, 512);
    snprintf(h, 100, "%s", name);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    snprintf(h + 124, 12, "%s", size_octal);
    memcpy(h + 136, "00000000000", 12);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    ustar_header_sum(h);
}

START_TEST(test_image_layer_read_refuses_an_absurd_size)
{
    char buf[2048] = {0};
    struct image_layer_entries got;
    struct temper_err err;

    ustar_header(buf, "huge", "77777777777"); /* 8 GiB announced, 1.5 KiB there */
    memset(buf + 512, 'x', 1024);
    ck_assert_int_eq(read_bytes(buf, sizeof(buf), NULL, &got, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT); /* over what 2 KiB may expand to */
    ck_assert_msg(strstr(err.msg, "layer 1 'x'") && strstr(err.msg, "/huge"), "%s", err.msg);
    ustar_header(buf, "huge", "00000004000"); /* 2 KiB announced, 1.5 KiB there */
    ck_assert_int_eq(read_bytes(buf, sizeof(buf), NULL, &got, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_msg(strstr(err.msg, "layer 1 'x'") && strstr(err.msg, "/huge"), "%s", err.msg);
}
END_TEST

/* A zstd block header: `size` bytes, raw (type 0) or the RLE of one byte (type 1). */
static size_t
zstd_block(unsigned char *out, unsigned type, uint32_t size, bool last)
{
    uint32_t h = (size << 3) | (type << 1) | (last ? 1u : 0u);

    out[0] = (unsigned char)h;
    out[1] = (unsigned char)(h >> 8);
    out[2] = (unsigned char)(h >> 16);
    return 3;
}

START_TEST(test_image_layer_read_stops_a_zstd_bomb)
{
    /* 2 GiB of zeros as zstd RLE blocks (64 KiB that expand 32768 times) after a tar header:
     * once the content of a file that says it is that big, once the zeros after the end of a
     * tar (they count in the diff_id, so they are read too). */
    const uint32_t block = 128 * 1024, nblocks = (uint32_t)((2ULL << 30) / block) + 1;
    const char *sizes[] = {"20000000000", "00000000000"};
    size_t cap = 16 + 512 + 3 + (size_t)nblocks * 4;
    unsigned char *z = malloc(cap);
    char h[512];
    struct image_layer_entries got;
    struct temper_err err;

    ck_assert_ptr_nonnull(z);
    for (size_t k = 0; k < N(sizes); k++) {
        size_t o = 6;

        memcpy(z, "\x28\xb5\x2f\xfd\x00\x38", 6); /* magic; no size, no checksum; 128 KiB window */
        ustar_header(h, "zeros", sizes[k]);
        o += zstd_block(z + o, 0, 512, false);
        memcpy(z + o, h, 512);
        o += 512;
        for (uint32_t i = 0; i < nblocks; i++) {
            o += zstd_block(z + o, 1, block, i + 1 == nblocks);
            z[o++] = 0;
        }
        ck_assert_int_eq(read_bytes(z, o, NULL, &got, &err), -1);
        ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
        ck_assert_msg(strstr(err.msg, "layer 1 'x'") && strstr(err.msg, "DIFF_LAYER_MAX_RATIO") &&
                          strstr(err.msg, "gzip"),
                      "%s", err.msg);
    }
    free(z);
}
END_TEST

START_TEST(test_image_layer_read_refuses_a_huge_sparse_entry)
{
    /* A pax 0.1 sparse file of 2^60 bytes, one of them stored (as the review's t5.py). */
    static const char records[] = "39 GNU.sparse.size=1152921504606846976\n"
                                  "40 GNU.sparse.map=1152921504606846975,1\n";
    char tar[512 * 6] = {0};
    struct image_layer_entries got;
    struct temper_err err;
    char octal[16];

    snprintf(octal, sizeof(octal), "%011o", (unsigned)strlen(records));
    ustar_header(tar, "PaxHeader", octal);
    tar[156] = 'x';
    ustar_header_sum(tar);
    memcpy(tar + 512, records, strlen(records));
    ustar_header(tar + 1024, "sparse", "00000000001");
    tar[1536] = 'x';
    ck_assert_int_eq(read_bytes(tar, sizeof(tar), NULL, &got, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_msg(strstr(err.msg, "'/sparse'") && strstr(err.msg, "sparse"), "%s", err.msg);
}
END_TEST

/* A tar of one empty file "f" whose pax header holds `n` empty xattrs (SCHILY.xattr.u.NNNN). */
static size_t
empty_xattrs_tar(size_t n, char **out)
{
    size_t records = 25 * n, size = 512 + (records + 511) / 512 * 512 + 512 + 1024;
    char *tar = calloc(1, size), octal[16];

    ck_assert_ptr_nonnull(tar);
    snprintf(octal, sizeof(octal), "%011o", (unsigned)records);
    ustar_header(tar, "PaxHeader", octal);
    tar[156] = 'x';
    ustar_header_sum(tar);
    for (size_t i = 0; i < n; i++) {
        char record[32];

        snprintf(record, sizeof(record), "25 SCHILY.xattr.u.%05u=\n", (unsigned)(i % 100000));
        memcpy(tar + 512 + 25 * i, record, 25);
    }
    ustar_header(tar + size - 1536, "f", "00000000000");
    *out = tar;
    return size;
}

/* Issue 17: an entry's pax records are counted as they are held, two allocations and a slot
 * each, not as their bytes: 1,000 empty xattrs are 18 KB of keys but hold 90 KB, over
 * DIFF_PAX_MAX_BYTES (5,700 entries of 2,870 such records, a 60 KB zstd layer, held 1.5 GB
 * when a layer's 256 MiB counted key bytes only); 400 hold 38 KB and are kept. */
START_TEST(test_image_layer_read_counts_pax_records_as_held)
{
    struct image_layer_entries got;
    struct temper_err err;
    char *tar;
    size_t len = empty_xattrs_tar(400, &tar);

    ck_assert_msg(read_bytes(tar, len, NULL, &got, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(got.n, 1);
    ck_assert_uint_eq(got.entries[0].npax, 400);
    ck_assert_str_eq(got.entries[0].pax[399].key, "SCHILY.xattr.u.00399");
    image_layer_entries_release(&got);
    free(tar);
    len = empty_xattrs_tar(1000, &tar);
    ck_assert_int_eq(read_bytes(tar, len, NULL, &got, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_msg(strstr(err.msg, "'/f'") && strstr(err.msg, "DIFF_PAX_MAX_BYTES"), "%s", err.msg);
    free(tar);
}
END_TEST

START_TEST(test_image_layer_read_computes_the_diff_id)
{
    char *tar, *gz, want[SHA256_DIGEST_STR_LEN];
    size_t len = make_tar(base_entries, N(base_entries), false, &tar);
    size_t gz_len = make_tar(base_entries, N(base_entries), true, &gz);
    struct image_layer_entries got;
    struct temper_err err;

    sha256_digest(tar, len, want);
    ck_assert_msg(read_bytes(gz, gz_len, NULL, &got, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(got.diff_id, want);
    image_layer_entries_release(&got);
    ck_assert_msg(read_bytes(tar, len, NULL, &got, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(got.diff_id, want);
    image_layer_entries_release(&got);
    free(tar);
    free(gz);
}
END_TEST

START_TEST(test_image_layer_read_refuses_a_truncated_tar)
{
    char *tar;
    size_t len = make_tar(base_entries, N(base_entries), false, &tar);
    struct image_layer_entries got;
    struct temper_err err;

    ck_assert_int_eq(read_bytes(tar, len / 2 + 100, NULL, &got, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_msg(strstr(err.msg, "layer 1 'x'") != NULL, "%s", err.msg);
    free(tar);
}
END_TEST

START_TEST(test_image_layer_read_refuses_gzip_garbage)
{
    char buf[4096];
    struct image_layer_entries got;
    struct temper_err err;

    memcpy(buf, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    for (size_t i = 10; i < sizeof(buf); i++)
        buf[i] = (char)(i * 7919 % 251);
    ck_assert_int_eq(read_bytes(buf, sizeof(buf), NULL, &got, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_msg(strstr(err.msg, "layer 1 'x'") != NULL, "%s", err.msg);
    ck_assert_int_eq(read_bytes("not a tar at all, not even close", 33, NULL, &got, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
}
END_TEST

START_TEST(test_image_layer_read_caps_pax_records)
{
    static char big[DIFF_PAX_MAX_BYTES + 1024];
    struct tentry e[] = {{"etc/big", 'f', 0644, 0, 0, 1, "1", "user.big", big}};
    char *tar;
    size_t len;
    struct image_layer_entries got;
    struct temper_err err;

    memset(big, 'v', sizeof(big) - 1);
    len = make_tar(e, 1, false, &tar);
    ck_assert_int_eq(read_bytes(tar, len, NULL, &got, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_msg(strstr(err.msg, "'/etc/big'") && strstr(err.msg, "DIFF_PAX_MAX_BYTES"), "%s",
                  err.msg);
    free(tar);
}
END_TEST

START_TEST(test_image_layer_read_checks_the_blob_against_its_descriptor)
{
    char *tar;
    size_t len = make_tar(base_entries, N(base_entries), true, &tar);
    struct oci_descriptor desc = {GZIP_TYPE, "", len};
    struct image_layer_entries got;
    struct temper_err err;

    sha256_digest(tar, len, desc.digest);
    ck_assert_msg(read_bytes(tar, len, &desc, &got, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(got.n, N(base_entries));
    ck_assert_str_eq(got.entries[1].path, "/etc/passwd");
    ck_assert_uint_eq(got.entries[1].position, 2);
    ck_assert_str_eq(got.entries[5].link, "/usr/bin/x");
    ck_assert_uint_eq(got.entries[7].npax, 1);
    ck_assert_str_eq(got.entries[7].pax[0].key, "SCHILY.xattr.user.k");
    image_layer_entries_release(&got);
    /* Another byte: the digest is named. */
    tar[len / 2] ^= 1;
    ck_assert_int_eq(read_bytes(tar, len, &desc, &got, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_SIG);
    ck_assert_msg(strstr(err.msg, "its bytes hash to") != NULL, "%s", err.msg);
    free(tar);
}
END_TEST

START_TEST(test_image_hardening_of_counts_what_build_refuses)
{
    const struct tentry e[] = {
        {"bin/sh", 'f', 0755, 0, 0, 1,
         "\x7f"
         "ELF....",
         NULL, NULL},
        {"tmp/", 'd', 01777, 0, 0, 1, NULL, NULL, NULL},
        {"var/tmp/", 'd', 0777, 0, 0, 1, NULL, NULL, NULL},
        {"usr/bin/su", 'f', 04755, 0, 0, 1, "x", NULL, NULL},
        {"lib", 'l', 0777, 0, 0, 1, "usr/lib", NULL, NULL},
    };
    char *tar;
    size_t len = make_tar(e, N(e), false, &tar);
    struct image_layer_entries got;
    struct image_hardening h;
    struct image_doc doc = {0};
    struct temper_err err;

    ck_assert_msg(read_bytes(tar, len, NULL, &got, &err) == 0, "%s", err.msg);
    image_hardening_of(&doc, &got, 1, &h);
    ck_assert_uint_eq(h.elves, 1);
    ck_assert_uint_eq(h.setid, 1);
    ck_assert_str_eq(h.setid_paths[0], "/usr/bin/su");
    ck_assert_uint_eq(h.nworld_writable, 1);
    ck_assert_str_eq(h.world_writable[0], "/var/tmp");
    ck_assert_uint_eq(h.nshells, 1);
    ck_assert_str_eq(h.shells[0], "/bin/sh");
    ck_assert_ptr_null(h.user);
    image_hardening_release(&h);
    image_layer_entries_release(&got);
    free(tar);
}
END_TEST

/* An entry made in memory, for the hardening view: no tar needed. */
static struct image_entry
mem_entry(const char *path, enum image_entry_type type, unsigned mode, const char *link)
{
    return (struct image_entry){
        .path = strdup(path), .type = type, .mode = mode, .link = link ? strdup(link) : NULL};
}

/* A layer of `n` entries made in memory (positions set). */
static struct image_layer_entries
mem_layer(const struct image_entry *e, size_t n)
{
    struct image_layer_entries l = {.entries = calloc(n + 1, sizeof(*e)), .n = n};

    ck_assert_ptr_nonnull(l.entries);
    for (size_t i = 0; i < n; i++) {
        l.entries[i] = e[i];
        l.entries[i].position = i + 1;
    }
    return l;
}

/* The first layer's hard link to a target no layer holds: the view below it is still empty
 * (no array to search), and the link keeps its own attributes. */
START_TEST(test_image_hardening_of_takes_a_link_to_nothing)
{
    const struct image_entry e[] = {mem_entry("/bin/ok", IMAGE_ENTRY_HARDLINK, 04755, "/none")};
    struct image_layer_entries l = mem_layer(e, N(e));
    struct image_doc doc = {0};
    struct image_hardening h;

    image_hardening_of(&doc, &l, 1, &h);
    ck_assert(!h.incomplete);
    ck_assert_uint_eq(h.nsetid_paths, 1);
    ck_assert_str_eq(h.setid_paths[0], "/bin/ok");
    image_hardening_release(&h);
    image_layer_entries_release(&l);
}
END_TEST

/* Whiteouts remove a path and what is below it, not the names that only start alike ("/a!b"
 * sorts between "/a" and "/a/b"); an opaque one what is below its directory. */
START_TEST(test_image_hardening_view_add_removes_what_whiteouts_name)
{
    static const char *const paths[] = {"/",   "/a", "/a!b", "/a/b",   "/a/b/c", "/a0",
                                        "/ab", "/c", "/c/x", "/c/y/z", "/c0"};
    static const char *const kept[] = {"/", "/a!b", "/a0", "/ab", "/c", "/c0", "/l"};
    struct image_entry lower[N(paths)];
    const struct image_entry upper[] = {
        mem_entry("/.wh.a", IMAGE_ENTRY_FILE, 0644, NULL),
        mem_entry("/c/.wh..wh..opq", IMAGE_ENTRY_FILE, 0644, NULL),
        mem_entry("/l", IMAGE_ENTRY_HARDLINK, 0644, "/c0"),  /* kept: setid below */
        mem_entry("/m", IMAGE_ENTRY_HARDLINK, 0644, "/a/b"), /* removed: its own mode */
    };
    struct image_layer_entries l1, l2 = mem_layer(upper, N(upper));
    struct image_hardening_view *v = image_hardening_view_new();
    struct image_doc doc = {0};
    struct image_hardening h;
    struct temper_err err;

    for (size_t i = 0; i < N(paths); i++)
        lower[i] = mem_entry(paths[i], IMAGE_ENTRY_FILE, 04755, NULL);
    l1 = mem_layer(lower, N(lower));
    ck_assert_int_eq(image_hardening_view_add(v, &l1, "layer 1", &err), 0);
    ck_assert_int_eq(image_hardening_view_add(v, &l2, "layer 2", &err), 0);
    image_hardening_view_finish(v, &doc, &h);
    ck_assert_uint_eq(h.nsetid_paths, N(kept));
    for (size_t i = 0; i < N(kept); i++)
        ck_assert_str_eq(h.setid_paths[i], kept[i]);
    image_hardening_release(&h);
    image_hardening_view_free(v);
    image_layer_entries_release(&l1);
    image_layer_entries_release(&l2);
}
END_TEST

/* Issue 17: deep paths under a whiteout cost work in proportion to their bytes. Each of
 * these 4 KB paths has 2,000 parents: looking each parent up, as the view once did, costs
 * about 4 MB of hashing per path (2 GB here; hours for 64,000 such paths), against a budget
 * of (2 + 2 log2 n) times the paths' bytes for binary searches. */
START_TEST(test_image_hardening_view_add_is_linear_in_path_bytes)
{
    enum { PATHS = 256, DEPTH = 2000 };
    struct image_entry *lower = calloc(PATHS, sizeof(*lower));
    struct image_entry *upper = calloc(PATHS + 16, sizeof(*upper));
    struct image_layer_entries l1, l2;
    struct image_hardening_view *v = image_hardening_view_new();
    struct temper_err err;
    char *deep = malloc(2 * DEPTH + 16), name[32];
    uint64_t bytes = 0, budget, steps = 2;

    for (size_t i = 0; i < DEPTH; i++)
        memcpy(deep + 2 * i, "/a", 2);
    for (size_t i = 0; i < PATHS; i++) {
        snprintf(deep + 2 * DEPTH, 16, "/%zu", i);
        snprintf(name, sizeof(name), "/l%zu", i);
        lower[i] = mem_entry(deep, IMAGE_ENTRY_FILE, 0644, NULL);
        upper[i] = mem_entry(name, IMAGE_ENTRY_HARDLINK, 0644, deep);
        bytes += 2 * strlen(deep) + strlen(name);
    }
    for (size_t i = PATHS; i < PATHS + 16; i++) /* one whiteout, listed 16 times */
        upper[i] = mem_entry("/.wh.zzz", IMAGE_ENTRY_FILE, 0644, NULL);
    l1 = mem_layer(lower, PATHS);
    l2 = mem_layer(upper, PATHS + 16);
    ck_assert_int_eq(image_hardening_view_add(v, &l1, "layer 1", &err), 0);
    ck_assert_int_eq(image_hardening_view_add(v, &l2, "layer 2", &err), 0);
    for (size_t n = PATHS; n > 0; n /= 2)
        steps += 2;
    budget = steps * (bytes + 16 * 8) + 2 * PATHS;
    ck_assert_msg(image_hardening_view_work(v) <= budget,
                  "%llu path bytes compared for %llu bytes of paths (budget %llu)",
                  (unsigned long long)image_hardening_view_work(v), (unsigned long long)bytes,
                  (unsigned long long)budget);
    image_hardening_view_free(v);
    image_layer_entries_release(&l1);
    image_layer_entries_release(&l2);
    free(lower);
    free(upper);
    free(deep);
}
END_TEST

START_TEST(test_image_load_refuses_an_index)
{
    struct oci_layout *layout;
    struct oci_source src;
    struct oci_descriptor desc = {"application/vnd.oci.image.index.v1+json", "", 2};
    struct image_doc doc;
    struct temper_err err;
    struct image_opts o = {0};

    make_image("a", base_entries, 1, &o);
    ck_assert_int_eq(oci_layout_open(testutil_path("a"), false, &layout, &err), 0);
    oci_layout_source(layout, &src);
    sha256_digest("{}", 2, desc.digest);
    ck_assert_int_eq(image_load(&src, &desc, &doc, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_msg(strstr(err.msg, "not an image manifest") && strstr(err.msg, "layout '"), "%s",
                  err.msg);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_image_quote_escapes_and_cuts)
{
    char out[16];

    ck_assert_str_eq(image_quote("a\"b\\\n\x01", 6, out, sizeof(out)), "\"a\\\"b\\\\\\n\\x01\"");
    ck_assert_str_eq(image_quote("abcdefghijklmnopqrstuvwxyz", 26, out, sizeof(out)),
                     "\"abcdefghij...\"");
    /* never half an escape, nor half a character */
    ck_assert_str_eq(image_quote("abcdefghij\x1b", 11, out, sizeof(out)), "\"abcdefghij...\"");
    ck_assert_str_eq(
        image_quote("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", 14, out, sizeof(out)),
        "\"\u00e9\u00e9\u00e9\u00e9\u00e9...\"");
    ck_assert_uint_lt(strlen(out), sizeof(out));
}
END_TEST

/* ---- packages ---- */

#define SD "var/lib/dpkg/status.d/"
#define MD5_A "0123456789abcdef0123456789abcdef"

static const struct tentry packaged_a[] = {
    {"usr/lib/libfoo.so.1", 'f', 0644, 0, 0, 100, "foo 1.0", NULL, NULL},
    {"usr/lib/libbar.so.2", 'f', 0644, 0, 0, 100, "bar", NULL, NULL},
    {"usr/lib/gone.so", 'f', 0644, 0, 0, 100, "gone", NULL, NULL},
    {SD "bar", 'f', 0644, 0, 0, 100, "Package: bar\nVersion: 2\nArchitecture: amd64\n", NULL, NULL},
    {SD "bar.md5sums", 'f', 0644, 0, 0, 100, MD5_A "  usr/lib/libbar.so.2\n", NULL, NULL},
    {SD "foo", 'f', 0644, 0, 0, 100,
     "Package: foo\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n"
     "Description: a\n multi-line field\n",
     NULL, NULL},
    {SD "foo.md5sums", 'f', 0644, 0, 0, 100, MD5_A "  usr/lib/libfoo.so.1\n", NULL, NULL},
    {SD "gone", 'f', 0644, 0, 0, 100, "Package: gone\nVersion: 3\nArchitecture: all\n", NULL, NULL},
    {SD "gone.md5sums", 'f', 0644, 0, 0, 100, MD5_A "  usr/lib/gone.so\n", NULL, NULL},
};

static const struct tentry packaged_b[] = {
    {"usr/lib/libfoo.so.1", 'f', 0644, 0, 0, 100, "foo 1.1", NULL, NULL},
    {"usr/lib/libbar.so.2", 'f', 0644, 0, 0, 100, "bar", NULL, NULL},
    {"usr/lib/new.so", 'f', 0644, 0, 0, 100, "new", NULL, NULL},
    {SD "bar", 'f', 0644, 0, 0, 100, "Package: bar\nVersion: 2\nArchitecture: amd64\n", NULL, NULL},
    {SD "bar.md5sums", 'f', 0644, 0, 0, 100, MD5_A "  usr/lib/libbar.so.2\n", NULL, NULL},
    {SD "foo", 'f', 0644, 0, 0, 100,
     "Package: foo\nStatus: install ok installed\nVersion: 1.1-1\nArchitecture: amd64\n"
     "Description: a\n multi-line field\n",
     NULL, NULL},
    {SD "foo.md5sums", 'f', 0644, 0, 0, 100, MD5_A "  usr/lib/libfoo.so.1\n", NULL, NULL},
    {SD "new", 'f', 0644, 0, 0, 100, "Package: new\nVersion: 0.1\nArchitecture: amd64\n", NULL,
     NULL},
};

/* The index of the first item whose line starts with `prefix`, or -1. */
static long
item_at(const struct image_diff *d, const char *prefix)
{
    for (size_t i = 0; i < d->nitems; i++)
        if (strncmp(d->items[i].line, prefix, strlen(prefix)) == 0)
            return (long)i;
    return -1;
}

START_TEST(test_image_diff_compare_names_package_versions_first)
{
    struct image_diff d;
    struct temper_err err;
    struct image_opts o = {0};
    const json_t *j;
    long version;

    make_image("a", packaged_a, N(packaged_a), &o);
    make_image("b", packaged_b, N(packaged_b), &o);
    ck_assert_msg(compare("a", "b", &d, &err) == 0, "%s", err.msg);
    dump(&d);
    version = item_at(&d, "layer 1: package foo: 1.0-1 -> 1.1-1");
    ck_assert_int_ge(version, 0);
    ck_assert(has_line(&d, "layer 1: package gone: 3 -> absent"));
    ck_assert(has_line(&d, "layer 1: package new: absent -> 0.1"));
    ck_assert_int_lt(item_at(&d, "layer 1: package bar"), 0);
    /* before the file differences they cause */
    ck_assert_int_gt(item_at(&d, "layer 1: /usr/lib/libfoo.so.1: content"), version);
    j = d.items[version].json;
    ck_assert_str_eq(json_string_value(json_object_get(j, "package")), "foo");
    ck_assert_str_eq(json_string_value(json_object_get(j, "architecture")), "amd64");
    ck_assert_str_eq(json_string_value(json_object_get(j, "a")), "1.0-1");
    ck_assert_str_eq(json_string_value(json_object_get(j, "b")), "1.1-1");
    image_diff_release(&d);
}
END_TEST

static struct image_entry
text_entry(const char *path, const char *text)
{
    struct image_entry e = mem_entry(path, IMAGE_ENTRY_FILE, 0644, NULL);

    e.text = strdup(text);
    e.text_len = strlen(text);
    return e;
}

START_TEST(test_image_packages_add_reads_status_d_as_scanners_do)
{
    const struct image_entry lower[] = {
        text_entry("/var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.36-9\n"
                                                   "Architecture: amd64\n"),
        text_entry("/var/lib/dpkg/status.d/libc6.md5sums",
                   MD5_A "  usr/lib/x86_64-linux-gnu/libc.so.6\n" MD5_A "  usr/lib/shared\n"),
        text_entry("/var/lib/dpkg/status.d/old", "Package: old\nVersion: 1\n"),
        text_entry("/var/lib/dpkg/status.d/zz", "Package: zz\nVersion: 1\n"),
        text_entry("/var/lib/dpkg/status.d/zz.md5sums", MD5_A "  usr/lib/shared\n"),
        /* names nothing: no valid Package, a version with a space, a line that is not md5 */
        text_entry("/var/lib/dpkg/status.d/bad", "Package: Bad_Name\nVersion: 1\n"),
        text_entry("/var/lib/dpkg/status.d/odd", "package: odd\nVersion: 1 2\nArchitecture:\n"),
        text_entry("/var/lib/dpkg/status.d/odd.md5sums", "xyz  usr/lib/odd\n"),
    };
    const struct image_entry upper[] = {
        mem_entry("/var/lib/dpkg/status.d/.wh.old", IMAGE_ENTRY_FILE, 0644, NULL),
        text_entry("/var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.36-10\n"),
    };
    struct image_layer_entries l1 = mem_layer(lower, N(lower)), l2 = mem_layer(upper, N(upper));
    struct image_packages p;
    const struct image_package *pk;

    image_packages_init(&p);
    image_packages_add(&p, &l1);
    image_packages_finish(&p);
    ck_assert_uint_eq(p.n, 4);
    ck_assert_str_eq(p.pkgs[0].name, "libc6");
    ck_assert_str_eq(p.pkgs[1].name, "odd");
    ck_assert_str_eq(p.pkgs[1].version, "");
    ck_assert_str_eq(p.pkgs[1].architecture, "");
    ck_assert_str_eq(p.pkgs[2].name, "old");
    pk = image_package_of(&p, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    ck_assert(pk != NULL && strcmp(pk->name, "libc6") == 0);
    /* two lists: the status.d file first in byte order has it */
    pk = image_package_of(&p, "/usr/lib/shared");
    ck_assert(pk != NULL && strcmp(pk->name, "libc6") == 0);
    ck_assert_ptr_null(image_package_of(&p, "/usr/lib/odd"));

    /* the upper layer: old whited out, libc6's stanza replaced (its md5sums kept) */
    image_packages_add(&p, &l2);
    image_packages_finish(&p);
    ck_assert_uint_eq(p.n, 3);
    ck_assert_str_eq(p.pkgs[0].version, "2.36-10");
    ck_assert_str_eq(p.pkgs[0].architecture, "");
    ck_assert_str_eq(p.pkgs[2].name, "zz");
    pk = image_package_of(&p, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    ck_assert(pk != NULL && strcmp(pk->version, "2.36-10") == 0);
    image_packages_release(&p);
    image_layer_entries_release(&l1);
    image_layer_entries_release(&l2);
}
END_TEST

/* The layer reader keeps status.d's files and nothing else. */
START_TEST(test_image_layer_read_keeps_status_d_texts)
{
    struct oci_layout *layout;
    struct oci_source src;
    struct oci_descriptor desc;
    struct image_doc doc;
    struct image_layer_entries e;
    struct temper_err err;
    struct image_opts o = {0};
    size_t kept = 0;

    make_image("a", packaged_a, N(packaged_a), &o);
    ck_assert_int_eq(oci_layout_open(testutil_path("a"), false, &layout, &err), 0);
    oci_layout_source(layout, &src);
    ck_assert_int_eq(oci_layout_find_tag(layout, "latest", &desc, &err), 0);
    ck_assert_msg(image_load(&src, &desc, &doc, &err) == 0, "%s", err.msg);
    ck_assert_msg(image_layer_load(&src, &doc, 0, &e, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < e.n; i++) {
        bool sd = strncmp(e.entries[i].path, "/" SD, sizeof(SD)) == 0;

        ck_assert_msg((e.entries[i].text != NULL) == sd, "%s", e.entries[i].path);
        if (sd) {
            ck_assert_uint_eq(e.entries[i].text_len, e.entries[i].size);
            kept++;
        }
    }
    ck_assert_uint_eq(kept, 6);
    image_layer_entries_release(&e);
    image_doc_release(&doc);
    oci_layout_free(layout);
}
END_TEST

static Suite *
diff_suite(void)
{
    Suite *s = suite_create("diff");
    TCase *tc = tcase_create("image_diff_compare");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_image_diff_compare_finds_same_digest_identical);
    tcase_add_test(tc, test_image_diff_compare_names_config_and_manifest_fields);
    tcase_add_test(tc, test_image_diff_compare_names_every_entry_difference);
    tcase_add_test(tc, test_image_diff_compare_says_a_uniform_mtime_change_once);
    tcase_add_test(tc, test_image_diff_compare_reports_moves_not_shifts);
    tcase_add_test(tc, test_image_diff_compare_names_a_compression_difference);
    tcase_add_test(tc, test_image_diff_compare_checks_a_claimed_diff_id);
    tcase_add_test(tc, test_image_diff_compare_normalises_paths);
    tcase_add_test(tc, test_image_diff_compare_escapes_hostile_names);
    tcase_add_test(tc, test_image_diff_json_has_the_contract_keys);
    tcase_add_test(tc, test_image_load_refuses_an_index);
    tcase_add_test(tc, test_image_diff_compare_names_package_versions_first);
    tcase_add_test(tc, test_image_layer_read_keeps_status_d_texts);
    tcase_add_test(tc, test_image_packages_add_reads_status_d_as_scanners_do);
    suite_add_tcase(s, tc);

    tc = tcase_create("image_layer_read");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_image_layer_read_refuses_an_absurd_size);
    tcase_add_test(tc, test_image_layer_read_refuses_a_truncated_tar);
    tcase_add_test(tc, test_image_layer_read_stops_a_zstd_bomb);
    tcase_add_test(tc, test_image_layer_read_refuses_a_huge_sparse_entry);
    tcase_add_test(tc, test_image_layer_read_computes_the_diff_id);
    tcase_add_test(tc, test_image_layer_read_refuses_gzip_garbage);
    tcase_add_test(tc, test_image_layer_read_caps_pax_records);
    tcase_add_test(tc, test_image_layer_read_counts_pax_records_as_held);
    tcase_add_test(tc, test_image_layer_read_checks_the_blob_against_its_descriptor);
    tcase_add_test(tc, test_image_hardening_of_counts_what_build_refuses);
    tcase_add_test(tc, test_image_hardening_of_takes_a_link_to_nothing);
    tcase_add_test(tc, test_image_hardening_view_add_removes_what_whiteouts_name);
    tcase_add_test(tc, test_image_hardening_view_add_is_linear_in_path_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("image_quote");
    tcase_add_test(tc, test_image_quote_escapes_and_cuts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(diff_suite());
}
