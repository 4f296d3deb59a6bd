/*
 * diff: what two images hold, compared from the top down, and what one image
 * holds, entry by entry (temper diff, temper inspect, temper build --expect).
 *
 * Images are read through a `struct oci_source`, so a layout and a registry
 * image are read alike. Everything read is untrusted:
 *  - manifests and configs are read with oci_source_read (checked against
 *    their descriptors, under OCI_MANIFEST_MAX_BYTES and OCI_CONFIG_MAX_BYTES)
 *    and parsed by jansson with duplicate keys refused;
 *  - layers are streamed through libarchive (gzip, zstd or none; tar), never
 *    unpacked and never held: contents are hashed as they are read (and the
 *    decompressed stream too: the real diff_id), at most the layer's allowance
 *    of uncompressed bytes (DIFF_LAYER_MAX_RATIO, DIFF_LAYER_MAX_BYTES), and only
 *    each entry's metadata is kept (at most DIFF_LAYER_MAX_ENTRIES entries and
 *    DIFF_LAYER_MAX_NAME_BYTES of names, link targets and pax values per
 *    layer). The compressed bytes are hashed too and must be the ones the
 *    manifest names;
 *  - paths are normalised ("./etc/x", "etc/x" and "/etc/x" are "/etc/x") but
 *    otherwise kept as they are, any byte included: the text lines this
 *    module makes escape them (base/escape.h), and quote values escaped with
 *    ESCAPE_QUOTE, so that no name can forge a line or pass for another;
 *    messages (err) hold them as they are, for cli to escape.
 *
 * A comparison never stops at the first difference. It gives plain data: a
 * list of differences, each with its text line and its JSON object; the
 * caller prints one or the other.
 *
 * Usage:
 *     image_diff_compare(&src_a, &desc_a, &src_b, &desc_b, &diff, &err);
 *     for each diff.items[i]: print items[i].line, or add items[i].json to a document
 *     image_diff_release(&diff);
 *
 *     image_load(&src, &desc, &doc, &err);
 *     v = image_hardening_view_new();
 *     for each layer i: image_layer_load(&src, &doc, i, &entries, &err);
 *                       image_hardening_view_add(v, &entries, "layer 1", &err);
 *                       image_layer_entries_release(&entries);
 *     image_hardening_view_finish(v, &doc, &hardening); image_hardening_view_free(v);
 *     image_hardening_release(&hardening); image_doc_release(&doc);
 */
#ifndef TEMPER_DIFF_IMAGE_DIFF_H
#define TEMPER_DIFF_IMAGE_DIFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/sha256.h"
#include "base/strmap.h"
#include "oci/oci_layout.h"

/* ---- the entries of one layer ---- */

enum image_entry_type {
    IMAGE_ENTRY_FILE,
    IMAGE_ENTRY_DIR,
    IMAGE_ENTRY_SYMLINK,
    IMAGE_ENTRY_HARDLINK,
    IMAGE_ENTRY_CHAR,
    IMAGE_ENTRY_BLOCK,
    IMAGE_ENTRY_FIFO,
    IMAGE_ENTRY_OTHER,
};

/* "file", "directory", "symlink", "hardlink", "char", "block", "fifo", "other". */
const char *image_entry_type_name(enum image_entry_type type);

/*
 * One record of what libarchive reports from an entry's pax extended header
 * (and the GNU and ustar fields that say the same): xattrs as
 * "SCHILY.xattr.<name>", "atime", "ctime", "birthtime", "uname", "gname",
 * "SCHILY.acl", "SCHILY.fflags". Records libarchive does not report (keys
 * it does not know, comments) are not seen here.
 */
struct image_pax {
    char *key;   /* NUL-terminated */
    char *value; /* `len` bytes, NUL-terminated after them; may hold NULs */
    size_t len;
};

struct image_entry {
    char *path; /* normalised: "/" + components; as in the tar otherwise (any bytes) */
    enum image_entry_type type;
    unsigned mode; /* permission bits, at most 07777 */
    int64_t uid, gid;
    int64_t mtime; /* seconds since 1970 */
    long mtime_nsec;
    uint64_t size;                      /* bytes of content read (files, hard links with data) */
    char sha256[SHA256_DIGEST_STR_LEN]; /* of the content; "" when the entry has none */
    char *link;                         /* symlink target as stored; hard link target
                                           normalised as a path; NULL for other types */
    uint64_t devmajor, devminor;        /* char and block devices */
    bool is_elf;                        /* content starts with "\x7fELF" */
    size_t position;                    /* 1 for the first entry of the stream */
    struct image_pax *pax;              /* sorted by key */
    size_t npax;
    /* The content of a regular file under /var/lib/dpkg/status.d/ (what names an image's
     * packages: image_packages_add), NUL-terminated after text_len bytes; NULL for any other
     * entry, and for one over DIFF_DPKG_FILE_MAX_BYTES. */
    char *text;
    size_t text_len;
};

struct image_layer_entries {
    struct image_entry *entries; /* in the order of the stream */
    size_t n;
    char diff_id[LAYER_DIGEST_LEN]; /* sha256 of the uncompressed stream, as read */
};

/*
 * Reads the tar stream (gzip, zstd or uncompressed, told apart by their
 * bytes) from `fd` to its end, keeping each entry's metadata and the
 * sha256 of its content. When `desc` is not NULL, the bytes read from fd
 * must be the blob it names: its digest and size (TEMPER_E_SIG otherwise;
 * at most desc->size + 1 bytes are read). `name` is what messages call the
 * stream ("layer 1 'sha256:...'"). Malformed or truncated tar, gzip or zstd
 * is TEMPER_E_PARSE; more entries or bytes of names than the caps
 * TEMPER_E_LIMIT (naming the entry); a failed read TEMPER_E_IO. *out is set
 * only on success.
 */
int image_layer_read(int fd, const struct oci_descriptor *desc, const char *name,
                     struct image_layer_entries *out, struct temper_err *err);
void image_layer_entries_release(struct image_layer_entries *entries);

/* ---- one image ---- */

struct image_doc {
    struct oci_descriptor desc; /* the manifest's */
    json_t *manifest;           /* an object */
    json_t *config;             /* an object */
    struct oci_descriptor config_desc;
    struct oci_descriptor *layers; /* nlayers, at most OCI_MANIFEST_MAX_LAYERS */
    size_t nlayers;
    /* One per layer: the config's rootfs.diff_ids[i], or "" when the config has not one
     * sha256 diff_id per layer. */
    char (*diff_ids)[LAYER_DIGEST_LEN];
};

/*
 * Reads the image manifest `desc` names and its config through `src`,
 * checked against their descriptors (oci_source_read), and parses both
 * (duplicate keys refused): schemaVersion 2, a config descriptor and layer
 * descriptors with sha256 digests and sizes. Something other than an image
 * manifest (an index) is TEMPER_E_PARSE, saying to name one platform's
 * manifest. Release *out with image_doc_release.
 */
int image_load(const struct oci_source *src, const struct oci_descriptor *desc,
               struct image_doc *out, struct temper_err *err);
void image_doc_release(struct image_doc *doc);

/* Streams layer `i` (from 0) of `doc` through `src` with image_layer_read; messages name it
 * "layer <i+1> 'sha256:...'". */
int image_layer_load(const struct oci_source *src, const struct image_doc *doc, size_t i,
                     struct image_layer_entries *out, struct temper_err *err);

/*
 * The Debian packages an image names, the way distroless and temper write them and scanners read
 * them: /var/lib/dpkg/status.d/<file> holds a package's control stanza, <file>.md5sums the paths
 * of its files ("<md5>  usr/bin/x"). image_packages_add reads a layer's (later layers' files of
 * the same name replace earlier ones; a whiteout removes one); a stanza without a valid-looking
 * Package, or a file over DIFF_DPKG_FILE_MAX_BYTES, names nothing. Names and versions are the
 * image's bytes: print them escaped.
 */
struct image_package {
    char *name, *version, *architecture; /* version and architecture "" when the stanza has none */
};

struct image_packages {
    struct image_package *pkgs; /* by name, then architecture (image_packages_finish) */
    size_t n;
    struct strmap owners; /* "/usr/bin/x" -> its struct image_package (image_packages_finish) */
    struct strmap texts;  /* status.d file name -> its text (owned), NULL once whited out */
};

void image_packages_init(struct image_packages *p);
void image_packages_add(struct image_packages *p, const struct image_layer_entries *layer);
/* pkgs and owners from the files added so far (again at each call). */
void image_packages_finish(struct image_packages *p);
/* The package that lists `path` ("/usr/bin/x"), or NULL. */
const struct image_package *image_package_of(const struct image_packages *p, const char *path);
void image_packages_release(struct image_packages *p);

/* What temper build's hardening summary says, read back from an image. */
struct image_hardening {
    const char *user;        /* config.User, or NULL (borrowed from the doc) */
    size_t setid;            /* setuid-like files: nsetid_paths + ncapability_paths */
    size_t elves;            /* files that start with the ELF magic (hard links to one too) */
    char **setid_paths;      /* files with the setuid or setgid bit */
    char **capability_paths; /* files with a security.capability xattr (file capabilities) */
    char **world_writable;   /* paths others may write to, but a sticky /tmp and symlinks */
    char **shells;           /* files named like a shell (sh, bash, busybox, ...) */
    size_t nsetid_paths, ncapability_paths, nworld_writable, nshells;
    bool incomplete; /* image_hardening_of went over DIFF_IMAGE_MAX_PATHS: a part is missing */
};

/*
 * The image as extraction leaves it, built layer by layer, keeping for each path only what
 * the summary needs (at most DIFF_IMAGE_MAX_PATHS paths and DIFF_IMAGE_MAX_PATH_BYTES of
 * them): so that a caller may read a layer, add it, and release its entries before the next.
 * A layer's whiteouts (".wh.NAME", ".wh..wh..opq") remove what the layers below hold; its
 * entries replace what was at their path; a hard link takes the type, mode, ELF magic and
 * capability its target had at the moment of the link (earlier in the layer, or below), as
 * extraction links to that inode. image_hardening_view_add fails with TEMPER_E_LIMIT (naming
 * `name`) over the caps. Usage:
 *     v = image_hardening_view_new();
 *     for each layer: image_layer_load(...); image_hardening_view_add(v, &entries, name, &err);
 *                     image_layer_entries_release(&entries);
 *     image_hardening_view_finish(v, &doc, &h); image_hardening_view_free(v);
 *     image_hardening_release(&h);
 */
struct image_hardening_view;
struct image_hardening_view *image_hardening_view_new(void);
int image_hardening_view_add(struct image_hardening_view *v,
                             const struct image_layer_entries *layer, const char *name,
                             struct temper_err *err);
/* Fills *out; its path lists are its own copies (release with image_hardening_release). */
void image_hardening_view_finish(const struct image_hardening_view *v, const struct image_doc *doc,
                                 struct image_hardening *out);
void image_hardening_view_free(struct image_hardening_view *v);

/* The same from layers all read already (later layers over earlier ones); over the caps,
 * out->incomplete is set. Release with image_hardening_release. */
void image_hardening_of(const struct image_doc *doc, const struct image_layer_entries *layers,
                        size_t nlayers, struct image_hardening *out);
void image_hardening_release(struct image_hardening *h);

/* Whether an entry is a whiteout (its name starts with ".wh."), and the path it removes:
 * "/a/.wh.b" is "/a/b"; "/a/.wh..wh..opq" is "/a" with *opaque set (what is below it goes). */
bool image_entry_is_whiteout(const struct image_entry *e);
char *image_whiteout_target(const char *path, bool *opaque);

/* ---- two images ---- */

struct image_diff_item {
    char *line;   /* "layer 1: /etc/passwd: mode: 0644 -> 0600": escaped (base/escape.h) */
    json_t *json; /* {"where", "path" (for an entry), "field", "a", "b", ...} */
};

struct image_diff {
    bool identical;
    char digest_a[LAYER_DIGEST_LEN], digest_b[LAYER_DIGEST_LEN];
    struct image_diff_item *items; /* at most DIFF_MAX_ITEMS, in report order */
    size_t nitems;
    size_t count; /* every difference found: nitems, plus those over the cap (not kept) */
};

/*
 * Compares the images `da` (through `a`) and `db` (through `b`), from the
 * top: manifest fields and annotations; config fields (created,
 * architecture, os, User, Env, Entrypoint, Cmd, WorkingDir, Labels, history,
 * rootfs, and any other); layers paired by index, every member of their
 * descriptors but the digest compared: the same blob is not read; two blobs
 * are both streamed and their real diff_ids computed (a config naming
 * another is a difference): the same diff_id is a compression difference,
 * otherwise their entries are compared by path (added,
 * removed, and content, mode, owner, mtime, link target, type, device,
 * entry order, pax records of those in both). Same manifest digest: nothing
 * is read and the images are identical. Errors name the source
 * (`a->name` or `b->name`) they come from. Release *out with
 * image_diff_release.
 */
int image_diff_compare(const struct oci_source *a, const struct oci_descriptor *da,
                       const struct oci_source *b, const struct oci_descriptor *db,
                       struct image_diff *out, struct temper_err *err);
void image_diff_release(struct image_diff *diff);

/*
 * The JSON document of a comparison: {"identical", "a": {"image", "digest"},
 * "b": {...}, "differences": [...]} (and "omitted": N when items went over
 * DIFF_MAX_ITEMS). `image_a` and `image_b` are what the user named.
 */
json_t *image_diff_json(const struct image_diff *diff, const char *image_a, const char *image_b);

/*
 * Writes `len` bytes as a quoted string a terminal may show: escaped as
 * base/escape.h says, '"' as \" too (ESCAPE_QUOTE). Returns out (cut with
 * "..." before the closing quote when size is short; size at least 10;
 * 4 * len + 3 holds any value whole).
 */
const char *image_quote(const char *s, size_t len, char *out, size_t size);

/* A JSON string of `len` bytes: as they are when UTF-8 without NUL, else image_quote's text
 * without its quotes (cut past DIFF_VALUE_SHOWN_BYTES as diff's values are). */
json_t *image_json_bytes(const char *s, size_t len);

#endif
