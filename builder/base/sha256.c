#include "sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
die(const char *what)
{
    fprintf(stderr, "temper: sha256: %s failed\n", what);
    abort();
}

void
sha256_init(struct sha256 *h)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL)
        die("EVP_MD_CTX_new");
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        die("EVP_DigestInit_ex");
    h->ctx = ctx;
}

void
sha256_update(struct sha256 *h, const void *data, size_t len)
{
    if (len > 0 && EVP_DigestUpdate(h->ctx, data, len) != 1)
        die("EVP_DigestUpdate");
}

void
sha256_final(struct sha256 *h, char out[SHA256_DIGEST_STR_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;

    if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 || mdlen != sizeof(md))
        die("EVP_DigestFinal_ex");
    sha256_release(h);
    memcpy(out, "sha256:", 7);
    for (size_t i = 0; i < sizeof(md); i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[7 + 2 * i + 1] = hex[md[i] & 15];
    }
    out[7 + 64] = '\0';
}

void
sha256_release(struct sha256 *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

void
sha256_digest(const void *data, size_t len, char out[SHA256_DIGEST_STR_LEN])
{
    struct sha256 h;

    sha256_init(&h);
    sha256_update(&h, data, len);
    sha256_final(&h, out);
}

int
sha256_is_digest(const char *s)
{
    if (strncmp(s, "sha256:", 7) != 0)
        return 0;
    for (size_t i = 0; i < 64; i++) {
        char c = s[7 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return s[7 + 64] == '\0';
}
