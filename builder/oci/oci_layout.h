/*
 * oci: an OCI image layout on disk (image-layout spec 1.0): `oci-layout`,
 * `index.json` and content-addressed `blobs/sha256/<hex>`.
 *
 * Everything is written so that a failed or interrupted build leaves the
 * layout as it was:
 *  - a blob is written to an anonymous file (O_TMPFILE) in blobs/sha256 (a
 *    named temporary ".tmp-XXXXXX" where the file system has no O_TMPFILE)
 *    and linked under its digest only when complete and synced; a blob that
 *    is already there is kept as it is (same name, same bytes);
 *  - index.json is written last, to a temporary name, synced and renamed
 *    over the old one, so a reader sees the old index or the new one;
 *  - what oci_layout_open made in a new or empty directory (the directory
 *    and its missing parents, oci-layout, blobs/) and the blobs linked since
 *    are removed again by oci_layout_free when no image was committed. A
 *    layout that existed before is never removed from.
 * A tag already in the index is replaced; other tags are kept, in order.
 *
 * Every file inside the layout is reached from one directory descriptor with
 * *at() calls and O_NOFOLLOW; a symlinked blobs/ or blobs/sha256 is refused.
 * A layout handle is for one thread at a time. Writers take turns: a handle
 * takes an exclusive flock on the layout's directory at its first write (at
 * open, with `create`) and keeps it until oci_layout_free, reading index.json
 * again if it had read it before; temporaries found then were left by a
 * killed writer and are removed. Readers take no lock.
 *
 * JSON is written by jansson with sorted keys and no insignificant
 * whitespace, so the same image gives the same bytes.
 *
 * Usage:
 *     oci_layout_open(dir, true, &layout, &err);
 *     fd = oci_blob_begin(layout, &err);       (write the layer to fd)
 *     oci_blob_commit(layout, fd, digest, &err);
 *     oci_image_commit(layout, &spec, layers, n, "latest", manifest_digest, &err);
 *     oci_layout_free(layout);
 */
#ifndef TEMPER_OCI_LAYOUT_H
#define TEMPER_OCI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "layer/layer_writer.h"

#define OCI_MEDIA_TYPE_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_TYPE_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_TYPE_INDEX "application/vnd.oci.image.index.v1+json"

struct oci_layout;

/* Whether `tag` matches [A-Za-z0-9_][A-Za-z0-9._-]{0,127} (the distribution spec's tag). */
bool oci_tag_is_valid(const char *tag);
#define OCI_TAG_MAX 128

/* The tag of an image index's image for `architecture`: "TAG-ARCH" in `out`; false when that
 * is not a valid tag (too long). */
bool oci_platform_tag(const char *tag, const char *architecture, char out[OCI_TAG_MAX + 1]);

/*
 * An image reference, NAME[:TAG][@DIGEST], normalized as docker's reference
 * grammar normalizes it (ParseNormalizedNamed, which containers/image applies
 * to both sides before it compares a signed identity): the first component
 * is a registry only with a '.' or a ':' or as "localhost", else the
 * registry is docker.io; index.docker.io is docker.io; a single name on
 * docker.io is library's ("python" -> "docker.io/library/python"). The
 * registry keeps its case; the repository must be lowercase. Implemented in
 * oci_reference.c.
 */
struct oci_reference {
    char *name;        /* "docker.io/library/python", "127.0.0.1:5000/acc/tools" */
    size_t domain_len; /* name[0..domain_len) is the registry, name + domain_len + 1 the path */
    char *tag;         /* or NULL */
    char *digest;      /* "sha256:<hex>" (or sha384, sha512), or NULL */
};

/* Also take a bracketed IPv6 registry ("[::1]:5000/x"), which containers/image cannot parse. */
#define OCI_REFERENCE_IPV6 1u
/* Longer text is refused before it is looked at (a reference is at most about 520 bytes). */
#define OCI_REFERENCE_MAX_BYTES 1024

/*
 * Parses and normalizes `text`; TEMPER_E_USAGE says what is wrong (quoting
 * the text). A digest must be sha256, sha384 or sha512 in lowercase hex, the
 * name at most 255 bytes once normalized, 64 hex digits alone are refused (an
 * image id). *out is set on success only; release it with
 * oci_reference_release.
 */
int oci_reference_parse(const char *text, unsigned flags, struct oci_reference *out,
                        struct temper_err *err);
void oci_reference_release(struct oci_reference *ref);
/* NAME[:TAG][@DIGEST] of a parsed reference (containers/image's String()), owned. */
char *oci_reference_string(const struct oci_reference *ref);

/*
 * Opens the layout in directory `dir` (a host path). With `create`, a
 * missing directory is made (parents too, mode 0755), and a new or empty
 * directory gets `oci-layout` and blobs/sha256 at once; an existing
 * directory must otherwise hold a layout (an `oci-layout` file with
 * imageLayoutVersion 1.0.0), so that temper never writes into some other
 * directory's files. Without `create` the open writes nothing (later
 * calls that write, oci_blob_put or oci_manifest_put, still may, making
 * blobs/sha256 when it is missing; what they add to a layout that existed
 * is never removed).
 *
 * index.json, when there is one, is read now (at most OCI_INDEX_MAX_BYTES);
 * a malformed one is an error (TEMPER_E_PARSE), never overwritten. A layout
 * without index.json has no images.
 */
int oci_layout_open(const char *dir, bool create, struct oci_layout **out, struct temper_err *err);
/*
 * Takes the writers' lock now (every write takes it anyway), for a read-modify-write such as
 * adding a signature: what is read after it is what the write will replace. Waits while another
 * process writes the layout.
 */
int oci_layout_lock(struct oci_layout *layout, struct temper_err *err);

/* Closes the layout, first removing what it made when no image was committed (see above). */
void oci_layout_free(struct oci_layout *layout);

static inline void
oci_layout_freep(struct oci_layout **layout)
{
    oci_layout_free(*layout);
}
#define cleanup_oci_layout __attribute__((cleanup(oci_layout_freep)))

/*
 * Starts a blob: returns a descriptor to write it to (an unnamed file in
 * blobs/sha256, mode 0644), or -1. Give it to oci_blob_commit, or close it
 * to drop the blob.
 */
int oci_blob_begin(struct oci_layout *layout, struct temper_err *err);
/*
 * Gives the blob written to `fd` its name `digest` ("sha256:<hex>", which the
 * caller computed while writing it; it is not checked again), after syncing
 * it, and closes fd, on failure too. A blob of that name already there is
 * kept (content-addressed: the same bytes), unless it is not a regular file
 * or has another size, which is an error (the layout is damaged).
 */
int oci_blob_commit(struct oci_layout *layout, int fd, const char *digest, struct temper_err *err);
/* Writes `len` bytes as a blob; *digest gets its "sha256:<hex>". */
int oci_blob_put(struct oci_layout *layout, const void *bytes, size_t len,
                 char digest[LAYER_DIGEST_LEN], struct temper_err *err);

/* Longest media type kept in a descriptor, NUL included (RFC 6838: 127 + '/' + 127). */
#define OCI_MEDIA_TYPE_MAX 256

/* A content descriptor as index.json gives it. */
struct oci_descriptor {
    char media_type[OCI_MEDIA_TYPE_MAX];
    char digest[LAYER_DIGEST_LEN]; /* "sha256:<hex>" */
    uint64_t size;
};

/*
 * The descriptor of the image tagged `tag` (annotation
 * org.opencontainers.image.ref.name) in index.json, usually a manifest. With
 * `tag` NULL, the only image of a layout that holds exactly one, signature
 * and attestation tags (oci_tag_is_attached) not counted (none is
 * TEMPER_E_MISSING, several TEMPER_E_USAGE). A tag not found is
 * TEMPER_E_MISSING, with the tags there are in the message; a digest other
 * than sha256 is TEMPER_E_PARSE.
 */
int oci_layout_find_tag(const struct oci_layout *layout, const char *tag,
                        struct oci_descriptor *out, struct temper_err *err);

/*
 * The tags of index.json that point at manifest `digest`, in index order,
 * signature tags left out: a NULL-terminated array, owned by the caller
 * (each string and the array are freed with free()).
 */
char **oci_layout_tags_of(const struct oci_layout *layout, const char *digest);

/* Whether `tag` names what is attached to an image, as cosign tags it: its signatures,
 * "sha256-<64 hex>.sig", or its attestations, "sha256-<64 hex>.att". */
bool oci_tag_is_attached(const char *tag);

/*
 * Checks the whole chain of the image whose manifest is `manifest` (as
 * oci_layout_find_tag gives it): the manifest's bytes hash to its digest and
 * have its size; it is an OCI image manifest (or a Docker v2 one); the config
 * blob and every layer blob hash to their descriptors' digests and have
 * their sizes; the config's rootfs.diff_ids has one entry per layer; and
 * every layer, decompressed, hashes to its diff_id. Layers are streamed,
 * never held (the manifest is read under OCI_MANIFEST_MAX_BYTES, the config
 * under OCI_CONFIG_MAX_BYTES). Each mismatch, and a layer whose bytes are
 * the right ones but do not decompress, is TEMPER_E_SIG with its own message
 * naming what failed and where ("layer 1 'sha256:...' is 24159647 bytes, its
 * descriptor says 24159648"). A missing blob is TEMPER_E_MISSING; a
 * manifest or config that is not one (bad JSON, a digest other than sha256)
 * TEMPER_E_PARSE, and so is a descriptor of something other than an OCI
 * or Docker v2 image manifest; a cap exceeded TEMPER_E_LIMIT; a layer media
 * type temper cannot decompress TEMPER_E_SIG (nothing vouches for it).
 */
int oci_image_verify(struct oci_layout *layout, const struct oci_descriptor *manifest,
                     struct temper_err *err);

/*
 * Writes `len` bytes of a manifest of media type `media_type` as a blob and
 * points `tag` at it in index.json (without a platform), replacing that
 * tag's entry in place and keeping the others; index.json is replaced
 * atomically, as by oci_image_commit (on failure it is unchanged). The bytes
 * are stored as given, never re-serialized. An invalid tag or an empty media
 * type is TEMPER_E_USAGE, before anything is written. Works on a layout
 * opened without `create`. *digest gets the manifest's "sha256:<hex>".
 */
int oci_manifest_put(struct oci_layout *layout, const char *tag, const char *media_type,
                     const void *bytes, size_t len, char digest[LAYER_DIGEST_LEN],
                     struct temper_err *err);

/*
 * Reads blob `digest` ("sha256:<hex>") whole, at most max_bytes
 * (TEMPER_E_LIMIT beyond), and checks that its SHA-256 is its name
 * (TEMPER_E_PARSE when not: the layout is damaged). *out is NUL-terminated
 * and owned by the caller.
 */
int oci_blob_read(struct oci_layout *layout, const char *digest, size_t max_bytes, char **out,
                  size_t *len, struct temper_err *err);

/*
 * Opens blob `digest` ("sha256:<hex>") to be streamed (a push sends layers
 * without holding them): a regular file opened read-only, without following
 * symlinks. Its bytes are not checked against the digest here. A missing
 * blob is TEMPER_E_MISSING. The caller closes the descriptor.
 */
int oci_blob_open_read(struct oci_layout *layout, const char *digest, struct temper_err *err);

/*
 * Where an image is read from: a layout (oci_layout_source) or a registry
 * (registry_client_source, in registry/). verify, the listing of signatures
 * and diff read images through this alone, so each works on both.
 *
 * Nothing a source returns is trusted: oci_source_read checks a document
 * against its descriptor, and a blob streamed through open is hashed by its
 * reader.
 */
struct oci_source_ops {
    /*
     * The descriptor tagged `tag`, or with `tag` NULL the image the source
     * was made for. TEMPER_E_MISSING when there is none.
     */
    int (*find)(void *arg, const char *tag, struct oci_descriptor *out, struct temper_err *err);
    /*
     * The bytes of `desc` (a manifest or a blob), at most max_bytes
     * (TEMPER_E_LIMIT beyond), NUL-terminated and owned by the caller; not
     * checked against the descriptor (oci_source_read does that).
     */
    int (*load)(void *arg, const struct oci_descriptor *desc, size_t max_bytes, char **out,
                size_t *len, struct temper_err *err);
    /* A descriptor to read blob `desc`'s bytes from, to their end; give it back to close. */
    int (*open)(void *arg, const struct oci_descriptor *desc, struct temper_err *err);
    /*
     * Closes what open gave, read to its end or not. -1 when the bytes did
     * not all come (a transfer that failed: err says why, which is the cause
     * to report before anything the reader saw).
     */
    int (*close)(void *arg, int fd, struct temper_err *err);
};

/* "layout 'out/python'", "registry '127.0.0.1:5000/team/python'", and its NUL. */
#define OCI_SOURCE_NAME_MAX 600

struct oci_source {
    const struct oci_source_ops *ops;
    void *arg;
    char name[OCI_SOURCE_NAME_MAX]; /* for messages */
};

/* The layout as a source: find is oci_layout_find_tag (NULL: the layout's only image). */
void oci_layout_source(struct oci_layout *layout, struct oci_source *out);

/*
 * The bytes of `desc` through the source, checked: at most max_bytes (its
 * descriptor saying more is TEMPER_E_LIMIT before anything is read), hashing
 * to its digest and of its size (TEMPER_E_SIG naming `what`, "manifest",
 * "config", and both values otherwise).
 */
int oci_source_read(const struct oci_source *src, const char *what,
                    const struct oci_descriptor *desc, size_t max_bytes, char **out, size_t *len,
                    struct temper_err *err);

/* Whether `media_type` is an image manifest's, OCI or Docker v2 (not an index, not a list). */
bool oci_is_image_manifest(const char *media_type);

/* Whether `media_type` is an image index's, OCI or Docker's manifest list. */
bool oci_is_image_index(const char *media_type);

/* One image of an image index: its manifest's descriptor and its platform. */
struct oci_platform_image {
    struct oci_descriptor manifest;
    char os[32], architecture[32], variant[32]; /* variant "" when the index gives none */
};

/*
 * The images image index `desc` names, read through the source and checked
 * against `desc` (oci_source_read), in the order the index gives them. Every
 * entry must be an image manifest (OCI or Docker v2) with a platform (os and
 * architecture): an entry of another kind (a nested index, an attestation
 * manifest without one) is TEMPER_E_PARSE naming it, since whoever checks or
 * copies the index would otherwise leave it out unseen. More than
 * OCI_INDEX_MAX_IMAGES is TEMPER_E_LIMIT, none TEMPER_E_PARSE. *out is owned
 * by the caller (free()).
 */
int oci_source_index(const struct oci_source *src, const struct oci_descriptor *desc,
                     struct oci_platform_image **out, size_t *n, struct temper_err *err);

/* The image of index `images` for GOARCH `architecture` (and os linux), or NULL. */
const struct oci_platform_image *oci_platform_find(const struct oci_platform_image *images,
                                                   size_t n, const char *architecture);

/* oci_image_verify through any source. */
int oci_source_verify(const struct oci_source *src, const struct oci_descriptor *manifest,
                      struct temper_err *err);

struct oci_kv {
    const char *key;
    const char *value;
};

/*
 * What the config and manifest of an image say, apart from its layers.
 * Absent members (NULL, or a count of 0) are left out of the JSON.
 */
struct oci_image_spec {
    const char *architecture; /* "amd64", ...: not empty */
    const char *variant;      /* or NULL */
    const char *os;           /* "linux": not empty */
    int64_t created;          /* seconds since 1970 (0 to 9999-12-31); written as RFC 3339 UTC */
    const char *user;         /* config.User, or NULL */
    const char *const *env;   /* "KEY=VALUE" strings */
    size_t nenv;
    const char *const *entrypoint;
    size_t nentrypoint;
    const char *const *cmd;
    size_t ncmd;
    const char *work_dir;        /* or NULL */
    const struct oci_kv *labels; /* config.Labels */
    size_t nlabels;
    const struct oci_kv *annotations; /* manifest annotations */
    size_t nannotations;
    const char *created_by; /* history[].created_by, e.g. "temper build python.yaml", or NULL */
};

struct oci_layer_desc {
    const char *media_type;
    const char *digest;
    uint64_t size;
    const char *diff_id;
    const char *comment; /* its history entry's comment ("layer of base.yaml"), or NULL */
};

/* A layer of an image in a layout: its descriptor, and the diff_id and history comment its
 * config gives it. */
struct oci_layer_made {
    struct oci_descriptor desc;
    char diff_id[LAYER_DIGEST_LEN];
    char *comment;
};

/*
 * The layers of the layout's images (signatures and attestations aside)
 * that have a history comment and their blob there, each blob once
 * (oci_reuse.c): what a build may take instead of compressing the same tar
 * again, when the comment says the blob was made as the build would make it
 * (temper build's names the recipe file and the compressor) and the diff_id
 * is the one of the build's tar. Nothing here is trusted: the caller
 * decompresses a blob it takes and checks its diff_id. A manifest or config
 * that cannot be read counts as none. Returns how many; release *out (NULL
 * for none) with oci_layers_made_free.
 */
size_t oci_layout_layers_made(struct oci_layout *layout, struct oci_layer_made **out);
void oci_layers_made_free(struct oci_layer_made *made, size_t n);

/* Whether blob `digest` is in the layout as a regular file of `size` bytes. */
bool oci_blob_present(struct oci_layout *layout, const char *digest, uint64_t size);

/*
 * Writes the config and manifest blobs of an image made of `layers` (at
 * least one, each an already committed blob of that size; one history entry
 * each), then index.json with the manifest under `tag` (annotation
 * org.opencontainers.image.ref.name, with the platform of `spec`), and
 * oci-layout if it is missing. Everything is checked before anything is
 * written: a tag outside [A-Za-z0-9_][A-Za-z0-9._-]{0,127} or an unusable
 * spec is TEMPER_E_USAGE. On failure index.json is unchanged (unless only
 * the sync of the directory after the rename failed: the image is then in).
 * *manifest_digest gets the manifest's "sha256:<hex>".
 */
int oci_image_commit(struct oci_layout *layout, const struct oci_image_spec *spec,
                     const struct oci_layer_desc *layers, size_t nlayers, const char *tag,
                     char manifest_digest[LAYER_DIGEST_LEN], struct temper_err *err);

/*
 * The blobs of oci_image_commit alone, index.json left as it is: an image
 * for an image index (oci_index_commit). *manifest gets its descriptor.
 */
int oci_image_put(struct oci_layout *layout, const struct oci_image_spec *spec,
                  const struct oci_layer_desc *layers, size_t nlayers,
                  struct oci_descriptor *manifest, struct temper_err *err);

/* One image of an image index: its manifest, and the platform its spec names. */
struct oci_index_image {
    struct oci_descriptor manifest;
    const struct oci_image_spec *spec; /* architecture, variant and os are read */
};

/*
 * Writes an image index naming `images` in the order given (at least one,
 * each with its platform, each a manifest already in the layout, as
 * oci_image_put leaves it) as a blob, and points `tag` at it in index.json,
 * as oci_image_commit points a tag at a manifest; each image gets its
 * platform tag, TAG-ARCH ("latest-arm64", oci_platform_tag), so that a tool
 * that reads one image of a layout by its tag (umoci) can name it. The
 * platform tags an earlier index of `tag` had go (oci_index_put). Two images
 * of one platform are TEMPER_E_USAGE, and so is what oci_index_check_tags
 * refuses. *digest gets the index's "sha256:<hex>".
 */
int oci_index_commit(struct oci_layout *layout, const struct oci_index_image *images,
                     size_t nimages, const char *tag, char digest[LAYER_DIGEST_LEN],
                     struct temper_err *err);

/*
 * Whether oci_index_commit may tag an index of images of these platforms
 * `tag` (only each image's spec is read): TEMPER_E_USAGE for a tag that is
 * not one, a platform tag over 128 characters, or a platform tag the layout
 * holds already that is not one of the index `tag` names now (a tag of the
 * user's, which is never replaced). Call it before writing the images, so
 * that a refusal leaves the layout as it was.
 */
int oci_index_check_tags(const struct oci_layout *layout, const struct oci_index_image *images,
                         size_t nimages, const char *tag, struct temper_err *err);

/*
 * Writes the image tagged `tag` as one deterministic tar at `path` (a host
 * path, replaced atomically through a temporary beside it): an OCI layout
 * holding that image alone (its ref.name the whole `repository:tag`, which
 * is how podman names what it loads), plus the `manifest.json` of Docker's archive
 * format naming it `repository:tag`, so that `podman load` and `docker load`
 * (Docker 25 and newer) take it. Entries get mtime `epoch`. The bytes depend
 * only on the image.
 */
int oci_layout_archive(struct oci_layout *layout, const char *tag, const char *repository,
                       int64_t epoch, const char *path, struct temper_err *err);

/* What oci_layout_gc removed, or would remove with dry_run. */
struct oci_gc_result {
    char **tags;  /* attached tags dropped from index.json (sha256-<hex>.sig, .att) */
    char **blobs; /* "sha256:<hex>" of each blob removed */
    size_t ntags, nblobs;
    uint64_t bytes; /* of the blobs */
    size_t kept;    /* blobs kept */
};

/*
 * Removes what no tag of the layout reaches: the signatures and attestations
 * (sha256-<hex>.sig and .att tags) of images no tag names any more, then every
 * blob of blobs/sha256 that no remaining index entry reaches through its
 * manifest (config, layers; the manifests of an image index). Takes the
 * writers' lock, so no build's blobs are taken mid-way. index.json is
 * replaced before any blob goes: a crash leaves blobs too many, never an
 * index naming a missing one. A manifest that cannot be read or parsed
 * stops it before anything is removed (the layout is damaged: verify says
 * how). With dry_run, *out says what would go and nothing changes.
 */
int oci_layout_gc(struct oci_layout *layout, bool dry_run, struct oci_gc_result *out,
                  struct temper_err *err);
void oci_gc_result_release(struct oci_gc_result *result);

#endif
