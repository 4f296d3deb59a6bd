/*
 * libFuzzer target for the reader of a docker config.json's `auths`: the
 * file may have been written by anyone who could write the user's home.
 * Any input must give credentials for the host (a non-empty user name and
 * a password, both NUL-terminated), nothing, or TEMPER_E_PARSE or
 * TEMPER_E_LIMIT with a message; never crash, read out of bounds or leak.
 *
 * Seeds: fuzz/corpus/docker_config, made by fuzz/make-corpus.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_docker_config: %s\n", what);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const hosts[] = {"127.0.0.1:5000", "docker.io", "registry.example"};
    char *copy = malloc(size ? size : 1);

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        char *user = NULL, *password = NULL, *helper = NULL;
        struct temper_err err = {0};
        int rc = registry_docker_auth_parse(copy, size, hosts[i], &user, &password, &helper, &err);

        if (rc < 0) {
            if (err.code != TEMPER_E_PARSE && err.code != TEMPER_E_LIMIT)
                fail("failed with a code other than TEMPER_E_PARSE or TEMPER_E_LIMIT");
            if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL || err.msg[0] == '\0')
                fail("failure without a message");
            if (user != NULL || password != NULL || helper != NULL)
                fail("out-parameters set on failure");
        } else if (rc == 0) {
            if (user != NULL || password != NULL || helper != NULL)
                fail("credentials without an entry");
        } else if (rc != 1 || (helper == NULL) == (user == NULL) ||
                   (helper == NULL && (password == NULL || user[0] == '\0')) ||
                   (helper != NULL && helper[0] == '\0')) {
            fail("an entry without either a helper, or a user name and a password");
        }
        free(user);
        free(password);
        free(helper);
    }
    free(copy);
    return 0;
}
