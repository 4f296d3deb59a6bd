/*
 * sha256: streaming SHA-256 through OpenSSL's EVP interface (about four
 * times faster than coreutils here), with OCI's "sha256:<hex>" form.
 */
#ifndef TEMPER_BASE_SHA256_H
#define TEMPER_BASE_SHA256_H

#include <stddef.h>

/* "sha256:" + 64 hex digits + NUL */
#define SHA256_DIGEST_STR_LEN 72

struct sha256 {
    void *ctx; /* EVP_MD_CTX */
};

/* Aborts when OpenSSL cannot allocate or has no SHA-256, as xmalloc does. */
void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out and releases the state. */
void sha256_final(struct sha256 *h, char out[SHA256_DIGEST_STR_LEN]);
/* Releases a state that was not finished (NULL-safe on a released one). */
void sha256_release(struct sha256 *h);
/* One-shot. */
void sha256_digest(const void *data, size_t len, char out[SHA256_DIGEST_STR_LEN]);
/* Whether s is "sha256:" followed by exactly 64 lowercase hex digits. */
int sha256_is_digest(const char *s);

#endif
