/*
 * The tar stream of a layer: libarchive writes restricted pax into a
 * callback that hashes it (the diff_id) and feeds the codec.
 *
 * libarchive's choices, checked on 3.6.2:
 *  - it pads the output to a multiple of 10,240 bytes unless
 *    archive_write_set_bytes_in_last_block(a, 1); with it, the stream ends
 *    right after the two zero blocks of the end-of-archive marker, which
 *    GNU tar, bsdtar and Python's tarfile all accept;
 *  - restricted pax adds an extended header only for what ustar cannot
 *    hold (a path over 255 bytes or that cannot be split at a slash into
 *    155 + 100, a link target over 100 bytes, a non-ASCII name). The header
 *    entry is named "PaxHeader/<name>" and takes the entry's mtime, uid,
 *    gid and mode: nothing from the process (no pid, no clock);
 *  - the pax "path" is converted from the thread's locale to UTF-8, so the
 *    bytes of a non-ASCII name would depend on the caller's LC_CTYPE; the
 *    tar is written under C.UTF-8 (uselocale, this thread only), where
 *    UTF-8 names pass as they are and other bytes go out verbatim with
 *    hdrcharset=BINARY (libarchive's ARCHIVE_WARN, not an error);
 *  - a directory gets a trailing slash in its ustar name, as GNU tar does.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <locale.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "base/cleanup.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "layer-internal.h"
#include "layer_writer.h"

/* libdeflate's 5, not the 6 of gzip and zlib: on the python image it is still 0.6 % smaller than
 * `gzip -6` (0.994 of its bytes; 6 gives 0.988, 4 gives 1.015) and a quarter faster than 6. */
#define GZIP_LEVEL_DEFAULT 5
#define GZIP_LEVEL_MAX 12
#define ZSTD_LEVEL_DEFAULT 3
#define ZSTD_LEVEL_MAX 19

/* What the archive callback and the entry writers share. */
struct tar_ctx {
    struct archive *a;
    struct layer_codec *codec;
    struct sha256 diff_id;
    uint64_t tar_size;
    struct temper_err *err;
    bool failed;        /* err holds the cause: a callback failed inside libarchive */
    bool discard;       /* the write failed: the callback drops what libarchive still writes */
    unsigned char *buf; /* LAYER_IO_CHUNK bytes for reading files */
    /* With layer_options.file_digests: the file being written is hashed too. */
    EVP_MD_CTX *sha1, *sha256;
};

static la_ssize_t
tar_out(struct archive *a, void *client, const void *buf, size_t len)
{
    struct tar_ctx *t = client;

    (void)a;
    if (t->discard)
        return (la_ssize_t)len;
    if (t->failed)
        return -1;
    sha256_update(&t->diff_id, buf, len);
    t->tar_size += len;
    if (t->codec->write(t->codec, buf, len, t->err) < 0) {
        t->failed = true;
        return -1;
    }
    return (la_ssize_t)len;
}

/* After a libarchive call failed: the callback's own error, or libarchive's. */
static int
archive_fail(struct tar_ctx *t, const char *what, const char *path)
{
    const char *msg;

    if (t->failed)
        return -1;
    msg = archive_error_string(t->a);
    return temper_err_set(t->err, TEMPER_E_IO, archive_errno(t->a) > 0 ? archive_errno(t->a) : 0,
                          "tar: cannot write %s '%s': %s", what, path,
                          msg != NULL ? msg : "unknown libarchive error");
}

/* The checks that keep a broken plan from making a broken tar. */
static int
check_entry(const struct rootfs_entry *e, struct temper_err *err)
{
    if (e->path == NULL || e->path[0] == '\0' || e->path[0] == '/')
        return temper_err_set(err, TEMPER_E_USAGE, 0, "plan entry '%s' is not a relative path",
                              e->path != NULL ? e->path : "");
    if ((e->mode & ~07777u) != 0)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "plan entry '%s' has mode 0%o beyond 07777",
                              e->path, e->mode);
    switch (e->type) {
    case ROOTFS_DIR:
        return 0;
    case ROOTFS_FILE:
        if (e->source == NULL && e->content == NULL)
            return temper_err_set(err, TEMPER_E_USAGE, 0,
                                  "plan entry '%s' has neither a source nor a content", e->path);
        return 0;
    case ROOTFS_SYMLINK:
        if (e->target == NULL || e->target[0] == '\0')
            return temper_err_set(err, TEMPER_E_USAGE, 0, "plan entry '%s' has no link target",
                                  e->path);
        return 0;
    }
    return temper_err_set(err, TEMPER_E_USAGE, 0, "plan entry '%s' has unknown type %d", e->path,
                          (int)e->type);
}

static int
write_data(struct tar_ctx *t, const struct rootfs_entry *e, const void *buf, size_t len)
{
    la_ssize_t n = archive_write_data(t->a, buf, len);

    if (t->sha1 != NULL &&
        (EVP_DigestUpdate(t->sha1, buf, len) != 1 || EVP_DigestUpdate(t->sha256, buf, len) != 1))
        abort();
    if (n < 0 || (size_t)n != len)
        return archive_fail(t, "the content of", e->path);
    return 0;
}

/* Reads `n` bytes, or fewer only at the end of the file. */
static ssize_t
read_full(int fd, unsigned char *buf, size_t n)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = read(fd, buf + done, n - done);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

static int
changed_size(struct tar_ctx *t, const char *source, uint64_t planned)
{
    return temper_err_set(t->err, TEMPER_E_IO, 0,
                          "'%s' changed size while the layer was written (planned %llu bytes)",
                          source, (unsigned long long)planned);
}

/* Streams a file of the root, exactly the planned size, in LAYER_IO_CHUNK pieces. */
static int
copy_file(struct tar_ctx *t, struct fs_root *root, const struct rootfs_entry *e)
{
    const struct fs_path *p;
    cleanup_close int fd = -1;
    struct stat st;
    uint64_t left = e->size;
    ssize_t n;

    if (fs_resolve(root, e->source, &p, t->err) < 0)
        return -1;
    fd = fs_open(root, p, O_RDONLY, t->err);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0)
        return temper_err_sys(t->err, TEMPER_E_IO, errno, "cannot stat '%s'", e->source);
    if (!S_ISREG(st.st_mode))
        return temper_err_set(t->err, TEMPER_E_IO, EINVAL, "'%s' is not a regular file", e->source);
    while (left > 0) {
        size_t want = left < LAYER_IO_CHUNK ? (size_t)left : LAYER_IO_CHUNK;

        n = read_full(fd, t->buf, want);
        if (n < 0)
            return temper_err_sys(t->err, TEMPER_E_IO, errno, "cannot read '%s'", e->source);
        if ((size_t)n < want)
            return changed_size(t, e->source, e->size);
        if (write_data(t, e, t->buf, want) < 0)
            return -1;
        left -= want;
    }
    /* One byte more means the file grew: the layer would not hold what the plan says. */
    n = read_full(fd, t->buf, 1);
    if (n < 0)
        return temper_err_sys(t->err, TEMPER_E_IO, errno, "cannot read '%s'", e->source);
    if (n > 0)
        return changed_size(t, e->source, e->size);
    return 0;
}

static int
write_content(struct tar_ctx *t, const struct rootfs_entry *e)
{
    uint64_t done = 0;

    /* In pieces, so that one size_t never has to hold a uint64_t. */
    while (done < e->size) {
        uint64_t piece = e->size - done < LAYER_IO_CHUNK ? e->size - done : LAYER_IO_CHUNK;

        if (write_data(t, e, e->content + done, (size_t)piece) < 0)
            return -1;
        done += piece;
    }
    return 0;
}

static void
fill_entry(struct archive_entry *ae, const struct rootfs_entry *e, int64_t epoch)
{
    archive_entry_clear(ae);
    archive_entry_set_pathname(ae, e->path);
    archive_entry_set_uid(ae, e->uid);
    archive_entry_set_gid(ae, e->gid);
    archive_entry_set_mtime(ae, (time_t)epoch, 0);
    switch (e->type) {
    case ROOTFS_DIR:
        archive_entry_set_mode(ae, AE_IFDIR | e->mode);
        break;
    case ROOTFS_FILE:
        archive_entry_set_mode(ae, AE_IFREG | e->mode);
        archive_entry_set_size(ae, (la_int64_t)e->size);
        break;
    case ROOTFS_SYMLINK:
        archive_entry_set_mode(ae, AE_IFLNK | e->mode);
        archive_entry_set_symlink(ae, e->target);
        break;
    }
}

static void
hex(const unsigned char *md, unsigned len, char *out)
{
    for (unsigned i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Starts the digests of a file's bytes (write_data feeds them), when asked for. */
static void
digests_start(struct tar_ctx *t)
{
    if (t->sha1 != NULL && (EVP_DigestInit_ex(t->sha1, EVP_sha1(), NULL) != 1 ||
                            EVP_DigestInit_ex(t->sha256, EVP_sha256(), NULL) != 1))
        abort();
}

static void
digests_end(struct tar_ctx *t, struct layer_file_digest *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len;

    if (t->sha1 == NULL)
        return;
    if (EVP_DigestFinal_ex(t->sha1, md, &len) != 1)
        abort();
    hex(md, len, out->sha1);
    if (EVP_DigestFinal_ex(t->sha256, md, &len) != 1)
        abort();
    hex(md, len, out->sha256);
}

static int
write_entry(struct tar_ctx *t, struct archive_entry *ae, struct fs_root *root,
            const struct rootfs_entry *e, int64_t epoch, struct layer_file_digest *digest)
{
    int rc;

    if (check_entry(e, t->err) < 0)
        return -1;
    if (e->type == ROOTFS_FILE && e->size > INT64_MAX)
        return temper_err_set(t->err, TEMPER_E_LIMIT, EFBIG, "'%s' is too large for a tar entry",
                              e->path);
    fill_entry(ae, e, epoch);
    rc = archive_write_header(t->a, ae);
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
        return archive_fail(t, "the header of", e->path);
    if (e->type != ROOTFS_FILE)
        return 0;
    digests_start(t);
    rc = e->content != NULL ? write_content(t, e) : copy_file(t, root, e);
    if (rc == 0 && digest != NULL)
        digests_end(t, digest);
    return rc;
}

static int
write_tar(struct tar_ctx *t, const struct rootfs_plan *plan, struct fs_root *root,
          const struct layer_options *opts)
{
    struct archive_entry *ae = archive_entry_new();
    struct layer_file_digest *digests = opts->file_digests;
    int rc = -1;

    if (ae == NULL)
        return temper_err_set(t->err, TEMPER_E_IO, ENOMEM, "tar: cannot allocate an entry");
    if (digests != NULL) {
        t->sha1 = EVP_MD_CTX_new();
        t->sha256 = EVP_MD_CTX_new();
        if (t->sha1 == NULL || t->sha256 == NULL)
            abort();
    }
    for (size_t i = 0; i < plan->n; i++) {
        if (write_entry(t, ae, root, &plan->entries[i], opts->epoch,
                        digests != NULL ? &digests[i] : NULL) < 0)
            goto out;
    }
    /* The end-of-archive blocks go through the callback here. */
    if (archive_write_close(t->a) != ARCHIVE_OK) {
        archive_fail(t, "the end of", "the archive");
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(t->sha1);
    EVP_MD_CTX_free(t->sha256);
    t->sha1 = t->sha256 = NULL;
    archive_entry_free(ae);
    return rc;
}

static int
open_tar(struct tar_ctx *t)
{
    t->a = archive_write_new();
    if (t->a == NULL)
        return temper_err_set(t->err, TEMPER_E_IO, ENOMEM, "tar: cannot allocate an archive");
    if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
        archive_write_open2(t->a, t, NULL, tar_out, NULL, NULL) != ARCHIVE_OK)
        return archive_fail(t, "the start of", "the archive");
    return 0;
}

static int
check_level(const struct layer_options *opts, int *level, struct temper_err *err)
{
    int dflt = 0, max = 0;
    const char *name = "none";

    switch (opts->compression) {
    case LAYER_COMPRESSION_GZIP:
        dflt = GZIP_LEVEL_DEFAULT;
        max = GZIP_LEVEL_MAX;
        name = "gzip";
        break;
    case LAYER_COMPRESSION_ZSTD:
        dflt = ZSTD_LEVEL_DEFAULT;
        max = ZSTD_LEVEL_MAX;
        name = "zstd";
        break;
    case LAYER_COMPRESSION_NONE:
        *level = 0;
        return 0;
    default:
        return temper_err_set(err, TEMPER_E_USAGE, 0, "unknown layer compression %d",
                              (int)opts->compression);
    }
    if (opts->level == 0) {
        *level = dflt;
        return 0;
    }
    if (opts->level < 1 || opts->level > max)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "%s compression level %d is out of range (1 to %d)", name,
                              opts->level, max);
    *level = opts->level;
    return 0;
}

static struct layer_codec *
codec_new(const struct layer_options *opts, int level, struct layer_out *out,
          struct temper_err *err)
{
    unsigned jobs = opts->jobs == 0 ? 1 : opts->jobs > LAYER_JOBS_MAX ? LAYER_JOBS_MAX : opts->jobs;

    switch (opts->compression) {
    case LAYER_COMPRESSION_GZIP:
        return layer_gzip_new(out, level, jobs, err);
    case LAYER_COMPRESSION_ZSTD:
        return layer_zstd_new(out, level, jobs, err);
    case LAYER_COMPRESSION_NONE:
        return layer_none_new(out);
    }
    return NULL; /* check_level refused it */
}

int
layer_write(const struct rootfs_plan *plan, struct fs_root *root, int out_fd,
            const struct layer_options *opts, struct layer_result *out, struct temper_err *err)
{
    struct tar_ctx t = {.err = err};
    struct layer_out lo;
    locale_t utf8, saved;
    int level = 0, rc = -1;

    if (check_level(opts, &level, err) < 0)
        return -1;
    utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (utf8 == (locale_t)0)
        return temper_err_sys(err, TEMPER_E_IO, errno,
                              "cannot load the 'C.UTF-8' locale that tar names are written in");
    layer_out_init(&lo, out_fd, opts->out_name != NULL ? opts->out_name : "layer output");
    sha256_init(&t.diff_id);
    t.codec = codec_new(opts, level, &lo, err);
    if (t.codec == NULL)
        goto out;
    t.buf = xmalloc(LAYER_IO_CHUNK);
    saved = uselocale(utf8);
    if (open_tar(&t) == 0 && write_tar(&t, plan, root, opts) == 0)
        rc = 0;
    if (rc < 0 && t.a != NULL) {
        /* libarchive 3.6 frees its output buffer only when closing, and archive_write_free
         * does not close an archive in the FATAL state (archive_write_fail would leak it):
         * close it, into a callback that drops the rest. */
        t.discard = true;
        archive_write_close(t.a);
    }
    archive_write_free(t.a);
    uselocale(saved);
    if (rc == 0)
        rc = t.codec->finish(t.codec, err);
    if (rc == 0) {
        sha256_final(&t.diff_id, out->diff_id);
        sha256_final(&lo.digest, out->digest);
        out->tar_size = t.tar_size;
        out->size = lo.size;
    }
out:
    if (t.codec != NULL)
        t.codec->free(t.codec);
    free(t.buf);
    sha256_release(&t.diff_id);
    layer_out_release(&lo);
    freelocale(utf8);
    return rc;
}

void
layer_library_versions(char *out, size_t size)
{
    snprintf(out, size, "%s, libdeflate %s, libzstd %s", archive_version_string(),
             LIBDEFLATE_VERSION_STRING, ZSTD_versionString());
}

void
layer_compressor(const struct layer_options *opts, char *out, size_t size)
{
    int level = opts->level;

    switch (opts->compression) {
    case LAYER_COMPRESSION_GZIP:
        snprintf(out, size, "gzip level %d, libdeflate %s", level ? level : GZIP_LEVEL_DEFAULT,
                 LIBDEFLATE_VERSION_STRING);
        return;
    case LAYER_COMPRESSION_ZSTD:
        snprintf(out, size, "zstd level %d, libzstd %s", level ? level : ZSTD_LEVEL_DEFAULT,
                 ZSTD_versionString());
        return;
    case LAYER_COMPRESSION_NONE:
        break;
    }
    snprintf(out, size, "none");
}

const char *
layer_media_type(enum layer_compression compression)
{
    switch (compression) {
    case LAYER_COMPRESSION_GZIP:
        return "application/vnd.oci.image.layer.v1.tar+gzip";
    case LAYER_COMPRESSION_ZSTD:
        return "application/vnd.oci.image.layer.v1.tar+zstd";
    case LAYER_COMPRESSION_NONE:
        return "application/vnd.oci.image.layer.v1.tar";
    }
    return NULL;
}

int
layer_compression_parse(const char *name, enum layer_compression *out)
{
    static const struct {
        const char *name;
        enum layer_compression value;
    } names[] = {
        {"gzip", LAYER_COMPRESSION_GZIP},
        {"zstd", LAYER_COMPRESSION_ZSTD},
        {"none", LAYER_COMPRESSION_NONE},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].value;
            return 0;
        }
    }
    return -1;
}
