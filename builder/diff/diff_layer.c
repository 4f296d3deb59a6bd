/*
 * The entries of one layer, streamed through libarchive: metadata kept,
 * contents hashed and dropped. The layer is untrusted: every count and every
 * byte kept is capped (limits.h), names are copied as bytes and normalised,
 * and nothing is ever written to disk.
 *
 * Two libarchive readers run in one pass. The first reads the compressed
 * bytes through our callback, which hashes and counts them (a registry, or a
 * damaged layout, that serves other bytes than the manifest names is caught
 * here, and the callback never reads more than one byte past the
 * descriptor's size), and decompresses them as one raw stream (gzip, zstd or
 * none). The second reads the tar from that stream through a callback that
 * hashes it (the layer's real diff_id, never taken from the config) and
 * counts it: a layer may not expand beyond its allowance (allowance()), so a
 * zstd bomb stops early. Content is counted too, since a sparse entry's holes
 * are zeros libarchive makes up without reading anything.
 *
 * Names are read under the C.UTF-8 locale (this thread only), as the layer
 * writer writes them: libarchive converts pax names from UTF-8 to the
 * thread's locale, which under "C" fails for any name that is not ASCII.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/limits.h"
#include "base/xalloc.h"
#include "diff-internal.h"

#define READ_BUFFER (256 * 1024)

struct reader {
    int fd;
    const struct oci_descriptor *desc; /* or NULL */
    struct sha256 hash;                /* of the compressed bytes */
    uint64_t count;                    /* compressed bytes read */
    int read_errno;
    struct archive *raw; /* the decompressed stream, as libarchive's raw format */
    struct sha256 diff_id;
    uint64_t tar_bytes; /* decompressed bytes read */
    bool raw_eof;
    bool over;     /* the decompressed stream went over its allowance */
    char why[512]; /* the raw reader's error, when it failed */
    unsigned char buf[READ_BUFFER];
};

/*
 * How many uncompressed bytes a layer may have (its tar stream, and again the
 * content hashed, sparse holes included): DIFF_LAYER_FREE_BYTES plus
 * DIFF_LAYER_MAX_RATIO times its compressed size, at most DIFF_LAYER_MAX_BYTES.
 * Without a descriptor, the compressed bytes read so far count.
 */
static uint64_t
allowance(const struct reader *r)
{
    uint64_t packed = r->desc != NULL ? r->desc->size : r->count;
    uint64_t most = DIFF_LAYER_MAX_BYTES - DIFF_LAYER_FREE_BYTES;

    if (packed > most / DIFF_LAYER_MAX_RATIO)
        return DIFF_LAYER_MAX_BYTES;
    return DIFF_LAYER_FREE_BYTES + packed * DIFF_LAYER_MAX_RATIO;
}

static int
over_allowance(const struct reader *r, const char *name, const char *what, struct temper_err *err)
{
    return temper_err_set(
        err, TEMPER_E_LIMIT, 0,
        "%s: %s over %llu bytes, the most a layer of %llu compressed bytes may expand to "
        "(%d times as much plus %lld MiB, DIFF_LAYER_MAX_RATIO; at most %lld GiB, "
        "DIFF_LAYER_MAX_BYTES): a real layer passes when recompressed with gzip (which cannot "
        "go beyond 1032 times) or split in smaller layers",
        name, what, (unsigned long long)allowance(r),
        (unsigned long long)(r->desc != NULL ? r->desc->size : r->count), DIFF_LAYER_MAX_RATIO,
        (long long)(DIFF_LAYER_FREE_BYTES >> 20), (long long)(DIFF_LAYER_MAX_BYTES >> 30));
}

/* How many more bytes may be read: one past the descriptor's size, to see a stream too long. */
static size_t
room(const struct reader *r)
{
    uint64_t left;

    if (r->desc == NULL)
        return READ_BUFFER;
    if (r->count > r->desc->size)
        return 0;
    left = r->desc->size + 1 - r->count;
    return left < READ_BUFFER ? (size_t)left : READ_BUFFER;
}

static ssize_t
read_some(struct reader *r)
{
    size_t want = room(r);
    ssize_t n;

    if (want == 0)
        return 0;
    do {
        n = read(r->fd, r->buf, want);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        r->read_errno = errno;
        return -1;
    }
    sha256_update(&r->hash, r->buf, (size_t)n);
    r->count += (uint64_t)n;
    return n;
}

static la_ssize_t
read_cb(struct archive *a, void *arg, const void **out)
{
    struct reader *r = arg;
    ssize_t n = read_some(r);

    if (n < 0)
        archive_set_error(a, r->read_errno, "read failed");
    *out = r->buf;
    return n;
}

/* The next block of the decompressed stream, hashed and counted (0 at its end). */
static la_ssize_t
raw_block(struct reader *r, const void **out)
{
    size_t size = 0;
    la_int64_t offset;
    int rc;

    if (r->raw_eof || r->over)
        return 0;
    rc = archive_read_data_block(r->raw, out, &size, &offset);
    if (rc == ARCHIVE_EOF) {
        r->raw_eof = true;
        return 0;
    }
    if (rc != ARCHIVE_OK) {
        const char *why = archive_error_string(r->raw);

        snprintf(r->why, sizeof(r->why), "%s", why ? why : "cannot decompress");
        return -1;
    }
    r->tar_bytes += size;
    if (r->tar_bytes > allowance(r)) {
        r->over = true;
        return -1;
    }
    sha256_update(&r->diff_id, *out, size);
    return (la_ssize_t)size;
}

static la_ssize_t
tar_cb(struct archive *a, void *arg, const void **out)
{
    struct reader *r = arg;
    la_ssize_t n = raw_block(r, out);

    if (n < 0)
        archive_set_error(a, EINVAL, "%s", r->over ? "over the layer's allowance" : r->why);
    return n;
}

/* Starts the raw reader (the decompressed stream); its errors are parse errors. */
static int
open_raw(struct reader *r)
{
    struct archive_entry *ae;

    r->raw = archive_read_new();
    if (r->raw == NULL)
        abort();
    /* Only what an OCI layer may be: a tar, as it is or gzip or zstd. */
    if (archive_read_support_filter_gzip(r->raw) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(r->raw) != ARCHIVE_OK ||
        archive_read_support_format_raw(r->raw) != ARCHIVE_OK) {
        fprintf(stderr, "temper: libarchive cannot read gzip, zstd or raw: %s\n",
                archive_error_string(r->raw));
        abort();
    }
    if (archive_read_open(r->raw, r, NULL, read_cb, NULL) != ARCHIVE_OK ||
        archive_read_next_header(r->raw, &ae) != ARCHIVE_OK) {
        const char *why = archive_error_string(r->raw);

        snprintf(r->why, sizeof(r->why), "%s", why ? why : "cannot decompress");
        return -1;
    }
    return 0;
}

/*
 * Reads what the tar reader left of the decompressed stream (what follows the
 * end-of-archive blocks counts in the diff_id), then what the decompressor
 * left of the blob (the end of a gzip member, padding), so that both are
 * hashed whole.
 */
static int
drain(struct reader *r, const char *name, struct temper_err *err)
{
    const void *block;
    ssize_t n;

    if (r->raw != NULL)
        while (raw_block(r, &block) > 0)
            ;
    while ((n = read_some(r)) > 0)
        ;
    if (n < 0)
        return temper_err_sys(err, TEMPER_E_IO, r->read_errno, "%s: cannot read", name);
    return 0;
}

/* Whether the bytes read are the blob the descriptor names. */
static int
check_blob(struct reader *r, const char *name, struct temper_err *err)
{
    char digest[SHA256_DIGEST_STR_LEN];

    sha256_final(&r->hash, digest);
    if (r->desc == NULL)
        return 0;
    if (strcmp(digest, r->desc->digest) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s: its bytes hash to '%s'%s; check it with temper verify", name,
                              digest, r->count > r->desc->size ? " (and it is longer)" : "");
    if (r->count != r->desc->size)
        return temper_err_set(err, TEMPER_E_SIG, 0, "%s is %llu bytes, its descriptor says %llu",
                              name, (unsigned long long)r->count,
                              (unsigned long long)r->desc->size);
    return 0;
}

/* "./etc//x/" -> "/etc/x"; "" and "." -> "/". ".." stays as it is: it is a name to report. */
char *
diff_path_normalise(const char *p)
{
    size_t len = strlen(p), o = 0;
    char *out = xmalloc(len + 2);

    out[o++] = '/';
    while (*p != '\0') {
        size_t n;

        while (*p == '/')
            p++;
        n = strcspn(p, "/");
        if (n == 0)
            break;
        if (!(n == 1 && p[0] == '.')) {
            if (o > 1)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o] = '\0';
    return out;
}

const char *
image_entry_type_name(enum image_entry_type type)
{
    switch (type) {
    case IMAGE_ENTRY_FILE:
        return "file";
    case IMAGE_ENTRY_DIR:
        return "directory";
    case IMAGE_ENTRY_SYMLINK:
        return "symlink";
    case IMAGE_ENTRY_HARDLINK:
        return "hardlink";
    case IMAGE_ENTRY_CHAR:
        return "char";
    case IMAGE_ENTRY_BLOCK:
        return "block";
    case IMAGE_ENTRY_FIFO:
        return "fifo";
    case IMAGE_ENTRY_OTHER:
        break;
    }
    return "other";
}

static enum image_entry_type
entry_type(struct archive_entry *ae)
{
    if (archive_entry_hardlink(ae) != NULL)
        return IMAGE_ENTRY_HARDLINK;
    switch (archive_entry_filetype(ae)) {
    case AE_IFREG:
        return IMAGE_ENTRY_FILE;
    case AE_IFDIR:
        return IMAGE_ENTRY_DIR;
    case AE_IFLNK:
        return IMAGE_ENTRY_SYMLINK;
    case AE_IFCHR:
        return IMAGE_ENTRY_CHAR;
    case AE_IFBLK:
        return IMAGE_ENTRY_BLOCK;
    case AE_IFIFO:
        return IMAGE_ENTRY_FIFO;
    default:
        return IMAGE_ENTRY_OTHER;
    }
}

/* What one layer's read keeps track of. */
struct layer_state {
    const char *name;
    const struct reader *r;
    uint64_t content_bytes; /* hashed, sparse holes included */
    struct image_entry *entries;
    size_t n, cap;
    /* What the entries hold in memory, as allocated (xalloc_held): the entry slots, paths,
     * link targets, pax records and their slots. Counting the bytes of the names only let
     * 5,700 entries of 2,870 empty xattrs each (a 60 KB zstd layer) hold 1.5 GB under a cap
     * of 256 MiB: each record is two allocations and a slot, 90 bytes or more. */
    uint64_t held;
    size_t pax_cap;
};

/* Counts `more` bytes held for entry `e` against DIFF_LAYER_MAX_HELD_BYTES. */
static int
hold(struct layer_state *s, const struct image_entry *e, size_t more, struct temper_err *err)
{
    char shown[160];

    s->held += more;
    if (s->held <= DIFF_LAYER_MAX_HELD_BYTES)
        return 0;
    return temper_err_set(err, TEMPER_E_LIMIT, 0,
                          "%s: entry %zu '%s': the layer's entries hold over %ld bytes of memory "
                          "(paths, link targets and pax records, as allocated; "
                          "DIFF_LAYER_MAX_HELD_BYTES)",
                          s->name, e->position, temper_printable(e->path, shown, sizeof(shown)),
                          (long)DIFF_LAYER_MAX_HELD_BYTES);
}

/* What growing an array from `from` to `to` elements of `size` bytes adds to what it holds. */
static size_t
held_growth(size_t from, size_t to, size_t size)
{
    return xalloc_held(to * size) - (from > 0 ? xalloc_held(from * size) : 0);
}

/* What a pax record's key and value hold (its slot is counted with the array). */
static size_t
pax_held(const char *key, size_t len)
{
    return xalloc_held(strlen(key) + 1) + xalloc_held(len + 1);
}

static int
add_pax(struct layer_state *s, struct image_entry *e, size_t *bytes, const char *key,
        const void *value, size_t len, struct temper_err *err)
{
    size_t more = pax_held(key, len);
    char shown[160];

    if (e->npax == s->pax_cap) {
        size_t cap = s->pax_cap ? 2 * s->pax_cap : 4;

        more += held_growth(s->pax_cap, cap, sizeof(*e->pax));
        s->pax_cap = cap;
        e->pax = xreallocarray(e->pax, s->pax_cap, sizeof(*e->pax));
    }
    *bytes += more;
    if (*bytes > DIFF_PAX_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "%s: entry %zu '%s': its pax records hold over %d bytes of memory "
                              "(DIFF_PAX_MAX_BYTES); temper does not compare such entries",
                              s->name, e->position, temper_printable(e->path, shown, sizeof(shown)),
                              DIFF_PAX_MAX_BYTES);
    if (hold(s, e, more, err) < 0)
        return -1;
    e->pax[e->npax].key = xstrdup(key);
    e->pax[e->npax].value = xmalloc(len + 1);
    memcpy(e->pax[e->npax].value, value, len);
    e->pax[e->npax].value[len] = '\0';
    e->pax[e->npax].len = len;
    e->npax++;
    return 0;
}

static int
add_time(struct layer_state *s, struct image_entry *e, size_t *bytes, const char *key, int64_t sec,
         long nsec, struct temper_err *err)
{
    char v[48];

    snprintf(v, sizeof(v), "%lld.%09ld", (long long)sec, nsec);
    return add_pax(s, e, bytes, key, v, strlen(v), err);
}

static int
pax_cmp(const void *x, const void *y)
{
    const struct image_pax *a = x, *b = y;
    int c = strcmp(a->key, b->key);

    if (c != 0)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return memcmp(a->value, b->value, a->len);
}

/* The records libarchive reports from a pax (or GNU) header, sorted by key. */
static int
read_pax(struct layer_state *s, struct archive_entry *ae, struct image_entry *e,
         struct temper_err *err)
{
    const char *name, *text;
    const void *value;
    size_t len, bytes = 0;
    int rc = 0;

    s->pax_cap = 0;
    archive_entry_xattr_reset(ae);
    while (rc == 0 && archive_entry_xattr_next(ae, &name, &value, &len) == ARCHIVE_OK) {
        cleanup_free char *key = xasprintf("SCHILY.xattr.%s", name ? name : "");
        rc = add_pax(s, e, &bytes, key, value ? value : "", value ? len : 0, err);
    }
    if (rc == 0 && archive_entry_atime_is_set(ae))
        rc = add_time(s, e, &bytes, "atime", archive_entry_atime(ae), archive_entry_atime_nsec(ae),
                      err);
    if (rc == 0 && archive_entry_ctime_is_set(ae))
        rc = add_time(s, e, &bytes, "ctime", archive_entry_ctime(ae), archive_entry_ctime_nsec(ae),
                      err);
    if (rc == 0 && archive_entry_birthtime_is_set(ae))
        rc = add_time(s, e, &bytes, "birthtime", archive_entry_birthtime(ae),
                      archive_entry_birthtime_nsec(ae), err);
    if (rc == 0 && (text = archive_entry_uname(ae)) != NULL && text[0] != '\0')
        rc = add_pax(s, e, &bytes, "uname", text, strlen(text), err);
    if (rc == 0 && (text = archive_entry_gname(ae)) != NULL && text[0] != '\0')
        rc = add_pax(s, e, &bytes, "gname", text, strlen(text), err);
    if (rc == 0 && (text = archive_entry_fflags_text(ae)) != NULL && text[0] != '\0')
        rc = add_pax(s, e, &bytes, "SCHILY.fflags", text, strlen(text), err);
    if (rc == 0 && archive_entry_acl_types(ae) != 0) {
        ssize_t n = 0;
        cleanup_free char *acl =
            archive_entry_acl_to_text(ae, &n, ARCHIVE_ENTRY_ACL_STYLE_EXTRA_ID);

        if (acl != NULL && n > 0)
            rc = add_pax(s, e, &bytes, "SCHILY.acl", acl, (size_t)n, err);
    }
    if (rc == 0 && e->npax > 1) {
        size_t kept = 1;

        qsort(e->pax, e->npax, sizeof(*e->pax), pax_cmp);
        /* libarchive's pax writer records each xattr twice (LIBARCHIVE.xattr and
         * SCHILY.xattr), and its reader reports both: one is enough. */
        for (size_t i = 1; i < e->npax; i++) {
            if (pax_cmp(&e->pax[i], &e->pax[kept - 1]) == 0) {
                s->held -= pax_held(e->pax[i].key, e->pax[i].len);
                free(e->pax[i].key);
                free(e->pax[i].value);
            } else {
                e->pax[kept++] = e->pax[i];
            }
        }
        e->npax = kept;
    }
    return rc;
}

static int
archive_failed(struct archive *a, const struct layer_state *s, const struct image_entry *e,
               struct temper_err *err)
{
    const char *why = archive_error_string(a);
    char shown[256], path[160];

    temper_printable(why ? why : "unknown error", shown, sizeof(shown));
    if (e == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s: entry %zu: %s", s->name, s->n + 1,
                              shown);
    return temper_err_set(err, TEMPER_E_PARSE, 0, "%s: entry %zu '%s': %s", s->name, e->position,
                          temper_printable(e->path, path, sizeof(path)), shown);
}

/* Whether the entry's content is kept: a file of dpkg's status.d (image_packages_add). */
static bool
keeps_text(const struct image_entry *e)
{
    static const char dir[] = "/var/lib/dpkg/status.d/";

    return e->type == IMAGE_ENTRY_FILE && strncmp(e->path, dir, sizeof(dir) - 1) == 0 &&
           strchr(e->path + sizeof(dir) - 1, '/') == NULL && !image_entry_is_whiteout(e);
}

/* Appends n bytes to the kept text, or drops it once over DIFF_DPKG_FILE_MAX_BYTES. */
static int
keep_text(struct layer_state *s, struct image_entry *e, const void *buf, size_t n,
          struct temper_err *err)
{
    if (e->text_len + n > DIFF_DPKG_FILE_MAX_BYTES) {
        free(e->text);
        e->text = NULL;
        return 0;
    }
    if (hold(s, e, n, err) < 0)
        return -1;
    e->text = xreallocarray(e->text, e->text_len + n + 1, 1);
    memcpy(e->text + e->text_len, buf, n);
    e->text_len += n;
    e->text[e->text_len] = '\0';
    return 0;
}

/* Hashes an entry's content as it streams by, and looks at its first bytes. */
static int
read_content(struct archive *a, struct layer_state *s, struct image_entry *e, void *buf,
             size_t size, struct temper_err *err)
{
    struct sha256 h;
    unsigned char head[4];
    size_t have = 0;
    la_ssize_t n;
    bool keep = keeps_text(e);

    if (keep)
        e->text = xcalloc(1, 1);
    sha256_init(&h);
    while ((n = archive_read_data(a, buf, size)) > 0) {
        if (have < sizeof(head)) {
            size_t k = sizeof(head) - have < (size_t)n ? sizeof(head) - have : (size_t)n;

            memcpy(head + have, buf, k);
            have += k;
        }
        if (keep && e->text != NULL && keep_text(s, e, buf, (size_t)n, err) < 0) {
            sha256_release(&h);
            return -1;
        }
        sha256_update(&h, buf, (size_t)n);
        e->size += (uint64_t)n;
        s->content_bytes += (uint64_t)n;
        if (s->content_bytes > allowance(s->r)) {
            char shown[160], what[256];

            sha256_release(&h);
            snprintf(what, sizeof(what), "entry %zu '%s': its contents are", e->position,
                     temper_printable(e->path, shown, sizeof(shown)));
            return over_allowance(s->r, s->name, what, err);
        }
    }
    if (n < 0) {
        sha256_release(&h);
        return archive_failed(a, s, e, err);
    }
    sha256_final(&h, e->sha256);
    e->is_elf = have == sizeof(head) && memcmp(head,
                                               "\x7f"
                                               "ELF",
                                               4) == 0;
    return 0;
}

static int
read_entry(struct archive *a, struct archive_entry *ae, struct layer_state *s, void *buf,
           size_t size, struct temper_err *err)
{
    struct image_entry *e;
    const char *path = archive_entry_pathname(ae), *link;
    char shown[160];
    size_t grown = 0;

    if (s->n == DIFF_LAYER_MAX_ENTRIES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "%s: more than %d entries (DIFF_LAYER_MAX_ENTRIES)", s->name,
                              DIFF_LAYER_MAX_ENTRIES);
    if (path == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "%s: entry %zu has a name libarchive cannot read", s->name, s->n + 1);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;

        grown = held_growth(s->cap, cap, sizeof(*s->entries));
        s->cap = cap;
        s->entries = xreallocarray(s->entries, s->cap, sizeof(*s->entries));
    }
    e = &s->entries[s->n];
    *e = (struct image_entry){.position = s->n + 1};
    s->n++;
    e->path = diff_path_normalise(path);
    if (strlen(e->path) >= TEMPER_PATH_MAX)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "%s: entry %zu '%s' has a path of %zu bytes, over %d", s->name,
                              e->position, temper_printable(e->path, shown, sizeof(shown)),
                              strlen(e->path), TEMPER_PATH_MAX - 1);
    /* diff_path_normalise allocates for the name as stored, which may be far longer */
    if (hold(s, e, grown + xalloc_held(strlen(path) + 2), err) < 0)
        return -1;
    e->type = entry_type(ae);
    e->mode = (unsigned)archive_entry_perm(ae) & 07777;
    e->uid = archive_entry_uid(ae);
    e->gid = archive_entry_gid(ae);
    e->mtime = archive_entry_mtime(ae);
    e->mtime_nsec = archive_entry_mtime_nsec(ae);
    if (e->type == IMAGE_ENTRY_CHAR || e->type == IMAGE_ENTRY_BLOCK) {
        e->devmajor = archive_entry_rdevmajor(ae);
        e->devminor = archive_entry_rdevminor(ae);
    }
    if (e->type == IMAGE_ENTRY_HARDLINK && (link = archive_entry_hardlink(ae)) != NULL)
        e->link = diff_path_normalise(link);
    else if (e->type == IMAGE_ENTRY_SYMLINK && (link = archive_entry_symlink(ae)) != NULL)
        e->link = xstrdup(link);
    if (e->link != NULL) {
        if (strlen(e->link) >= TEMPER_PATH_MAX)
            return temper_err_set(err, TEMPER_E_LIMIT, 0,
                                  "%s: entry %zu '%s' has a link target of %zu bytes, over %d",
                                  s->name, e->position,
                                  temper_printable(e->path, shown, sizeof(shown)), strlen(e->link),
                                  TEMPER_PATH_MAX - 1);
        if (hold(s, e, xalloc_held(strlen(link) + 2), err) < 0)
            return -1;
    }
    if (read_pax(s, ae, e, err) < 0)
        return -1;
    if (!(e->type == IMAGE_ENTRY_FILE ||
          (e->type == IMAGE_ENTRY_HARDLINK && archive_entry_size_is_set(ae) &&
           archive_entry_size(ae) > 0)))
        return 0;
    /* A sparse entry says how big its holes are without storing them: refuse it before
     * making up the zeros. */
    if (archive_entry_size_is_set(ae) && archive_entry_size(ae) > 0 &&
        (uint64_t)archive_entry_size(ae) > allowance(s->r) - s->content_bytes) {
        char what[256];

        snprintf(what, sizeof(what), "entry %zu '%s': its size (%lld bytes%s) goes", e->position,
                 temper_printable(e->path, shown, sizeof(shown)), (long long)archive_entry_size(ae),
                 archive_entry_sparse_count(ae) > 0 ? ", sparse" : "");
        return over_allowance(s->r, s->name, what, err);
    }
    return read_content(a, s, e, buf, size, err);
}

void
image_layer_entries_release(struct image_layer_entries *entries)
{
    for (size_t i = 0; i < entries->n; i++) {
        struct image_entry *e = &entries->entries[i];

        free(e->path);
        free(e->link);
        free(e->text);
        for (size_t j = 0; j < e->npax; j++) {
            free(e->pax[j].key);
            free(e->pax[j].value);
        }
        free(e->pax);
    }
    free(entries->entries);
    *entries = (struct image_layer_entries){0};
}

/* The tar reader: no filter, since the stream it reads is decompressed already (a gzip
 * inside the gzip is not a layer). */
static struct archive *
new_reader(void)
{
    struct archive *a = archive_read_new();

    if (a == NULL)
        abort();
    if (archive_read_support_format_tar(a) != ARCHIVE_OK) {
        fprintf(stderr, "temper: libarchive cannot read tar: %s\n", archive_error_string(a));
        abort();
    }
    return a;
}

/* Reads every entry; the stream is then drained and checked by the caller. */
static int
read_entries(struct archive *a, struct reader *r, struct layer_state *s, struct temper_err *err)
{
    struct archive_entry *ae;
    cleanup_free void *buf = xmalloc(READ_BUFFER);
    int rc;

    if (open_raw(r) < 0) {
        char shown[256];

        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s: %s", s->name,
                              temper_printable(r->why, shown, sizeof(shown)));
    }
    if (archive_read_open(a, r, NULL, tar_cb, NULL) != ARCHIVE_OK)
        return archive_failed(a, s, NULL, err);
    for (;;) {
        rc = archive_read_next_header(a, &ae);
        if (rc == ARCHIVE_EOF)
            return 0;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
            return archive_failed(a, s, NULL, err);
        if (read_entry(a, ae, s, buf, READ_BUFFER, err) < 0)
            return -1;
    }
}

int
image_layer_read(int fd, const struct oci_descriptor *desc, const char *name,
                 struct image_layer_entries *out, struct temper_err *err)
{
    struct reader *r = xcalloc(1, sizeof(*r));
    struct layer_state s = {.name = name, .r = r};
    struct image_layer_entries got;
    struct temper_err why;
    struct archive *a = new_reader();
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), saved = (locale_t)0;
    int rc;

    r->fd = fd;
    r->desc = desc;
    sha256_init(&r->hash);
    sha256_init(&r->diff_id);
    if (utf8 != (locale_t)0)
        saved = uselocale(utf8);
    rc = read_entries(a, r, &s, &why);
    if (utf8 != (locale_t)0) {
        uselocale(saved);
        freelocale(utf8);
    }
    archive_read_free(a);
    got = (struct image_layer_entries){.entries = s.entries, .n = s.n};
    /* Other bytes than the ones named explain a parse error better than the error itself. */
    if (r->read_errno != 0) {
        sha256_release(&r->hash);
        temper_err_sys(err, TEMPER_E_IO, r->read_errno, "%s: cannot read", name);
    } else if (drain(r, name, err) < 0) {
        sha256_release(&r->hash);
    } else if (check_blob(r, name, err) < 0) {
        ; /* err says which bytes came */
    } else if (r->over) {
        over_allowance(r, name, "its uncompressed tar stream goes", err);
    } else if (rc < 0) {
        *err = why;
    } else if (!r->raw_eof) {
        char shown[256];

        temper_err_set(err, TEMPER_E_PARSE, 0, "%s: %s", name,
                       temper_printable(r->why, shown, sizeof(shown)));
    } else {
        sha256_final(&r->diff_id, got.diff_id);
        archive_read_free(r->raw);
        free(r);
        *out = got;
        return 0;
    }
    sha256_release(&r->diff_id);
    archive_read_free(r->raw);
    free(r);
    image_layer_entries_release(&got);
    return -1;
}
