/*
 * libFuzzer target for what a lock's maker and a build read from outside:
 * the first byte picks the reader, the rest is its input.
 *
 *  0: a lock file (pkg_lock_parse): refused with TEMPER_E_PARSE or
 *     TEMPER_E_LIMIT and a message, or read into a lock whose every package
 *     names a suite of it, and whose packages are sorted by name once each;
 *  1: a Release text (pkg_release_parse): every listed file has a path and a
 *     64-hex digest;
 *  2: a Packages index (pkg_index_add), then the closure of its first
 *     package (pkg_resolve), which must only ever name packages of the index.
 *
 * Seeds: fuzz/corpus/pkg_lock, made by fuzz/make-corpus.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_pkg_lock: %s\n", what);
    abort();
}

static void
check_failure(const struct temper_err *err)
{
    if (err->msg[0] == '\0' || memchr(err->msg, '\0', sizeof(err->msg)) == NULL)
        fail("a failure without a message");
}

static void
lock(const char *text, size_t len)
{
    struct pkg_lock *lock = NULL;
    struct temper_err err = {0};

    if (pkg_lock_parse(text, len, "fuzz", &lock, &err) < 0) {
        if (err.code != TEMPER_E_PARSE && err.code != TEMPER_E_LIMIT)
            fail("a lock refused with another code");
        check_failure(&err);
        if (lock != NULL)
            fail("out-parameter set on failure");
        return;
    }
    for (size_t a = 0; a < lock->narchs; a++) {
        for (size_t i = 0; i < lock->archs[a].n; i++) {
            if (lock->archs[a].packages[i].repository >= lock->nrepositories)
                fail("a package names no suite of the lock");
            if (i > 0 &&
                strcmp(lock->archs[a].packages[i - 1].name, lock->archs[a].packages[i].name) >= 0)
                fail("packages not sorted once each");
        }
    }
    pkg_lock_free(lock);
}

static void
release(const char *text, size_t len)
{
    struct pkg_release r;
    struct temper_err err = {0};

    if (pkg_release_parse(text, len, "fuzz", &r, &err) < 0) {
        check_failure(&err);
        return;
    }
    for (size_t i = 0; i < r.nfiles; i++) {
        if (r.files[i].path[0] == '\0' || strlen(r.files[i].sha256) != 64)
            fail("a Release entry without path or digest");
    }
    pkg_release_release(&r);
}

static void
index_and_resolve(const char *text, size_t len)
{
    struct pkg_index *idx = pkg_index_new();
    struct temper_err err = {0};
    char *copy = malloc(len + 1);
    const struct pkg_package **chosen = NULL;
    size_t n = 0;

    memcpy(copy, text, len);
    copy[len] = '\0';
    if (pkg_index_add(idx, copy, len, 0, "fuzz", &err) == 0 && pkg_index_count(idx) > 0) {
        /* the first stanza's name: the text up to its first newline after "Package: " (in
         * the copy, which the index keeps and which ends in a NUL) */
        const char *p = strstr(copy, "Package: ");
        char name[128];
        size_t k = 0;

        if (p != NULL) {
            for (p += 9; k < sizeof(name) - 1 && *p != '\n' && *p != '\0' && *p != ' '; p++)
                name[k++] = *p;
        }
        name[k] = '\0';
        {
            const char *asked[] = {name};
            struct pkg_request req = {asked, 1, NULL, 0, NULL, NULL, 0};

            if (pkg_resolve(idx, &req, &chosen, &n, &err) == 0) {
                for (size_t i = 0; i < n; i++) {
                    if (chosen[i] == NULL || chosen[i]->name == NULL)
                        fail("a chosen package that is none");
                }
                free(chosen);
            } else {
                check_failure(&err);
            }
        }
    } else if (err.code != TEMPER_E_NONE) {
        check_failure(&err);
    }
    pkg_index_free(idx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        lock((const char *)data + 1, size - 1);
        break;
    case 1:
        release((const char *)data + 1, size - 1);
        break;
    default:
        index_and_resolve((const char *)data + 1, size - 1);
        break;
    }
    return 0;
}
