/*
 * InRelease: the one signed file of a Debian suite. Its signature is
 * checked by gpgv, the verifier apt itself runs (no OpenPGP library is in
 * temper's dependency set, and an OpenPGP parser is exactly what should not
 * be written again), and the Release text that gpgv reports as signed is
 * then parsed for the SHA-256 of every index below it.
 *
 * gpgv runs from an absolute path with a fixed argument vector, an empty
 * environment but for LC_ALL=C, a home directory that does not exist (so no
 * keyring or option file of the user's takes part), its input and outputs
 * in memory files: nothing a mirror serves reaches a shell or a file name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

extern char **environ;

/* Arguments of gpgv beyond the keyrings. */
#define GPGV_FIXED_ARGS 10
/* What an InRelease file starts with. */
#define CLEARSIGNED "-----BEGIN PGP SIGNED MESSAGE-----\n"
/* gpgv's time for one InRelease (it takes milliseconds): a hung one is killed. */
#define GPGV_TIMEOUT_MS 60000

static int
memfd_with(const char *name, const void *bytes, size_t len, struct temper_err *err)
{
    cleanup_close int fd = memfd_create(name, MFD_CLOEXEC);
    size_t done = 0;

    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make a memory file");
    while (done < len) {
        ssize_t n = write(fd, (const char *)bytes + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot write a memory file");
        done += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot rewind a memory file");
    return steal_fd(&fd);
}

/* What gpgv wrote to a memory file, at most `max` bytes, NUL-terminated. */
static int
slurp(int fd, size_t max, char **out, size_t *len, struct temper_err *err)
{
    off_t end = lseek(fd, 0, SEEK_END);
    cleanup_free char *buf = NULL;
    size_t got = 0;

    if (end < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read gpgv's output");
    if ((uint64_t)end > max)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "gpgv wrote over %zu bytes", max);
    buf = xmalloc((size_t)end + 1);
    while (got < (size_t)end) {
        ssize_t n = pread(fd, buf + got, (size_t)end - got, (off_t)got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return temper_err_sys(err, TEMPER_E_IO, n < 0 ? errno : EIO,
                                  "cannot read gpgv's output");
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = steal_pointer(&buf);
    *len = got;
    return 0;
}

/* The hash algorithm field of a VALIDSIG line (the 8th after the keyword), or 0. */
static unsigned
validsig_hash(const char *line, const char *nl)
{
    const char *p = line + 18;
    unsigned field = 1;

    /* VALIDSIG fpr date ts expire version reserved pk-algo hash-algo class ... */
    while (field < 8 && p != NULL && (nl == NULL || p < nl)) {
        p = strchr(p, ' ');
        if (p != NULL)
            p++, field++;
    }
    return p != NULL && (nl == NULL || p < nl) ? (unsigned)strtoul(p, NULL, 10) : 0;
}

struct signer {
    bool good;  /* GOODSIG: a key of the keyring, the bytes unchanged, the key valid now */
    bool valid; /* VALIDSIG with a digest apt still trusts */
    bool weak;  /* VALIDSIG with SHA-1 (2) or MD5 (1), which apt counts as no signature */
};

/*
 * gpgv's verdict from its status lines, as apt reads them: at least one signature (a NEWSIG
 * block) with both GOODSIG and a VALIDSIG of a trusted digest; an expired or revoked key
 * (EXPKEYSIG, REVKEYSIG) or an expired signature (EXPSIG) counts as none; one by a key the
 * keyrings lack (NO_PUBKEY, ERRSIG) counts as none but refuses nothing, since archives sign with
 * several keys so that a keyring with any of them will do; a BADSIG, an ERROR or NODATA (no
 * signed data, or more after it) refuses the file. NULL when it holds, else why not.
 */
static const char *
verdict(const char *status)
{
    struct signer cur = {false, false, false};
    bool any_good = false, any_weak = false, any_lapsed = false;

    for (const char *line = status; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');

        if (strncmp(line, "[GNUPG:] BADSIG ", 16) == 0)
            return "a bad signature (the file was changed after it was signed)";
        if (strncmp(line, "[GNUPG:] ERROR ", 15) == 0 || strncmp(line, "[GNUPG:] NODATA ", 16) == 0)
            return "not a clearsigned file gpgv can read whole";
        if (strncmp(line, "[GNUPG:] NEWSIG", 15) == 0) {
            any_good |= cur.good && cur.valid;
            any_weak |= cur.good && cur.weak;
            cur = (struct signer){false, false, false};
        } else if (strncmp(line, "[GNUPG:] GOODSIG ", 17) == 0) {
            cur.good = true;
        } else if (strncmp(line, "[GNUPG:] EXPKEYSIG ", 19) == 0 ||
                   strncmp(line, "[GNUPG:] REVKEYSIG ", 19) == 0 ||
                   strncmp(line, "[GNUPG:] EXPSIG ", 16) == 0) {
            any_lapsed = true;
        } else if (strncmp(line, "[GNUPG:] VALIDSIG ", 18) == 0) {
            unsigned hash = validsig_hash(line, nl);

            cur.valid |= hash != 1 && hash != 2;
            cur.weak |= hash == 1 || hash == 2;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    any_good |= cur.good && cur.valid;
    any_weak |= cur.good && cur.weak;
    if (any_good)
        return NULL;
    if (any_weak)
        return "signed only with a weak digest (SHA-1 or MD5), which apt refuses";
    return any_lapsed ? "no good signature by a valid key of the keyring, only by one that "
                        "expired or was revoked, which apt refuses"
                      : "no good signature by a valid key of the keyring";
}

/* The last line gpgv wrote on stderr, for the message, made printable. */
static void
last_line(const char *text, char *out, size_t cap)
{
    const char *end = text + strlen(text), *start;
    char line[256];
    size_t n;

    while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    start = end;
    while (start > text && start[-1] != '\n')
        start--;
    n = (size_t)(end - start) < sizeof(line) - 1 ? (size_t)(end - start) : sizeof(line) - 1;
    memcpy(line, start, n);
    line[n] = '\0';
    temper_printable(line, out, cap);
}

struct gpgv_run {
    int in, out, status, errors; /* memory files */
    int exit_status;
};

static int
run_gpgv(const char *gpgv, const char *const *keyrings, size_t nkeyrings, struct gpgv_run *r,
         struct temper_err *err)
{
    static char *const env[] = {"LC_ALL=C", NULL};
    const char **argv = xcalloc(GPGV_FIXED_ARGS + 2 * nkeyrings + 1, sizeof(*argv));
    posix_spawn_file_actions_t fa;
    size_t k = 0;
    pid_t pid;
    int rc, status;

    argv[k++] = gpgv;
    argv[k++] = "--homedir";
    argv[k++] = "/nonexistent/temper-gpgv-home"; /* no user keyring, option file or trustdb */
    for (size_t i = 0; i < nkeyrings; i++) {
        argv[k++] = "--keyring";
        argv[k++] = keyrings[i];
    }
    argv[k++] = "--status-fd";
    argv[k++] = "3";
    argv[k++] = "--output";
    argv[k++] = "-";
    argv[k++] = "-";
    argv[k] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, r->in, 0);
    posix_spawn_file_actions_adddup2(&fa, r->out, 1);
    posix_spawn_file_actions_adddup2(&fa, r->errors, 2);
    posix_spawn_file_actions_adddup2(&fa, r->status, 3);
    rc = posix_spawn(&pid, gpgv, &fa, NULL, (char *const *)argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    if (rc != 0)
        return temper_err_sys(err, TEMPER_E_IO, rc,
                              "cannot run '%s' to check the archive's signature (apt-get "
                              "install gpgv)",
                              gpgv);
    for (long waited_ms = 0;; waited_ms += 5) {
        pid_t done = waitpid(pid, &status, WNOHANG);

        if (done == pid)
            break;
        if (done < 0 && errno != EINTR)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot wait for gpgv");
        if (waited_ms >= GPGV_TIMEOUT_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return temper_err_set(err, TEMPER_E_SIG, 0, "gpgv took over %d s: killed",
                                  GPGV_TIMEOUT_MS / 1000);
        }
        usleep(5000);
    }
    r->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}

int
pkg_release_verify(const char *gpgv, const char *inrelease, size_t len, const char *const *keyrings,
                   size_t nkeyrings, const char *what, char **text, size_t *text_len,
                   struct temper_err *err)
{
    struct gpgv_run r = {-1, -1, -1, -1, 0};
    cleanup_free char *status = NULL, *errors = NULL, *signed_text = NULL;
    const char *why;
    char shown[200];
    size_t status_len, errors_len, signed_len;
    int rc = -1;

    if (len > PKG_RELEASE_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "%s is over %d bytes", what,
                              PKG_RELEASE_MAX_BYTES);
    if (nkeyrings == 0)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "%s: no keyring to check it with", what);
    /* As apt: only a clearsigned file. Another OpenPGP message (a signed, compressed one) could
     * have gpgv write gigabytes from a few bytes; a clearsigned text is never larger than the
     * file. */
    if (len < sizeof(CLEARSIGNED) - 1 || memcmp(inrelease, CLEARSIGNED, sizeof(CLEARSIGNED) - 1))
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s is not a clearsigned file (it must start with '%.34s'): the "
                              "mirror serves something else",
                              what, CLEARSIGNED);
    if ((r.in = memfd_with("inrelease", inrelease, len, err)) < 0 ||
        (r.out = memfd_with("signed", "", 0, err)) < 0 ||
        (r.status = memfd_with("status", "", 0, err)) < 0 ||
        (r.errors = memfd_with("errors", "", 0, err)) < 0 ||
        run_gpgv(gpgv, keyrings, nkeyrings, &r, err) < 0 ||
        slurp(r.status, PKG_RELEASE_MAX_BYTES, &status, &status_len, err) < 0 ||
        slurp(r.errors, PKG_RELEASE_MAX_BYTES, &errors, &errors_len, err) < 0 ||
        slurp(r.out, PKG_RELEASE_MAX_BYTES, &signed_text, &signed_len, err) < 0)
        goto out;
    why = verdict(status);
    /* gpgv exits 2 when one signature is by a key the keyrings lack: the status lines decide */
    if (why != NULL || (r.exit_status != 0 && r.exit_status != 2)) {
        last_line(errors, shown, sizeof(shown));
        rc = temper_err_set(err, TEMPER_E_SIG, 0,
                            "%s: %s (gpgv: %s); is the keyring the archive's, and the mirror "
                            "serving what the archive signed?",
                            what, why != NULL ? why : "refused", shown[0] ? shown : "no message");
        goto out;
    }
    *text = steal_pointer(&signed_text);
    *text_len = signed_len;
    rc = 0;
out:
    for (int *fd = &r.in; fd <= &r.errors; fd++) {
        if (*fd >= 0)
            close(*fd);
    }
    return rc;
}

/* ---- the Release text ---- */

static char *
field_dup(const struct pkg_stanza *st, const char *name)
{
    const struct pkg_field *f = pkg_stanza_field(st, name);

    return f != NULL ? xstrndup(f->value, f->value_len) : NULL;
}

/* An RFC 2822 date as Release files write it ("Sat, 11 Jul 2026 10:16:37 UTC"), through
 * libcurl's date parser, which takes every form HTTP has known. -1 when it cannot. */
int64_t
pkg_release_date(const char *s)
{
    time_t t = curl_getdate(s, NULL);

    return t == (time_t)-1 ? -1 : (int64_t)t;
}

static bool
has_word(const char *words, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = words; (p = strstr(p, word)) != NULL; p += n) {
        if ((p == words || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return true;
    }
    return false;
}

/* The SHA256 field: lines of "hex size path". */
static int
parse_sums(const struct pkg_field *f, const char *what, struct pkg_release *out,
           struct temper_err *err)
{
    const char *p = f->value, *end = f->value + f->value_len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl != NULL ? nl : end;
        char hex[65], path[1024];
        unsigned long long size;
        int used = 0;
        char line[1200];
        size_t n = (size_t)(line_end - p);

        if (n >= sizeof(line))
            return temper_err_set(err, TEMPER_E_PARSE, 0, "%s: a SHA256 line is too long", what);
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl != NULL ? nl + 1 : end;
        if (strspn(line, " \t") == n)
            continue;
        if (sscanf(line, " %64[0-9a-f] %llu %1023s %n", hex, &size, path, &used) != 3 ||
            strlen(hex) != 64 || (size_t)used != n)
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "%s: a SHA256 line is not 'HEX SIZE PATH'", what);
        if (out->nfiles == PKG_RELEASE_FILES_MAX)
            return temper_err_set(err, TEMPER_E_LIMIT, 0, "%s lists over %d files", what,
                                  PKG_RELEASE_FILES_MAX);
        out->files = xreallocarray(out->files, out->nfiles + 1, sizeof(*out->files));
        out->files[out->nfiles] = (struct pkg_release_file){xstrdup(path), size, ""};
        memcpy(out->files[out->nfiles++].sha256, hex, 65);
    }
    return 0;
}

struct release_parse {
    const char *what;
    struct pkg_release *out;
    size_t stanzas;
};

static int
on_release(const struct pkg_stanza *st, void *arg, struct temper_err *err)
{
    struct release_parse *rp = arg;
    struct pkg_release *out = rp->out;
    const struct pkg_field *sums = pkg_stanza_field(st, "SHA256");
    cleanup_free char *valid = field_dup(st, "Valid-Until"), *by_hash = NULL;
    cleanup_free char *archs = field_dup(st, "Architectures");
    cleanup_free char *no_all = field_dup(st, "No-Support-for-Architecture-all");

    if (rp->stanzas++ > 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s holds more than one stanza", rp->what);
    out->suite = field_dup(st, "Suite");
    out->codename = field_dup(st, "Codename");
    out->date = field_dup(st, "Date");
    if (out->date == NULL || (out->date_s = pkg_release_date(out->date)) < 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s has no Date that reads as a date",
                              rp->what);
    out->valid_until_s = -1;
    if (valid != NULL && (out->valid_until_s = pkg_release_date(valid)) < 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s: Valid-Until does not read as a date",
                              rp->what);
    by_hash = field_dup(st, "Acquire-By-Hash");
    out->by_hash = by_hash != NULL && strcmp(by_hash, "yes") == 0;
    /* apt: an "all" index of its own only when Architectures lists all and the archive does
     * not say its Packages carry them */
    out->all_in_arch = archs == NULL || !has_word(archs, "all") ||
                       (no_all != NULL && strcmp(no_all, "Packages") == 0);
    if (sums == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "%s has no SHA256 list", rp->what);
    return parse_sums(sums, rp->what, out, err);
}

int
pkg_release_parse(const char *text, size_t len, const char *what, struct pkg_release *out,
                  struct temper_err *err)
{
    struct pkg_release r = {0};
    struct release_parse rp = {what, &r, 0};

    if (pkg_control_parse(text, len, on_release, &rp, err) != 0 ||
        (rp.stanzas == 0 && temper_err_set(err, TEMPER_E_PARSE, 0, "%s is empty", what) < 0)) {
        pkg_release_release(&r);
        return -1;
    }
    *out = r;
    return 0;
}

void
pkg_release_release(struct pkg_release *r)
{
    if (r == NULL)
        return;
    free(r->suite);
    free(r->codename);
    free(r->date);
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i].path);
    free(r->files);
    memset(r, 0, sizeof(*r));
}

const struct pkg_release_file *
pkg_release_find(const struct pkg_release *r, const char *path)
{
    for (size_t i = 0; i < r->nfiles; i++) {
        if (strcmp(r->files[i].path, path) == 0)
            return &r->files[i];
    }
    return NULL;
}
