/*
 * Keys and signatures: generating a key pair, loading keys with the checks
 * a signing tool owes its users (file mode, key type, curve, encryption),
 * and signing or verifying bytes, all through OpenSSL 3.
 *
 * Secrets: key file bytes are read into one buffer that is wiped before it
 * is freed; a private key is serialised into a BIO_s_secmem buffer, which
 * OpenSSL wipes on free; the password is only ever copied by OpenSSL into
 * its own passphrase buffer, which it wipes. Error messages carry OpenSSL's
 * reason strings (fixed library texts), never the per-error data, file
 * bytes or the password.
 */
#define _GNU_SOURCE
#include "signing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "sign-internal.h"

/* scrypt as `openssl pkcs8 -scrypt` sets it: N = 2^14, r = 8, p = 1 takes 16 MiB, half of the
 * 32 MiB OpenSSL allows scrypt. N = 2^15 needs just over that, and OpenSSL 3.0 then crashes in
 * PKCS8_set0_pbe instead of failing: these stay constants. */
#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_SALT_BYTES 16

#define KEY_HINT "temper signs with ECDSA P-256 or Ed25519 (temper keygen)"

struct sign_key {
    EVP_PKEY *pkey;
    enum sign_key_type type;
    bool is_private;
};

static void
pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}

static void
bio_freep(BIO **p)
{
    BIO_free(*p);
}

static void
md_ctx_freep(EVP_MD_CTX **p)
{
    EVP_MD_CTX_free(*p);
}

#define cleanup_pkey __attribute__((cleanup(pkey_freep)))
#define cleanup_bio __attribute__((cleanup(bio_freep)))
#define cleanup_md_ctx __attribute__((cleanup(md_ctx_freep)))

/* The bytes of a key file, wiped when they go out of scope. */
struct key_text {
    char *buf;
    size_t size; /* allocated */
    size_t len;  /* read */
    mode_t mode; /* the file's permission bits */
};

static void
key_text_wipe(struct key_text *t)
{
    if (t->buf != NULL)
        OPENSSL_clear_free(t->buf, t->size);
    t->buf = NULL;
}

#define cleanup_key_text __attribute__((cleanup(key_text_wipe)))

/*
 * Writes the reason strings of OpenSSL's error queue into out ("bad decrypt; nested asn1
 * error"), each once and in order, then empties the queue. The per-error data is left out: it
 * can name parts of the input.
 */
static const char *
ossl_reasons(char *out, size_t size)
{
    unsigned long e;
    size_t len = 0;

    out[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        const char *r = ERR_reason_error_string(e);
        char num[32];

        if (r == NULL) {
            snprintf(num, sizeof(num), "error %d", ERR_GET_REASON(e));
            r = num;
        }
        if (strstr(out, r) != NULL)
            continue;
        len += (size_t)snprintf(out + len, size - len, "%s%s", len > 0 ? "; " : "", r);
        if (len >= size)
            len = size - 1;
    }
    if (len == 0)
        snprintf(out, size, "unknown OpenSSL error");
    return out;
}

int
sign_key_type_parse(const char *name, enum sign_key_type *out)
{
    if (name != NULL && strcmp(name, "ecdsa-p256") == 0) {
        *out = SIGN_KEY_ECDSA_P256;
        return 0;
    }
    if (name != NULL && strcmp(name, "ed25519") == 0) {
        *out = SIGN_KEY_ED25519;
        return 0;
    }
    return -1;
}

static int
check_password(const char *password, struct temper_err *err)
{
    if (password != NULL && strlen(password) > SIGN_PASSWORD_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "the key password is longer than %d bytes",
                              SIGN_PASSWORD_MAX_BYTES);
    return 0;
}

/* ---- key generation ---------------------------------------------------------------------- */

static EVP_PKEY *
generate(enum sign_key_type type, struct temper_err *err)
{
    char group[] = "P-256", encoding[] = "named_curve", format[] = "uncompressed";
    OSSL_PARAM ec_params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, encoding, 0),
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, format, 0),
        OSSL_PARAM_construct_end(),
    };
    const bool ec = type == SIGN_KEY_ECDSA_P256;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, ec ? "EC" : "ED25519", NULL);
    EVP_PKEY *pkey = NULL;
    char why[256];

    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
        (ec && EVP_PKEY_CTX_set_params(ctx, ec_params) <= 0) || EVP_PKEY_generate(ctx, &pkey) <= 0)
        temper_err_set(err, TEMPER_E_SIG, 0, "cannot generate %s key: %s",
                       ec ? "an ECDSA P-256" : "an Ed25519", ossl_reasons(why, sizeof(why)));
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* PKCS#8 "ENCRYPTED PRIVATE KEY": PBES2 with scrypt and AES-256-CBC (PEM_write_bio_PrivateKey
 * with a cipher would take PBKDF2, and OpenSSL 3.0's encoders offer no other KDF). */
static int
write_encrypted(BIO *bio, EVP_PKEY *pkey, const char *password)
{
    unsigned char salt[SCRYPT_SALT_BYTES];
    PKCS8_PRIV_KEY_INFO *info = EVP_PKEY2PKCS8(pkey);
    X509_ALGOR *pbe = NULL;
    X509_SIG *p8 = NULL;
    int ok = 0;

    if (info != NULL && RAND_bytes(salt, sizeof(salt)) == 1)
        pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), salt, sizeof(salt), NULL, SCRYPT_N, SCRYPT_R,
                                    SCRYPT_P);
    if (pbe != NULL)
        p8 = PKCS8_set0_pbe(password, (int)strlen(password), info, pbe);
    if (p8 == NULL)
        X509_ALGOR_free(pbe); /* PKCS8_set0_pbe takes it only on success */
    else
        ok = PEM_write_bio_PKCS8(bio, p8) == 1;
    X509_SIG_free(p8);
    PKCS8_PRIV_KEY_INFO_free(info);
    return ok ? 0 : -1;
}

/* The PEM texts of both halves: the private one in a buffer OpenSSL wipes on free. */
static int
serialise(EVP_PKEY *pkey, const char *password, BIO **priv, BIO **pub, struct temper_err *err)
{
    cleanup_bio BIO *p = BIO_new(BIO_s_secmem());
    cleanup_bio BIO *q = BIO_new(BIO_s_mem());
    char why[256];
    int ok;

    if (p == NULL || q == NULL)
        return temper_err_set(err, TEMPER_E_SIG, 0, "cannot write the key: %s",
                              ossl_reasons(why, sizeof(why)));
    if (password != NULL)
        ok = write_encrypted(p, pkey, password) == 0;
    else
        ok = PEM_write_bio_PrivateKey(p, pkey, NULL, NULL, 0, NULL, NULL) == 1;
    if (!ok || PEM_write_bio_PUBKEY(q, pkey) != 1)
        return temper_err_set(err, TEMPER_E_SIG, 0, "cannot write the key: %s",
                              ossl_reasons(why, sizeof(why)));
    *priv = steal_pointer(&p);
    *pub = steal_pointer(&q);
    return 0;
}

/* Creates `path` afresh: never over an existing file, never through a symlink. */
static int
create_file(const char *path, mode_t mode, struct temper_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

    if (fd < 0 && errno == EEXIST)
        return temper_err_set(err, TEMPER_E_IO, EEXIST,
                              "'%s' already exists: pick another prefix or remove it", path);
    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot create '%s'", path);
    /* The umask may have cleared bits of 0644: set the mode exactly, whatever the umask. */
    if (fchmod(fd, mode) < 0) {
        int e = errno;

        close(fd);
        unlink(path);
        return temper_err_sys(err, TEMPER_E_IO, e, "cannot set the mode of '%s'", path);
    }
    return fd;
}

/* Writes the BIO's bytes to fd, syncs and closes it (even on failure). */
static int
write_and_close(int fd, BIO *bio, const char *path, struct temper_err *err)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    size_t off = 0, len = n > 0 ? (size_t)n : 0;

    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;

            close(fd);
            return temper_err_sys(err, TEMPER_E_IO, e, "cannot write '%s'", path);
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0) {
        int e = errno;

        close(fd);
        return temper_err_sys(err, TEMPER_E_IO, e, "cannot write '%s'", path);
    }
    if (close(fd) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot write '%s'", path);
    return 0;
}

int
sign_keygen(enum sign_key_type type, const char *prefix, const char *password,
            struct temper_err *err)
{
    cleanup_pkey EVP_PKEY *pkey = NULL;
    cleanup_bio BIO *priv = NULL;
    cleanup_bio BIO *pub = NULL;
    char key_path[TEMPER_PATH_MAX], pub_path[TEMPER_PATH_MAX];
    int key_fd, pub_fd;

    if (prefix == NULL || prefix[0] == '\0')
        return temper_err_set(err, TEMPER_E_USAGE, 0, "the key prefix is empty");
    if (strlen(prefix) + sizeof(".key") > sizeof(key_path))
        return temper_err_set(err, TEMPER_E_USAGE, 0, "the key prefix is longer than %d bytes",
                              TEMPER_PATH_MAX - (int)sizeof(".key"));
    if (password != NULL && password[0] == '\0')
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "the key password is empty: give one, or none for a key that is "
                              "not encrypted");
    if (check_password(password, err) < 0)
        return -1;
    snprintf(key_path, sizeof(key_path), "%s.key", prefix);
    snprintf(pub_path, sizeof(pub_path), "%s.pub", prefix);

    /* Everything that can fail without a file system goes first: no file exists yet. */
    pkey = generate(type, err);
    if (pkey == NULL || serialise(pkey, password, &priv, &pub, err) < 0)
        return -1;
    if ((key_fd = create_file(key_path, 0600, err)) < 0)
        return -1;
    if ((pub_fd = create_file(pub_path, 0644, err)) < 0) {
        close(key_fd);
        unlink(key_path);
        return -1;
    }
    if (write_and_close(key_fd, priv, key_path, err) < 0) {
        close(pub_fd);
        goto undo;
    }
    if (write_and_close(pub_fd, pub, pub_path, err) < 0)
        goto undo;
    return 0;

undo:
    unlink(key_path);
    unlink(pub_path);
    return -1;
}

/* ---- loading ------------------------------------------------------------------------------- */

/*
 * Reads a key file. Symlinks are followed (secret stores such as Kubernetes secret volumes
 * publish keys as symlinks); the checks apply to the file actually opened, through fstat on its
 * descriptor, so nothing can change between the check and the read. O_NONBLOCK keeps a FIFO
 * from blocking the open; it is refused as not a regular file.
 */
static int
read_key_file(const char *path, struct key_text *text, struct temper_err *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;

    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot open key '%s'", path);
    if (fstat(fd, &st) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot stat key '%s'", path);
    if (!S_ISREG(st.st_mode))
        return temper_err_set(err, TEMPER_E_IO, 0, "key '%s' is not a regular file", path);
    text->mode = st.st_mode & 07777;
    text->size = SIGN_KEY_MAX_BYTES + 1;
    text->buf = xmalloc(text->size);
    text->len = 0;
    while (text->len < text->size) {
        ssize_t n = read(fd, text->buf + text->len, text->size - text->len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read key '%s'", path);
        if (n == 0)
            break;
        text->len += (size_t)n;
    }
    if (text->len > SIGN_KEY_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0,
                              "key '%s' is larger than %d bytes: it is not a key file", path,
                              SIGN_KEY_MAX_BYTES);
    return 0;
}

/* What the PEM blocks of a file say they hold, from their BEGIN lines. */
struct pem_labels {
    bool any;
    bool private_key;
    bool public_key;
    bool sigstore;
};

static bool
label_is(const char *label, size_t len, const char *s)
{
    return len == strlen(s) && memcmp(label, s, len) == 0;
}

static bool
label_ends(const char *label, size_t len, const char *s)
{
    size_t n = strlen(s);

    return len >= n && memcmp(label + len - n, s, n) == 0;
}

static void
scan_labels(const char *buf, size_t len, struct pem_labels *out)
{
    static const char begin[] = "-----BEGIN ";
    const size_t blen = sizeof(begin) - 1;

    *out = (struct pem_labels){0};
    for (size_t i = 0; i + blen <= len; i++) {
        const char *label, *end;
        size_t n;

        if ((i > 0 && buf[i - 1] != '\n') || memcmp(buf + i, begin, blen) != 0)
            continue;
        label = buf + i + blen;
        end = memmem(label, len - i - blen, "-----", 5);
        if (end == NULL)
            continue;
        n = (size_t)(end - label);
        if (memchr(label, '\n', n) != NULL)
            continue;
        out->any = true;
        if (label_is(label, n, "PRIVATE KEY") || label_ends(label, n, " PRIVATE KEY"))
            out->private_key = true;
        if (label_is(label, n, "PUBLIC KEY"))
            out->public_key = true;
        if (memmem(label, n, "SIGSTORE", 8) != NULL)
            out->sigstore = true;
    }
}

/*
 * Accepts ECDSA on the named curve P-256 and Ed25519, the two containers/image verifies;
 * explicit curve parameters are refused as Go's x509 refuses them, even when they spell P-256.
 */
static int
check_type(EVP_PKEY *pkey, const char *path, enum sign_key_type *out, struct temper_err *err)
{
    char group[64], encoding[32];
    size_t glen = 0;

    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        *out = SIGN_KEY_ED25519;
        return 0;
    }
    if (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS"))
        return temper_err_set(err, TEMPER_E_SIG, 0, "key '%s' is an RSA key; " KEY_HINT, path);
    if (!EVP_PKEY_is_a(pkey, "EC")) {
        const char *name = EVP_PKEY_get0_type_name(pkey);

        return temper_err_set(err, TEMPER_E_SIG, 0, "key '%s' is of type '%s'; " KEY_HINT, path,
                              name != NULL ? name : "unknown");
    }
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding,
                                       sizeof(encoding), NULL) == 1 &&
        strcmp(encoding, OSSL_PKEY_EC_ENCODING_EXPLICIT) == 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' gives its curve by explicit parameters, which "
                              "containers/image refuses; " KEY_HINT,
                              path);
    if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1)
        snprintf(group, sizeof(group), "unknown");
    if (strcmp(group, SN_X9_62_prime256v1) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' is an ECDSA key on curve '%s'; " KEY_HINT, path, group);
    *out = SIGN_KEY_ECDSA_P256;
    return 0;
}

static struct sign_key *
key_new(EVP_PKEY **pkey, enum sign_key_type type, bool is_private)
{
    struct sign_key *key = xcalloc(1, sizeof(*key));

    key->pkey = steal_pointer(pkey);
    key->type = type;
    key->is_private = is_private;
    return key;
}

struct password_arg {
    const char *password;
    size_t len;
    bool asked;
};

/* OpenSSL asks only for an encrypted key; that it asked is how an encrypted key is told apart. */
static int
password_cb(char *buf, int size, int rwflag, void *u)
{
    struct password_arg *arg = u;

    (void)rwflag;
    arg->asked = true;
    if (arg->password == NULL || size < 0 || arg->len > (size_t)size)
        return -1;
    memcpy(buf, arg->password, arg->len);
    return (int)arg->len;
}

/* ---- the cost of an encrypted key ------------------------------------------------------------ */

/*
 * A PKCS#8 key encrypted with a password names how to derive the key from it, and that is input
 * too: PBKDF2 at 2^31-1 iterations keeps OpenSSL busy for minutes, and OpenSSL bounds neither
 * that nor scrypt's N * r * p (only scrypt's memory). So the parameters of every ENCRYPTED
 * PRIVATE KEY block are read, as OpenSSL will read them, before OpenSSL is asked to decrypt:
 * PBES2 with PBKDF2 or scrypt, and the older PKCS#5 v1.5 and PKCS#12 schemes (one PBEPARAM with
 * an iteration count). What cannot be read is left to OpenSSL, which then cannot decrypt it
 * either; what can is held to the bounds in limits.h.
 */

#define REENCRYPT_HINT                                                                             \
    ", which could take minutes; re-encrypt it as temper keygen does: openssl pkcs8 -topk8 "       \
    "-scrypt -in '%s' -out NEW.key"

/* An ASN.1 INTEGER as a count; UINT64_MAX when it is negative or does not fit (so over a bound). */
static uint64_t
count_of(const ASN1_INTEGER *a)
{
    uint64_t v;

    return a != NULL && ASN1_INTEGER_get_uint64(&v, a) == 1 ? v : UINT64_MAX;
}

/* The parameters of `alg` decoded as `it`, or NULL when they are no such SEQUENCE. */
static void *
unpack_params(const X509_ALGOR *alg, const ASN1_ITEM *it)
{
    const void *params;
    int type;

    X509_ALGOR_get0(NULL, &type, &params, alg);
    return type == V_ASN1_SEQUENCE ? ASN1_item_unpack(params, it) : NULL;
}

static int
check_iterations(const char *path, const char *kdf, const ASN1_INTEGER *iter,
                 struct temper_err *err)
{
    uint64_t n = count_of(iter);

    if (n <= SIGN_KDF_MAX_ITERATIONS)
        return 0;
    return temper_err_set(err, TEMPER_E_LIMIT, 0,
                          "key '%s' asks for %llu %s iterations to be decrypted, over the %d "
                          "temper allows (SIGN_KDF_MAX_ITERATIONS)" REENCRYPT_HINT,
                          path, (unsigned long long)n, kdf, SIGN_KDF_MAX_ITERATIONS, path);
}

static int
check_scrypt(const char *path, const SCRYPT_PARAMS *sp, struct temper_err *err)
{
    uint64_t n = count_of(sp->costParameter), r = count_of(sp->blockSize);
    uint64_t p = count_of(sp->parallelizationParameter);
    bool over;

    if (n == 0 || r == 0 || p == 0)
        return 0; /* OpenSSL refuses these itself, before any work */
    /* N * r * p, then 128 * r * (N + p + 2) as OpenSSL counts scrypt's memory, without overflow */
    over = r > SIGN_SCRYPT_MAX_WORK / n || p > SIGN_SCRYPT_MAX_WORK / (n * r) ||
           128 * r * (n + p + 2) > SIGN_SCRYPT_MAX_MEMORY;
    if (!over)
        return 0;
    return temper_err_set(err, TEMPER_E_LIMIT, 0,
                          "key '%s' asks for scrypt with N=%llu, r=%llu, p=%llu to be decrypted, "
                          "over what temper allows (N*r*p at most %d, SIGN_SCRYPT_MAX_WORK; "
                          "128*r*(N+p+2) bytes at most %d MiB)" REENCRYPT_HINT,
                          path, (unsigned long long)n, (unsigned long long)r, (unsigned long long)p,
                          SIGN_SCRYPT_MAX_WORK, SIGN_SCRYPT_MAX_MEMORY >> 20, path);
}

/* The key derivation of PBES2: PBKDF2 or scrypt (OpenSSL 3.0 knows no other). */
static int
check_pbes2(const char *path, const PBE2PARAM *pbe2, struct temper_err *err)
{
    int nid = pbe2->keyfunc != NULL ? OBJ_obj2nid(pbe2->keyfunc->algorithm) : NID_undef;
    int rc = 0;

    if (nid == NID_id_scrypt) {
        SCRYPT_PARAMS *sp = unpack_params(pbe2->keyfunc, ASN1_ITEM_rptr(SCRYPT_PARAMS));

        if (sp != NULL)
            rc = check_scrypt(path, sp, err);
        SCRYPT_PARAMS_free(sp);
    } else if (nid == NID_id_pbkdf2) {
        PBKDF2PARAM *kdf = unpack_params(pbe2->keyfunc, ASN1_ITEM_rptr(PBKDF2PARAM));

        if (kdf != NULL)
            rc = check_iterations(path, "PBKDF2", kdf->iter, err);
        PBKDF2PARAM_free(kdf);
    }
    return rc;
}

/* One EncryptedPrivateKeyInfo (DER): PBES2, or a PKCS#5 v1.5 or PKCS#12 scheme (a PBEPARAM). */
static int
check_encrypted_key(const char *path, const unsigned char *der, long len, struct temper_err *err)
{
    X509_SIG *sig = d2i_X509_SIG(NULL, &der, len);
    const X509_ALGOR *alg;
    int nid, rc = 0;

    if (sig == NULL)
        return 0;
    X509_SIG_get0(sig, &alg, NULL);
    nid = OBJ_obj2nid(alg->algorithm);
    if (nid == NID_pbes2) {
        PBE2PARAM *pbe2 = unpack_params(alg, ASN1_ITEM_rptr(PBE2PARAM));

        if (pbe2 != NULL)
            rc = check_pbes2(path, pbe2, err);
        PBE2PARAM_free(pbe2);
    } else {
        PBEPARAM *pbe = unpack_params(alg, ASN1_ITEM_rptr(PBEPARAM));

        if (pbe != NULL)
            rc = check_iterations(path, nid != NID_undef ? OBJ_nid2sn(nid) : "key derivation",
                                  pbe->iter, err);
        PBEPARAM_free(pbe);
    }
    X509_SIG_free(sig);
    return rc;
}

/*
 * Checks every ENCRYPTED PRIVATE KEY block of the file, in order, until a block PEM_read_bio
 * cannot read: OpenSSL's key readers go through the blocks in the same order with the same
 * reader and give up there too, so no block they could decrypt goes unchecked. (A traditional
 * "Proc-Type: 4,ENCRYPTED" key derives its key with one MD5 round: nothing to bound.)
 */
static int
check_kdf_cost(const char *path, const char *buf, size_t len, struct temper_err *err)
{
    cleanup_bio BIO *bio = BIO_new_mem_buf(buf, (int)len);
    int rc = 0;

    while (rc == 0 && bio != NULL) {
        char *name = NULL, *header = NULL;
        unsigned char *der = NULL;
        long dlen = 0;

        /* Secure, as OpenSSL reads keys: a block may be a private key in the clear, and every
         * buffer that held it is wiped. */
        if (PEM_read_bio_ex(bio, &name, &header, &der, &dlen,
                            PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) != 1)
            break;
        if (strcmp(name, PEM_STRING_PKCS8) == 0)
            rc = check_encrypted_key(path, der, dlen, err);
        OPENSSL_secure_free(name);
        OPENSSL_secure_free(header);
        OPENSSL_secure_clear_free(der, (size_t)dlen);
    }
    ERR_clear_error(); /* the end of the file is an error to PEM_read_bio */
    return rc;
}

int
sign_key_load_private(const char *path, const char *password, struct sign_key **out,
                      struct temper_err *err)
{
    cleanup_key_text struct key_text text = {0};
    cleanup_pkey EVP_PKEY *pkey = NULL;
    cleanup_bio BIO *bio = NULL;
    struct password_arg arg = {password, password != NULL ? strlen(password) : 0, false};
    struct pem_labels labels;
    enum sign_key_type type;
    char why[256];

    if (check_password(password, err) < 0 || read_key_file(path, &text, err) < 0)
        return -1;
    scan_labels(text.buf, text.len, &labels);
    if (!labels.any)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' is not a PEM key: no '-----BEGIN' line", path);
    if (labels.sigstore)
        return temper_err_set(
            err, TEMPER_E_SIG, 0,
            "key '%s' is a cosign key (SIGSTORE PRIVATE KEY), which temper cannot "
            "read; temper reads PKCS#8 PEM keys (temper keygen)",
            path);
    if (!labels.private_key && labels.public_key)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' is a public key; sign with the private key (.key)", path);
    if (!labels.private_key)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' is not a PEM key: it has no PRIVATE KEY block", path);
    /* Checked once the file is known to hold a private key, so that a public key given by
     * mistake is named as such rather than as a mode to fix. */
    if ((text.mode & 077) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' is readable or writable by group or others (mode %04o): "
                              "chmod 600 '%s'",
                              path, (unsigned)text.mode, path);

    if (check_kdf_cost(path, text.buf, text.len, err) < 0)
        return -1;
    ERR_clear_error();
    bio = BIO_new_mem_buf(text.buf, (int)text.len);
    if (bio != NULL)
        pkey = PEM_read_bio_PrivateKey(bio, NULL, password_cb, &arg);
    if (pkey == NULL && arg.asked && password == NULL) {
        ERR_clear_error();
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' is encrypted: set TEMPER_KEY_PASSWORD", path);
    }
    if (pkey == NULL && arg.asked) {
        ERR_clear_error();
        return temper_err_set(err, TEMPER_E_SIG, 0, "cannot decrypt key '%s': wrong password?",
                              path);
    }
    if (pkey == NULL)
        return temper_err_set(err, TEMPER_E_SIG, 0, "key '%s' is not a PEM key: %s", path,
                              ossl_reasons(why, sizeof(why)));
    if (check_type(pkey, path, &type, err) < 0)
        return -1;
    *out = key_new(&pkey, type, true);
    return 0;
}

/* containers/image (Go's x509) reads only uncompressed points. */
static int
check_point(EVP_PKEY *pkey, const char *path, struct temper_err *err)
{
    char format[32];

    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, format,
                                       sizeof(format), NULL) == 1 &&
        strcmp(format, OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' holds a %s point, which containers/image cannot read: "
                              "write it uncompressed (openssl pkey -pubin -ec_conv_form "
                              "uncompressed)",
                              path, format);
    return 0;
}

int
sign_key_load_public(const char *path, struct sign_key **out, struct temper_err *err)
{
    cleanup_key_text struct key_text text = {0};
    cleanup_pkey EVP_PKEY *pkey = NULL;
    cleanup_bio BIO *bio = NULL;
    struct password_arg arg = {NULL, 0, false};
    struct pem_labels labels;
    enum sign_key_type type;
    char why[256];

    if (read_key_file(path, &text, err) < 0)
        return -1;
    scan_labels(text.buf, text.len, &labels);
    if (!labels.any)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' is not a PEM key: no '-----BEGIN' line", path);
    if (labels.private_key)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' is a private key; verify with the public key (.pub)", path);
    if (!labels.public_key)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "key '%s' is not a PEM key: it has no PUBLIC KEY block", path);

    ERR_clear_error();
    bio = BIO_new_mem_buf(text.buf, (int)text.len);
    if (bio != NULL)
        pkey = PEM_read_bio_PUBKEY(bio, NULL, password_cb, &arg);
    if (pkey == NULL)
        return temper_err_set(err, TEMPER_E_SIG, 0, "key '%s' is not a PEM key: %s", path,
                              ossl_reasons(why, sizeof(why)));
    if (check_type(pkey, path, &type, err) < 0 ||
        (type == SIGN_KEY_ECDSA_P256 && check_point(pkey, path, err) < 0))
        return -1;
    *out = key_new(&pkey, type, false);
    return 0;
}

void
sign_key_free(struct sign_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

enum sign_key_type
sign_key_get_type(const struct sign_key *key)
{
    return key->type;
}

/* ---- signatures ---------------------------------------------------------------------------- */

/* ECDSA signs the SHA-256 of the message; Ed25519 signs the message itself (no digest). */
static const EVP_MD *
key_md(const struct sign_key *key)
{
    return key->type == SIGN_KEY_ECDSA_P256 ? EVP_sha256() : NULL;
}

int
sign_bytes(const struct sign_key *key, const void *msg, size_t len, char **b64,
           struct temper_err *err)
{
    cleanup_md_ctx EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cleanup_free unsigned char *sig = NULL;
    size_t siglen = 0;
    char *text;
    char why[256];

    if (!key->is_private)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "cannot sign with a public key; sign with the private key (.key)");
    ERR_clear_error();
    if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, key_md(key), NULL, key->pkey) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, msg, len) != 1)
        return temper_err_set(err, TEMPER_E_SIG, 0, "cannot sign: %s",
                              ossl_reasons(why, sizeof(why)));
    sig = xmalloc(siglen);
    if (EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1)
        return temper_err_set(err, TEMPER_E_SIG, 0, "cannot sign: %s",
                              ossl_reasons(why, sizeof(why)));
    text = xmalloc(4 * ((siglen + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)text, sig, (int)siglen);
    *b64 = text;
    return 0;
}

static int
b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/*
 * Decodes standard base64 with padding, and only its canonical spelling: a length that is a
 * multiple of 4, no whitespace or line breaks, '=' only as the last one or two characters, and
 * zero in the bits the padding leaves over. So a signature has exactly one text. out has room
 * for len / 4 * 3 bytes.
 */
int
sign_b64_decode(const char *s, size_t len, unsigned char *out, size_t *outlen)
{
    size_t n = 0, pad = 0;

    if (len == 0 || len % 4 != 0)
        return -1;
    if (s[len - 1] == '=')
        pad = s[len - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        size_t last_pad = i + 4 == len ? pad : 0, chars = 4 - last_pad;

        for (size_t j = 0; j < 4; j++) {
            int d = j < chars ? b64_value(s[i + j]) : 0;

            if (d < 0)
                return -1;
            v = v << 6 | (uint32_t)d;
        }
        if ((last_pad == 1 && (v & 0xff) != 0) || (last_pad == 2 && (v & 0xffff) != 0))
            return -1;
        out[n++] = (unsigned char)(v >> 16);
        if (chars > 2)
            out[n++] = (unsigned char)(v >> 8);
        if (chars > 3)
            out[n++] = (unsigned char)v;
    }
    *outlen = n;
    return 0;
}

/* Whether sig is one ECDSA-Sig-Value in DER: parsing it and writing it back gives the same bytes
 * (BER's other spellings, trailing bytes and leading zeros are refused). */
static bool
is_der_ecdsa(const unsigned char *sig, size_t len)
{
    const unsigned char *p = sig;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
    unsigned char *der = NULL;
    int n;
    bool ok;

    if (s == NULL)
        return false;
    n = i2d_ECDSA_SIG(s, &der);
    ok = p == sig + len && n > 0 && (size_t)n == len && memcmp(der, sig, len) == 0;
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    return ok;
}

int
sign_verify_bytes(const struct sign_key *key, const void *msg, size_t len, const char *b64,
                  struct temper_err *err)
{
    cleanup_md_ctx EVP_MD_CTX *ctx = NULL;
    unsigned char sig[SIGN_SIGNATURE_MAX_B64 / 4 * 3];
    size_t b64len = b64 != NULL ? strnlen(b64, SIGN_SIGNATURE_MAX_B64 + 1) : 0, siglen;
    int rc;

    if (b64len > SIGN_SIGNATURE_MAX_B64)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "signature is not an ECDSA P-256 or Ed25519 signature: over %d "
                              "characters of base64",
                              SIGN_SIGNATURE_MAX_B64);
    if (sign_b64_decode(b64, b64len, sig, &siglen) < 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "signature is not base64 (standard alphabet, padded, one line)");
    if (key->type == SIGN_KEY_ECDSA_P256 && !is_der_ecdsa(sig, siglen))
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "signature is not DER: an ECDSA signature is an ASN.1 DER "
                              "SEQUENCE of two INTEGERs");
    if (key->type == SIGN_KEY_ED25519 && siglen != 64)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "signature does not verify: it is %zu bytes, an Ed25519 signature "
                              "is 64",
                              siglen);
    ERR_clear_error();
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, key_md(key), NULL, key->pkey) != 1)
        rc = -1;
    else
        rc = EVP_DigestVerify(ctx, sig, siglen, msg, len);
    ERR_clear_error();
    if (rc != 1)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "signature does not verify with this key: the payload was changed, "
                              "or signed with another key");
    return 0;
}
