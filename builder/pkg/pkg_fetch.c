/*
 * Downloads from Debian archives: several at once on one libcurl multi
 * handle, each into a file descriptor at its offset, retried with backoff
 * on what may pass (a dropped connection, 5xx, 429, a stall) and resumed
 * with a Range request where it broke off, all within one deadline for the
 * whole command, as the registry client does with registries.
 *
 * The registry client's transport is not reused: it is one easy handle
 * speaking a protocol with credentials and tokens; an archive is plain GETs
 * of public files, many at once. What the two share is libcurl itself.
 *
 * Nothing fetched is trusted: a body is cut off at its expected size (or a
 * cap), and the caller checks every byte against a digest before use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/cleanup.h"
#include "base/curl_lazy.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

#define DEFAULT_TIMEOUT_MS (3600L * 1000L)
#define DEFAULT_STALL_MS 30000L
#define CONNECT_TIMEOUT_MS 30000L
#define REDIRECTS_MAX 5

struct pkg_fetcher {
    CURLM *multi;
    const struct pkg_env *env;
    int64_t give_up_at_ms;
    uint64_t done, total; /* progress of the current call */
};

struct transfer {
    struct pkg_fetcher *f;
    struct pkg_job *job;
    CURL *easy;
    uint64_t offset; /* bytes of the job's file that are good */
    uint64_t at_start;
    unsigned attempt;
    int64_t not_before_ms; /* backoff */
    bool too_long;
    bool active;
    char error[CURL_ERROR_SIZE];
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
pkg_fetcher_new(const struct pkg_env *env, struct pkg_fetcher **out, struct temper_err *err)
{
    struct pkg_fetcher *f;

    if (curl_lazy_load(err) < 0)
        return -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return temper_err_set(err, TEMPER_E_NET, 0, "cannot start libcurl");
    f = xcalloc(1, sizeof(*f));
    f->multi = curl_multi_init();
    if (f->multi == NULL) {
        free(f);
        curl_global_cleanup();
        return temper_err_set(err, TEMPER_E_NET, 0, "cannot start libcurl");
    }
    f->env = env;
    f->give_up_at_ms = now_ms() + (env->timeout_ms > 0 ? env->timeout_ms : DEFAULT_TIMEOUT_MS);
    *out = f;
    return 0;
}

void
pkg_fetcher_free(struct pkg_fetcher *f)
{
    if (f == NULL)
        return;
    curl_multi_cleanup(f->multi);
    curl_global_cleanup();
    free(f);
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * nmemb, done = 0;
    uint64_t limit = t->job->size > 0 ? t->job->size : t->job->max;

    if (t->offset + len > limit) {
        t->too_long = true;
        return 0; /* libcurl stops the transfer: CURLE_WRITE_ERROR */
    }
    while (done < len) {
        ssize_t n = pwrite(t->job->fd, data + done, len - done, (off_t)(t->offset + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        done += (size_t)n;
    }
    t->offset += len;
    t->f->done += len;
    if (t->f->env->progress != NULL)
        t->f->env->progress(t->f->env->progress_arg, t->f->done, t->f->total);
    return len;
}

static int
start(struct transfer *t, struct temper_err *err)
{
    const struct pkg_env *env = t->f->env;
    int64_t left = t->f->give_up_at_ms - now_ms();
    bool https = strncmp(t->job->url, "https://", 8) == 0;

    if (left <= 0)
        return temper_err_set(err, TEMPER_E_NET, 0,
                              "%s: gave up with the archive after the command's time "
                              "(--timeout)",
                              t->job->what);
    t->easy = curl_easy_init();
    if (t->easy == NULL)
        return temper_err_set(err, TEMPER_E_NET, 0, "cannot start libcurl");
    t->error[0] = '\0';
    t->too_long = false;
    t->at_start = t->offset;
    curl_easy_setopt(t->easy, CURLOPT_URL, t->job->url);
    curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    /* never from https down to http */
    curl_easy_setopt(t->easy, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
    curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(t->easy, CURLOPT_MAXREDIRS, (long)REDIRECTS_MAX);
    curl_easy_setopt(t->easy, CURLOPT_USERAGENT, "temper");
    /* an error page is no part of the file: libcurl fails before writing it */
    curl_easy_setopt(t->easy, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)left);
    curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_TIME,
                     (env->stall_timeout_ms > 0 ? env->stall_timeout_ms : DEFAULT_STALL_MS) / 1000);
    if (t->offset > 0)
        curl_easy_setopt(t->easy, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)t->offset);
    if (curl_multi_add_handle(t->f->multi, t->easy) != CURLM_OK) {
        curl_easy_cleanup(t->easy);
        t->easy = NULL;
        return temper_err_set(err, TEMPER_E_NET, 0, "cannot start libcurl");
    }
    t->active = true;
    return 0;
}

static void
stop(struct transfer *t)
{
    if (t->easy != NULL) {
        curl_multi_remove_handle(t->f->multi, t->easy);
        curl_easy_cleanup(t->easy);
    }
    t->easy = NULL;
    t->active = false;
}

/* Checks a whole file against the job's size and digest. */
static int
check_file(const struct pkg_job *job, uint64_t got, struct temper_err *err)
{
    char digest[SHA256_DIGEST_STR_LEN];

    if (job->size > 0 && got != job->size)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s: the archive sent %llu bytes, not the %llu the index names",
                              job->what, (unsigned long long)got, (unsigned long long)job->size);
    if (job->sha256 == NULL)
        return 0;
    if (pkg_digest_fd(job->fd, digest, err) < 0)
        return temper_err_prefix(err, "%s", job->what);
    if (strcmp(digest + 7, job->sha256) != 0)
        return temper_err_set(err, TEMPER_E_SIG, 0,
                              "%s: its bytes hash to %.19s..., not to the sha256:%.12s... the "
                              "signed index (and the lock) name: the archive, a mirror or a "
                              "proxy served other bytes",
                              job->what, digest, job->sha256);
    return 0;
}

/* A URL as an error may show it: without the user name and password a recipe's URL may carry
 * (a proxy's or a private mirror's), which must never reach a terminal or a CI log. */
static char *
url_shown(const char *url)
{
    CURLU *u = curl_url();
    char *got = NULL, *shown;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &got, 0) == CURLUE_OK)
        shown = xstrdup(got);
    else
        shown = xstrdup("(a URL libcurl cannot read)");
    curl_free(got);
    curl_url_cleanup(u);
    return shown;
}

/* What came of a finished transfer: 0 done, 1 to retry, -1 failed for good. */
static int
judge(struct transfer *t, CURLcode rc, struct temper_err *err)
{
    cleanup_free char *shown = NULL;
    long status = 0;

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (t->too_long)
        return temper_err_set(
            err, TEMPER_E_LIMIT, 0, "%s: the archive sends more than the %llu bytes expected",
            t->job->what, (unsigned long long)(t->job->size ? t->job->size : t->job->max));
    shown = url_shown(t->job->url);
    /* a body that ended short, without an error from libcurl (no Content-Length), may come
     * whole next time; one too long never: the size is the signed index's */
    if (rc == CURLE_OK && status != 416 && t->job->size > 0 && t->offset < t->job->size) {
        temper_err_set(err, TEMPER_E_NET, 0, "%s: '%s' sent %llu of its %llu bytes", t->job->what,
                       shown, (unsigned long long)t->offset, (unsigned long long)t->job->size);
        return t->attempt < PKG_FETCH_RETRIES ? 1 : -1;
    }
    if (rc == CURLE_OK && status != 416)
        return check_file(t->job, t->offset, err) < 0 ? -1 : 0;
    /* libcurl takes a 416 to a resumed request for "the file is whole already" and returns
     * CURLE_OK: here it is not, as the offset is short of the size */
    if (rc == CURLE_RANGE_ERROR || status == 416) {
        /* the server took no Range: start over, as one more attempt (a server answering 416
         * to every request must not hold the command for the whole --timeout) */
        temper_err_set(err, TEMPER_E_NET, 0, "%s: '%s' refuses the Range request", t->job->what,
                       shown);
        if (t->offset == 0 || t->attempt >= PKG_FETCH_RETRIES)
            return -1;
        t->f->done -= t->offset;
        t->offset = 0;
        return ftruncate(t->job->fd, 0) == 0 ? 1 : -1;
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR && (status == 404 || status == 410))
        return temper_err_set(err, TEMPER_E_MISSING, 0,
                              "%s: the archive does not have it (HTTP %ld from '%s')", t->job->what,
                              status, shown);
    if (rc == CURLE_HTTP_RETURNED_ERROR && status != 408 && status != 429 && status < 500)
        return temper_err_set(err, TEMPER_E_NET, 0, "%s: HTTP %ld from '%s'", t->job->what, status,
                              shown);
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        temper_err_set(err, TEMPER_E_NET, 0, "%s: HTTP %ld from '%s'", t->job->what, status, shown);
    else
        temper_err_set(err, TEMPER_E_NET, 0, "%s: %s, from '%s'", t->job->what,
                       t->error[0] ? t->error : curl_easy_strerror(rc), shown);
    return t->attempt < PKG_FETCH_RETRIES ? 1 : -1;
}

int
pkg_fetch_files(struct pkg_fetcher *f, struct pkg_job *jobs, size_t n, struct temper_err *err)
{
    unsigned parallel = f->env->jobs > 0 ? f->env->jobs : 4;
    struct transfer *t = xcalloc(n + 1, sizeof(*t));
    size_t next = 0, active = 0, done = 0;
    int rc = 0;

    f->done = 0;
    f->total = 0;
    for (size_t i = 0; i < n; i++) {
        t[i] = (struct transfer){.f = f, .job = &jobs[i]};
        f->total += jobs[i].size;
    }
    while (rc == 0 && done < n) {
        struct CURLMsg *msg;
        int running, left;
        int64_t now = now_ms();

        /* start what may start: the next jobs, and retries whose wait is over */
        for (size_t i = 0; i < next && active < parallel && rc == 0; i++) {
            if (!t[i].active && t[i].not_before_ms > 0 && t[i].not_before_ms <= now) {
                t[i].not_before_ms = 0;
                rc = start(&t[i], err);
                active += rc == 0;
            }
        }
        while (next < n && active < parallel && rc == 0) {
            rc = start(&t[next++], err);
            active += rc == 0;
        }
        if (rc < 0)
            break;
        curl_multi_perform(f->multi, &running);
        while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
            struct transfer *x = NULL;
            int verdict;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            verdict = judge(x, msg->data.result, err);
            stop(x);
            active--;
            if (verdict == 0) {
                done++;
            } else if (verdict > 0) {
                x->attempt++;
                x->not_before_ms = now_ms() + (500L << (x->attempt - 1));
            } else {
                rc = -1;
                break;
            }
        }
        if (rc == 0 && done < n)
            curl_multi_poll(f->multi, NULL, 0, 100, NULL);
        if (rc == 0 && now_ms() > f->give_up_at_ms)
            rc = temper_err_set(err, TEMPER_E_NET, 0,
                                "gave up with the archive after the command's time (--timeout)");
    }
    for (size_t i = 0; i < n; i++)
        stop(&t[i]);
    free(t);
    return rc;
}

int
pkg_fetch_memory(struct pkg_fetcher *f, const char *url, size_t max, const char *what, char **out,
                 size_t *len, struct temper_err *err)
{
    cleanup_close int fd = memfd_create("fetch", MFD_CLOEXEC);
    struct pkg_job job = {.url = url, .max = max, .what = what};
    cleanup_free char *buf = NULL;
    off_t size;

    if (fd < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make a memory file");
    job.fd = fd;
    if (pkg_fetch_files(f, &job, 1, err) < 0)
        return -1;
    size = lseek(fd, 0, SEEK_END);
    if (size < 0 || (uint64_t)size > max)
        return temper_err_set(err, TEMPER_E_IO, 0, "%s: cannot read what was fetched", what);
    buf = xmalloc((size_t)size + 1);
    if (pread(fd, buf, (size_t)size, 0) != size)
        return temper_err_sys(err, TEMPER_E_IO, errno, "%s: cannot read what was fetched", what);
    buf[size] = '\0';
    *out = steal_pointer(&buf);
    *len = (size_t)size;
    return 0;
}

int
pkg_digest_fd(int fd, char digest[SHA256_DIGEST_STR_LEN], struct temper_err *err)
{
    cleanup_free unsigned char *buf = xmalloc(1 << 20);
    struct sha256 h;
    off_t at = 0;

    sha256_init(&h);
    for (;;) {
        ssize_t n = pread(fd, buf, 1 << 20, at);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            sha256_release(&h);
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read to hash");
        }
        if (n == 0)
            break;
        sha256_update(&h, buf, (size_t)n);
        at += n;
    }
    sha256_final(&h, digest);
    return 0;
}
