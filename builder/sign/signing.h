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
 * message. Every error here is TEMPER_E_SIG (or TEMPER_E_IO for files),
 * with a message naming the key file and saying what to do.
 */
#ifndef TEMPER_SIGN_SIGNING_H
#define TEMPER_SIGN_SIGNING_H

#include <stdbool.h>
#include <stddef.h>

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
 * and scrypt when `password` is not NULL) and `prefix`.pub (PEM PUBLIC KEY,
 * mode 0644, O_EXCL too). On failure neither file is left behind.
 */
int sign_keygen(enum sign_key_type type, const char *prefix, const char *password,
                struct temper_err *err);

/*
 * Loads a private key from `path` (a host path). Refused, each with its own
 * message: a file readable by group or others (says `chmod 600 PATH`), a
 * public key, an RSA or other key type, a corrupt PEM, an encrypted key
 * without a password or with a wrong one.
 */
int sign_key_load_private(const char *path, const char *password, struct sign_key **out,
                          struct temper_err *err);
/* Loads a public key (PEM PUBLIC KEY) from `path`; a private key there is refused too. */
int sign_key_load_public(const char *path, struct sign_key **out, struct temper_err *err);
void sign_key_free(struct sign_key *key);
enum sign_key_type sign_key_get_type(const struct sign_key *key);

/*
 * Signs `len` bytes with a private key: ECDSA P-256 over their SHA-256
 * (DER), or Ed25519 over the bytes. *b64 gets the signature in standard
 * base64 with padding, NUL-terminated, owned by the caller.
 */
int sign_bytes(const struct sign_key *key, const void *msg, size_t len, char **b64,
               struct temper_err *err);

/*
 * Checks a base64 signature over `len` bytes with a public key: 0 when it
 * holds; -1 with TEMPER_E_SIG otherwise, the message saying which: not
 * base64, not DER (ECDSA), or a signature that does not verify.
 */
int sign_verify_bytes(const struct sign_key *key, const void *msg, size_t len, const char *b64,
                      struct temper_err *err);

/*
 * The payload that signs manifest `digest` ("sha256:<hex>") for repository
 * `identity` ("registry.example/team/python"): exactly the bytes cosign
 * writes, keys in its order,
 * {"critical":{"identity":{"docker-reference":"..."},"image":{"docker-manifest-digest":"..."},
 *  "type":"cosign container image signature"},"optional":null}
 * *out is NUL-terminated, owned by the caller.
 */
int sign_payload_build(const char *identity, const char *digest, char **out, size_t *len,
                       struct temper_err *err);

struct sign_payload {
    char *identity; /* critical.identity.docker-reference */
    char *digest;   /* critical.image.docker-manifest-digest */
};

/*
 * Parses a payload (untrusted bytes, not NUL-terminated) as strictly as
 * containers/image does: exactly `critical` and `optional` at the top
 * (`optional` null or an object), exactly `identity`, `image` and `type` in
 * `critical`, `type` exactly "cosign container image signature", `identity`
 * holding a string `docker-reference`, `image` holding a string
 * `docker-manifest-digest`; duplicate keys, other keys and miscased keys are
 * refused. TEMPER_E_SIG says what is wrong. At most SIGN_PAYLOAD_MAX_BYTES.
 */
int sign_payload_parse(const void *buf, size_t len, struct sign_payload *out,
                       struct temper_err *err);
void sign_payload_release(struct sign_payload *p);

#endif
