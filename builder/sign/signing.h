/*
 * sign: keys, cosign "simple signing" payloads, and signatures over them,
 * through OpenSSL 3.
 *
 * The format is the one cosign writes and containers/image verifies
 * (../shared/DESIGN.md has the facts, checked against those verifiers):
 *  - the payload is JSON with exactly two top-level keys, `critical` and
 *    `optional` (`optional` may be null, never absent), and `critical`
 *    exactly `identity` {"docker-reference": REPO}, `image`
 *    {"docker-manifest-digest": "sha256:..."} and `type` "cosign container
 *    image signature"; key names are case-sensitive, unknown keys in
 *    `critical` are refused;
 *  - the signature is ECDSA P-256 over SHA-256 of the payload bytes, ASN.1
 *    DER, or Ed25519 over the payload bytes; it travels as standard base64
 *    with padding;
 *  - public keys are PEM `PUBLIC KEY` (PKIX); private keys PKCS#8 PEM,
 *    encrypted when a password is given.
 *
 * Key hygiene: a private key file readable by group or others is refused;
 * key bytes and passwords read into memory are wiped (OPENSSL_cleanse)
 * before they are freed; no key or password is ever put in an error
 * message. Errors are TEMPER_E_SIG for keys, signatures and payloads,
 * TEMPER_E_IO for files, TEMPER_E_LIMIT for input over a cap of
 * base/limits.h and TEMPER_E_USAGE for arguments no call could accept, each
 * with a message naming the key file and saying what to do.
 *
 * docs/internals/sign.md has the formats and the reasons for each rule.
 */
#ifndef TEMPER_SIGN_SIGNING_H
#define TEMPER_SIGN_SIGNING_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/error.h"

enum sign_key_type {
    SIGN_KEY_ECDSA_P256,
    SIGN_KEY_ED25519,
};

/* A loaded key, private or public; opaque. */
struct sign_key;

/* Parses "ecdsa-p256" or "ed25519"; -1 for anything else. */
int sign_key_type_parse(const char *name, enum sign_key_type *out);

/*
 * Writes a new key pair: `prefix`.key (PKCS#8 PEM, mode 0600, created with
 * O_EXCL so that nothing is ever overwritten; encrypted with AES-256-CBC
 * and scrypt (N=16384, r=8, p=1) when `password` is not NULL) and
 * `prefix`.pub (PEM PUBLIC KEY, mode 0644, O_EXCL too). The modes are set
 * with fchmod, whatever the umask; neither name is followed if it is a
 * symlink. An existing file is TEMPER_E_IO with sys_errno EEXIST; an empty
 * password (or one over SIGN_PASSWORD_MAX_BYTES) is TEMPER_E_USAGE. On
 * failure neither file is left behind.
 */
int sign_keygen(enum sign_key_type type, const char *prefix, const char *password,
                struct temper_err *err);

/*
 * Loads a private key from `path` (a host path; a symlink is followed, and
 * the checks apply to the file it leads to). Refused, each with its own
 * message: not a regular file, a file readable or writable by group or
 * others (says `chmod 600 PATH`), over SIGN_KEY_MAX_BYTES (TEMPER_E_LIMIT),
 * a public key, an RSA or other key type, an EC key on another curve or
 * with explicit curve parameters, a cosign-format key, a corrupt PEM, an
 * encrypted key without a password or with a wrong one. `password` is
 * ignored for a key that is not encrypted.
 */
int sign_key_load_private(const char *path, const char *password, struct sign_key **out,
                          struct temper_err *err);
/*
 * Loads a public key (PEM PUBLIC KEY) from `path`, with the same type
 * checks; an EC point written compressed is refused too (containers/image
 * cannot read it), and so is a private key there (its file mode is not
 * checked: it is not read).
 */
int sign_key_load_public(const char *path, struct sign_key **out, struct temper_err *err);
void sign_key_free(struct sign_key *key);
enum sign_key_type sign_key_get_type(const struct sign_key *key);

/*
 * Signs `len` bytes with a private key: ECDSA P-256 over their SHA-256
 * (DER), or Ed25519 over the bytes. *b64 gets the signature in standard
 * base64 with padding, on one line, NUL-terminated, owned by the caller.
 * A public key is TEMPER_E_USAGE.
 */
int sign_bytes(const struct sign_key *key, const void *msg, size_t len, char **b64,
               struct temper_err *err);

/*
 * Checks a base64 signature over `len` bytes with a key (public, or the
 * public half of a private one): 0 when it holds; -1 with TEMPER_E_SIG
 * otherwise, the message saying which: not base64 (only the canonical
 * spelling is taken: padded, no whitespace, zero padding bits; at most
 * SIGN_SIGNATURE_MAX_B64 characters), not DER (ECDSA: BER and trailing
 * bytes are refused), or a signature that does not verify.
 */
int sign_verify_bytes(const struct sign_key *key, const void *msg, size_t len, const char *b64,
                      struct temper_err *err);

/*
 * The payload that signs manifest `digest` ("sha256:<hex>") for repository
 * `identity` ("registry.example/team/python"): exactly the bytes cosign
 * writes, keys in its order,
 * {"critical":{"identity":{"docker-reference":"..."},"image":{"docker-manifest-digest":"..."},
 *  "type":"cosign container image signature"},"optional":null}
 * with the identity escaped as Go's encoding/json escapes it ('"', '\\',
 * '<', '>', '&', U+2028, U+2029). *out is NUL-terminated, owned by the
 * caller. TEMPER_E_USAGE for a digest that is not sha256 in lowercase hex,
 * or an identity that is empty, over SIGN_IDENTITY_MAX_BYTES, not UTF-8,
 * or holding a control character (C0, DEL, C1).
 */
int sign_payload_build(const char *identity, const char *digest, char **out, size_t *len,
                       struct temper_err *err);

/*
 * The signedIdentity rules of containers-policy.json(5), as containers/image
 * applies them to a signature's identity (sign_identity.c):
 *  - matchExact: the image's reference and the signed one are equal, tag or
 *    digest included, and neither is a bare repository;
 *  - matchRepoDigestOrExact (containers/image's default): as matchExact for
 *    an image pulled by tag; for one pulled by digest, any signature of its
 *    repository that names a tag or digest;
 *  - matchRepository: the same repository, whatever the tags (what cosign's
 *    signatures, which name a bare repository, need);
 *  - exactReference, exactRepository: as matchExact and matchRepository, but
 *    against `reference`, not the image's reference;
 *  - remapIdentity: an image whose repository is `prefix` or under it is
 *    taken as if it were under `signed_prefix`, then matchRepoDigestOrExact.
 */
enum sign_identity_match {
    SIGN_MATCH_EXACT,
    SIGN_MATCH_REPO_DIGEST_OR_EXACT,
    SIGN_MATCH_REPOSITORY,
    SIGN_EXACT_REFERENCE,
    SIGN_EXACT_REPOSITORY,
    SIGN_REMAP_IDENTITY,
};

struct sign_identity_rule {
    enum sign_identity_match type;
    const char *reference;     /* exactReference, exactRepository */
    const char *prefix;        /* remapIdentity */
    const char *signed_prefix; /* remapIdentity */
};

/*
 * Whether `signed_identity` (a payload's docker-reference, untrusted) is
 * accepted by `rule` for an image pulled as `image` (REGISTRY/REPO[:TAG]
 * [@DIGEST]; NULL for an image that has no such name, which only the exact*
 * rules can accept). Both are normalized as docker normalizes references;
 * one that does not parse is never accepted.
 */
bool sign_identity_matches(const struct sign_identity_rule *rule, const char *image,
                           const char *signed_identity);

struct sign_payload {
    char *identity; /* critical.identity.docker-reference */
    char *digest;   /* critical.image.docker-manifest-digest */
};

/*
 * Parses a payload (untrusted bytes, not NUL-terminated) as strictly as
 * containers/image does: exactly `critical` and `optional` at the top
 * (`optional` null or an object, whose `creator` if any is a string and
 * `timestamp` if any an integer), exactly `identity`, `image` and `type` in
 * `critical`, `type` exactly "cosign container image signature", `identity`
 * holding exactly a string `docker-reference`, `image` exactly a string
 * `docker-manifest-digest`; duplicate keys (at any depth), other keys and
 * miscased keys are refused. Stricter than containers/image in two points,
 * so that whatever parses can be written again by sign_payload_build: the
 * digest must be sha256 and the identity must pass the build's checks.
 * TEMPER_E_SIG says what is wrong; over SIGN_PAYLOAD_MAX_BYTES is
 * TEMPER_E_LIMIT. On failure `out` is untouched.
 */
int sign_payload_parse(const void *buf, size_t len, struct sign_payload *out,
                       struct temper_err *err);
/* Frees the fields and sets them to NULL; NULL-safe. */
void sign_payload_release(struct sign_payload *p);

/*
 * Signatures in an OCI layout, stored the way a registry holds them (so that
 * `temper push` carries them as they are): the manifest tagged
 * "sha256-<hex>.sig" after the signed manifest's digest, with one layer per
 * signature; each layer is a payload blob (media type
 * SIGN_PAYLOAD_MEDIA_TYPE) whose annotation SIGN_ANNOTATION holds the base64
 * signature. Implemented in sign_layout.c.
 */
#define SIGN_PAYLOAD_MEDIA_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define SIGN_ANNOTATION "dev.cosignproject.cosign/signature"

struct oci_layout;

/* The layer descriptor of one signature: the payload's digest and size, the signature as its
 * annotation. */
json_t *sign_signature_layer(const char *payload, size_t len, const char *b64);
/* Whether `layers` holds `layer` already: the same payload digest and the same signature. */
bool sign_has_layer(const json_t *layers, const json_t *layer);
/*
 * The signature manifest whose layers are `layers` (borrowed), as cosign writes it, and its
 * config: the layers' digests as diff_ids, empty architecture and os, the zero time. Both texts
 * owned by the caller; the config is a blob the manifest names. Shared by signing in a layout
 * and by the registry client, which merges signature manifests.
 */
int sign_signature_manifest(json_t *layers, char **config, char **manifest, struct temper_err *err);

/* Writes the tag that holds the signatures of manifest `digest`: "sha256-<hex>.sig". */
void sign_tag_of(const char *digest, char tag[80]);

/*
 * Adds a signature (payload bytes and base64 signature) of manifest `digest`
 * to the layout: the signature manifest gets one more layer, its earlier
 * layers kept in order; the same payload with the same signature is not
 * added twice. Blobs first, then the manifest, then index.json.
 */
int sign_layout_add(struct oci_layout *layout, const char *digest, const char *payload, size_t len,
                    const char *b64, struct temper_err *err);

/*
 * Signs manifest `digest` in the layout for repository `identity` with a
 * private key: the payload, its signature, sign_layout_add. When the layout
 * already holds a signature of that payload (same digest, same identity)
 * that verifies with the key, nothing is added, as cosign skips a duplicate:
 * *added (may be NULL) says which.
 */
int sign_layout_sign(struct oci_layout *layout, const char *digest, const struct sign_key *key,
                     const char *identity, bool *added, struct temper_err *err);

struct sign_entry {
    char *payload; /* the payload blob's bytes (checked against its digest), NUL-terminated */
    size_t len;
    char *signature;   /* the annotation's base64 text */
    char *blob_digest; /* the payload blob's digest */
    char *problem;     /* why this entry cannot count (its payload blob is missing or damaged),
                        * or NULL; payload is NULL then */
};

/*
 * The signatures of manifest `digest` that `src` holds (a layout, or a
 * registry), in the order of the signature manifest's layers; none is
 * *n == 0, not an error. A layer of another media type or without the
 * annotation is skipped; a layer whose payload blob is missing or damaged is
 * listed with its problem, so that it cannot hide the others; a damaged
 * signature manifest is an error.
 */
struct oci_source;
int sign_list(const struct oci_source *src, const char *digest, struct sign_entry **out, size_t *n,
              struct temper_err *err);
void sign_entries_free(struct sign_entry *entries, size_t n);

/*
 * Attestations, as cosign attaches them (its specs/ATTESTATION_SPEC.md) and the in-toto
 * attestation framework and DSSE define them (sign_attest.c):
 *  - the statement: {"_type":"https://in-toto.io/Statement/v0.1","predicateType":TYPE,
 *    "subject":[{"name":NAME,"digest":{"sha256":HEX}}],"predicate":PREDICATE}, the subject
 *    being the image's manifest;
 *  - the DSSE envelope: {"payloadType":"application/vnd.in-toto+json","payload":BASE64,
 *    "signatures":[{"keyid":"","sig":BASE64}]}, each signature over
 *    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body (LEN in decimal
 *    ASCII), with the same key types and encodings as sign_bytes;
 *  - in a layout or a registry: the envelope is a layer (SIGN_ENVELOPE_MEDIA_TYPE, annotations
 *    SIGN_ANNOTATION "" and SIGN_PREDICATE_ANNOTATION TYPE) of the manifest tagged
 *    "sha256-<hex>.att", kept as the signature manifest is.
 */
#define SIGN_ENVELOPE_MEDIA_TYPE "application/vnd.dsse.envelope.v1+json"
#define SIGN_PREDICATE_ANNOTATION "predicateType"
#define SIGN_INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define SIGN_PREDICATE_SPDX "https://spdx.dev/Document"

/* PAE(type, body): *out is the caller's (not NUL-terminated; *len bytes). */
void sign_pae(const char *type, const void *body, size_t body_len, char **out, size_t *len);

/*
 * The DSSE envelope of a statement that `predicate` (JSON text of an object, `len` bytes) of
 * type `predicate_type` holds for manifest `digest` of `subject` (a repository name), signed
 * with a private key. *envelope (*envelope_len bytes, NUL-terminated) is the caller's.
 * TEMPER_E_USAGE for a predicate that is not a JSON object, or a digest that is not sha256.
 */
int sign_attest(const struct sign_key *key, const char *subject, const char *digest,
                const char *predicate_type, const char *predicate, size_t len, char **envelope,
                size_t *envelope_len, struct temper_err *err);

/*
 * Opens an envelope (untrusted bytes, not NUL-terminated) as a verifier must: 0 and
 * *predicate (the statement's predicate, the caller's to json_decref) only when one of its
 * signatures holds for `key` over PAE of its payload type and payload, the payload type is
 * in-toto's, the payload is a statement (in-toto Statement v0.1 or v1, duplicate keys refused)
 * of predicate type `predicate_type`, and one of its subjects has sha256 digest `digest`.
 * Otherwise TEMPER_E_SIG says which of these fails (TEMPER_E_LIMIT over
 * SIGN_ENVELOPE_MAX_BYTES or SIGN_LAYERS_MAX signatures).
 */
int sign_attestation_open(const struct sign_key *key, const char *envelope, size_t len,
                          const char *digest, const char *predicate_type, json_t **predicate,
                          struct temper_err *err);

/* The tag of manifest `digest`'s attestations: "sha256-<hex>.att". */
void sign_attestation_tag_of(const char *digest, char tag[80]);
/* The layer descriptor of one envelope. */
json_t *sign_attestation_layer(const char *envelope, size_t len, const char *predicate_type);
/* Adds an envelope to the layout's attestations of `digest`, as sign_layout_add a signature. */
int sign_layout_add_attestation(struct oci_layout *layout, const char *digest, const char *envelope,
                                size_t len, const char *predicate_type, struct temper_err *err);
/*
 * The attestations of manifest `digest` that `src` holds, as sign_list lists signatures: each
 * entry's payload is an envelope, its signature the layer's predicate type ("" when it names
 * none).
 */
int sign_list_attestations(const struct oci_source *src, const char *digest,
                           struct sign_entry **out, size_t *n, struct temper_err *err);

/*
 * Finds an attestation of manifest `digest` in `src` of type `predicate_type` that holds for
 * `key` (sign_attestation_open); *predicate is its predicate. Otherwise TEMPER_E_SIG: the image
 * has none of that type, or the reason each one fails.
 */
int sign_find_attestation(const struct oci_source *src, const char *digest,
                          const struct sign_key *key, const char *predicate_type,
                          json_t **predicate, struct temper_err *err);

#endif
