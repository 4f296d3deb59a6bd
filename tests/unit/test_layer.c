/*
 * Unit tests of the layer writer: every layer is read back (libarchive,
 * libdeflate, gzip(1), zstd(1), GNU tar, Python's gzip and tarfile) and
 * compared with the plan it was written from; the same plan is written
 * twice, with different thread counts, to compare bytes.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <locale.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "layer/layer_writer.h"
#include "rootfs/rootfs_plan.h"
#include "testutil.h"

extern char **environ;

#define EPOCH 1700000000
#define BIG_SIZE (5 * 1024 * 1024 + 12345) /* six gzip chunks: more than a ring of 2 * 2 slots */

/* ---- plans built by hand ---- */

struct plan {
    struct rootfs_plan p;
    size_t cap;
};

static struct rootfs_entry *
plan_add(struct plan *pl, const char *path, enum rootfs_type type, uint32_t mode)
{
    struct rootfs_entry *e;

    if (pl->p.n == pl->cap) {
        pl->cap = pl->cap ? 2 * pl->cap : 16;
        pl->p.entries = realloc(pl->p.entries, pl->cap * sizeof(*pl->p.entries));
        ck_assert_ptr_nonnull(pl->p.entries);
    }
    e = &pl->p.entries[pl->p.n++];
    memset(e, 0, sizeof(*e));
    e->path = strdup(path);
    e->type = type;
    e->mode = mode;
    return e;
}

static struct rootfs_entry *
plan_dir(struct plan *pl, const char *path)
{
    return plan_add(pl, path, ROOTFS_DIR, 0755);
}

static struct rootfs_entry *
plan_file(struct plan *pl, const char *path, const char *source, uint32_t mode)
{
    struct rootfs_entry *e = plan_add(pl, path, ROOTFS_FILE, mode);
    struct stat st;
    char host[8192];

    snprintf(host, sizeof(host), "%s/root%s", testutil_dir, source);
    ck_assert_int_eq(stat(host, &st), 0);
    e->source = strdup(source);
    e->size = (uint64_t)st.st_size;
    return e;
}

static struct rootfs_entry *
plan_content(struct plan *pl, const char *path, const char *content, uint32_t mode)
{
    struct rootfs_entry *e = plan_add(pl, path, ROOTFS_FILE, mode);

    e->content = strdup(content);
    e->size = strlen(content);
    return e;
}

static void
plan_symlink(struct plan *pl, const char *path, const char *target)
{
    plan_add(pl, path, ROOTFS_SYMLINK, 0777)->target = strdup(target);
}

static void
plan_release(struct plan *pl)
{
    for (size_t i = 0; i < pl->p.n; i++) {
        free(pl->p.entries[i].path);
        free(pl->p.entries[i].source);
        free(pl->p.entries[i].content);
        free(pl->p.entries[i].target);
    }
    free(pl->p.entries);
    memset(pl, 0, sizeof(*pl));
}

static char *
repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Half text, half noise, so that compression has work of both kinds. */
static void
write_big_file(const char *rel, size_t size)
{
    char *buf = malloc(size);
    uint64_t x = 88172645463325252ull;
    size_t i = 0;

    while (i < size) {
        char line[64];
        int n = snprintf(line, sizeof(line), "line %zu of a file that spans chunks\n", i);

        for (int k = 0; k < n && i < size; k++)
            buf[i++] = line[k];
        for (int k = 0; k < 40 && i < size; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i++] = (char)(x & 0xff);
        }
    }
    testutil_write(rel, buf, size);
    free(buf);
}

/*
 * The full plan: directories, files from the root (setuid, 65532-owned,
 * empty, several chunks long), files from memory, symlinks, and paths and
 * targets over 100 and over 255 bytes.
 */
static void
make_full_plan(struct plan *pl)
{
    char *d99 = repeat('d', 99), *e160 = repeat('e', 160), *g150 = repeat('g', 150);
    char *h120 = repeat('h', 120), *t140 = repeat('t', 140);
    char path[1024];
    struct rootfs_entry *e;

    testutil_write("root/usr/bin/tool", "#!tool\n", 7);
    testutil_write("root/usr/bin/su", "setuid", 6);
    testutil_write("root/empty", "", 0);
    testutil_write("root/home/nonroot/.profile", "export X=1\n", 11);
    write_big_file("root/usr/lib/big.so", BIG_SIZE);

    plan_dir(pl, "etc");
    plan_content(pl, "etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\n", 0644);
    plan_dir(pl, "home");
    e = plan_dir(pl, "home/nonroot");
    e->uid = e->gid = 65532;
    e = plan_file(pl, "home/nonroot/.profile", "/home/nonroot/.profile", 0600);
    e->uid = e->gid = 65532;
    plan_symlink(pl, "lib", "usr/lib");
    plan_dir(pl, "tmp")->mode = 01777;
    plan_dir(pl, "usr");
    plan_dir(pl, "usr/bin");
    plan_file(pl, "usr/bin/empty", "/empty", 0644);
    plan_file(pl, "usr/bin/su", "/usr/bin/su", 04755);
    plan_file(pl, "usr/bin/tool", "/usr/bin/tool", 02755);
    /* 103 bytes (104 with the directory's slash) and 117: ustar splits them, no pax header */
    snprintf(path, sizeof(path), "usr/%s", d99);
    plan_dir(pl, path);
    snprintf(path, sizeof(path), "usr/%s/short-name", d99);
    plan_content(pl, path, "split", 0644);
    /* 264 bytes: a pax "path" */
    snprintf(path, sizeof(path), "usr/%s/%s", d99, e160);
    plan_content(pl, path, "deep", 0444);
    /* 254 bytes, but a last component of 150: a pax "path" */
    snprintf(path, sizeof(path), "usr/%s/%s", d99, g150);
    plan_dir(pl, path);
    /* 375 bytes: a pax "path" */
    snprintf(path, sizeof(path), "usr/%s/%s/%s", d99, g150, h120);
    plan_symlink(pl, path, "../../bin/tool");
    plan_dir(pl, "usr/lib");
    plan_file(pl, "usr/lib/big.so", "/usr/lib/big.so", 0644);
    /* a target of 140 bytes: a pax "linkpath"; the file it names, 148 bytes: a pax "path" */
    plan_symlink(pl, "usr/lib/long-link", t140);
    snprintf(path, sizeof(path), "usr/lib/%s", t140);
    plan_content(pl, path, "long target", 0644);
    free(d99);
    free(e160);
    free(g150);
    free(h120);
    free(t140);
}

/* ---- writing ---- */

static struct fs_root *
open_root(void)
{
    struct fs_root *root = NULL;
    struct temper_err err;
    char dir[8192];

    snprintf(dir, sizeof(dir), "%s/root", testutil_dir);
    mkdir(dir, 0755);
    ck_assert_msg(fs_root_open(dir, &root, &err) == 0, "%s", err.msg);
    return root;
}

static struct layer_options
options(enum layer_compression c, unsigned jobs, int64_t epoch)
{
    struct layer_options o = {.compression = c, .jobs = jobs, .epoch = epoch};

    return o;
}

/* Writes the layer into the test directory at `rel`; returns 0 or -1 with err set. */
static int
try_write(const struct plan *pl, const struct layer_options *o, const char *rel,
          struct layer_result *res, struct temper_err *err)
{
    struct fs_root *root = open_root();
    int fd = open(testutil_path(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc;

    ck_assert_int_ge(fd, 0);
    rc = layer_write(&pl->p, root, fd, o, res, err);
    close(fd);
    fs_root_free(root);
    return rc;
}

static void
write_ok(const struct plan *pl, const struct layer_options *o, const char *rel,
         struct layer_result *res)
{
    struct temper_err err;

    ck_assert_msg(try_write(pl, o, rel, res, &err) == 0, "%s", err.msg);
}

static void
read_rel(const char *rel, char **buf, size_t *len)
{
    char host[8192];

    snprintf(host, sizeof(host), "%s", testutil_path(rel));
    testutil_read(host, buf, len);
}

/* ---- reading back ---- */

/* The bytes a plan entry should hold. */
static void
expected_content(const struct rootfs_entry *e, char **buf, size_t *len)
{
    char rel[8192];

    if (e->content != NULL) {
        *buf = malloc(e->size + 1);
        memcpy(*buf, e->content, e->size);
        *len = e->size;
        return;
    }
    snprintf(rel, sizeof(rel), "root%s", e->source);
    read_rel(rel, buf, len);
}

static void
check_entry(struct archive *a, struct archive_entry *ae, const struct rootfs_entry *e)
{
    char want_path[8192];
    mode_t type = e->type == ROOTFS_DIR ? AE_IFDIR : e->type == ROOTFS_FILE ? AE_IFREG : AE_IFLNK;

    /* ustar, like GNU tar, marks a directory with a trailing slash */
    snprintf(want_path, sizeof(want_path), "%s%s", e->path, e->type == ROOTFS_DIR ? "/" : "");
    ck_assert_str_eq(archive_entry_pathname(ae), want_path);
    ck_assert_uint_eq(archive_entry_filetype(ae), type);
    ck_assert_uint_eq(archive_entry_mode(ae), type | e->mode);
    ck_assert_int_eq(archive_entry_uid(ae), e->uid);
    ck_assert_int_eq(archive_entry_gid(ae), e->gid);
    /* the ustar fields are empty (the raw header test checks every byte) */
    ck_assert(archive_entry_uname(ae) == NULL || archive_entry_uname(ae)[0] == '\0');
    ck_assert(archive_entry_gname(ae) == NULL || archive_entry_gname(ae)[0] == '\0');
    ck_assert_int_eq(archive_entry_mtime(ae), EPOCH);
    ck_assert_int_eq(archive_entry_mtime_nsec(ae), 0);
    ck_assert(!archive_entry_atime_is_set(ae));
    ck_assert(!archive_entry_ctime_is_set(ae));
    ck_assert(!archive_entry_birthtime_is_set(ae));
    ck_assert_uint_eq(archive_entry_xattr_count(ae), 0);
    ck_assert_ptr_null(archive_entry_hardlink(ae));
    if (e->type == ROOTFS_SYMLINK) {
        ck_assert_str_eq(archive_entry_symlink(ae), e->target);
        ck_assert_int_eq(archive_entry_size(ae), 0);
    } else if (e->type == ROOTFS_FILE) {
        char *want, *got;
        size_t want_len;
        la_ssize_t n;

        ck_assert_int_eq(archive_entry_size(ae), (la_int64_t)e->size);
        expected_content(e, &want, &want_len);
        got = malloc(want_len + 1);
        n = archive_read_data(a, got, want_len + 1);
        ck_assert_int_eq(n, (la_ssize_t)want_len);
        ck_assert(memcmp(got, want, want_len) == 0);
        free(got);
        free(want);
    }
}

/* Reads the layer back with libarchive: exactly the plan's entries, in order. */
static void
check_round_trip(const char *rel, const struct plan *pl)
{
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    size_t i = 0;
    int rc;

    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    ck_assert_int_eq(archive_read_open_filename(a, testutil_path(rel), 65536), ARCHIVE_OK);
    while ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        ck_assert_uint_lt(i, pl->p.n);
        check_entry(a, ae, &pl->p.entries[i]);
        i++;
    }
    ck_assert_msg(rc == ARCHIVE_EOF, "%s", archive_error_string(a));
    ck_assert_uint_eq(i, pl->p.n);
    archive_read_free(a);
}

/* The decompressed stream, through libarchive's filters and its "raw" format. */
static void
decompress(const char *rel, char **out, size_t *out_len)
{
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    la_ssize_t n;

    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    ck_assert_int_eq(archive_read_open_filename(a, testutil_path(rel), 65536), ARCHIVE_OK);
    ck_assert_int_eq(archive_read_next_header(a, &ae), ARCHIVE_OK);
    while ((n = archive_read_data(a, buf + len, cap - len)) > 0) {
        len += (size_t)n;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    ck_assert_int_eq(n, 0);
    archive_read_free(a);
    *out = buf;
    *out_len = len;
}

static void
check_hashes(const char *rel, const struct layer_result *res, enum layer_compression c)
{
    char *file, *tar, digest[SHA256_DIGEST_STR_LEN];
    size_t file_len, tar_len;

    read_rel(rel, &file, &file_len);
    sha256_digest(file, file_len, digest);
    ck_assert_str_eq(res->digest, digest);
    ck_assert_uint_eq(res->size, file_len);
    decompress(rel, &tar, &tar_len);
    sha256_digest(tar, tar_len, digest);
    ck_assert_str_eq(res->diff_id, digest);
    ck_assert_uint_eq(res->tar_size, tar_len);
    if (c == LAYER_COMPRESSION_NONE) {
        ck_assert_str_eq(res->digest, res->diff_id);
        ck_assert_uint_eq(res->size, res->tar_size);
    } else {
        ck_assert_str_ne(res->digest, res->diff_id);
        ck_assert_uint_lt(res->size, res->tar_size);
    }
    free(file);
    free(tar);
}

static const enum layer_compression all_compressions[] = {
    LAYER_COMPRESSION_GZIP,
    LAYER_COMPRESSION_ZSTD,
    LAYER_COMPRESSION_NONE,
};

START_TEST(test_layer_write_round_trips_every_entry)
{
    struct plan pl = {0};
    struct layer_options o = options(all_compressions[_i], 2, EPOCH);
    struct layer_result res;

    make_full_plan(&pl);
    write_ok(&pl, &o, "layer", &res);
    check_round_trip("layer", &pl);
    check_hashes("layer", &res, o.compression);
    plan_release(&pl);
}
END_TEST

/* ---- the raw tar: what libarchive puts in headers ---- */

static uint64_t
octal(const char *field, size_t len)
{
    uint64_t v = 0;

    for (size_t i = 0; i < len && field[i] >= '0' && field[i] <= '7'; i++)
        v = v * 8 + (uint64_t)(field[i] - '0');
    return v;
}

static bool
is_zero(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

/* Checks each record of a pax extended header: only keys a restricted pax needs. */
static void
check_pax_records(const char *p, size_t len)
{
    size_t off = 0;

    while (off < len) {
        char *end;
        unsigned long reclen = strtoul(p + off, &end, 10);
        const char *key = end + 1, *eq = memchr(key, '=', (size_t)(p + off + reclen - key));

        ck_assert_ptr_nonnull(eq);
        ck_assert_msg(strncmp(key, "path=", 5) == 0 || strncmp(key, "linkpath=", 9) == 0 ||
                          strncmp(key, "hdrcharset=", 11) == 0,
                      "unexpected pax record %.*s", (int)(eq - key), key);
        ck_assert_int_eq(p[off + reclen - 1], '\n');
        off += reclen;
    }
}

START_TEST(test_layer_write_tar_headers_hold_nothing_from_the_host)
{
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_NONE, 1, EPOCH);
    struct layer_result res;
    char *tar;
    size_t len, off = 0, headers = 0, pax = 0;

    make_full_plan(&pl);
    write_ok(&pl, &o, "layer.tar", &res);
    read_rel("layer.tar", &tar, &len);
    while (off + 512 <= len && !is_zero(tar + off, 512)) {
        const char *h = tar + off;
        uint64_t size = octal(h + 124, 12);

        ck_assert(memcmp(h + 257,
                         "ustar\0"
                         "00",
                         8) == 0);
        ck_assert_uint_eq(octal(h + 136, 12), EPOCH);
        ck_assert(is_zero(h + 265, 32)); /* uname */
        ck_assert(is_zero(h + 297, 32)); /* gname */
        if (h[156] == 'x') {
            ck_assert(memmem(h, 100, "PaxHeader/", 10) != NULL);
            check_pax_records(h + 512, size);
            pax++;
        } else {
            headers++;
        }
        off += 512 + (size + 511) / 512 * 512;
    }
    ck_assert_uint_eq(headers, pl.p.n);
    ck_assert_uint_eq(pax, 5); /* as make_full_plan says */
    /* The end-of-archive marker and nothing after it: no padding to 10,240 bytes. */
    ck_assert_uint_eq(len, off + 1024);
    ck_assert(is_zero(tar + off, 1024));
    ck_assert_uint_eq(res.tar_size, len);
    free(tar);
    plan_release(&pl);
}
END_TEST

/* ---- gzip members ---- */

START_TEST(test_layer_write_gzip_members_have_no_name_or_time)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_GZIP, 2, EPOCH);
    struct layer_result res;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    char *gz, *chunk = malloc(LAYER_GZIP_CHUNK);
    size_t len, off = 0, members = 0;
    uint64_t total = 0;

    make_full_plan(&pl);
    write_ok(&pl, &o, "layer.gz", &res);
    read_rel("layer.gz", &gz, &len);
    while (off < len) {
        size_t in_used, out_used;

        /* FLG 0: no name, comment or extra field; MTIME 0; OS 255 (unknown) */
        ck_assert_msg(memcmp(gz + off, header, sizeof(header)) == 0, "member %zu header", members);
        ck_assert_int_eq(libdeflate_gzip_decompress_ex(d, gz + off, len - off, chunk,
                                                       LAYER_GZIP_CHUNK, &in_used, &out_used),
                         LIBDEFLATE_SUCCESS);
        total += out_used;
        off += in_used;
        members++;
        if (off < len)
            ck_assert_uint_eq(out_used, LAYER_GZIP_CHUNK);
    }
    ck_assert_uint_eq(total, res.tar_size);
    ck_assert_uint_eq(members, (res.tar_size + LAYER_GZIP_CHUNK - 1) / LAYER_GZIP_CHUNK);
    ck_assert_uint_ge(members, 6);
    libdeflate_free_decompressor(d);
    free(chunk);
    free(gz);
    plan_release(&pl);
}
END_TEST

/* ---- determinism ---- */

static void
layer_bytes(const struct plan *pl, const struct layer_options *o, char **buf, size_t *len)
{
    struct layer_result res;

    write_ok(pl, o, "bytes", &res);
    read_rel("bytes", buf, len);
    ck_assert_uint_eq(res.size, *len);
}

static void
assert_same_bytes(const char *a, size_t alen, const char *b, size_t blen, const char *what)
{
    ck_assert_msg(alen == blen && memcmp(a, b, alen) == 0, "%s: bytes differ", what);
}

START_TEST(test_layer_write_same_plan_same_bytes)
{
    struct plan pl = {0};
    struct layer_options o = options(all_compressions[_i], 2, EPOCH);
    char *a, *b;
    size_t alen, blen;

    make_full_plan(&pl);
    layer_bytes(&pl, &o, &a, &alen);
    layer_bytes(&pl, &o, &b, &blen);
    assert_same_bytes(a, alen, b, blen, "twice");
    free(b);
    o.epoch = EPOCH + 1;
    layer_bytes(&pl, &o, &b, &blen);
    ck_assert_msg(alen != blen || memcmp(a, b, alen) != 0, "another epoch gave the same bytes");
    free(a);
    free(b);
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_write_gives_each_files_digests)
{
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_GZIP, 2, EPOCH);
    struct layer_result res;

    make_full_plan(&pl);
    o.file_digests = calloc(pl.p.n, sizeof(*o.file_digests));
    ck_assert_ptr_nonnull(o.file_digests);
    write_ok(&pl, &o, "digests.tar.gz", &res);
    for (size_t i = 0; i < pl.p.n; i++) {
        const struct rootfs_entry *e = &pl.p.entries[i];

        if (strcmp(e->path, "usr/bin/tool") == 0) { /* from the root: "#!tool\n" */
            ck_assert_str_eq(o.file_digests[i].sha1, "1250f017bff351ce18756ee1f8ffb943c791650a");
            ck_assert_str_eq(o.file_digests[i].sha256,
                             "bfa5afe24bb31271655249afb558fdf6057e4d3e0bb008fc4967d87c7f9eddbf");
        } else if (strcmp(e->path, "etc/passwd") == 0) { /* written by temper */
            ck_assert_str_eq(o.file_digests[i].sha256,
                             "210af67b4a3f9604e5afc45d2ef5294f167005227cdc22413342f6a64e68bfea");
        } else if (e->type != ROOTFS_FILE) {
            ck_assert_str_eq(o.file_digests[i].sha256, "");
        }
    }
    free(o.file_digests);
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_write_bytes_do_not_depend_on_jobs)
{
    struct plan pl = {0};
    struct layer_options o = options(all_compressions[_i], 1, EPOCH);
    char *one, *other;
    size_t one_len, other_len;
    static const unsigned jobs[] = {0, 2, 4, 3};

    make_full_plan(&pl);
    layer_bytes(&pl, &o, &one, &one_len);
    for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++) {
        char what[32];

        o.jobs = jobs[j];
        layer_bytes(&pl, &o, &other, &other_len);
        snprintf(what, sizeof(what), "jobs %u", jobs[j]);
        assert_same_bytes(one, one_len, other, other_len, what);
        free(other);
    }
    free(one);
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_write_levels_change_the_bytes)
{
    struct plan pl = {0};
    struct layer_options o = options(all_compressions[_i], 2, EPOCH);
    char *dflt, *explicit, *other;
    size_t dflt_len, explicit_len, other_len;

    make_full_plan(&pl);
    layer_bytes(&pl, &o, &dflt, &dflt_len);
    o.level = o.compression == LAYER_COMPRESSION_GZIP ? 5 : 3;
    layer_bytes(&pl, &o, &explicit, &explicit_len);
    assert_same_bytes(dflt, dflt_len, explicit, explicit_len, "default level");
    o.level = 1;
    layer_bytes(&pl, &o, &other, &other_len);
    ck_assert_msg(dflt_len != other_len || memcmp(dflt, other, dflt_len) != 0,
                  "level 1 gave the default's bytes");
    free(dflt);
    free(explicit);
    free(other);
    plan_release(&pl);
}
END_TEST

/* Names that need a pax header come out the same under any LC_CTYPE of the caller. */
START_TEST(test_layer_write_names_do_not_depend_on_the_locale)
{
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_NONE, 1, EPOCH);
    char *c_bytes, *utf8_bytes;
    size_t c_len, utf8_len, binary = 0;

    plan_content(&pl, "caf\xc3\xa9", "utf-8", 0644);
    plan_content(&pl, "not-utf8-\xff\xfe", "bytes", 0644);
    plan_symlink(&pl, "link", "caf\xc3\xa9");
    ck_assert_ptr_nonnull(setlocale(LC_ALL, "C"));
    layer_bytes(&pl, &o, &c_bytes, &c_len);
    ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C.UTF-8"));
    layer_bytes(&pl, &o, &utf8_bytes, &utf8_len);
    setlocale(LC_ALL, "C");
    assert_same_bytes(c_bytes, c_len, utf8_bytes, utf8_len, "C and C.UTF-8");
    for (char *p = c_bytes; (p = memmem(p, c_len - (size_t)(p - c_bytes), "hdrcharset", 10)); p++)
        binary++;
    ck_assert_uint_eq(binary, 1); /* the name that is not UTF-8, only */
    /* libarchive reads pax names into the locale too */
    setlocale(LC_CTYPE, "C.UTF-8");
    check_round_trip("bytes", &pl);
    setlocale(LC_ALL, "C");
    free(c_bytes);
    free(utf8_bytes);
    plan_release(&pl);
}
END_TEST

/* ---- other readers ---- */

/* Runs argv with standard input from a file of the test directory (or none) and standard
 * output and error into files of it; the exit status. */
static int
run_io(const char *const argv[], const char *in_rel, const char *out_rel, const char *err_rel)
{
    posix_spawn_file_actions_t fa;
    char in[8192], out[8192], errp[8192];
    pid_t pid;
    int status;

    snprintf(in, sizeof(in), "%s", in_rel ? testutil_path(in_rel) : "/dev/null");
    snprintf(out, sizeof(out), "%s", testutil_path(out_rel));
    snprintf(errp, sizeof(errp), "%s", testutil_path(err_rel));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_eq(posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int
run(const char *const argv[], const char *out_rel, const char *err_rel)
{
    return run_io(argv, NULL, out_rel, err_rel);
}

static bool
has_program(const char *name)
{
    const char *const argv[] = {name, "--version", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status, rc;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    rc = posix_spawnp(&pid, name, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return false;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
assert_file_digest(const char *rel, const char *digest)
{
    char *buf, got[SHA256_DIGEST_STR_LEN];
    size_t len;

    read_rel(rel, &buf, &len);
    sha256_digest(buf, len, got);
    ck_assert_str_eq(got, digest);
    free(buf);
}

static void
assert_empty(const char *rel)
{
    char *buf;
    size_t len;

    read_rel(rel, &buf, &len);
    ck_assert_msg(len == 0, "%s: %.*s", rel, (int)len, buf);
    free(buf);
}

/* What Python's tarfile should list, one line per entry, as the script below prints it. */
static char *
python_listing(const struct plan *pl)
{
    size_t cap = 65536, len = 0;
    char *out = malloc(cap);

    out[0] = '\0';
    for (size_t i = 0; i < pl->p.n; i++) {
        const struct rootfs_entry *e = &pl->p.entries[i];
        char type = e->type == ROOTFS_DIR ? '5' : e->type == ROOTFS_FILE ? '0' : '2';

        len += (size_t)snprintf(out + len, cap - len, "%s|%c|%o|%u|%u|||%d|%llu|%s\n", e->path,
                                type, e->mode, e->uid, e->gid, EPOCH,
                                (unsigned long long)(e->type == ROOTFS_FILE ? e->size : 0),
                                e->target != NULL ? e->target : "");
        ck_assert_uint_lt(len, cap);
    }
    return out;
}

static const char python_script[] =
    "import gzip, hashlib, sys, tarfile\n"
    "data = gzip.open(sys.argv[1]).read()\n"
    "print('sha256:' + hashlib.sha256(data).hexdigest())\n"
    "for m in tarfile.open(sys.argv[1], 'r:gz'):\n"
    "    print(f'{m.name}|{m.type.decode()}|{m.mode:o}|{m.uid}|{m.gid}|{m.uname}|{m.gname}|'\n"
    "          f'{m.mtime}|{m.size}|{m.linkname}')\n";

START_TEST(test_layer_write_gzip_reads_with_gzip_tar_and_python)
{
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_GZIP, 2, EPOCH);
    struct layer_result res;
    char *listing, *got, *want;
    size_t len;
    char gz[8192];
    const char *const gunzip[] = {"gzip", "-dc", gz, NULL};

    make_full_plan(&pl);
    write_ok(&pl, &o, "layer.gz", &res);
    snprintf(gz, sizeof(gz), "%s", testutil_path("layer.gz"));
    ck_assert_int_eq(run(gunzip, "gunzip.tar", "gunzip.err"), 0);
    assert_file_digest("gunzip.tar", res.diff_id);
    {
        const char *const tar[] = {"tar", "-tzvf", gz, NULL};

        ck_assert_int_eq(run(tar, "tar.out", "tar.err"), 0);
        assert_empty("tar.err");
    }
    {
        const char *const py[] = {TEST_PYTHON, "-c", python_script, gz, NULL};

        ck_assert_int_eq(run(py, "py.out", "py.err"), 0);
        assert_empty("py.err");
    }
    read_rel("py.out", &got, &len);
    got = realloc(got, len + 1);
    got[len] = '\0';
    listing = python_listing(&pl);
    want = malloc(strlen(res.diff_id) + strlen(listing) + 2);
    snprintf(want, strlen(res.diff_id) + strlen(listing) + 2, "%s\n%s", res.diff_id, listing);
    ck_assert_str_eq(got, want);
    free(want);
    free(listing);
    free(got);
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_write_zstd_and_none_read_with_zstd_and_tar)
{
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_ZSTD, 2, EPOCH);
    struct layer_result res;
    char zst[8192], tarpath[8192];

    make_full_plan(&pl);
    write_ok(&pl, &o, "layer.zst", &res);
    snprintf(zst, sizeof(zst), "%s", testutil_path("layer.zst"));
    /* An outside reader, never skipped: scripts/install-deps.sh test installs zstd. */
    ck_assert_msg(has_program("zstd"), "zstd(1) is needed: run scripts/install-deps.sh test");
    {
        const char *const unzstd[] = {"zstd", "-dc", zst, NULL};

        ck_assert_int_eq(run(unzstd, "unzstd.tar", "unzstd.err"), 0);
        assert_file_digest("unzstd.tar", res.diff_id);
    }
    {
        /* The job size and overlap are part of the bytes (layer_zstd.c): zstd(1) with the same
         * ones, reading a stream (no pledged size), writes this very layer. */
        const char *const rezstd[] = {"zstd",           "-q", "-3", "-T2", "-B1048576",
                                      "--zstd=ovlog=8", "-c", NULL};
        char *a, *b;
        size_t alen, blen;

        ck_assert_int_eq(run_io(rezstd, "unzstd.tar", "rezstd.zst", "rezstd.err"), 0);
        read_rel("layer.zst", &a, &alen);
        read_rel("rezstd.zst", &b, &blen);
        assert_same_bytes(a, alen, b, blen, "zstd -3 -B1MiB --zstd=ovlog=8");
        free(a);
        free(b);
    }
    {
        const char *const tar[] = {"tar", "--zstd", "-tvf", zst, NULL};

        ck_assert_int_eq(run(tar, "tar.out", "tar.err"), 0);
        assert_empty("tar.err");
    }
    o.compression = LAYER_COMPRESSION_NONE;
    write_ok(&pl, &o, "layer.tar", &res);
    snprintf(tarpath, sizeof(tarpath), "%s", testutil_path("layer.tar"));
    {
        const char *const tar[] = {"tar", "-tvf", tarpath, NULL};

        ck_assert_int_eq(run(tar, "tar.out", "tar.err"), 0);
        assert_empty("tar.err");
    }
    plan_release(&pl);
}
END_TEST

/* ---- errors ---- */

static void
assert_error(const struct plan *pl, const struct layer_options *o, enum temper_errc code,
             const char *needle)
{
    struct layer_result res;
    struct temper_err err = {0};

    ck_assert_int_eq(try_write(pl, o, "failed", &res, &err), -1);
    ck_assert_int_eq(err.code, code);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' not in '%s'", needle, err.msg);
}

START_TEST(test_layer_write_rejects_a_file_that_shrank)
{
    struct plan pl = {0};
    struct layer_options o = options(all_compressions[_i], 2, EPOCH);

    write_big_file("root/usr/lib/libx.so", 700000);
    plan_dir(&pl, "usr");
    plan_file(&pl, "usr/lib/libx.so", "/usr/lib/libx.so", 0644);
    write_big_file("root/usr/lib/libx.so", 300000);
    assert_error(&pl, &o, TEMPER_E_IO,
                 "'/usr/lib/libx.so' changed size while the layer was written (planned 700000 "
                 "bytes)");
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_write_rejects_a_file_that_grew)
{
    struct plan pl = {0};
    struct layer_options o = options(all_compressions[_i], 2, EPOCH);

    testutil_write("root/etc/conf", "abc", 3);
    plan_file(&pl, "etc/conf", "/etc/conf", 0644);
    testutil_write("root/etc/conf", "abcd", 4);
    assert_error(&pl, &o, TEMPER_E_IO,
                 "'/etc/conf' changed size while the layer was written (planned 3 bytes)");
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_write_names_a_missing_source)
{
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_GZIP, 1, EPOCH);
    struct rootfs_entry *e;
    struct layer_result res;
    struct temper_err err = {0};

    testutil_mkdir("root/usr");
    e = plan_add(&pl, "usr/bin/gone", ROOTFS_FILE, 0755);
    e->source = strdup("/usr/bin/gone");
    e->size = 10;
    ck_assert_int_eq(try_write(&pl, &o, "failed", &res, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_IO);
    ck_assert_int_eq(err.sys_errno, ENOENT);
    ck_assert_msg(strstr(err.msg, "'/usr/bin/gone'") != NULL, "%s", err.msg);
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_write_refuses_a_source_that_is_a_directory)
{
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_ZSTD, 1, EPOCH);
    struct rootfs_entry *e;

    testutil_mkdir("root/usr/share");
    e = plan_add(&pl, "usr/share", ROOTFS_FILE, 0644);
    e->source = strdup("/usr/share");
    assert_error(&pl, &o, TEMPER_E_IO, "'/usr/share' is not a regular file");
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_write_rejects_levels_out_of_range)
{
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_GZIP, 1, EPOCH);

    plan_dir(&pl, "etc");
    o.level = 13;
    assert_error(&pl, &o, TEMPER_E_USAGE, "gzip compression level 13 is out of range (1 to 12)");
    o.level = -1;
    assert_error(&pl, &o, TEMPER_E_USAGE, "gzip compression level -1 is out of range");
    o.compression = LAYER_COMPRESSION_ZSTD;
    o.level = 20;
    assert_error(&pl, &o, TEMPER_E_USAGE, "zstd compression level 20 is out of range (1 to 19)");
    o.level = 19;
    {
        struct layer_result res;

        write_ok(&pl, &o, "max", &res);
    }
    o.compression = LAYER_COMPRESSION_GZIP;
    o.level = 12;
    {
        struct layer_result res;

        write_ok(&pl, &o, "max", &res);
    }
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_write_names_an_unwritable_output)
{
    struct plan pl = {0};
    struct layer_options o = options(all_compressions[_i], 2, EPOCH);
    struct fs_root *root;
    struct layer_result res;
    struct temper_err err = {0};
    int fd;

    make_full_plan(&pl);
    testutil_write("readonly", "", 0);
    root = open_root();
    fd = open(testutil_path("readonly"), O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    o.out_name = "blobs/sha256/.tmp-layer";
    ck_assert_int_eq(layer_write(&pl.p, root, fd, &o, &res, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_IO);
    ck_assert_int_eq(err.sys_errno, EBADF);
    ck_assert_msg(strstr(err.msg, "cannot write 'blobs/sha256/.tmp-layer'") != NULL, "%s", err.msg);
    o.out_name = NULL;
    ck_assert_int_eq(layer_write(&pl.p, root, fd, &o, &res, &err), -1);
    ck_assert_msg(strstr(err.msg, "cannot write 'layer output'") != NULL, "%s", err.msg);
    close(fd);
    fs_root_free(root);
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_write_refuses_entries_no_plan_should_hold)
{
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_NONE, 1, EPOCH);

    plan_dir(&pl, "/etc");
    assert_error(&pl, &o, TEMPER_E_USAGE, "plan entry '/etc' is not a relative path");
    plan_release(&pl);
    plan_dir(&pl, "etc");
    pl.p.entries[0].mode = 0100755;
    assert_error(&pl, &o, TEMPER_E_USAGE, "plan entry 'etc' has mode 0100755 beyond 07777");
    plan_release(&pl);
    plan_add(&pl, "etc/x", ROOTFS_FILE, 0644)->size = 1;
    assert_error(&pl, &o, TEMPER_E_USAGE, "plan entry 'etc/x' has neither a source nor a content");
    plan_release(&pl);
    plan_add(&pl, "lib", ROOTFS_SYMLINK, 0777);
    assert_error(&pl, &o, TEMPER_E_USAGE, "plan entry 'lib' has no link target");
    plan_release(&pl);
}
END_TEST

/* ---- reading back: layer_read_digests ---- */

static int
try_read(const char *rel, const char *media_type, char digest[LAYER_DIGEST_LEN],
         char diff_id[LAYER_DIGEST_LEN], uint64_t *size, struct temper_err *err)
{
    int fd = open(testutil_path(rel), O_RDONLY | O_CLOEXEC);
    int rc;

    ck_assert_int_ge(fd, 0);
    rc = layer_read_digests(fd, media_type, rel, digest, diff_id, size, err);
    close(fd);
    return rc;
}

static void
read_ok(const char *rel, const char *media_type, char digest[LAYER_DIGEST_LEN],
        char diff_id[LAYER_DIGEST_LEN], uint64_t *size)
{
    struct temper_err err;

    ck_assert_msg(try_read(rel, media_type, digest, diff_id, size, &err) == 0, "%s", err.msg);
}

static void
assert_read_error(const char *rel, const char *media_type, enum temper_errc code,
                  const char *needle)
{
    char digest[LAYER_DIGEST_LEN] = "unset", diff_id[LAYER_DIGEST_LEN] = "unset";
    uint64_t size = 12345;
    struct temper_err err = {0};

    ck_assert_int_eq(try_read(rel, media_type, digest, diff_id, &size, &err), -1);
    ck_assert_msg(err.code == code, "code %d, not %d: %s", (int)err.code, (int)code, err.msg);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' not in '%s'", needle, err.msg);
    ck_assert_msg(strstr(err.msg, rel) != NULL, "'%s' not named in '%s'", rel, err.msg);
    ck_assert_str_eq(diff_id, "unset");
    if (code == TEMPER_E_PARSE) {
        /* a stream that does not decompress is still read and hashed to its end */
        char want[LAYER_DIGEST_LEN];
        size_t len;
        char *bytes;

        testutil_read(testutil_path(rel), &bytes, &len);

        sha256_digest(bytes, len, want);
        free(bytes);
        ck_assert_str_eq(digest, want);
        ck_assert_uint_eq(size, len);
    } else {
        ck_assert_str_eq(digest, "unset");
        ck_assert_uint_eq(size, 12345);
    }
}

/* The Docker media type of the same stream, where there is one. */
static const char *
docker_media_type(enum layer_compression c)
{
    return c == LAYER_COMPRESSION_GZIP   ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
           : c == LAYER_COMPRESSION_NONE ? "application/vnd.docker.image.rootfs.diff.tar"
                                         : NULL;
}

START_TEST(test_layer_read_digests_gives_back_what_layer_write_computed)
{
    struct plan pl = {0};
    struct layer_options o = options(all_compressions[_i], 2, EPOCH);
    struct layer_result res;
    char digest[LAYER_DIGEST_LEN], diff_id[LAYER_DIGEST_LEN];
    const char *docker = docker_media_type(o.compression);
    uint64_t size = 0;

    make_full_plan(&pl);
    write_ok(&pl, &o, "layer", &res);
    /* more than two gzip members: the reader goes on after each member's end */
    ck_assert_uint_gt(res.tar_size, 2 * LAYER_GZIP_CHUNK);
    read_ok("layer", layer_media_type(o.compression), digest, diff_id, &size);
    ck_assert_str_eq(digest, res.digest);
    ck_assert_str_eq(diff_id, res.diff_id);
    ck_assert_uint_eq(size, res.size);
    if (docker != NULL) {
        read_ok("layer", docker, digest, diff_id, &size);
        ck_assert_str_eq(digest, res.digest);
        ck_assert_str_eq(diff_id, res.diff_id);
        ck_assert_uint_eq(size, res.size);
    }
    plan_release(&pl);
}
END_TEST

/* gzip(1) writes one member for the whole stream (zlib's deflate), not temper's 1 MiB members. */
START_TEST(test_layer_read_digests_reads_a_single_member_from_gzip)
{
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_NONE, 1, EPOCH);
    struct layer_result res;
    char tar[8192], digest[LAYER_DIGEST_LEN], diff_id[LAYER_DIGEST_LEN], *gz;
    const char *const gzip[] = {"gzip", "-n", "-6", "-c", tar, NULL};
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    char *out = malloc(BIG_SIZE * 2);
    size_t gz_len, in_used, out_used;
    uint64_t size = 0;

    make_full_plan(&pl);
    write_ok(&pl, &o, "layer.tar", &res);
    snprintf(tar, sizeof(tar), "%s", testutil_path("layer.tar"));
    ck_assert_int_eq(run(gzip, "layer.gz", "gzip.err"), 0);
    /* one member: libdeflate takes the whole file as one */
    read_rel("layer.gz", &gz, &gz_len);
    ck_assert_int_eq(
        libdeflate_gzip_decompress_ex(d, gz, gz_len, out, BIG_SIZE * 2, &in_used, &out_used),
        LIBDEFLATE_SUCCESS);
    ck_assert_uint_eq(in_used, gz_len);
    read_ok("layer.gz", layer_media_type(LAYER_COMPRESSION_GZIP), digest, diff_id, &size);
    ck_assert_str_eq(diff_id, res.diff_id);
    ck_assert_uint_eq(size, gz_len);
    assert_file_digest("layer.gz", digest);
    libdeflate_free_decompressor(d);
    free(out);
    free(gz);
    plan_release(&pl);
}
END_TEST

/* Two zstd layers one after the other: two frames, read as one stream. */
START_TEST(test_layer_read_digests_reads_concatenated_zstd_frames)
{
    struct plan a = {0}, b = {0};
    struct layer_options o = options(LAYER_COMPRESSION_ZSTD, 2, EPOCH);
    struct layer_result res;
    char *za, *zb, *ta, *tb, *both, want[LAYER_DIGEST_LEN];
    char digest[LAYER_DIGEST_LEN], diff_id[LAYER_DIGEST_LEN];
    size_t za_len, zb_len, ta_len, tb_len;
    uint64_t size = 0;

    make_full_plan(&a);
    plan_content(&b, "etc", "second frame", 0644);
    write_ok(&a, &o, "a.zst", &res);
    write_ok(&b, &o, "b.zst", &res);
    o.compression = LAYER_COMPRESSION_NONE;
    write_ok(&a, &o, "a.tar", &res);
    write_ok(&b, &o, "b.tar", &res);
    read_rel("a.zst", &za, &za_len);
    read_rel("b.zst", &zb, &zb_len);
    read_rel("a.tar", &ta, &ta_len);
    read_rel("b.tar", &tb, &tb_len);
    both = malloc(za_len + zb_len + ta_len + tb_len);
    memcpy(both, za, za_len);
    memcpy(both + za_len, zb, zb_len);
    testutil_write("ab.zst", both, za_len + zb_len);
    memcpy(both, ta, ta_len);
    memcpy(both + ta_len, tb, tb_len);
    sha256_digest(both, ta_len + tb_len, want);
    read_ok("ab.zst", layer_media_type(LAYER_COMPRESSION_ZSTD), digest, diff_id, &size);
    ck_assert_str_eq(diff_id, want);
    ck_assert_uint_eq(size, za_len + zb_len);
    free(za);
    free(zb);
    free(ta);
    free(tb);
    free(both);
    plan_release(&a);
    plan_release(&b);
}
END_TEST

/* The two compressed kinds: the corruption tests loop over these. */
static const enum layer_compression compressed[] = {
    LAYER_COMPRESSION_GZIP,
    LAYER_COMPRESSION_ZSTD,
};

/* Writes the full plan's layer, compressed as the loop says; returns its bytes. */
static void
compressed_layer(enum layer_compression c, char **buf, size_t *len)
{
    struct plan pl = {0};
    struct layer_options o = options(c, 2, EPOCH);
    struct layer_result res;

    make_full_plan(&pl);
    write_ok(&pl, &o, "layer", &res);
    read_rel("layer", buf, len);
    plan_release(&pl);
}

static const char *
codec_name(enum layer_compression c)
{
    return c == LAYER_COMPRESSION_GZIP ? "gzip" : "zstd";
}

START_TEST(test_layer_read_digests_refuses_a_corrupt_byte)
{
    enum layer_compression c = compressed[_i];
    char *buf, needle[64];
    size_t len;

    compressed_layer(c, &buf, &len);
    buf[len / 2] ^= 0x55;
    testutil_write("corrupt", buf, len);
    snprintf(needle, sizeof(needle), "is not valid %s", codec_name(c));
    assert_read_error("corrupt", layer_media_type(c), TEMPER_E_PARSE, needle);
    free(buf);
}
END_TEST

START_TEST(test_layer_read_digests_refuses_a_truncated_stream)
{
    enum layer_compression c = compressed[_i];
    char *buf;
    size_t len;

    compressed_layer(c, &buf, &len);
    /* inside the first header, inside the data, inside the last member's or frame's trailer */
    const size_t cuts[] = {1, 3, 9, len / 3, len / 2 + 7, len - 4, len - 1};

    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        char needle[64];

        testutil_write("truncated", buf, cuts[i]);
        snprintf(needle, sizeof(needle), "is truncated: it ends inside %s", codec_name(c));
        assert_read_error("truncated", layer_media_type(c), TEMPER_E_PARSE, needle);
    }
    testutil_write("truncated", buf, 0);
    assert_read_error("truncated", layer_media_type(c), TEMPER_E_PARSE, "is empty");
    free(buf);
}
END_TEST

START_TEST(test_layer_read_digests_refuses_trailing_garbage)
{
    static const char *const tails[] = {"garbage\n", "\0", "\0\0\0\0\0\0\0\0\0\0\0\0"};
    static const size_t tail_lens[] = {8, 1, 12};
    enum layer_compression c = compressed[_i];
    char *buf, needle[80];
    size_t len;

    compressed_layer(c, &buf, &len);
    buf = realloc(buf, len + 16);
    snprintf(needle, sizeof(needle), "has bytes after its last %s %s that are not another",
             codec_name(c), c == LAYER_COMPRESSION_GZIP ? "member" : "frame");
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        char at[64];

        memcpy(buf + len, tails[i], tail_lens[i]);
        testutil_write("trailing", buf, len + tail_lens[i]);
        assert_read_error("trailing", layer_media_type(c), TEMPER_E_PARSE, needle);
        snprintf(at, sizeof(at), "at byte %zu)", len);
        assert_read_error("trailing", layer_media_type(c), TEMPER_E_PARSE, at);
    }
    free(buf);
}
END_TEST

START_TEST(test_layer_read_digests_refuses_an_unknown_media_type)
{
    testutil_write("layer", "x", 1);
    assert_read_error("layer", "application/vnd.oci.image.layer.v1.tar+xz", TEMPER_E_USAGE,
                      "media type 'application/vnd.oci.image.layer.v1.tar+xz', which temper "
                      "cannot read");
    assert_read_error("layer", "application/vnd.oci.image.config.v1+json", TEMPER_E_USAGE,
                      "which temper cannot read");
    assert_read_error("layer", "", TEMPER_E_USAGE, "media type ''");
}
END_TEST

/* Bytes sent in packets of `chunk` bytes on a SOCK_SEQPACKET socket: each read() returns one
 * packet at most, so the reader sees exactly these cuts, as from a registry that sends a byte,
 * pauses, and sends the next. */
struct chunked {
    int fd;
    const char *bytes;
    size_t len, chunk;
};

static void *
send_chunks(void *arg)
{
    struct chunked *c = arg;

    for (size_t at = 0; at < c->len; at += c->chunk) {
        size_t n = c->len - at < c->chunk ? c->len - at : c->chunk;

        ck_assert_int_eq(send(c->fd, c->bytes + at, n, 0), (ssize_t)n);
    }
    close(c->fd);
    return NULL;
}

static int
read_chunked(const char *bytes, size_t len, size_t chunk, const char *media_type,
             char diff_id[LAYER_DIGEST_LEN], struct temper_err *err)
{
    char digest[LAYER_DIGEST_LEN];
    uint64_t size;
    int sv[2], rc;
    pthread_t writer;
    struct chunked c = {.bytes = bytes, .len = len, .chunk = chunk};

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    c.fd = sv[1];
    ck_assert_int_eq(pthread_create(&writer, NULL, send_chunks, &c), 0);
    rc = layer_read_digests(sv[0], media_type, "chunked", digest, diff_id, &size, err);
    ck_assert_int_eq(pthread_join(writer, NULL), 0);
    close(sv[0]);
    return rc;
}

/*
 * Issue 17: a layer declared an uncompressed tar that holds gzip (or zstd, bzip2, xz) is
 * refused however its first bytes arrive: in 1-byte reads the magic was never in one read, and
 * a registry that sent the first byte alone had a gzip layer "verified". The magic alone, a
 * stream shorter than the longest magic, is refused too; a real tar in 1-byte reads passes.
 */
START_TEST(test_layer_read_digests_sees_a_magic_cut_across_reads)
{
    static const struct {
        const char *bytes;
        size_t len;
    } magics[] = {{"\x1f\x8b", 2},
                  {"\x28\xb5\x2f\xfd", 4},
                  {"BZh", 3},
                  {"\xfd"
                   "7zXZ\0",
                   6}};
    struct plan pl = {0};
    struct layer_options o = options(LAYER_COMPRESSION_GZIP, 1, EPOCH);
    struct layer_result res;
    struct temper_err err;
    char diff_id[LAYER_DIGEST_LEN], *gz, *tar, stream[64];
    size_t gz_len, tar_len;

    plan_content(&pl, "etc", "one small file", 0644);
    write_ok(&pl, &o, "layer.gz", &res);
    o.compression = LAYER_COMPRESSION_NONE;
    write_ok(&pl, &o, "layer.tar", &res);
    read_rel("layer.gz", &gz, &gz_len);
    read_rel("layer.tar", &tar, &tar_len);
    for (size_t chunk = 1; chunk <= 3; chunk++) {
        ck_assert_int_eq(read_chunked(gz, gz_len, chunk, layer_media_type(LAYER_COMPRESSION_NONE),
                                      diff_id, &err),
                         -1);
        ck_assert_int_eq(err.code, TEMPER_E_PARSE);
        ck_assert_msg(strstr(err.msg, "'chunked' is declared an uncompressed tar but holds "
                                      "compressed bytes") != NULL,
                      "%s", err.msg);
        ck_assert_msg(read_chunked(tar, tar_len, chunk, layer_media_type(LAYER_COMPRESSION_NONE),
                                   diff_id, &err) == 0,
                      "%s", err.msg);
        ck_assert_str_eq(diff_id, res.diff_id);
    }
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
        memset(stream, 'x', sizeof(stream));
        memcpy(stream, magics[i].bytes, magics[i].len);
        for (size_t len = magics[i].len; len <= sizeof(stream); len += sizeof(stream) / 2) {
            ck_assert_int_eq(read_chunked(stream, len, 1, layer_media_type(LAYER_COMPRESSION_NONE),
                                          diff_id, &err),
                             -1);
            ck_assert_msg(strstr(err.msg, "holds compressed bytes") != NULL, "%zu: %s", i, err.msg);
        }
    }
    free(gz);
    free(tar);
    plan_release(&pl);
}
END_TEST

START_TEST(test_layer_read_digests_names_an_unreadable_input)
{
    char digest[LAYER_DIGEST_LEN], diff_id[LAYER_DIGEST_LEN];
    uint64_t size;
    struct temper_err err = {0};
    int fd;

    testutil_write("layer", "x", 1);
    fd = open(testutil_path("layer"), O_WRONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(layer_read_digests(fd, layer_media_type(LAYER_COMPRESSION_NONE),
                                        "blobs/sha256/x", digest, diff_id, &size, &err),
                     -1);
    ck_assert_int_eq(err.code, TEMPER_E_IO);
    ck_assert_int_eq(err.sys_errno, EBADF);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot read 'blobs/sha256/x'"));
    close(fd);
}
END_TEST

/* ---- names ---- */

START_TEST(test_layer_compression_parse_accepts_the_three_names)
{
    enum layer_compression c = LAYER_COMPRESSION_NONE;

    ck_assert_int_eq(layer_compression_parse("gzip", &c), 0);
    ck_assert_int_eq(c, LAYER_COMPRESSION_GZIP);
    ck_assert_int_eq(layer_compression_parse("zstd", &c), 0);
    ck_assert_int_eq(c, LAYER_COMPRESSION_ZSTD);
    ck_assert_int_eq(layer_compression_parse("none", &c), 0);
    ck_assert_int_eq(c, LAYER_COMPRESSION_NONE);
    ck_assert_int_eq(layer_compression_parse("xz", &c), -1);
    ck_assert_int_eq(layer_compression_parse("GZIP", &c), -1);
    ck_assert_int_eq(layer_compression_parse("", &c), -1);
    ck_assert_int_eq(c, LAYER_COMPRESSION_NONE);
}
END_TEST

START_TEST(test_layer_media_type_names_each_compression)
{
    ck_assert_str_eq(layer_media_type(LAYER_COMPRESSION_GZIP),
                     "application/vnd.oci.image.layer.v1.tar+gzip");
    ck_assert_str_eq(layer_media_type(LAYER_COMPRESSION_ZSTD),
                     "application/vnd.oci.image.layer.v1.tar+zstd");
    ck_assert_str_eq(layer_media_type(LAYER_COMPRESSION_NONE),
                     "application/vnd.oci.image.layer.v1.tar");
}
END_TEST

static Suite *
layer_suite(void)
{
    Suite *s = suite_create("layer");
    TCase *tc;
    int n = (int)(sizeof(all_compressions) / sizeof(all_compressions[0]));

    tc = tcase_create("layer_compression_parse");
    tcase_add_test(tc, test_layer_compression_parse_accepts_the_three_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("layer_media_type");
    tcase_add_test(tc, test_layer_media_type_names_each_compression);
    suite_add_tcase(s, tc);

    tc = tcase_create("layer_write");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_loop_test(tc, test_layer_write_round_trips_every_entry, 0, n);
    tcase_add_test(tc, test_layer_write_tar_headers_hold_nothing_from_the_host);
    tcase_add_test(tc, test_layer_write_gzip_members_have_no_name_or_time);
    tcase_add_loop_test(tc, test_layer_write_same_plan_same_bytes, 0, n);
    tcase_add_test(tc, test_layer_write_gives_each_files_digests);
    tcase_add_loop_test(tc, test_layer_write_bytes_do_not_depend_on_jobs, 0, n);
    tcase_add_loop_test(tc, test_layer_write_levels_change_the_bytes, 0, 2);
    tcase_add_test(tc, test_layer_write_names_do_not_depend_on_the_locale);
    tcase_add_test(tc, test_layer_write_gzip_reads_with_gzip_tar_and_python);
    tcase_add_test(tc, test_layer_write_zstd_and_none_read_with_zstd_and_tar);
    tcase_add_loop_test(tc, test_layer_write_rejects_a_file_that_shrank, 0, n);
    tcase_add_loop_test(tc, test_layer_write_rejects_a_file_that_grew, 0, n);
    tcase_add_test(tc, test_layer_write_names_a_missing_source);
    tcase_add_test(tc, test_layer_write_refuses_a_source_that_is_a_directory);
    tcase_add_test(tc, test_layer_write_rejects_levels_out_of_range);
    tcase_add_loop_test(tc, test_layer_write_names_an_unwritable_output, 0, n);
    tcase_add_test(tc, test_layer_write_refuses_entries_no_plan_should_hold);
    suite_add_tcase(s, tc);

    tc = tcase_create("layer_read_digests");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_loop_test(tc, test_layer_read_digests_gives_back_what_layer_write_computed, 0, n);
    tcase_add_test(tc, test_layer_read_digests_reads_a_single_member_from_gzip);
    tcase_add_test(tc, test_layer_read_digests_reads_concatenated_zstd_frames);
    tcase_add_loop_test(tc, test_layer_read_digests_refuses_a_corrupt_byte, 0, 2);
    tcase_add_loop_test(tc, test_layer_read_digests_refuses_a_truncated_stream, 0, 2);
    tcase_add_loop_test(tc, test_layer_read_digests_refuses_trailing_garbage, 0, 2);
    tcase_add_test(tc, test_layer_read_digests_refuses_an_unknown_media_type);
    tcase_add_test(tc, test_layer_read_digests_names_an_unreadable_input);
    tcase_add_test(tc, test_layer_read_digests_sees_a_magic_cut_across_reads);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(layer_suite());
}
