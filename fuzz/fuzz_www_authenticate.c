/*
 * libFuzzer target for the WWW-Authenticate parser: a registry (or anyone
 * between temper and it) chooses these bytes. Any input must parse to a
 * Basic or Bearer challenge whose fields are NUL-terminated inside their
 * buffers (and a Bearer one has a realm), or fail with TEMPER_E_PARSE or
 * TEMPER_E_LIMIT and a message, never crash, read out of bounds or leak.
 * The input is copied to a buffer of exactly `size` bytes, not
 * NUL-terminated, so a read past it is caught by ASan.
 *
 * Seeds: fuzz/corpus/www_authenticate, made by fuzz/make-corpus.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_www_authenticate: %s\n", what);
    abort();
}

static void
check_field(const char *field, size_t cap, const char *what)
{
    if (memchr(field, '\0', cap) == NULL)
        fail(what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct registry_challenge c;
    struct temper_err err = {0};
    char *copy = malloc(size ? size : 1);

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    memset(&c, 0x5a, sizeof(c));
    if (registry_auth_parse(copy, size, &c, &err) != 0) {
        if (err.code != TEMPER_E_PARSE && err.code != TEMPER_E_LIMIT)
            fail("failed with a code other than TEMPER_E_PARSE or TEMPER_E_LIMIT");
        if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL || err.msg[0] == '\0')
            fail("failure without a message");
        free(copy);
        return 0;
    }
    check_field(c.scheme, sizeof(c.scheme), "scheme not terminated");
    check_field(c.realm, sizeof(c.realm), "realm not terminated");
    check_field(c.service, sizeof(c.service), "service not terminated");
    check_field(c.scope, sizeof(c.scope), "scope not terminated");
    if (strcmp(c.scheme, "Basic") != 0 && strcmp(c.scheme, "Bearer") != 0)
        fail("a scheme other than Basic or Bearer");
    if (strcmp(c.scheme, "Bearer") == 0 && c.realm[0] == '\0')
        fail("Bearer without a realm");
    free(copy);
    return 0;
}
