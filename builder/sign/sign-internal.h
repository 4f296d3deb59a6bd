/*
 * What the sign module's files share and nothing else sees.
 */
#ifndef TEMPER_SIGN_INTERNAL_H
#define TEMPER_SIGN_INTERNAL_H

#include <stddef.h>

/*
 * Decodes standard base64 with padding, and only its canonical spelling (sign_keys.c): a length
 * that is a multiple of 4, no whitespace, '=' only as the last one or two characters, zero in
 * the bits the padding leaves over. `out` has room for len / 4 * 3 bytes. -1 for anything else.
 */
int sign_b64_decode(const char *s, size_t len, unsigned char *out, size_t *outlen);

#endif
