/*
 * Unit tests of the registry module's parsers, which take untrusted or
 * user input: references (docker's defaults, ports, tags, digests),
 * WWW-Authenticate challenges (quoting, escapes, caps), the auths of a
 * docker config.json (base64 user:password, and no credential in any
 * message), loopback hosts, upload Locations, origins, token realms,
 * request deadlines, Retry-After values and the repositories of --from. The push protocol itself
 * is tested against a real registry in tests/integration/push_registry.py.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "registry/registry-internal.h"
#include "registry/registry_client.h"
#include "testutil.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- registry_ref_parse ---- */

START_TEST(test_registry_ref_parse_takes_docker_defaults_ports_tags_and_digests)
{
    static const struct {
        const char *text, *registry, *repository, *tag, *digest;
    } cases[] = {
        {"python", "docker.io", "library/python", NULL, NULL},
        {"python:3.11", "docker.io", "library/python", "3.11", NULL},
        {"team/python:v1", "docker.io", "team/python", "v1", NULL},
        {"docker.io/python", "docker.io", "library/python", NULL, NULL},
        {"127.0.0.1:5000/static", "127.0.0.1:5000", "static", NULL, NULL},
        {"127.0.0.1:5000/static:latest", "127.0.0.1:5000", "static", "latest", NULL},
        {"localhost/a/b/c:t", "localhost", "a/b/c", "t", NULL},
        {"localhost:5000/a_b/c-d.e", "localhost:5000", "a_b/c-d.e", NULL, NULL},
        {"registry.example/team/python@sha256:" HEX64, "registry.example", "team/python", NULL,
         "sha256:" HEX64},
        {"r.example:443/x:y@sha256:" HEX64, "r.example:443", "x", "y", "sha256:" HEX64},
        {"[::1]:5000/x", "[::1]:5000", "x", NULL, NULL},
        {"index.docker.io/python", "docker.io", "library/python", NULL, NULL},
        {"Registry.Example/a", "Registry.Example", "a", NULL, NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct registry_ref ref;
        struct temper_err err = {0};

        ck_assert_msg(registry_ref_parse(cases[i].text, &ref, &err) == 0, "%s: %s", cases[i].text,
                      err.msg);
        ck_assert_str_eq(ref.registry, cases[i].registry);
        ck_assert_str_eq(ref.repository, cases[i].repository);
        ck_assert_pstr_eq(ref.tag, cases[i].tag);
        ck_assert_pstr_eq(ref.digest, cases[i].digest);
        registry_ref_release(&ref);
    }
}
END_TEST

START_TEST(test_registry_ref_parse_refuses_bad_references)
{
    static const char *const bad[] = {
        "",
        "Python",
        "127.0.0.1:5000/",
        "127.0.0.1:5000/UPPER",
        "r.example/a//b",
        "r.example/a/",
        "r.example/-a",
        "r.example/a..b",
        "r.example/a:bad tag",
        "r.example/a:-x",
        "r.example/a@sha256:1234",
        ("r.example/a@md5:" HEX64),
        "r.ex ample/a",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct registry_ref ref = {0};
        struct temper_err err = {0};

        ck_assert_msg(registry_ref_parse(bad[i], &ref, &err) == -1, "took '%s'", bad[i]);
        ck_assert_int_eq(err.code, TEMPER_E_USAGE);
        ck_assert_ptr_nonnull(strstr(err.msg, "is not an image reference"));
        ck_assert_ptr_null(ref.registry);
    }
}
END_TEST

/* ---- registry_auth_parse ---- */

static int
parse(const char *header, struct registry_challenge *c, struct temper_err *err)
{
    return registry_auth_parse(header, strlen(header), c, err);
}

START_TEST(test_registry_auth_parse_takes_bearer_and_basic)
{
    struct registry_challenge c;
    struct temper_err err = {0};

    ck_assert_int_eq(parse("Bearer realm=\"https://auth.example/token\",service=\"registry."
                           "example\",scope=\"repository:team/python:pull,push\"",
                           &c, &err),
                     0);
    ck_assert_str_eq(c.scheme, "Bearer");
    ck_assert_str_eq(c.realm, "https://auth.example/token");
    ck_assert_str_eq(c.service, "registry.example");
    ck_assert_str_eq(c.scope, "repository:team/python:pull,push"); /* a comma inside quotes */

    ck_assert_int_eq(parse("bearer  realm = \"https://a/t?x=1\" , service=svc,error=\"invalid_"
                           "token\"",
                           &c, &err),
                     0);
    ck_assert_str_eq(c.scheme, "Bearer");
    ck_assert_str_eq(c.realm, "https://a/t?x=1");
    ck_assert_str_eq(c.service, "svc");
    ck_assert_str_eq(c.scope, "");

    ck_assert_int_eq(parse("Bearer realm=\"https://a/\\\"q\\\\\",scope=\"s\"", &c, &err), 0);
    ck_assert_str_eq(c.realm, "https://a/\"q\\"); /* escaped quote and backslash */

    ck_assert_int_eq(parse("Basic realm=\"Registry Realm\"", &c, &err), 0);
    ck_assert_str_eq(c.scheme, "Basic");
    ck_assert_str_eq(c.realm, "Registry Realm");

    ck_assert_int_eq(parse("Basic", &c, &err), 0);
    ck_assert_str_eq(c.scheme, "Basic");

    /* two challenges: the first is used */
    ck_assert_int_eq(parse("Bearer realm=\"https://a/t\", Basic realm=\"x\"", &c, &err), 0);
    ck_assert_str_eq(c.scheme, "Bearer");
    ck_assert_str_eq(c.realm, "https://a/t");
}
END_TEST

START_TEST(test_registry_auth_parse_refuses_garbage)
{
    static const char *const bad[] = {
        "",
        "   ",
        "Digest realm=\"x\"",
        "Bearer",                           /* no realm */
        "Bearer service=\"s\",scope=\"x\"", /* no realm */
        "Bearer realm=\"https://a/t",       /* unterminated */
        "Bearer realm=\"a\" service=\"b\"", /* no comma */
        "Bearer realm=\"a\x01\"",           /* a control character */
        "Bearer =x",
        "Bearer, realm=x",
        "Bearer\"realm=x",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct registry_challenge c;
        struct temper_err err = {0};

        ck_assert_msg(parse(bad[i], &c, &err) == -1, "took '%s'", bad[i]);
        ck_assert_msg(err.code == TEMPER_E_PARSE, "'%s': code %d", bad[i], err.code);
        ck_assert_ptr_nonnull(strstr(err.msg, "WWW-Authenticate"));
    }
}
END_TEST

START_TEST(test_registry_auth_parse_caps_every_value)
{
    struct registry_challenge c;
    struct temper_err err = {0};
    char header[REGISTRY_CHALLENGE_MAX_BYTES + 64];
    size_t n;

    /* a realm one byte over its field */
    n = (size_t)snprintf(header, sizeof(header), "Bearer realm=\"");
    memset(header + n, 'r', sizeof(c.realm));
    n += sizeof(c.realm);
    memcpy(header + n, "\"", 2);
    ck_assert_int_eq(parse(header, &c, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_ptr_nonnull(strstr(err.msg, "'realm' is over 1023 bytes"));

    /* a service over its field, unquoted */
    n = (size_t)snprintf(header, sizeof(header), "Bearer realm=x,service=");
    memset(header + n, 's', sizeof(c.service));
    header[n + sizeof(c.service)] = '\0';
    ck_assert_int_eq(parse(header, &c, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);

    /* the whole header over its cap */
    memset(header, ' ', sizeof(header));
    memcpy(header, "Bearer realm=x", 14);
    ck_assert_int_eq(registry_auth_parse(header, sizeof(header), &c, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);

    /* a NUL inside */
    ck_assert_int_eq(registry_auth_parse("Bearer realm=x\0y", 16, &c, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
}
END_TEST

/* ---- registry_docker_auth_parse ---- */

/* base64("alice:s3cret:with:colons") */
#define ALICE "YWxpY2U6czNjcmV0OndpdGg6Y29sb25z"

START_TEST(test_registry_docker_auth_parse_decodes_the_entry_of_the_host)
{
    static const char *const configs[] = {
        "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"" ALICE "\"}}}",
        "{\"auths\":{\"other\":{\"auth\":\"eDp5\"},\"https://127.0.0.1:5000/v1/"
        "\":{\"auth\":\"" ALICE "\"}}}",
        "{\"auths\":{\"http://127.0.0.1:5000\":{\"auth\":\"" ALICE "\",\"email\":\"x\"}}}",
    };

    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        char *user = NULL, *password = NULL, *helper = NULL;
        struct temper_err err = {0};

        ck_assert_int_eq(registry_docker_auth_parse(configs[i], strlen(configs[i]),
                                                    "127.0.0.1:5000", &user, &password, &helper,
                                                    &err),
                         1);
        ck_assert_ptr_null(helper);
        ck_assert_str_eq(user, "alice");
        ck_assert_str_eq(password, "s3cret:with:colons");
        free(user);
        free(password);
    }
}
END_TEST

START_TEST(test_registry_docker_auth_parse_maps_docker_io)
{
    const char *config = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" ALICE "\"}}}";
    char *user = NULL, *password = NULL, *helper = NULL;
    struct temper_err err = {0};

    ck_assert_int_eq(registry_docker_auth_parse(config, strlen(config), "docker.io", &user,
                                                &password, &helper, &err),
                     1);
    ck_assert_str_eq(user, "alice");
    free(user);
    free(password);
}
END_TEST

START_TEST(test_registry_docker_auth_parse_finds_nothing_without_an_entry)
{
    static const char *const configs[] = {
        "{}",
        "{\"auths\":{}}",
        "{\"auths\":{\"127.0.0.1:5001\":{\"auth\":\"" ALICE "\"}}}",
        "{\"auths\":{\"127.0.0.1:5000\":{}}}",
        "{\"credsStore\":\"\"}",
        "{\"credHelpers\":{\"gcr.io\":\"gcloud\"}}",
    };

    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        char *user = NULL, *password = NULL, *helper = NULL;
        struct temper_err err = {0};

        ck_assert_int_eq(registry_docker_auth_parse(configs[i], strlen(configs[i]),
                                                    "127.0.0.1:5000", &user, &password, &helper,
                                                    &err),
                         0);
        ck_assert_ptr_null(helper);
        ck_assert_ptr_null(user);
    }
}
END_TEST

START_TEST(test_registry_docker_auth_parse_refuses_malformed_without_quoting_secrets)
{
    static const struct {
        const char *config;
        enum temper_errc code;
    } cases[] = {
        {"not json", TEMPER_E_PARSE},
        {"[]", TEMPER_E_PARSE},
        {"{\"auths\":[]}", TEMPER_E_PARSE},
        /* "alice-s3cret" has no colon */
        {"{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"YWxpY2UtczNjcmV0\"}}}", TEMPER_E_PARSE},
        /* ":s3cret": no user */
        {"{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"OnMzY3JldA==\"}}}", TEMPER_E_PARSE},
        {"{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"czNjcmV0!!!\"}}}", TEMPER_E_PARSE},
        {"{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"czNjcmV0a\"}}}", TEMPER_E_PARSE},
        {"{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"\"}}}", TEMPER_E_PARSE},
        {"{\"credHelpers\":[]}", TEMPER_E_PARSE},
        {"{\"credHelpers\":{\"127.0.0.1:5000\":7}}", TEMPER_E_PARSE},
        {"{\"credsStore\":{}}", TEMPER_E_PARSE},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *user = NULL, *password = NULL, *helper = NULL;
        struct temper_err err = {0};

        ck_assert_msg(registry_docker_auth_parse(cases[i].config, strlen(cases[i].config),
                                                 "127.0.0.1:5000", &user, &password, &helper,
                                                 &err) == -1,
                      "took %s", cases[i].config);
        ck_assert_int_eq(err.code, cases[i].code);
        ck_assert_ptr_null(user);
        ck_assert_ptr_null(strstr(err.msg, "s3cret"));
        ck_assert_ptr_null(strstr(err.msg, "czNjcmV0"));
        ck_assert_ptr_null(strstr(err.msg, "YWxpY2"));
    }
}
END_TEST

/* credHelpers for the host first, then credsStore, then auths: docker's order. */
START_TEST(test_registry_docker_auth_parse_names_the_helper_in_dockers_order)
{
    static const struct {
        const char *config, *registry, *helper;
    } cases[] = {
        {"{\"credHelpers\":{\"127.0.0.1:5000\":\"pass\"},\"credsStore\":\"desktop\","
         "\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"" ALICE "\"}}}",
         "127.0.0.1:5000", "pass"},
        {"{\"credHelpers\":{\"gcr.io\":\"gcloud\"},\"credsStore\":\"desktop\","
         "\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"" ALICE "\"}}}",
         "127.0.0.1:5000", "desktop"},
        {"{\"credHelpers\":{\"https://index.docker.io/v1/\":\"hub\"}}", "docker.io", "hub"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *user = NULL, *password = NULL, *helper = NULL;
        struct temper_err err = {0};

        ck_assert_int_eq(registry_docker_auth_parse(cases[i].config, strlen(cases[i].config),
                                                    cases[i].registry, &user, &password, &helper,
                                                    &err),
                         1);
        ck_assert_str_eq(helper, cases[i].helper);
        ck_assert_ptr_null(user);
        free(helper);
    }
}
END_TEST

/* A helper that is not there, one that answers, one that has nothing, one that answers garbage,
 * one with a name that could leave PATH: each as docker-credential-helpers' protocol says. */
START_TEST(test_registry_credential_helper_speaks_the_protocol)
{
    static const struct {
        const char *name, *script;
        int rc;
        const char *says;
    } cases[] = {
        {"ok",
         "read s; [ \"$s\" = 127.0.0.1:5000 ] && "
         "echo '{\"ServerURL\":\"x\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}'",
         1, NULL},
        {"none", "echo 'credentials not found in native keychain'; exit 1", 0, NULL},
        {"bad", "echo 'not json'", -1, "not its protocol"},
        {"token", "echo '{\"Username\":\"<token>\",\"Secret\":\"s3cret\"}'", -1, "identity token"},
        {"broken", "echo 'the keychain is locked'; exit 3", -1,
         "failed (exit status 3): the keychain is locked"},
        {"missing", NULL, -1, "not on PATH"},
        {"../ok", NULL, -1, "not a program name"},
    };
    cleanup_free char *path = NULL, *was = xstrdup(getenv("PATH") ? getenv("PATH") : "/bin");

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_free char *file = xasprintf("bin/docker-credential-%s", cases[i].name);
        cleanup_free char *text = NULL;

        if (cases[i].script == NULL)
            continue;
        text = xasprintf("#!/bin/sh\n[ \"$1\" = get ] || exit 9\n%s\n", cases[i].script);
        testutil_write(file, text, strlen(text));
        ck_assert_int_eq(chmod(testutil_path(file), 0755), 0);
    }
    path = xasprintf("%s:%s", testutil_path("bin"), was);
    setenv("PATH", path, 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *user = NULL, *password = NULL;
        struct temper_err err = {0};
        int rc =
            registry_credential_helper(cases[i].name, "127.0.0.1:5000", &user, &password, &err);

        ck_assert_msg(rc == cases[i].rc, "%s: %d %s", cases[i].name, rc, err.msg);
        if (rc == 1) {
            ck_assert_str_eq(user, "alice");
            ck_assert_str_eq(password, "s3cret");
        } else {
            ck_assert_ptr_null(user);
        }
        if (cases[i].says != NULL)
            ck_assert_msg(strstr(err.msg, cases[i].says) != NULL, "%s: %s", cases[i].name, err.msg);
        ck_assert_ptr_null(strstr(err.msg, "s3cret"));
        free(user);
        free(password);
    }
    setenv("PATH", was, 1); /* Check may run the next test in this process */
}
END_TEST

/* ---- registry_host_is_loopback, registry_upload_url ---- */

START_TEST(test_registry_host_is_loopback_takes_only_loopback)
{
    ck_assert(registry_host_is_loopback("localhost"));
    ck_assert(registry_host_is_loopback("127.0.0.1"));
    ck_assert(registry_host_is_loopback("127.1.2.3"));
    ck_assert(registry_host_is_loopback("::1"));
    ck_assert(registry_host_is_loopback("[::1]"));
    ck_assert(!registry_host_is_loopback("127.0.0.1.example"));
    ck_assert(!registry_host_is_loopback("128.0.0.1"));
    ck_assert(!registry_host_is_loopback("127.0.0.256"));
    ck_assert(!registry_host_is_loopback("localhost.example"));
    ck_assert(!registry_host_is_loopback("registry.example"));
    ck_assert(!registry_host_is_loopback(""));
}
END_TEST

START_TEST(test_registry_upload_url_resolves_locations)
{
    static const struct {
        const char *location, *url;
    } cases[] = {
        {"/v2/x/blobs/uploads/u1", "http://h:5/v2/x/blobs/uploads/u1?digest=sha256:d"},
        {"/v2/x/blobs/uploads/u1?_state=abc",
         "http://h:5/v2/x/blobs/uploads/u1?_state=abc&digest=sha256:d"},
        {"http://h:5/v2/x/u?s=1", "http://h:5/v2/x/u?s=1&digest=sha256:d"},
        {"https://cdn.example/u", "https://cdn.example/u?digest=sha256:d"},
        {"", NULL},
        {"relative/path", NULL},
        {"//evil.example/u", NULL},
        {"ftp://h/u", NULL},
        {"/v2/x\r\nInjected: 1", NULL},
        {"/v2/x y", NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *url = registry_upload_url("http://h:5", cases[i].location, "sha256:d");

        ck_assert_pstr_eq(url, cases[i].url);
        free(url);
    }
}
END_TEST

/* A redirect to storage is taken as it is (its query is its signature), never downgraded. */
START_TEST(test_registry_resolve_location_keeps_a_redirect_whole)
{
    static const struct {
        const char *base, *location, *url;
    } cases[] = {
        {"https://h:5", "https://s3.example/b/d?X-Amz-Signature=ab%2F",
         "https://s3.example/b/d?X-Amz-Signature=ab%2F"},
        {"https://h:5", "/v2/x/blobs/sha256:d", "https://h:5/v2/x/blobs/sha256:d"},
        {"https://h:5", "http://s3.example/b/d", NULL},
        {"https://h:5", "https://s3.example/b/d#frag", NULL},
        {"https://h:5", "file:///etc/passwd", NULL},
        /* C1 controls, bare and UTF-8 encoded: a URL is ASCII, and messages show it */
        {"https://h:5",
         "https://s3.example/\x9b"
         "2J",
         NULL},
        {"https://h:5",
         "https://s3.example/\xc2\x9b"
         "2J",
         NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *url = registry_resolve_location(cases[i].base, cases[i].location);

        ck_assert_pstr_eq(url, cases[i].url);
        free(url);
    }
}
END_TEST

START_TEST(test_registry_upload_url_refuses_downgrades_and_fragments)
{
    static const struct {
        const char *base, *location, *url;
    } cases[] = {
        /* an https registry's Location may not go down to plain http on another host */
        {"https://h:5", "http://cdn.example/u", NULL},
        {"https://h:5", "HTTP://cdn.example/u", NULL},
        {"https://h:5", "http://127.0.0.1:9/u", NULL}, /* loopback, but the registry is not */
        {"https://127.0.0.1:5", "http://127.0.0.1:9/u", "http://127.0.0.1:9/u?digest=sha256:d"},
        {"https://h:5", "https://cdn.example/u", "https://cdn.example/u?digest=sha256:d"},
        {"http://h:5", "http://cdn.example/u", "http://cdn.example/u?digest=sha256:d"},
        /* "digest=" would follow the fragment, which is never sent */
        {"https://h:5", "/v2/x/blobs/uploads/u1#frag", NULL},
        {"https://h:5", "https://cdn.example/u?s=1#f", NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *url = registry_upload_url(cases[i].base, cases[i].location, "sha256:d");

        ck_assert_msg((url == NULL) == (cases[i].url == NULL), "%s + %s: %s", cases[i].base,
                      cases[i].location, url ? url : "NULL");
        ck_assert_pstr_eq(url, cases[i].url);
        free(url);
    }
}
END_TEST

/* ---- registry_is_same_origin ---- */

START_TEST(test_registry_is_same_origin_compares_scheme_host_and_port)
{
    static const struct {
        const char *base, *url;
        bool same;
    } cases[] = {
        {"https://reg.example", "https://reg.example/v2/x", true},
        {"https://reg.example", "https://reg.example:443/v2/x", true}, /* the default port */
        {"https://Reg.Example", "HTTPS://REG.EXAMPLE/v2/x", true},     /* case */
        {"http://127.0.0.1:5000", "http://127.0.0.1:5000/v2/x?a=b@c", true},
        {"https://reg.example", "https://reg.example:444/v2/x", false},
        {"https://reg.example", "http://reg.example/v2/x", false},
        {"https://reg.example", "https://reg.example.evil/v2/x", false},
        {"https://reg.example", "https://reg.example@evil/v2/x", false},
        {"https://reg.example", "https://user:pw@reg.example/v2/x", false},
        {"http://127.0.0.1:5000", "http://127.0.0.1:50001/v2/x", false},
        {"http://127.0.0.1:5000", "http://127.0.0.1/v2/x", false},
        {"https://reg.example", "/v2/x", false},
        {"https://reg.example", "not a url", false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(registry_is_same_origin(cases[i].base, cases[i].url) == cases[i].same,
                      "%s vs %s", cases[i].base, cases[i].url);
}
END_TEST

/* ---- registry_realm_check ---- */

START_TEST(test_registry_realm_check_takes_https_and_loopback_http)
{
    static const struct {
        const char *base, *realm;
    } cases[] = {
        {"https://reg.example", "https://auth.example/token"},
        {"https://reg.example", "https://auth.example:8443/token?x=1"},
        {"https://127.0.0.1:5000", "http://127.0.0.1:9/token"},
        {"https://reg.example", "http://localhost/token"},
        {"https://reg.example", "http://[::1]:9/token"},
        /* a registry spoken to over plain http: its own host too */
        {"http://reg.example:5000", "http://reg.example/token"},
        {"http://reg.example:5000", "http://REG.example:5001/token"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct temper_err err = {0};

        ck_assert_msg(registry_realm_check(cases[i].base, "r", cases[i].realm, &err) == 0,
                      "%s, %s: %s", cases[i].base, cases[i].realm, err.msg);
    }
}
END_TEST

START_TEST(test_registry_realm_check_refuses_userinfo_and_foreign_http)
{
    static const struct {
        const char *base, *realm, *why;
    } cases[] = {
        /* hand-parsed, the host looked like 127.0.0.1; libcurl connects to evil.example */
        {"https://reg.example", "http://127.0.0.1:x@evil.example/token", "user name or password"},
        {"https://reg.example", "http://127.0.0.1:x@127.0.0.1/token", "user name or password"},
        {"https://reg.example", "https://user:pw@auth.example/token", "user name or password"},
        {"https://reg.example", "https://@auth.example/token", "user name or password"},
        {"https://reg.example", "http://auth.example/token", "plain http"},
        {"https://reg.example", "http://reg.example/token", "plain http"},
        {"http://127.0.0.1:5000", "http://auth.example/token", "plain http"},
        {"http://reg.example:5000", "http://other.example/token", "plain http"},
        {"https://reg.example", "ftp://auth.example/token", "not an http(s) URL"},
        {"https://reg.example", "Registry Realm", "not an http(s) URL"},
        {"https://reg.example", "/token", "not an http(s) URL"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct temper_err err = {0};

        ck_assert_msg(registry_realm_check(cases[i].base, "reg", cases[i].realm, &err) == -1,
                      "took %s", cases[i].realm);
        ck_assert_int_eq(err.code, TEMPER_E_AUTH);
        ck_assert_msg(strstr(err.msg, cases[i].why) != NULL, "%s", err.msg);
        ck_assert_ptr_nonnull(strstr(err.msg, "registry 'reg': token realm '"));
    }
}
END_TEST

/* ---- registry_request_timeout_ms ---- */

START_TEST(test_registry_request_timeout_ms_grows_with_the_upload)
{
    ck_assert_int_eq(registry_request_timeout_ms(0), REGISTRY_REQUEST_DEADLINE_MS);
    ck_assert_int_eq(registry_request_timeout_ms(REGISTRY_UPLOAD_MIN_BYTES_PER_S - 1),
                     REGISTRY_REQUEST_DEADLINE_MS);
    ck_assert_int_eq(registry_request_timeout_ms(100 * (uint64_t)REGISTRY_UPLOAD_MIN_BYTES_PER_S),
                     REGISTRY_REQUEST_DEADLINE_MS + 100000);
    /* 1 GiB at 64 KiB/s: 16384 s more */
    ck_assert_int_eq(registry_request_timeout_ms((uint64_t)1 << 30),
                     REGISTRY_REQUEST_DEADLINE_MS + 16384000L);
    ck_assert(registry_request_timeout_ms(UINT64_MAX) > REGISTRY_REQUEST_DEADLINE_MS);
}
END_TEST

/* ---- registry_retry_after_s ---- */

/* Wed, 21 Oct 2015 07:28:00 GMT */
#define WHEN ((time_t)1445412480)

START_TEST(test_registry_retry_after_s_takes_seconds_and_http_dates)
{
    ck_assert_int_eq(registry_retry_after_s("0", WHEN), 0);
    ck_assert_int_eq(registry_retry_after_s("120", WHEN), 120);
    ck_assert_int_eq(registry_retry_after_s("99999999999999999999", WHEN), 999999999L);
    /* RFC 9110's three forms of an HTTP-date, 90 s after `now` */
    ck_assert_int_eq(registry_retry_after_s("Wed, 21 Oct 2015 07:29:30 GMT", WHEN), 90);
    ck_assert_int_eq(registry_retry_after_s("Wednesday, 21-Oct-15 07:29:30 GMT", WHEN), 90);
    ck_assert_int_eq(registry_retry_after_s("Wed Oct 21 07:29:30 2015", WHEN), 90);
    /* a date passed already: no wait */
    ck_assert_int_eq(registry_retry_after_s("Wed, 21 Oct 2015 07:00:00 GMT", WHEN), 0);
    /* far ahead: the caller caps it, as it does the seconds */
    ck_assert_int_eq(registry_retry_after_s("Fri, 01 Jan 2100 00:00:00 GMT", WHEN), 999999999L);
}
END_TEST

START_TEST(test_registry_retry_after_s_refuses_other_values)
{
    static const char *const bad[] = {"",  "-1",   "1.5",  "12abc",
                                      " ", "soon", "0x10", "Wed, 32 Foo 2015 99:99:99 GMT"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(registry_retry_after_s(bad[i], WHEN) == -1, "'%s' was taken", bad[i]);
}
END_TEST

/* ---- registry_mount_source ---- */

START_TEST(test_registry_mount_source_names_a_repository_of_the_target_registry)
{
    static const struct {
        const char *target, *from, *repository;
    } cases[] = {
        {"127.0.0.1:5000/app:v1", "team/base", "team/base"},
        {"127.0.0.1:5000/app", "127.0.0.1:5000/team/base", "team/base"},
        {"127.0.0.1:5000/app", "base", "base"},
        {"python", "debian", "library/debian"},
        {"docker.io/team/app", "docker.io/debian", "library/debian"},
        {"registry.example/x", "registry.example/a.b/c", "a.b/c"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct registry_ref ref = {0};
        struct temper_err err;
        char *repo = NULL;

        ck_assert_int_eq(registry_ref_parse(cases[i].target, &ref, &err), 0);
        ck_assert_msg(registry_mount_source(&ref, cases[i].from, &repo, &err) == 0, "%s: %s",
                      cases[i].from, err.msg);
        ck_assert_str_eq(repo, cases[i].repository);
        free(repo);
        registry_ref_release(&ref);
    }
}
END_TEST

START_TEST(test_registry_mount_source_refuses_other_registries_tags_and_bad_names)
{
    static const struct {
        const char *from, *why;
    } cases[] = {
        {"ghcr.io/team/base", "within one registry"},
        {"127.0.0.1:5001/base", "within one registry"},
        {"localhost/base", "within one registry"},
        {"team/base:latest", "without a tag or digest"},
        {"team/base@sha256:" HEX64, "without a tag or digest"},
        {"Team/Base", "not a repository"},
        {"", "not a repository"},
        {"team//base", "not a repository"},
    };
    struct registry_ref ref = {0};

    ck_assert_int_eq(registry_ref_parse("127.0.0.1:5000/app", &ref, &(struct temper_err){0}), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct temper_err err;
        char *repo = NULL;

        ck_assert_int_eq(registry_mount_source(&ref, cases[i].from, &repo, &err), -1);
        ck_assert_ptr_null(repo);
        ck_assert_int_eq(err.code, TEMPER_E_USAGE);
        ck_assert_msg(strstr(err.msg, cases[i].why) != NULL, "%s", err.msg);
        ck_assert_msg(strstr(err.msg, cases[i].from) != NULL, "%s", err.msg);
    }
    registry_ref_release(&ref);
}
END_TEST

static Suite *
registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc;

    tc = tcase_create("registry_ref_parse");
    tcase_add_test(tc, test_registry_ref_parse_takes_docker_defaults_ports_tags_and_digests);
    tcase_add_test(tc, test_registry_ref_parse_refuses_bad_references);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_auth_parse");
    tcase_add_test(tc, test_registry_auth_parse_takes_bearer_and_basic);
    tcase_add_test(tc, test_registry_auth_parse_refuses_garbage);
    tcase_add_test(tc, test_registry_auth_parse_caps_every_value);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_docker_auth_parse");
    tcase_add_test(tc, test_registry_docker_auth_parse_decodes_the_entry_of_the_host);
    tcase_add_test(tc, test_registry_docker_auth_parse_maps_docker_io);
    tcase_add_test(tc, test_registry_docker_auth_parse_finds_nothing_without_an_entry);
    tcase_add_test(tc, test_registry_docker_auth_parse_refuses_malformed_without_quoting_secrets);
    tcase_add_test(tc, test_registry_docker_auth_parse_names_the_helper_in_dockers_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_credential_helper");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_registry_credential_helper_speaks_the_protocol);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_host_is_loopback");
    tcase_add_test(tc, test_registry_host_is_loopback_takes_only_loopback);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_upload_url");
    tcase_add_test(tc, test_registry_upload_url_resolves_locations);
    tcase_add_test(tc, test_registry_upload_url_refuses_downgrades_and_fragments);
    tcase_add_test(tc, test_registry_resolve_location_keeps_a_redirect_whole);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_is_same_origin");
    tcase_add_test(tc, test_registry_is_same_origin_compares_scheme_host_and_port);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_realm_check");
    tcase_add_test(tc, test_registry_realm_check_takes_https_and_loopback_http);
    tcase_add_test(tc, test_registry_realm_check_refuses_userinfo_and_foreign_http);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_request_timeout_ms");
    tcase_add_test(tc, test_registry_request_timeout_ms_grows_with_the_upload);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_retry_after_s");
    tcase_add_test(tc, test_registry_retry_after_s_takes_seconds_and_http_dates);
    tcase_add_test(tc, test_registry_retry_after_s_refuses_other_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_mount_source");
    tcase_add_test(tc, test_registry_mount_source_names_a_repository_of_the_target_registry);
    tcase_add_test(tc, test_registry_mount_source_refuses_other_registries_tags_and_bad_names);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(registry_suite());
}
