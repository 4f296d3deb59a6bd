/*
 * Unit tests of the sign module: key files (modes, refusal to overwrite,
 * encryption with scrypt), the checks on keys loaded (file mode, type,
 * curve, password), signatures (round trips, forgeries that must fail,
 * base64 and DER strictness), interoperation with the openssl command line
 * in both directions, and the payload's exact bytes and strict parsing.
 *
 * Every refusal asserts the error code, a distinctive part of the message,
 * and that the message holds no key material (no PEM line, no run of base64,
 * no password).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/limits.h"
#include "sign/signing.h"
#include "testutil.h"

extern char **environ;

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIGEST "sha256:" HEX64
#define IDENTITY "registry.example/team/python"
#define PASSWORD "correct horse battery staple"
/* What cosign writes for IDENTITY and DIGEST. */
#define COSIGN_PAYLOAD                                                                             \
    "{\"critical\":{\"identity\":{\"docker-reference\":\"registry.example/team/python\"},"         \
    "\"image\":{\"docker-manifest-digest\":\"sha256:" HEX64 "\"},"                                 \
    "\"type\":\"cosign container image signature\"},\"optional\":null}"

/* ---- helpers ---- */

/* Paths in the test directory, from a ring of buffers so that a few can be held at once: an
 * argument vector is built right before it is run. */
static const char *
path(const char *rel)
{
    static char ring[32][8192];
    static unsigned next;
    char *buf = ring[next++ % 32];

    snprintf(buf, sizeof(ring[0]), "%s", testutil_path(rel));
    return buf;
}

static bool
exists(const char *rel)
{
    struct stat st;

    return lstat(path(rel), &st) == 0;
}

static char *
read_text(const char *rel)
{
    char *text;
    size_t len;

    testutil_read(path(rel), &text, &len);
    text[len] = '\0'; /* testutil_read allocates one byte more */
    return text;
}

static bool
is_b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

/* No PEM armour, no run of 40 base64 characters (a path in the test directory has shorter
 * runs), no password. */
static void
assert_no_material(const char *msg)
{
    size_t run = 0;

    ck_assert_msg(strstr(msg, "-----BEGIN ") == NULL && strstr(msg, "-----END ") == NULL,
                  "PEM armour in '%s'", msg);
    ck_assert_msg(strstr(msg, PASSWORD) == NULL && strstr(msg, "wrong-password") == NULL,
                  "password in '%s'", msg);
    for (const char *p = msg; *p != '\0'; p++) {
        run = is_b64_char(*p) ? run + 1 : 0;
        ck_assert_msg(run < 40, "base64 run in '%s'", msg);
    }
}

/* No line of the body of the PEM file `rel` (its first 16 characters) in msg. */
static void
assert_no_line_of(const char *msg, const char *rel)
{
    char *text = read_text(rel);

    for (char *line = text, *end; *line != '\0'; line = *end != '\0' ? end + 1 : end) {
        char chunk[17];

        end = strchrnul(line, '\n');
        if (strncmp(line, "-----", 5) == 0 || end - line < 16)
            continue;
        memcpy(chunk, line, 16);
        chunk[16] = '\0';
        ck_assert_msg(strstr(msg, chunk) == NULL, "key line '%s' in '%s'", chunk, msg);
    }
    free(text);
}

static void
check_err(const struct temper_err *err, enum temper_errc code, const char *part)
{
    ck_assert_msg(err->code == code, "code %d, not %d: '%s'", err->code, code, err->msg);
    ck_assert_msg(strstr(err->msg, part) != NULL, "'%s' does not say '%s'", err->msg, part);
    assert_no_material(err->msg);
}

static void
keygen(enum sign_key_type type, const char *prefix_rel, const char *password)
{
    struct temper_err err;

    ck_assert_msg(sign_keygen(type, path(prefix_rel), password, &err) == 0, "%s", err.msg);
}

static struct sign_key *
load_private(const char *rel, const char *password)
{
    struct sign_key *key = NULL;
    struct temper_err err;

    ck_assert_msg(sign_key_load_private(path(rel), password, &key, &err) == 0, "%s", err.msg);
    return key;
}

static struct sign_key *
load_public(const char *rel)
{
    struct sign_key *key = NULL;
    struct temper_err err;

    ck_assert_msg(sign_key_load_public(path(rel), &key, &err) == 0, "%s", err.msg);
    return key;
}

/* Loading `rel` as a private key fails with code and part; *key stays as it was. */
static void
refuse_private(const char *rel, const char *password, enum temper_errc code, const char *part)
{
    struct sign_key *key = (struct sign_key *)&key;
    struct temper_err err = {0};

    ck_assert_int_eq(sign_key_load_private(path(rel), password, &key, &err), -1);
    ck_assert_ptr_eq(key, (struct sign_key *)&key);
    check_err(&err, code, part);
    if (exists(rel) && access(path(rel), R_OK) == 0) {
        struct stat st;

        if (stat(path(rel), &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 65536)
            assert_no_line_of(err.msg, rel);
    }
}

static void
refuse_public(const char *rel, enum temper_errc code, const char *part)
{
    struct sign_key *key = (struct sign_key *)&key;
    struct temper_err err = {0};

    ck_assert_int_eq(sign_key_load_public(path(rel), &key, &err), -1);
    ck_assert_ptr_eq(key, (struct sign_key *)&key);
    check_err(&err, code, part);
    assert_no_line_of(err.msg, rel);
}

/* Writes an OpenSSL key as PEM: the private half at rel.key (mode 0600), the public at rel.pub. */
static void
write_pkey(EVP_PKEY *pkey, const char *rel)
{
    char name[256];
    FILE *f;

    snprintf(name, sizeof(name), "%s.key", rel);
    f = fopen(path(name), "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    ck_assert_int_eq(chmod(path(name), 0600), 0);
    snprintf(name, sizeof(name), "%s.pub", rel);
    f = fopen(path(name), "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_PUBKEY(f, pkey), 1);
    fclose(f);
}

static void
write_mode(const char *rel, const char *text, mode_t mode)
{
    testutil_write(rel, text, strlen(text));
    ck_assert_int_eq(chmod(path(rel), mode), 0);
}

/* Runs argv (argv[0] is openssl) with output into files of the test directory: the exit status. */
static int
run(const char *const argv[])
{
    posix_spawn_file_actions_t fa;
    char out[8192], errp[8192];
    pid_t pid;
    int status;

    snprintf(out, sizeof(out), "%s", testutil_path("run.out"));
    snprintf(errp, sizeof(errp), "%s", testutil_path("run.err"));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void
run_ok(const char *const argv[])
{
    if (run(argv) != 0) {
        char *text = read_text("run.err");

        ck_abort_msg("%s %s failed: %s", argv[0], argv[1], text);
    }
}

/* Standard base64 to bytes (out has room for strlen(b64) / 4 * 3). */
static size_t
unbase64(const char *b64, unsigned char *out)
{
    size_t len = strlen(b64);
    int n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);

    ck_assert_int_ge(n, 0);
    if (len >= 1 && b64[len - 1] == '=')
        n--;
    if (len >= 2 && b64[len - 2] == '=')
        n--;
    return (size_t)n;
}

static char *
base64(const unsigned char *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);

    ck_assert_ptr_nonnull(out);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

static char *
sign(const struct sign_key *key, const char *msg)
{
    struct temper_err err;
    char *b64 = NULL;

    ck_assert_msg(sign_bytes(key, msg, strlen(msg), &b64, &err) == 0, "%s", err.msg);
    return b64;
}

static void
verify_ok(const struct sign_key *key, const char *msg, const char *b64)
{
    struct temper_err err;

    ck_assert_msg(sign_verify_bytes(key, msg, strlen(msg), b64, &err) == 0, "%s", err.msg);
}

static void
verify_fails(const struct sign_key *key, const char *msg, const char *b64, const char *part)
{
    struct temper_err err = {0};

    ck_assert_int_eq(sign_verify_bytes(key, msg, strlen(msg), b64, &err), -1);
    check_err(&err, TEMPER_E_SIG, part);
}

/* The DER bytes of the one PEM block in file rel; the caller frees them. */
static unsigned char *
pem_der(const char *rel, long *len)
{
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    FILE *f = fopen(path(rel), "r");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_read(f, &name, &header, &der, len), 1);
    fclose(f);
    OPENSSL_free(name);
    OPENSSL_free(header);
    return der;
}

/* ---- sign_key_type_parse ---- */

START_TEST(test_sign_key_type_parse_takes_the_two_names)
{
    enum sign_key_type type = SIGN_KEY_ED25519;

    ck_assert_int_eq(sign_key_type_parse("ecdsa-p256", &type), 0);
    ck_assert_int_eq(type, SIGN_KEY_ECDSA_P256);
    ck_assert_int_eq(sign_key_type_parse("ed25519", &type), 0);
    ck_assert_int_eq(type, SIGN_KEY_ED25519);
    ck_assert_int_eq(sign_key_type_parse("ECDSA-P256", &type), -1);
    ck_assert_int_eq(sign_key_type_parse("rsa", &type), -1);
    ck_assert_int_eq(sign_key_type_parse("", &type), -1);
    ck_assert_int_eq(sign_key_type_parse(NULL, &type), -1);
    ck_assert_int_eq(type, SIGN_KEY_ED25519);
}
END_TEST

/* ---- sign_keygen ---- */

/* The SubjectPublicKeyInfo prefix of a P-256 key: id-ecPublicKey, prime256v1 (a named curve),
 * then the BIT STRING of 66 bytes holding an uncompressed point (04). */
static const unsigned char p256_spki[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                          0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                          0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
/* id-Ed25519, then the BIT STRING of 33 bytes. */
static const unsigned char ed25519_spki[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                             0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

START_TEST(test_sign_keygen_writes_both_types_with_their_modes_under_any_umask)
{
    static const mode_t masks[] = {0, 022, 077, 0777};
    mode_t old = umask(0);

    for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
        for (int t = 0; t < 2; t++) {
            enum sign_key_type type = t == 0 ? SIGN_KEY_ECDSA_P256 : SIGN_KEY_ED25519;
            char prefix[64], key_rel[80], pub_rel[80];
            struct sign_key *priv, *pub;
            struct stat st;
            unsigned char *der;
            long len;
            char *text;

            snprintf(prefix, sizeof(prefix), "k%zu-%d", i, t);
            snprintf(key_rel, sizeof(key_rel), "%s.key", prefix);
            snprintf(pub_rel, sizeof(pub_rel), "%s.pub", prefix);
            umask(masks[i]);
            keygen(type, prefix, NULL);
            umask(0);
            ck_assert_int_eq(lstat(path(key_rel), &st), 0);
            ck_assert_msg(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600, "mode %o",
                          st.st_mode & 07777);
            ck_assert_int_eq(lstat(path(pub_rel), &st), 0);
            ck_assert_msg(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644, "mode %o",
                          st.st_mode & 07777);

            text = read_text(key_rel);
            ck_assert_msg(strncmp(text,
                                  "-----BEGIN "
                                  "PRIVATE KEY-----\n",
                                  28) == 0,
                          "%s", text);
            free(text);
            der = pem_der(pub_rel, &len);
            if (type == SIGN_KEY_ECDSA_P256) {
                ck_assert_int_eq(len, 91);
                ck_assert_mem_eq(der, p256_spki, sizeof(p256_spki));
            } else {
                ck_assert_int_eq(len, 44);
                ck_assert_mem_eq(der, ed25519_spki, sizeof(ed25519_spki));
            }
            OPENSSL_free(der);

            priv = load_private(key_rel, NULL);
            pub = load_public(pub_rel);
            ck_assert_int_eq(sign_key_get_type(priv), type);
            ck_assert_int_eq(sign_key_get_type(pub), type);
            sign_key_free(priv);
            sign_key_free(pub);
        }
    }
    umask(old);
}
END_TEST

START_TEST(test_sign_keygen_encrypts_with_scrypt_and_aes_256_cbc)
{
    /* OIDs as DER: id-scrypt (1.3.6.1.4.1.11591.4.11), aes256-CBC (2.16.840.1.101.3.4.1.42),
     * PBES2 (1.2.840.113549.1.5.13) and PBKDF2 (1.2.840.113549.1.5.12). */
    static const unsigned char scrypt[] = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x04,
                                           0x01, 0xda, 0x47, 0x04, 0x0b};
    static const unsigned char aes256cbc[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                              0x65, 0x03, 0x04, 0x01, 0x2a};
    static const unsigned char pbes2[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                          0xf7, 0x0d, 0x01, 0x05, 0x0d};
    static const unsigned char pbkdf2[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                           0xf7, 0x0d, 0x01, 0x05, 0x0c};
    struct sign_key *key;
    unsigned char *der;
    long len;
    char *text;

    keygen(SIGN_KEY_ECDSA_P256, "enc", PASSWORD);
    text = read_text("enc.key");
    ck_assert_msg(strncmp(text,
                          "-----BEGIN "
                          "ENCRYPTED PRIVATE KEY-----\n",
                          38) == 0,
                  "%s", text);
    free(text);
    der = pem_der("enc.key", &len);
    ck_assert_ptr_nonnull(memmem(der, (size_t)len, pbes2, sizeof(pbes2)));
    ck_assert_ptr_nonnull(memmem(der, (size_t)len, scrypt, sizeof(scrypt)));
    ck_assert_ptr_nonnull(memmem(der, (size_t)len, aes256cbc, sizeof(aes256cbc)));
    ck_assert_ptr_null(memmem(der, (size_t)len, pbkdf2, sizeof(pbkdf2)));
    OPENSSL_free(der);

    /* The openssl command line reads it with the password. */
    {
        const char *const argv[] = {TEST_OPENSSL, "pkey",           "-in",    path("enc.key"),
                                    "-passin",    "pass:" PASSWORD, "-noout", NULL};

        run_ok(argv);
    }
    key = load_private("enc.key", PASSWORD);
    ck_assert_int_eq(sign_key_get_type(key), SIGN_KEY_ECDSA_P256);
    sign_key_free(key);

    keygen(SIGN_KEY_ED25519, "enc-ed", PASSWORD);
    key = load_private("enc-ed.key", PASSWORD);
    ck_assert_int_eq(sign_key_get_type(key), SIGN_KEY_ED25519);
    sign_key_free(key);
}
END_TEST

START_TEST(test_sign_keygen_never_overwrites)
{
    struct temper_err err = {0};
    char *text;

    /* An existing .key: kept as it was, and no .pub made. */
    write_mode("a.key", "precious\n", 0600);
    ck_assert_int_eq(sign_keygen(SIGN_KEY_ECDSA_P256, path("a"), NULL, &err), -1);
    check_err(&err, TEMPER_E_IO, "a.key' already exists: pick another prefix or remove it");
    ck_assert_int_eq(err.sys_errno, EEXIST);
    text = read_text("a.key");
    ck_assert_str_eq(text, "precious\n");
    free(text);
    ck_assert(!exists("a.pub"));

    /* An existing .pub: kept, and the .key made for it removed again. */
    write_mode("b.pub", "public\n", 0644);
    ck_assert_int_eq(sign_keygen(SIGN_KEY_ED25519, path("b"), NULL, &err), -1);
    check_err(&err, TEMPER_E_IO, "b.pub' already exists: pick another prefix or remove it");
    text = read_text("b.pub");
    ck_assert_str_eq(text, "public\n");
    free(text);
    ck_assert(!exists("b.key"));
}
END_TEST

START_TEST(test_sign_keygen_does_not_follow_symlinks)
{
    struct temper_err err = {0};
    char *text;

    /* A dangling symlink at .key: its target is not created. */
    testutil_symlink("elsewhere.key", "c.key");
    ck_assert_int_eq(sign_keygen(SIGN_KEY_ECDSA_P256, path("c"), NULL, &err), -1);
    check_err(&err, TEMPER_E_IO, "c.key' already exists");
    ck_assert(!exists("elsewhere.key"));
    ck_assert(!exists("c.pub"));

    /* A symlink at .pub to a file: the file is untouched, the .key removed again. */
    write_mode("target.pub", "kept\n", 0644);
    testutil_symlink("target.pub", "d.pub");
    ck_assert_int_eq(sign_keygen(SIGN_KEY_ED25519, path("d"), NULL, &err), -1);
    check_err(&err, TEMPER_E_IO, "d.pub' already exists");
    text = read_text("target.pub");
    ck_assert_str_eq(text, "kept\n");
    free(text);
    ck_assert(!exists("d.key"));
}
END_TEST

START_TEST(test_sign_keygen_leaves_nothing_on_failure)
{
    char long_password[SIGN_PASSWORD_MAX_BYTES + 2];
    struct temper_err err = {0};

    ck_assert_int_eq(sign_keygen(SIGN_KEY_ECDSA_P256, path("missing/dir/k"), NULL, &err), -1);
    check_err(&err, TEMPER_E_IO, "cannot create '");
    ck_assert_int_eq(err.sys_errno, ENOENT);
    ck_assert(!exists("missing"));

    ck_assert_int_eq(sign_keygen(SIGN_KEY_ECDSA_P256, "", NULL, &err), -1);
    check_err(&err, TEMPER_E_USAGE, "the key prefix is empty");
    ck_assert_int_eq(sign_keygen(SIGN_KEY_ECDSA_P256, path("e"), "", &err), -1);
    check_err(&err, TEMPER_E_USAGE, "the key password is empty");
    memset(long_password, 'p', sizeof(long_password) - 1);
    long_password[sizeof(long_password) - 1] = '\0';
    ck_assert_int_eq(sign_keygen(SIGN_KEY_ECDSA_P256, path("e"), long_password, &err), -1);
    check_err(&err, TEMPER_E_USAGE, "the key password is longer than 1024 bytes");
    ck_assert(!exists("e.key"));
    ck_assert(!exists("e.pub"));

    /* 1024 bytes is the longest password, and it works both ways. */
    long_password[SIGN_PASSWORD_MAX_BYTES] = '\0';
    keygen(SIGN_KEY_ED25519, "long", long_password);
    sign_key_free(load_private("long.key", long_password));
}
END_TEST

/* ---- sign_key_load_private ---- */

START_TEST(test_sign_key_load_private_takes_keys_with_or_without_password)
{
    struct sign_key *key;

    keygen(SIGN_KEY_ECDSA_P256, "plain", NULL);
    /* A password given for a key that is not encrypted is not needed, and not an error. */
    key = load_private("plain.key", PASSWORD);
    ck_assert_int_eq(sign_key_get_type(key), SIGN_KEY_ECDSA_P256);
    sign_key_free(key);
    sign_key_free(NULL);

    keygen(SIGN_KEY_ED25519, "enc", PASSWORD);
    refuse_private("enc.key", "wrong-password", TEMPER_E_SIG, "wrong password?");
    refuse_private("enc.key", "", TEMPER_E_SIG, "wrong password?");
    refuse_private("enc.key", NULL, TEMPER_E_SIG, "is encrypted: set TEMPER_KEY_PASSWORD");
    key = load_private("enc.key", PASSWORD);
    ck_assert_int_eq(sign_key_get_type(key), SIGN_KEY_ED25519);
    sign_key_free(key);
}
END_TEST

START_TEST(test_sign_key_load_private_names_the_key_in_each_message)
{
    struct sign_key *key = NULL;
    struct temper_err err = {0};
    char want[8192];

    keygen(SIGN_KEY_ECDSA_P256, "named", PASSWORD);
    ck_assert_int_eq(sign_key_load_private(path("named.key"), "wrong-password", &key, &err), -1);
    snprintf(want, sizeof(want), "cannot decrypt key '%s': wrong password?", path("named.key"));
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(sign_key_load_private(path("named.key"), NULL, &key, &err), -1);
    snprintf(want, sizeof(want), "key '%s' is encrypted: set TEMPER_KEY_PASSWORD",
             path("named.key"));
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(test_sign_key_load_private_refuses_keys_others_can_read)
{
    static const mode_t modes[] = {0640, 0604, 0660, 0602, 0610, 0700 | 04};
    struct sign_key *key;
    char want[8192];

    keygen(SIGN_KEY_ECDSA_P256, "m", NULL);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        ck_assert_int_eq(chmod(path("m.key"), modes[i]), 0);
        snprintf(want, sizeof(want),
                 "key '%s' is readable or writable by group or others (mode %04o): chmod 600 '%s'",
                 path("m.key"), (unsigned)modes[i], path("m.key"));
        refuse_private("m.key", NULL, TEMPER_E_SIG, want);
    }
    /* Owner-only modes are fine. */
    ck_assert_int_eq(chmod(path("m.key"), 0400), 0);
    key = load_private("m.key", NULL);
    sign_key_free(key);

    /* A symlink is followed, and the mode checked is the file's. */
    ck_assert_int_eq(chmod(path("m.key"), 0600), 0);
    testutil_symlink("m.key", "link.key");
    sign_key_free(load_private("link.key", NULL));
    ck_assert_int_eq(chmod(path("m.key"), 0644), 0);
    refuse_private("link.key", NULL, TEMPER_E_SIG, "(mode 0644): chmod 600 '");
}
END_TEST

START_TEST(test_sign_key_load_private_refuses_what_is_not_a_private_key)
{
    char *text;

    /* A public key. */
    keygen(SIGN_KEY_ECDSA_P256, "k", NULL);
    text = read_text("k.pub");
    write_mode("pub-as-key.key", text, 0600);
    free(text);
    refuse_private("pub-as-key.key", NULL, TEMPER_E_SIG,
                   "is a public key; sign with the private key (.key)");

    /* Not PEM, PEM of something else, a cosign key. */
    write_mode("text.key", "hello\n", 0600);
    refuse_private("text.key", NULL, TEMPER_E_SIG, "is not a PEM key: no '-----BEGIN' line");
    write_mode("empty.key", "", 0600);
    refuse_private("empty.key", NULL, TEMPER_E_SIG, "is not a PEM key");
    write_mode("cert.key", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0600);
    refuse_private("cert.key", NULL, TEMPER_E_SIG, "is not a PEM key: it has no PRIVATE KEY block");
    write_mode("cosign.key",
               "-----BEGIN "
               "ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n"
               "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
               0600);
    refuse_private("cosign.key", PASSWORD, TEMPER_E_SIG, "is a cosign key");

    /* Not a file, no file, too big a file. */
    testutil_mkdir("dir.key");
    refuse_private("dir.key", NULL, TEMPER_E_IO, "is not a regular file");
    ck_assert_int_eq(mkfifo(path("fifo.key"), 0600), 0);
    refuse_private("fifo.key", NULL, TEMPER_E_IO, "is not a regular file");
    refuse_private("none.key", NULL, TEMPER_E_IO, "cannot open key '");
}
END_TEST

START_TEST(test_sign_key_load_private_refuses_corrupt_pem)
{
    char *text, *body;

    keygen(SIGN_KEY_ECDSA_P256, "k", NULL);
    text = read_text("k.key");
    /* Change one base64 character inside the key: the DER no longer parses. */
    body = text + strlen("-----BEGIN "
                         "PRIVATE KEY-----\n");
    body[10] = body[10] == 'A' ? 'B' : 'A';
    body[11] = body[11] == 'A' ? 'B' : 'A';
    body[3] = '*';
    write_mode("corrupt.key", text, 0600);
    refuse_private("corrupt.key", NULL, TEMPER_E_SIG, "is not a PEM key: ");
    /* Cut in half. */
    text[strlen(text) / 2] = '\0';
    write_mode("cut.key", text, 0600);
    refuse_private("cut.key", NULL, TEMPER_E_SIG, "is not a PEM key: ");
    free(text);
}
END_TEST

START_TEST(test_sign_key_load_private_caps_the_file)
{
    char *big = malloc(SIGN_KEY_MAX_BYTES + 2);

    ck_assert_ptr_nonnull(big);
    memset(big, 'A', SIGN_KEY_MAX_BYTES + 1);
    big[SIGN_KEY_MAX_BYTES + 1] = '\0';
    write_mode("big.key", big, 0600);
    refuse_private("big.key", NULL, TEMPER_E_LIMIT, "is larger than 65536 bytes");
    /* At the cap exactly it is read, and found not to be PEM. */
    big[SIGN_KEY_MAX_BYTES] = '\0';
    write_mode("cap.key", big, 0600);
    refuse_private("cap.key", NULL, TEMPER_E_SIG, "no '-----BEGIN' line");
    free(big);
}
END_TEST

START_TEST(test_sign_key_load_private_refuses_other_key_types)
{
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");

    ck_assert(rsa != NULL && p384 != NULL && ed448 != NULL);
    write_pkey(rsa, "rsa");
    write_pkey(p384, "p384");
    write_pkey(ed448, "ed448");
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(ed448);
    refuse_private("rsa.key", NULL, TEMPER_E_SIG,
                   "is an RSA key; temper signs with ECDSA P-256 or Ed25519 (temper keygen)");
    refuse_public("rsa.pub", TEMPER_E_SIG, "is an RSA key; temper signs with ECDSA P-256");
    refuse_private("p384.key", NULL, TEMPER_E_SIG, "is an ECDSA key on curve 'secp384r1'");
    refuse_public("p384.pub", TEMPER_E_SIG, "is an ECDSA key on curve 'secp384r1'");
    refuse_private("ed448.key", NULL, TEMPER_E_SIG, "is of type 'ED448'");
    refuse_public("ed448.pub", TEMPER_E_SIG, "is of type 'ED448'");

    /* P-256 spelled out as explicit parameters: Go's x509 refuses it, so temper does. */
    {
        const char *const argv[] = {
            TEST_OPENSSL, "ecparam", "-name", "prime256v1",         "-param_enc", "explicit",
            "-genkey",    "-noout",  "-out",  path("explicit.key"), NULL};

        run_ok(argv);
    }
    ck_assert_int_eq(chmod(path("explicit.key"), 0600), 0);
    refuse_private("explicit.key", NULL, TEMPER_E_SIG, "gives its curve by explicit parameters");
    /* The SEC 1 form ("EC PRIVATE KEY") of a named P-256 key is fine. */
    {
        const char *const argv[] = {TEST_OPENSSL, "ecparam",        "-name",
                                    "prime256v1", "-genkey",        "-noout",
                                    "-out",       path("sec1.key"), NULL};

        run_ok(argv);
    }
    ck_assert_int_eq(chmod(path("sec1.key"), 0600), 0);
    sign_key_free(load_private("sec1.key", NULL));
}
END_TEST

/* ---- the cost of an encrypted key ---- */

/* `openssl pkcs8 -topk8 -v2 aes-256-cbc ARGS` of plain.key (temper keygen, no password) into rel,
 * mode 0600. */
static void
openssl_pkcs8(const char *rel, const char *arg1, const char *arg2, const char *arg3)
{
    const char *const argv[] = {TEST_OPENSSL,
                                "pkcs8",
                                "-topk8",
                                "-in",
                                path("plain.key"),
                                "-out",
                                path(rel),
                                "-passout",
                                "pass:" PASSWORD,
                                "-v2",
                                "aes-256-cbc",
                                arg1,
                                arg2,
                                arg3,
                                NULL};

    if (!exists("plain.key"))
        keygen(SIGN_KEY_ECDSA_P256, "plain", NULL);
    run_ok(argv);
    ck_assert_int_eq(chmod(path(rel), 0600), 0);
}

/*
 * Writes rel: an ENCRYPTED PRIVATE KEY whose algorithm is `pbe` (freed here) over bytes that are
 * no key. Encrypting a real key at such a cost would take minutes: temper must refuse it on its
 * parameters alone, before it derives anything.
 */
static void
write_encrypted_with(const char *rel, X509_ALGOR *pbe)
{
    static const unsigned char not_a_key[144] = {0x42};
    X509_SIG *sig = X509_SIG_new();
    X509_ALGOR *alg;
    ASN1_OCTET_STRING *data;
    FILE *f;

    ck_assert_ptr_nonnull(pbe);
    ck_assert_ptr_nonnull(sig);
    X509_SIG_getm(sig, &alg, &data);
    ck_assert_int_eq(X509_ALGOR_copy(alg, pbe), 1);
    ck_assert_int_eq(ASN1_OCTET_STRING_set(data, not_a_key, sizeof(not_a_key)), 1);
    f = fopen(path(rel), "a"); /* after what the file may hold already */
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_PKCS8(f, sig), 1);
    fclose(f);
    ck_assert_int_eq(chmod(path(rel), 0600), 0);
    X509_SIG_free(sig);
    X509_ALGOR_free(pbe);
}

/* PBES2 with scrypt at N, r, p (beyond what PKCS5_pbe2_set_scrypt itself accepts). */
static X509_ALGOR *
scrypt_pbe(uint64_t n, uint64_t r, uint64_t p)
{
    static const unsigned char salt[16] = {1, 2, 3};
    X509_ALGOR *pbe =
        PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), salt, sizeof(salt), NULL, 16384, 8, 1);
    PBE2PARAM *pbe2;
    SCRYPT_PARAMS *sp;

    ck_assert_ptr_nonnull(pbe);
    pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), pbe->parameter);
    ck_assert_ptr_nonnull(pbe2);
    sp = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), pbe2->keyfunc->parameter);
    ck_assert_ptr_nonnull(sp);
    ck_assert_int_eq(ASN1_INTEGER_set_uint64(sp->costParameter, n), 1);
    ck_assert_int_eq(ASN1_INTEGER_set_uint64(sp->blockSize, r), 1);
    ck_assert_int_eq(ASN1_INTEGER_set_uint64(sp->parallelizationParameter, p), 1);
    ck_assert_ptr_nonnull(
        ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), sp, &pbe2->keyfunc->parameter));
    ck_assert_ptr_nonnull(
        ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBE2PARAM), pbe2, &pbe->parameter));
    SCRYPT_PARAMS_free(sp);
    PBE2PARAM_free(pbe2);
    return pbe;
}

static X509_ALGOR *
pbkdf2_pbe(int iterations)
{
    return PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), iterations, NULL, 0, NULL, NID_hmacWithSHA256);
}

/* refuse_private with TEMPER_E_LIMIT, the key named and the fix said; returns the milliseconds. */
static double
refuse_costly(const char *rel, const char *password, const char *part)
{
    struct timespec t0, t1;
    struct sign_key *key = NULL;
    struct temper_err err = {0};

    clock_gettime(CLOCK_MONOTONIC, &t0);
    refuse_private(rel, password, TEMPER_E_LIMIT, part);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(sign_key_load_private(path(rel), password, &key, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, path(rel)));
    ck_assert_ptr_nonnull(strstr(err.msg, "openssl pkcs8 -topk8"));
    return (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

START_TEST(test_sign_key_load_private_takes_what_openssl_pkcs8_writes)
{
    static const char *const args[][3] = {
        {NULL, NULL, NULL},        /* PBKDF2, 2048 iterations: openssl's default */
        {"-iter", "600000", NULL}, /* OWASP's count for PBKDF2-HMAC-SHA256 */
        {"-scrypt", NULL, NULL},   /* N=16384, r=8, p=1, as temper keygen writes */
    };
    char rel[32];

    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
        struct sign_key *key;

        snprintf(rel, sizeof(rel), "p8-%zu.key", i);
        openssl_pkcs8(rel, args[i][0], args[i][1], args[i][2]);
        key = load_private(rel, PASSWORD);
        ck_assert_int_eq(sign_key_get_type(key), SIGN_KEY_ECDSA_P256);
        sign_key_free(key);
        refuse_private(rel, "wrong-password", TEMPER_E_SIG, "wrong password?");
    }
}
END_TEST

START_TEST(test_sign_key_load_private_refuses_a_costly_kdf_before_running_it)
{
    static const unsigned char salt[8] = {9};
    double ms;

    /* 2^31-1 PBKDF2 iterations: minutes of work if it were run */
    write_encrypted_with("pbkdf2-max.key", pbkdf2_pbe(2147483647));
    ms = refuse_costly("pbkdf2-max.key", PASSWORD, "asks for 2147483647 PBKDF2 iterations");
    ck_assert_msg(ms < 1000, "refused in %.1f ms", ms);
    refuse_costly("pbkdf2-max.key", NULL, "over the 10000000 temper allows");
    /* one over the bound, which never runs either */
    write_encrypted_with("pbkdf2-over.key", pbkdf2_pbe(SIGN_KDF_MAX_ITERATIONS + 1));
    ms = refuse_costly("pbkdf2-over.key", PASSWORD, "asks for 10000001 PBKDF2 iterations");
    ck_assert_msg(ms < 1000, "refused in %.1f ms", ms);
    /* PKCS#12's PBE (openssl pkcs8 -v1 PBE-SHA1-3DES) counts iterations too */
    write_encrypted_with("pkcs12.key", PKCS5_pbe_set(NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
                                                     2147483647, salt, sizeof(salt)));
    refuse_costly("pkcs12.key", PASSWORD, "asks for 2147483647 PBE-SHA1-3DES iterations");
    /* scrypt: N * r * p over the bound (p = 64: 64 times the work of temper keygen) ... */
    write_encrypted_with("scrypt-p.key", scrypt_pbe(16384, 8, 64));
    ms = refuse_costly("scrypt-p.key", PASSWORD, "scrypt with N=16384, r=8, p=64");
    ck_assert_msg(ms < 1000, "refused in %.1f ms", ms);
    /* ... its memory over 32 MiB, and counts that do not fit 64 bits */
    write_encrypted_with("scrypt-mem.key", scrypt_pbe(1u << 20, 1, 1));
    refuse_costly("scrypt-mem.key", PASSWORD, "scrypt with N=1048576, r=1, p=1");
    write_encrypted_with("scrypt-huge.key", scrypt_pbe(UINT64_MAX, UINT64_MAX, UINT64_MAX));
    refuse_costly("scrypt-huge.key", PASSWORD, "scrypt with N=18446744073709551615");
    /* a costly key after another PEM block is found too */
    {
        FILE *f = fopen(path("second.key"), "w");
        EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(PEM_write_PUBKEY(f, pkey), 1);
        fclose(f);
        EVP_PKEY_free(pkey);
    }
    write_encrypted_with("second.key", pbkdf2_pbe(2147483647));
    refuse_costly("second.key", PASSWORD, "asks for 2147483647 PBKDF2 iterations");
}
END_TEST

/* ---- sign_key_load_public ---- */

START_TEST(test_sign_key_load_public_refuses_private_keys_and_compressed_points)
{
    char *text;

    keygen(SIGN_KEY_ECDSA_P256, "k", NULL);
    keygen(SIGN_KEY_ED25519, "enc", PASSWORD);
    /* The mode of a private key is not what the message is about: it is the wrong file. */
    ck_assert_int_eq(chmod(path("k.key"), 0644), 0);
    refuse_public("k.key", TEMPER_E_SIG, "is a private key; verify with the public key (.pub)");
    refuse_public("enc.key", TEMPER_E_SIG, "is a private key; verify with the public key (.pub)");

    {
        const char *const argv[] = {TEST_OPENSSL,    "pkey",       "-in",  path("k.pub"), "-pubin",
                                    "-ec_conv_form", "compressed", "-out", path("c.pub"), NULL};

        run_ok(argv);
    }
    refuse_public("c.pub", TEMPER_E_SIG, "holds a compressed point");

    write_mode("text.pub", "not a key\n", 0644);
    refuse_public("text.pub", TEMPER_E_SIG, "is not a PEM key: no '-----BEGIN' line");
    text = read_text("k.pub");
    text[strlen("-----BEGIN PUBLIC KEY-----\n") + 5] = '*';
    write_mode("corrupt.pub", text, 0644);
    free(text);
    refuse_public("corrupt.pub", TEMPER_E_SIG, "is not a PEM key: ");
}
END_TEST

/* ---- sign_bytes, sign_verify_bytes ---- */

START_TEST(test_sign_bytes_round_trips_both_types)
{
    for (int t = 0; t < 2; t++) {
        enum sign_key_type type = t == 0 ? SIGN_KEY_ECDSA_P256 : SIGN_KEY_ED25519;
        struct sign_key *priv, *pub;
        unsigned char raw[256];
        char *b64, *again;
        size_t n;

        keygen(type, t == 0 ? "ec" : "ed", NULL);
        priv = load_private(t == 0 ? "ec.key" : "ed.key", NULL);
        pub = load_public(t == 0 ? "ec.pub" : "ed.pub");
        b64 = sign(priv, COSIGN_PAYLOAD);
        ck_assert_uint_eq(strlen(b64) % 4, 0);
        ck_assert_ptr_null(strchr(b64, '\n'));
        n = unbase64(b64, raw);
        if (type == SIGN_KEY_ECDSA_P256) {
            ck_assert_int_eq(raw[0], 0x30); /* a DER SEQUENCE */
            ck_assert_uint_le(n, 72);
        } else {
            ck_assert_uint_eq(n, 64);
        }
        verify_ok(pub, COSIGN_PAYLOAD, b64);
        verify_ok(priv, COSIGN_PAYLOAD, b64); /* the public half of a private key */
        verify_fails(pub, COSIGN_PAYLOAD " ", b64, "does not verify");
        again = sign(priv, COSIGN_PAYLOAD);
        verify_ok(pub, COSIGN_PAYLOAD, again);
        /* Ed25519 is deterministic; ECDSA is not (a fresh nonce each time). */
        ck_assert_int_eq(strcmp(b64, again) == 0, type == SIGN_KEY_ED25519);
        free(again);
        /* The empty message can be signed too. */
        again = sign(priv, "");
        verify_ok(pub, "", again);
        verify_fails(pub, "x", again, "does not verify");
        free(again);
        free(b64);
        sign_key_free(priv);
        sign_key_free(pub);
    }
}
END_TEST

START_TEST(test_sign_verify_bytes_refuses_forgeries)
{
    struct sign_key *ec, *ec2, *ed, *ed2, *ec_pub;
    char *ec_sig, *ed_sig;
    char tampered[] = COSIGN_PAYLOAD;
    struct temper_err err = {0};
    char *b64 = NULL;

    keygen(SIGN_KEY_ECDSA_P256, "ec", NULL);
    keygen(SIGN_KEY_ECDSA_P256, "ec2", NULL);
    keygen(SIGN_KEY_ED25519, "ed", NULL);
    keygen(SIGN_KEY_ED25519, "ed2", NULL);
    ec = load_private("ec.key", NULL);
    ec2 = load_public("ec2.pub");
    ed = load_private("ed.key", NULL);
    ed2 = load_public("ed2.pub");
    ec_pub = load_public("ec.pub");
    ec_sig = sign(ec, COSIGN_PAYLOAD);
    ed_sig = sign(ed, COSIGN_PAYLOAD);

    /* One digit of the digest changed. */
    tampered[strlen(tampered) - 80] ^= 1;
    verify_fails(ec, tampered, ec_sig, "does not verify with this key");
    verify_fails(ed, tampered, ed_sig, "does not verify with this key");
    /* Another key of the same type, and of the other type. */
    verify_fails(ec2, COSIGN_PAYLOAD, ec_sig, "does not verify with this key");
    verify_fails(ed2, COSIGN_PAYLOAD, ed_sig, "does not verify with this key");
    verify_fails(ed2, COSIGN_PAYLOAD, ec_sig, "does not verify");
    verify_fails(ec2, COSIGN_PAYLOAD, ed_sig, "is not DER");

    /* A public key cannot sign. */
    ck_assert_int_eq(sign_bytes(ec_pub, "x", 1, &b64, &err), -1);
    check_err(&err, TEMPER_E_USAGE, "cannot sign with a public key");
    ck_assert_ptr_null(b64);

    free(ec_sig);
    free(ed_sig);
    sign_key_free(ec);
    sign_key_free(ec2);
    sign_key_free(ed);
    sign_key_free(ed2);
    sign_key_free(ec_pub);
}
END_TEST

START_TEST(test_sign_verify_bytes_takes_only_canonical_base64_and_der)
{
    struct sign_key *ec, *ed;
    unsigned char der[256], ber[260];
    char *sig, *b64, *spaced, *crlf;
    char too_long[SIGN_SIGNATURE_MAX_B64 + 8];
    size_t n;

    keygen(SIGN_KEY_ECDSA_P256, "ec", NULL);
    keygen(SIGN_KEY_ED25519, "ed", NULL);
    ec = load_private("ec.key", NULL);
    ed = load_private("ed.key", NULL);
    sig = sign(ec, COSIGN_PAYLOAD);

    /* Not base64: empty, bad length, bad characters, whitespace, misplaced or missing padding,
     * padding bits that are not zero, the URL-safe alphabet. */
    static const char *const not_b64[] = {
        "",    "YWJ",  "YW=j", "YWJ*", "YWJj\n",   " YWJj", "YWJj ",    "YQ",
        "YQ=", "Y===", "====", "YR==", "YWI=YWJj", "-_-_",  "YWJj\r\n",
    };
    for (size_t i = 0; i < sizeof(not_b64) / sizeof(not_b64[0]); i++) {
        verify_fails(ec, COSIGN_PAYLOAD, not_b64[i], "is not base64");
        verify_fails(ed, COSIGN_PAYLOAD, not_b64[i], "is not base64");
    }
    /* The right signature broken over lines, or with a space. */
    n = strlen(sig);
    spaced = malloc(n + 2);
    crlf = malloc(n + 3);
    ck_assert(spaced != NULL && crlf != NULL);
    snprintf(spaced, n + 2, "%.*s %s", (int)(n / 2), sig, sig + n / 2);
    snprintf(crlf, n + 3, "%.*s\r\n%s", (int)(n / 2), sig, sig + n / 2);
    verify_fails(ec, COSIGN_PAYLOAD, spaced, "is not base64");
    verify_fails(ec, COSIGN_PAYLOAD, crlf, "is not base64");
    free(spaced);
    free(crlf);
    memset(too_long, 'A', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    verify_fails(ec, COSIGN_PAYLOAD, too_long, "over 512 characters of base64");

    /* Base64 of something that is not DER. */
    verify_fails(ec, COSIGN_PAYLOAD, "YWJj", "is not DER");
    /* The same signature in BER: a long-form length where the short form fits. */
    n = unbase64(sig, der);
    ck_assert_int_eq(der[0], 0x30);
    ck_assert_uint_lt(der[1], 0x80);
    ber[0] = 0x30;
    ber[1] = 0x81;
    memcpy(ber + 2, der + 1, n - 1);
    b64 = base64(ber, n + 1);
    verify_fails(ec, COSIGN_PAYLOAD, b64, "is not DER");
    free(b64);
    /* A byte after the DER. */
    memcpy(ber, der, n);
    ber[n] = 0;
    b64 = base64(ber, n + 1);
    verify_fails(ec, COSIGN_PAYLOAD, b64, "is not DER");
    free(b64);
    /* The DER itself still verifies. */
    b64 = base64(der, n);
    verify_ok(ec, COSIGN_PAYLOAD, b64);
    free(b64);

    /* Ed25519: 64 bytes or nothing. */
    verify_fails(ed, COSIGN_PAYLOAD, "YWJj", "it is 3 bytes, an Ed25519 signature is 64");
    free(sig);
    sig = sign(ed, COSIGN_PAYLOAD);
    n = unbase64(sig, der);
    der[n] = 0;
    b64 = base64(der, n + 1);
    verify_fails(ed, COSIGN_PAYLOAD, b64, "it is 65 bytes");
    free(b64);
    free(sig);
    sign_key_free(ec);
    sign_key_free(ed);
}
END_TEST

/* ---- interoperation with the openssl command line ---- */

static void
write_signature(const char *b64, const char *rel)
{
    unsigned char raw[512];
    size_t n = unbase64(b64, raw);

    testutil_write(rel, raw, n);
}

static char *
read_signature_b64(const char *rel)
{
    char *raw;
    size_t len;
    char *b64;

    testutil_read(path(rel), &raw, &len);
    b64 = base64((unsigned char *)raw, len);
    free(raw);
    return b64;
}

START_TEST(test_sign_interop_ecdsa_with_openssl_dgst)
{
    struct sign_key *key, *pub;
    char *b64;

    keygen(SIGN_KEY_ECDSA_P256, "k", NULL);
    key = load_private("k.key", NULL);
    pub = load_public("k.pub");
    testutil_write("payload", COSIGN_PAYLOAD, strlen(COSIGN_PAYLOAD));
    testutil_write("other", COSIGN_PAYLOAD "\n", strlen(COSIGN_PAYLOAD) + 1);

    /* temper signs, openssl verifies (and refuses other bytes). */
    b64 = sign(key, COSIGN_PAYLOAD);
    write_signature(b64, "sig.der");
    free(b64);
    {
        const char *const argv[] = {TEST_OPENSSL,    "dgst",          "-sha256",
                                    "-verify",       path("k.pub"),   "-signature",
                                    path("sig.der"), path("payload"), NULL};

        run_ok(argv);
    }
    {
        const char *const argv[] = {TEST_OPENSSL,    "dgst",        "-sha256",
                                    "-verify",       path("k.pub"), "-signature",
                                    path("sig.der"), path("other"), NULL};

        ck_assert_int_eq(run(argv), 1);
    }

    /* openssl signs with temper's key, temper verifies. */
    {
        const char *const argv[] = {TEST_OPENSSL,     "dgst",          "-sha256",
                                    "-sign",          path("k.key"),   "-out",
                                    path("ossl.der"), path("payload"), NULL};

        run_ok(argv);
    }
    b64 = read_signature_b64("ossl.der");
    verify_ok(pub, COSIGN_PAYLOAD, b64);
    verify_fails(pub, COSIGN_PAYLOAD "\n", b64, "does not verify");
    free(b64);
    sign_key_free(key);
    sign_key_free(pub);
}
END_TEST

START_TEST(test_sign_interop_ed25519_with_openssl_pkeyutl)
{
    struct sign_key *key, *pub;
    char *b64, *ossl;

    keygen(SIGN_KEY_ED25519, "k", NULL);
    key = load_private("k.key", NULL);
    pub = load_public("k.pub");
    testutil_write("payload", COSIGN_PAYLOAD, strlen(COSIGN_PAYLOAD));

    b64 = sign(key, COSIGN_PAYLOAD);
    write_signature(b64, "sig.bin");
    {
        const char *const argv[] = {TEST_OPENSSL,    "pkeyutl",  "-verify",       "-rawin",
                                    "-pubin",        "-inkey",   path("k.pub"),   "-in",
                                    path("payload"), "-sigfile", path("sig.bin"), NULL};

        run_ok(argv);
    }
    {
        const char *const argv[] = {TEST_OPENSSL, "pkeyutl",        "-sign", "-rawin",
                                    "-inkey",     path("k.key"),    "-in",   path("payload"),
                                    "-out",       path("ossl.bin"), NULL};

        run_ok(argv);
    }
    ossl = read_signature_b64("ossl.bin");
    verify_ok(pub, COSIGN_PAYLOAD, ossl);
    /* Ed25519 is deterministic: the same bytes from both. */
    ck_assert_str_eq(ossl, b64);
    free(ossl);
    free(b64);
    sign_key_free(key);
    sign_key_free(pub);
}
END_TEST

/* ---- sign_payload_build ---- */

static void
build_ok(const char *identity, const char *digest, const char *want)
{
    struct temper_err err;
    struct sign_payload p = {0};
    char *out = NULL;
    size_t len = 0;

    ck_assert_msg(sign_payload_build(identity, digest, &out, &len, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_str_eq(out, want);
    /* And it reads back to the same fields. */
    ck_assert_msg(sign_payload_parse(out, len, &p, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(p.identity, identity);
    ck_assert_str_eq(p.digest, digest);
    sign_payload_release(&p);
    ck_assert_ptr_null(p.identity);
    sign_payload_release(NULL);
    free(out);
}

static void
build_fails(const char *identity, const char *digest, const char *part)
{
    struct temper_err err = {0};
    char *out = (char *)&out;
    size_t len = 7;

    ck_assert_int_eq(sign_payload_build(identity, digest, &out, &len, &err), -1);
    check_err(&err, TEMPER_E_USAGE, part);
    ck_assert_ptr_eq(out, (char *)&out);
    ck_assert_uint_eq(len, 7);
}

START_TEST(test_sign_payload_build_writes_cosign_bytes)
{
    char longest[SIGN_IDENTITY_MAX_BYTES + 1];
    char *want;
    size_t n;

    build_ok(IDENTITY, DIGEST, COSIGN_PAYLOAD);
    /* Escaped as Go's encoding/json escapes: quote, backslash, HTML characters, U+2028/9;
     * other UTF-8 as it is. */
    build_ok("a\"b\\c<d>e&f\xe2\x80\xa8g\xe2\x80\xa9h\xc3\xa9", DIGEST,
             "{\"critical\":{\"identity\":{\"docker-reference\":"
             "\"a\\\"b\\\\c\\u003cd\\u003ee\\u0026f\\u2028g\\u2029h\xc3\xa9\"},"
             "\"image\":{\"docker-manifest-digest\":\"" DIGEST "\"},"
             "\"type\":\"cosign container image signature\"},\"optional\":null}");
    /* The longest identity. */
    memset(longest, 'r', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    n = strlen(COSIGN_PAYLOAD) - strlen(IDENTITY) + SIGN_IDENTITY_MAX_BYTES + 1;
    want = malloc(n);
    ck_assert_ptr_nonnull(want);
    snprintf(want, n,
             "{\"critical\":{\"identity\":{\"docker-reference\":\"%s\"},\"image\":{\"docker-"
             "manifest-digest\":\"" DIGEST "\"},\"type\":\"cosign container image signature\"},"
             "\"optional\":null}",
             longest);
    build_ok(longest, DIGEST, want);
    free(want);
}
END_TEST

START_TEST(test_sign_payload_build_refuses_bad_arguments)
{
    char too_long[SIGN_IDENTITY_MAX_BYTES + 2];

    build_fails(NULL, DIGEST, "the signed identity is missing");
    build_fails("", DIGEST, "the signed identity is empty");
    build_fails("a\tb", DIGEST, "the signed identity has a control character");
    build_fails("a\nb", DIGEST, "has a control character");
    build_fails("a\x7f", DIGEST, "has a control character");
    build_fails("a\xc2\x85", DIGEST, "has a control character"); /* U+0085, C1 */
    build_fails("a\xff", DIGEST, "the signed identity is not UTF-8");
    build_fails("a\xc0\xaf", DIGEST, "is not UTF-8");         /* overlong '/' */
    build_fails("a\xed\xa0\x80", DIGEST, "is not UTF-8");     /* a surrogate */
    build_fails("a\xf4\x90\x80\x80", DIGEST, "is not UTF-8"); /* above U+10FFFF */
    build_fails("a\xe2\x80", DIGEST, "is not UTF-8");         /* cut short */
    memset(too_long, 'r', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    build_fails(too_long, DIGEST, "the signed identity is longer than 512 bytes");

    build_fails(IDENTITY, NULL, "the signed digest is not 'sha256:' and 64 lowercase hex");
    build_fails(IDENTITY, "", "the signed digest is not");
    build_fails(IDENTITY, HEX64, "the signed digest is not");
    build_fails(IDENTITY, "sha256:" HEX64 "0", "the signed digest is not");
    build_fails(IDENTITY, "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                "the signed digest is not");
    build_fails(IDENTITY, "sha512:" HEX64, "the signed digest is not");
    build_fails(IDENTITY, "sha256:" HEX64 "\"", "the signed digest is not");
}
END_TEST

/* ---- sign_payload_parse ---- */

/* Parses text from a buffer of exactly its length (no terminator for a reader to lean on). */
static int
parse(const char *text, struct sign_payload *p, struct temper_err *err)
{
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    int rc;

    ck_assert_ptr_nonnull(buf);
    memcpy(buf, text, len);
    rc = sign_payload_parse(len > 0 ? buf : NULL, len, p, err);
    free(buf);
    return rc;
}

static void
parse_ok(const char *text, const char *identity, const char *digest)
{
    struct sign_payload p = {0};
    struct temper_err err;

    ck_assert_msg(parse(text, &p, &err) == 0, "%s: %s", text, err.msg);
    ck_assert_str_eq(p.identity, identity);
    ck_assert_str_eq(p.digest, digest);
    sign_payload_release(&p);
}

static void
parse_fails(const char *text, enum temper_errc code, const char *part)
{
    struct sign_payload p = {(char *)&p, (char *)&p};
    struct temper_err err = {0};

    ck_assert_msg(parse(text, &p, &err) == -1, "accepted %s", text);
    check_err(&err, code, part);
    ck_assert_ptr_eq(p.identity, (char *)&p);
    ck_assert_ptr_eq(p.digest, (char *)&p);
}

#define CRIT_IDENTITY "\"identity\":{\"docker-reference\":\"" IDENTITY "\"}"
#define CRIT_IMAGE "\"image\":{\"docker-manifest-digest\":\"" DIGEST "\"}"
#define CRIT_TYPE "\"type\":\"cosign container image signature\""
#define CRITICAL "\"critical\":{" CRIT_IDENTITY "," CRIT_IMAGE "," CRIT_TYPE "}"

START_TEST(test_sign_payload_parse_takes_what_cosign_writes)
{
    parse_ok(COSIGN_PAYLOAD, IDENTITY, DIGEST);
    /* `optional` as cosign writes annotations, with containers/image's two known keys. */
    parse_ok("{" CRITICAL ",\"optional\":{\"creator\":\"cosign\",\"timestamp\":1700000000,"
             "\"env\":\"prod\",\"n\":[1,{\"x\":null}],\"f\":1.5,\"big\":99999999999999999999}}",
             IDENTITY, DIGEST);
    parse_ok("{" CRITICAL ",\"optional\":{}}", IDENTITY, DIGEST);
    parse_ok("{" CRITICAL ",\"optional\":{\"timestamp\":-1.0e3}}", IDENTITY, DIGEST);
    /* Other key orders and whitespace are the same document. */
    parse_ok(" {\n  \"optional\" : null ,\n  \"critical\" : {\"type\":\"cosign container image "
             "signature\", " CRIT_IMAGE ",\t" CRIT_IDENTITY "}\r\n}\n",
             IDENTITY, DIGEST);
    /* Escapes decode. */
    parse_ok("{\"critical\":{\"identity\":{\"docker-reference\":\"r\\u002fa\\u003cb\\/c\"},"
             "" CRIT_IMAGE "," CRIT_TYPE "},\"optional\":null}",
             "r/a<b/c", DIGEST);
}
END_TEST

START_TEST(test_sign_payload_parse_refuses_other_shapes)
{
    static const struct {
        const char *text;
        const char *part;
    } cases[] = {
        /* the top level */
        {"{" CRITICAL ",\"optional\":null,\"extra\":1}",
         "the top level has an unknown key 'extra'"},
        {"{" CRITICAL "}", "the top level has no 'optional'"},
        {"{\"optional\":null}", "the top level has no 'critical'"},
        {"{\"Critical\":{" CRIT_IDENTITY "," CRIT_IMAGE "," CRIT_TYPE "},\"optional\":null}",
         "has key 'Critical': key names are case-sensitive, it must be 'critical'"},
        {"{" CRITICAL ",\"OPTIONAL\":null}", "has key 'OPTIONAL': key names are case-sensitive"},
        {"[" CRITICAL "]", "is not JSON"},
        {"[1]", "the top level is not a JSON object"},
        {"{" CRITICAL ",\"optional\":null}x", "is not JSON"},
        {"{" CRITICAL ",\"optional\":null}{}", "is not JSON"},
        {"", "is not JSON"},
        {"not json", "is not JSON"},
        {"{" CRITICAL ",\"optional\":null", "is not JSON"},
        /* duplicates, at the top and inside */
        {"{" CRITICAL "," CRITICAL ",\"optional\":null}", "duplicate"},
        {"{" CRITICAL ",\"optional\":null,\"optional\":null}", "duplicate"},
        {"{\"critical\":{" CRIT_IDENTITY "," CRIT_IMAGE "," CRIT_TYPE "," CRIT_TYPE
         "},\"optional\":null}",
         "duplicate"},
        {"{" CRITICAL ",\"optional\":{\"a\":1,\"a\":2}}", "duplicate"},
        /* optional */
        {"{" CRITICAL ",\"optional\":\"x\"}", "'optional' is neither null nor an object"},
        {"{" CRITICAL ",\"optional\":[]}", "'optional' is neither null nor an object"},
        {"{" CRITICAL ",\"optional\":false}", "'optional' is neither null nor an object"},
        {"{" CRITICAL ",\"optional\":{\"creator\":1}}", "'optional.creator' is not a string"},
        {"{" CRITICAL ",\"optional\":{\"creator\":null}}", "'optional.creator' is not a string"},
        {"{" CRITICAL ",\"optional\":{\"timestamp\":1.5}}",
         "'optional.timestamp' is not an integer"},
        {"{" CRITICAL ",\"optional\":{\"timestamp\":\"1\"}}",
         "'optional.timestamp' is not an integer"},
        {"{" CRITICAL ",\"optional\":{\"timestamp\":1e19}}",
         "'optional.timestamp' is not an integer"},
        /* critical */
        {"{\"critical\":null,\"optional\":null}", "'critical' is not a JSON object"},
        {"{\"critical\":{" CRIT_IDENTITY "," CRIT_IMAGE "," CRIT_TYPE
         ",\"extra\":{}},\"optional\":null}",
         "'critical' has an unknown key 'extra'"},
        {"{\"critical\":{" CRIT_IMAGE "," CRIT_TYPE "},\"optional\":null}",
         "'critical' has no 'identity'"},
        {"{\"critical\":{" CRIT_IDENTITY "," CRIT_TYPE "},\"optional\":null}",
         "'critical' has no 'image'"},
        {"{\"critical\":{" CRIT_IDENTITY "," CRIT_IMAGE "},\"optional\":null}",
         "'critical' has no 'type'"},
        {"{\"critical\":{" CRIT_IDENTITY "," CRIT_IMAGE ",\"Type\":\"cosign container image "
         "signature\"},\"optional\":null}",
         "has key 'Type': key names are case-sensitive, it must be 'type'"},
        {"{\"critical\":{" CRIT_IDENTITY "," CRIT_IMAGE
         ",\"type\":\"atomic container signature\"},\"optional\":null}",
         "'critical.type' is not 'cosign container image signature'"},
        {"{\"critical\":{" CRIT_IDENTITY "," CRIT_IMAGE
         ",\"type\":\"Cosign container image signature\"},\"optional\":null}",
         "'critical.type' is not"},
        {"{\"critical\":{" CRIT_IDENTITY "," CRIT_IMAGE ",\"type\":1},\"optional\":null}",
         "'critical.type' is not"},
        /* critical.image */
        {"{\"critical\":{" CRIT_IDENTITY ",\"image\":{\"docker-manifest-digest\":7}," CRIT_TYPE
         "},\"optional\":null}",
         "'docker-manifest-digest' in 'critical.image' is not a string"},
        {"{\"critical\":{" CRIT_IDENTITY ",\"image\":{\"docker-manifest-digest\":null}," CRIT_TYPE
         "},\"optional\":null}",
         "'docker-manifest-digest' in 'critical.image' is not a string"},
        {"{\"critical\":{" CRIT_IDENTITY ",\"image\":{\"docker-manifest-digest\":\"sha512:" HEX64
         "\"}," CRIT_TYPE "},\"optional\":null}",
         "'critical.image.docker-manifest-digest' is not 'sha256:' and 64 lowercase hex digits"},
        {"{\"critical\":{" CRIT_IDENTITY ",\"image\":{\"docker-manifest-digest\":\"" DIGEST
         "\",\"size\":1}," CRIT_TYPE "},\"optional\":null}",
         "'critical.image' has an unknown key 'size'"},
        {"{\"critical\":{" CRIT_IDENTITY ",\"image\":{\"Docker-Manifest-Digest\":\"" DIGEST
         "\"}," CRIT_TYPE "},\"optional\":null}",
         "has key 'Docker-Manifest-Digest': key names are case-sensitive"},
        {"{\"critical\":{" CRIT_IDENTITY ",\"image\":\"" DIGEST "\"," CRIT_TYPE
         "},\"optional\":null}",
         "'critical.image' is not a JSON object"},
        /* critical.identity */
        {"{\"critical\":{\"identity\":{\"docker-Reference\":\"" IDENTITY "\"}," CRIT_IMAGE
         "," CRIT_TYPE "},\"optional\":null}",
         "has key 'docker-Reference': key names are case-sensitive, it must be "
         "'docker-reference'"},
        {"{\"critical\":{\"identity\":{}," CRIT_IMAGE "," CRIT_TYPE "},\"optional\":null}",
         "'critical.identity' has no 'docker-reference'"},
        {"{\"critical\":{\"identity\":{\"docker-reference\":[\"x\"]}," CRIT_IMAGE "," CRIT_TYPE
         "},\"optional\":null}",
         "'docker-reference' in 'critical.identity' is not a string"},
        {"{\"critical\":{\"identity\":{\"docker-reference\":\"\"}," CRIT_IMAGE "," CRIT_TYPE
         "},\"optional\":null}",
         "'critical.identity.docker-reference' is empty"},
        {"{\"critical\":{\"identity\":{\"docker-reference\":\"a\\nb\"}," CRIT_IMAGE "," CRIT_TYPE
         "},\"optional\":null}",
         "'critical.identity.docker-reference' has a control character"},
        {"{\"critical\":{\"identity\":{\"docker-reference\":\"a\\u0000b\"}," CRIT_IMAGE
         "," CRIT_TYPE "},\"optional\":null}",
         "is not JSON"},
        {"{\"critical\":{\"identity\":{\"docker-reference\":\"a\xff\"}," CRIT_IMAGE "," CRIT_TYPE
         "},\"optional\":null}",
         "is not JSON"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        parse_fails(cases[i].text, TEMPER_E_SIG, cases[i].part);
}
END_TEST

START_TEST(test_sign_payload_parse_caps_the_size)
{
    /* Padded with spaces to the cap exactly: taken; one byte more: refused before parsing. */
    size_t base = strlen(COSIGN_PAYLOAD);
    char *text = malloc(SIGN_PAYLOAD_MAX_BYTES + 2);

    ck_assert_ptr_nonnull(text);
    memcpy(text, COSIGN_PAYLOAD, base);
    memset(text + base, ' ', SIGN_PAYLOAD_MAX_BYTES + 1 - base);
    text[SIGN_PAYLOAD_MAX_BYTES] = '\0';
    parse_ok(text, IDENTITY, DIGEST);
    text[SIGN_PAYLOAD_MAX_BYTES] = ' ';
    text[SIGN_PAYLOAD_MAX_BYTES + 1] = '\0';
    parse_fails(text, TEMPER_E_LIMIT, "payload is 65537 bytes, over the cap of 65536");
    free(text);
}
END_TEST

/* ---- sign_identity_matches: containers/image's signature/policy_reference_match_test.go ---- */

#define RHEL "registry.access.redhat.com/rhel7/rhel:7.2.3"
#define RHEL_UNTAGGED "registry.access.redhat.com/rhel7/rhel"
#define DIGEST_A "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIGEST_B "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct identity_case {
    const char *a, *b;
    bool result;
};

/* prmExactMatchTestTable (symmetric) */
static const struct identity_case exact_cases[] = {
    {"busybox:latest", "busybox:latest", true},
    {RHEL, RHEL, true},
    {"busybox" DIGEST_A, "busybox" DIGEST_A, true},
    {"library/busybox:latest", "busybox:latest", true},
    {"docker.io/library/busybox:latest", "busybox:latest", true},
    {"library/busybox" DIGEST_A, "busybox" DIGEST_A, true},
    {"busybox:latest", "busybox:notlatest", false},
    {"busybox:latest", "notbusybox:latest", false},
    {"busybox:latest", "hostname/library/busybox:notlatest", false},
    {"hostname/library/busybox:latest", "busybox:notlatest", false},
    {"busybox:latest", RHEL, false},
    {"busybox" DIGEST_A, "notbusybox" DIGEST_A, false},
    {"busybox:latest", "busybox" DIGEST_A, false},
    {"busybox" DIGEST_A, "busybox" DIGEST_B, false},
    {"busybox", "busybox:latest", false},
    {"busybox", "busybox" DIGEST_A, false},
    {"busybox", "busybox", false},
    {"busybox:latest" DIGEST_A, "busybox:latest" DIGEST_A, true},
    {"busybox:latest" DIGEST_A, "busybox:latest" DIGEST_B, false},
    {"busybox:latest" DIGEST_A, "busybox:notlatest" DIGEST_A, false},
    {"busybox:latest" DIGEST_A, "busybox" DIGEST_A, false},
    {"busybox:latest" DIGEST_A, "busybox:latest", false},
    {"UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", false},
    {"", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", false},
    {"INVALID", "INVALID", false},
};

/* prmRepositoryMatchTestTable (symmetric) */
static const struct identity_case repository_cases[] = {
    {"busybox:latest", "busybox:latest", true},
    {RHEL, RHEL, true},
    {"busybox" DIGEST_A, "busybox" DIGEST_A, true},
    {"library/busybox:latest", "busybox:latest", true},
    {"docker.io/library/busybox:latest", "busybox:latest", true},
    {"library/busybox" DIGEST_A, "busybox" DIGEST_A, true},
    {"busybox:latest", "busybox:notlatest", true},
    {RHEL "tagsuffix", RHEL, true},
    {"library/busybox:latest", "busybox:notlatest", true},
    {"busybox:latest", "library/busybox:notlatest", true},
    {"docker.io/library/busybox:notlatest", "busybox:latest", true},
    {"busybox:notlatest", "docker.io/library/busybox:latest", true},
    {"busybox:latest", "busybox" DIGEST_A, true},
    {"busybox" DIGEST_A, "busybox" DIGEST_B, true},
    {"busybox", "busybox:notlatest", true},
    {RHEL, RHEL_UNTAGGED, true},
    {"busybox", "busybox" DIGEST_A, true},
    {"library/busybox", "busybox", true},
    {"docker.io/library/busybox", "busybox", true},
    {"busybox:latest", "notbusybox:latest", false},
    {"hostname/library/busybox:latest", "busybox:notlatest", false},
    {"busybox:latest", RHEL, false},
    {"busybox" DIGEST_A, "notbusybox" DIGEST_A, false},
    {"busybox:latest" DIGEST_A, "busybox:latest" DIGEST_A, true},
    {"busybox:latest" DIGEST_A, "busybox:latest" DIGEST_B, true},
    {"busybox:latest" DIGEST_A, "busybox:notlatest" DIGEST_A, true},
    {"busybox:latest" DIGEST_A, "busybox" DIGEST_A, true},
    {"busybox:latest" DIGEST_A, "busybox:latest", true},
    {"UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", false},
    {"", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", false},
    {"INVALID", "INVALID", false},
    /* what temper pushes and signs: a cosign-style identity names the bare repository */
    {"127.0.0.1:5000/acc/tools:t", "127.0.0.1:5000/acc/tools", true},
    {"127.0.0.1:5000/acc/tools:t", "tools", false},
    {"127.0.0.1:5000/acc/tools:t", "127.0.0.1:5001/acc/tools", false},
    {"python:3.11", "index.docker.io/library/python", true},
    {"localhost:5000/a/b", "localhost:5000/a/b:x", true},
    {"Registry.Example/a", "registry.example/a", false},
    {"[::1]:5000/x:t", "[::1]:5000/x", false},
};

/* matchRepoDigestOrExactTestTable (image, signature) */
static const struct identity_case repo_digest_or_exact_cases[] = {
    {"busybox:latest", "busybox:notlatest", false},
    {RHEL "tagsuffix", RHEL, false},
    {"library/busybox:latest", "busybox:notlatest", false},
    {"busybox:latest", "library/busybox:notlatest", false},
    {"docker.io/library/busybox:notlatest", "busybox:latest", false},
    {"busybox:notlatest", "docker.io/library/busybox:latest", false},
    {"busybox", "busybox:latest", false},
    {"busybox:latest", "busybox", false},
    {"busybox", "busybox" DIGEST_A, false},
    {"busybox" DIGEST_A, "busybox", false},
    {RHEL, RHEL_UNTAGGED, false},
    {"busybox", "busybox", false},
    {"busybox:latest", "busybox" DIGEST_A, false},
    {"busybox" DIGEST_A, "busybox:latest", true},
    {"busybox" DIGEST_A, "busybox" DIGEST_B, true},
    {"busybox:latest" DIGEST_A, "busybox:latest", false},
    {"busybox:latest" DIGEST_A, "busybox:notlatest", false},
    {"busybox:latest", "busybox:latest" DIGEST_A, false},
    {"busybox:latest" DIGEST_A, "busybox:latest" DIGEST_B, false},
    {"busybox:latest" DIGEST_A, "busybox:notlatest" DIGEST_B, false},
};

static void
check_identity_table(enum sign_identity_match type, const struct identity_case *cases, size_t n,
                     bool symmetric, bool only_true, bool only_false)
{
    for (size_t i = 0; i < n; i++) {
        for (int way = 0; way < (symmetric ? 2 : 1); way++) {
            const char *image = way ? cases[i].b : cases[i].a, *sig = way ? cases[i].a : cases[i].b;
            struct sign_identity_rule rule = {type, image, NULL, NULL};

            if ((only_true && !cases[i].result) || (only_false && cases[i].result))
                continue;
            ck_assert_msg(sign_identity_matches(&rule, image, sig) == cases[i].result,
                          "rule %d: image '%s', signed '%s': expected %d", (int)type, image, sig,
                          cases[i].result);
        }
    }
}

#define TABLE(t) (t), sizeof(t) / sizeof((t)[0])

START_TEST(test_sign_identity_matches_exact_rules)
{
    check_identity_table(SIGN_MATCH_EXACT, TABLE(exact_cases), true, false, false);
    check_identity_table(SIGN_EXACT_REFERENCE, TABLE(exact_cases), true, false, false);
}
END_TEST

START_TEST(test_sign_identity_matches_repository_rules)
{
    check_identity_table(SIGN_MATCH_REPOSITORY, TABLE(repository_cases), true, false, false);
    check_identity_table(SIGN_EXACT_REPOSITORY, TABLE(repository_cases), true, false, false);
}
END_TEST

START_TEST(test_sign_identity_matches_repo_digest_or_exact)
{
    /* as the upstream test: what matchExact accepts, what matchRepository refuses, and its own */
    check_identity_table(SIGN_MATCH_REPO_DIGEST_OR_EXACT, TABLE(exact_cases), true, true, false);
    check_identity_table(SIGN_MATCH_REPO_DIGEST_OR_EXACT, TABLE(repository_cases), true, false,
                         true);
    check_identity_table(SIGN_MATCH_REPO_DIGEST_OR_EXACT, TABLE(repo_digest_or_exact_cases), false,
                         false, false);
    /* and remapIdentity with a prefix that never matches is the same rule */
    for (size_t i = 0;
         i < sizeof(repo_digest_or_exact_cases) / sizeof(repo_digest_or_exact_cases[0]); i++) {
        const struct identity_case *c = &repo_digest_or_exact_cases[i];
        struct sign_identity_rule rule = {SIGN_REMAP_IDENTITY, NULL,
                                          "never-causes-a-rewrite.example", "x.example"};

        ck_assert_msg(sign_identity_matches(&rule, c->a, c->b) == c->result, "%s %s", c->a, c->b);
    }
}
END_TEST

START_TEST(test_sign_identity_matches_remap_identity)
{
    /* TestPRMRemapIdentityMatchesDockerReference: prefix, signed prefix, image, signature */
    static const struct {
        const char *prefix, *signed_prefix, *image, *sig;
        bool result;
    } cases[] = {
        {"does-not-match.com", "does-not-match.rewritten", "busybox:latest", "busybox:latest",
         true},
        {"does-not-match.com", "does-not-match.rewritten", "busybox:latest", "notbusybox:latest",
         false},
        {"mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:1", true},
        {"mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:not1",
         false},
        {"mirror.example", "docker.io/library", "mirror.example/busybox:latest", "busybox:latest",
         true},
        {"mirror.example", "docker.io/library", "mirror.example/alpine:latest", "busybox:latest",
         false},
        {"docker.io/library", "original.com", "copied:latest", "original.com/copied:latest", true},
        {"docker.io/library", "original.com", "copied:latest", "original.com/ns/copied:latest",
         false},
        {"busybox", "example.com/busybox", "busybox:latest", "example.com/busybox:latest", false},
        {"docker.io/library/busybox", "busybox", "docker.io/library/busybox:latest",
         "busybox:latest", false},
        {"UPPERCASE", "example.com", "example.com/foo:latest", "example.com/foo:latest", true},
        {"example.com", "UPPERCASE", "example.com/foo:latest", "UPPERCASE/foo:latest", false},
        /* the prefix is matched on whole components, and ports are part of the host */
        {"example.com", "vendor.example", "example.com:5000/image:t", "vendor.example/image:t",
         false},
        {"docker.io/library", "vendor.example", "docker.io/libraryy/image:t",
         "vendor.example/y/image:t", false},
        /* a rewrite that is not canonical (it would mean docker.io/library/...) is refused */
        {"mirror.example/ns/image", "notlocalhost", "mirror.example/ns/image:tag",
         "notlocalhost:tag", false},
        {"mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image:tag",
         "vendor.example:5000:tag", false},
        /* on a match, the tag and digest are kept */
        {"mirror.example", "vendor.example", "mirror.example/image" DIGEST_A,
         "vendor.example/image:x", true},
        {"mirror.example", "vendor.example", "mirror.example/image:tag" DIGEST_A,
         "vendor.example/image:tag" DIGEST_A, true},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sign_identity_rule rule = {SIGN_REMAP_IDENTITY, NULL, cases[i].prefix,
                                          cases[i].signed_prefix};

        ck_assert_msg(sign_identity_matches(&rule, cases[i].image, cases[i].sig) == cases[i].result,
                      "%zu: %s -> %s, image %s, signed %s", i, cases[i].prefix,
                      cases[i].signed_prefix, cases[i].image, cases[i].sig);
    }
}
END_TEST

START_TEST(test_sign_identity_matches_nothing_for_an_image_without_a_name)
{
    struct sign_identity_rule rule = {SIGN_MATCH_REPOSITORY, NULL, NULL, NULL};

    ck_assert(!sign_identity_matches(&rule, NULL, "busybox"));
    ck_assert(!sign_identity_matches(&rule, NULL, ""));
    rule.type = SIGN_EXACT_REPOSITORY;
    rule.reference = "busybox";
    ck_assert(sign_identity_matches(&rule, NULL, "docker.io/library/busybox"));
    ck_assert(!sign_identity_matches(&rule, "busybox", NULL));
}
END_TEST

/* ---- attestations ---- */

/* The example of the DSSE specification's protocol.md. */
START_TEST(test_sign_pae_is_dsse_v1)
{
    char *pae;
    size_t len;

    sign_pae("http://example.com/HelloWorld", "hello world", 11, &pae, &len);
    ck_assert_uint_eq(len, strlen("DSSEv1 29 http://example.com/HelloWorld 11 hello world"));
    ck_assert_mem_eq(pae, "DSSEv1 29 http://example.com/HelloWorld 11 hello world", len);
    free(pae);
    sign_pae("t", "", 0, &pae, &len);
    ck_assert_uint_eq(len, 13);
    ck_assert_mem_eq(pae, "DSSEv1 1 t 0 ", len);
    free(pae);
}
END_TEST

#define ATT_DIGEST "sha256:" HEX64_A
#define HEX64_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ATT_PREDICATE "{\"spdxVersion\":\"SPDX-2.3\",\"packages\":[{\"name\":\"libc6\"}]}"

static char *
attest_ok(const struct sign_key *key, const char *digest, const char *type, size_t *len)
{
    struct temper_err err;
    char *envelope = NULL;

    ck_assert_msg(sign_attest(key, "registry.example/team/python", digest, type, ATT_PREDICATE,
                              strlen(ATT_PREDICATE), &envelope, len, &err) == 0,
                  "%s", err.msg);
    return envelope;
}

/* sign_attestation_open of `envelope` with `key` fails with TEMPER_E_SIG saying `part`. */
static void
refuse_envelope(const struct sign_key *key, const char *envelope, const char *type,
                const char *part)
{
    json_t *predicate = (json_t *)&predicate;
    struct temper_err err = {0};

    ck_assert_int_eq(
        sign_attestation_open(key, envelope, strlen(envelope), ATT_DIGEST, type, &predicate, &err),
        -1);
    /* not check_err: these messages name the image's digest, a run of hex it would take for
     * key material */
    ck_assert_msg(err.code == TEMPER_E_SIG && strstr(err.msg, part) != NULL,
                  "code %d, '%s' does not say '%s'", err.code, err.msg, part);
    ck_assert_ptr_eq(predicate, (json_t *)&predicate);
}

/* The envelope with `key` set to `value` (a string), as JSON text. */
static char *
envelope_with(const char *envelope, const char *key, const char *value)
{
    json_t *doc = json_loads(envelope, 0, NULL);
    char *text;

    json_object_set_new(doc, key, json_string(value));
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

static char *
b64(const void *bytes, size_t len)
{
    char *text = malloc(4 * ((len + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *)text, bytes, (int)len);
    return text;
}

/* The statement an envelope carries, decoded. */
static char *
statement_of(const char *envelope, size_t *len)
{
    json_t *doc = json_loads(envelope, 0, NULL);
    const char *payload = json_string_value(json_object_get(doc, "payload"));
    unsigned char *out = malloc(strlen(payload));
    int n = EVP_DecodeBlock(out, (const unsigned char *)payload, (int)strlen(payload));

    ck_assert_int_gt(n, 0);
    *len =
        (size_t)n - (payload[strlen(payload) - 1] == '=') - (payload[strlen(payload) - 2] == '=');
    json_decref(doc);
    return (char *)out;
}

/* An envelope of `statement` signed properly with `key`, as another producer would make it. */
static char *
envelope_of(const struct sign_key *key, const char *statement)
{
    struct temper_err err;
    char *pae, *sig, *payload = b64(statement, strlen(statement)), *text;
    size_t len;
    json_t *doc;

    sign_pae(SIGN_INTOTO_PAYLOAD_TYPE, statement, strlen(statement), &pae, &len);
    ck_assert_msg(sign_bytes(key, pae, len, &sig, &err) == 0, "%s", err.msg);
    doc = json_pack("{s:s, s:s, s:[{s:s}]}", "payloadType", SIGN_INTOTO_PAYLOAD_TYPE, "payload",
                    payload, "signatures", "sig", sig);
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    free(pae);
    free(sig);
    free(payload);
    return text;
}

START_TEST(test_sign_attest_opens_with_its_key)
{
    static const enum sign_key_type types[] = {SIGN_KEY_ECDSA_P256, SIGN_KEY_ED25519};
    struct sign_key *key, *pub;
    json_t *predicate = NULL, *want = json_loads(ATT_PREDICATE, 0, NULL);
    struct temper_err err;
    char *envelope, *statement;
    size_t len, slen;

    keygen(types[_i], "k", NULL);
    key = load_private("k.key", NULL);
    pub = load_public("k.pub");
    envelope = attest_ok(key, ATT_DIGEST, SIGN_PREDICATE_SPDX, &len);
    ck_assert_msg(sign_attestation_open(pub, envelope, len, ATT_DIGEST, SIGN_PREDICATE_SPDX,
                                        &predicate, &err) == 0,
                  "%s", err.msg);
    ck_assert(json_equal(predicate, want));
    /* cosign's statement: its type, the predicate type, the subject by name and digest */
    statement = statement_of(envelope, &slen);
    ck_assert_msg(strncmp(statement,
                          "{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"predicateType\":"
                          "\"https://spdx.dev/Document\",\"subject\":[{\"name\":"
                          "\"registry.example/team/python\",\"digest\":{\"sha256\":\"" HEX64_A
                          "\"}}],\"predicate\":{",
                          170) == 0,
                  "%.*s", (int)slen, statement);
    ck_assert_msg(strstr(envelope, "\"payloadType\":\"application/vnd.in-toto+json\"") != NULL,
                  "%s", envelope);
    json_decref(predicate);
    json_decref(want);
    free(statement);
    free(envelope);
    sign_key_free(key);
    sign_key_free(pub);
}
END_TEST

START_TEST(test_sign_attestation_open_refuses_what_does_not_hold)
{
    struct sign_key *key, *pub, *other;
    char *envelope, *statement, *changed, *text, *sig;
    size_t len, slen;
    json_t *doc;

    keygen(SIGN_KEY_ECDSA_P256, "k", NULL);
    keygen(SIGN_KEY_ECDSA_P256, "o", NULL);
    key = load_private("k.key", NULL);
    pub = load_public("k.pub");
    other = load_public("o.pub");
    envelope = attest_ok(key, ATT_DIGEST, SIGN_PREDICATE_SPDX, &len);

    refuse_envelope(other, envelope, SIGN_PREDICATE_SPDX, "does not verify");

    /* a byte of the statement changed, the signature kept */
    statement = statement_of(envelope, &slen);
    *strstr(statement, "libc6") = 'L';
    changed = b64(statement, slen);
    text = envelope_with(envelope, "payload", changed);
    refuse_envelope(pub, text, SIGN_PREDICATE_SPDX, "does not verify");
    free(text);
    free(changed);

    /* the signature changed */
    doc = json_loads(envelope, 0, NULL);
    sig = strdup(json_string_value(
        json_object_get(json_array_get(json_object_get(doc, "signatures"), 0), "sig")));
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    json_object_set_new(json_array_get(json_object_get(doc, "signatures"), 0), "sig",
                        json_string(sig));
    text = json_dumps(doc, JSON_COMPACT);
    refuse_envelope(pub, text, SIGN_PREDICATE_SPDX, "signature");
    free(text);
    free(sig);
    json_decref(doc);

    /* signed properly, but about another image, or of another type */
    free(statement);
    statement = strdup("{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":"
                       "\"https://spdx.dev/Document\",\"subject\":[{\"name\":\"x\",\"digest\":"
                       "{\"sha256\":\"1123456789abcdef0123456789abcdef0123456789abcdef012345678"
                       "9abcdef\"}}],\"predicate\":{}}");
    text = envelope_of(key, statement);
    refuse_envelope(pub, text, SIGN_PREDICATE_SPDX, "about another image");
    free(text);
    text = envelope_of(key, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":"
                            "\"https://slsa.dev/provenance/v1\",\"subject\":[{\"digest\":{"
                            "\"sha256\":\"" HEX64_A "\"}}],\"predicate\":{}}");
    refuse_envelope(pub, text, SIGN_PREDICATE_SPDX, "not of type");
    free(text);
    text = envelope_of(key, "{\"_type\":\"https://example.com/Other\",\"predicateType\":\"https:"
                            "//spdx.dev/Document\",\"subject\":[],\"predicate\":{}}");
    refuse_envelope(pub, text, SIGN_PREDICATE_SPDX, "not an in-toto statement");
    free(text);
    text = envelope_of(key, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"_type\":\"x\"}");
    refuse_envelope(pub, text, SIGN_PREDICATE_SPDX, "key twice");
    free(text);

    /* the envelope itself */
    text = envelope_with(envelope, "payloadType", "application/json");
    refuse_envelope(pub, text, SIGN_PREDICATE_SPDX, "payloadType");
    free(text);
    text = envelope_with(envelope, "payload", "not base64!");
    refuse_envelope(pub, text, SIGN_PREDICATE_SPDX, "not base64");
    free(text);
    doc = json_loads(envelope, 0, NULL);
    json_object_set_new(doc, "signatures", json_array());
    text = json_dumps(doc, JSON_COMPACT);
    refuse_envelope(pub, text, SIGN_PREDICATE_SPDX, "no signature");
    free(text);
    json_decref(doc);
    refuse_envelope(pub, "[1, 2]", SIGN_PREDICATE_SPDX, "not a JSON object");

    free(statement);
    free(envelope);
    sign_key_free(key);
    sign_key_free(pub);
    sign_key_free(other);
}
END_TEST

static Suite *
sign_suite(void)
{
    Suite *s = suite_create("sign");
    TCase *tc;

    tc = tcase_create("sign_key_type_parse");
    tcase_add_test(tc, test_sign_key_type_parse_takes_the_two_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("sign_keygen");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sign_keygen_writes_both_types_with_their_modes_under_any_umask);
    tcase_add_test(tc, test_sign_keygen_encrypts_with_scrypt_and_aes_256_cbc);
    tcase_add_test(tc, test_sign_keygen_never_overwrites);
    tcase_add_test(tc, test_sign_keygen_does_not_follow_symlinks);
    tcase_add_test(tc, test_sign_keygen_leaves_nothing_on_failure);
    suite_add_tcase(s, tc);

    tc = tcase_create("sign_key_load_private");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sign_key_load_private_takes_keys_with_or_without_password);
    tcase_add_test(tc, test_sign_key_load_private_names_the_key_in_each_message);
    tcase_add_test(tc, test_sign_key_load_private_refuses_keys_others_can_read);
    tcase_add_test(tc, test_sign_key_load_private_refuses_what_is_not_a_private_key);
    tcase_add_test(tc, test_sign_key_load_private_refuses_corrupt_pem);
    tcase_add_test(tc, test_sign_key_load_private_caps_the_file);
    tcase_add_test(tc, test_sign_key_load_private_refuses_other_key_types);
    tcase_add_test(tc, test_sign_key_load_private_takes_what_openssl_pkcs8_writes);
    tcase_add_test(tc, test_sign_key_load_private_refuses_a_costly_kdf_before_running_it);
    suite_add_tcase(s, tc);

    tc = tcase_create("sign_key_load_public");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_sign_key_load_public_refuses_private_keys_and_compressed_points);
    suite_add_tcase(s, tc);

    tc = tcase_create("sign_bytes");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_sign_bytes_round_trips_both_types);
    tcase_add_test(tc, test_sign_verify_bytes_refuses_forgeries);
    tcase_add_test(tc, test_sign_verify_bytes_takes_only_canonical_base64_and_der);
    suite_add_tcase(s, tc);

    tc = tcase_create("sign_interop");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_sign_interop_ecdsa_with_openssl_dgst);
    tcase_add_test(tc, test_sign_interop_ed25519_with_openssl_pkeyutl);
    suite_add_tcase(s, tc);

    tc = tcase_create("sign_payload_build");
    tcase_add_test(tc, test_sign_payload_build_writes_cosign_bytes);
    tcase_add_test(tc, test_sign_payload_build_refuses_bad_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("sign_identity_matches");
    tcase_add_test(tc, test_sign_identity_matches_exact_rules);
    tcase_add_test(tc, test_sign_identity_matches_repository_rules);
    tcase_add_test(tc, test_sign_identity_matches_repo_digest_or_exact);
    tcase_add_test(tc, test_sign_identity_matches_remap_identity);
    tcase_add_test(tc, test_sign_identity_matches_nothing_for_an_image_without_a_name);
    suite_add_tcase(s, tc);

    tc = tcase_create("sign_payload_parse");
    tcase_add_test(tc, test_sign_payload_parse_takes_what_cosign_writes);
    tcase_add_test(tc, test_sign_payload_parse_refuses_other_shapes);
    tcase_add_test(tc, test_sign_payload_parse_caps_the_size);
    suite_add_tcase(s, tc);

    tc = tcase_create("sign_attest");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_sign_pae_is_dsse_v1);
    tcase_add_loop_test(tc, test_sign_attest_opens_with_its_key, 0, 2);
    tcase_add_test(tc, test_sign_attestation_open_refuses_what_does_not_hold);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(sign_suite());
}
